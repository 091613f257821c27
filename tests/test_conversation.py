"""The conversation as a person has it: a name typed wrong, a vague question, a filter that hides the
answer, a follow-up that names a new place, and refusals that say what is missing."""

from __future__ import annotations

import pytest

from assistant.retrieval.filters import Filters
from assistant.retrieval.names import find_typos

ALIASES = {"盘锦": "盘锦", "沈阳": "沈阳", "福州": "福州", "澜川新能源": "澜川新能源科技股份有限公司",
           "澜川": "澜川新能源科技股份有限公司"}


@pytest.mark.parametrize("question, typed, entity", [
    ("盘金2024年地区生产总值增长多少", "盘金", "盘锦"),  # same sound
    ("澜州新能源2023年营业收入", "澜州新能源", "澜川新能源科技股份有限公司"),  # one character off
])
def test_typos_match_the_entity_meant(question, typed, entity):
    [c] = find_typos(question, ALIASES)
    assert (c.typed, c.entity) == (typed, entity)


@pytest.mark.parametrize("question", ["盘锦2024年GDP", "抚州2023年GDP", "2024年经济增长多少", "今年的重点工作有哪些"])
def test_no_typo_is_invented(question):
    assert find_typos(question, ALIASES) == []  # a real name, a real other city (抚州), or no name at all


def test_two_equally_near_names_are_not_guessed():
    assert find_typos("福洲的情况", {"福州": "福州", "福舟": "福舟"}) == []


@pytest.fixture(scope="module")
def qa(sample_qa):
    return sample_qa


def test_a_typo_is_answered_with_a_note(qa):
    a = qa.ask("盘金2024年地区生产总值增长多少")
    assert not a.refused and "3.5%" in a.answer
    assert a.notes and "按「盘锦」理解" in a.answer
    assert {c.city for c in a.citations} == {"盘锦"}


def test_a_vague_question_is_asked_back_or_answered_per_city(qa):
    a = qa.ask("2023年一般公共预算收入是多少")
    if a.clarify:  # more than three cities fit alike: ask which
        assert a.refused and a.refusal_reason == "clarify"
        assert a.clarify["question"] == "您想问哪个城市？" and len(a.clarify["options"]) > 3
        assert all(o in a.answer for o in a.clarify["options"])
    else:  # two or three: one answer per city, each said to be so
        assert not a.refused and a.notes and a.notes[0].startswith("问题没有指明对象")
        cities = {c.city for c in a.citations}
        assert 2 <= len(cities) <= 3 and all(f"{city}：" in a.answer for city in cities)
    # naming the city answers it
    assert not qa.ask("沈阳2023年一般公共预算收入是多少").refused


@pytest.mark.parametrize("question", ["沈阳", "沈阳怎么样？", "介绍一下沈阳"])
def test_an_entity_alone_is_told_what_there_is_and_what_to_ask(qa, question):
    a = qa.ask(question)
    assert a.refused and a.refusal_reason == "clarify" and a.clarify["whole"]
    assert "《2024年沈阳市政府工作报告》" in a.answer and len(a.clarify["options"]) == 3
    for option in a.clarify["options"]:  # each suggested question is answered
        assert option.startswith("沈阳2024年") and not qa.ask(option).refused


def test_an_english_question_is_asked_for_in_chinese(qa):
    a = qa.ask("What was Panjin's GDP growth in 2024?")
    assert a.refused and "请用中文提问" in a.answer
    assert "请用中文提问" not in qa.ask("大连2024年地区生产总值增长多少？").answer


def test_a_filter_that_hides_the_answer_says_so(qa):
    a = qa.ask("盘锦2024年地区生产总值增长多少", filters=Filters(cities=["济南"]))
    assert a.refused and a.refusal_reason == "hidden by filter"
    assert "当前筛选「济南」下没有找到" in a.answer and "盘锦" in a.answer


def test_refusals_name_what_is_missing(qa):
    place = qa.ask("大连2024年地区生产总值增长多少？")
    assert place.refused and "没有「大连」" in place.answer and "盘锦" in place.answer  # and what is there
    year = qa.ask("盘锦2019年地区生产总值是多少？")
    assert year.refused and "2019年" in year.answer and "已收录盘锦" in year.answer


