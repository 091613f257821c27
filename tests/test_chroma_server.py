"""Against a real `chroma run` server on loopback: the store contract (embedded and server),
ingest and ask through `REPORTQA_CHROMA_URL`, and two app processes sharing one server.

The fake embedder keeps these quick; the server, the HTTP client and the processes are real.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from assistant.backends import open_store
from assistant.qa import ReportQA
from assistant.records import Chunk, Report
from assistant.retrieval.view import CHECK_INTERVAL
from assistant.settings import Settings
from tests.builders import ROOT, SAMPLE_DIR, free_port, report_text, stop, wait_for
from tests.fakes import BigramEmbedder
from vectorstore.chroma import PAGE, FileRecord, make_client

pytestmark = pytest.mark.integration

CHROMA = Path(sys.executable).with_name("chroma")
QUIET_ENV = {"ANONYMIZED_TELEMETRY": "False", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
             "GRADIO_ANALYTICS_ENABLED": "False", "TOKENIZERS_PARALLELISM": "false"}


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory):
    """A real Chroma server on a free loopback port, for the whole module."""
    assert CHROMA.exists(), f"no chroma CLI at {CHROMA}: chromadb installs it"
    root = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    log = root / "chroma.log"
    with log.open("w") as fh:
        proc = subprocess.Popen([str(CHROMA), "run", "--path", str(root / "data"), "--host", "127.0.0.1", "--port", str(port)],
                                stdout=fh, stderr=subprocess.STDOUT, env={**os.environ, **QUIET_ENV})
    try:
        wait_for(f"http://127.0.0.1:{port}/api/v2/heartbeat", proc, log, timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


def unique_embedder() -> BigramEmbedder:
    """The collection name follows the model id: a fresh id gives each test its own collections on the shared server."""
    e = BigramEmbedder()
    e.model_id = f"fake-bigram-{uuid.uuid4().hex[:8]}"
    return e


# --- the store contract, embedded and server ----------------------------------------------------------
def _chunk(i: int, source: str, city: str) -> Chunk:
    text = f"第{i}段：{city}一般公共预算收入完成{100 + i}亿元。"
    return Chunk(chunk_id=f"{source}-{i}", report_id=f"r-{source}", source=source, start=i * 40, end=i * 40 + len(text),
                 text=text, section_path="一、工作回顾", period=2023, title=f"2024年{city}市政府工作报告", city=city,
                 year=2024, type="政府工作报告", embed_text=text, ordinal=i, entity=city, profile="gov")


def _record(source: str, file_hash: str, city: str, n: int) -> FileRecord:
    report = Report(report_id=f"r-{source}", source=source, title=f"2024年{city}市政府工作报告", city=city, year=2024,
                    date="2024-01-09", meeting=None, type="政府工作报告", speaker=None, start=0, end=n * 40,
                    entity=city, profile="gov")
    return FileRecord(source=source, file_hash=file_hash, fmt="txt", encoding="utf-8", n_chunks=n, reports=[report],
                      indexed_at="2024-01-09T00:00:00+00:00")


@pytest.fixture(params=["embedded", "server"])
def store(request, tmp_path):
    url = request.getfixturevalue("chroma_url") if request.param == "server" else None
    return open_store(make_client(tmp_path / "index", url), f"contract-{uuid.uuid4().hex[:8]}", 4, backend=request.param)


def _vec(i: int) -> list[float]:
    v = [0.1, 0.1, 0.1, 0.1]
    v[i % 4] = 1.0
    return v


class TestStoreContract:
    """What every Chroma backend must do for ReportQA; the same tests run embedded and against the server."""

    def test_commit_makes_a_file_visible_and_changes_the_version(self, store):
        v0 = store.version()
        chunks = [_chunk(i, "a.txt", "鞍山") for i in range(3)]
        store.upsert_chunks(chunks, [_vec(i) for i in range(3)], "h1")
        assert store.files() == {} and store.version() == v0  # written, not committed
        store.commit_file(_record("a.txt", "h1", "鞍山", 3), "全文")
        assert list(store.files()) == ["a.txt"] and store.files()["a.txt"].reports[0].city == "鞍山"
        assert store.version() != v0
        assert store.document_text("a.txt") == "全文"
        assert sorted(c.chunk_id for c, fh in store.iter_chunks() if fh == "h1") == [c.chunk_id for c in chunks]
        stored = [replace(c, embed_text="") for c in (chunks[2], chunks[0])]  # embed_text is not kept
        assert store.get_chunks(["a.txt-2", "a.txt-0"]) == stored

    def test_query_ranks_by_cosine_and_filters_by_metadata(self, store):
        store.upsert_chunks([_chunk(i, "a.txt", "鞍山") for i in range(4)], [_vec(i) for i in range(4)], "h1")
        store.upsert_chunks([_chunk(i, "b.txt", "营口") for i in range(4)], [_vec(i) for i in range(4)], "h2")
        hits = store.query(_vec(1), 3)
        assert hits[0][0].ordinal == 1 and hits[0][1] == pytest.approx(1.0, abs=1e-4)
        assert {fh for _, _, fh in hits} <= {"h1", "h2"}
        only = store.query(_vec(1), 8, where={"city": {"$in": ["营口"]}})
        assert len(only) == 4 and {c.city for c, _, _ in only} == {"营口"}

    def test_iter_chunks_pages_through_large_collections(self, store):
        n = PAGE + 7
        chunks = [_chunk(i, "big.txt", "鞍山") for i in range(n)]
        for i in range(0, n, 500):
            store.upsert_chunks(chunks[i : i + 500], [_vec(j) for j in range(i, min(n, i + 500))], "h")
        assert len({c.chunk_id for c, _ in store.iter_chunks()}) == n == store.count()
        assert store.existing_ids(["big.txt-0", "big.txt-2006", "nope"]) == {"big.txt-0", "big.txt-2006"}

    def test_remove_file_deletes_its_chunks_and_record(self, store):
        store.upsert_chunks([_chunk(i, "a.txt", "鞍山") for i in range(2)], [_vec(i) for i in range(2)], "h1")
        store.commit_file(_record("a.txt", "h1", "鞍山", 2), "全文")
        v = store.version()
        store.remove_file("a.txt")
        assert store.files() == {} and store.count() == 0 and store.version() != v

    def test_long_texts_are_paged_and_a_recommit_replaces_the_text(self, store):
        text = "".join(f"第{i}句。" for i in range(800))  # several TEXT_PAGE pages
        store.commit_file(_record("a.txt", "h1", "鞍山", 0), text)
        assert store.document_text("a.txt") == text
        store.commit_file(_record("a.txt", "h2", "鞍山", 0), "新的全文")
        assert store.document_text("a.txt") == "新的全文"
        assert set(store.texts_col.get(include=["metadatas"])["ids"]) == {"a.txt#h2#0"}  # old pages deleted
        store.remove_file("a.txt")
        assert store.texts_col.count() == 0

    def test_an_index_from_before_paged_texts_still_shows_its_sources(self, store):
        record = _record("old.txt", "h0", "鞍山", 0)
        store.files_col.upsert(ids=["old.txt"], embeddings=[[1.0]], documents=["旧版全文"], metadatas=[record.metadata()])
        assert store.document_text("old.txt") == "旧版全文"

    def test_iter_chunks_of_some_files_only(self, store):
        store.upsert_chunks([_chunk(i, "a.txt", "鞍山") for i in range(2)], [_vec(i) for i in range(2)], "h1")
        store.upsert_chunks([_chunk(i, "b.txt", "营口") for i in range(3)], [_vec(i) for i in range(3)], "h2")
        assert sorted(c.chunk_id for c, _ in store.iter_chunks(["b.txt"])) == ["b.txt-0", "b.txt-1", "b.txt-2"]
        assert list(store.iter_chunks([])) == []


def test_view_reads_back_only_the_files_that_changed(store):
    """Another process's ingest at 10,000 reports must not make every process re-read the whole index."""
    from assistant.retrieval.view import CorpusView, Filters
    from vectorstore.keyword import KeywordIndex

    def commit(source: str, file_hash: str, city: str, n: int) -> None:
        store.upsert_chunks([_chunk(i, source, city) for i in range(n)], [_vec(i) for i in range(n)], file_hash)
        store.commit_file(_record(source, file_hash, city, n), "全文")

    commit("a.txt", "h1", "鞍山", 3)
    view = CorpusView(store, KeywordIndex())
    view.refresh()
    asked: list[list[str] | None] = []
    real_iter = store.iter_chunks
    store.iter_chunks = lambda sources=None: (asked.append(sources), real_iter(sources))[1]

    commit("b.txt", "h2", "营口", 2)
    view.refresh(force=True)
    assert asked == [["b.txt"]]
    assert sorted(view.chunks) == ["a.txt-0", "a.txt-1", "a.txt-2", "b.txt-0", "b.txt-1"]
    assert view.allowed(Filters(cities=["营口"])) == {"b.txt-0", "b.txt-1"}
    assert view.keyword.search(view.keyword.tokenize("营口"), 5, view.allowed(Filters(cities=["营口"])))

    store.remove_file("a.txt")
    view.refresh(force=True)
    assert asked == [["b.txt"]] and sorted(view.chunks) == ["b.txt-0", "b.txt-1"]  # a delete reads nothing back
    assert view.allowed(Filters(cities=["鞍山"])) == set()


