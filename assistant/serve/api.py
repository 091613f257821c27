"""The HTTP API beside the chat UI: ask (JSON or server-sent events), manage reports, an
OpenAI-compatible chat endpoint and a health check, over the one shared `ReportQA`.

This is an edge: library errors become HTTP statuses with a JSON body here and nowhere else.
Handlers are plain `def`s, so the CPU-bound pipeline runs in Starlette's thread pool.
"""

from __future__ import annotations

import html
import itertools
import json
import logging
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, File, Query, Request, Security, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, StreamingResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from starlette.exceptions import HTTPException

from assistant.errors import (
    EmptyIndexError,
    IngestError,
    LLMError,
    ModelUnavailableError,
    ReportQAError,
    StoreError,
)
from assistant.ingest.loading import supported_suffixes
from assistant.ingest.metadata import normalize_city
from assistant.records import Answer
from assistant.retrieval.retriever import Filters
from assistant.serve.security import Guard, allowed_hosts
from assistant.serve.uploads import UPLOAD_DIR, Stored, discard_new, safe_name, store

log = logging.getLogger(__name__)

MAX_FILES_PER_UPLOAD = 20
_STATUS = {EmptyIndexError: 503, ModelUnavailableError: 503, LLMError: 503, IngestError: 400}

Text = Annotated[str, Field(max_length=4000)]
Name = Annotated[str, Field(min_length=1, max_length=64)]


# --- request and response models (the OpenAPI schema) -------------------------------------------
class FiltersIn(BaseModel):
    """Empty lists mean no restriction; city names may carry the 市 suffix."""

    cities: list[Name] = Field(default_factory=list, max_length=50)
    years: list[Annotated[int, Field(ge=1949, le=2100)]] = Field(default_factory=list, max_length=50)
    report_ids: list[Name] = Field(default_factory=list, max_length=200)
    periods: list[Annotated[int, Field(ge=1949, le=2100)]] = Field(
        default_factory=list, max_length=50, description="Years the figures are about (a section's period); "
                                                         "`years` is the year a report was delivered")

    def to_filters(self) -> Filters:
        return Filters(cities=[normalize_city(c.strip()) for c in self.cities], years=list(self.years),
                       report_ids=list(self.report_ids), periods=list(self.periods))


class AskRequest(BaseModel):
    question: str = Field(min_length=1, max_length=2000, examples=["济南2023年一般公共预算收入完成了多少亿元？"])
    history: list[Text] = Field(default_factory=list, max_length=50, description="Earlier questions, oldest first")
    filters: FiltersIn = Field(default_factory=FiltersIn)


class CitationOut(BaseModel):
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


class AnswerOut(BaseModel):
    """Exactly `Answer.to_dict()`, the JSON of `reportqa ask --json` (a test keeps the two in step;
    unknown keys pass through rather than being cut)."""

    model_config = ConfigDict(extra="allow")
    question: str
    answer: str
    refused: bool
    citations: list[CitationOut]
    timings_ms: dict[str, float]
    standalone_question: str | None
    uncited: bool
    related: list[CitationOut]
    error: str | None
    context: list[CitationOut]
    refusal_reason: str | None = Field(None, description="Why the reports cannot answer, when refused")
    clarify: dict[str, Any] | None = Field(
        None, description="When the question fits several entities alike: {question, options} to ask back")
    notes: list[str] = Field(default_factory=list, description="How the question was read (a name typo fixed …)")


class ReportOut(BaseModel):
    report_id: str
    source: str
    title: str
    city: str | None
    year: int | None
    date: str | None
    meeting: str | None
    type: str
    speaker: str | None
    start: int
    end: int
    title_inferred: bool = False
    entity: str | None = Field(None, description="The city, company, court … the report is about")
    profile: str = Field("generic", description="Report profile it was read with: gov, company, generic …")
    aliases: list[str] = Field(default_factory=list, description="Other names the report gives its entity (证券简称 …)")


class ReportsOut(BaseModel):
    count: int
    reports: list[ReportOut]


