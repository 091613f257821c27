"""A lean process: with the default backend (onnx-int8) asking and ingesting need ONNX Runtime and
`tokenizers` only. torch, transformers and sentence-transformers cost ~500 MB and seconds of start-up,
so they may load only to build the model (`reportqa models prepare`) or with backend=torch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.builders import ROOT, SAMPLE_DIR

SAMPLE = "000_80012d082ab10aeb.txt"  # 盘锦 2022 plan execution and 2023 plan, 30 chunks: a quick ingest
HEAVY = ("torch", "transformers", "sentence_transformers")

SCRIPT = f"""
import json, sys
from assistant.qa import ReportQA
from assistant.settings import Settings

heavy = {HEAVY!r}
loaded = lambda: [m for m in heavy if m in sys.modules]
qa = ReportQA.from_settings(Settings(_env_file=None))
out = {{"built": loaded()}}
summary = qa.ingest()
out["indexed"] = summary.chunks_embedded
out["ingest"] = loaded()
answer = ReportQA.from_settings(Settings(_env_file=None)).ask("盘锦2023年一般公共预算收入完成多少？")
out["cited"] = len(answer.citations)
out["ask"] = loaded()
print(json.dumps(out))
"""


@pytest.mark.integration
def test_ask_and_ingest_load_no_torch(tmp_path, shared_model_settings):
    from assistant.backends import prepare_default_model

    prepare_default_model(shared_model_settings)  # built once per machine; may need torch, in this process
    data = tmp_path / "reports"
    data.mkdir()
    shutil.copy(SAMPLE_DIR / SAMPLE, data / SAMPLE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPORTQA_")}
    env.update(REPORTQA_DATA_DIR=str(data), REPORTQA_HOME_DIR=str(tmp_path / "home"),
               REPORTQA_MODEL_DIR=str(shared_model_settings.model_dir), PYTHONPATH=str(ROOT))
    res = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=600,
                         cwd=tmp_path, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["indexed"] > 0 and out["cited"] > 0, out  # the work really ran
    assert out == {**out, "built": [], "ingest": [], "ask": []}, out
