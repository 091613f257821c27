"""One canonical question: the ways people type a question never change what it means."""

from __future__ import annotations

import pytest

from assistant.retrieval.normalize import normalize_question

VARIANTS = [
    "盘锦2024年地区生产总值增长多少",
    "盘锦2024年地区生产总值增长多少？",
    "盘锦 2024 年 地区生产总值 增长多少 ?",
    "盘锦２０２４年地区生产总值增长多少？",
    "盘锦二〇二四年地区生产总值增长多少",
    "盤錦2024年地區生產總值增長多少？",
    "\u3000盘锦2024年地区生产总值增长多少？？",
]


def test_variants_have_one_form():
    assert {normalize_question(v) for v in VARIANTS} == {"盘锦2024年地区生产总值增长多少"}


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("沈阳 和 福州 2023年 GDP 增速哪个高？", "沈阳和福州2023年GDP增速哪个高"),
        ("营收1,234万元（含税）是多少", "营收1,234万元（含税）是多少"),  # a thousands separator is not a comma
        ("ＲＯＥ是多少％", "ROE是多少%"),
        ("what is R&D spending?", "what is R&D spending"),
        ("？？", ""),
        ("", ""),
    ],
)
def test_canonical_forms(typed, canonical):
    assert normalize_question(typed) == canonical


YEAR_VARIANTS = [
    "沈阳2023年GDP增长多少",
    "沈阳 2023 年 GDP 增长多少？",
    "沈阳2023 年GDP增长多少",
    "沈阳２０２３年ＧＤＰ增长多少？",
    "沈阳二〇二三年GDP增长多少",
    "沈阳二〇二三 年GDP增长多少",
    "沈阳二零二三年GDP增长多少",
    "沈阳23年GDP增长多少",
    "沈阳23 年GDP增长多少",
    "沈阳２３年GDP增长多少",
    "沈阳'23年GDP增长多少",
    "沈阳’23年GDP增长多少",
]


def test_year_variants_have_one_form():
    # a space before 年 once kept 「23 年」 from being read as a year
    assert {normalize_question(v) for v in YEAR_VARIANTS} == {"沈阳2023年GDP增长多少"}


@pytest.mark.parametrize(
    "variants",
    [
        ["GDP增长5.2%", "GDP增长 5.2 %", "GDP 增长 5.2％", "GDP增长５．２％"],
        ["收入120亿元", "收入 120 亿元", "收入120 亿元", "收入１２０亿元"],
        ["增长1.5个百分点", "增长 1.5 个百分点", "增长1.5 个百分点"],
        ["3月以来", "3 月以来", "３月以来"],
        ["本溪2023", "本溪 2023", "本溪　２０２３"],
    ],
)
def test_spaces_beside_digits_and_units_go(variants):
    assert len({normalize_question(v) for v in variants}) == 1


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("连续 22 年位居第一", "连续22年位居第一"),  # a count of years, not 2022
        ("近 10 年来", "近10年来"),
        ("沈阳 2023 2024 年GDP", "沈阳2023 2024年GDP"),  # two numbers stay two numbers
        ("'23", "'23"),  # no 年: not surely a year
    ],
)
def test_what_is_not_a_year_stays(typed, canonical):
    assert normalize_question(typed) == canonical


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("本溪2023年GDP多大？", "本溪2023年GDP多少"),
        ("经济规模有多大呢", "经济规模有多少呢"),
        ("在多大程度上缓解了", "在多大程度上缓解了"),  # not a quantity
        ("许多大项目开工", "许多大项目开工"),
        ("患者急诊时甘油三酯有多高？", "患者急诊时甘油三酯有多少"),
        ("新建的地铁线路有多长", "新建的地铁线路有多少"),
        ("很多高校参与", "很多高校参与"),  # not a question
        ("多高的标准", "多高的标准"),
    ],
)
def test_a_clause_final_how_big_asks_how_much(typed, canonical):
    assert normalize_question(typed) == canonical


def test_middle_punctuation_kept():
    # only trailing punctuation goes: a question inside a question keeps its shape
    assert normalize_question("济南，2024年目标是多少？") == "济南，2024年目标是多少"


@pytest.fixture(scope="module")
def qa(sample_qa):
    return sample_qa