class FileOutcomeOut(BaseModel):
    source: str
    status: Literal["indexed", "unchanged", "duplicate", "removed", "error"]
    reports: int = 0
    chunks: int = 0
    embedded: int = 0
    message: str = ""
    report_ids: list[str] = Field(default_factory=list)


class UploadOut(BaseModel):
    files: list[FileOutcomeOut]
    seconds: float


class DeleteOut(BaseModel):
    report_id: str
    source: str
    removed_report_ids: list[str] = Field(description="Every report of the removed file (a file may hold several)")
    file_deleted: bool = Field(description="True when the file lived in the uploads folder and was deleted too")


class HealthOut(BaseModel):
    status: Literal["ok"]
    reports: int
    chunks: int
    backend: str
    mode: str
    embedding_model: str


class ErrorInfo(BaseModel):
    message: str
    type: str
    code: int


class ErrorOut(BaseModel):
    """`detail` as FastAPI clients expect it, `error` as OpenAI clients expect it."""

    detail: str
    error: ErrorInfo


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


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {c: {"model": ErrorOut} for c in codes}


def _sse_event_schema(events: list[str], json_data: bool) -> dict[str, Any]:
    """One server-sent event, as OpenAPI 3.1 describes the items of an event stream."""
    data: dict[str, Any] = {"type": "string"}
    if json_data:
        data["contentMediaType"] = "application/json"
    return {"type": "object", "required": ["data"], "properties": {"event": {"enum": events}, "data": data}}


SSE_ASK = (
    "with `stream=true`, `text/event-stream`: events without a name carry `{\"delta\": text}`; the final "
    "`event: answer` carries the full answer JSON; `event: error` carries an error body."
)
SSE_CHAT = "with `\"stream\": true`, OpenAI `chat.completion.chunk` events, the last one with `citations`, then `data: [DONE]`."


