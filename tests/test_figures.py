"""The indicator ledger: figures read with exact offsets, stored with the index, and answers composed
from them (a sentence per figure, which side is higher, a target against its result, a series)."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from assistant.answer.citations import ATTRIBUTION, statements
from assistant.answer.composed import _clause_quote, _Composer
from assistant.evaluation.metrics import relation_correct
from assistant.ingest.figures import extract_figures
from assistant.qa import ReportQA
from assistant.records import Chunk
from assistant.retrieval.filters import Filters
from tests.builders import make_docx, make_pdf
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
    both = extract_figures(_chunk("一般公共预算收入比上年增长6.8%、高于全省2.8个百分点；地区生产总值同比增长2%左右。"))
    assert [f.basis for f in both] == ["比上年，高于全省2.8个百分点", "同比"]
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


def test_a_count_before_its_noun_and_a_rank_name_what_they_count():
    text = "全市实现全口径退税40.3亿元，为473户市场主体办理延期还本付息，一般公共预算收入完成121.4亿元，位居全省第5；电子商务交易额全国第一。"
    by = {(f.measure, f.value): f for f in extract_figures(_chunk(text))}
    assert by[("count", 473)].indicator == "市场主体"  # not the refund carried over from the figure before
    assert by[("rank", 5)].indicator == "一般公共预算收入" and by[("rank", 5)].unit == ""
    assert by[("rank", 1)].indicator == "电子商务交易额"
    assert not extract_figures(_chunk("推动30万吨级原油码头建设，第一产业稳步发展。"))  # a class of berth, an ordinal

    # the names before 等 are examples: the count is of what follows the number
    by = {f.value: f for f in extract_figures(_chunk("辽滨输变电工程、金发一期等230个续建项目加快实施，伊科思碳五综合利用等175个项目竣工投产。"))}
    assert by[230].indicator == "续建项目" and by[175].indicator == "项目竣工"


def test_percentages_in_words_and_a_year_in_the_clause():
    figs = extract_figures(_chunk("储能系统单位制造成本同比下降约百分之二十六，力争到2026年末存栏奶牛达到7.5万头。",
                                  period=None, year=2024, profile="company"))
    cost, cows = figs
    assert (cost.indicator, cost.value, cost.qualifier, cost.basis) == ("储能系统单位制造成本", -26, "约", "同比")
    assert cost.text == "储能系统单位制造成本同比下降约百分之二十六"
    assert (cows.indicator, cows.base_value, cows.period) == ("存栏奶牛", 75000, 2026)


def test_respective_lists_share_heads_and_tails():
    figs = extract_figures(_chunk("城乡居民人均可支配收入分别增长5.5%左右和6.5%以上；第一产业、服务业增加值分别增长4.2%、8.2%；"
                                  "废钢、铁精粉分别增长54.9%、27.4%。"))
    assert [(f.indicator, f.value) for f in figs] == [
        ("城镇居民人均可支配收入", 5.5), ("农村居民人均可支配收入", 6.5), ("第一产业增加值", 4.2), ("服务业增加值", 8.2),
        ("废钢", 54.9), ("铁精粉", 27.4)]


def test_a_segment_label_names_its_figures():
    figs = extract_figures(_chunk("1. 储能电池系统：营业收入31.42亿元，比上年增长58.34%；", period=None, year=2022, profile="company"))
    assert {f.indicator for f in figs} == {"储能电池系统营业收入"}  # the segment's revenue, not the company's
    plan = extract_figures(_chunk("主要预期目标是：地区生产总值增长5.5%左右。", period=2025))
    assert plan[0].indicator == "地区生产总值"


TABLE = [["指标（单位：亿元）", "2023年", "2024年", "增长（%）"], ["地区生产总值", "1100", "1234.5", "5.2"],
         ["一般公共预算收入", "80.1", "86.3", "7.7"]]


@pytest.mark.parametrize("name, document", [
    ("表.docx", lambda: make_docx([("title", "2025年鞍山市政府工作报告"), ("h1", "一、2024年工作回顾"),
                                   ("p", "主要指标完成情况如下。"), ("table", TABLE)])),
    ("表.pdf", lambda: make_pdf(["#2025年鞍山市政府工作报告", "本报告回顾过去一年的工作。", "#一、2024年工作回顾", "主要指标完成情况如下。", TABLE],
                                running_header=None)),
])
def test_table_cells_are_figures_of_their_row_and_column(settings, name, document):
    """A DOCX or PDF table: each value is the row's indicator in the column's year, with the header's unit."""
    (settings.data_dir / name).write_bytes(document())
    qa = ReportQA(settings, BigramEmbedder())
    qa.ingest()
    cells = {(f.indicator, f.period, f.measure): f for f in qa.figures(entity="鞍山")}
    assert cells[("地区生产总值", 2023, "level")].base_value == 1100
    assert cells[("地区生产总值", 2024, "level")].value_text == "1234.5亿元"
    assert cells[("一般公共预算收入", 2024, "growth")].value == 7.7
    text = qa.document_text(name)
    assert all(text[f.start : f.end] == f.text for f in cells.values())


