"""The answer chain: (question, history) -> standalone question -> retrieve -> answer -> check citations.

One pipeline for both answerers. `stream()` is the primitive (text deltas, then the final `Answer`);
`as_runnable()` exposes the same steps as a LangChain LCEL chain.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from langchain_core.runnables import Runnable, RunnableLambda

from assistant.answer import steering
from assistant.answer.answerers import NOT_MENTIONED, Answerer, ExtractiveAnswerer, LLMAnswerer, answer_kind
from assistant.answer.citations import statements, strip_invalid
from assistant.answer.composed import compose
from assistant.answer.conflicts import conflicts
from assistant.answer.followup import named_entities, named_places, resolve_followup
from assistant.answer.numbers import ledger_lines, passage_figures, unverified
from assistant.answer.outline import outline
from assistant.answer.refusals import Clarify, ambiguous_entities, ask_back, overview, refusal_text
from assistant.answer.steering import addresses_reader
from assistant.errors import EmptyIndexError, LLMError
from assistant.profiles import get_profile
from assistant.records import Answer, Citation, Figure, Passage
from assistant.retrieval.filters import Filters
from assistant.retrieval.ledger import Ledger
from assistant.retrieval.names import apply as apply_corrections
from assistant.retrieval.names import find_typos
from assistant.retrieval.normalize import normalize_question
from assistant.retrieval.places import find_places, place_levels
from assistant.retrieval.query import QueryInfo
from assistant.retrieval.retriever import HybridRetriever

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel


class AnswerPipeline:
    def __init__(self, retriever: HybridRetriever, answerer: Answerer, extractive: ExtractiveAnswerer,
                 condense_llm: BaseChatModel | None = None,
                 refusal_threshold: float = 0.55, ledger: Ledger | None = None):
        self.retriever = retriever
        self.ledger = ledger
        self.answerer = answerer
        self.extractive = extractive
        self.condense_llm = condense_llm
        self.refusal_threshold = refusal_threshold

    # --- steps ---------------------------------------------------------------------------------
    def standalone(self, question: str, history: list[str]) -> str:
        if not history:
            return question
        if self.condense_llm is not None:
            from assistant.answer.prompting import render

            try:
                out = self.condense_llm.invoke(render("condense", history="\n".join(f"用户：{h}" for h in history), question=question))
                text = str(getattr(out, "content", out)).strip().splitlines()[0].strip()
                # the rewrite must keep every entity the user named in the new question
                named = named_entities(question, self.retriever.understand(question))
                if text and all(n in text for n in named):
                    return text
            except Exception:  # noqa: BLE001 - a failing condense step falls back to the rules
                pass
        return resolve_followup(question, history, self.retriever.understand)

    def refusal_reason(self, info: QueryInfo, passages: list[Passage], filters: Filters) -> str | None:
        """Why the reports cannot answer, or None. Checked before any LLM call."""
        if not passages:
            return "no passage"
        unknown = self.unknown_places(info)
        if unknown:
            return f"not in the corpus: {'、'.join(unknown)}"
        if info.years and self.year_not_covered(info, filters) and not _stated_elsewhere(info, passages):
            return f"year not covered: {info.years}"
        cands = self.extractive.candidates(info.text, info, passages)
        if not cands:
            return "no passage sentence states it"
        if cands[0].score < self.refusal_threshold:
            return f"low relevance {cands[0].score:.2f}"
        return None

    def year_not_covered(self, info: QueryInfo, filters: Filters) -> bool:
        """True only when the reports in scope have known years and none speaks of an asked year: an unknown
        year never refuses, nor does a kind of report whose time is not modelled (a judgement, a manual)."""
        view = self.retriever.view
        scope = [cov for r in view.reports if filters.allows_report(r) and (not info.cities or r.entity in info.cities)
                 and (cov := view.coverage.get(r.report_id)) is not None]
        dated = [cov for cov in scope if cov.year is not None]
        if not dated or any(cov.open for cov in scope):
            return False
        covered = {cov.year for cov in dated} if info.about_report else set().union(*(cov.periods for cov in dated))
        return not covered & set(info.years)

    def unknown_places(self, info: QueryInfo) -> list[str]:
        """Places the question asks about that no report covers: a city or province without a report
        of its own (unless a reported city is named too), or a county the reports never mention."""
        kw = self.retriever.keyword
        levels = place_levels()
        text = info.text
        for said in sorted(info.mentions, key=len, reverse=True):
            text = text.replace(said, " ")  # 湄江 inside 湄江市西河区人民法院 is part of a name, not a place asked about
        places_are_entities = any(get_profile(r.profile).entity_is_place for r in self.retriever.view.reports)
        out = []
        for place in find_places(text):
            short = re.sub("[市省]$", "", place)
            if place in info.cities or short in info.cities:
                continue
            if levels.get(place) in ("city", "province"):
                # a city without reports of its own, in a corpus whose reports are about places
                if not info.cities and (places_are_entities or not (kw.has_term(place) or kw.has_term(short))):
                    out.append(place)
            elif not (kw.has_term(place) or kw.has_term(short)):
                out.append(place)
        return out

    # --- the pipeline ----------------------------------------------------------------------------
    def stream(self, question: str, history: list[str] | None = None, filters: Filters | None = None) -> Iterator[str | Answer]:
        t0 = time.perf_counter()
        history = [normalize_question(h) for h in (history or []) if h and h.strip()]
        filters = filters or Filters()
        question = (question or "").strip()
        typed = normalize_question(question)
        if not typed:
            yield Answer(question=question, answer="请输入问题。", refused=True, error="empty question")
            return
        self.retriever.view.refresh()
        aliases = self.retriever.view.aliases
        # earlier questions are read as corrected too: 「盘金…」 then 「一般公共预算收入呢？」 is about 盘锦
        history = [apply_corrections(h, find_typos(h, aliases)) for h in history]
        corrections = find_typos(typed, aliases)
        standalone = self.standalone(apply_corrections(typed, corrections), history)
        info, passages = self.retrieve(standalone, filters)
        notes = [f"按「{c.alias}」理解（问题中写的是「{c.typed}」）。" for c in corrections]
        yield from self.answer(question, standalone, info, passages, filters, t0, time.perf_counter(), notes)

    def retrieve(self, standalone: str, filters: Filters) -> tuple[QueryInfo, list[Passage]]:
        info = self.retriever.understand(standalone)
        if not self.retriever.view.chunks:
            raise EmptyIndexError("索引为空：请先导入报告（reportqa ingest）。")
        return info, self.retriever.retrieve(standalone, filters, info=info)

    def answer(self, question: str, standalone: str, info: QueryInfo, passages: list[Passage], filters: Filters,
               t0: float, t1: float, notes: list[str] | None = None) -> Iterator[str | Answer]:
        notes = list(notes or [])
        reason = self.refusal_reason(info, passages, filters)
        if reason is not None and (reason.startswith("no passage sentence") or reason.startswith("low relevance")):
            # no sentence answers 2022年和2024年PM2.5浓度有变化吗, the ledger's two figures do
            early = self.compose(standalone, info, passages, filters)
            if early is not None and not early[0].refused:
                yield from self.composed_answer(question, standalone, early, notes, t0, t1)
                return
        if reason is None and filters.empty and not named_places(info.text, info):
            cands = self.extractive.candidates(info.text, info, passages)
            entities = ambiguous_entities(info, cands, passages)
            if 1 < len(entities) <= 3:
                # a question several reports answer alike: answer it for each of them
                info = replace(info, cities=entities, mentions=[], compare=True)
                passages = self.retriever.retrieve(standalone, filters, info=info)
                notes.append(f"问题没有指明对象，以下分别按{'、'.join(entities)}回答。")
            elif entities:
                yield from self.asked_back(question, standalone, ask_back(entities, self.retriever.view.place_entities),
                                           passages, t0, t1, notes)
                return
        if reason and (reason.startswith("no passage sentence") or reason.startswith("low relevance")):
            ledger = self.ledger.within(filters) if self.ledger is not None else None
            vague = overview(info, [r for r in self.retriever.view.reports if filters.allows_report(r)],
                             lambda entity: ledger.find([entity]) if ledger is not None else [])
            if vague is None and not filters.empty and overview(info, self.retriever.view.reports, lambda _: []):
                vague = Clarify(f"当前筛选下没有{info.cities[0]}的报告，清除筛选后再问即可。", [], whole=True)
            if vague is not None:  # 「沈阳怎么样」: what there is about it, and what to ask
                yield from self.asked_back(question, standalone, vague, passages, t0, t1, notes)
                return
        if reason and not filters.empty:
            hidden = self.hidden_by_filter(standalone, filters)
            if hidden:
                reason, text = "hidden by filter", hidden
            else:
                text = refusal_text(reason, info, self.retriever.view.reports)
        elif reason:
            text = refusal_text(reason, info, self.retriever.view.reports)
        if reason:
            yield text
            yield Answer(
                question=question, answer=text, refused=True, standalone_question=standalone,
                related=[Citation.from_passage(n, p) for n, p in enumerate(passages[:3], start=1)],
                timings_ms=_timings(t0, t1), context=_numbered(passages), refusal_reason=reason, notes=notes,
            )
            return
        # entities the question named (not ones an ambiguous question was split into) get a figure answer
        composed = None if any("分别按" in n for n in notes) else self.compose(standalone, info, passages, filters)
        if composed is None and not isinstance(self.answerer, LLMAnswerer) and answer_kind(info.text) == "list":
            cands = self.extractive.candidates(info.text, info, passages)
            # the report announces the list (重点做好以下八个方面工作：) and its sections are the items
            composed = next((o for c in cands[:3] if (o := outline(info.text, c, passages, self.retriever.view.chunks))),
                            None)
        if composed is not None:
            yield from self.composed_answer(question, standalone, composed, notes, t0, t1)
            return
        if notes:
            yield "".join(notes) + "\n"
        parts: list[str] = []
        error = None
        llm = isinstance(self.answerer, LLMAnswerer)
        # the model reads the passages' figures, normalised, beside the passages
        stream = (self.answerer.stream(standalone, info, passages, self.figure_lines(passages))
                  if isinstance(self.answerer, LLMAnswerer) else self.answerer.stream(standalone, info, passages))
        try:
            for delta in stream:
                parts.append(delta)
                yield delta
        except Exception as exc:  # noqa: BLE001 - API errors and timeouts become a message, never a crash
            if not llm:
                raise
            error = f"大模型调用失败（{type(exc).__name__}），以下为离线抽取式答案。"
            yield ("\n\n" if parts else "") + f"⚠️ {error}\n"
            parts = []
            for delta in self.extractive.stream(standalone, info, passages):
                parts.append(delta)
                yield delta
        result = self.finish(question, standalone, "".join(parts), passages, t0, t1, error)
        if llm and error is None and not result.refused:
            result.unverified_numbers = [n.to_dict() for n in unverified(result.answer, passages)]
        if notes and not result.refused:
            prefix = "".join(notes) + "\n"
            result.answer = prefix + result.answer
            result.unverified_numbers = [{**u, "start": u["start"] + len(prefix), "end": u["end"] + len(prefix)}
                                         for u in result.unverified_numbers]
        if not result.refused and any(addresses_reader(c.text) for c in result.citations):
            notes.append(steering.NOTE)  # shown beside the answer (the chat: under it), not inside it
        if not result.refused:
            self.add_conflicts(standalone, result, passages, notes)
        result.notes = notes
        yield result

    def asked_back(self, question: str, standalone: str, clarify: Clarify, passages: list[Passage], t0: float,
                   t1: float, notes: list[str]) -> Iterator[str | Answer]:
        """A question answered with a question (which entity? what about it?), with its options."""
        text = clarify.text()
        yield text
        yield Answer(question=question, answer=text, refused=True, standalone_question=standalone,
                     timings_ms=_timings(t0, t1), context=_numbered(passages), refusal_reason="clarify",
                     clarify=clarify.to_dict(), notes=notes)

    def add_conflicts(self, question: str, result: Answer, passages: list[Passage], notes: list[str],
                      stated: list[Figure] | None = None) -> None:
        """Another report's different value for a figure the answer states: in the JSON and as a note."""
        if self.ledger is None:
            return
        try:
            found = conflicts(question, result.answer, passages, self.ledger, stated)
        except Exception:  # noqa: BLE001 - the ledger is an aid: an answer without the check still stands
            return
        result.conflicts = [c.to_dict() for c in found]
        notes.extend(c.note() for c in found)

    def figure_lines(self, passages: list[Passage]) -> list[str]:
        """The passages' ledger records for the LLM's prompt, so it reads normalised figures."""
        if self.ledger is None:
            return []
        try:
            return ledger_lines(passages, passage_figures(self.ledger, passages))
        except Exception:  # noqa: BLE001 - the ledger is an aid: without it the model reads the passages alone
            return []

    def compose(self, standalone: str, info: QueryInfo, passages: list[Passage], filters: Filters):
        """A figure answer from the ledger (offline answers; an LLM reads the passages itself), or None."""
        if self.ledger is None or isinstance(self.answerer, LLMAnswerer):
            return None
        try:
            return compose(standalone, info, passages, self.ledger.within(filters))
        except Exception:  # noqa: BLE001 - the ledger is an aid: any failure falls back to the sentences
            return None

    def composed_answer(self, question: str, standalone: str, composed, notes: list[str], t0: float,
                        t1: float) -> Iterator[str | Answer]:
        result, passages = composed
        text = ("".join(notes) + "\n" if notes else "") + result.text  # how the question was read, then the answer
        if any(addresses_reader(p.chunk.text) for p in passages if p.chunk.chunk_id in {f.chunk_id for f in result.figures}):
            notes = [*notes, steering.NOTE]  # the cited passage speaks to the reader: said beside the answer
        yield text
        cited = sorted({n for _, nums in statements(result.text) for n in nums})
        answer = Answer(
            question=question, answer=text, refused=result.refused, standalone_question=standalone,
            citations=[Citation.from_passage(n, passages[n - 1]) for n in cited], timings_ms=_timings(t0, t1),
            context=_numbered(passages), refusal_reason=result.reason, notes=notes,
            figures=[f.to_dict() for f in result.figures], series=result.series,
        )
        if not result.refused:
            self.add_conflicts(standalone, answer, passages, answer.notes, result.figures)
        yield answer

    def hidden_by_filter(self, standalone: str, filters: Filters) -> str | None:
        """The filters hide the answer: say so, and which report has it, instead of 'not in the reports'."""
        info, passages = self.retrieve(standalone, Filters())
        if self.refusal_reason(info, passages, Filters()) is not None:
            return None
        shown = "、".join([*filters.cities, *(f"{y}年的报告" for y in filters.years),
                          *(f"{y}年的数据" for y in filters.periods)]) or "所选报告"
        title = passages[0].chunk.title
        return f"当前筛选「{shown}」下没有找到；在全部报告中，《{title}》有相关内容。清除筛选后再问即可。"

    def finish(self, question: str, standalone: str, text: str, passages: list[Passage], t0: float, t1: float,
               error: str | None = None) -> Answer:
        valid = set(range(1, len(passages) + 1))
        text, _removed = strip_invalid(text, valid)
        text = text.strip()
        cited = sorted({n for _, nums in statements(text) for n in nums})
        refused = text.startswith(NOT_MENTIONED) or not text
        citations = [Citation.from_passage(n, passages[n - 1]) for n in cited]
        if refused:
            text = text or NOT_MENTIONED
        return Answer(
            question=question, answer=text, refused=refused, citations=citations, standalone_question=standalone,
            uncited=not refused and not cited, timings_ms=_timings(t0, t1), error=error,
            related=[Citation.from_passage(n, p) for n, p in enumerate(passages, start=1) if n not in cited][:3] if refused else [],
            context=_numbered(passages),
        )

    def ask(self, question: str, history: list[str] | None = None, filters: Filters | None = None) -> Answer:
        result = None
        for item in self.stream(question, history, filters):
            if isinstance(item, Answer):
                result = item
        if result is None:
            raise LLMError("the answer chain produced no result")
        return result

    def as_runnable(self) -> Runnable:
        """The same steps as an LCEL chain: {question, history, filters} -> Answer."""

        def condense(x: dict) -> dict:
            return {**x, "t0": time.perf_counter(), "standalone": self.standalone(
                normalize_question(x["question"]), [normalize_question(h) for h in x.get("history") or []])}

        def retrieve(x: dict) -> dict:
            info, passages = self.retrieve(x["standalone"], x.get("filters") or Filters())
            return {**x, "info": info, "passages": passages, "t1": time.perf_counter()}

        def answer(x: dict) -> Answer:
            steps = self.answer(x["question"], x["standalone"], x["info"], x["passages"], x.get("filters") or Filters(),
                                x["t0"], x["t1"])
            return next(item for item in steps if isinstance(item, Answer))

        return RunnableLambda(condense) | RunnableLambda(retrieve) | RunnableLambda(answer)


def _stated_elsewhere(info: QueryInfo, passages: list[Passage]) -> bool:
    """A passage from another entity's report names the entity and the year (a judgement naming a company):
    the entity's own reports not covering the year does not mean the corpus cannot answer."""
    for p in passages:
        if p.chunk.entity in info.cities:
            continue
        if any(m in p.chunk.text for m in info.mentions) and any(str(y) in p.chunk.text for y in info.years):
            return True
    return False


def _numbered(passages: list[Passage]) -> list[Citation]:
    return [Citation.from_passage(n, p) for n, p in enumerate(passages, start=1)]


def _timings(t0: float, t1: float) -> dict[str, float]:
    now = time.perf_counter()
    return {"retrieve": round((t1 - t0) * 1000, 2), "answer": round((now - t1) * 1000, 2), "total": round((now - t0) * 1000, 2)}