# --- the app --------------------------------------------------------------------------------------
def create_api(qa, settings=None) -> FastAPI:
    """A FastAPI app over one shared `ReportQA`; mount the UI beside it (see `assistant.serve.server`)."""
    settings = settings or qa.settings
    api_key = settings.api_key.get_secret_value() if settings.api_key else None
    everywhere = settings.api_key_scope == "all"
    closed_docs = bool(api_key) and everywhere  # with a key on every endpoint, the schema and docs need it too
    app = FastAPI(
        title="ReportQA 报告问答 API",
        version="1",
        description="Questions about long Chinese reports, answered with cited passages.",
        docs_url=None if closed_docs else "/docs", redoc_url=None if closed_docs else "/redoc",
        openapi_url=None if closed_docs else "/openapi.json",
    )
    key = [Depends(_key_check(api_key))] if api_key else []
    if closed_docs:
        _docs_behind(app, key)
    router = APIRouter(prefix="/v1", dependencies=key if everywhere else [],
                       responses=_errors(400, 401) if api_key and everywhere else _errors(400))
    write_key = {} if everywhere or not api_key else {"dependencies": key}  # scope "write": upload and delete only
    write_errors = _errors(401) if write_key else {}
    max_bytes = int(settings.max_file_mb * 1024 * 1024)
    uploads = Path(settings.data_dir) / UPLOAD_DIR

    @app.get("/healthz", response_model=HealthOut, responses=_errors(503), tags=["health"])
    def healthz() -> dict[str, Any]:
        """Liveness and index size; never needs an API key."""
        try:
            st = qa.status()
        except Exception as exc:  # noqa: BLE001 - a health check reports, never raises
            raise HTTPException(503, f"index unavailable: {type(exc).__name__}: {exc}") from None
        return {"status": "ok", "reports": st["reports"], "chunks": st["chunks"], "backend": st["backend"],
                "mode": st["mode"], "embedding_model": st["embedding_model"]}

    @router.post("/ask", response_model=AnswerOut, responses={
        200: {"description": "The answer; " + SSE_ASK, "content": {"text/event-stream": {"schema": _sse_event_schema(["message", "answer", "error"], json_data=True)}}},
        **_errors(503)}, tags=["ask"])
    def ask(body: AskRequest, stream: Annotated[bool, Query(description="Stream the answer as server-sent events")] = False) -> Any:
        """Answer a question from the indexed reports, with numbered citations."""
        filters = body.filters.to_filters()
        if stream:
            items = _started(qa.stream(body.question, body.history, filters))
            return StreamingResponse(_ask_events(items), media_type="text/event-stream", headers=_SSE_HEADERS)
        return _out(qa.ask(body.question, body.history, filters))

    @router.post("/chat/completions", response_model=ChatCompletionOut, responses={
        200: {"description": "OpenAI chat completion; " + SSE_CHAT, "content": {"text/event-stream": {"schema": _sse_event_schema(["message"], json_data=False)}}},
        **_errors(503)}, tags=["openai"])
    def chat_completions(body: ChatRequest) -> Any:
        """OpenAI-compatible: the last user message is the question, earlier user messages the history."""
        users = [m.text().strip() for m in body.messages if m.role == "user"]  # at least one: validated
        question, history = users[-1], [u for u in users[:-1] if u]
        filters = body.filters.to_filters() if body.filters else Filters()
        model = body.model or f"reportqa-{qa.mode}"
        cid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
        if body.stream:
            items = _started(qa.stream(question, history, filters))
            return StreamingResponse(_chat_events(items, cid, created, model), media_type="text/event-stream",
                                     headers=_SSE_HEADERS)
        result = _out(qa.ask(question, history, filters))
        return {
            "id": cid, "object": "chat.completion", "created": created, "model": model,
            "choices": [{"index": 0, "finish_reason": "stop", "message": {
                "role": "assistant", "content": result["answer"], "citations": result["citations"]}}],
            "citations": result["citations"], "reportqa": result,
        }

    @router.get("/reports", response_model=ReportsOut, responses=_errors(503), tags=["reports"])
    def list_reports() -> dict[str, Any]:
        """Every indexed report (a file may hold several)."""
        reports = [r.to_dict() for r in qa.reports()]
        return {"count": len(reports), "reports": reports}

    @router.post("/reports", response_model=UploadOut, responses={**_errors(413, 503), **write_errors}, tags=["reports"],
                 **write_key)
    def upload_reports(
        files: Annotated[list[UploadFile], File(min_length=1, max_length=MAX_FILES_PER_UPLOAD,
                                                description=f"Report files ({', '.join(supported_suffixes())})")],
    ) -> dict[str, Any]:
        """Save the files under data_dir/uploads (sanitised names) and ingest them; one outcome per file,
        in upload order. A file over the size limit fails the whole upload (413) before anything is written."""
        named: dict[str, UploadFile] = {}
        order: list[str | dict[str, Any]] = []  # a stored source, or the outcome of a file refused by name
        for f in files:
            try:
                name = safe_name(f.filename)
            except ValueError as exc:
                order.append(_refused(f.filename, str(exc)))
                continue
            if name in named:
                order.append(_refused(f.filename, f"another file in this upload is also named {name}"))
                continue
            size = f.size if f.size is not None else len(f.file.read())
            if size > max_bytes:
                raise HTTPException(413, f"{name}: {size / 1e6:.2f} MB, over the limit of "
                                         f"{settings.max_file_mb:g} MB (REPORTQA_MAX_FILE_MB)")
            named[name] = f
            order.append(f"{UPLOAD_DIR}/{name}")
        saved: list[Stored] = []
        for name, f in named.items():
            f.file.seek(0)
            saved.append(store(uploads, name, f.file.read()))
        as_source = {name: f"{UPLOAD_DIR}/{s.path.name}" for name, s in zip(named, saved, strict=True)}
        order = [as_source.get(x.removeprefix(f"{UPLOAD_DIR}/"), x) if isinstance(x, str) else x for x in order]
        paths = [s.path for s in saved]
        t0 = time.perf_counter()
        summary = qa.ingest(paths) if paths else None
        ids: dict[str, list[str]] = {}
        for r in qa.reports() if paths else []:
            ids.setdefault(r.source, []).append(r.report_id)
        outcomes: dict[str, dict[str, Any]] = {}
        failed: set[Path] = set()
        for o in summary.outcomes if summary else []:
            if o.status in ("error", "duplicate"):
                failed.add(Path(settings.data_dir) / o.source)  # keep uploads/ to what is indexed
            outcomes[o.source] = {**asdict(o), "report_ids": ids.get(o.source, []) if o.status in ("indexed", "unchanged") else []}
        discard_new(saved, failed)
        missing = {"status": "error", "message": "the ingest reported nothing for this file"}
        return {"files": [outcomes.get(x, {"source": x, **missing}) if isinstance(x, str) else x for x in order],
                "seconds": round(time.perf_counter() - t0, 3)}

    @router.delete("/reports/{report_id}", response_model=DeleteOut, responses={**_errors(404, 503), **write_errors},
                   tags=["reports"], **write_key)
    def delete_report(report_id: str) -> dict[str, Any]:
        """Remove the file holding this report from the index (with the file's other reports)."""
        reports = qa.reports()
        match = next((r for r in reports if r.report_id == report_id), None)
        if match is None:
            raise HTTPException(404, f"no report with id {report_id!r}")
        path = (Path(settings.data_dir) / match.source).resolve()
        deleted = path.parent == uploads.resolve() and path.is_file()
        qa.remove(match.source, path if deleted else None)
        return {"report_id": report_id, "source": match.source, "file_deleted": deleted,
                "removed_report_ids": [r.report_id for r in reports if r.source == match.source]}

    app.include_router(router)
    _install_error_handlers(app)
    _drop_422(app)
    app.add_middleware(Guard, hosts=allowed_hosts(settings.host, settings.allowed_hosts), origins=settings.allowed_origins,
                       upload_limit=int(settings.max_upload_mb * 1024 * 1024))
    return app


