"""Nothing lost, nothing let in: the cases a careless user or an attacker tried, each reproduced and
held (real Chroma, the fake embedder). File names of any bytes, zip bombs, links out of the data folder,
deletes racing ingests, uploads under taken names, bodies over the limit, foreign hosts and origins."""

from __future__ import annotations

import io
import os
import threading
import time
import zipfile
import zlib

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from assistant.errors import IngestError
from assistant.ingest.formats.docx import load_docx
from assistant.qa import ReportQA
from assistant.serve.server import build_app
from assistant.settings import Settings
from tests.builders import GOV_PAGE, REPORT_DOCX, make_docx, report_text
from tests.fakes import BigramEmbedder

LOCAL = "http://127.0.0.1:7860"


@pytest.fixture
def made(tmp_path):
    def make(**overrides) -> tuple[ReportQA, TestClient]:
        s = Settings(data_dir=tmp_path / "reports", home_dir=tmp_path / "home", _env_file=None, **overrides)
        s.data_dir.mkdir(exist_ok=True)
        qa = ReportQA(s, BigramEmbedder())
        return qa, TestClient(build_app(qa, s, ui=False), base_url=LOCAL)

    return make


# --- ingest -------------------------------------------------------------------------------------------
def test_a_gbk_file_name_is_indexed_readably_and_the_rest_goes_on(made):
    qa, _ = made()
    raw_name = "政府报告.txt".encode("gbk")  # not UTF-8: a name from a Windows share or a zip file
    with open(os.path.join(os.fsencode(qa.settings.data_dir), raw_name), "wb") as fh:
        fh.write(report_text("鞍山").encode())
    (qa.settings.data_dir / "z.txt").write_text(report_text("营口"), encoding="utf-8")
    summary = qa.ingest(prune=True)
    assert {(o.source, o.status) for o in summary.outcomes} == {("政府报告.txt", "indexed"), ("z.txt", "indexed")}
    again = qa.ingest(prune=True)  # the raw path is kept exactly: the file is not taken for gone
    assert {o.status for o in again.outcomes} == {"unchanged"}
    assert qa.indexer.check() == []


