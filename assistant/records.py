"""Plain typed records shared by every stage. Ids are content hashes, so re-ingesting is idempotent."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any


def content_hash(*parts: str, length: int = 16) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()[:length]


@dataclass(frozen=True)
class Document:
    """A decoded (or extracted) source file; every offset in the system points into `text`."""

    source: str  # file name, relative to the data dir
    text: str
    encoding: str
    file_hash: str  # hash of the raw bytes
    pages: tuple[int, ...] = ()  # start offset of each page (PDF), empty otherwise
    fmt: str = "txt"


@dataclass(frozen=True)
class Report:
    report_id: str
    source: str
    title: str
    city: str | None
    year: int | None  # year the report was delivered
    date: str | None  # ISO date when stated
    meeting: str | None
    type: str  # 政府工作报告 / 计划执行报告 / 预算报告 / 其他
    speaker: str | None
    start: int
    end: int
    title_inferred: bool = False
    entity: str | None = None  # the city, company, court … the report is about (the city for government reports)
    profile: str = "generic"  # the report profile it was read with (assistant/profiles)
    aliases: list[str] = field(default_factory=list)  # other names the report gives its entity (证券简称 …)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        return cls(**data)


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    report_id: str
    source: str
    start: int
    end: int
    text: str  # == document.text[start:end]
    section_path: str
    period: int | None  # the year the section speaks about, when its heading says so
    title: str
    city: str | None
    year: int | None
    type: str
    embed_text: str  # text with a short context header, used for embedding only
    page: int | None = None
    ordinal: int = 0  # position of the chunk in its report
    entity: str | None = None
    profile: str = "generic"

    def metadata(self) -> dict[str, Any]:
        """Flat metadata for the vector store (no None values: Chroma rejects them)."""
        md: dict[str, Any] = {
            "report_id": self.report_id,
            "source": self.source,
            "start": self.start,
            "end": self.end,
            "section": self.section_path,
            "title": self.title,
            "type": self.type,
            "ordinal": self.ordinal,
            "city": self.city or "",
            "entity": self.entity or "",
            "profile": self.profile,
            "year": self.year if self.year is not None else -1,
            "period": self.period if self.period is not None else -1,
            "page": self.page if self.page is not None else -1,
        }
        return md

    @classmethod
    def from_metadata(cls, chunk_id: str, text: str, md: dict[str, Any]) -> Chunk:
        """The chunk back from what `metadata()` stored (-1 and "" are the store's None)."""

        def opt(v: Any) -> Any:
            return None if v in (-1, "", None) else v

        return cls(
            chunk_id=chunk_id, report_id=md["report_id"], source=md["source"], start=int(md["start"]),
            end=int(md["end"]), text=text, section_path=md.get("section", ""), period=opt(md.get("period")),
            title=md.get("title", ""), city=opt(md.get("city")), year=opt(md.get("year")),
            type=md.get("type", "其他"), embed_text="", page=opt(md.get("page")), ordinal=int(md.get("ordinal", 0)),
            entity=opt(md.get("entity")), profile=md.get("profile", "generic"),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Figure:
    """One quantified statement of a report (the indicator ledger): what is measured, its value in the
    report's words and in a base unit, whether it is a result, an estimate or a goal, and of which year.
    `text == document.text[start:end]`, the span from the indicator to the figure."""

    figure_id: str
    chunk_id: str
    report_id: str
    source: str
    entity: str | None
    indicator: str  # normalised through the profile's synonyms (GDP -> 地区生产总值); "" when unnamed
    raw: str  # the indicator as the report words it
    measure: str  # level / growth / share / count / rank
    value: float  # as written (8.2 for 8.2万人); a decline is negative
    unit: str  # as written: %, 个百分点, 亿元, 万人 …
    base_value: float  # in `base_unit` (8.2万人 -> 82000 人), what comparisons use
    base_unit: str
    qualifier: str  # 左右 / 以上 / 以内 / 约 … or ""
    kind: str  # actual / expected / target
    period: int | None
    start: int
    end: int
    text: str
    value_text: str  # the figure as written: 3.5%左右
    basis: str = ""  # 同比 / 比上年 / 高于全省2.8个百分点
    value_high: float | None = None  # the upper end of a range (5%—6%)
    section: str = ""
    title: str = ""
    year: int | None = None  # the report's year

    def said(self) -> str:
        """The value as a reader says it: a negative growth is 下降7%左右, not 7%左右."""
        return f"下降{self.value_text}" if self.measure == "growth" and self.value < 0 else self.value_text

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Figure:
        return cls(**data)


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with the scores that put it there."""

    chunk: Chunk
    score: float
    dense_rank: int | None = None
    keyword_rank: int | None = None
    boost: float = 0.0
    dense_score: float | None = None
    match: float = 0.0  # how fully the chunk's best sentence states the question's terms


@dataclass(frozen=True)
class Citation:
    n: int
    chunk_id: str
    report_id: str
    title: str
    city: str | None
    year: int | None
    period: int | None
    section: str
    source: str
    start: int
    end: int
    text: str
    score: float
    page: int | None = None

    @classmethod
    def from_passage(cls, n: int, p: Passage) -> Citation:
        c = p.chunk
        return cls(
            n=n, chunk_id=c.chunk_id, report_id=c.report_id, title=c.title, city=c.city, year=c.year,
            period=c.period, section=c.section_path, source=c.source, start=c.start, end=c.end,
            text=c.text, score=round(p.score, 6), page=c.page,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Answer:
    question: str
    answer: str
    refused: bool
    citations: list[Citation] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    standalone_question: str | None = None
    uncited: bool = False  # an LLM answer left with no valid citation marker
    related: list[Citation] = field(default_factory=list)  # 可能相关, when refused
    error: str | None = None
    context: list[Citation] = field(default_factory=list)  # every passage the answerer saw, numbered
    refusal_reason: str | None = None
    clarify: dict[str, Any] | None = None  # {question, options} when the question is asked back
    notes: list[str] = field(default_factory=list)  # how the question was read (a typo fixed, per-entity answers)
    figures: list[dict[str, Any]] = field(default_factory=list)  # ledger records a composed answer states
    series: list[dict[str, Any]] = field(default_factory=list)  # (year, value, unit, kind, n) of a series answer
    # numbers of an LLM answer no cited passage states: {text, start, end} into `answer`; [] for offline answers
    unverified_numbers: list[dict[str, Any]] = field(default_factory=list)
    # another report's different value for a figure the answer states: {entity, period, indicator, stated, other}
    conflicts: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.answer,
            "refused": self.refused,
            "citations": [c.to_dict() for c in self.citations],
            "timings_ms": self.timings_ms,
            "standalone_question": self.standalone_question,
            "uncited": self.uncited,
            "related": [c.to_dict() for c in self.related],
            "error": self.error,
            "context": [c.to_dict() for c in self.context],
            "refusal_reason": self.refusal_reason,
            "clarify": self.clarify,
            "notes": list(self.notes),
            "figures": list(self.figures),
            "series": list(self.series),
            "unverified_numbers": [dict(u) for u in self.unverified_numbers],
            "conflicts": [dict(c) for c in self.conflicts],
        }


@dataclass(frozen=True)
class IndexStatus:
    """What is indexed and how it is answered, computed from one view of the index. `entities`,
    `years` and `periods` are the corpus's coverage (for filters and health checks)."""

    reports: int
    chunks: int
    files: int
    embedding_model: str
    dimension: int
    backend: str  # embedded / server
    chroma_url: str | None
    mode: str  # extractive / llm
    llm_model: str | None
    entities: tuple[str, ...] = ()
    years: tuple[int, ...] = ()  # years reports were delivered, newest first
    periods: tuple[int, ...] = ()  # years passages speak about (数据年份), newest first

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
