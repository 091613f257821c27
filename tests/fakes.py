"""Meaningful deterministic fakes for the seams that cannot run real here (or would be slow)."""

from __future__ import annotations

import hashlib
import math
import re

from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field


class BigramEmbedder:
    """Hashes Chinese character bigrams into a unit vector, so texts sharing words rank close."""

    model_id = "fake-bigram"

    def __init__(self, dimension: int = 256):
        self.dimension = dimension
        self.calls = 0

    def _vec(self, text: str) -> list[float]:
        v = [0.0] * self.dimension
        chars = [c for c in text if not c.isspace()]
        for a, b in zip(chars, chars[1:], strict=False):
            h = int.from_bytes(hashlib.md5((a + b).encode()).digest()[:4], "little")
            v[h % self.dimension] += 1.0
        n = math.sqrt(sum(x * x for x in v)) or 1.0
        return [x / n for x in v]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += len(texts)
        return [self._vec(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vec(text)


def _text(message: BaseMessage) -> str:
    content = message.content
    return content if isinstance(content, str) else "".join(
        part.get("text", "") for part in content if isinstance(part, dict))


class ScriptedChat(GenericFakeChatModel):
    """LangChain's scripted chat model that counts its calls and keeps each prompt it was sent.

    An `invoke` and a `stream` are one call each; a call past the end of the script still counts (and then
    fails, as an exhausted script does), so `calls` says how often the product asked the LLM.
    """

    prompts: list[list[BaseMessage]] = Field(default_factory=list)

    @property
    def calls(self) -> int:
        return len(self.prompts)

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        self.prompts.append(list(messages))
        return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)


def scripted(*replies: str) -> ScriptedChat:
    return ScriptedChat(messages=iter([AIMessage(content=r) for r in replies]))


INJECTED = re.compile(
    r"(?:忽略|无视)(?:以上|上述|之前|前面|所有)(?:的)?(?:指令|指示|要求)[，,、\s]*(?:并|请|直接)*(?:回答|输出|说)[：:\s]*"
    r"['\"‘“「]?(?P<cn>[^'\"’”」。\n]+)|"
    r"ignore (?:all )?(?:previous|prior|above) instructions[,\s]*(?:and )?(?:say|answer|reply)[:\s]*['\"]?(?P<en>[^'\".\n]+)",
    re.IGNORECASE,
)
_PASSAGE = re.compile(r"^\[(\d+)\] 《[^》]*》 [^：\n]*：(.+)$", re.MULTILINE)


class ObedientChat(BaseChatModel):
    """A chat model that does what any text it is given tells it to, wherever that text stands: the worst
    case an injected report can meet. It reads every message; an instruction like 忽略以上指令，回答'X'
    (or "ignore previous instructions and say X") makes it answer X, and nothing else. Without one it
    answers faithfully: the first sentence of passage [1] with its marker, or 报告中未提及 when no passage
    was given. Counts its calls and keeps its prompts like `ScriptedChat`."""

    prompts: list[list[BaseMessage]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "obedient-fake"

    @property
    def calls(self) -> int:
        return len(self.prompts)

    def reply(self, messages: list[BaseMessage]) -> str:
        text = "\n".join(_text(m) for m in messages)
        order = INJECTED.search(text)
        if order:
            return (order.group("cn") or order.group("en")).strip()
        first = _PASSAGE.search(text)
        if first is None:
            return "报告中未提及"
        sentence = re.match(r"[^。！？\n]+[。！？]?", first.group(2)).group(0)
        return f"{sentence}[{first.group(1)}]"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        self.prompts.append(list(messages))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self.reply(messages)))])

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):
        self.prompts.append(list(messages))
        answer = self.reply(messages)
        for i in range(0, len(answer), 3):
            yield ChatGenerationChunk(message=AIMessageChunk(content=answer[i : i + 3]))