def _docx(xml: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", xml)
    return buf.getvalue()


def test_a_docx_bomb_is_refused_before_parsing():
    body = b"<w:p><w:r><w:t>a</w:t></w:r></w:p>" * 400_000  # 14 MB of XML, packs into a few KB
    raw = _docx(b'<w:document xmlns:w="x"><w:body>' + body + b"</w:body></w:document>")
    assert len(raw) < 200_000
    t0 = time.perf_counter()
    with pytest.raises(IngestError, match="疑似压缩炸弹"):
        load_docx(None, raw, "bomb.docx")
    assert time.perf_counter() - t0 < 5  # refused from the zip directory, not after parsing (generous bound)


def test_text_over_the_character_budget_is_refused_by_name(made):
    qa, _ = made(max_text_chars=500)
    (qa.settings.data_dir / "long.txt").write_text(report_text() * 3, encoding="utf-8")
    (qa.settings.data_dir / "ok.txt").write_text(report_text()[:400], encoding="utf-8")
    outcomes = {o.source: o for o in qa.ingest().outcomes}
    assert outcomes["long.txt"].status == "error" and "个字符的上限（REPORTQA_MAX_TEXT_CHARS）" in outcomes["long.txt"].message
    assert outcomes["ok.txt"].status == "indexed"


def test_a_link_out_of_the_data_folder_is_not_followed(made, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text(report_text("秘密"), encoding="utf-8")
    qa, _ = made()
    (qa.settings.data_dir / "p.txt").symlink_to(secret)
    (qa.settings.data_dir / "inside.txt").write_text(report_text("营口"), encoding="utf-8")
    (qa.settings.data_dir / "alias.txt").symlink_to(qa.settings.data_dir / "inside.txt")  # inside: fine
    outcomes = {o.source: o for o in qa.ingest().outcomes}
    assert outcomes["p.txt"].status == "error" and "链接指向数据文件夹之外" in outcomes["p.txt"].message
    assert outcomes["inside.txt"].status == "indexed"
    qa2, _ = made(follow_symlinks=True)
    assert {o.source: o.status for o in qa2.ingest().outcomes}["p.txt"] == "indexed"


# --- per-file budgets: each file read in a worker process --------------------------------------------
def _pdf_bomb(inflated_mb: int) -> bytes:
    """A valid one-page PDF whose content stream inflates from a few hundred KB to `inflated_mb` MB."""
    packer = zlib.compressobj(9)
    blank = b" " * (1 << 20)
    stream = b"".join(packer.compress(blank) for _ in range(inflated_mb)) + packer.flush()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
               b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(stream), stream)]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (i, obj)
    xref = len(out)
    out += b"xref\n0 5\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def test_a_file_over_the_time_budget_is_stopped_and_the_rest_goes_on(made):
    qa, _ = made(parse_timeout_s=2, max_html_depth=1_000_000)
    data = qa.settings.data_dir
    levels = 60_000  # real nesting the HTML parser needs many seconds for (quadratic in depth)
    (data / "deep.html").write_text("<html><body>" + "<div>段" * levels + "</div>" * levels, encoding="utf-8")
    (data / "report.docx").write_bytes(make_docx(REPORT_DOCX))  # read by the worker started after the kill
    (data / "营口.txt").write_text(report_text("营口"), encoding="utf-8")
    t0 = time.perf_counter()
    outcomes = {o.source: o for o in qa.ingest().outcomes}
    print(f"ingest with deep.html stopped at its 2 s budget: {time.perf_counter() - t0:.1f}s")
    assert outcomes["deep.html"].status == "error"
    assert "读取超时" in outcomes["deep.html"].message and "REPORTQA_PARSE_TIMEOUT_S" in outcomes["deep.html"].message
    assert outcomes["report.docx"].status == "indexed" and outcomes["营口.txt"].status == "indexed"
    assert qa.indexer.check() == []


def test_a_file_over_the_memory_budget_is_stopped_and_the_rest_goes_on(made):
    qa, _ = made(parse_memory_mb=256)
    data = qa.settings.data_dir
    bomb = _pdf_bomb(300)
    assert len(bomb) < 400_000
    (data / "bomb.pdf").write_bytes(bomb)
    with open(os.path.join(os.fsencode(data), "政府网页.html".encode("gbk")), "wb") as fh:  # a raw name, through the pipe
        fh.write(GOV_PAGE.encode("gb18030"))
    (data / "营口.txt").write_text(report_text("营口"), encoding="utf-8")
    t0 = time.perf_counter()
    outcomes = {o.source: o for o in qa.ingest().outcomes}
    print(f"ingest with a 300 MB PDF bomb under a 256 MB budget: {time.perf_counter() - t0:.1f}s")
    assert outcomes["bomb.pdf"].status == "error" and "REPORTQA_PARSE_MEMORY_MB" in outcomes["bomb.pdf"].message
    assert outcomes["政府网页.html"].status == "indexed" and outcomes["营口.txt"].status == "indexed"
    assert {o.status for o in qa.ingest().outcomes} == {"error", "unchanged"}  # the raw path is kept exactly


def test_small_text_files_are_read_without_a_worker(made, monkeypatch):
    from assistant.ingest.isolation import FileReader

    qa, _ = made()
    (qa.settings.data_dir / "a.txt").write_text(report_text(), encoding="utf-8")
    (qa.settings.data_dir / "b.md").write_text(report_text("营口"), encoding="utf-8")
    monkeypatch.setattr(FileReader, "_start", lambda self, source: pytest.fail(f"a worker started for {source}"))
    assert {o.status for o in qa.ingest().outcomes} == {"indexed"}


class SlowEmbedder(BigramEmbedder):
    """Slow enough that a delete arrives while the file's chunks are being written."""

    def __init__(self):
        super().__init__()
        self.started = threading.Event()

    def embed_documents(self, texts):
        self.started.set()
        time.sleep(0.2)
        return super().embed_documents(texts)


