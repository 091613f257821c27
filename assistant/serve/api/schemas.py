"""The API's schema. Requests are pydantic models (bounded, so a request cannot ask for unbounded work);
responses are the records themselves (`assistant.records`), so a field added to a record is in the API
and its schema at once. What the API says about a record beyond its fields is spelled out here, small."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

from assistant.ingest.indexer import FileOutcome
from assistant.ingest.metadata import normalize_city
from assistant.records import Answer, Citation, IndexStatus, Report
from assistant.retrieval.filters import Filters

Text = Annotated[str, Field(max_length=4000)]
Name = Annotated[str, Field(min_length=1, max_length=64)]
Year = Annotated[int, Field(ge=1949, le=2100)]


# --- requests ----------------------------------------------------------------------------------------
class FiltersIn(BaseModel):
    """Empty lists mean no restriction; city names may carry the 市 suffix."""

    cities: list[Name] = Field(default_factory=list, max_length=50)
    years: list[Year] = Field(default_factory=list, max_length=50)
    report_ids: list[Name] = Field(default_factory=list, max_length=200)
    periods: list[Year] = Field(
        default_factory=list, max_length=50, description="Years the figures are about (a section's period); "
                                                         "`years` is the year a report was delivered")

    def to_filters(self) -> Filters:
        return Filters(cities=[normalize_city(c.strip()) for c in self.cities], years=list(self.years),
                       report_ids=list(self.report_ids), periods=list(self.periods))


class AskRequest(BaseModel):
    question: str = Field(min_length=1, max_length=2000, examples=["济南2023年一般公共预算收入完成了多少亿元？"])
    history: list[Text] = Field(default_factory=list, max_length=50, description="Earlier questions, oldest first")
    filters: FiltersIn = Field(default_factory=FiltersIn)


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: Annotated[str, Field(max_length=64)]
    text: Text | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: Text | Annotated[list[ContentPart], Field(max_length=50)] | None = None

    @model_validator(mode="after")
    def _bounded(self) -> ChatMessage:
        if len(self.text()) > 4000:
            raise ValueError("message text over 4000 characters")
        return self

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(p.text or "" for p in self.content if p.type in ("text", "input_text"))
        return self.content or ""


class ChatRequest(BaseModel):
    """OpenAI's request body; `model`, `temperature` and the like are accepted and ignored.
    `filters` is a ReportQA extension."""

    model_config = ConfigDict(extra="allow")
    model: str | None = None
    messages: list[ChatMessage] = Field(min_length=1, max_length=100, json_schema_extra={
        "contains": {"type": "object", "required": ["role"], "properties": {"role": {"const": "user"}}}})

    @field_validator("messages")
    @classmethod
    def _has_user_message(cls, messages: list[ChatMessage]) -> list[ChatMessage]:
        if not any(m.role == "user" for m in messages):
            raise ValueError("no message with role user")
        return messages
    stream: bool = False
    filters: FiltersIn | None = None


# --- responses: the records ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sent:
    """A record as a response schema: its fields, in order, all of them required (a response always
    carries every field, defaults too), and descriptions for the fields whose names say too little."""

    description: str | None = None
    fields: tuple[tuple[str, str], ...] = ()  # hashable: FastAPI hashes response types

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: Any) -> Any:
        schema = handler(core_schema)
        target = _all_required(schema, handler)
        for name, text in self.fields:
            target["properties"][name]["description"] = text  # a KeyError names a field the record lost
        if self.description:
            target["description"] = self.description
        return schema


def sent(description: str | None = None, **fields: str) -> Sent:
    return Sent(description, tuple(fields.items()))


def _all_required(schema: dict[str, Any], handler: Any) -> dict[str, Any]:
    """Mark the record's schema, and the records nested in it, as always sending every field."""
    target = handler.resolve_ref_schema(schema)
    properties = target.get("properties", {})
    if target.get("required") != list(properties):
        target["required"] = list(properties)
        for prop in properties.values():
            for sub in (prop, prop.get("items", {}), *prop.get("anyOf", ())):
                if "$ref" in sub:
                    _all_required(sub, handler)
    return target


