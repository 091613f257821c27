"""Section-aware chunking: every chunk is an exact slice of the document inside one section.

Headings of Chinese reports: ``第一节``/``第一章`` (level 0), ``一、`` (level 1), ``（一）`` (2), ``1.``/``1、`` (3), ``（1）`` (4).
A heading may open a paragraph (``（一）精准施策稳增长，……。全面落实……``): its first sentence is the title.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.ingest.cleaning import iter_lines
from assistant.profiles import get_profile
from assistant.records import Chunk, Document, Report, content_hash

_CN = "一二三四五六七八九十"
HEADINGS = [
    (0, re.compile(rf"^第[{_CN}百零〇\d]{{1,4}}(?:章|节|部分|篇)(?:[\s\u3000：:]|$)")),
    (1, re.compile(rf"^[{_CN}]{{1,3}}、")),
    (2, re.compile(rf"^[（(][{_CN}]{{1,3}}[）)]")),
    (3, re.compile(r"^\d{1,2}(?:[.．](?!\d)|、)")),
    (4, re.compile(r"^[（(]\d{1,2}[）)]")),
]
SENTENCE_END = "。！？；!?;"
SOFT_BREAK = "，,、：:"
_INDENT = " \u3000\xa0\t"
_YEAR = re.compile(r"(20\d{2}|19\d{2})年")


@dataclass(frozen=True)
class Unit:
    start: int
    end: int


def heading_of(line: str) -> tuple[int, str] | None:
    """(level, heading text) when the line opens a section."""
    stripped = line.lstrip(_INDENT)
    for level, pat in HEADINGS:
        if pat.match(stripped):
            first = re.split(r"[。！？；!?;]", stripped, maxsplit=1)[0].rstrip(_INDENT + "，,：:")
            if len(first) > 60:
                first = first[:60] + "…"
            return level, first
    return None


def section_period(heading: str, report: Report, inherited: int | None, level: int) -> int | None:
    """The year a section speaks about: stated in its heading, else what the profile's time rule implies
    (a government work report's top-level 回顾 speaks of the year before, its 安排 of its own year)."""
    m = _YEAR.search(heading)
    if m:
        return int(m.group(1))
    rule = get_profile(report.profile).time
    if level <= 1 and report.year is not None and rule.report_period == "sections":
        if rule.review_cues is not None and rule.review_cues.search(heading):
            return report.year + rule.review_offset
        if rule.plan_cues is not None and rule.plan_cues.search(heading):
            return report.year
    return inherited


def report_period(report: Report) -> int | None:
    """The year text outside any dated heading speaks about: the report's year for annual reports."""
    return report.year if get_profile(report.profile).time.report_period == "year" else None


def _split_long(text: str, start: int, end: int, limit: int) -> list[Unit]:
    """Cut an over-long sentence at commas, else at `limit`, never inside a number."""
    out: list[Unit] = []
    s = start
    while end - s > limit:
        cut = max((i + 1 for i in range(s + limit // 2, s + limit) if text[i] in SOFT_BREAK), default=s + limit)
        while cut - s > 1 and text[cut - 1].isdigit() and cut < end and (text[cut].isdigit() or text[cut] in ".．%"):
            cut -= 1
        out.append(Unit(s, cut))
        s = cut
    if s < end:
        out.append(Unit(s, end))
    return out


def sentence_units(text: str, start: int, end: int, limit: int) -> list[Unit]:
    """Sentences of text[start:end] (split at sentence punctuation and line ends), trimmed of spaces."""
    units: list[Unit] = []
    s = start
    for i in range(start, end + 1):
        if i == end or text[i] == "\n" or text[i] in SENTENCE_END:
            e = i + 1 if i < end and text[i] != "\n" else i
            while s < e and text[s] in _INDENT + "\n":
                s += 1
            t = e
            while t > s and text[t - 1] in _INDENT + "\n":
                t -= 1
            if t > s:
                units.extend(_split_long(text, s, t, limit))
            s = e
    return units


class Chunker:
    def __init__(self, target: int = 450, max_chars: int = 600):
        if max_chars < target:
            raise ValueError(f"chunk_max must be >= chunk_target. Currently {max_chars} < {target}")
        self.target = target
        self.max_chars = max_chars

    def chunk(self, doc: Document, report: Report, mask: bytearray) -> list[Chunk]:
        text = doc.text
        sections = self._sections(text, report, mask)
        chunks: list[Chunk] = []
        for path, period, pieces in sections:
            units = [u for s, e in pieces for u in sentence_units(text, s, e, self.max_chars)]
            for s, e in self._pack(text, units, mask):
                chunks.append(self._make(doc, report, s, e, path, period, len(chunks)))
        return chunks

    def _sections(self, text: str, report: Report, mask: bytearray):
        """[(section_path, period, [(start, end) of kept text])] in document order."""
        sections: list[tuple[str, int | None, list[tuple[int, int]]]] = []
        stack: list[tuple[int, str, int | None]] = []
        current: list[tuple[int, int]] = []
        path, period = "", report_period(report)
        for ls, le in iter_lines(text):
            if le <= report.start or ls >= report.end:
                continue
            ls, le = max(ls, report.start), min(le, report.end)
            # a line may hold removed spans (promotions): keep the pieces around them
            pieces, s = [], ls
            for i in range(ls, le + 1):
                if i == le or mask[i]:
                    if i > s:
                        pieces.append((s, i))
                    s = i + 1
            if not pieces:
                continue
            head = heading_of(text[pieces[0][0] : pieces[0][1]])
            if head is not None:
                if current:
                    sections.append((path, period, current))
                level, title = head
                stack = [x for x in stack if x[0] < level]
                inherited = stack[-1][2] if stack else report_period(report)
                stack.append((level, title, section_period(title, report, inherited, level)))
                path = " > ".join(x[1] for x in stack)
                period = stack[-1][2]
                current = []
            current.extend(pieces)
        if current:
            sections.append((path, period, current))
        return sections

    def _pack(self, text: str, units: list[Unit], mask: bytearray) -> list[tuple[int, int]]:
        """Greedy packing of consecutive sentences up to the target; never across removed text."""

        def joinable(a: int, b: int) -> bool:
            gap = text[a:b]
            return not any(mask[a:b]) and (gap.strip(_INDENT + "\n") == "")

        out: list[list[int]] = []
        for u in units:
            if out:
                cs, ce = out[-1]
                if ce - cs < self.target and u.end - cs <= self.max_chars and joinable(ce, u.start):
                    out[-1][1] = u.end
                    continue
            out.append([u.start, u.end])
        # a tiny tail joins its predecessor when it fits
        if len(out) >= 2 and out[-1][1] - out[-1][0] < self.target // 4:
            (ps, pe), (ts, te) = out[-2], out[-1]
            if te - ps <= self.max_chars and joinable(pe, ts):
                out[-2:] = [[ps, te]]
        return [(s, e) for s, e in out]

    @staticmethod
    def _make(doc: Document, report: Report, s: int, e: int, path: str, period: int | None, ordinal: int) -> Chunk:
        text = doc.text[s:e]
        unknown = "城市未知" if get_profile(report.profile).entity_is_place else "主体未知"
        header = f"{report.title}（{report.entity or unknown}，{report.year or '年份未知'}年）{path}"
        page = None
        if doc.pages:
            page = sum(1 for p in doc.pages if p <= s)
        return Chunk(
            chunk_id=content_hash(report.report_id, str(s), str(e), text),
            report_id=report.report_id, source=doc.source, start=s, end=e, text=text,
            section_path=path, period=period, title=report.title, city=report.city, year=report.year,
            type=report.type, embed_text=f"{header}\n{text}", page=page, ordinal=ordinal,
            entity=report.entity, profile=report.profile,
        )
