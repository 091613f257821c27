"""Report profiles as data: other kinds of reports get an entity, a year and a type, and questions about
them are answered in whole sentences instead of being refused because they are not about a city."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.answer.citations import statements
from assistant.ingest.parsing import parse_paths
from assistant.profiles import PROFILE_DIR, detect_profile, load_profile, load_profiles
from assistant.qa import ReportQA
from assistant.retrieval.terms import answer_units, key_clause
from assistant.settings import Settings
from tests.fakes import BigramEmbedder

OTHER = Path(__file__).parent / "fixtures" / "other"


def test_shipped_profiles_load_and_a_bad_file_names_itself(tmp_path):
    assert {"gov", "company", "generic"} <= set(load_profiles())
    bad = tmp_path / "broken.toml"
    bad.write_text('name = "x"\n[detect]\ntitle = ["("]\n', encoding="utf-8")
    with pytest.raises(ValueError, match="broken.toml"):
        load_profile(bad)


def test_detection_by_title_and_text():
    assert detect_profile("2024年济南市政府工作报告", "各位代表：现在，我代表市人民政府向大会报告工作").name == "gov"
    assert detect_profile("澜川新能源科技股份有限公司2023年年度报告", "营业收入 净利润 董事会").name == "company"
    assert detect_profile("产品使用说明书", "请在使用前阅读本说明书").name == "generic"
    assert detect_profile("随便什么", "", forced="company").name == "company"
    with pytest.raises(ValueError, match="unknown report profile"):
        detect_profile("x", "", forced="nope")


def test_other_kinds_get_entity_year_and_type(tmp_path):
    result = parse_paths([OTHER], Settings(data_dir=OTHER, _env_file=None))
    got = {r.source: (r.profile, r.entity, r.year, r.type) for r in result.reports}
    assert got["百和文化集团2017年度报告.txt"] == ("company", "百和文化集团", 2017, "年度报告")
    assert got["百和文化集团2018年度报告.txt"] == ("company", "百和文化集团", 2018, "年度报告")
    assert got["青岚市锦河区人民法院民事判决书.txt"][:2] == ("generic", "青岚市锦河区人民法院")
    assert got["青岚市锦河区人民法院民事判决书.txt"][3] == "判决书"
    judgement = next(r for r in result.reports if r.type == "判决书")
    assert judgement.title == "青岚市锦河区人民法院民事判决书"
    annual = [c for c in result.chunks if c.source == "百和文化集团2017年度报告.txt"]
    assert {c.period for c in annual} == {2017}  # an annual report of Y speaks of Y
    assert any(c.section_path.startswith("第二节") for c in annual)
    assert all(c.entity == "百和文化集团" and c.profile == "company" for c in annual)


def test_folder_marker_forces_a_profile(tmp_path):
    folder = tmp_path / "docs"
    shutil.copytree(OTHER, folder)
    (folder / ".reportqa-profile").write_text("generic\n", encoding="utf-8")
    result = parse_paths([folder], Settings(data_dir=folder, _env_file=None))
    assert {r.profile for r in result.reports} == {"generic"}


def test_a_new_kind_of_report_is_one_file(tmp_path):
    """Adding a profile is a data change: the loader reads every TOML of the folder."""
    text = (PROFILE_DIR / "generic.toml").read_text(encoding="utf-8").replace('name = "generic"', 'name = "school"')
    text = text.replace("title = []", 'title = ["学校工作总结"]').replace("min_score = 0", "min_score = 2")
    (tmp_path / "school.toml").write_text(text, encoding="utf-8")
    profiles = load_profiles(str(tmp_path))
    assert "school" in profiles and profiles["school"].detect_score("青岚一中2023年学校工作总结", "") == 2


def test_answer_units_are_whole_sentences():
    text = "甲，乙，丙。" + "很长的" * 60 + "；第二个分句增长5%；最后。"
    units = answer_units(text)
    assert units[0] == "甲，乙，丙。"
    assert all(not u.startswith("乙") for u in units)  # never a comma window
    assert "第二个分句增长5%；" in units
    assert answer_units(text, whole_long=True)[-1].endswith("最后。")


def test_key_clause_leads_a_long_sentence():
    sent = "面对复杂严峻的外部环境和艰巨繁重的改革发展任务，全市上下团结奋斗，攻坚克难，各项事业取得新进展，预计全市地区生产总值增长3.5%左右；"
    lead = key_clause(sent, {"地区生产总值": 4, "增长": 2}, lambda t: 1.0 if "%" in t else 0.0)
    assert lead == "预计全市地区生产总值增长3.5%左右"
    assert key_clause("地区生产总值增长3.5%。", {"地区生产总值": 4}, lambda t: 1.0) is None


def test_a_sentence_split_at_semicolons_shares_its_marker():
    assert statements("甲增长5%；乙增长6%；丙增长7%。[1]\n丁。[2]") == [
        ("甲增长5%；", [1]), ("乙增长6%；", [1]), ("丙增长7%。", [1]), ("丁。", [2])]
    assert statements("没有引用；\n下一行[1]") == [("没有引用；", []), ("下一行", [1])]


@pytest.fixture(scope="module")
def qa(tmp_path_factory):
    home = tmp_path_factory.mktemp("profiles")
    s = Settings(data_dir=OTHER, home_dir=home, model_dir=home / "models", _env_file=None)
    qa = ReportQA(s, BigramEmbedder())
    qa.ingest([OTHER])
    return qa


@pytest.mark.parametrize("question, expected", [
    ("百和文化2017年营业收入是多少", "18.36亿元"),
    ("百和文化集团2018年净利润多少？", "2.40亿元"),
    ("百和2016年的营业收入", "16.33亿元"),  # the 2017 report states the year before
    ("百和文化2018年末有多少家门店", "95家"),
    ("启明印务起诉要求支付多少印刷费", "386,400元"),
])
def test_company_and_court_questions_are_answered(qa, question, expected):
    a = qa.ask(question)
    assert not a.refused, a.refusal_reason
    assert expected in a.answer
    assert "据《" in a.answer  # the answer says which report it quotes


def test_years_refuse_only_when_known(qa):
    a = qa.ask("百和文化2019年营业收入是多少")
    assert a.refused and a.refusal_reason.startswith("year not covered")
    # the judgement's time is not modelled: a year never turns its questions away
    b = qa.ask("2022年启明公司和百和公司签订了什么合同")
    assert not b.refused and "图书印制合同" in b.answer


def test_entity_alias_and_no_place_refusal(qa):
    info = qa.retriever.understand("百和2017年员工人数")
    assert info.cities == ["百和文化集团"] and info.mentions == ["百和"]
    # 青岚市 is a city name inside the court's name, not an unknown place
    a = qa.ask("青岚市锦河区人民法院判决百和公司支付多少印刷费？")
    assert not a.refused and "386,400元" in a.answer


OPENINGS = {
    # a name line above the title: the company is the one named there, not a subsidiary the text repeats
    "audit.txt": ("北垣乳业股份有限公司\n2023年度财务报表审计报告\n衡正会计师事务所\n审计报告\n"
                  "一、审计意见\n我们审计了北垣乳业股份有限公司的财务报表。子公司朔北牧业有限公司、朔北牧业有限公司"
                  "和朔北牧业有限公司的收入均已审计。营业收入62.3亿元，净利润4.1亿元，董事会，股东。\n"),
    # a hospital's 工作报告 full of 全市 and 高质量发展 is the hospital's
    "hospital.txt": ("青岚市第一人民医院2023年度工作报告\n（2024年1月26日）\n一、工作回顾\n全市高质量发展，"
                     "我市医疗服务能力提升，全年出院人次8.6万，平均住院日7.1天。\n"),
    "annual.md": ("# 恒锐建材集团股份有限公司 2024年半年度报告\n证券代码：002917　证券简称：恒锐建材\n披露日期：2024年8月27日\n"
                  "## 第一节 主要会计数据\n营业收入86.3亿元，净利润3.26亿元，董事会，股东，每股收益0.21元。\n"),
    "judgement.txt": ("澄江县人民法院\n刑 事 判 决 书\n（2024）澄0102刑初56号\n被告人王某，1986年5月12日出生。\n"
                      "经审理查明，被告人骗取钱款共计32万元。\n"),
    "article.html": ("<html><head><title>云杉山国家森林公园_百科</title></head><body><h1>云杉山国家森林公园</h1>"
                     "<p>云杉山国家森林公园始建于1986年，1993年成为国家森林公园，总面积18,640公顷。</p></body></html>"),
    "bulletin.html": ("<html><head><title>青岚市2024年统计公报</title></head><body><h1>青岚市2024年国民经济和社会发展统计公报</h1>"
                      "<p>发布时间：2025-03-18 来源：青岚市统计局</p><p>一、综合</p><p>初步核算，全年全市地区生产总值5,862.37亿元，"
                      "比上年增长5.6%。全市高质量发展，一般公共预算收入增长4.2%。</p></body></html>"),
}


def test_metadata_of_other_openings(tmp_path):
    for name, text in OPENINGS.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    reports = {r.source: r for r in parse_paths([tmp_path], Settings(data_dir=tmp_path, _env_file=None)).reports}
    audit, hospital, half, judgement = (reports[n] for n in ("audit.txt", "hospital.txt", "annual.md", "judgement.txt"))
    assert (audit.entity, audit.type, audit.year) == ("北垣乳业股份有限公司", "审计报告", 2023)
    assert (hospital.profile, hospital.entity, hospital.year) == ("generic", "青岚市第一人民医院", 2023)
    assert (half.entity, half.type, half.year, half.date) == ("恒锐建材集团股份有限公司", "半年度报告", 2024, "2024-08-27")
    assert half.title == "恒锐建材集团股份有限公司 2024年半年度报告" and half.aliases == ["恒锐建材"]  # no Markdown marks
    assert (judgement.year, judgement.type) == (2024, "判决书")  # the case number, not a birth year
    assert reports["article.html"].year is None  # founded in 1986: history, not the article's year
    bulletin = reports["bulletin.html"]
    assert (bulletin.profile, bulletin.entity, bulletin.type, bulletin.year, bulletin.date) == \
        ("gov", "青岚", "统计公报", 2024, "2025-03-18")


def test_short_names_years_and_today_for_other_kinds(tmp_path):
    from assistant.retrieval.normalize import normalize_question

    for name in ("hospital.txt", "annual.md", "audit.txt"):
        (tmp_path / name).write_text(OPENINGS[name], encoding="utf-8")
    qa = ReportQA(Settings(data_dir=tmp_path, home_dir=tmp_path / "home", _env_file=None), BigramEmbedder())
    qa.ingest()
    info = qa.retriever.understand("青岚一院2023年平均住院日")
    assert info.cities == ["青岚市第一人民医院"] and info.mentions == ["青岚一院"]  # not the place 青岚
    assert qa.retriever.understand("恒锐建材上半年营收多少").cities == ["恒锐建材集团股份有限公司"]  # 证券简称
    assert qa.retriever.view.latest_years()["北垣乳业股份有限公司"] == 2024  # a 2023 annual report is read in 2024
    ans = qa.ask("青岚一院去年平均住院日是多少")
    assert not ans.refused and "7.1天" in ans.answer
    assert normalize_question("澄川新能22年营收多少") == "澄川新能2022年营收多少"
    assert normalize_question("连续38年保持稳产") == "连续38年保持稳产" and normalize_question("近10年") == "近10年"
