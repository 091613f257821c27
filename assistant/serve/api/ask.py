"""Questions: ReportQA's own `POST /v1/ask` (JSON or server-sent events) and the OpenAI-compatible
`POST /v1/chat/completions`. Plain `def`s, so the CPU-bound pipeline runs in Starlette's thread pool."""

from __future__ import annotations

import time
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from assistant.retrieval.filters import Filters
from assistant.serve.api import sse
from assistant.serve.api.deps import QA
from assistant.serve.api.errors import errors
from assistant.serve.api.schemas import AnswerOut, AskRequest, ChatCompletionOut, ChatRequest, answer_json

router = APIRouter(prefix="/v1")


def _streamed(doc: str, events: list[str], json_data: bool) -> dict[int | str, dict[str, Any]]:
    return {200: {"description": doc, "content": {"text/event-stream": {"schema": sse.event_schema(events, json_data)}}}}


@router.post("/ask", response_model=AnswerOut, tags=["ask"], responses={
    **_streamed("The answer; " + sse.ASK_DOC, ["message", "answer", "error"], json_data=True), **errors(503)})
def ask(body: AskRequest, qa: QA,
        stream: Annotated[bool, Query(description="Stream the answer as server-sent events")] = False) -> Any:
    """Answer a question from the indexed reports, with numbered citations."""
    filters = body.filters.to_filters()
    if stream:
        items = sse.started(qa.stream(body.question, body.history, filters))
        return StreamingResponse(sse.ask_events(items), media_type="text/event-stream", headers=sse.HEADERS)
    return answer_json(qa.ask(body.question, body.history, filters))


@router.post("/chat/completions", response_model=ChatCompletionOut, tags=["openai"], responses={
    **_streamed("OpenAI chat completion; " + sse.CHAT_DOC, ["message"], json_data=False), **errors(503)})
def chat_completions(body: ChatRequest, qa: QA) -> Any:
    """OpenAI-compatible: the last user message is the question, earlier user messages the history."""
    users = [m.text().strip() for m in body.messages if m.role == "user"]  # at least one: validated
    question, history = users[-1], [u for u in users[:-1] if u]
    filters = body.filters.to_filters() if body.filters else Filters()
    model = body.model or f"reportqa-{qa.mode}"
    cid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
    if body.stream:
        items = sse.started(qa.stream(question, history, filters))
        return StreamingResponse(sse.chat_events(items, cid, created, model), media_type="text/event-stream",
                                 headers=sse.HEADERS)
    result = answer_json(qa.ask(question, history, filters))
    return {
        "id": cid, "object": "chat.completion", "created": created, "model": model,
        "choices": [{"index": 0, "finish_reason": "stop", "message": {
            "role": "assistant", "content": result["answer"], "citations": result["citations"]}}],
        "citations": result["citations"], "reportqa": result,
    }
