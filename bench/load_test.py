"""Load test over loopback: N concurrent users asking the evaluation questions through the HTTP API
for a bounded time, optionally while reports are being ingested through the same server.

    python bench/load_test.py [--users 20] [--seconds 120] [--during-ingest]
                              [--embedder auto|real|fake] [--device cpu|cuda] [--chroma-url URL]

Starts its own server (`assistant.serve.server.run_server`, API only) on a free loopback port over a
temporary copy of data/reports, with the real embedding model when it can be loaded (`auto`), and
prints a table: requests, errors, throughput, p50/p95/p99 latency. Users are closed-loop (the next
question leaves when the answer arrives, no think time), so latency includes queueing. The load
generator shares the machine's cores with the server. `--during-ingest` uploads generated reports
(bench_scale.generate) one after another via POST /v1/reports for the whole run.
`--device cuda` passes through to the embedder (REPORTQA_EMBEDDING_DEVICE); untested here.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scale import PeakRSS, free_port, generate  # noqa: E402 - the sibling script, not a package

ROOT = Path(__file__).resolve().parent.parent
QUIET = {"ANONYMIZED_TELEMETRY": "False", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
         "GRADIO_ANALYTICS_ENABLED": "False", "TOKENIZERS_PARALLELISM": "false"}

CHECK = """
import sys
sys.path.insert(0, sys.argv[1])
from assistant.qa import ReportQA
from assistant.settings import Settings
from tests.fakes import BigramEmbedder

settings = Settings()
qa = ReportQA(settings, BigramEmbedder(dimension=384)) if sys.argv[2] == "fake" else ReportQA.from_settings(settings)
problems = qa.check()
status = qa.status()
print(f"{len(problems)} problems; {status.files} files, {status.reports} reports, {status.chunks} chunks")
for p in problems[:5]:
    print(" ", p.source, p.message)
sys.exit(1 if problems else 0)
"""

SERVER = """
import sys, time
sys.path.insert(0, sys.argv[1])
from assistant.errors import ModelUnavailableError
from assistant.qa import ReportQA
from assistant.serve.server import run_server
from assistant.settings import Settings

settings = Settings()
kind = sys.argv[3]
embedder = None
if kind in ("auto", "real"):
    try:
        from assistant.backends import build_embedder
        embedder = build_embedder(settings)
        embedder.embed_query("预热")
        print(f"EMBEDDER real {embedder.model_id} ({settings.embedding_backend}, {settings.embedding_device})", flush=True)
    except (ImportError, ModelUnavailableError) as exc:
        if kind == "real":
            raise
        print(f"EMBEDDER fake — the real model is unavailable: {exc}", flush=True)
if embedder is None:
    from tests.fakes import BigramEmbedder
    embedder = BigramEmbedder(dimension=384)
    if kind == "fake":
        print("EMBEDDER fake (bigram hashing, asked for with --embedder fake)", flush=True)