def test_variants_get_the_same_answer(qa):
    answers = [qa.ask(v) for v in VARIANTS]
    first = answers[0]
    for v, a in zip(VARIANTS, answers, strict=True):
        assert (a.answer, a.refused, [c.chunk_id for c in a.citations]) == (
            first.answer, first.refused, [c.chunk_id for c in first.citations]), v
        assert a.question == v.strip()  # what the user typed is kept for display
    assert [p.chunk.chunk_id for p in qa.search(VARIANTS[0])] == [p.chunk.chunk_id for p in qa.search(VARIANTS[-2])]


def test_a_question_asking_two_things_is_two_questions():
    from assistant.retrieval.query import question_parts

    assert question_parts("恒锐建材2023年安全生产投入和环保投入分别是多少", ["恒锐建材"], [2023]) == [
        "恒锐建材2023年安全生产投入多少", "恒锐建材2023年环保投入多少"]
    assert question_parts("澄川新能源2023年员工总数多少，女性占比多少", ["澄川新能源"], [2023]) == [
        "澄川新能源2023年员工总数多少", "澄川新能源2023年女性占比多少"]  # the subject goes with the second
    assert question_parts("盘锦2024年GDP增长多少", ["盘锦"], [2024]) == []
    assert question_parts("济南市2024年政府工作报告是哪天在哪次会议上作的", ["济南市"], [2024]) == []


def test_reason_questions_want_the_stated_reason():
    from assistant.answer.answerers import _kind_fit, answer_kind

    assert answer_kind("恒锐建材2024年上半年利润为什么下滑") == "reason"
    assert _kind_fit("reason", "利润下滑的主要原因是：水泥平均售价同比下降") == 1.0
    assert _kind_fit("reason", "2024年上半年全国水泥产量8.5亿吨，同比下降10.0%") == 0.0


def test_a_measure_word_is_what_the_figure_is():
    from assistant.retrieval.terms import term_cover

    assert term_cover("员工人数", "截至2023年12月31日，公司共有员工5,012人") == 0.8
    assert term_cover("员工人数", "公司员工人数为5,012人") == 1.0
    assert term_cover("营业收入", "公司共有员工5,012人") == 0.0


def test_another_name_counts_only_whole():
    from assistant.retrieval.terms import term_cover

    # 经济总量 is another name of 地区生产总值; 「实体经济」 does not state it (the headline question's trap)
    assert term_cover("地区生产总值|经济总量", "做大做强实体经济，金融机构本外币贷款余额增长4.7％") == 0.0
    assert term_cover("地区生产总值|经济总量", "经济总量在全省设区市中继续位居第二位") == 1.0


@pytest.mark.parametrize(("typed", "canonical"), [
    ("澄川新能22年营收多少", "澄川新能2022年营收多少"),
    ("北垣乳业23年净利", "北垣乳业2023年净利"),
    ("用了15年", "用了15年"),  # a span of years, not 2015
    ("40年党龄", "40年党龄"),  # no report speaks of 2040
    ("12年一贯制", "12年一贯制"),
])
def test_a_two_digit_year_is_a_year_only_where_it_can_be_one(typed, canonical):
    assert normalize_question(typed) == canonical


def test_terms_match_whatever_the_case_and_with_a_word_put_inside():
    from assistant.retrieval.terms import mentions, term_cover, term_weights

    assert term_cover("e05", "E05 / 欠压保护 / 电池电量过低") == 1.0 and mentions("e3", "远航E3说明书")
    assert term_cover("新能源车", "购买新能源乘用车的，每辆补贴8,000元") == 0.8
    assert term_cover("轮胎压", "轮胎气压：前胎推荐气压250kPa") == 0.8
    assert term_cover("新能源车", "新建能源项目") == 0.0
    assert term_weights(["e05", "仪表"]) == {"e05": 4, "仪表": 2}  # a code names one thing


def test_question_words_are_not_what_is_asked():
    from assistant.retrieval.terms import question_terms

    def tokenize(text):
        import jieba

        return [t.lower() for t in jieba.lcut(text)]

    terms = question_terms("白鹭湖国家湿地公园是什么时候正式授牌的", tokenize)
    assert "时候" not in terms and "授牌" in terms
    assert "地方" not in question_terms("白鹭湖最深的地方有多少米", tokenize)
