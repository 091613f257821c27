"""List questions answered by the report's outline: the sentence that announces the items, then every
heading under its section, each cited to the passage that opens with it."""

from __future__ import annotations

import re

import pytest

from assistant.answer.answerers import Candidate
from assistant.answer.outline import outline
from assistant.records import Chunk, Passage


@pytest.mark.parametrize("question, count", [
    ("福州2024年重点做好哪几个方面工作", 8),
    ("济南2024年重点抓好哪些工作", 12),
    ("盘锦2025年重点工作有哪些", 8),
    ("本溪今年重点工作有哪些", 7),  # the best sentence (聚焦“九项重点任务”) comes before 以下几方面工作：
])
def test_an_announced_list_is_every_heading_under_it(sample_qa, question, count):
    a = sample_qa.ask(question)
    first, *items = a.answer.splitlines()
    assert "以下" in first and len(items) == count
    numbers = [int(n) for line in items for n in re.findall(r"\[(\d+)\]$", line)]
    assert len(numbers) == count and len(set(numbers)) == count  # each heading its own passage
    by_number = {c.n: c for c in a.citations}
    for line, n in zip(items, numbers, strict=True):
        heading = line[: line.rindex("[")]
        assert by_number[n].text.lstrip().startswith(heading)  # the cited passage opens with it
        assert sample_qa.document_text(by_number[n].source)[by_number[n].start : by_number[n].end] == by_number[n].text


def _chunk(cid: str, section: str, text: str, start: int) -> Chunk:
    return Chunk(chunk_id=cid, report_id="r", source="x.txt", start=start, end=start + len(text), text=text,
                 section_path=section, period=2024, title="报告", city=None, year=2024, type="其他", embed_text=text)


def test_a_list_is_not_made_up_when_the_headings_do_not_match_what_is_announced():
    parent = _chunk("p", "二、安排", "重点做好以下三个方面工作：", 0)
    kids = [_chunk(f"k{i}", f"二、安排 > （{n}）第{n}项", f"（{n}）第{n}项\n内容", 20 + 20 * i) for i, n in enumerate("一二")]
    chunks = {c.chunk_id: c for c in [parent, *kids]}
    best = Candidate(1, parent.text, 1.0, 1.0, None)
    assert outline("有哪些方面工作", best, [Passage(chunk=parent, score=1.0)], chunks) is None  # three said, two found
    two = Candidate(1, "重点做好以下两个方面工作：", 1.0, 1.0, None)
    listed, cited = outline("有哪些方面工作", two, [Passage(chunk=parent, score=1.0)], chunks)
    assert listed.text.splitlines()[1:] == ["（一）第一项[2]", "（二）第二项[3]"] and len(cited) == 3
    plain = Candidate(1, "重点做好各项工作。", 1.0, 1.0, None)
    assert outline("有哪些方面工作", plain, [Passage(chunk=parent, score=1.0)], chunks) is None  # announces nothing


@pytest.mark.parametrize("sentence", ["地区生产总值能耗控制在5.5%以下。", "城镇调查失业率控制在5.5%以下："])
def test_a_sentence_ending_in_below_announces_no_list(sentence):
    parent = _chunk("p", "二、安排", sentence, 0)
    kids = [_chunk(f"k{i}", f"二、安排 > （{n}）第{n}项", f"（{n}）第{n}项\n内容", 40 + 20 * i) for i, n in enumerate("一二")]
    chunks = {c.chunk_id: c for c in [parent, *kids]}
    assert outline("有哪些方面工作", Candidate(1, sentence, 1.0, 1.0, None), [Passage(chunk=parent, score=1.0)], chunks) is None


def test_the_announcement_is_found_in_the_best_sentences_section_when_it_asks_for_what_was_asked():
    parent = _chunk("p", "二、安排", "今年要聚焦九项重点任务，交出高分答卷。我们将重点抓好以下几方面工作：", 0)
    kids = [_chunk(f"k{i}", f"二、安排 > （{n}）第{n}项", f"（{n}）第{n}项\n内容", 40 + 20 * i) for i, n in enumerate("一二")]
    chunks = {c.chunk_id: c for c in [parent, *kids]}
    best = Candidate(1, "今年要聚焦九项重点任务，交出高分答卷。", 1.0, 1.0, None)
    listed, _ = outline("今年重点工作有哪些", best, [Passage(chunk=parent, score=1.0)], chunks)
    assert listed.text.splitlines() == ["据《报告》“二、安排”：我们将重点抓好以下几方面工作：[1]", "（一）第一项[2]", "（二）第二项[3]"]
    assert outline("主要预期目标有哪些", best, [Passage(chunk=parent, score=1.0)], chunks) is None  # 目标 is no 工作
