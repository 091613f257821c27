"""Foundation: loading, cleaning, report splitting, metadata and section chunking on the sample corpus."""

from __future__ import annotations

import re

import pytest

from assistant.ingest.chunking import HEADINGS, Chunker, heading_of
from assistant.ingest.cleaning import find_boilerplate
from assistant.ingest.loading import load_document
from assistant.ingest.parsing import parse_document, parse_paths
from tests.conftest import SAMPLE_DIR

BOILERPLATE = ["欢迎您", "当前位置", "上一篇", "下一篇", "版权所有", "ICP备", "导航菜单", "更多资料", "公众号", "本文地址", "验证码", "目 录"]

EXPECTED = {
    "000_80012d082ab10aeb.txt": [("盘锦", 2023, "计划执行报告")],
    "001_856a73ee7808871b.txt": [
        ("济南", 2024, "政府工作报告"), ("沈阳", 2024, "政府工作报告"), ("福州", 2024, "政府工作报告"),
        ("本溪", 2024, "政府工作报告"), ("盘锦", 2024, "政府工作报告"), ("商丘", 2024, "政府工作报告"),
        ("内江", 2024, "政府工作报告"),
    ],
    "002_66024b6037eae503.txt": [("盘锦", 2025, "政府工作报告")],
    "003_7a91a6eb2cbf9362.txt": [("盘锦", None, "其他")],
    "004_a5efa3cb74e78c11.txt": [("盘锦", 2023, "政府工作报告")],
}


@pytest.fixture(scope="module")
def parsed():
    chunker = Chunker(450, 600)
    return {name: parse_document(load_document(SAMPLE_DIR / name), chunker) for name in EXPECTED}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_reports_found_with_city_year_type(parsed, name):
    got = [(r.city, r.year, r.type) for r in parsed[name].reports]
    assert got == EXPECTED[name]


def test_report_metadata_details(parsed):
    plan = parsed["000_80012d082ab10aeb.txt"].reports[0]
    assert plan.date == "2023-01-04"
    assert plan.meeting == "第九届人民代表大会第二次会议"
    assert plan.speaker == "市发展改革委"
    gwr2025 = parsed["002_66024b6037eae503.txt"].reports[0]
    assert gwr2025.title_inferred and "盘锦" in gwr2025.title and "2025" in gwr2025.title
    assert gwr2025.date == "2025-01-08" and gwr2025.speaker and gwr2025.speaker.startswith("市长")
    fragment = parsed["003_7a91a6eb2cbf9362.txt"].reports[0]
    assert fragment.year is None and fragment.date is None
    assert "003_7a91a6eb2cbf9362.txt" in fragment.title and "片段" in fragment.title
    shangqiu = parsed["001_856a73ee7808871b.txt"].reports[5]
    assert shangqiu.date is None  # no date line in the file: not guessed
    assert len({r.report_id for p in parsed.values() for r in p.reports}) == 11


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_chunks_are_exact_slices_within_bounds(parsed, name):
    pf = parsed[name]
    for c in pf.chunks:
        assert c.text == pf.document.text[c.start : c.end]
        assert 0 < len(c.text) <= 600
        assert c.text == c.text.strip(" \u3000\xa0\t\n")
        assert c.embed_text.endswith(c.text) and c.embed_text != c.text
        for word in BOILERPLATE:
            assert word not in c.text, (name, word, c.text[:80])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_chunks_cover_all_report_text(parsed, name):
    pf = parsed[name]
    text = pf.document.text
    covered = bytearray(len(text))
    for c in pf.chunks:
        covered[c.start : c.end] = b"\x01" * (c.end - c.start)
    removed = bytearray(len(text))
    for r in find_boilerplate(text):
        removed[r.start : r.end] = b"\x01" * (r.end - r.start)
    for r in pf.reports:
        missing = [
            i for i in range(r.start, r.end)
            if not covered[i] and not removed[i] and not text[i].isspace()
        ]
        assert not missing, text[missing[0] : missing[0] + 40]


def test_chunks_stay_in_one_section(parsed):
    for pf in parsed.values():
        for c in pf.chunks:
            lines = c.text.split("\n")
            # a heading may only open a chunk, never sit inside it
            for line in lines[1:]:
                assert heading_of(line) is None, (c.section_path, line[:40])
            if heading_of(lines[0]):
                assert c.section_path.endswith(heading_of(lines[0])[1])


def test_table_of_contents_is_skipped(parsed):
    pf = parsed["001_856a73ee7808871b.txt"]
    first = pf.reports[0]
    assert pf.document.text[first.start :].startswith("2024年济南市政府工作报告")
    assert not any("2024年三明市政府工作报告" in c.text for c in pf.chunks)


