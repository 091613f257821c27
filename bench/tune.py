"""Tune fusion weights, metadata boost and the answer/refusal thresholds on the evaluation set.

    python bench/tune.py

Uses the eval index (built by `reportqa eval`) and one loaded embedding model; prints one row per
setting. The defaults in assistant/settings.py are the best rows found here (see the README).
"""

from __future__ import annotations

import itertools
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from assistant.evaluation.runner import eval_settings, load_items, run_pipeline, score  # noqa: E402
from assistant.qa import ReportQA  # noqa: E402
from assistant.settings import Settings  # noqa: E402


def main() -> None:
    base = eval_settings(Settings(), Settings().data_dir)
    first = ReportQA.from_settings(base)
    first.ingest()
    items = load_items(ROOT / "eval" / "qa.jsonl")
    texts = {s: first.document_text(s) for s in first.retriever.view.file_hash}
    table = Table("dense w", "keyword w", "boost", "min cover", "threshold", "recall@5", "MRR", "accuracy", "refusal",
                  "false ref", title="Tuning on eval/qa.jsonl (k=5)")
    grid = [
        *[dict(dense_weight=d, keyword_weight=k, metadata_boost=b)
          for (d, k), b in itertools.product([(1.0, 1.0), (1.0, 0.5), (0.5, 1.0), (1.0, 1.5)], [0.25, 0.5, 1.0])],
        *[dict(answer_min_coverage=c, refusal_threshold=t) for c, t in itertools.product([0.4, 0.5, 0.6], [0.25, 0.35, 0.45])],
    ]
    for update in grid:
        s = base.model_copy(update=update)
        qa = ReportQA(s, first.embedder)
        o = score(run_pipeline(qa, items), texts)["overall"]
        table.add_row(str(s.dense_weight), str(s.keyword_weight), str(s.metadata_boost), str(s.answer_min_coverage),
                      str(s.refusal_threshold), f"{o['recall_at_k']:.3f}", f"{o['mrr']:.3f}", f"{o['answer_accuracy']:.3f}",
                      f"{o['refusal_rate']:.3f}", f"{o['false_refusal_rate']:.3f}")
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
