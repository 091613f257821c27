"""Tune the fusion method and weights, the metadata boost and the answer/refusal thresholds on the
dev split of both question sets (the sample corpus and the other kinds of report); the test split
is never looked at here.

    python bench/tune.py [--quick]

Uses the eval indexes (built as `reportqa eval` builds them) and one loaded embedding model; prints
one row per setting. The defaults in assistant/settings.py are the best rows found here.
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

SETS = [("sample", ROOT / "eval" / "qa.jsonl", None), ("other", ROOT / "eval" / "other" / "qa.jsonl", ROOT / "eval" / "other" / "docs")]


def main() -> None:
    quick = "--quick" in sys.argv
    embedder = None
    sets = []
    for name, qa_file, corpus in SETS:
        s = eval_settings(Settings(), corpus or Settings().data_dir)
        qa = ReportQA.from_settings(s, embedder=embedder)
        embedder = qa.embedder
        qa.ingest([corpus or s.data_dir])
        items = [it for it in load_items(qa_file) if it.split == "dev"]
        sets.append((name, s, items, {src: qa.document_text(src) for src in qa.sources()}))
    fusion = [dict(fusion=f, dense_weight=d, keyword_weight=k, metadata_boost=b)
              for f, (d, k), b in itertools.product(["rrf", "convex"], [(1.0, 1.0), (0.5, 1.0), (1.0, 0.5)], [0.25, 0.5])]
    thresholds = [dict(answer_min_coverage=c, refusal_threshold=t) for c, t in itertools.product([0.4, 0.5], [0.45, 0.55])]
    grid = [{}, *fusion] if quick else [{}, *fusion, *thresholds]
    table = Table("set", "fusion", "dense w", "keyword w", "boost", "min cover", "threshold", "recall@5", "MRR",
                  "accuracy", "refusal", "false ref", title="Tuning on the dev splits (k=5); the first row is the defaults")
    for update in grid:
        for name, base, items, texts in sets:
            s = base.model_copy(update=update)
            o = score(run_pipeline(ReportQA(s, embedder), items), texts)["overall"]
            table.add_row(name, s.fusion, str(s.dense_weight), str(s.keyword_weight), str(s.metadata_boost),
                          str(s.answer_min_coverage), str(s.refusal_threshold), f"{o['recall_at_k']:.3f}", f"{o['mrr']:.3f}",
                          f"{o['answer_accuracy']:.3f}", f"{o['refusal_rate']:.3f}", f"{o['false_refusal_rate']:.3f}")
    Console(width=180).print(table)


if __name__ == "__main__":
    main()
