"""The indicator ledger: figures read with exact offsets, stored with the index, and answers composed
from them (a sentence per figure, which side is higher, a target against its result, a series)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from assistant.evaluation.metrics import relation_correct
from assistant.ingest.figures import extract_figures
from assistant.qa import ReportQA
from assistant.records import Chunk
from tests.fakes import BigramEmbedder


def _chunk(text: str, period: int | None = 2024, year: int | None = 2025, profile: str = "gov", start: int = 100) -> Chunk:
    return Chunk(chunk_id="c1", report_id="r1", source="x.txt", start=start, end=start + len(text), text=text,
                 section_path="一、2024年工作回顾", period=period, title="2025年鞍山市政府工作报告", city="鞍山",
                 year=year, type="政府工作报告", embed_text=text, entity="鞍山", profile=profile)


def test_figures_are_read_with_exact_offsets_kind_and_basis():
    text = "预计全市地区生产总值增长3.5%左右；一般公共预算收入增长8.3%、高于全省2.8个百分点；单位地区生产总值能耗下降3.2%。"
    doc = "x" * 100 + text
    figs = extract_figures(_chunk(text))
    by = {f.indicator: f for f in figs}
    assert set(by) == {"地区生产总值", "一般公共预算收入", "单位地区生产总值能耗"}
    for f in figs:
        assert doc[f.start : f.end] == f.text
        assert f.kind == "expected" and f.period == 2024 and f.measure == "growth"
    assert by["地区生产总值"].value == 3.5 and by["地区生产总值"].qualifier == "左右"
    assert by["一般公共预算收入"].basis == "高于全省2.8个百分点"  # how it compares, not a figure of its own
    assert by["单位地区生产总值能耗"].value == -3.2


def test_respectively_gives_each_name_its_figure_and_units_scale():
    text = "城镇、农村居民人均可支配收入分别达58031元、28650元，城镇新增就业1.8万人。"
    figs = extract_figures(_chunk(text))
    named = {f.indicator: f for f in figs}
    assert named["城镇居民人均可支配收入"].value == 58031
    assert named["农村居民人均可支配收入"].value == 28650
    jobs = named["城镇新增就业"]
    assert (jobs.measure, jobs.base_value, jobs.base_unit) == ("count", 18000, "人")


def test_plan_sections_hold_targets_and_company_reports_their_year():
    plan = extract_figures(_chunk("主要预期目标是：地区生产总值增长5.5%左右；城镇调查失业率5.5%以内。", period=2025))
    assert [f.kind for f in plan] == ["target", "target"] and plan[1].measure == "level" and plan[1].qualifier == "以内"
    company = extract_figures(_chunk("报告期内，公司实现营业收入18.36亿元，同比增长12.5%。", period=None, year=2023,
                                     profile="company"))
    assert [(f.indicator, f.period, f.kind) for f in company] == [("营业收入", 2023, "actual"), ("营业收入", 2023, "actual")]


def test_years_dates_ordinals_and_names_are_not_figures():
    figs = extract_figures(_chunk("2024年1月10日，在第十八届第3次会议上，建成5G基站，G15高速通车。"))
    assert figs == []


@pytest.fixture(scope="module")
def ledger_qa(sample_index) -> ReportQA:
    return ReportQA(sample_index, BigramEmbedder())


def test_ledger_follows_the_committed_chunks(ledger_qa):
    figures = ledger_qa.figures(entity="盘锦", indicator="地区生产总值", kind="target")
    assert {f.period for f in figures} >= {2023, 2024, 2025}
    live = ledger_qa.retriever.view.chunks
    for f in figures:
        assert ledger_qa.document_text(f.source)[f.start : f.end] == f.text
        assert f.chunk_id in live
    # rows of a chunk that was never committed are never read
    ledger_qa.figure_table.add([("not-a-chunk", [{**figures[0].to_dict(), "figure_id": "ghost", "chunk_id": "not-a-chunk"}])])
    assert all(f.figure_id != "ghost" for f in ledger_qa.figures(entity="盘锦"))


def test_compare_says_which_is_higher_and_by_how_much(ledger_qa):
    a = ledger_qa.ask("沈阳和福州2023年GDP增速哪个高？")
    assert not a.refused
    assert "6%左右" in a.answer and "5.3%左右" in a.answer
    assert relation_correct(a.answer, {"higher": "沈阳", "lower": "福州"}) == 1.0
    assert "0.7个百分点" in a.answer
    assert len(a.citations) == 2 and a.figures


def test_target_against_result(ledger_qa):
    a = ledger_qa.ask("盘锦2024年GDP增长目标完成了吗")
    assert "6%左右" in a.answer and "3.5%左右" in a.answer
    assert "低于目标2.5个百分点" in a.answer and "未完成目标" in a.answer
    assert {c.title for c in a.citations} == {"2024年盘锦市政府工作报告", "2025年盘锦市政府工作报告"}


def test_series_is_a_cited_table(ledger_qa):
    a = ledger_qa.ask("盘锦历年GDP增速")
    assert "| 年份 |" in a.answer
    years = [row["year"] for row in a.series]
    assert years == sorted(years) and len(years) >= 3
    assert all(f"[{row['n']}]" in a.answer for row in a.series)


def test_a_missing_side_is_said_not_guessed(ledger_qa):
    a = ledger_qa.ask("盘锦和本溪2023年固定资产投资增速哪个高？")
    assert a.refused and "无法比较" in a.answer and "盘锦" in a.answer.split("没有找到")[1]


def test_relation_metric_can_fail():
    assert relation_correct("沈阳高于福州，高0.7个百分点。", {"higher": "沈阳", "lower": "福州"}) == 1.0
    assert relation_correct("福州高于沈阳。", {"higher": "沈阳", "lower": "福州"}) == 0.0
    assert relation_correct("低于目标2.5个百分点，未完成目标。", {"higher": "目标", "lower": "实际"}) == 1.0
    assert relation_correct("高于目标。", {"higher": "目标", "lower": "实际"}) == 0.0


def test_figures_api_and_cli_contract(ledger_qa, capsys):
    from assistant.serve.server import build_app

    with TestClient(build_app(ledger_qa, ledger_qa.settings, ui=False), base_url="http://127.0.0.1:7860") as c:
        r = c.get("/v1/figures", params={"entity": "盘锦", "indicator": "地区生产总值", "period": 2025})
        assert r.status_code == 200
        body = r.json()
        assert body["count"] >= 1 and all(f["entity"] == "盘锦" and f["period"] == 2025 for f in body["figures"])
        assert "/v1/figures" in c.get("/openapi.json").json()["paths"]
        assert c.get("/v1/figures", params={"kind": "guess"}).status_code in (400, 422)
    json.dumps([f.to_dict() for f in ledger_qa.figures()], ensure_ascii=False)