def test_a_follow_up_naming_a_new_place_keeps_it(qa):
    a = qa.ask("北京2024年GDP是多少？", history=["商丘2024年的预期目标是什么"])
    assert a.standalone_question == "北京2024年GDP是多少"  # not rewritten into a question about 商丘
    assert a.refused and "北京" in a.answer and not a.citations
    b = qa.ask("那沈阳呢？", history=["盘锦2024年地区生产总值增长多少"])
    assert b.standalone_question.startswith("沈阳2024年")


def test_clarify_and_notes_are_in_the_json(qa):
    d = qa.ask("2023年一般公共预算收入是多少").to_dict()
    assert "clarify" in d and "notes" in d
    assert (d["clarify"] is None) == bool(d["notes"])


def test_two_year_filters_report_year_and_data_year(qa):
    """沈阳2023年GDP is in the 2024 report: the data-year filter 2023 keeps it, the report-year filter
    2023 hides it (and says so)."""
    by_data = qa.ask("沈阳2023年一般公共预算收入是多少", filters=Filters(periods=[2023]))
    assert not by_data.refused and all(c.period == 2023 for c in by_data.citations)
    by_report = qa.ask("沈阳2023年一般公共预算收入是多少", filters=Filters(years=[2023]))
    assert by_report.refused and by_report.refusal_reason == "hidden by filter" and "2023年的报告" in by_report.answer
    assert Filters(periods=[2023]).where() == {"period": {"$in": [2023]}} and not Filters(periods=[2023]).empty


def test_a_typo_in_an_earlier_turn_does_not_carry_into_the_follow_up(qa):
    a = qa.ask("一般公共预算收入呢？", history=["盘金2023年地区生产总值增长多少"])
    assert a.standalone_question.startswith("盘锦") and not a.refused
    assert {c.city for c in a.citations} == {"盘锦"}


def test_an_indicator_the_profiles_do_not_list_is_still_swapped():
    from assistant.answer.followup import resolve_followup
    from assistant.retrieval.query import understand

    def u(text):
        return understand(text, ["本溪"], {None: 2024})

    assert resolve_followup("技术合同成交额呢", ["本溪2023年粗钢产量多少"], u) == "本溪2023年技术合同成交额多少"
    assert resolve_followup("粮食产量呢？", ["本溪2023年粗钢产量多少", "技术合同成交额呢"], u) == "本溪2023年粮食产量多少"
    # a question of its own on a new topic takes only the place and year, not the old indicator
    assert resolve_followup("今年的重点工作有哪些", ["本溪2024年地区生产总值增长多少"], u) == "本溪2024年重点工作有哪些"
    assert resolve_followup("今年的目标是多少？", ["本溪2023年城镇新增就业多少人"], u).endswith("目标是多少")


def test_scripted_conversations_are_scored_turn_by_turn(qa, tmp_path):
    from assistant.evaluation.conversations import load_conversations, run_conversations

    script = tmp_path / "c.jsonl"
    script.write_text("\n".join([
        '{"id": "c1", "split": "dev", "kind": "switch-entity", "turns": [{"question": "济南2023年地区生产总值增长多少？", '
        '"expect": "answer", "answers": ["6%左右"], "entity": "济南"}, {"question": "那北京呢？", "expect": "refuse"}]}',
        '{"id": "c2", "split": "test", "kind": "typo", "turns": [{"question": "盘金2024年地区生产总值增长多少", '
        '"expect": "answer", "answers": ["99%"], "entity": "盘锦"}]}',
    ]), encoding="utf-8")
    result = run_conversations(qa, load_conversations(script))
    assert [r["right"] for r in result["turns"]] == [True, True, False]  # c2 expects a figure no report has
    assert result["by_split"]["dev"]["conversation_accuracy"] == 1.0 and result["overall"]["turns"] == 3


def _reader(entities, latest=None):
    """`understand` over a few entity names, as the pipeline's retriever would give it."""
    from assistant.retrieval.query import understand

    return lambda text: understand(text, entities, latest or {None: 2024})