# --- ReportQA through REPORTQA_CHROMA_URL ---------------------------------------------------------------
def test_ingest_and_ask_against_a_chroma_server(chroma_url, tmp_path, monkeypatch):
    data = tmp_path / "reports"
    shutil.copytree(SAMPLE_DIR, data)
    monkeypatch.setenv("REPORTQA_CHROMA_URL", chroma_url)
    settings = Settings(data_dir=data, home_dir=tmp_path / "home", _env_file=None)
    assert settings.chroma_url == chroma_url
    embedder = unique_embedder()
    qa = ReportQA(settings, embedder)
    summary = qa.ingest()
    assert not summary.errors and qa.status().backend == "server"
    assert qa.status().reports == 11 and len(qa.keyword) == qa.status().chunks > 300
    assert not (settings.index_dir / "chroma").exists()  # nothing stored locally: the vectors live on the server

    answer = qa.ask("济南2023年一般公共预算收入完成了多少亿元？")
    assert "1060.8亿元" in answer.answer and answer.citations[0].city == "济南"
    assert qa.ingest().outcomes[0].status == "unchanged" and embedder.calls == summary.chunks_embedded

    other = ReportQA(settings, embedder)  # a second instance reads the same server
    assert other.status().chunks == qa.status().chunks
    assert other.ask("济南2023年一般公共预算收入完成了多少亿元？").answer == answer.answer


