"""One canonical question: the ways people type a question never change what it means."""

from __future__ import annotations

import pytest

from assistant.normalize import normalize_question
from assistant.qa import ReportQA
from tests.fakes import BigramEmbedder, indexed_sample_corpus

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


def test_middle_punctuation_kept():
    # only trailing punctuation goes: a question inside a question keeps its shape
    assert normalize_question("济南，2024年目标是多少？") == "济南，2024年目标是多少"


@pytest.fixture(scope="module")
def qa(tmp_path_factory):
    return ReportQA(indexed_sample_corpus(tmp_path_factory.mktemp("norm")), BigramEmbedder())


def test_variants_get_the_same_answer(qa):
    answers = [qa.ask(v) for v in VARIANTS]
    first = answers[0]
    for v, a in zip(VARIANTS, answers, strict=True):
        assert (a.answer, a.refused, [c.chunk_id for c in a.citations]) == (
            first.answer, first.refused, [c.chunk_id for c in first.citations]), v
        assert a.question == v.strip()  # what the user typed is kept for display
    assert [p.chunk.chunk_id for p in qa.search(VARIANTS[0])] == [p.chunk.chunk_id for p in qa.search(VARIANTS[-2])]
