"""What the assistant says when it cannot answer, or cannot tell what is asked: in words, with the reason.

A refusal names what is missing (an entity, a year), and a question that fits several entities equally
well is asked back instead of being answered from whichever report scored a little higher."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from assistant.answer.answerers import REFUSAL, Candidate
from assistant.profiles import query_indicators
from assistant.records import Figure, Passage, Report
from assistant.retrieval.query import RELATIVE_YEARS, QueryInfo

_ACROSS = re.compile(r"哪些(城市|公司|地方|地区|报告|企业)|哪(个|一个|家)(城市|公司|地方|企业)|各(个)?(城市|地|公司|企业)|所有|分别|都")


@dataclass(frozen=True)
class Clarify:
    question: str
    options: list[str]
    whole: bool = False  # options are whole questions (例如：…), not names to put before the one asked

    def text(self) -> str:
        if self.whole:
            return f"{self.question}例如：{''.join(f'「{o}」' for o in self.options)}" if self.options else self.question
        return f"{self.question}可选：{'、'.join(self.options)}。"

    def to_dict(self) -> dict:
        return {"question": self.question, "options": list(self.options), "whole": self.whole}


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
    if _LATIN_ONLY.fullmatch(info.text):
        # 「What was Panjin's GDP growth in 2024?」: the reports and their index are Chinese
        return f"{REFUSAL}报告为中文，请用中文提问，例如「{_example(reports)}」。"
    return REFUSAL


_LATIN_ONLY = re.compile(r"[\x00-\x7f]*[A-Za-z]{3}[\x00-\x7f]*")


def _example(reports: list[Report]) -> str:
    """A question about the first report's entity and year, to show how to ask."""
    r = next((r for r in reports if r.entity and r.year), None)
    return f"{r.entity}{r.year}年的主要目标有哪些" if r is not None else "2024年的主要目标有哪些"


# what a question may say around an entity's name and still ask nothing in particular (沈阳怎么样)
_VAGUE = re.compile(r"怎么样|怎样|如何|情况|概况|介绍一下|介绍|简介|的|呢|吗|啊|呀|吧|一下|说说|讲讲|看看|报告|政府工作|有什么|有哪些|内容|讲了什么|说了什么|\s")


def overview(info: QueryInfo, reports: list[Report], figures: Callable[[str], list[Figure]]) -> Clarify | None:
    """「沈阳」「沈阳怎么样」: one entity and nothing asked of it. Not a refusal: which of its reports are
    here and three questions its figures can answer (the indicators it states most, at their latest year).
    `reports` and `figures` are what the caller's filters allow."""
    if len(info.cities) != 1:
        return None
    rest = info.text
    for said in sorted([*info.mentions, *info.cities], key=len, reverse=True):
        rest = rest.replace(said, "")
    if _VAGUE.sub("", re.sub(r"(?:19|20)\d{2}年?|今年|去年", "", rest)):
        return None
    entity = info.cities[0]
    own = [r for r in reports if r.entity == entity]
    if not own:
        return None
    known = set(query_indicators())
    latest: dict[str, Figure] = {}
    counts: dict[str, int] = {}
    for f in figures(entity):  # read only now that the question is known to be vague
        if f.indicator in known and f.period and f.measure in ("growth", "level") and (not info.years or f.period in info.years):
            counts[f.indicator] = counts.get(f.indicator, 0) + 1
            if f.indicator not in latest or (f.period, f.kind == "actual") > (latest[f.indicator].period or 0,
                                                                              latest[f.indicator].kind == "actual"):
                latest[f.indicator] = f
    top = sorted(latest, key=lambda name: -counts[name])[:3]
    asks = [f"{entity}{latest[n].period}年{n}{'增长' if latest[n].measure == 'growth' else ''}"
            f"{'目标是多少' if latest[n].kind == 'target' else '多少' if latest[n].measure == 'growth' else '是多少'}？"
            for n in top]
    titles = "、".join(f"《{r.title}》" for r in own[:4]) + ("等" if len(own) > 4 else "")
    if not asks:
        return Clarify(f"关于{entity}，已收录{titles}。请具体说明想了解什么（某年的数据、目标、重点工作等）。", [], whole=True)
    return Clarify(f"关于{entity}，已收录{titles}。请具体说明想了解什么，", asks, whole=True)