# --- two app processes, one server ----------------------------------------------------------------------
APP = """
import sys
sys.path.insert(0, sys.argv[3])
from tests.fakes import BigramEmbedder
from assistant.qa import ReportQA
from assistant.serve.server import run_server
from assistant.settings import Settings

settings = Settings()  # REPORTQA_* from the environment, as in production
embedder = BigramEmbedder()
embedder.model_id = sys.argv[2]
run_server(settings, "127.0.0.1", int(sys.argv[1]), qa=ReportQA(settings, embedder), ui=False)
"""


@pytest.fixture
def app_process(chroma_url, tmp_path):
    """Start an API process (own data and home dirs, shared Chroma server); returns its base URL."""
    procs: list[subprocess.Popen] = []

    def start(name: str, model_id: str) -> str:
        port = free_port()
        home = tmp_path / name
        (home / "reports").mkdir(parents=True)
        env = {**os.environ, **QUIET_ENV, "REPORTQA_CHROMA_URL": chroma_url, "REPORTQA_DATA_DIR": str(home / "reports"),
               "REPORTQA_HOME_DIR": str(home / "home")}
        log = home / "app.log"
        with log.open("w") as fh:
            proc = subprocess.Popen([sys.executable, "-c", APP, str(port), model_id, str(ROOT)], cwd=home,
                                    stdout=fh, stderr=subprocess.STDOUT, env=env)
        procs.append(proc)
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/healthz", proc, log)
        return base

    yield start
    for p in procs:
        stop(p)


def eventually(call, ok, seconds: float = CHECK_INTERVAL + 3):
    """Call until `ok(result)` or the time is up; returns the last result."""
    deadline = time.monotonic() + seconds
    result = call()
    while not ok(result) and time.monotonic() < deadline:
        time.sleep(0.25)
        result = call()
    return result


def test_two_app_processes_share_one_chroma_server(app_process):
    model_id = f"fake-bigram-{uuid.uuid4().hex[:8]}"
    asker = app_process("asker", model_id)  # started first, before anything is indexed
    ingester = app_process("ingester", model_id)
    question = {"question": "鞍山2023年一般公共预算收入完成了多少亿元？"}
    with httpx.Client(timeout=60) as http:
        r = http.post(f"{asker}/v1/ask", json=question)
        assert r.status_code == 503 and "索引为空" in r.json()["detail"]

        files = [("files", ("鞍山2024.txt", report_text("鞍山", 2024, "201.7").encode(), "text/plain"))]
        up = http.post(f"{ingester}/v1/reports", files=files)
        assert up.status_code == 200 and up.json()["files"][0]["status"] == "indexed", up.text

        # the asker never saw the file: it rebuilds its keyword index from the server's chunks once it
        # notices the manifest changed (it checks at most every CHECK_INTERVAL seconds)
        r = eventually(lambda: http.post(f"{asker}/v1/ask", json=question), lambda r: r.status_code == 200)
        assert r.status_code == 200, r.text
        body = r.json()
        assert "201.7亿元" in body["answer"] and body["citations"][0]["source"] == "uploads/鞍山2024.txt"
        listed = http.get(f"{asker}/v1/reports").json()["reports"]
        assert [(x["city"], x["year"]) for x in listed] == [("鞍山", 2024)]

        # a removal through one process is seen by the other
        gone = http.delete(f"{asker}/v1/reports/{listed[0]['report_id']}").json()
        assert gone["source"] == "uploads/鞍山2024.txt" and gone["file_deleted"] is False  # the file is the ingester's
        assert eventually(lambda: http.get(f"{ingester}/v1/reports").json()["count"], lambda n: n == 0) == 0
        assert http.post(f"{ingester}/v1/ask", json=question).status_code == 503
        health = http.get(f"{asker}/healthz").json()
        assert health["backend"] == "server" and health["chunks"] == 0