def add_root_redirect(app: FastAPI) -> None:
    """Without the chat UI, `/` points at the interactive API docs."""
    app.add_api_route("/", lambda: RedirectResponse("/docs"), include_in_schema=False)


# --- helpers -----------------------------------------------------------------------------------------
def _refused(filename: str | None, message: str) -> dict[str, Any]:
    return {"source": filename or "(no name)", "status": "error", "message": message}


_BEARER = HTTPBearer(auto_error=False, description="Authorization: Bearer <REPORTQA_API_KEY>")
_KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False, description="X-API-Key: <REPORTQA_API_KEY>")


class FailedKeys:
    """Wrong keys per client address in a sliding window: past the limit, the client waits (429), so a key
    cannot be guessed at HTTP speed."""

    def __init__(self, limit: int = 10, window_s: float = 60.0):
        self.limit, self.window_s = limit, window_s
        self._seen: dict[str, list[float]] = {}

    def _recent(self, who: str, now: float) -> list[float]:
        times = [t for t in self._seen.get(who, []) if now - t < self.window_s]
        self._seen[who] = times
        return times

    def blocked(self, who: str) -> bool:
        return len(self._recent(who, time.monotonic())) >= self.limit

    def failed(self, who: str) -> None:
        self._recent(who, time.monotonic()).append(time.monotonic())
        if len(self._seen) > 10_000:  # bounded: forget the quiet ones
            self._seen = {k: v for k, v in self._seen.items() if v}


def _key_check(expected: str, failures: FailedKeys | None = None):
    failures = failures or FailedKeys()

    def check(request: Request, cred: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)] = None,
              key: Annotated[str | None, Security(_KEY_HEADER)] = None) -> None:
        who = request.client.host if request.client else "?"
        if failures.blocked(who):
            raise HTTPException(429, "too many wrong API keys from this address; wait a minute",
                                headers={"Retry-After": str(int(failures.window_s))})
        given = cred.credentials if cred else key
        if not given or not secrets.compare_digest(given.encode(), expected.encode()):
            if given:
                failures.failed(who)
            raise HTTPException(401, "missing or wrong API key (Authorization: Bearer <key> or X-API-Key)",
                                headers={"WWW-Authenticate": "Bearer"})

    return check


