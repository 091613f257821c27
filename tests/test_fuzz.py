"""Fuzzing the loaders and the chunker: random bytes, mutated real files, random PDFs and DOCX.

Whatever comes in, the only failure is an `IngestError` naming the file, and every offset is valid:
each chunk is ``doc.text[start:end]``, each report and page start lies inside the text.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.errors import IngestError
from assistant.ingest.chunking import Chunker
from assistant.ingest.loading import LOADERS
from assistant.ingest.parsing import parse_document
from tests.builders import GOV_PAGE, REPORT_BLOCKS, REPORT_DOCX, SAMPLE_DIR, make_docx, make_pdf

CHUNKER = Chunker(120, 200)
SUFFIXES = [".txt", ".pdf", ".docx", ".html"]
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
CJK = st.sampled_from(list("经济增长发展地区生产总值亿元万人市政府工作报告年，。；：、（）()%.\n 一二三1234567890"))


def check(suffix: str, raw: bytes) -> None:
    source = f"fuzz 文件{suffix}"
    try:
        doc = LOADERS[suffix](Path(source), raw, source)
    except IngestError as exc:
        assert exc.source == source and exc.reason
        return
    text = doc.text
    assert text.strip() and doc.source == source
    assert list(doc.pages) == sorted(doc.pages) and all(0 <= p <= len(text) for p in doc.pages)
    try:
        pf = parse_document(doc, CHUNKER)
    except IngestError as exc:
        assert exc.source == source
        return
    for r in pf.reports:
        assert 0 <= r.start < r.end <= len(text)
    for c in pf.chunks:
        assert 0 <= c.start < c.end <= len(text) and c.text == text[c.start : c.end]
        if doc.pages:
            assert c.page is not None and 1 <= c.page <= len(doc.pages)


@st.composite
def mutated(draw, original: bytes) -> bytes:
    """A real file with a few random edits: flipped bytes, cuts, insertions, duplicated slices."""
    data = bytearray(original)
    rnd = draw(st.randoms(use_true_random=False))  # positions spread over the whole file
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "flip", "cut", "insert", "dup", "truncate"]))
        if not data:
            break
        i = rnd.randrange(len(data))
        if op == "flip":
            data[i] = draw(st.integers(0, 255))
        elif op == "cut":
            del data[i : i + draw(st.integers(1, 200))]
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=64))
        elif op == "dup":
            data[i:i] = data[i : i + draw(st.integers(1, 300))]
        else:
            del data[i:]
    return bytes(data)


@pytest.fixture(scope="module")
def originals() -> dict[str, bytes]:
    return {
        ".txt": (SAMPLE_DIR / "002_66024b6037eae503.txt").read_bytes()[:6000],
        ".pdf": make_pdf(REPORT_BLOCKS[:9]),
        ".docx": make_docx(REPORT_DOCX),
        ".html": GOV_PAGE.encode("gb18030"),
    }


@pytest.mark.parametrize("suffix", SUFFIXES)
@FUZZ
@given(raw=st.binary(max_size=3000))
def test_random_bytes(suffix, raw):
    check(suffix, raw)


@pytest.mark.parametrize("suffix", SUFFIXES)
@FUZZ
@given(raw=st.binary(max_size=200).map(lambda b: b"%PDF-1.4\n" + b) | st.binary(max_size=200).map(lambda b: b"PK\x03\x04" + b))
def test_random_bytes_behind_a_magic_number(suffix, raw):
    check(suffix, raw)


@pytest.mark.parametrize("suffix", SUFFIXES)
@settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                                  HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_real_files(originals, suffix, data):
    check(suffix, data.draw(mutated(originals[suffix])))


@settings(deadline=None, max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(blocks=st.lists(st.one_of(
    st.text(CJK, min_size=1, max_size=300).map(lambda t: t.replace("\n", " ").strip() or "空"),
    st.sampled_from(["#一、2024年工作回顾", "#（一）稳增长", "#2024年某市政府工作报告", "PAGE"]),
    st.lists(st.lists(st.text(CJK.filter(lambda c: c != "\n"), max_size=8), min_size=2, max_size=2), min_size=1, max_size=4),
), min_size=1, max_size=12), cut=st.none() | st.floats(0.3, 0.99))
def test_random_pdfs(blocks, cut):
    raw = make_pdf(blocks, running_header=None)
    check(".pdf", raw if cut is None else raw[: int(len(raw) * cut)])


@settings(deadline=None, max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(blocks=st.lists(st.one_of(
    st.tuples(st.sampled_from(["p", "h1", "h2", "h3", "title"]), st.text(CJK, max_size=200)),
    st.tuples(st.just("table"), st.lists(st.lists(st.text(CJK, max_size=6), min_size=2, max_size=2), min_size=1, max_size=3)),
), min_size=1, max_size=15))
def test_random_docx(blocks):
    check(".docx", make_docx(blocks))


@settings(deadline=None, max_examples=150)
@given(text=st.text(CJK, min_size=1, max_size=2000), suffix=st.sampled_from([".txt", ".html"]))
def test_random_text_through_loader_and_chunker(text, suffix):
    raw = text.encode("utf-8") if suffix == ".txt" else f"<html><body><p>{text}</p></body></html>".encode()
    check(suffix, raw)
