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


# --- answers on other kinds of reports --------------------------------------------------------------
KINDS = {
    # a half-year report: its parts' figures come numbered after the whole's
    "恒锐建材2024年半年度报告.txt": (
        "恒锐建材集团股份有限公司\n2024年半年度报告\n证券代码：002917　证券简称：恒锐建材\n披露日期：2024年8月27日\n"
        "第一节 经营情况概述\n报告期内，公司实现营业收入84.37亿元，同比下降5.76%；实现归属于上市公司股东的净利润"
        "3.26亿元，同比下降20.63%。董事会、股东大会运作规范。\n第二节 分产品情况\n"
        "1. 水泥及熟料：营业收入51.20亿元，同比下降8.1%；\n2. 商品混凝土：营业收入21.05亿元，同比下降3.2%；\n"
        "3. 骨料：营业收入7.46亿元，同比增长12.6%。\n"),
    "青岚一院出院记录.txt": (
        "青岚市第一人民医院\n出 院 记 录\n科别：消化内科　　床号：27床　　住院号：20240304117\n"
        "姓名：蒋文涛　　性别：男　　年龄：46岁\n入院日期：2024年3月4日　　出院日期：2024年3月19日　　住院天数：15天\n"
        "一、入院诊断\n急性胰腺炎（高脂血症性，中度重症）\n二、诊疗经过\n入院后予以禁食禁水、持续胃肠减压及液体复苏。"
        "3月5日复查甘油三酯降至11.2 mmol/L，3月7日降至4.3 mmol/L，停用静脉胰岛素泵入。因甘油三酯下降满意，未行血浆置换治疗。\n"
        "三、会诊情况\n住院期间先后请营养科、内分泌科、心血管内科会诊共4次。3月16日经内分泌科韦明哲主任医师会诊，"
        "患者糖化血红蛋白9.1%，提示近3个月血糖控制不佳，建议出院后改为口服降糖方案联合基础胰岛素。\n"
        "四、住院费用\n本次住院总费用为46,382.65元，其中药品费17,906.20元，检查检验费11,284.00元。\n"),
    "青岚中院民事判决书.txt": (
        "青岚市中级人民法院\n民 事 判 决 书\n（2023）青01民终1234号\n上诉人（原审被告）：青岚市恒拓机电设备有限公司。\n"
        "被上诉人（原审原告）：澄江县晟丰精密制造有限公司。\n恒拓公司上诉请求：撤销一审判决，改判恒拓公司仅需支付货款1,651,000元。\n"
        "本院认为，恒拓公司在二审庭审中确认，其未就设备质量问题向晟丰公司发出过书面通知。\n"
        "判决如下：驳回上诉，维持原判。本判决为终审判决。\n"),
    "青岚大学2023年度部门决算说明.txt": (
        "青岚大学2023年度部门决算说明\n一、\"三公\"经费支出情况\n2023年度一般公共预算财政拨款\"三公\"经费支出163.58万元，"
        "完成预算的77.90%，比上年的138.27万元增加25.31万元，增长18.30%。增加的主要原因是国际交流合作逐步恢复正常，"
        "出访团组数量增加。\n二、机关运行经费\n2023年度学校机关运行经费支出1,284.36万元，比上年的1,354.80万元减少70.44万元，"
        "下降5.20%，主要原因是推行无纸化办公、压减会议数量，办公费和印刷费支出减少。\n"),
    "澄江县2024年政府工作报告.txt": (
        "澄江县2024年政府工作报告\n——2024年1月16日在澄江县第十八届人民代表大会第三次会议上\n澄江县人民政府县长　杨志远\n"
        "各位代表：\n现在，我代表县人民政府向大会报告工作，请予审议。\n一、2023年工作回顾\n过去一年，全县粮食生产实现"
        "“二十连丰”，全年粮食总产量达到27.6万吨，比上年增加0.8万吨。一般公共预算收入完成9.82亿元，增长7.3%。\n"
        "二、2024年工作安排\n2024年经济社会发展的主要预期目标是：地区生产总值增长6%左右；粮食总产量稳定在27.5万吨以上；"
        "一般公共预算收入增长5%。\n"),
    "澄江县2023年预算执行报告.txt": (
        "关于澄江县2023年预算执行情况和2024年预算草案的报告\n——2024年1月16日在澄江县第十八届人民代表大会第三次会议上\n"
        "澄江县财政局\n一、2023年预算执行情况\n全县一般公共预算收入完成98236万元，为调整预算的101.8%，比上年增长7.3%。\n"
        "二、2024年预算草案\n2024年全县一般公共预算收入安排103150万元，比上年增长5.0%。\n"),
    "青岚市2024年统计公报.html": OPENINGS["bulletin.html"],
    # a local paper's article: 我市 is the paper's city (来源：青岚日报)
    "青岚日报一季度经济运行.html": (
        "<html><head><title>一季度我市经济运行开局良好_青岚日报数字报</title></head><body>"
        "<h1>一季度我市经济运行开局良好 地区生产总值增长5.8%</h1><p>来源：青岚日报　　发布时间：2024年4月18日 08:30</p>"
        "<p>本报讯　据市统计局发布的数据，一季度全市实现地区生产总值1286.35亿元，同比增长5.8%。"
        "全市规模以上工业增加值增长6.9%，我市经济运行开局良好。</p></body></html>"),
    "青岚市2024年政府工作报告.txt": (
        "2024年青岚市政府工作报告\n——2024年1月10日在青岚市第十六届人民代表大会第三次会议上\n各位代表：\n"
        "一、2023年工作回顾\n过去一年，全市新增城镇就业6.2万人，城乡居民收入稳步增长。\n"
        "二、2024年工作安排\n全市新增城镇就业6万人以上。\n"),
}