def test_section_paths_and_periods(parsed):
    chunks = parsed["002_66024b6037eae503.txt"].chunks
    review = [c for c in chunks if c.section_path.startswith("一、2024年工作回顾")]
    plan = [c for c in chunks if c.section_path.startswith("二、2025年工作安排")]
    assert review and plan
    assert {c.period for c in review} == {2024} and {c.period for c in plan} == {2025}
    assert any(c.section_path == "一、2024年工作回顾 > （一）精准施策稳增长，提振经济取得新成效" for c in review)
    jinan = [c for c in parsed["001_856a73ee7808871b.txt"].chunks if c.city == "济南"]
    assert {c.period for c in jinan if "工作回顾" in c.section_path} == {2023}


def test_enumerations_stay_inside_their_section():
    assert heading_of("一是全面落实国家东北振兴战略部署。") is None
    assert heading_of("（一）精准施策稳增长，提振经济取得新成效。全面落实") == (2, "（一）精准施策稳增长，提振经济取得新成效")
    assert heading_of("1.2万亿元的投资") is None
    assert heading_of("3、加快建设") == (3, "3、加快建设")
    assert len(HEADINGS) == 5
    assert heading_of("第二节 公司简介和主要财务指标") == (0, "第二节 公司简介和主要财务指标")
    assert heading_of("第二节点的设备已经到位。") is None


def test_chunk_ids_are_stable(parsed):
    again = parse_document(load_document(SAMPLE_DIR / "002_66024b6037eae503.txt"), Chunker(450, 600))
    assert [c.chunk_id for c in again.chunks] == [c.chunk_id for c in parsed["002_66024b6037eae503.txt"].chunks]


def test_numbers_never_split_across_chunks(parsed):
    for pf in parsed.values():
        for c in pf.chunks:
            text = pf.document.text
            if c.end < len(text):
                assert not (text[c.end - 1].isdigit() and re.match(r"[\d.．%]", text[c.end])), text[c.end - 10 : c.end + 5]


def test_encodings_give_the_same_chunks(settings):
    original = (SAMPLE_DIR / "002_66024b6037eae503.txt").read_text(encoding="utf-8")
    variants = {
        "gb.txt": original.encode("gb18030"),
        "u16.txt": original.encode("utf-16"),
        "u16le.txt": original.encode("utf-16-le"),
        "bom.txt": original.encode("utf-8-sig"),
        "crlf.txt": original.replace("\n", "\r\n").encode("utf-8"),
        "plain.txt": original.encode("utf-8"),
    }
    for name, raw in variants.items():
        (settings.data_dir / name).write_bytes(raw)
    result = parse_paths([settings.data_dir], settings)
    assert not result.skipped
    texts = {f.document.source: [c.text for c in f.chunks] for f in result.files}
    assert len(texts) == len(variants)
    assert len({tuple(t) for t in texts.values()}) == 1
    encodings = {f.document.source: f.document.encoding for f in result.files}
    assert encodings["gb.txt"] == "gb18030"


def test_bad_files_are_skipped_with_reasons(settings):
    d = settings.data_dir
    (d / "empty.txt").write_bytes(b"")
    (d / "blank.txt").write_text("  \n\n", encoding="utf-8")
    (d / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20)
    (d / "latin.txt").write_bytes(bytes([0x81, 0x30, 0xFF, 0xFE, 0x00, 0x01]) * 50)
    (d / "good.txt").write_text("2024年某市政府工作报告\n一、2023年工作回顾\n地区生产总值增长5.2%。", encoding="utf-8")
    result = parse_paths([d], settings)
    reasons = {e.source: e.reason for e in result.skipped}
    assert set(reasons) == {"empty.txt", "blank.txt", "image.txt", "latin.txt"}
    assert reasons["empty.txt"] == "空文件" and reasons["blank.txt"].startswith("空文件")
    assert "不是文本文件" in reasons["image.txt"] or "无法识别文字编码" in reasons["image.txt"]
    assert all(str(e).startswith(e.source + ":") for e in result.skipped)
    assert [f.document.source for f in result.files] == ["good.txt"]
    assert result.reports[0].city == "某" or result.reports[0].city == "某市"


def test_size_limit_and_unsupported_type(settings):
    settings = settings.model_copy(update={"max_file_mb": 0.001})
    (settings.data_dir / "big.txt").write_text("报告" * 2000, encoding="utf-8")
    other = settings.data_dir.parent / "notes.xyz"
    other.write_text("x", encoding="utf-8")
    result = parse_paths([settings.data_dir, other], settings)
    reasons = {e.source: e.reason for e in result.skipped}
    assert reasons["big.txt"] == "文件大小 0.011 MB，超过 0.001 MB 的上限（REPORTQA_MAX_FILE_MB）"
    assert reasons["notes.xyz"].startswith("不支持的文件类型 .xyz；支持：") and ".pdf" in reasons["notes.xyz"]
