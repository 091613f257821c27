"""Peak memory of one process per task, the way users run them: an ingest of the sample corpus into a
fresh index, then a new process that asks one question of it (what `reportqa ask` costs).

    python bench/bench_memory.py [--backend onnx-int8]

Each task runs in its own Python process (peak RSS is per process, and a process that has already loaded
something cannot unload it); the table also says which heavy libraries each one loaded.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

TASK = """
import json, resource, sys, time
from assistant.qa import ReportQA
from assistant.settings import Settings
t = time.perf_counter()
qa = ReportQA.from_settings(Settings())
detail = ""
if sys.argv[1] == "ingest":
    s = qa.ingest()
    detail = f"{s.chunks_embedded} chunks embedded"
else:
    a = qa.ask("盘锦2024年地区生产总值增长多少？")
    detail = f"{len(a.citations)} citations"
heavy = [m for m in ("torch", "transformers", "sentence_transformers", "tokenizers", "gradio") if m in sys.modules]
print(json.dumps({"rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "s": time.perf_counter() - t, "detail": detail, "heavy": heavy}))
"""


def run(task: str, env: dict[str, str]) -> dict:
    res = subprocess.run([sys.executable, "-c", TASK, task], capture_output=True, text=True, env=env, cwd=ROOT)
    if res.returncode != 0:
        raise SystemExit(f"{task} failed:\n{res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", default=None, help="REPORTQA_EMBEDDING_BACKEND for both tasks")
    args = ap.parse_args()
    table = Table("task", "peak RSS MB", "wall s", "did", "heavy libraries loaded",
                  title="Peak memory per process (sample corpus)")
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "REPORTQA_HOME_DIR": tmp, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
        if args.backend:
            env["REPORTQA_EMBEDDING_BACKEND"] = args.backend
        for task in ("ingest", "ask"):
            out = run(task, env)
            label = "ingest, fresh index" if task == "ingest" else "one ask, new process"
            table.add_row(label, f"{out['rss']:.0f}", f"{out['s']:.1f}", out["detail"], ", ".join(out["heavy"]) or "—")
    Console(width=140).print(table)


if __name__ == "__main__":
    main()