@pytest.fixture(scope="module")
def kinds(tmp_path_factory):
    root = tmp_path_factory.mktemp("kinds")
    for name, text in KINDS.items():
        (root / name).write_text(text, encoding="utf-8")
    qa = ReportQA(Settings(data_dir=root, home_dir=root / "home", _env_file=None), BigramEmbedder())
    qa.ingest()
    return qa


@pytest.mark.parametrize("question, expected", [
    # the whole company's figure, not a numbered part's (1. 水泥及熟料：营业收入51.20亿元)
    ("恒锐建材2024年上半年营业收入是多少", ["84.37亿元"]),
    ("恒锐建材2024年上半年净利润是多少", ["3.26亿元"]),
    # a name the tokenizer does not know (蒋/文/涛) and 住院+号 are terms again; an identifier answers 住院号
    ("蒋文涛的住院号是多少", ["20240304117"]),
    # 哪位 asks a person: the sentence naming 韦明哲主任医师, not the one counting consultations
    ("蒋文涛住院期间内分泌科是哪位主任会诊的", ["韦明哲"]),
    # 花了多少钱 is asked in the words people use: a document states 总费用
    ("这次住院一共花了多少钱", ["46,382.65元"]),
    # the premise (是高脂血症性胰腺炎) counts less than what is asked; 因… states the reason
    ("蒋文涛是高脂血症性胰腺炎，为什么没有做血浆置换", ["甘油三酯下降满意"]),
    # the reason is the statement after the one restating what happened
    ("青岚大学2023年三公经费比上年增加的原因", ["国际交流合作逐步恢复正常"]),
    # a result, then a target: each part is read with its own year and intent
    ("澄江县2023年粮食总产量是多少？2024年粮食产量目标定了多少", ["27.6万吨", "27.5万吨"]),
    # two reports of one county set side by side by their types: one statement from each
    ("政府工作报告和预算执行报告里，澄江县2023年一般公共预算收入分别是怎么表述的", ["9.82亿元", "98236万元"]),
    # the paper's article is about 青岚, so a question about 青岚 reads it
    ("青岚一季度地区生产总值增长多少", ["5.8%"]),
])
def test_other_kinds_answer_what_was_asked(kinds, question, expected):
    a = kinds.ask(question)
    assert not a.refused, a.refusal_reason
    assert all(e in a.answer for e in expected), a.answer