@pytest.mark.parametrize("history, question, standalone", [
    (["沈阳2023年城镇新增就业多少人？"], "它2024年GDP增长目标是多少", "沈阳2024年GDP增长目标是多少"),
    (["福州2024年地区生产总值增长目标是多少"], "该市2023年实际增长了多少？", "福州2023年地区生产总值实际增长了多少"),
    (["商丘2023年粮食总产是多少"], "那里的空气质量怎么样", "商丘2023年空气质量怎么样"),
    (["商丘2023年粮食总产多少"], "那一年引进了多少人才？", "商丘2023年引进了多少人才"),
    (["济南和福州2023年地区生产总值增速分别是多少"], "它们的一般公共预算收入呢", "济南和福州2023年一般公共预算收入分别是多少"),
])
def test_pronouns_point_back_at_the_entity_and_year(history, question, standalone):
    from assistant.answer.followup import resolve_followup

    assert resolve_followup(question, history, _reader(["沈阳", "福州", "商丘", "济南"])) == standalone


def test_a_follow_up_switching_to_actual_or_target_keeps_the_indicator():
    """实际/目标 says which kind of figure; 新增 in 「实际新增多少」 is the indicator already asked about,
    and 「定的」 is no topic."""
    from assistant.answer.followup import resolve_followup

    turns = ["盘锦2024年城镇新增就业多少人", "2025年目标是多少", "那2023年实际新增多少？", "2022年定的目标是多少"]
    said = [resolve_followup(q, turns[:i], _reader(["盘锦"], {None: 2025})) for i, q in enumerate(turns)]
    assert said[1:] == ["盘锦2025年城镇新增就业目标是多少", "盘锦2023年城镇新增就业实际多少", "盘锦2022年城镇新增就业目标是多少"]


@pytest.mark.parametrize("history, question, standalone", [
    # a growth rate belongs to the old indicator: the new one is asked for as its report states it
    (["济南2023年地区生产总值增长多少", "那一般公共预算收入呢"], "进出口总额呢？", "济南2023年进出口总额多少"),
    (["商丘2024年GDP增长目标是多少"], "固投呢？", "商丘2024年固投增长目标是多少"),  # a target keeps its kind
    (["2024年盘锦进出口总额增长了多少？"], "总额达到了多少？", "盘锦2024年进出口总额达到了多少"),  # its head noun
    (["济南2023年进出口总额是多少"], "出口增长了多少", "济南2023年出口增长了多少"),  # a part is an indicator
    (["福州2023年地方一般公共预算收入是多少？"], "社会消费品零售总额呢", "福州2023年社会消费品零售总额是多少"),
])
def test_a_new_indicator_is_asked_as_its_own(history, question, standalone):
    from assistant.answer.followup import resolve_followup

    assert resolve_followup(question, history, _reader(["济南", "商丘", "盘锦", "福州"])) == standalone


@pytest.mark.parametrize("question, standalone", [
    ("跟济南比呢", "盘锦和济南2024年GDP增长多少"),
    ("和济南相比哪个高", "盘锦和济南2024年GDP增长哪个高"),
    ("它和济南比哪个高", "盘锦和济南2024年GDP增长哪个高"),
    ("那沈阳和济南分别是多少", "沈阳和济南2024年GDP增长分别是多少"),  # both sides named: 盘锦 is not one
    ("同期沈阳呢", "沈阳2024年GDP增长多少"),  # 同期 is no comparison
])
def test_a_comparison_with_a_new_entity_keeps_the_old_one(question, standalone):
    from assistant.answer.followup import resolve_followup

    assert resolve_followup(question, ["盘锦2024年GDP增长多少"], _reader(["盘锦", "济南", "沈阳"])) == standalone


@pytest.mark.parametrize("question, standalone", [
    ("换成内江呢", "内江2024年GDP增长多少"),  # words that only lead in are no topic
    ("请问沈阳呢", "沈阳2024年GDP增长多少"),
    ("前一年呢", "盘锦2023年GDP增长多少"),  # counted from the year asked before
    ("下一年的目标呢", "盘锦2025年GDP增长目标是多少"),
])
def test_lead_in_words_and_years_counted_from_the_last_turn(question, standalone):
    from assistant.answer.followup import resolve_followup

    assert resolve_followup(question, ["盘锦2024年GDP增长多少"], _reader(["盘锦", "内江", "沈阳"])) == standalone