def test_a_financial_table_takes_its_unit_line_change_column_and_share_rows():
    text = ("单位：亿元\n主要会计数据：营业收入；2023年：71.38；2022年（上年同期）：58.64；本期比上年同期增减：21.73%\n"
            "主要财务指标：研发投入占营业收入的比例；2023年：5.41%；2022年：5.20%")
    cells = [(f.period, f.measure, f.value, f.unit) for f in extract_figures(_chunk(text, period=None, year=2023, profile="company"))]
    assert cells == [(2023, "level", 71.38, "亿元"), (2022, "level", 58.64, "亿元"), (2023, "growth", 21.73, "%"),
                     (2023, "share", 5.41, "%"), (2022, "share", 5.2, "%")]


def test_a_figure_another_report_states_otherwise_is_shown_as_a_conflict(settings):
    (settings.data_dir / "a.txt").write_text("2025年鞍山市政府工作报告\n\n一、2024年工作回顾\n过去一年，预计全市地区生产总值增长5.2%，"
                                             "一般公共预算收入增长3%。\n", encoding="utf-8")
    (settings.data_dir / "b.txt").write_text("2025年鞍山市政府工作报告（修订稿）\n\n一、2024年工作回顾\n过去一年，全市地区生产总值增长4.8%，"
                                             "一般公共预算收入增长3%。\n", encoding="utf-8")
    qa = ReportQA(settings, BigramEmbedder())
    qa.ingest()
    a = qa.ask("鞍山2024年地区生产总值增长多少")
    assert len(a.conflicts) == 1  # one note for the pair, though both reports are cited
    c = a.conflicts[0]
    assert {c["stated"]["value"], c["other"]["value"]} == {"5.2%", "4.8%"} and c["indicator"] == "地区生产总值"
    assert any("两份报告不一致" in n and "5.2%" in n and "4.8%" in n for n in a.notes)
    assert not qa.ask("鞍山2024年一般公共预算收入增长多少").conflicts  # the same value: no conflict


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



def test_a_series_worded_differently_by_year_is_one_series_and_says_the_wording(ledger_qa):
    a = ledger_qa.ask("盘锦新签约项目数这几年分别多少")  # 2023 says 新签约项目, 2022 and 2024 新签约注册项目
    values = {row["year"]: row["value"] for row in a.series}
    assert values.get(2022) == 222 and values.get(2023) == 200 and values.get(2024) == 260
    assert "报告称“新签约注册项目”" in a.answer and "新签约高质量产业项目" not in a.answer


def test_a_count_asked_in_the_other_order_is_its_target_and_result(ledger_qa):
    a = ledger_qa.ask("盘锦2024年计划竣工多少个项目，实际竣工了多少")  # the reports say 175个项目竣工(投产)
    assert "目标是175个项目竣工" in a.answer and "实际175个项目竣工投产" in a.answer and "持平" in a.answer


def test_no_conflict_where_the_reports_agree(ledger_qa):
    for question in ("盘锦2024年GDP增长多少", "盘锦2024年GDP增长目标完成了吗", "盘锦历年GDP增速"):
        assert ledger_qa.ask(question).conflicts == []  # an estimate and a goal of one year do not disagree