@pytest.mark.parametrize("question", [
    "恒锐建材2024年全年净利润是多少",  # a half-year report does not state a whole year
    "蒋文涛的血型是什么",  # 姓名：蒋文涛 names him and states nothing asked
    "恒拓公司对二审判决有没有申请再审",  # nothing says 再审: neither yes nor no
    "青岚2023年地区生产总值是多少",  # the 2024 communiqué states 2024, in every section
])
def test_other_kinds_refuse_what_no_sentence_states(kinds, question):
    a = kinds.ask(question)
    assert a.refused, a.answer


def test_a_whole_year_is_not_read_from_part_of_it(kinds):
    a = kinds.ask("青岚2024年全年地区生产总值是多少")
    assert not a.refused and "5,862.37亿元" in a.answer and "1286.35亿元" not in a.answer, a.answer
    article = next(r for r in kinds.reports() if r.source == "青岚日报一季度经济运行.html")
    assert (article.profile, article.entity) == ("gov", "青岚")


def test_question_terms_put_unknown_words_back_together():
    from assistant.retrieval.terms import named_terms, question_terms
    from vectorstore.keyword import KeywordIndex

    words = KeywordIndex().words
    named = dict(named_terms("蒋文涛的住院号是多少", words))
    assert named.get("蒋文涛") is True  # a name, cut into 蒋/文/涛 by the tokenizer
    assert any(t.startswith("住院号") for t in named)
    # how a question asks is not what it asks; 公司 is the kind of entity, said by the metadata
    assert question_terms("蒋文涛住院期间内分泌科是哪位主任会诊的", words).count("哪位") == 0
    assert "几类" not in question_terms("恒锐建材2023年的捐赠分成哪几类", words)
    assert "公司" not in question_terms("恒拓公司对二审判决有没有申请再审", words)
    assert "为什么" not in question_terms("为什么没有做血浆置换", words)


def test_answer_kinds_read_from_the_profiles():
    from assistant.answer.answerers import answer_kind

    assert answer_kind("城市建设投资集团2023年净利润是多少") == "amount"  # company amount_words
    assert answer_kind("这次住院一共花了多少钱") == "amount"
    assert answer_kind("蒋文涛的住院号是多少") == "code"
    assert answer_kind("内分泌科是哪位主任会诊的") == "name"
    assert answer_kind("经营现金流同比增长了多少") == "percent"
    assert answer_kind("一般公共预算收入增长的目标是多少") != "amount"  # a growth asked, not an amount


def test_key_clause_keeps_a_number_with_thousands_separators():
    sent = ("澄江水泥报告期内净利润同比下降18.9%，主要受当地重点工程进入收尾阶段、水泥需求减少影响；柳溪骨料自2024年4月"
            "纳入合并范围，4至6月实现净利润4,915万元，对公司利润形成有力补充。")
    assert key_clause(sent, {"净利润": 3}, lambda t: 1.0 if "万元" in t else 0.0) == "4至6月实现净利润4,915万元"


@pytest.mark.parametrize(
    "written",
    ["空气质量优良天数比例", "大气优良天数比例", "优良空气天数比例", "空气质量优良天数率",
     "空气质量优良天数比率", "空气质量优良率", "空气质量优良天数占比"],
)
def test_one_indicator_written_many_ways_is_spelled_out_alike(written):
    from assistant.answer.composed import spelled_out

    # how reports and people write the share of good-air days (沈阳: 大气优良天数比例, 内江: 空气质量优良天数率)
    assert spelled_out(f"全年{written}82.7%") == "全年空气质量优良天数比例82.7%"


