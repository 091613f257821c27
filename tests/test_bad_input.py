"""Bad input: each bad file gets one message naming it and the cause; the batch and the index go on."""

from __future__ import annotations

import io
import os
import re
import shutil
import threading
import time
import tracemalloc
import zipfile

import pytest

from assistant.errors import IngestError
from assistant.ingest.loading import load_document
from assistant.ingest.parsing import parse_paths
from assistant.qa import ReportQA
from tests.builders import REPORT_BLOCKS, REPORT_DOCX, SAMPLE_DIR, assert_consistent, make_docx, make_pdf
from tests.fakes import BigramEmbedder

SMALL_REPORT = "2024年甲乙市政府工作报告\n一、2023年工作回顾\n全市地区生产总值增长5.2%，一般公共预算收入增长8.3%。\n"


def zip_of(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


@pytest.fixture(scope="module")
def pdf_bytes() -> bytes:
    return make_pdf(REPORT_BLOCKS)


@pytest.fixture(scope="module")
def bad_files(pdf_bytes) -> dict[str, tuple[bytes, str]]:
    """name -> (bytes, a pattern the reason must contain)."""
    from reportlab.lib.pdfencrypt import StandardEncryption

    docx = make_docx(REPORT_DOCX)
    return {
        "empty.txt": (b"", "^空文件$"),
        "empty.pdf": (b"", "^空文件$"),
        "empty.docx": (b"", "^空文件$"),
        "empty.html": (b"  \n", "^空文件$"),
        "image.txt": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 40, "不是文本文件|无法识别文字编码"),
        "program.txt": (b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 64 + os.urandom(2048), "不是文本文件|无法识别文字编码"),
        "truncated.pdf": (pdf_bytes[: len(pdf_bytes) // 3], "PDF 文件已损坏或不完整"),
        "garbage.pdf": (b"%PDF-1.7\n" + bytes(range(256)) * 12, "PDF 文件已损坏或不完整"),
        "page.pdf": (b"<html><body>not a pdf</body></html>", "不是 PDF 文件（开头没有 %PDF 文件头）"),
        "locked.pdf": (make_pdf(REPORT_BLOCKS[:5], encrypt=StandardEncryption("secret", ownerPassword="o")),
                       r"PDF 已加密（需要密码）：请另存一份未加密的副本"),
        "archive.docx": (zip_of({"report.txt": "2024年政府工作报告".encode(), "img.png": b"\x89PNG"}),
                         "不是 Word 文档：压缩包里没有 word/document.xml（里面是：img.png、report.txt）"),
        "sheet.docx": (zip_of({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"}),
                       "不是 Word 文档"),
        "truncated.docx": (docx[: len(docx) // 2], "DOCX 文件已损坏或不完整"),
        "plain.docx": ("2024年政府工作报告\n".encode() * 20, "不是 DOCX 文件.*另存为 .docx"),
        "navigation.html": (b"<html><body><nav><a href='/'>home</a></nav><div class='footer'>c</div></body></html>",
                            "HTML 网页中没有找到正文"),
    }


def test_each_bad_file_is_reported_with_its_cause(settings, bad_files):
    for name, (data, _) in bad_files.items():
        (settings.data_dir / name).write_bytes(data)
    (settings.data_dir / "good.txt").write_text(SMALL_REPORT, encoding="utf-8")
    result = parse_paths([settings.data_dir], settings)
    reasons = {e.source: e.reason for e in result.skipped}
    assert set(reasons) == set(bad_files)
    for name, (_, expected) in bad_files.items():
        assert re.search(expected, reasons[name]), (name, reasons[name])
        assert re.search(r"[\u4e00-\u9fff]", reasons[name]), (name, reasons[name])  # users read Chinese
    for e in result.skipped:
        assert str(e).startswith(f"{e.source}: ")
    assert [f.document.source for f in result.files] == ["good.txt"]


def test_bad_files_leave_the_index_and_the_batch_alone(settings, bad_files):
    shutil.copy(SAMPLE_DIR / "004_a5efa3cb74e78c11.txt", settings.data_dir / "A.txt")
    qa = ReportQA(settings, BigramEmbedder())
    qa.ingest()
    before = assert_consistent(qa)
    a_chunks = {cid for cid, c in qa.retriever.view.chunks.items() if c.source == "A.txt"}
    assert before == {"A.txt": len(a_chunks)}

    for name, (data, _) in bad_files.items():
        (settings.data_dir / name).write_bytes(data)
    shutil.copy(SAMPLE_DIR / "002_66024b6037eae503.txt", settings.data_dir / "B.txt")
    summary = qa.ingest()
    status = {o.source: o.status for o in summary.outcomes}
    assert status.pop("A.txt") == "unchanged" and status.pop("B.txt") == "indexed"
    assert set(status) == set(bad_files) and set(status.values()) == {"error"}
    assert all(o.message for o in summary.errors)

    after = assert_consistent(qa)
    assert set(after) == {"A.txt", "B.txt"}
    assert a_chunks <= set(qa.retriever.view.chunks)
    assert any(p.chunk.source == "A.txt" for p in qa.search("盘锦2023年政府工作报告 地区生产总值", k=10))
    assert any(p.chunk.source == "B.txt" for p in qa.search("盘锦2025年工作安排", k=10))


def test_huge_file_is_refused_before_reading(settings):
    for name in ("huge.txt", "huge.pdf"):
        with open(settings.data_dir / name, "wb") as fh:
            fh.truncate(200 * 1024 * 1024)  # sparse: 200 MB on paper, nothing on disk
    tracemalloc.start()
    t0 = time.perf_counter()
    result = parse_paths([settings.data_dir], settings)
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    reasons = {e.source: e.reason for e in result.skipped}
    assert set(reasons) == {"huge.txt", "huge.pdf"}
    for reason in reasons.values():
        assert re.search(r"文件大小 200 MB，超过 \d+ MB 的上限（REPORTQA_MAX_FILE_MB）", reason), reason
    assert peak < 5 * 1024 * 1024 and elapsed < 5


def test_stream_is_read_only_up_to_the_limit(settings):
    """A pipe reports size 0 to stat(): the read itself stops one byte past the limit."""
    fifo = settings.data_dir / "stream.txt"
    os.mkfifo(fifo)
    sent = [0]

    def writer() -> None:
        try:
            with open(fifo, "wb") as fh:
                for _ in range(64):
                    fh.write("报告".encode() * 20_000)  # 120 kB a write, 7.7 MB in all
                    sent[0] += 1
        except BrokenPipeError:
            pass

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    with pytest.raises(IngestError) as exc:
        load_document(fifo, settings.data_dir, max_bytes=1024 * 1024)
    t.join(timeout=10)
    assert exc.value.source == "stream.txt" and exc.value.reason == "文件超过 1 MB 的上限（REPORTQA_MAX_FILE_MB）"
    assert not t.is_alive() and sent[0] < 64


@pytest.mark.parametrize("name", ["2024年 盘锦 政府工作报告.txt", "报告（终稿） v2.pdf", "with space/子 目录/报告.docx"])
def test_file_names_with_spaces_and_chinese(settings, pdf_bytes, name):
    data = {".txt": SMALL_REPORT.encode(), ".pdf": pdf_bytes, ".docx": make_docx(REPORT_DOCX)}[name[name.rfind("."):]]
    path = settings.data_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    qa = ReportQA(settings, BigramEmbedder())
    summary = qa.ingest()
    assert [(o.source, o.status) for o in summary.outcomes] == [(name, "indexed")]
    assert assert_consistent(qa)[name] > 0
    assert qa.search("地区生产总值增长")[0].chunk.source == name


def test_dot_dot_paths_never_escape_into_stored_names(settings, tmp_path):
    inside = settings.data_dir / "sub" / "a.txt"
    inside.parent.mkdir()
    inside.write_text(SMALL_REPORT, encoding="utf-8")
    outside = tmp_path / "outside" / "b.txt"
    outside.parent.mkdir()
    outside.write_text(SMALL_REPORT.replace("甲乙", "丙丁"), encoding="utf-8")
    qa = ReportQA(settings, BigramEmbedder())
    summary = qa.ingest([settings.data_dir / "sub" / ".." / "sub" / "a.txt", settings.data_dir / ".." / "outside" / "b.txt"])
    assert sorted((o.source, o.status) for o in summary.outcomes) == [("b.txt", "indexed"), ("sub/a.txt", "indexed")]
    assert not any(".." in s for s in qa.store.files())
    assert_consistent(qa)


class ExclusiveEmbedder(BigramEmbedder):
    """Fails if two ingests embed at the same time, and is slow enough for them to try."""

    def __init__(self) -> None:
        super().__init__()
        self.active = 0
        self.overlaps = 0
        self._lock = threading.Lock()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        with self._lock:
            self.active += 1
            self.overlaps += self.active > 1
        time.sleep(0.02)
        try:
            return super().embed_documents(texts)
        finally:
            with self._lock:
                self.active -= 1


def test_concurrent_ingests_are_serialised(settings):
    names = ["002_66024b6037eae503.txt", "000_80012d082ab10aeb.txt", "004_a5efa3cb74e78c11.txt"]
    for name in names:
        shutil.copy(SAMPLE_DIR / name, settings.data_dir / name)
    embedder = ExclusiveEmbedder()
    qa = ReportQA(settings, embedder)
    other = ReportQA(settings, embedder)  # a second instance (as a CLI beside the app): the file lock serialises
    start = threading.Barrier(3)
    results: dict[str, list] = {}

    def run(key: str, target: ReportQA, files: list[str]) -> None:
        start.wait()
        results[key] = target.ingest([settings.data_dir / f for f in files]).outcomes

    threads = [
        threading.Thread(target=run, args=("a", qa, names[:2])),
        threading.Thread(target=run, args=("b", qa, names[2:])),
        threading.Thread(target=run, args=("c", other, names[:1])),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert set(results) == {"a", "b", "c"}
    assert embedder.overlaps == 0
    statuses = [(o.source, o.status) for key in "abc" for o in results[key]]
    assert {s for _, s in statuses} <= {"indexed", "unchanged"}
    assert sorted(s for s, st in statuses if st == "indexed") == sorted(names)
    per_file = assert_consistent(qa)
    assert set(per_file) == set(names)
    assert qa.store.count() == sum(per_file.values())


def test_same_report_under_two_names_is_indexed_once(settings):
    shutil.copy(SAMPLE_DIR / "002_66024b6037eae503.txt", settings.data_dir / "a_report.txt")
    shutil.copy(SAMPLE_DIR / "002_66024b6037eae503.txt", settings.data_dir / "b_copy.txt")
    qa = ReportQA(settings, BigramEmbedder())
    summary = qa.ingest()
    status = {o.source: (o.status, o.message) for o in summary.outcomes}
    assert status["a_report.txt"][0] == "indexed"
    assert status["b_copy.txt"][0] == "duplicate" and status["b_copy.txt"][1] == "与 a_report.txt 的报告内容相同，只索引一次"
    assert set(assert_consistent(qa)) == {"a_report.txt"}
    assert len(qa.reports()) == 1
    # arriving later under a third name, re-encoded: same report text, still a duplicate
    original = (SAMPLE_DIR / "002_66024b6037eae503.txt").read_text(encoding="utf-8")
    (settings.data_dir / "again.txt").write_bytes(original.encode("gb18030"))
    later = {o.source: o.status for o in qa.ingest().outcomes}
    assert later["again.txt"] == "duplicate" and len(qa.reports()) == 1


def test_two_fragments_of_one_report_are_both_indexed(settings):
    text = (SAMPLE_DIR / "002_66024b6037eae503.txt").read_text(encoding="utf-8")
    cut = text.index("二、2025年工作安排")
    (settings.data_dir / "part1.txt").write_text(text[:cut], encoding="utf-8")
    (settings.data_dir / "part2.txt").write_text(text[cut:], encoding="utf-8")
    qa = ReportQA(settings, BigramEmbedder())
    summary = qa.ingest()
    assert sorted((o.source, o.status) for o in summary.outcomes) == [("part1.txt", "indexed"), ("part2.txt", "indexed")]
    reports = qa.reports()
    assert len(reports) == 2 and len({r.report_id for r in reports}) == 2
    assert {r.source for r in reports} == {"part1.txt", "part2.txt"}
    per_file = assert_consistent(qa)
    assert per_file["part1.txt"] > 0 and per_file["part2.txt"] > 0
