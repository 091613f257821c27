"""Report profiles as data: other kinds of reports get an entity, a year and a type, and questions about
them are answered in whole sentences instead of being refused because they are not about a city."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.citations import statements
from assistant.ingest import parse_paths
from assistant.profiles import PROFILE_DIR, detect_profile, load_profile, load_profiles
from assistant.qa import ReportQA
from assistant.settings import Settings
from assistant.terms import answer_units, key_clause
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