def test_a_delete_racing_an_ingest_leaves_a_consistent_index(tmp_path):
    s = Settings(data_dir=tmp_path / "reports", home_dir=tmp_path / "home", _env_file=None, chunk_target=100,
                 chunk_max=120)
    s.data_dir.mkdir()
    embedder = SlowEmbedder()
    qa = ReportQA(s, embedder)
    path = s.data_dir / "r.txt"
    path.write_text(report_text() * 20, encoding="utf-8")
    qa.ingest()
    path.write_text(report_text("营口") * 20, encoding="utf-8")  # a new version, same name
    embedder.started.clear()
    worker = threading.Thread(target=qa.ingest)
    worker.start()
    assert embedder.started.wait(10)
    qa.remove("r.txt", path)  # waits for the ingest under the lock, then removes file and chunks
    worker.join(30)
    assert not path.exists() and "r.txt" not in qa.store.files() and qa.store.chunk_ids_of("r.txt") == []
    assert qa.indexer.check() == []


def test_check_finds_and_repairs_missing_chunks(made, monkeypatch):
    qa, _ = made()
    (qa.settings.data_dir / "r.txt").write_text(report_text() * 5, encoding="utf-8")
    qa.ingest()
    ids = qa.store.chunk_ids_of("r.txt")
    qa.store.delete_chunks(ids[:2])
    problems = qa.indexer.check()
    assert len(problems) == 1 and problems[0].repairable and "索引中存有" in problems[0].message
    monkeypatch.setenv("REPORTQA_DATA_DIR", str(qa.settings.data_dir))
    monkeypatch.setenv("REPORTQA_HOME_DIR", str(qa.settings.home_dir))
    qa.indexer.repair(problems)
    assert qa.indexer.check() == [] and len(qa.store.chunk_ids_of("r.txt")) == len(ids)


def test_config_masks_secrets_only(monkeypatch):
    from assistant.cli import app

    monkeypatch.setenv("REPORTQA_API_KEY", "s3cret")
    out = CliRunner().invoke(app, ["config"]).output
    assert "s3cret" not in out and "******" in out
    assert "api_key_scope" in out and "all" in out.split("api_key_scope", 1)[1].splitlines()[0]


def test_the_settings_switch_every_telemetry_off():
    from assistant.settings import OFFLINE_ENV

    assert all(os.environ.get(k) for k in OFFLINE_ENV)
    assert OFFLINE_ENV["ANONYMIZED_TELEMETRY"] == "False" and OFFLINE_ENV["HF_HUB_OFFLINE"] == "1"


# --- uploads ------------------------------------------------------------------------------------------
def test_uploads_under_a_taken_name_never_replace_the_earlier_report(made):
    qa, client = made()
    first = client.post("/v1/reports", files=[("files", ("evil.txt", report_text("鞍山").encode(), "text/plain"))])
    second = client.post("/v1/reports", files=[("files", ("evil.TXT", report_text("营口").encode(), "text/plain"))])
    third = client.post("/v1/reports", files=[("files", ("evil.txt", b"\x00\x01" * 50, "text/plain"))])
    names = [r.json()["files"][0]["source"] for r in (first, second, third)]
    assert names[0] == "uploads/evil.txt" and len(set(names)) == 3
    assert third.json()["files"][0]["status"] == "error"
    uploads = qa.settings.data_dir / "uploads"
    assert sorted(p.name for p in uploads.iterdir()) == sorted(n.split("/")[1] for n in names[:2])
    assert "鞍山" in (uploads / "evil.txt").read_text(encoding="utf-8")
    assert {r.entity for r in qa.reports()} == {"鞍山", "营口"}
    same = client.post("/v1/reports", files=[("files", ("evil.txt", report_text("鞍山").encode(), "text/plain"))])
    assert (same.json()["files"][0]["source"], same.json()["files"][0]["status"]) == ("uploads/evil.txt", "unchanged")


