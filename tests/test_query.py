"""Query understanding of a question that asks several things: each part is a question of its own."""

from __future__ import annotations

import pytest

from assistant.retrieval.normalize import normalize_question
from assistant.retrieval.query import question_parts, understand

ENTITIES = ["本溪", "沈阳", "澄川新能源"]
LATEST = {None: 2024, "本溪": 2024, "沈阳": 2024}


def parts(question: str) -> list[str]:
    return understand(normalize_question(question), ENTITIES, LATEST).parts


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("本溪2023年GDP多少？财政收入呢？", ["本溪2023年GDP多少", "本溪2023年财政收入多少"]),
        ("本溪2023年GDP多大？财政收入呢？", ["本溪2023年GDP多少", "本溪2023年财政收入多少"]),
        ("本溪2023年GDP是多少，那财政收入呢", ["本溪2023年GDP是多少", "本溪2023年财政收入是多少"]),
        # the growth rate was the first thing's; the other is asked as its report states it
        ("沈阳2023年GDP增长多少，粮食产量呢", ["沈阳2023年GDP增长多少", "沈阳2023年粮食产量多少"]),
        ("沈阳2023年GDP增长多少，粮食产量呢，固投呢",
         ["沈阳2023年GDP增长多少", "沈阳2023年粮食产量多少", "沈阳2023年固投多少"]),
        ("本溪2023年重点工作有哪些？民生实事呢？", ["本溪2023年重点工作有哪些", "本溪2023年民生实事有哪些"]),
    ],
)
def test_a_trailing_ne_is_a_part_with_the_first_parts_subject_and_year(question, expected):
    assert parts(question) == expected


@pytest.mark.parametrize(
    "question",
    [
        "本溪2023年GDP增长多少，目标呢",  # how the same thing is asked: a follow-up, not another part
        "本溪2023年GDP多少，增速呢",
        "本溪2023年GDP多少，今年呢",
        "本溪2023年GDP多大",
        "本溪呢",
    ],
)
def test_what_only_changes_how_the_first_is_asked_is_no_part(question):
    assert parts(question) == []


def test_another_entity_or_year_makes_a_comparison_not_parts():
    info = understand(normalize_question("本溪2023年GDP多少，沈阳呢"), ENTITIES, LATEST)
    assert info.compare and info.cities == ["本溪", "沈阳"] and info.parts == []
    info = understand(normalize_question("本溪2023年GDP增速是多少？2024年呢"), ENTITIES, LATEST)
    assert info.compare and info.years == [2023, 2024] and info.parts == []


def test_how_big_asks_like_how_much():
    # typed unnormalised too: 「多大」 asks the first part as 「多少」 would
    assert question_parts("本溪2023年GDP多大？财政收入呢", ["本溪"], [2023]) == [
        "本溪2023年GDP多大", "本溪2023年财政收入多大"]
    assert question_parts("本溪2023年经济规模有多大的变化，财政收入呢", ["本溪"], [2023]) != []
    assert question_parts("许多大项目开工，财政收入呢", [], []) == []


def test_another_entity_with_呢_is_the_same_question_of_it():
    info = understand(normalize_question("本溪2024年GDP增长多少，沈阳呢"), ENTITIES, LATEST)
    assert info.cities == ["本溪", "沈阳"] and info.compare
    assert question_parts("本溪2024年GDP增长多少，沈阳呢", ["本溪", "沈阳"], [2024]) == [
        "本溪2024年GDP增长多少", "沈阳2024年GDP增长多少"]
