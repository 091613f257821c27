"""Start-up of the chat with an existing index: `python app.py` to the first served page, to the first
answer, and the process's peak memory, over a few runs, printed as a Markdown table.

    python bench/bench_startup.py [--runs 3] [--question 济南2024年GDP增长目标是多少？] [--command app|serve]

Each run starts the chat as a subprocess on a free loopback port over the configured index (build it first:
`make index`), polls `GET /` until it answers 200, then asks one question through `POST /v1/ask`, sampling
the process's RSS (psutil) all along. The CPU time the process has used by the first page is printed too:
with other jobs on the cores it is the steadier number. The README's target is <= 8 s to the first page.
Timings are measured, never asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scale import PeakRSS, free_port  # noqa: E402 - the sibling script, not a package

ROOT = Path(__file__).resolve().parent.parent
QUIET = {"ANONYMIZED_TELEMETRY": "False", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
         "GRADIO_ANALYTICS_ENABLED": "False", "TOKENIZERS_PARALLELISM": "false"}
TIMEOUT_S = 180.0


@dataclass
class Run:
    first_page_s: float
    page_cpu_s: float
    first_answer_s: float
    peak_rss_mb: float


def wait_for(check, started: float, proc: subprocess.Popen) -> float:
    while time.perf_counter() - started < TIMEOUT_S:
        if proc.poll() is not None:
            raise SystemExit(f"the chat exited with {proc.returncode} before it answered")
        try:
            if check():
                return time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"no answer within {TIMEOUT_S:g} s")


def one_run(command: list[str], question: str) -> Run:
    port = free_port()
    env = {**os.environ, **QUIET, "REPORTQA_PORT": str(port), "REPORTQA_HOST": "127.0.0.1"}
    env.pop("REPORTQA_API_KEY", None)
    url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    rss = PeakRSS(proc.pid, children=True, interval=0.05)  # the parse workers are children
    try:
        with httpx.Client(timeout=60, trust_env=False) as client:
            page = wait_for(lambda: client.get(f"{url}/").status_code == 200, started, proc)
            page_cpu = rss.cpu_s()

            def answered() -> bool:
                r = client.post(f"{url}/v1/ask", json={"question": question})
                if r.status_code != 200:
                    raise SystemExit(f"POST /v1/ask answered {r.status_code}: {r.text[:300]}")
                return bool(r.json().get("answer"))

            answer = wait_for(answered, started, proc)
        return Run(page, page_cpu, answer, rss.stop() / 1024 / 1024)
    finally:
        rss.stop()
        proc.terminate()
        try:
            _, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        if proc.returncode not in (0, -15) and err:
            print(err[-2000:], file=sys.stderr)


def stats(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--question", default="济南2024年GDP增长目标是多少？")
    parser.add_argument("--command", choices=["app", "serve"], default="app",
                        help="app: python app.py; serve: reportqa serve")
    args = parser.parse_args()
    if args.runs < 1:
        raise SystemExit(f"--runs must be at least 1, got {args.runs}")
    command = ([sys.executable, "app.py"] if args.command == "app"
               else [sys.executable, "-m", "assistant.cli", "serve"])
    runs = []
    for i in range(args.runs):
        run = one_run(command, args.question)
        print(f"run {i + 1}: first page {run.first_page_s:.2f} s ({run.page_cpu_s:.2f} s CPU), "
              f"first answer {run.first_answer_s:.2f} s, peak RSS {run.peak_rss_mb:.0f} MB", file=sys.stderr)
        runs.append(run)
    print(f"\nStart-up of `{' '.join(command[1:])}` with an existing index, {args.runs} runs "
          f"(median (min–max); {os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f})\n")
    print("| measure | value |")
    print("| --- | --- |")
    print(f"| time to the first served page (GET / = 200), s | {stats([r.first_page_s for r in runs])} |")
    print(f"| CPU time (user + system) to the first page, s | {stats([r.page_cpu_s for r in runs])} |")
    print(f"| time to the first answer (POST /v1/ask), s | {stats([r.first_answer_s for r in runs])} |")
    print(f"| peak RSS, MB | {stats([r.peak_rss_mb for r in runs])} |")


if __name__ == "__main__":
    main()
