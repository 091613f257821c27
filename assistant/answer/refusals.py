"""What the assistant says when it cannot answer, or cannot tell what is asked: in words, with the reason.

A refusal names what is missing (an entity, a year), and a question that fits several entities equally
well is asked back instead of being answered from whichever report scored a little higher."""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.answer.answerers import REFUSAL, Candidate
from assistant.records import Passage, Report
from assistant.retrieval.query import RELATIVE_YEARS, QueryInfo

_ACROSS = re.compile(r"哪些(城市|公司|地方|地区|报告|企业)|哪(个|一个|家)(城市|公司|地方|企业)|各(个)?(城市|地|公司|企业)|所有|分别|都")


@dataclass(frozen=True)
class Clarify:
    question: str
    options: list[str]

    def text(self) -> str:
        return f"{self.question}可选：{'、'.join(self.options)}。"

    def to_dict(self) -> dict:
        return {"question": self.question, "options": list(self.options)}


def ambiguous_entities(info: QueryInfo, cands: list[Candidate], passages: list[Passage], ratio: float = 0.9) -> list[str]:
    """Entities with a sentence that states the question's terms as fully as the best answer does, for a
    question that names no entity. One entity (or a question across entities: 哪些城市…, 分别…) is not
    ambiguous. Passage rank is left out on purpose: it says which report fits a little better, not which
    one the user means. A 今年/去年 the question could not pin to a year (each entity has its own) leaves
    every entity with a sentence on it in play: which one states the words a little more fully says
    nothing about whose year was meant."""
    if info.cities or not cands or _ACROSS.search(info.text):
        return []
    unpinned = not info.years and any(word in info.text for word in RELATIVE_YEARS)
    floor = 0.0 if unpinned else max(c.coverage for c in cands) * ratio
    out: list[str] = []
    for c in sorted(cands, key=lambda c: -c.score):
        entity = passages[c.n - 1].chunk.entity
        if c.coverage >= floor and entity and entity not in out:
            out.append(entity)
    return out if len(out) > 1 else []


def ask_back(entities: list[str], places: set[str]) -> Clarify:
    what = "哪个城市" if all(e in places for e in entities) else "哪个单位或哪份报告"
    return Clarify(f"您想问{what}？", sorted(entities)[:8])


def refusal_text(reason: str, info: QueryInfo, reports: list[Report]) -> str:
    """The refusal in words: which entity or year is missing, and what the reports do hold."""
    if reason.startswith("not in the corpus: "):
        missing = reason.split(": ", 1)[1]
        known = sorted({r.entity for r in reports if r.entity})
        held = f"已收录的报告涉及：{'、'.join(known[:8])}{'等' if len(known) > 8 else ''}。" if known else ""
        return f"已收录的报告中没有「{missing}」的内容。{held}"
    if reason.startswith("year not covered"):
        scope = [r for r in reports if r.year is not None and (not info.cities or r.entity in info.cities)]
        years = sorted({r.year for r in scope if r.year is not None})
        who = "、".join(info.cities) if info.cities else ""
        asked = "、".join(f"{y}年" for y in info.years)
        if years:
            span = f"{years[0]}年" if len(years) == 1 else f"{years[0]}–{years[-1]}年"
            return f"已收录{who}{span}的报告，其中没有{asked}的内容。"
    return REFUSAL