def test_synonyms_reach_questions_and_the_perturbation_suite():
    from assistant.evaluation.perturb import synonym
    from assistant.profiles import query_synonyms
    from assistant.retrieval.query import expand

    assert query_synonyms()["大气优良天数"] == "空气质量优良天数"
    assert "空气质量优良天数" in expand("沈阳2023年大气优良天数比例是多少")
    assert "PM2.5" in expand("本溪2023年细颗粒物平均浓度是多少")
    # the short form listed first for a full name is the one the perturbation suite writes
    assert synonym("本溪2023年空气质量优良天数比例是多少") == "本溪2023年空气质量优良率是多少"
    assert synonym("商丘2023年空气质量优良天数是多少天") == "商丘2023年大气优良天数是多少天"
    # a water-quality 优良率 is not the air's; 空气优良天数 and 优良天数 stay as typed: the full name would
    # no longer match a report's bare 全年优良天数为318天 (a short form inside its full form is no alternative)
    assert "空气" not in expand("国考断面水质优良率100%")
    assert expand("盘锦2022年空气优良天数有多少天") == "盘锦2022年空气优良天数有多少天"


NOTICE = """临溪市人民政府办公室文件

临政办发〔2024〕12号

临溪市人民政府办公室
关于印发临溪市促进消费若干措施的通知

各县（区）人民政府，市政府各部门：
《临溪市促进消费若干措施》已经市政府常务会议审议通过，现印发给你们，请认真贯彻落实。

一、开展汽车以旧换新补贴活动
对个人消费者报废旧车并购买新能源乘用车的，每辆补贴8,000元。全市地区生产总值稳步增长，各部门要全力推进。
"""

BULLETIN = """临溪市2023年国民经济和社会发展统计公报

一、综合
初步核算，全年全市地区生产总值3,218.64亿元，比上年增长5.8%。全市经济运行稳中向好，高质量发展扎实推进。
"""


def test_an_official_notice_is_titled_by_its_title_line_not_its_masthead(tmp_path):
    (tmp_path / "notice.txt").write_text(NOTICE, encoding="utf-8")
    report = parse_paths([tmp_path], Settings(data_dir=tmp_path, _env_file=None)).reports[0]
    assert report.title == "关于印发临溪市促进消费若干措施的通知"


def test_a_bulletin_states_its_own_year_so_its_figures_are_of_that_year(tmp_path):
    from assistant.ingest.figures import extract_figures

    (tmp_path / "bulletin.txt").write_text(BULLETIN, encoding="utf-8")
    parsed = parse_paths([tmp_path], Settings(data_dir=tmp_path, _env_file=None))
    assert parsed.reports[0].type == "统计公报" and load_profiles()["gov"].states_its_year("统计公报")
    gdp = [f for c in parsed.chunks for f in extract_figures(c) if f.indicator == "地区生产总值" and f.measure == "level"]
    assert gdp and {f.period for f in gdp} == {2023} and gdp[0].kind == "actual"


def test_a_company_named_after_its_city_is_called_by_the_name_after_it():
    from assistant.records import Report
    from assistant.retrieval.view import entity_aliases

    def report(entity: str, profile: str) -> Report:
        return Report(report_id=entity, source=f"{entity}.txt", title=entity, city=None, year=2023, date=None, meeting=None,
                      type="其他", speaker=None, start=0, end=1, entity=entity, profile=profile)

    aliases = entity_aliases([report("临溪", "gov"), report("临溪远航电动车科技有限公司", "generic"),
                              report("临溪星河软件股份有限公司", "company")])
    assert aliases["远航"] == aliases["远航电动车"] == "临溪远航电动车科技有限公司"  # a manual's maker: any legal form
    assert aliases["星河软件"] == "临溪星河软件股份有限公司"
    assert aliases["临溪"] == "临溪"  # the city, though two companies' names start with it