def test_upload_bodies_over_the_limit_are_refused_while_streaming(made):
    qa, client = made(max_upload_mb=0.05)
    declared = client.post("/v1/reports", content=b"x" * 100, headers={"content-length": str(10**9),
                                                                       "content-type": "multipart/form-data; boundary=b"})
    assert declared.status_code == 413

    def chunks():
        for _ in range(40):
            yield b"-" * 4096  # 160 KB with no declared length

    streamed = client.post("/v1/reports", content=chunks(), headers={"content-type": "multipart/form-data; boundary=b"})
    assert streamed.status_code == 413 and "REPORTQA_MAX_UPLOAD_MB" in streamed.json()["detail"]
    assert not (qa.settings.data_dir / "uploads").exists()


# --- a closed server -------------------------------------------------------------------------------------
def test_foreign_hosts_and_origins_are_turned_away(made):
    _, client = made()
    assert client.get("/healthz").status_code == 200
    assert client.get("/healthz", headers={"host": "evil.example:7860"}).status_code == 421  # DNS rebinding
    assert client.get("/healthz", headers={"host": "[::1]:7860"}).status_code == 200
    upload = [("files", ("a.txt", report_text().encode(), "text/plain"))]
    cross = client.post("/v1/reports", files=upload, headers={"origin": "http://evil.example"})
    assert cross.status_code == 403
    preflight = client.options("/v1/reports/x", headers={"origin": "http://localhost:9999",
                                                         "access-control-request-method": "DELETE"})
    assert preflight.status_code == 403
    own = client.post("/v1/ask", json={"question": "鞍山2023年一般公共预算收入多少？"}, headers={"origin": LOCAL})
    assert own.status_code == 503 and "索引为空" in own.json()["detail"]  # let in: only the index is empty
    assert own.headers["x-frame-options"] == "SAMEORIGIN" and "frame-ancestors" in own.headers["content-security-policy"]


def test_another_sites_page_cannot_forge_a_write_without_an_origin(made):
    _, client = made()
    upload = [("files", ("a.txt", report_text().encode(), "text/plain"))]
    forged = client.post("/v1/reports", files=upload, headers={"sec-fetch-site": "cross-site"})
    assert forged.status_code == 403 and "another site" in forged.json()["detail"]
    own = client.post("/v1/ask", json={"question": "x"}, headers={"sec-fetch-site": "same-origin"})
    assert own.status_code != 403
    assert client.get("/healthz", headers={"sec-fetch-site": "cross-site"}).status_code == 200  # reads are not writes


def test_the_chat_login_cookie_is_not_sent_along_with_other_sites_posts(tmp_path):
    s = Settings(data_dir=tmp_path / "reports", home_dir=tmp_path / "home", _env_file=None, api_key="s3cret-key")
    s.data_dir.mkdir()
    with TestClient(build_app(ReportQA(s, BigramEmbedder()), s), base_url=LOCAL) as client:
        right = client.post("/login", data={"username": "u", "password": "s3cret-key"})
    cookies = right.headers.get_list("set-cookie")
    assert right.status_code == 200 and any(c.startswith("access-token") for c in cookies)
    assert all("samesite=lax" in c.lower() for c in cookies), cookies  # Gradio's own is SameSite=None


def test_configured_hosts_and_origins_are_served(made):
    _, client = made(host="0.0.0.0", allowed_hosts=["reports.intra"], allowed_origins=["https://portal.intra"])
    assert client.get("/healthz", headers={"host": "reports.intra"}).status_code == 200
    assert client.get("/healthz", headers={"host": "127.0.0.1:7860"}).status_code == 421
    ok = client.post("/v1/ask", json={"question": "x"}, headers={"host": "reports.intra", "origin": "https://portal.intra"})
    assert ok.status_code != 403
    _, anyhost = made(host="0.0.0.0")
    assert anyhost.get("/healthz", headers={"host": "10.1.2.3:7860"}).status_code == 200


def test_openai_content_parts_are_bounded(made):
    _, client = made()
    parts = [{"type": "text", "text": "问" * 3000}, {"type": "text", "text": "题" * 3000}]
    r = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": parts}]})
    assert r.status_code == 400 and "4000" in r.json()["detail"]


