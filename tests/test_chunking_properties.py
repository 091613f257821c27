"""Property-based tests of the sentence splitter and the chunk bounds."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.ingest.chunking import Chunker, sentence_units
from assistant.ingest.cleaning import find_boilerplate, removed_mask
from assistant.ingest.loading import load_text
from assistant.ingest.metadata import extract_metadata
from assistant.ingest.splitting import find_reports

ALPHABET = st.sampled_from(list("经济增长发展地区生产总值亿元万人，,。；;！？!?、：\n \u3000（）()一二三1234567890.%盘锦市年"))
texty = st.text(alphabet=ALPHABET, min_size=1, max_size=3000)


@given(texty, st.integers(min_value=20, max_value=400))
def test_units_are_trimmed_slices_within_limit(text, limit):
    units = sentence_units(text, 0, len(text), limit)
    prev_end = 0
    for u in units:
        piece = text[u.start : u.end]
        assert piece and piece == piece.strip(" \u3000\xa0\t\n")
        assert u.end - u.start <= limit
        assert u.start >= prev_end
        prev_end = u.end
    # nothing but whitespace is left out
    covered = bytearray(len(text))
    for u in units:
        covered[u.start : u.end] = b"\x01" * (u.end - u.start)
    assert all(covered[i] or text[i].isspace() for i in range(len(text)))


@given(st.lists(st.sampled_from([
    "一、2024年工作回顾", "（一）稳增长取得成效。地区生产总值增长5.6%。", "(二)项目建设", "1.加快发展",
    "一是扩大投资。二是促进消费；三是稳定外贸！", "财政收入123.45亿元，增长3.5%。" * 5,
    "更多资料+【公众号:哒哒君】", "当前位置: 首页", "", "\u3000\u3000各位代表！",
]), min_size=1, max_size=60), st.integers(min_value=80, max_value=700))
@settings(max_examples=150, deadline=None)
def test_chunks_bounded_exact_and_clean(lines, max_chars):
    text = "\n".join(lines)
    raw = text.encode("utf-8")
    if not text.strip():
        return
    from pathlib import Path

    doc = load_text(Path("x.txt"), raw, "x.txt")
    mask = removed_mask(doc.text, find_boilerplate(doc.text))
    chunker = Chunker(target=max(50, max_chars * 3 // 4), max_chars=max_chars)
    for i, span in enumerate(find_reports(doc.text, mask)):
        report = extract_metadata(doc, span, i)
        for c in chunker.chunk(doc, report, mask):
            assert c.text == doc.text[c.start : c.end]
            assert 0 < len(c.text) <= max_chars
            assert report.start <= c.start < c.end <= report.end
            assert not any(mask[c.start : c.end])
