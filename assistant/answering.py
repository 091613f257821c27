"""Answerers behind one small interface: extractive (offline, default) and an OpenAI-compatible LLM.

Both see the same numbered passages and must put `[n]` after every statement.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from assistant.citations import marker
from assistant.query import QueryInfo
from assistant.records import Passage
from assistant.terms import question_terms, sentences, term_cover, term_weights

REFUSAL = "在已收录的报告中没有找到相关内容。"
NOT_MENTIONED = "报告中未提及"

_PERCENT = re.compile(r"\d+(?:\.\d+)?\s*[%％]|百分点")
_AMOUNT = re.compile(r"\d+(?:\.\d+)?\s*(?:万亿|亿|万)?元|\d+(?:\.\d+)?\s*(?:万亿|亿)")
_COUNT = re.compile(r"\d+(?:\.\d+)?\s*(?:万)?(?:个|家|项|件|所|座|户|人|名|条|公里|千米|平方公里|亩|吨|次|场|套|辆|天|张|台|批|处|间|类|米)")
_DATE = re.compile(r"\d{4}年\d{1,2}月\d{1,2}日|\d{1,2}月\d{1,2}日")
_NUMBER = re.compile(r"\d")


class Answerer(Protocol):
    name: str

    def stream(self, question: str, info: QueryInfo, passages: list[Passage]) -> Iterator[str]: ...


def answer_kind(question: str) -> str:
    if re.search(r"什么时候|何时|哪一?天|日期|几月几日|哪年哪月", question):
        return "date"
    if re.search(r"哪些|哪几|有几项|几项|几个方面|包括什么|包括哪|都有什么|列举|主要有", question):
        return "list"
    if re.search(r"增长多少|增速|增幅|涨了多少|降了多少|下降多少|多少个百分点|百分之|占比|比重|率是|率为|率多少|增长率|增长几", question):
        return "percent"
    if re.search(r"多少(亿|万)?元|多少亿(?![吨亩人])|金额|多少钱|资金(是|有)?多少|(收入|支出|投资|总额|规模|产值)(是|有|达到|完成)?了?多少(?![个家项人亩吨])", question):
        return "amount"
    if re.search(r"多少|几|数量", question):
        return "count"
    if re.search(r"谁|哪个(部门|单位|会议)|什么会议|哪次会议|届", question):
        return "name"
    return "any"


@dataclass
class Candidate:
    n: int  # passage number (1-based)
    text: str
    score: float
    coverage: float
    side: str | None


class ExtractiveAnswerer:
    """Chooses the passage sentences that answer the question and copies them verbatim with `[n]`."""

    name = "extractive"

    def __init__(self, tokenize, min_score: float = 0.35, min_coverage: float = 0.4):
        self.tokenize = tokenize
        self.min_score = min_score
        self.min_coverage = min_coverage

    def candidates(self, question: str, info: QueryInfo, passages: list[Passage]) -> list[Candidate]:
        kind = answer_kind(question)
        terms = question_terms(question, self.tokenize, info.cities)
        weights = term_weights(terms)
        total = sum(weights.values()) or 1
        out: list[Candidate] = []
        for n, p in enumerate(passages, start=1):
            if not _fits_time(p, info):
                continue
            prior = 1.0 / (1 + 0.15 * (n - 1))
            header = f"{p.chunk.title}{p.chunk.section_path}"
            for sent in sentences(p.chunk.text):
                if len(sent) < 6:
                    continue
                covered = sum(w * term_cover(t, sent) for t, w in weights.items())
                context = sum(w for t, w in weights.items() if t not in sent and t in header)
                coverage = (covered + 0.3 * context) / total
                fit = _kind_fit(kind, sent)
                opening = info.about_report and p.chunk.ordinal == 0  # date line, meeting and speaker live here
                if (kind in ("percent", "amount", "date") and fit == 0) or (coverage < self.min_coverage and not opening):
                    continue  # a statement without the kind of figure asked for, or off-topic, answers nothing
                side = _side(p, info)
                meta = 0.0
                if info.cities and p.chunk.city in info.cities:
                    meta += 0.1
                if info.years and p.chunk.period in info.years:
                    meta += 0.1
                brevity = 0.3 * min(max(len(sent) - 40, 0), 260) / 260  # equal coverage: the shorter statement wins
                score = (coverage + 0.35 * fit + meta - brevity) * prior
                out.append(Candidate(n, sent, score, coverage, side))
        return sorted(out, key=lambda c: -c.score)

    def stream(self, question: str, info: QueryInfo, passages: list[Passage]) -> Iterator[str]:
        cands = self.candidates(question, info, passages)
        if not cands or cands[0].score < self.min_score:
            yield NOT_MENTIONED
            return
        kind = answer_kind(question)
        chosen: list[Candidate] = []
        if info.compare and (len(info.cities) > 1 or len(info.years) > 1):
            sides = info.cities if len(info.cities) > 1 else [str(y) for y in info.years]
            for side in sides:
                best = next((c for c in cands if c.side == side), None)
                if best and best.text not in {c.text for c in chosen}:
                    chosen.append(best)
        if not chosen:
            limit = 3 if kind == "list" else 2
            top = cands[0]
            chosen.append(top)
            for c in cands[1:]:
                if len(chosen) >= limit:
                    break
                if any(c.text in x.text or x.text in c.text for x in chosen) or c.score < top.score * 0.8:
                    continue  # an overlapping window of a statement already chosen adds nothing
                chosen.append(c)
        multi_side = info.compare and len(chosen) > 1
        for i, c in enumerate(chosen):
            prefix = f"{c.side}：" if multi_side and c.side else ""
            sep = "\n" if i else ""
            yield f"{sep}{prefix}{c.text}{marker(c.n)}"


def _fits_time(p: Passage, info: QueryInfo) -> bool:
    """A figure of another year never answers: the passage's period must be one the question asks
    about (or unknown), and a result is not read from a plan nor a target from a review."""
    c = p.chunk
    if not info.years or info.about_report:
        return not info.about_report or not info.years or c.year in info.years or c.year is None
    if c.period is None:
        return True
    if c.period not in info.years:
        return False
    if info.intent == "result" and c.year == c.period:
        return False
    if info.intent == "target" and c.year is not None and c.year > c.period:
        return False
    return True


def _kind_fit(kind: str, sent: str) -> float:
    if kind == "percent":
        return 1.0 if _PERCENT.search(sent) else 0.0
    if kind == "amount":
        return 1.0 if _AMOUNT.search(sent) else 0.0
    if kind == "count":
        return 1.0 if _COUNT.search(sent) else (0.5 if _NUMBER.search(sent) else 0.0)
    if kind == "date":
        return 1.0 if _DATE.search(sent) else 0.0
    if kind == "list":
        return min(1.0, (sent.count("、") + sent.count("，") + sent.count(",")) / 4)
    return 0.5 if _NUMBER.search(sent) else 0.0


def _side(p: Passage, info: QueryInfo) -> str | None:
    if len(info.cities) > 1:
        return p.chunk.city if p.chunk.city in info.cities else None
    if len(info.years) > 1:
        for y in info.years:
            if p.chunk.period == y:
                return str(y)
        return None
    return None


class LLMAnswerer:
    """Any OpenAI-compatible chat model (a LangChain BaseChatModel), streaming tokens."""

    name = "llm"

    def __init__(self, llm):
        self.llm = llm

    def messages(self, question: str, passages: list[Passage]):
        from langchain_core.messages import HumanMessage, SystemMessage

        from assistant.prompting import load_prompt, render

        blocks = "\n\n".join(
            _fenced(f"[{n}] 《{p.chunk.title}》 {p.chunk.section_path or '开篇'}：{p.chunk.text}")
            for n, p in enumerate(passages, start=1)
        )
        return [SystemMessage(load_prompt("system")), HumanMessage(render("answer", passages=blocks, question=question))]

    def stream(self, question: str, info: QueryInfo, passages: list[Passage]) -> Iterator[str]:
        for chunk in self.llm.stream(self.messages(question, passages)):
            text = chunk.content if isinstance(chunk.content, str) else "".join(
                part.get("text", "") for part in chunk.content if isinstance(part, dict)
            )
            if text:
                yield text


def _fenced(text: str) -> str:
    """Report text cannot close or reopen the <passages> fence (a report may contain the tags)."""
    return re.sub(r"<(/?)\s*passages\s*>", lambda m: f"＜{m.group(1)}passages＞", text, flags=re.IGNORECASE)


def build_llm(settings):
    """ChatOpenAI against the configured OpenAI-compatible endpoint; the key comes from the environment."""
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        base_url=settings.llm_base_url, model=settings.llm_model,
        api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else "not-needed",
        timeout=settings.llm_timeout, temperature=settings.llm_temperature, max_retries=1, streaming=True,
    )