qa = ReportQA(settings, embedder)
t0 = time.perf_counter()
summary = qa.ingest()
print(f"INGESTED {qa.status().reports} reports, {qa.status().chunks} chunks in {time.perf_counter() - t0:.1f}s", flush=True)
run_server(settings, "127.0.0.1", int(sys.argv[2]), qa=qa, ui=False)
"""


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    refused: int = 0


def load_questions(path: Path) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [{"question": r["question"], "history": r.get("history") or []} for r in rows]


async def user(client: httpx.AsyncClient, questions: list[dict], offset: int, deadline: float, stats: Stats) -> None:
    i = offset
    while time.monotonic() < deadline:
        body = questions[i % len(questions)]
        i += 1
        t0 = time.perf_counter()
        try:
            r = await client.post("/v1/ask", json=body)
            dt = time.perf_counter() - t0
            if r.status_code != 200 or "answer" not in r.json():
                stats.errors.append(f"{r.status_code}: {r.text[:120]}")
                continue
            stats.latencies.append(dt)
            stats.refused += bool(r.json()["refused"])
        except httpx.HTTPError as exc:
            stats.errors.append(f"{type(exc).__name__}: {exc}")


async def ingester(client: httpx.AsyncClient, files: list[Path], deadline: float, stats: Stats, done: list[int]) -> None:
    for path in files:
        if time.monotonic() >= deadline:
            return
        t0 = time.perf_counter()
        try:
            r = await client.post("/v1/reports", files=[("files", (path.name, path.read_bytes(), "text/plain"))])
            outcome = r.json()["files"][0] if r.status_code == 200 else {}
            if outcome.get("status") != "indexed":
                stats.errors.append(f"{r.status_code}: {r.text[:160]}")
                continue
            stats.latencies.append(time.perf_counter() - t0)
            done[0] += 1
            done[1] += outcome["chunks"]
        except httpx.HTTPError as exc:
            stats.errors.append(f"{type(exc).__name__}: {exc}")


async def racer(client: httpx.AsyncClient, files: list[Path], deadline: float, stats: Stats) -> None:
    """Deletes racing same-name uploads: upload race.txt, then delete that report while the next version
    of race.txt is being uploaded. Every answer must be 200 (or 404 for a report already gone)."""
    for path, following in zip(files, files[1:], strict=False):
        if time.monotonic() >= deadline:
            return
        t0 = time.perf_counter()
        try:
            first = await client.post("/v1/reports", files=[("files", ("race.txt", path.read_bytes(), "text/plain"))])
            if first.status_code != 200:
                stats.errors.append(f"{first.status_code}: {first.text[:160]}")
                continue
            ids = first.json()["files"][0].get("report_ids", [])
            upload = client.post("/v1/reports", files=[("files", ("race.txt", following.read_bytes(), "text/plain"))])
            answers = await asyncio.gather(upload, *(client.delete(f"/v1/reports/{rid}") for rid in ids))
            bad = [f"{r.status_code}: {r.text[:160]}" for r in answers if r.status_code not in (200, 404)]
            stats.errors.extend(bad)
            if not bad:
                stats.latencies.append(time.perf_counter() - t0)
        except httpx.HTTPError as exc:
            stats.errors.append(f"{type(exc).__name__}: {exc}")


async def drive(base: str, questions: list[dict], users: int, seconds: float,
                upload: list[Path]) -> tuple[Stats, Stats, Stats, list[int], float]:
    asks, ingests, races = Stats(), Stats(), Stats()
    done = [0, 0]
    limits = httpx.Limits(max_connections=users + 2, max_keepalive_connections=users + 2)
    async with httpx.AsyncClient(base_url=base, timeout=300, limits=limits) as client:
        t0 = time.monotonic()
        deadline = t0 + seconds
        step = max(1, len(questions) // users)
        tasks = [user(client, questions, k * step, deadline, asks) for k in range(users)]
        if upload:
            half = len(upload) // 2
            tasks.append(ingester(client, upload[:half], deadline, ingests, done))
            tasks.append(racer(client, upload[half:], deadline, races))
        await asyncio.gather(*tasks)
        wall = time.monotonic() - t0
    return asks, ingests, races, done, wall


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--users", type=int, default=20)
    p.add_argument("--seconds", type=float, default=120)
    p.add_argument("--during-ingest", action="store_true", help="Upload generated reports for the whole run")
    p.add_argument("--embedder", choices=["auto", "real", "fake"], default="auto")
    p.add_argument("--device", default="cpu", help="Embedder device: cpu, cuda or auto (cuda untested here)")
    p.add_argument("--chroma-url", default=None, help="Run the server against this Chroma server")
    p.add_argument("--corpus", type=Path, default=ROOT / "data" / "reports")
    p.add_argument("--questions", type=Path, default=ROOT / "eval" / "qa.jsonl")
    p.add_argument("--ingest-reports", type=int, default=300, help="Generated reports available to --during-ingest")
    args = p.parse_args()
    if args.users < 1 or args.seconds <= 0:
        raise SystemExit(f"--users must be >= 1 and --seconds > 0; got {args.users}, {args.seconds}")

    work = Path(tempfile.mkdtemp(prefix="reportqa-load-"))
    shutil.copytree(args.corpus, work / "reports")
    env = {**os.environ, **QUIET, "REPORTQA_DATA_DIR": str(work / "reports"), "REPORTQA_HOME_DIR": str(work / "home"),
           "REPORTQA_EMBEDDING_DEVICE": args.device}
    for key in ("REPORTQA_LLM_BASE_URL", "REPORTQA_API_KEY"):
        env.pop(key, None)  # extractive answers, open API: the load test measures retrieval and the server
    if args.chroma_url:
        env["REPORTQA_CHROMA_URL"] = args.chroma_url
    else:
        env.pop("REPORTQA_CHROMA_URL", None)
    upload: list[Path] = []
    if args.during_ingest:
        generate(args.ingest_reports, work / "generated", seed=11)
        upload = sorted((work / "generated").glob("*.txt"))

    port = free_port()
    log_path = work / "server.log"
    log = log_path.open("w")
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(ROOT), str(port), args.embedder], cwd=work, env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        t0 = time.monotonic()
        while True:
            if server.poll() is not None:
                raise SystemExit(f"server exited ({server.returncode}):\n{log_path.read_text(errors='replace')[-3000:]}")
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() - t0 > 900:
                raise SystemExit("server not ready after 900 s")
            time.sleep(0.5)
        notes = [ln for ln in log_path.read_text(errors="replace").splitlines() if ln.startswith(("EMBEDDER", "INGESTED"))]
        for ln in notes:
            print(("!!! " if "fake" in ln and args.embedder != "fake" else "# ") + ln)
        if any(ln.startswith("EMBEDDER fake") for ln in notes) and args.embedder == "auto":
            print("!!! LOUD NOTE: the real embedding model could not be loaded; these numbers use the FAKE embedder "
                  "and understate the per-question cost (query embedding ~15 ms on this CPU with the real model).")
        questions = load_questions(args.questions)
        rss = PeakRSS(server.pid)
        asks, ingests, races, done, wall = asyncio.run(drive(base, questions, args.users, args.seconds, upload))
        peak = rss.stop()
        health = httpx.get(f"{base}/healthz", timeout=30).json()
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()

    n = len(asks.latencies)
    mode = "during ingest" if args.during_ingest else "idle index"
    print(f"\n## {args.users} users, {wall:.0f} s, {mode} — {os.cpu_count()} CPU cores, loopback, server and load generator on one machine")
    print("| load | requests | errors | throughput | p50 | p95 | p99 | max | refused |")
    print("|---|---|---|---|---|---|---|---|---|")
    ms = [x * 1000 for x in asks.latencies]
    print(f"| {args.users} users asking ({mode}) | {n} | {len(asks.errors)} | {n / wall:.1f} req/s | {pct(ms, 0.5):.0f} ms "
          f"| {pct(ms, 0.95):.0f} ms | {pct(ms, 0.99):.0f} ms | {max(ms, default=float('nan')):.0f} ms | {asks.refused / max(n, 1):.0%} |")
    if args.during_ingest:
        s = ingests.latencies
        print(f"| uploads, one at a time | {done[0]} reports, {done[1]:,} chunks | {len(ingests.errors)} | "
              f"{done[1] / wall:.1f} chunks/s | {pct(s, 0.5):.1f} s | {pct(s, 0.95):.1f} s | | {max(s, default=float('nan')):.1f} s | |")
        print(f"| deletes racing same-name uploads | {len(races.latencies)} rounds | {len(races.errors)} | | "
              f"{pct(races.latencies, 0.5):.1f} s | {pct(races.latencies, 0.95):.1f} s | | "
              f"{max(races.latencies, default=float('nan')):.1f} s | |")
        fake = any(ln.startswith("EMBEDDER fake") for ln in notes)
        check = subprocess.run([sys.executable, "-c", CHECK, str(ROOT), "fake" if fake else "real"], cwd=work, env=env,
                               capture_output=True, text=True, timeout=600)
        print(f"\nindex check after the run (`reportqa check`): {check.stdout.strip() or check.stderr[-300:]}")
        if check.returncode != 0:
            races.errors.append(f"index check: {check.stdout[-500:]}{check.stderr[-500:]}")
    print(f"\nserver peak RSS {peak / 1e6:,.0f} MB; index at the end: {health['reports']} reports, {health['chunks']:,} chunks "
          f"({health['backend']}, {health['embedding_model']})")
    for e in (asks.errors + ingests.errors + races.errors)[:10]:
        print("error:", e)
    shutil.rmtree(work, ignore_errors=True)
    if asks.errors or ingests.errors or races.errors:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