def test_recent_years_and_a_change_between_two_years(ledger_qa):
    a = ledger_qa.ask("盘锦一般公共预算收入近两年增长情况")
    assert [row["year"] for row in a.series] == [2023, 2024] and {row["kind"] for row in a.series} != {"target"}
    b = ledger_qa.ask("盘锦2023年实际利用外资比2024年多还是少")
    assert "9.49亿美元" in b.answer and "7.5亿美元" in b.answer
    assert relation_correct(b.answer, {"higher": "2023年", "lower": "2024年"}) == 1.0
    d = ledger_qa.ask("盘锦2022年和2024年PM2.5浓度有变化吗")  # PM2.5平均浓度 in one report; no sentence states both
    assert not d.refused and "2022年与2024年持平" in d.answer and d.answer.count("29微克/立方米") == 2
    c = ledger_qa.ask("盘锦2024年实际利用外资比2023年增长多少")  # worked out from both years' figures
    assert "减少1.99亿美元" in c.answer and "下降20.97%" in c.answer and len(c.citations) >= 2


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


# --- one figure asked: one quoted sentence from the ledger ----------------------------------------
def test_a_single_figure_is_one_sentence_that_quotes_its_clause(ledger_qa):
    a = ledger_qa.ask("盘锦2024年地区生产总值增长多少？")
    assert not a.refused and a.figures and a.figures[0]["value_text"] == "3.5%左右"
    assert a.answer == "盘锦2024年：据《2025年盘锦市政府工作报告》“一、2024年工作回顾”：预计全市地区生产总值增长3.5%左右。[1]"
    (body, nums), = statements(a.answer)  # one statement, and what it states is copied from the cited passage
    quoted = ATTRIBUTION.sub("", re.sub(r"^[^：《]{1,20}：", "", body)).rstrip("。")
    assert nums == [1] and quoted in a.citations[0].text
    c = a.citations[0]
    assert ledger_qa.document_text(c.source)[c.start : c.end] == c.text


def test_a_goal_asked_is_answered_by_the_goal_and_says_so(ledger_qa):
    a = ledger_qa.ask("盘锦2025年GDP增长目标是多少")
    assert re.fullmatch(r"盘锦2025年（目标）：据《2025年盘锦市政府工作报告》“二、2025年工作安排”：地区生产总值增长5\.5%左右。\[\d\]",
                        a.answer)


def test_a_figure_of_another_indicator_does_not_answer(ledger_qa):
    """人均GDP is not GDP: the sample reports state no per-capita figure for 盘锦 2024, and its GDP growth
    (人均 is a known qualified name: 人均地区生产总值) must not stand in for one."""
    a = ledger_qa.ask("盘锦2024年人均GDP是多少？")
    assert "3.5%" not in a.answer and not a.figures


def test_disagreeing_records_give_no_single_answer(ledger_qa):
    info = ledger_qa.retriever.understand("盘锦2024年地区生产总值增长多少？")
    c = _Composer(info, [], ledger_qa.ledger, ["地区生产总值"])
    f = next(f for f in ledger_qa.figures(entity="盘锦", indicator="地区生产总值", period=2024, measure="growth")
             if f.kind == "expected")
    assert c.only([f, replace(f, figure_id="again", report_id="other")]) == f  # one value twice: one answer
    assert c.only([f, replace(f, figure_id="other", value=4.0, base_value=4.0)]) is None  # two values: no clear one
    goal = replace(f, figure_id="goal", kind="target", value=6.0, base_value=6.0)
    assert c.only([f, goal]) == f  # a result is what 增长多少 asks of a past year


def test_a_quote_is_the_figure_clause_and_the_clause_that_names_it():
    long = "面对复杂的外部环境，全市上下攻坚克难，预计全市地区生产总值增长3.5%左右；一般公共预算收入129.6亿元，增长6.8%。"
    figs = {f.value_text: f for f in extract_figures(_chunk(long, start=0))}
    assert _clause_quote(long, 0, figs["3.5%左右"]) == "预计全市地区生产总值增长3.5%左右"
    assert _clause_quote(long, 0, figs["6.8%"]) == "一般公共预算收入129.6亿元，增长6.8%"


def test_a_bare_measure_word_is_named_by_the_subject_before_it():
    grain, = extract_figures(_chunk("粮食生产再获丰收,产量达到6.72亿斤。", period=2023, year=2024))
    assert (grain.indicator, grain.raw, grain.text, grain.value_text) == ("粮食产量", "粮食产量", "产量达到6.72亿斤", "6.72亿斤")
    output, = extract_figures(_chunk("工业生产稳中有进，产值增长5%。"))
    assert output.raw == "产值"  # no known indicator is 工业…产值: the word stays as written