def test_a_non_ascii_chat_password_is_a_refusal_not_an_error(tmp_path):
    s = Settings(data_dir=tmp_path / "reports", home_dir=tmp_path / "home", _env_file=None, api_key="钥匙key")
    s.data_dir.mkdir()
    with TestClient(build_app(ReportQA(s, BigramEmbedder()), s), base_url=LOCAL) as client:
        wrong = client.post("/login", data={"username": "u", "password": "密码错误"})
        right = client.post("/login", data={"username": "u", "password": "钥匙key"})
    assert wrong.status_code in (400, 401) and right.status_code == 200


def test_guessing_the_chat_password_is_slowed_down_like_api_keys(tmp_path):
    s = Settings(data_dir=tmp_path / "reports", home_dir=tmp_path / "home", _env_file=None, api_key="s3cret-key")
    s.data_dir.mkdir()
    with TestClient(build_app(ReportQA(s, BigramEmbedder()), s), base_url=LOCAL) as client:
        assert client.post("/login", data={"username": "u", "password": "s3cret-key"}).status_code == 200
        codes = [client.post("/login", data={"username": "u", "password": f"猜{i}"}).status_code for i in range(11)]
        blocked = client.post("/login", data={"username": "u", "password": "s3cret-key"})
        api = client.get("/v1/reports", headers={"X-API-Key": "s3cret-key"})
    assert codes[:10] == [400] * 10 and codes[10] == 429  # ten wrong passwords a minute, then a wait
    assert blocked.status_code == 429 and "一分钟后再试" in blocked.json()["detail"]  # even the right one, for now
    assert api.status_code == 429  # one count per address for the chat and the API


def test_api_answers_carry_no_live_markup(made):
    from assistant.serve.api import plain

    assert plain('增长5%<img src=x onerror=alert(1)>![](http://evil/x.png)[1]') == \
        '增长5%&lt;img src=x onerror=alert(1)&gt;!\\[]\\(http://evil/x.png)[1]'
    qa, client = made()
    (qa.settings.data_dir / "r.txt").write_text(report_text().replace(
        "实施民生实事十件", "<img src=x onerror=alert(1)>![t](http://evil.example/p.png)实施民生实事十件"), encoding="utf-8")
    qa.ingest()
    r = client.post("/v1/ask", json={"question": "鞍山实施民生实事多少件，改造老旧小区多少个？"}).json()
    assert not r["refused"] and "民生实事" in r["answer"]
    assert "](http" in qa.ask("鞍山实施民生实事多少件，改造老旧小区多少个？").answer  # the raw answer quotes a link
    assert "<img" not in r["answer"] and "](http" not in r["answer"]
    chat = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "鞍山实施民生实事多少件，改造老旧小区多少个？"}]})
    assert "<img" not in chat.json()["choices"][0]["message"]["content"]


def test_a_deleted_report_leaves_no_words_in_the_keyword_cache(made):
    qa, _ = made()
    (qa.settings.data_dir / "a.txt").write_text(report_text("鞍山"), encoding="utf-8")
    (qa.settings.data_dir / "b.txt").write_text(report_text("营口").replace("菱镁新材料", "独有词汇甲乙丙"), encoding="utf-8")
    qa.ingest()
    qa.ask("鞍山2023年一般公共预算收入多少？")
    cache = qa.keyword.cache_path
    assert "词汇" in cache.read_text(encoding="utf-8")
    qa.remove("b.txt")
    qa.ask("鞍山2023年一般公共预算收入多少？")
    assert "词汇" not in cache.read_text(encoding="utf-8")


def test_nul_bytes_do_not_stay_inside_words(made):
    qa, _ = made()
    (qa.settings.data_dir / "n.txt").write_bytes(report_text().replace("预算收入", "预算\x00收入").encode())
    qa.ingest()
    assert "\x00" not in qa.document_text("n.txt") and "预算收入" in qa.document_text("n.txt")
