"""Fusion as plain functions (chosen by a setting), and the closed facade the edges use."""

from __future__ import annotations

import pytest

from assistant.qa import ReportQA
from assistant.retrieval.fusion import FUSIONS, convex_combination, reciprocal_rank_fusion
from assistant.settings import Settings
from tests.fakes import BigramEmbedder

DENSE = [("a", 0.93), ("b", 0.92), ("c", 0.50)]
KEYWORD = [("c", 12.0), ("d", 3.0)]


def test_rrf_counts_ranks_only():
    fused = reciprocal_rank_fusion([DENSE, KEYWORD], [1.0, 1.0], k=60)
    assert fused["a"] == pytest.approx(1 / 61)
    assert fused["c"] == pytest.approx(1 / 63 + 1 / 61)  # in both lists: first
    assert max(fused, key=fused.get) == "c"
    # scaling one list's scores changes nothing
    scaled = reciprocal_rank_fusion([[(i, s * 100) for i, s in DENSE], KEYWORD], [1.0, 1.0])
    assert scaled == fused


def test_rrf_weights_and_k():
    only_dense = reciprocal_rank_fusion([DENSE, KEYWORD], [1.0, 0.0])
    assert only_dense["d"] == 0.0 and max(only_dense, key=only_dense.get) == "a"
    assert reciprocal_rank_fusion([DENSE], [1.0], k=1)["a"] == pytest.approx(0.5)


def test_convex_uses_score_gaps():
    fused = convex_combination([DENSE, KEYWORD], [1.0, 1.0])
    assert fused["a"] == pytest.approx(1.0) and fused["c"] == pytest.approx(1.0)  # dense min + keyword max
    assert fused["b"] == pytest.approx((0.92 - 0.5) / (0.93 - 0.5))
    assert fused["d"] == pytest.approx(0.0)
    # near-tied scores (0.93, 0.92) stay near-tied beside a far one (0.50); RRF spaces all three alike
    cc, rrf = convex_combination([DENSE], [1.0]), reciprocal_rank_fusion([DENSE], [1.0])
    assert cc["a"] - cc["b"] < 0.05 * (cc["b"] - cc["c"])
    assert rrf["a"] - rrf["b"] > 0.9 * (rrf["b"] - rrf["c"])
    assert convex_combination([[("x", 2.0)], []], [1.0, 1.0]) == {"x": 1.0}  # a single score counts fully


@pytest.mark.parametrize("fuse", FUSIONS.values())
def test_fusions_reject_bad_weights(fuse):
    with pytest.raises(ValueError, match="one weight per ranking"):
        fuse([DENSE, KEYWORD], [1.0], 60)
    with pytest.raises(ValueError, match="negative"):
        fuse([DENSE], [-1.0], 60)


REPORT = ("2024年甲乙市政府工作报告\n一、2023年工作回顾\n地区生产总值增长5.1%。一般公共预算收入增长3.0%。\n"
          "二、2024年工作安排\n地区生产总值增长5%左右。城镇新增就业1万人。\n")


@pytest.fixture
def small_qa(tmp_path):
    data = tmp_path / "reports"
    data.mkdir()
    (data / "jiayi.txt").write_text(REPORT, encoding="utf-8")
    qa = ReportQA(Settings(data_dir=data, home_dir=tmp_path / "home", _env_file=None), BigramEmbedder())
    qa.ingest()
    return qa


@pytest.mark.parametrize("fusion", ["rrf", "convex"])
def test_the_setting_picks_the_fusion_and_both_answer(tmp_path, fusion):
    data = tmp_path / "reports"
    data.mkdir()
    (data / "jiayi.txt").write_text(REPORT, encoding="utf-8")
    qa = ReportQA(Settings(data_dir=data, home_dir=tmp_path / "home", fusion=fusion, _env_file=None), BigramEmbedder())
    qa.ingest()
    answer = qa.ask("甲乙市2023年地区生产总值增长多少？")
    assert not answer.refused and "5.1%" in answer.answer


def test_facade_offers_what_the_edges_need(small_qa):
    qa = small_qa
    st = qa.status()
    assert (st.reports, st.files) == (1, 1) and st.chunks >= 1 and st.mode == "extractive"
    assert st.entities == ("甲乙",) and st.years == (2024,) and 2023 in st.periods and 2024 in st.periods
    assert st.to_dict()["chunks"] == st.chunks
    answer = qa.ask("甲乙市2023年地区生产总值增长多少？")
    cit = answer.citations[0]
    chunk = qa.chunk(cit.chunk_id)
    assert chunk is not None and chunk.text == cit.text
    report = qa.report(cit.report_id)
    assert report is not None and report.title == "2024年甲乙市政府工作报告"
    assert qa.sources() == ["jiayi.txt"]
    text = qa.document_text("jiayi.txt")
    start, end = qa.section_range(cit)
    assert start <= cit.start < cit.end <= end and "5.1%" in text[start:end]
    assert qa.chunk("no-such-chunk") is None and qa.report("no-such-report") is None
    assert qa.keyword_search("一般公共预算收入", 3)[0].chunk.source == "jiayi.txt"
    text, refused = qa.extract("甲乙市2023年一般公共预算收入增长多少", qa.keyword_search("一般公共预算收入", 3))
    assert not refused and "3.0%" in text


def test_the_document_cache_follows_the_file(small_qa, tmp_path):
    qa = small_qa
    assert "5.1%" in qa.document_text("jiayi.txt")
    (tmp_path / "reports" / "jiayi.txt").write_text(REPORT.replace("5.1%", "6.4%"), encoding="utf-8")
    qa.ingest()
    assert "6.4%" in qa.document_text("jiayi.txt") and "5.1%" not in qa.document_text("jiayi.txt")