def test_the_ledger_seen_through_filters_holds_only_what_they_allow(ledger_qa):
    """A composed answer reads the ledger through the chat's filters: under 济南, no 盘锦 figure answers."""
    everything = ledger_qa.ledger.find()
    seen = ledger_qa.ledger.within(Filters(cities=["济南"])).find()
    assert seen and {f.entity for f in seen} == {"济南"} and len(seen) < len(everything)
    assert ledger_qa.ledger.within(Filters()) is ledger_qa.ledger
    a = ledger_qa.ask("盘锦2024年地区生产总值增长多少？", filters=Filters(cities=["济南"]))
    assert a.refused and "3.5%" not in a.answer and not a.figures


def test_labelled_lines_of_a_list_are_segments_and_a_heading_is_not():
    """液态奶：营业收入… / 奶粉：营业收入… name each product's revenue; one 经营情况：营业收入… is the company's."""
    parts = extract_figures(_chunk("液态奶：营业收入58.36亿元，比上年增长4.51%；\n奶粉：营业收入14.92亿元，比上年增长4.56%；",
                                   profile="company"))
    assert {(f.indicator, f.value_text) for f in parts if f.measure == "level"} == {
        ("液态奶营业收入", "58.36亿元"), ("奶粉营业收入", "14.92亿元")}
    whole = extract_figures(_chunk("经营情况：营业收入86.47亿元，比上年增长6.39%。", profile="company"))
    assert {f.indicator for f in whole} == {"营业收入"}


def test_a_table_cell_is_quoted_with_its_row_and_its_value_said():
    row = "利润表项目：营业收入；2023年度（亿元）：71.38；2022年度（亿元）：58.64"
    cell, = [f for f in extract_figures(_chunk(row, period=2023, year=2023, profile="company", start=0))
             if f.text == "71.38"]
    assert cell.value_text == "71.38亿元"
    assert _clause_quote(row, 0, cell) == "利润表项目：营业收入；2023年度（亿元）：71.38"


def test_a_caption_year_and_a_previous_period_column_give_the_figures_their_year():
    kpi = extract_figures(_chunk("关键绩效表（2023年）\n营业收入：186.42亿元\n归属于上市公司股东的净利润：9.17亿元",
                                 period=2024, year=2023, profile="company"))
    assert {(f.indicator, f.period) for f in kpi} == {("营业收入", 2023), ("归属于上市公司股东的净利润", 2023)}
    row = ("项目：归属于上市公司股东的净利润（元）；本报告期：326,418,552.16；上年同期：411,237,906.35；"
           "本报告期比上年同期增减：-20.63%")
    cells = {f.text: (f.period, f.measure) for f in extract_figures(_chunk(row, period=2024, year=2024, profile="company"))}
    assert cells == {"326,418,552.16": (2024, "level"), "411,237,906.35": (2023, "level"), "-20.63%": (2024, "growth")}


def test_one_figure_rounded_is_the_same_value_and_a_headline_name_answers_the_short_one():
    from assistant.answer.composed import _same_value
    from assistant.profiles import get_profile, headline_names

    exact, = [f for f in extract_figures(_chunk("实现归属于上市公司股东的净利润326,418,552.16元。", profile="company"))]
    rounded, = [f for f in extract_figures(_chunk("实现归属于上市公司股东的净利润3.26亿元。", profile="company"))]
    assert (exact.base_unit, rounded.base_unit) == ("元", "亿元") and _same_value(exact, rounded)
    assert not _same_value(exact, replace(rounded, value=3.27, base_value=3.27, value_text="3.27亿元"))
    assert headline_names()["净利润"] == "归属于上市公司股东的净利润"
    half = next(t for t in get_profile("company").types if t.name == "半年度报告")
    assert half.part_of_year.search("2024年上半年净利润多少") and not half.part_of_year.search("2024年净利润多少")