@pytest.mark.parametrize("history, question, standalone", [
    # the two sides are the last two the conversation named: entities, or one entity's years
    (["沈阳2024年社零目标", "济南呢"], "哪个高", "沈阳和济南2024年社零目标哪个高"),
    (["盘锦2023年GDP增长多少", "2024年呢"], "哪年高？", "盘锦2023年和2024年GDP增长哪个高"),
    # the same subject, another ask: who or when after which meeting
    (["盘锦2025年政府工作报告是什么时候开的会"], "市长是谁", "盘锦2025年市长是谁"),
    (["盘锦2025年政府工作报告是哪次会议上作的"], "谁作的", "盘锦2025年政府工作报告谁作"),
])
def test_a_short_follow_up_compares_or_asks_anew(history, question, standalone):
    from assistant.answer.followup import resolve_followup

    assert resolve_followup(question, history, _reader(["沈阳", "济南", "盘锦"], {None: 2025})) == standalone


def test_this_year_without_an_entity_is_no_one_year():
    """Entities whose latest reports differ have each their own 今年: the question names none, so it gets
    no year rather than the year of whichever entity reported last."""
    u = _reader(["沈阳", "盘锦"], {"沈阳": 2024, "盘锦": 2025, None: 2025})
    assert u("今年的重点工作有哪些").years == []
    assert u("盘锦今年的重点工作有哪些").years == [2025] and u("沈阳去年GDP增长多少").years == [2023]
    assert _reader(["盘锦"], {"盘锦": 2025, None: 2025})("今年的重点工作有哪些").years == [2025]  # one entity: its year


def test_a_vague_this_year_question_is_asked_back_or_answered_per_city(qa):
    a = qa.ask("今年的重点工作有哪些？")
    per_city = any(n.startswith("问题没有指明对象") for n in a.notes)
    assert a.refusal_reason == "clarify" or per_city, a.answer
    if per_city:
        assert len({c.city for c in a.citations}) >= 2


@pytest.mark.parametrize("history, question, figure", [
    (["济南2023年地区生产总值增长多少", "那一般公共预算收入呢"], "进出口总额呢？", "2189亿元"),
    (["盘锦2024年GDP增长多少"], "实际利用外资呢", "7.5亿美元"),
    (["盘锦2024年城镇新增就业多少人", "2025年目标是多少"], "那2023年实际新增多少？", "2.3万人"),
    (["福州2024年地区生产总值增长目标是多少"], "该市2023年实际增长了多少？", "5.3%左右"),
])
def test_follow_ups_are_answered_with_the_figure_meant(qa, history, question, figure):
    a = qa.ask(question, history=history)
    assert not a.refused and figure in a.answer, (a.standalone_question, a.answer)


@pytest.mark.parametrize("question", ["盘锦2023年为什么没有完成预期目标", "盘锦2023年为什么没完成目标？"])
def test_why_a_goal_was_missed_is_read_from_the_years_review(qa, question):
    """Not from the plan that set the goal: the next year's report says what happened (未能完成预期目标)."""
    from assistant.retrieval.query import understand

    assert understand(question, ["盘锦"], {None: 2025}).intent == "result"
    a = qa.ask(question)
    assert not a.refused and "未能完成预期目标" in a.answer and a.citations[0].year == 2024


def test_an_entity_alone_under_a_filter_that_hides_it_says_so(qa):
    a = qa.ask("沈阳怎么样", filters=Filters(cities=["济南"]))
    assert a.refused and "当前筛选下没有沈阳的报告" in a.answer and not a.clarify["options"]


def test_a_part_of_a_year_is_not_answered_by_the_whole_year(qa):
    a = qa.ask("2024年上半年盘锦GDP增长多少")
    assert "3.5%" not in a.answer  # 3.5%左右 is the whole year's
