"""Figures that disagree: the same entity, year and indicator stated with another value by another report.

A reader who checks a figure must learn that a second report says otherwise (an estimate revised, a
document that contradicts the official one) rather than have one chosen silently. The answer keeps the
figure it cites; the others are named beside it, each with its report, so both can be opened.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from assistant.answer.citations import cited_numbers
from assistant.answer.composed import spelled_out
from assistant.answer.numbers import passage_figures
from assistant.records import Figure, Passage
from assistant.retrieval.ledger import Ledger

MAX_CONFLICTS = 3  # a note, not a second answer


@dataclass(frozen=True)
class Conflict:
    stated: Figure  # the figure the answer cites
    other: Figure  # what another report says of the same entity, year and indicator

    def to_dict(self) -> dict[str, Any]:
        def side(f: Figure) -> dict[str, Any]:
            return {"value": f.said(), "kind": f.kind, "title": f.title, "source": f.source, "start": f.start,
                    "end": f.end, "text": f.text}

        s = self.stated
        return {"entity": s.entity, "period": s.period, "indicator": s.indicator, "measure": s.measure,
                "stated": side(s), "other": side(self.other)}

    def note(self) -> str:
        s, o = self.stated, self.other
        what = {"growth": "增长", "share": "占比", "rank": "排名"}.get(s.measure, "")
        return (f"注意：{s.entity}{s.period}年{s.indicator}{what}，《{s.title}》写{_kind(s)}{s.said()}，"
                f"《{o.title}》写{_kind(o)}{o.said()}，两份报告不一致。")


def _kind(f: Figure) -> str:
    return {"expected": "预计", "target": "目标"}.get(f.kind, "")


def disagreeing(f: Figure, ledger: Ledger) -> list[Figure]:
    """Other reports' figures of f's entity, year, indicator and measure with another value. A goal is
    compared with goals only; a result with results and estimates (an estimate later revised)."""
    if not (f.entity and f.period and f.indicator):
        return []
    kinds = ["target"] if f.kind == "target" else ["actual", "expected"]
    return [g for g in ledger.find([f.entity], [f.period], kinds, [f.measure])
            if g.indicator == f.indicator and g.report_id != f.report_id and g.base_unit == f.base_unit
            and abs(g.base_value - f.base_value) > 1e-9]


def conflicts(question: str, answer: str, passages: list[Passage], ledger: Ledger,
              stated: list[Figure] | None = None) -> list[Conflict]:
    """Disagreements with the figures an answer states: those given (a composed answer), or the ledger
    figures of its cited passages whose words the answer repeats and the question asks about (a quoted
    sentence names other indicators too; an LLM's answer)."""
    if stated is None:
        asked = spelled_out(question)
        cited = {passages[n - 1].chunk.chunk_id for n in cited_numbers(answer) if 0 < n <= len(passages)}
        stated = [f for f in passage_figures(ledger, [p for p in passages if p.chunk.chunk_id in cited])
                  if f.value_text and _repeats(answer, f.value_text)
                  and any(n and n in asked for n in (f.indicator, f.raw))]
    out: list[Conflict] = []
    seen: set[frozenset[str]] = set()
    for f in stated:
        for g in disagreeing(f, ledger):
            pair = frozenset((f.report_id, g.report_id, f.indicator, f.measure, str(f.period)))
            if pair not in seen:  # both cited: one note, not one from each side
                seen.add(pair)
                out.append(Conflict(f, g))
    return out[:MAX_CONFLICTS]


def _repeats(answer: str, value: str) -> bool:
    """The answer writes this value as a number of its own (5% is not the end of 15% or 5.5%)."""
    return re.search(rf"(?<![\d.]){re.escape(value)}", answer) is not None