def test_several_indicators_asked_are_each_answered_by_their_clause(ledger_qa):
    a = ledger_qa.ask("盘锦2024年GDP、一般公共预算收入和固定资产投资分别增长多少")
    assert not a.refused and [f["value_text"] for f in a.figures] == ["3.5%左右", "8.3%", "20%以上"]
    assert a.answer.startswith("盘锦2024年：据《2025年盘锦市政府工作报告》") and a.answer.count("据《") == 1
    body = ATTRIBUTION.sub("", a.answer.split("：", 1)[1])
    for clause in re.split(r"\[\d+\][；。]?", body):
        if clause.strip("：；。"):
            assert clause.strip("：；。") in a.citations[0].text  # each clause copied from the cited passage
    # the report states no 人均可支配收入 growth for 2024: GDP's figure is given, and the other said to be missing
    b = ledger_qa.ask("盘锦2024年GDP和人均可支配收入分别增长多少")
    assert not b.refused and [f["value_text"] for f in b.figures] == ["3.5%左右"]
    assert b.answer.endswith("报告中没有找到盘锦2024年人均可支配收入的对应数值。")


@pytest.mark.parametrize("question, clause", [
    ("盘锦2025年GDP目标", "地区生产总值增长5.5%左右"),
    ("盘锦今年GDP目标多少🤔", "地区生产总值增长5.5%左右"),  # 今年: the latest report's year
    ("盘锦2025年城镇新增就业目标", "城镇新增就业1.9万人"),
])
def test_a_goal_asked_without_how_much_is_the_goal_clause_alone(ledger_qa, question, clause):
    """Not the whole list of targets, nor a clause of another indicator first."""
    a = ledger_qa.ask(question)
    assert re.fullmatch(rf"盘锦2025年（目标）：据《2025年盘锦市政府工作报告》“二、2025年工作安排”：{re.escape(clause)}。\[\d\]", a.answer)


def test_which_entity_is_highest_lists_every_entity_in_order(ledger_qa):
    a = ledger_qa.ask("2023年哪个城市GDP增速最高")
    assert not a.refused and a.answer.split("：", 1)[0].endswith("内江最高（7.0%左右）")
    values = [f["base_value"] for f in a.figures]
    assert len(values) >= 5 and values == sorted(values, reverse=True)
    assert len({f["entity"] for f in a.figures}) == len(values)  # one figure an entity
    for c in a.citations:  # each cited passage states its entity's figure
        assert any(f["text"] in c.text for f in a.figures)
    low = ledger_qa.ask("2023年哪个城市地区生产总值增长最慢")
    assert "盘锦最慢（2%左右）" in low.answer
    tie = ledger_qa.ask("2024年社零目标哪个城市最高")  # equal values are a tie, 8% is not 8.5%
    assert "并列最高（8%）" in tie.answer


def test_an_entity_and_an_indicator_alone_get_every_year(ledger_qa):
    """「盘锦GDP」 names no year: each year the reports state it for, as a series, not one old sentence."""
    a = ledger_qa.ask("盘锦GDP")
    assert [row["year"] for row in a.series] == [2022, 2023, 2024, 2025]
    assert "| 2024年 | 3.5%左右[" in a.answer
    # a year named is that year's figure alone, asked with or without 多少
    assert not ledger_qa.ask("盘锦2024年GDP增长多少").series
    for bare in ("盘锦2024年GDP", "盘锦 24年 地区生产总值"):
        one = ledger_qa.ask(bare)
        assert not one.series and [f["value_text"] for f in one.figures] == ["3.5%左右"], bare
        assert one.answer.startswith("盘锦2024年：据《2025年盘锦市政府工作报告》")
    # the growth before a count the sentence happens to hold (增速连续7个季度高于全国)
    assert [f["value_text"] for f in ledger_qa.ask("沈阳 2023年 GDP").figures] == ["6%左右"]


@pytest.mark.parametrize("question, said, not_said", [
    ("2022年盘锦规上工业增加值同比变化多少？", "规模以上工业增加值同比下降14%左右", "336户"),  # 同比变化: growth
    ("本溪2023年粮食产量多少", "产量达到6.72亿斤", "%"),  # a bare 多少 of a quantity: its level
])
def test_how_much_is_read_as_the_measure_the_words_ask(ledger_qa, question, said, not_said):
    a = ledger_qa.ask(question)
    assert said in a.answer and not_said not in a.answer and len(a.figures) == 1


def test_a_figure_with_its_year_in_brackets_is_no_caption():
    from assistant.ingest.figures import caption_year

    assert caption_year("关键绩效表（2023年）") == 2023 and caption_year("研发投入12.3亿元（2023年）") is None
    figs = extract_figures(_chunk("研发投入12.3亿元（2023年）\n营业收入：186.42亿元", period=2024, year=2024, profile="company"))
    assert {(f.indicator, f.period) for f in figs if f.measure == "level"} >= {("研发投入", 2024), ("营业收入", 2024)}


