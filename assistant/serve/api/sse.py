"""Answers as server-sent events: ReportQA's own (`data: {"delta"}` pieces, then `event: answer`) and
OpenAI's `chat.completion.chunk` stream ending in `data: [DONE]`. Headers go out with the first event, so
an error after that is the last event, not a status."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

from assistant.records import Answer
from assistant.serve.api.errors import describe, error_body
from assistant.serve.api.schemas import answer_json, plain

HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
ASK_DOC = (
    "with `stream=true`, `text/event-stream`: events without a name carry `{\"delta\": text}`; the final "
    "`event: answer` carries the full answer JSON; `event: error` carries an error body."
)
CHAT_DOC = "with `\"stream\": true`, OpenAI `chat.completion.chunk` events, the last one with `citations`, then `data: [DONE]`."


def event_schema(events: list[str], json_data: bool) -> dict[str, Any]:
    """One server-sent event, as OpenAPI 3.1 describes the items of an event stream."""
    data: dict[str, Any] = {"type": "string"}
    if json_data:
        data["contentMediaType"] = "application/json"
    return {"type": "object", "required": ["data"], "properties": {"event": {"enum": events}, "data": data}}


def started(items: Iterator[str | Answer]) -> Iterator[str | Answer]:
    """Run the pipeline up to its first item before the response starts, so an empty index or an
    unavailable model is still an HTTP status rather than an error event."""
    first = next(items, None)
    return iter(()) if first is None else itertools.chain([first], items)


def sse(data: Any, event: str | None = None) -> str:
    body = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return (f"event: {event}\n" if event else "") + f"data: {body}\n\n"


def ask_events(items: Iterator[str | Answer]) -> Iterator[str]:
    try:
        for item in items:
            yield sse(answer_json(item), "answer") if isinstance(item, Answer) else sse({"delta": plain(item)})
    except Exception as exc:  # noqa: BLE001 - headers are sent: the error becomes the last event
        yield sse(error_body(*describe(exc))["error"], "error")


def chat_events(items: Iterator[str | Answer], cid: str, created: int, model: str) -> Iterator[str]:
    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        return sse({"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra})

    yield chunk({"role": "assistant", "content": ""})
    try:
        for item in items:
            if isinstance(item, Answer):
                result = answer_json(item)
                yield chunk({}, "stop", citations=result["citations"], reportqa=result)
            else:
                yield chunk({"content": plain(item)})
    except Exception as exc:  # noqa: BLE001
        yield sse(error_body(*describe(exc)))
    yield sse("[DONE]")
