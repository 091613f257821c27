"""`make bench`: ingest speed, index size, memory and latency on the sample corpus, printed as tables.

    python bench/bench.py [--skip-backends] [--questions N]

1. Embedding backends side by side (bench/bench_embed.py: torch fp32, ONNX fp32/int8, length-sorted batching).
2. A fresh index of the sample corpus with the configured backend: characters/s, chunks/s, index size on disk,
   peak memory (RSS).
3. After load: retrieval, extractive answer and total ask latency p50/p95 over the evaluation questions.
Timings are measured, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from assistant.evaluation.metrics import percentile  # noqa: E402
from assistant.settings import Settings  # noqa: E402

console = Console(width=140)


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-backends", action="store_true", help="skip the embedding-backend comparison")
    parser.add_argument("--questions", type=int, default=195)
    args = parser.parse_args()

    if not args.skip_backends:
        subprocess.run([sys.executable, str(ROOT / "bench" / "bench_embed.py")], check=False)

    from assistant.qa import ReportQA

    base = Settings()
    with tempfile.TemporaryDirectory() as tmp:
        settings = base.model_copy(update={"home_dir": Path(tmp)})
        t0 = time.perf_counter()
        qa = ReportQA.from_settings(settings)
        qa.embedder.embed_query("预热")  # model load is measured apart from ingest
        load_s = time.perf_counter() - t0
        summary = qa.ingest()
        size = dir_size(settings.index_dir)
        chars = summary.chars_embedded
        table = Table("backend", "model load s", "ingest s", "chunks", "chars/s", "chunks/s", "index MB", "peak RSS MB",
                      title="Ingest of the sample corpus (fresh index)")
        table.add_row(settings.embedding_backend, f"{load_s:.1f}", f"{summary.seconds:.1f}", str(summary.chunks_embedded),
                      f"{chars / summary.seconds:.0f}", f"{summary.chunks_embedded / summary.seconds:.1f}",
                      f"{size / 1e6:.1f}", f"{peak_rss_mb():.0f}")
        console.print(table)

        # the ledger is read in the same ingest; timed alone here (regexes over the chunk texts)
        from assistant.ingest.figures import figure_rows

        qa.refresh(force=True)
        chunks = list(qa.retriever.view.chunks.values())
        t = time.perf_counter()
        rows = figure_rows(chunks)
        ledger_s = time.perf_counter() - t
        ledger = Table("chunks", "figures", "extraction s", "share of ingest", title="Indicator ledger (extraction alone)")
        ledger.add_row(str(len(chunks)), str(sum(len(r) for _, r in rows)), f"{ledger_s:.2f}",
                       f"{ledger_s / summary.seconds:.1%}")
        console.print(ledger)

        questions = [json.loads(line) for line in (ROOT / "eval" / "qa.jsonl").read_text(encoding="utf-8").splitlines()]
        questions = questions[: args.questions]
        for q in questions[:5]:
            qa.ask(q["question"])  # warm caches
        retrieve, answer, total = [], [], []
        for q in questions:
            t = time.perf_counter()
            qa.search(q["question"])
            retrieve.append((time.perf_counter() - t) * 1000)
            ans = qa.ask(q["question"], history=q.get("history") or [])
            total.append(ans.timings_ms["total"])
            answer.append(ans.timings_ms["answer"])
        lat = Table("step", "n", "p50 ms", "p95 ms", title="Latency after load (extractive answers)")
        for name, vals in (("retrieval (hybrid)", retrieve), ("answer on top of retrieval", answer), ("ask total", total)):
            lat.add_row(name, str(len(vals)), f"{percentile(vals, 50):.1f}", f"{percentile(vals, 95):.1f}")
        console.print(lat)
        console.print(f"peak RSS of this process: {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