def _docs_behind(app: FastAPI, key: list) -> None:
    """The schema and the interactive docs, served only with the key (a browser can send it as X-API-Key
    through a header extension, or as the Bearer token curl sends)."""
    from fastapi.openapi.docs import get_swagger_ui_html

    app.add_api_route("/openapi.json", lambda: JSONResponse(app.openapi()), dependencies=key, include_in_schema=False)
    app.add_api_route("/docs", lambda: get_swagger_ui_html(openapi_url="/openapi.json", title=app.title),
                      dependencies=key, include_in_schema=False)


def plain(text: str) -> str:
    """Answer text as plain text for any client: HTML from a report escaped, Markdown images and links
    broken, so a client that renders Markdown neither loads `![](http://…)` nor runs `<img onerror>`."""
    return html.escape(text, quote=False).replace("![", "!\\[").replace("](", "]\\(")


def _out(answer: Answer) -> dict[str, Any]:
    result = answer.to_dict()
    result["answer"] = plain(result["answer"])
    return result


def _started(items: Iterator[str | Answer]) -> Iterator[str | Answer]:
    """Run the pipeline up to its first item before the response starts, so an empty index or an
    unavailable model is still an HTTP status rather than an error event."""
    first = next(items, None)
    return iter(()) if first is None else itertools.chain([first], items)


_SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def _sse(data: Any, event: str | None = None) -> str:
    body = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return (f"event: {event}\n" if event else "") + f"data: {body}\n\n"


def _ask_events(items: Iterator[str | Answer]) -> Iterator[str]:
    try:
        for item in items:
            yield _sse(_out(item), "answer") if isinstance(item, Answer) else _sse({"delta": plain(item)})
    except Exception as exc:  # noqa: BLE001 - headers are sent: the error becomes the last event
        status, message = _describe(exc)
        yield _sse(_error_body(status, message)["error"], "error")


def _chat_events(items: Iterator[str | Answer], cid: str, created: int, model: str) -> Iterator[str]:
    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        return _sse({"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                     "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra})

    yield chunk({"role": "assistant", "content": ""})
    try:
        for item in items:
            if isinstance(item, Answer):
                result = _out(item)
                yield chunk({}, "stop", citations=result["citations"], reportqa=result)
            else:
                yield chunk({"content": plain(item)})
    except Exception as exc:  # noqa: BLE001
        status, message = _describe(exc)
        yield _sse(_error_body(status, message))
    yield _sse("[DONE]")


def _describe(exc: Exception) -> tuple[int, str]:
    for cls, status in _STATUS.items():
        if isinstance(exc, cls):
            return status, str(exc)
    if isinstance(exc, ReportQAError | StoreError):
        return 400, str(exc)
    log.exception("unexpected error in the API", exc_info=exc)
    return 500, f"internal error ({type(exc).__name__})"


_TYPES = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
          413: "request_too_large", 503: "service_unavailable"}


def _error_body(status: int, message: str) -> dict[str, Any]:
    return {"detail": message, "error": {"message": message, "type": _TYPES.get(status, "server_error"), "code": status}}


def _install_error_handlers(app: FastAPI) -> None:
    def respond(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse(_error_body(status, message), status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def bad_request(_request, exc: RequestValidationError) -> JSONResponse:
        parts = [f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'body'}: {e.get('msg', '')}"
                 for e in exc.errors()]
        return respond(400, "; ".join(parts) or "invalid request")

    @app.exception_handler(HTTPException)
    async def http_error(_request, exc: HTTPException) -> JSONResponse:
        return respond(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(ReportQAError)
    @app.exception_handler(StoreError)
    async def library_error(_request, exc: Exception) -> JSONResponse:
        return respond(*_describe(exc))

    @app.exception_handler(Exception)
    async def unexpected(_request, exc: Exception) -> JSONResponse:
        return respond(*_describe(exc))


def _drop_422(app: FastAPI) -> None:
    """Validation errors are 400 here (see the handler), so the schema must not promise FastAPI's 422."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    operation.get("responses", {}).pop("422", None)
            for name in ("HTTPValidationError", "ValidationError"):
                schema.get("components", {}).get("schemas", {}).pop(name, None)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
