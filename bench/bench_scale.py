"""Scale benchmark: ingest time, index size, peak memory, cold start, retrieval latency and answer
recall on generated corpora of 1,000 and 10,000 reports, embedded and server-backed.

    python bench/bench_scale.py [--sizes 1000,10000] [--backends embedded,server]
                                [--embedder fake|real] [--real-sample 20] [--questions 200]
                                [--report-chars 0] [--device cpu|cuda] [--work DIR] [--keep] [--no-cold]

The corpus is built from the sample reports in data/reports: each generated report is one sample
report with another real city (assistant.retrieval.places), another year (every "20xx年" shifted) and new
figures in the sentences the evaluation set asks about (eval/qa.jsonl), so every generated report
comes with questions whose answers are known and appear nowhere else in the corpus.

Embedding 10,000 reports (~380,000 chunks) with the real model takes many hours on 2 CPU cores,
so the corpora are embedded with the fake bigram embedder (384 dimensions, like the real model)
by default, and the real model's ingest rate is measured on --real-sample reports and
extrapolated, labelled as such. Each (size, backend) runs in a fresh process, so peak RSS is its
own. After each run two more fresh processes open the same index and answer one question, one with
the saved keyword index and the chunk cache removed (every chunk read back from the store, BM25 rebuilt from the token cache) and one
opening it (and the host's chunk cache): their cold start and peak RSS are the "cold start" table (`--no-cold` skips it).
`--device cuda` passes through to the real embedder (REPORTQA_EMBEDDING_DEVICE); untested here.
Timings are printed, never asserted. Budget: the default run (1,000 and 10,000 reports, both
backends) takes about 2.5 hours on 2 cores and a 10,000-report process peaks near 10 GB RSS;
`--sizes 1000` takes about 15 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
for _k, _v in {"ANONYMIZED_TELEMETRY": "False", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
               "TOKENIZERS_PARALLELISM": "false"}.items():
    os.environ.setdefault(_k, _v)

YEARS = range(2000, 2026)
_YEAR = re.compile(r"(?<!\d)(20\d{2})(?=年)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


# --- the generated corpus ---------------------------------------------------------------------------------
@dataclass
class Fact:
    question: str
    answer: str
    evidence: str


@dataclass
class Template:
    source: str
    city: str
    year: int
    text: str
    facts: list[Fact]


def load_templates() -> list[Template]:
    """Sample reports with a city and a year, and the single-figure facts the eval set asks about in them."""
    from assistant.ingest.chunking import Chunker
    from assistant.ingest.loading import load_document
    from assistant.ingest.parsing import parse_document

    rows = [json.loads(line) for line in (ROOT / "eval" / "qa.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    chunker = Chunker(450, 600)
    out = []
    for path in sorted((ROOT / "data" / "reports").glob("*.txt")):
        pf = parse_document(load_document(path), chunker)
        for r in pf.reports:
            if not (r.city and r.year):
                continue
            text = pf.document.text[r.start : r.end].strip() + "\n"
            facts = []
            for row in rows:
                answers = row.get("answers") or []
                if (row.get("type") != "fact" or row.get("source") != path.name or row.get("city") != r.city
                        or len(answers) != 1 or "年" in answers[0] or not re.match(r"\D{0,3}\d", answers[0])):
                    continue
                ev, ans = row["evidence"], answers[0]
                if text.count(ev) == 1 and ev.count(ans) == 1 and r.city in row["question"]:
                    facts.append(Fact(row["question"], ans, ev))
            if facts:
                out.append(Template(path.name, r.city, r.year, text, facts))
    return out


def city_names() -> list[str]:
    """Prefecture-level city names as users type them (石家庄, not 石家庄市)."""
    from assistant.retrieval.places import place_levels

    levels = place_levels()
    return sorted(n for n, lvl in levels.items() if lvl == "city" and f"{n}市" in levels and not n.endswith(("市", "州", "区")))


def _new_figure(answer: str, rng: random.Random) -> str:
    m = _NUMBER.search(answer)
    old = m.group()
    decimals = len(old.split(".")[1]) if "." in old else 0
    value = float(old)
    top = min(1.6, 99 / value) if "%" in answer and value < 100 else 1.6
    for _ in range(20):
        new = f"{value * rng.uniform(0.55, top):.{decimals}f}" if value >= 1 else f"{rng.uniform(0.1, 9.9):.{max(1, decimals)}f}"
        if new != old and float(new) > 0:
            break
    return answer[: m.start()] + new + answer[m.end() :]


def shift_years(text: str, delta: int) -> str:
    return _YEAR.sub(lambda m: str(int(m.group(1)) + delta), text)


def generate(n: int, out_dir: Path, seed: int = 7, max_chars: int = 0) -> list[dict]:
    """Write n one-report files; return one known-answer question per report."""
    rng = random.Random(seed)
    templates = load_templates()
    cities = [c for c in city_names() if all(c not in t.text and t.city not in c for t in templates)]
    pairs = [(c, y) for c in cities for y in YEARS]
    if n > len(pairs):
        raise SystemExit(f"--sizes {n}: only {len(pairs)} distinct (city, year) pairs available")
    rng.shuffle(pairs)
    out_dir.mkdir(parents=True, exist_ok=True)
    questions = []
    for i, (city, year) in enumerate(pairs[:n]):
        t = templates[i % len(templates)]
        delta = year - t.year
        text = shift_years(t.text, delta)
        fact = rng.choice(t.facts)
        for f in t.facts:  # every known sentence gets new figures, so no two reports share an answer
            new_answer = _new_figure(f.answer, rng)
            evidence = shift_years(f.evidence, delta)
            text = text.replace(evidence, evidence.replace(f.answer, new_answer), 1)
            if f is fact:
                chosen = (f, new_answer)
        text = text.replace(t.city, city)
        if max_chars and len(text) > max_chars:
            keep = text.find(chosen[0].evidence.replace(chosen[0].answer, chosen[1]).replace(t.city, city))
            text = text[:max_chars] if keep + 200 < max_chars else text[:max_chars // 2] + "\n" + text[keep - max_chars // 2 + 200 : keep + 200]
        name = f"{i:05d}_{city}_{year}.txt"
        (out_dir / name).write_text(text, encoding="utf-8")
        q = shift_years(chosen[0].question.replace(t.city, city), delta)
        questions.append({"question": q, "answer": chosen[1], "city": city, "year": year, "source": name, "template": t.source})
    return questions


# --- one measured run (in its own process) ----------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_chroma(path: Path) -> tuple[subprocess.Popen, str]:
    import httpx

    port = free_port()
    log = open(path.parent / "chroma.log", "w")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen([str(Path(sys.executable).with_name("chroma")), "run", "--path", str(path), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("chroma server did not start")


class PeakRSS:
    """Samples another process's RSS (the Chroma server; with `children`, an app and its parse workers)
    every `interval` s, and tells their CPU time: on a shared machine it varies far less than wall time."""

    def __init__(self, pid: int, children: bool = False, interval: float = 0.5):
        import psutil

        self.proc = psutil.Process(pid)
        self.children = children
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _procs(self) -> list:
        return [self.proc, *self.proc.children(recursive=True)] if self.children else [self.proc]

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, sum(p.memory_info().rss for p in self._procs()))
            except Exception:  # noqa: BLE001 - the process may be gone
                return
            self._stop.wait(self.interval)

    def cpu_s(self) -> float:
        try:
            return sum(t.user + t.system for t in (p.cpu_times() for p in self._procs()))
        except Exception:  # noqa: BLE001 - the process may be gone
            return float("nan")

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def make_embedder(kind: str, settings):
    if kind == "fake":
        from tests.fakes import BigramEmbedder

        return BigramEmbedder(dimension=384)
    from assistant.backends import build_embedder

    embedder = build_embedder(settings)
    embedder.embed_query("预热")  # load the weights outside the timings
    return embedder


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def worker(args: argparse.Namespace) -> dict:
    from assistant.qa import ReportQA
    from assistant.settings import Settings

    work = Path(args.work)
    server = peak = None
    url = None
    if args.backend == "server":
        server, url = start_chroma(work / "chroma-server")
        peak = PeakRSS(server.pid)
    try:
        settings = Settings(data_dir=Path(args.corpus), home_dir=work / "home", chroma_url=url, embedding_device=args.device,
                            _env_file=None)
        embedder = make_embedder(args.embedder, settings)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        qa = ReportQA(settings, embedder)
        t0 = time.perf_counter()
        summary = qa.ingest()
        ingest_s = time.perf_counter() - t0
        errors = len(summary.errors)
        status = qa.status()
        del qa

        t0 = time.perf_counter()  # what a fresh app process pays before its first answer
        qa = ReportQA(settings, embedder)
        qa.status()
        cold_s = time.perf_counter() - t0

        questions = [json.loads(line) for line in Path(args.questions).read_text(encoding="utf-8").splitlines()]
        for q in questions[:3]:
            qa.search(q["question"])
        retrieve_ms, ask_ms, hits, answered = [], [], 0, 0
        for q in questions:
            t0 = time.perf_counter()
            passages = qa.search(q["question"])
            retrieve_ms.append((time.perf_counter() - t0) * 1000)
            hits += any(q["answer"] in p.chunk.text for p in passages)
            t0 = time.perf_counter()
            answer = qa.ask(q["question"])
            ask_ms.append((time.perf_counter() - t0) * 1000)
            answered += q["answer"] in answer.answer
        index_bytes = du(work / "chroma-server") if args.backend == "server" else du(settings.index_dir)
        return {
            "reports": status.reports, "chunks": status.chunks, "files": status.files, "errors": errors,
            "ingest_s": ingest_s, "embedded": summary.chunks_embedded, "chars": summary.chars_embedded,
            "index_mb": index_bytes / 1e6, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "rss_model_mb": rss_before / 1024, "server_rss_mb": (peak.stop() / 1e6) if peak else None,
            "cold_s": cold_s, "questions": len(questions),
            "retrieve_p50": pct(retrieve_ms, 0.5), "retrieve_p95": pct(retrieve_ms, 0.95),
            "ask_p50": pct(ask_ms, 0.5), "ask_p95": pct(ask_ms, 0.95),
            "hit_at_k": hits / len(questions), "answer_recall": answered / len(questions),
        }
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)


def cold_worker(args: argparse.Namespace) -> dict:
    """A fresh app process over an existing index: seconds from building `ReportQA` to its first answer,
    and its peak RSS. `--cold rebuild` removes the saved keyword index and the host's chunk cache first (the
    token cache stays): every chunk is read back from the store and BM25 built, as before they were saved."""
    from assistant.qa import ReportQA
    from assistant.settings import Settings

    work = Path(args.work)
    server = url = None
    if args.backend == "server":
        server, url = start_chroma(work / "chroma-server")
    try:
        settings = Settings(data_dir=Path(args.corpus), home_dir=work / "home", chroma_url=url, embedding_device=args.device,
                            _env_file=None)
        if args.cold == "rebuild":
            for saved in settings.index_dir.glob("keyword-*.bm25"):
                shutil.rmtree(saved)
            for cached in settings.index_dir.glob("chunks-*.sqlite*"):
                cached.unlink()
        embedder = make_embedder(args.embedder, settings)
        question = json.loads(Path(args.questions).read_text(encoding="utf-8").splitlines()[0])
        t0 = time.perf_counter()
        qa = ReportQA(settings, embedder)
        answer = qa.ask(question["question"])
        cold_s = time.perf_counter() - t0
        return {"mode": args.cold, "cold_s": cold_s, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "chunks": len(qa.retriever.view.chunks), "answered": question["answer"] in answer.answer,
                "saved": bool(list(settings.index_dir.glob("keyword-*.bm25/[!.]*")))}
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)


# --- the driver -----------------------------------------------------------------------------------
@dataclass
class Row:
    size: int
    backend: str
    embedder: str
    result: dict


def run_worker(corpus: Path, questions: Path, backend: str, embedder: str, work: Path, device: str, timeout: float,
               cold: str = "") -> dict:
    cmd = [sys.executable, __file__, "--worker", "--corpus", str(corpus), "--questions-file", str(questions),
           "--backend", backend, "--embedder", embedder, "--work", str(work), "--device", device]
    cmd += ["--cold", cold] if cold else []
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"worker failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1])


def table(rows: list[Row]) -> str:
    head = ("| reports | backend | embedder | chunks | ingest | reports/s | index MB | peak RSS MB (app / chroma server) "
            "| cold start | retrieval p50 / p95 ms | ask p50 / p95 ms | hit@k | answer recall |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        x = r.result
        server = f" / {x['server_rss_mb']:.0f}" if x.get("server_rss_mb") else ""
        lines.append(
            f"| {x['reports']:,} | {r.backend} | {r.embedder} | {x['chunks']:,} | {x['ingest_s']:.0f} s | {x['reports'] / x['ingest_s']:.1f} "
            f"| {x['index_mb']:,.0f} | {x['rss_mb']:,.0f}{server} | {x['cold_s']:.1f} s | {x['retrieve_p50']:.0f} / {x['retrieve_p95']:.0f} "
            f"| {x['ask_p50']:.0f} / {x['ask_p95']:.0f} | {x['hit_at_k']:.1%} | {x['answer_recall']:.1%} |"
        )
    return "\n".join(lines)


def cold_table(rows: list[tuple[int, str, dict, dict]]) -> str:
    """Cold start (first answer) and peak RSS of a fresh process: everything rebuilt from the store vs opened."""
    lines = ["| reports | backend | chunks | cold start, chunks read from the store and BM25 rebuilt | cold start, chunk cache and saved BM25 opened "
             "| peak RSS MB, rebuilt / opened |", "|---|---|---|---|---|---|"]
    for size, backend, rebuilt, opened in rows:
        lines.append(f"| {size:,} | {backend} | {opened['chunks']:,} | {rebuilt['cold_s']:.1f} s | {opened['cold_s']:.1f} s "
                     f"| {rebuilt['rss_mb']:,.0f} / {opened['rss_mb']:,.0f} |")
    return "\n".join(lines)


def growth(rows: list[Row]) -> str:
    out = []
    for backend in sorted({r.backend for r in rows}):
        rs = sorted((r for r in rows if r.backend == backend and r.embedder == "fake"), key=lambda r: r.size)
        for a, b in zip(rs, rs[1:], strict=False):
            f = b.result["reports"] / a.result["reports"]
            ratios = {k: b.result[k] / a.result[k] for k in ("ingest_s", "index_mb", "rss_mb", "cold_s", "retrieve_p50", "retrieve_p95")
                      if a.result.get(k)}
            out.append(f"{backend}, {a.size:,} -> {b.size:,} reports (x{f:.0f}): " +
                       ", ".join(f"{k} x{v:.1f}" for k, v in ratios.items()))
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="1000,10000", help="Comma-separated corpus sizes (reports)")
    p.add_argument("--backends", default="embedded,server")
    p.add_argument("--embedder", choices=["fake", "real"], default="fake",
                   help="Embedder for the corpora (real: hours at 10,000 reports on 2 CPU cores)")
    p.add_argument("--real-sample", type=int, default=20, help="Reports ingested with the real model to extrapolate (0: skip)")
    p.add_argument("--questions", type=int, default=200, help="Known-answer questions per run")
    p.add_argument("--report-chars", type=int, default=0, help="Trim generated reports to this many characters (0: whole)")
    p.add_argument("--device", default="cpu", help="Real embedder device: cpu, cuda or auto (cuda untested here)")
    p.add_argument("--work", type=Path, default=None, help="Folder for corpora and indexes (default: a temp dir)")
    p.add_argument("--keep", action="store_true", help="Keep the generated corpora and indexes")
    p.add_argument("--timeout", type=float, default=4 * 3600, help="Seconds allowed per run")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--no-cold", action="store_true", help="Skip the cold-start runs (saved vs rebuilt keyword index)")
    # internal: one measured run
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--corpus", help=argparse.SUPPRESS)
    p.add_argument("--questions-file", help=argparse.SUPPRESS)
    p.add_argument("--backend", help=argparse.SUPPRESS)
    p.add_argument("--cold", choices=["rebuild", "open"], help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        args.questions = args.questions_file
        print(json.dumps(cold_worker(args) if args.cold else worker(args)), flush=True)
        return

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    work = args.work or Path(tempfile.mkdtemp(prefix="reportqa-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"# ReportQA scale benchmark — {os.cpu_count()} CPU cores, work dir {work}")
    if args.embedder == "fake":
        print("# corpora embedded with the FAKE bigram embedder (384 dims): ingest, size and latency show the index, "
              "not the model; real-model ingest is measured on a sample below and extrapolated")
    rows: list[Row] = []
    colds: list[tuple[int, str, dict, dict]] = []
    try:
        for size in sizes:
            corpus = work / f"corpus-{size}"
            t0 = time.perf_counter()
            questions = generate(size, corpus, args.seed, args.report_chars)
            rng = random.Random(args.seed)
            chosen = rng.sample(questions, min(args.questions, len(questions)))
            qfile = work / f"questions-{size}.jsonl"
            qfile.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in chosen), encoding="utf-8")
            mb = du(corpus) / 1e6
            print(f"\n## {size:,} reports generated in {time.perf_counter() - t0:.0f} s ({mb:,.0f} MB of text, {len(chosen)} questions)",
                  flush=True)
            for backend in backends:
                run_dir = work / f"run-{size}-{backend}"
                shutil.rmtree(run_dir, ignore_errors=True)
                run_dir.mkdir()
                result = run_worker(corpus, qfile, backend, args.embedder, run_dir, args.device, args.timeout)
                rows.append(Row(size, backend, args.embedder, result))
                print(table(rows[-1:]), flush=True)
                if not args.no_cold:  # rebuild first: it leaves the saved index the second run opens
                    rebuilt, opened = (run_worker(corpus, qfile, backend, args.embedder, run_dir, args.device, args.timeout, cold=mode)
                                       for mode in ("rebuild", "open"))
                    colds.append((size, backend, rebuilt, opened))
                    print(cold_table(colds[-1:]), flush=True)
                if not args.keep:
                    shutil.rmtree(run_dir, ignore_errors=True)
            if not args.keep:
                shutil.rmtree(corpus, ignore_errors=True)

        if args.real_sample and args.embedder == "fake":
            real_corpus = work / "corpus-real"
            sample_questions = generate(args.real_sample, real_corpus, args.seed + 1, args.report_chars)
            qfile = work / "questions-real.jsonl"
            qfile.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in sample_questions), encoding="utf-8")
            run_dir = work / "run-real"
            run_dir.mkdir(exist_ok=True)
            try:
                real = run_worker(real_corpus, qfile, "embedded", "real", run_dir, args.device, args.timeout)
            except SystemExit as exc:
                print(f"\n## real model unavailable, no extrapolation: {exc}")
                real = None
            if real:
                per_chunk = real["ingest_s"] / real["chunks"]
                print(f"\n## real model ({args.device}): {real['reports']} reports, {real['chunks']:,} chunks ingested in "
                      f"{real['ingest_s']:.0f} s = {real['chunks'] / real['ingest_s']:.1f} chunks/s, "
                      f"{real['chars'] / real['ingest_s']:,.0f} chars/s; peak RSS {real['rss_mb']:,.0f} MB")
                print("| reports | chunks | real-model ingest (EXTRAPOLATED from the sample, linear in chunks) |\n|---|---|---|")
                for r in rows:
                    if r.backend == backends[0]:
                        hours = per_chunk * r.result["chunks"] / 3600
                        print(f"| {r.result['reports']:,} | {r.result['chunks']:,} | ~{hours:.1f} h |")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    print("\n## all runs\n" + table(rows))
    if colds:
        print("\n## cold start: a fresh process to its first answer\n" + cold_table(colds))
    print("\n## growth\n" + growth(rows))
    target = [r for r in rows if r.size >= 10_000]
    for r in target:
        ok = "meets" if r.result["retrieve_p50"] <= 300 else "MISSES"
        print(f"retrieval p50 at {r.size:,} reports ({r.backend}): {r.result['retrieve_p50']:.0f} ms — {ok} the 300 ms target")


if __name__ == "__main__":
    main()