def test_highest_without_a_measure_ranks_how_much_or_says_it_ranks_how_fast(ledger_qa):
    a = ledger_qa.ask("2023年哪个城市GDP最高")  # one report states a 2023 level: the growth rates, said so
    assert a.answer.startswith("多数报告未写明2023年的总量，以下按增速排列。") and "内江最高（7.0%左右）" in a.answer
    b = ledger_qa.ask("2023年哪个城市一般公共预算收入最高")  # levels where the reports state them
    assert "济南最高（1060.8亿元）" in b.answer and all(f["measure"] == "level" for f in b.figures)


def test_a_second_entity_asked_with_呢_is_answered_or_said_missing(ledger_qa):
    """盘锦2024年GDP增长多少，沈阳呢: both sides; 沈阳's report states only its 2024 goal, and says so."""
    a = ledger_qa.ask("盘锦2024年GDP增长多少，沈阳呢")
    assert "盘锦2024年预计地区生产总值增长3.5%左右[1]" in a.answer and "沈阳2024年目标：地区生产总值增长6%以上[2]" in a.answer
    assert "没有沈阳2024年的实际数" in a.answer and not a.refused and len(a.figures) == 2


def test_names_keep_a_short_bracket_drop_list_numbers_and_the_year_before_is_its_own():
    """A 部门决算's lines: 因公出国（境）费 is one name, 1. is no part of one, 年度 goes with the year,
    学校 is the report speaking of itself, and 比上年的1,354.80万元 is the year before's figure."""
    text = ("2023年度学校机关运行经费支出1,284.36万元，比上年的1,354.80万元减少70.44万元。\n"
            "1. 因公出国（境）费支出58.36万元。\n2. 公务用车购置及运行维护费支出79.14万元。\n（一）地区生产总值增长5%。")
    figs = extract_figures(_chunk(text, period=2023, year=2023, profile="generic"))
    by_value = {f.value: f for f in figs}
    assert by_value[1284.36].raw == "机关运行经费支出" and by_value[1284.36].period == 2023
    assert by_value[1354.8].period == 2022 and by_value[1354.8].raw == "机关运行经费支出"
    assert by_value[58.36].raw == "因公出国（境）费支出"
    assert by_value[79.14].raw == "公务用车购置及运行维护费支出"
    assert by_value[5.0].raw == "地区生产总值"  # a heading's （一） is no bracket of a name
    doc = "x" * 100 + text
    assert all(doc[f.start : f.end] == f.text for f in figs)


@pytest.mark.parametrize("question", ["盘锦2024年GDP增长多少以及主要原因", "盘锦2024年GDP增长多少，有什么措施"])
def test_words_joined_to_an_indicator_that_name_no_figure_are_not_said_to_be_missing(ledger_qa, question):
    assert "的对应数值" not in ledger_qa.ask(question).answer  # 主要原因 and 措施 are no figures


def test_a_name_asked_is_answered_by_the_longer_names_that_end_with_it(ledger_qa):
    """人均可支配收入 asked; the report states 城乡居民… 分别 4.6% and 8.2% (城镇 and 农村)."""
    a = ledger_qa.ask("盘锦2023年GDP和人均可支配收入分别增长多少")
    assert not a.refused and "4.6%和8.2%" in a.answer and "没有找到" not in a.answer
    assert {f["indicator"] for f in a.figures} >= {"城镇居民人均可支配收入", "农村居民人均可支配收入"}


def test_kinds_of_answer_read_dates_of_a_month_codes_in_any_bracket_and_months_asked():
    from assistant.answer.answerers import _MONTH_ASKED, _kind_fit

    assert _kind_fit("date", "2016年11月，白鹭湖国家湿地公园通过验收，正式授牌。") == 1.0
    assert _kind_fit("date", "2016年，公园通过验收。") == 0.6 and _kind_fit("date", "公园通过验收。") == 0.0
    assert _kind_fit("code", "临政办发〔2024〕12号") == 1.0
    assert _kind_fit("count", "前胎推荐气压250kPa") == 1.0
    assert _MONTH_ASKED.search("今年9月份出口额是多少") and not _MONTH_ASKED.search("9月26日投产")