CitationOut = Annotated[Citation, sent()]
ReportOut = Annotated[Report, sent(
    entity="The city, company, court … the report is about",
    profile="Report profile it was read with: gov, company, generic …",
    aliases="Other names the report gives its entity (证券简称 …)",
)]
AnswerOut = Annotated[Answer, sent(
    "The JSON of `reportqa ask --json` (`Answer.to_dict()`)",
    refusal_reason="Why the reports cannot answer, when refused",
    clarify="When the question fits several entities alike: {question, options} to ask back",
    notes="How the question was read (a name typo fixed …)",
    unverified_numbers="Numbers in an LLM answer that no cited passage states after unit normalisation "
                       "(1.2万亿元 = 12000亿元), each {text, start, end} with `answer[start:end] == text`; "
                       "always empty for offline answers",
    conflicts="Another report's different value for a figure the answer states (same entity, year, indicator "
              "and measure): {entity, period, indicator, measure, stated, other}, each side with its value, "
              "kind, title, source and offsets; the notes say it in words",
)]


@dataclass
class FileOutcomeOut(FileOutcome):
    """An ingest outcome, with the ids of the reports the file now holds."""

    status: Literal["indexed", "unchanged", "duplicate", "removed", "error"]
    report_ids: list[str] = field(default_factory=list)


HEALTH_FIELDS = ("reports", "chunks", "backend", "mode", "embedding_model")  # of IndexStatus; the rest is not public
_status_types = get_type_hints(IndexStatus)
_health: dict[str, Any] = {"status": (Literal["ok"], ...), **{n: (_status_types[n], ...) for n in HEALTH_FIELDS}}
HealthOut = create_model("HealthOut", **_health)


def plain(text: str) -> str:
    """Answer text as plain text for any client: HTML from a report escaped, Markdown images and links
    broken, so a client that renders Markdown neither loads `![](http://…)` nor runs `<img onerror>`."""
    return html.escape(text, quote=False).replace("![", "!\\[").replace("](", "]\\(")


def _as_sent(text: str, span: dict[str, Any]) -> dict[str, Any]:
    """A span's offsets into the plain text: `plain` lengthens what it escapes before the span (a number
    and its unit it never touches)."""
    at = len(plain(text[: span["start"]]))
    return {**span, "start": at, "end": at + len(plain(span["text"]))}


def answer_json(answer: Answer) -> dict[str, Any]:
    """The answer as every endpoint sends it: `Answer.to_dict()` with its text made plain."""
    result = answer.to_dict()
    result["answer"] = plain(answer.answer)
    result["unverified_numbers"] = [_as_sent(answer.answer, u) for u in result["unverified_numbers"]]
    return result


# --- responses: envelopes ------------------------------------------------------------------------------
class ReportsOut(BaseModel):
    count: int
    reports: list[ReportOut]


class FigureOut(BaseModel):
    """One figure of the indicator ledger; `text == source text[start:end]`."""

    figure_id: str
    entity: str | None
    indicator: str
    raw: str
    measure: str
    value: float
    unit: str
    base_value: float
    base_unit: str
    qualifier: str
    kind: str
    period: int | None
    basis: str
    value_text: str
    report_id: str
    chunk_id: str
    title: str
    section: str
    source: str
    start: int
    end: int
    text: str


class FiguresOut(BaseModel):
    count: int
    figures: list[FigureOut]


class UploadOut(BaseModel):
    files: list[Annotated[FileOutcomeOut, sent()]]
    seconds: float


class DeleteOut(BaseModel):
    report_id: str
    source: str
    removed_report_ids: list[str] = Field(description="Every report of the removed file (a file may hold several)")
    file_deleted: bool = Field(description="True when the file lived in the uploads folder and was deleted too")


class ErrorInfo(BaseModel):
    message: str
    type: str
    code: int


class ErrorOut(BaseModel):
    """`detail` as FastAPI clients expect it, `error` as OpenAI clients expect it."""

    detail: str
    error: ErrorInfo


class ChatMessageOut(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str
    citations: list[CitationOut]


class ChatChoice(BaseModel):
    index: int
    message: ChatMessageOut
    finish_reason: Literal["stop"]


class ChatCompletionOut(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    citations: list[CitationOut]
    reportqa: AnswerOut = Field(description="The full answer record, as POST /v1/ask returns it")
