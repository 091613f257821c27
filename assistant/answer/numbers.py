"""Numbers in an LLM answer: the ledger lines the model is given beside its passages, and the check
afterwards that every number it wrote is one a cited passage states.

A model may copy a figure wrong or make one up, and a reader cannot tell. The figure grammar (number,
range, qualifier, unit and its scale) is the ledger's own (`ingest/figures.py`, units from the profile's
`[figures]`), so an answer and a passage are read alike: 1.2万亿元 and 12000亿元 are one number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from assistant.answer import steering
from assistant.answer.citations import MARKER, cited_numbers
from assistant.ingest.figures import base_of, grammar, is_part_of_name
from assistant.records import Figure, Passage
from assistant.retrieval.ledger import Ledger

MAX_LINES = 24  # ledger lines in one prompt: enough for a compare or a target list, small beside the passages
PER_PASSAGE = 8  # so the top passage cannot crowd out the others

FULL_WIDTH = str.maketrans("０１２３４５６７８９％．－", "0123456789%.-")  # one character for one: offsets hold
_BARE = re.compile(r"(?<![\dA-Za-z.:第])(\d+(?:,\d{3})*(?:\.\d+)?)(?![\dA-Za-z:]|\.\d)(万亿|亿|万)?")
_BARE_SCALE = {"万亿": 1e12, "亿": 1e8, "万": 1e4, None: 1.0}
_NOT_A_FIGURE_AFTER = re.compile(r"\s*(?:[年月日号时分秒岁届期级]|季度|世纪|周年)")  # dates, times, names (1号线)
_ORDINAL_AFTER = re.compile(r"[.、．)）]")
_BULLET = re.compile(r"^[\s#>*•\-]*$")
_OPEN, _CLOSE = "（(〔[【", "）)〕]】"
_FENCE = re.compile(r"<(/?)\s*(passages|figures)\s*>", re.IGNORECASE)


@dataclass(frozen=True)
class Number:
    """A number as written (`text == source[start:end]`), its value(s) in a base unit (a range gives
    both ends) and as written; `base_unit` is "" for a number without a unit."""

    text: str
    start: int
    end: int
    values: tuple[float, ...]
    written: tuple[float, ...]
    base_unit: str

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "start": self.start, "end": self.end}


# --- reading numbers ---------------------------------------------------------------------------
def numbers(text: str, profile: str = "generic") -> list[Number]:
    """Every figure in `text`, in order: numbers with a unit of the profile, and bare numbers that are not
    years, dates, `[n]` markers, list ordinals or section numbers. Full-width digits read as digits."""
    g = grammar(profile)
    plain = text.translate(FULL_WIDTH)
    taken = [m.span() for m in MARKER.finditer(plain)]
    out: list[Number] = []
    for m in g.figure.finditer(plain):
        if _inside(m.start(), taken) or is_part_of_name(plain, m):
            continue
        base_unit, scale = base_of(g.rules, m.group("unit"))
        written = tuple(_float(v) for v in (m.group("num"), m.group("high")) if v)
        out.append(_number(text, m.start("num"), m.end("unit"), written, scale, base_unit))
        taken.append((m.start(), m.end()))
    for m in _BARE.finditer(plain):
        if _inside(m.start(), taken) or not _is_figure(plain, m):
            continue
        written = (_float(m.group(1)),)
        out.append(_number(text, m.start(), m.end(), written, _BARE_SCALE[m.group(2)], ""))
    return sorted(out, key=lambda n: n.start)


def _number(text: str, start: int, end: int, written: tuple[float, ...], scale: float, base_unit: str) -> Number:
    return Number(text[start:end], start, end, tuple(_key(v * scale) for v in written),
                  tuple(_key(v) for v in written), base_unit)


def _is_figure(plain: str, m: re.Match[str]) -> bool:
    """A bare number that is a figure: not a year, a date or time, a name (1号线), an ordinal (1. 1、（1）)
    or a section number (1.2 at a line's start)."""
    digits = m.group(1)
    if m.group(2) is None:
        if re.fullmatch(r"(?:19|20)\d{2}", digits) or _NOT_A_FIGURE_AFTER.match(plain, m.end()):
            return False
        before, after = plain[m.start() - 1 : m.start()], plain[m.end() : m.end() + 1]
        if before and after and before in _OPEN and after in _CLOSE:
            return False
        line = plain[plain.rfind("\n", 0, m.start()) + 1 : m.start()]
        if _ORDINAL_AFTER.match(after) and (_BULLET.match(line) or line.rstrip().endswith(("：", ":", "；", ";", "。"))):
            return False
        if _BULLET.match(line) and (not after or after.isspace()):
            return False
    return True


def _inside(pos: int, spans: list[tuple[int, int]]) -> bool:
    return any(s <= pos < e for s, e in spans)


def _float(text: str) -> float:
    return float(text.replace(",", ""))


def _key(value: float) -> float:
    """Twelve significant digits: 3500万元 (0.35000000000000003亿元) and 0.35亿元 compare equal."""
    return float(f"{value:.12g}")


# --- the check after the answer ----------------------------------------------------------------------
def unverified(answer: str, passages: list[Passage]) -> list[Number]:
    """The numbers of `answer` that no cited passage states after unit normalisation (the passages it
    cites with [n]; all of them when it cites none). Read in the text the model was shown: a withheld
    instruction sentence states nothing."""
    cited = [passages[n - 1] for n in sorted(set(cited_numbers(answer))) if 1 <= n <= len(passages)]
    shown = cited or passages
    if not shown:
        return numbers(answer)
    profile = shown[0].chunk.profile
    known = [n for p in shown for n in numbers(shown_text(p), profile)]
    by_unit: dict[str, set[float]] = {}
    for n in known:
        if n.base_unit:
            by_unit.setdefault(n.base_unit, set()).update(n.values)
    bare = {v for n in known if not n.base_unit for v in (*n.values, *n.written)}
    loose = {v for n in known for v in (*n.values, *n.written)}

    def stated(n: Number) -> bool:
        if n.base_unit:  # a passage's bare 1.2万 states 1.2万人 too
            return set(n.values) <= by_unit.get(n.base_unit, set()) | bare
        return set(n.written) <= loose or set(n.values) <= loose

    return [n for n in numbers(answer, profile) if not stated(n)]


def shown_text(p: Passage) -> str:
    """A passage as the model read it: heading, and the text with instruction-like sentences withheld."""
    return f"《{p.chunk.title}》 {p.chunk.section_path or '开篇'}：{steering.withhold(p.chunk.text)}"


# --- the ledger lines for the prompt ------------------------------------------------------------------
def passage_figures(ledger: Ledger, passages: list[Passage]) -> list[Figure]:
    """The ledger records of these passages' chunks."""
    ids = {p.chunk.chunk_id for p in passages}
    entities = {p.chunk.entity for p in passages}
    scope = None if None in entities else sorted(e for e in entities if e)
    return [f for f in ledger.find(scope) if f.chunk_id in ids]


def ledger_lines(passages: list[Passage], figures: list[Figure]) -> list[str]:
    """One compact line per named figure, numbered like the passage it is read from
    (`[2] 盘锦 · 2024 · 地区生产总值 · 增长3.5%左右（预计）`): none from a withheld sentence, at most
    PER_PASSAGE a passage and MAX_LINES in all."""
    by_chunk: dict[str, list[Figure]] = {}
    for f in figures:
        by_chunk.setdefault(f.chunk_id, []).append(f)
    out: list[str] = []
    for n, p in enumerate(passages, start=1):
        hidden = _withheld_spans(p.chunk.text)
        kept = 0
        for f in sorted(by_chunk.get(p.chunk.chunk_id, []), key=lambda f: f.start):
            at, to = f.start - p.chunk.start, f.end - p.chunk.start
            if not (f.indicator or f.raw) or any(s < to and at < e for s, e in hidden):
                continue
            line = _FENCE.sub(lambda m: f"＜{m.group(1)}{m.group(2)}＞", ledger_line(n, f))
            if line in out or steering.addresses_reader(line):
                continue
            out.append(line)
            kept += 1
            if len(out) >= MAX_LINES:
                return out
            if kept >= PER_PASSAGE:
                break
    return out


def ledger_line(n: int, f: Figure) -> str:
    kind = {"expected": "（预计）", "target": "（目标）"}.get(f.kind, "")
    value = f"增长{f.value_text}" if f.measure == "growth" and f.value >= 0 else f.said()
    parts = [f.entity, str(f.period) if f.period else None, f.indicator or f.raw, value]
    return f"[{n}] " + " · ".join(p for p in parts if p) + kind + (f"，{f.basis}" if f.basis else "")


def _withheld_spans(text: str) -> list[tuple[int, int]]:
    """Where the sentences steering withholds from the model sit in a chunk's text."""
    return [m.span() for m in steering.SENTENCE.finditer(text) if m.group(0) and steering.addresses_reader(m.group(0))]
