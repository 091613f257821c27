"""The optional reranker seam, and the LLM path over HTTP against an OpenAI-compatible server on loopback."""

from __future__ import annotations

import json
import threading
import time

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import SecretStr

from assistant.answer.answerers import build_llm
from assistant.errors import ModelUnavailableError
from assistant.qa import ReportQA
from tests.builders import free_port
from tests.fakes import BigramEmbedder
from vectorstore.rerank import build_reranker


class PreferCity:
    """A reranker that scores passages mentioning 沈阳 first: the order it returns must win."""

    def predict(self, pairs):
        return [1.0 if "沈阳" in text else 0.0 for _, text in pairs]


@pytest.fixture(scope="module")
def corpus_settings(sample_index):
    return sample_index


def test_reranker_reorders(corpus_settings):
    plain = ReportQA(corpus_settings, BigramEmbedder()).search("地区生产总值增长")
    reranked = ReportQA(corpus_settings, BigramEmbedder(), reranker=PreferCity()).search("地区生产总值增长")
    assert "沈阳" in reranked[0].chunk.text
    assert [p.chunk.chunk_id for p in plain] != [p.chunk.chunk_id for p in reranked]


def test_missing_reranker_is_a_clear_error():
    assert build_reranker(None) is None
    with pytest.raises(ModelUnavailableError, match="REPORTQA_RERANKER_MODEL"):
        build_reranker("no-such/cross-encoder")


def fake_openai_server(reply: str, seen: list[dict]) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def completions(request: Request):
        body = await request.json()
        seen.append({"body": body, "auth": request.headers.get("authorization")})
        if not body.get("stream"):
            return JSONResponse({"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                                 "choices": [{"index": 0, "finish_reason": "stop",
                                              "message": {"role": "assistant", "content": reply}}]})

        def events():
            for piece in [reply[i : i + 4] for i in range(0, len(reply), 4)]:
                chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": body["model"],
                         "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
                yield f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return app


@pytest.fixture
def llm_server():
    seen: list[dict] = []
    port = free_port()
    config = uvicorn.Config(fake_openai_server("沈阳2024年地区生产总值预期增长6%以上[1][9]。", seen), host="127.0.0.1",
                            port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/v1", seen
    server.should_exit = True
    thread.join(timeout=5)


def test_llm_over_http_streams_with_key_and_citations(corpus_settings, llm_server):
    url, seen = llm_server
    settings = corpus_settings.model_copy(update={"llm_base_url": url, "llm_model": "test-model",
                                                  "llm_api_key": SecretStr("sk-test")})
    qa = ReportQA(settings, BigramEmbedder(), llm=build_llm(settings))
    items = list(qa.stream("沈阳2024年地区生产总值增长目标是多少？"))
    deltas = [i for i in items if isinstance(i, str)]
    final = items[-1]
    assert len(deltas) > 3  # real token streaming
    assert final.answer == "沈阳2024年地区生产总值预期增长6%以上[1]。" and [c.n for c in final.citations] == [1]
    assert seen and seen[-1]["auth"] == "Bearer sk-test" and seen[-1]["body"]["model"] == "test-model"
    system = seen[-1]["body"]["messages"][0]["content"]
    assert "<passages>" in seen[-1]["body"]["messages"][1]["content"] and "指令" in system


def test_unreachable_llm_falls_back(corpus_settings):
    port = free_port()
    settings = corpus_settings.model_copy(update={"llm_base_url": f"http://127.0.0.1:{port}/v1", "llm_timeout": 2.0})
    qa = ReportQA(settings, BigramEmbedder(), llm=build_llm(settings))
    ans = qa.ask("沈阳2024年地区生产总值增长目标是多少？")
    assert ans.error and ans.citations and "6%以上" in ans.answer
