"""Hybrid retrieval: dense (Chroma) + BM25 (jieba), fused by reciprocal rank, metadata-aware.

Only committed chunks are visible: a chunk whose file hash differs from the manifest's is skipped.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever

from assistant.backends import ReportStore
from assistant.profiles import get_profile
from assistant.records import Chunk, Passage, Report
from assistant.retrieval.places import place_names
from assistant.retrieval.query import QueryInfo, sub_queries, understand
from assistant.retrieval.terms import question_terms, sentence_match, term_weights
from assistant.settings import Settings
from vectorstore.keyword import KeywordIndex


@dataclass
class Filters:
    """Caller filters (chat UI, API): empty means no restriction. `cities` are entity names (the city of a
    government report, the company of an annual report …); the API keeps the name `cities`."""

    cities: list[str] = field(default_factory=list)
    years: list[int] = field(default_factory=list)  # 报告年份: the year a report was delivered
    report_ids: list[str] = field(default_factory=list)
    periods: list[int] = field(default_factory=list)  # 数据年份: the year a passage's figures are about

    def allows(self, c: Chunk) -> bool:
        return (
            (not self.cities or c.entity in self.cities)
            and (not self.years or c.year in self.years)
            and (not self.report_ids or c.report_id in self.report_ids)
            and (not self.periods or c.period in self.periods)
        )

    def allows_report(self, r: Report) -> bool:
        return ((not self.cities or r.entity in self.cities) and (not self.years or r.year in self.years)
                and (not self.report_ids or r.report_id in self.report_ids))

    def where(self) -> dict[str, Any] | None:
        clauses: list[dict[str, Any]] = []
        if self.cities:
            clauses.append({"entity": {"$in": list(self.cities)}})
        if self.years:
            clauses.append({"year": {"$in": [int(y) for y in self.years]}})
        if self.report_ids:
            clauses.append({"report_id": {"$in": list(self.report_ids)}})
        if self.periods:
            clauses.append({"period": {"$in": [int(y) for y in self.periods]}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    @property
    def empty(self) -> bool:
        return not (self.cities or self.years or self.report_ids or self.periods)


@dataclass(frozen=True)
class Coverage:
    """Which years one report can answer for, computed once per refresh (not per question)."""

    entity: str | None
    year: int | None
    periods: frozenset[int]  # years its sections speak of, and those its profile says it also states
    open: bool  # its profile does not model time (judgements, manuals …): any year may be in it

    @classmethod
    def of(cls, r: Report, chunks: list[Chunk]) -> Coverage:
        rule = get_profile(r.profile).time
        periods = {c.period for c in chunks if c.period is not None}
        if rule.report_period == "sections" and r.year is not None:
            periods.add(r.year)  # a report of Y always sets out Y's plans, whatever its headings say
        periods |= {p + off for p in list(periods) for off in rule.also_covers}
        if rule.report_period != "none":
            periods |= {int(y) for y in re.findall(r"((?:19|20)\d{2})年", r.title)}  # 关于…2023年度…的审计工作报告
        return cls(r.entity, r.year, frozenset(periods), rule.report_period == "none")


def entity_aliases(reports: list[Report]) -> dict[str, str]:
    """What a question may call each entity -> the entity: the name itself, and for organisations the name
    without its legal suffix and that name's leading parts (澜川新能源科技股份有限公司: 澜川新能源科技, 澜川新能源,
    澜川 …). A form two entities share, or that is a place name, names neither."""
    forms: dict[str, set[str]] = {}
    places = place_names()
    for r in reports:
        if not r.entity:
            continue
        forms.setdefault(r.entity, set()).add(r.entity)
        profile = get_profile(r.profile)
        for form in {*profile.name_forms(r.entity), *r.aliases}:
            if form not in places:
                forms.setdefault(form, set()).add(r.entity)
        short = profile.short_entity(r.entity)
        if short != r.entity:
            for size in range(2, len(short) + 1):
                alias = short[:size]
                if alias not in places or size == len(short):
                    forms.setdefault(alias, set()).add(r.entity)
    return {alias: next(iter(names)) for alias, names in forms.items() if len(names) == 1 or alias in names}


CHECK_INTERVAL = 2.0  # seconds between manifest checks: a check reads every file record


class CorpusView:
    """What retrieval needs to know of the committed index, refreshed when the manifest changes."""

    def __init__(self, store: ReportStore, keyword: KeywordIndex):
        self.store = store
        self.keyword = keyword
        self._version: str | None = None
        self._checked = 0.0
        self._lock = threading.Lock()
        self.chunks: dict[str, Chunk] = {}
        self.file_hash: dict[str, str] = {}
        self.reports: list[Report] = []
        self.by_report: dict[str, list[Chunk]] = {}
        self.by_city: dict[str | None, set[str]] = {}  # entity -> chunk ids
        self.coverage: dict[str, Coverage] = {}
        self.aliases: dict[str, str] = {}
        self.place_entities: set[str] = set()  # entities that are places: their questions stay in their reports

    def refresh(self, force: bool = False) -> None:
        """Catch up with the manifest. Another process's ingest is noticed within `CHECK_INTERVAL`
        seconds; this process's own ingests call with force=True (check now). Only files whose hash
        changed are read back; one thread rebuilds while the others answer from the previous view."""
        now = time.monotonic()
        if not force and self._version is not None and now - self._checked < CHECK_INTERVAL:
            return
        self._checked = now
        if self.store.version() == self._version:
            return
        if not self._lock.acquire(blocking=self._version is None or force):
            return  # another thread is rebuilding: answer from the current view meanwhile
        try:
            version = self.store.version()
            if version == self._version:
                return
            files = self.store.files()
            file_hash = {s: r.file_hash for s, r in files.items()}
            first = self._version is None
            changed = set(file_hash) if first else {s for s, h in file_hash.items() if self.file_hash.get(s) != h}
            chunks = {} if first else {cid: c for cid, c in self.chunks.items() if c.source in file_hash and c.source not in changed}
            fresh = self.store.iter_chunks(None if first else sorted(changed))
            chunks.update((c.chunk_id, c) for c, fh in fresh if file_hash.get(c.source) == fh)
            by_report: dict[str, list[Chunk]] = {}
            for c in sorted(chunks.values(), key=lambda c: (c.report_id, c.ordinal)):
                by_report.setdefault(c.report_id, []).append(c)
            by_city: dict[str | None, set[str]] = {}
            for cid, c in chunks.items():
                by_city.setdefault(c.entity, set()).add(cid)
            reports = [rep for r in files.values() for rep in r.reports]
            aliases = entity_aliases(reports)
            self.keyword.add_words(aliases)
            self.keyword.rebuild(list(chunks.values()))
            self.chunks, self.file_hash, self.reports, self.by_report = chunks, file_hash, reports, by_report
            self.by_city = by_city
            self.aliases = aliases
            self.place_entities = {r.entity for r in reports if r.entity and get_profile(r.profile).entity_is_place}
            self.coverage = {r.report_id: Coverage.of(r, by_report.get(r.report_id, [])) for r in reports}
            self._version = version
        finally:
            self._lock.release()

    def allowed(self, f: Filters) -> set[str]:
        """Chunk ids the filters allow; a city restriction is looked up, not scanned."""
        if f.cities:
            ids = set().union(*(self.by_city.get(c, set()) for c in f.cities))
            if not (f.years or f.report_ids or f.periods):
                return ids
            return {cid for cid in ids if f.allows(self.chunks[cid])}
        return {cid for cid, c in self.chunks.items() if f.allows(c)}

    def known_cities(self) -> list[str]:
        """Entity names of the reports (cities of government reports, companies, courts …)."""
        return sorted({r.entity for r in self.reports if r.entity})

    def latest_years(self) -> dict[str | None, int]:
        """The year 今年 means for each entity: the year its latest report was delivered (a government
        report of Y is delivered in Y; an annual report of Y, in Y+1, when its year is 去年)."""
        out: dict[str | None, int] = {}
        for r in self.reports:
            if r.year is None:
                continue
            now = r.year if get_profile(r.profile).time.report_period == "sections" else r.year + 1
            if r.date:
                now = max(now, int(r.date[:4]))
            for key in (r.entity, None):
                out[key] = max(out.get(key, 0), now)
        return out

    def neighbour(self, c: Chunk, step: int) -> Chunk | None:
        siblings = self.by_report.get(c.report_id, [])
        idx = next((i for i, s in enumerate(siblings) if s.chunk_id == c.chunk_id), None)
        if idx is None or not 0 <= idx + step < len(siblings):
            return None
        n = siblings[idx + step]
        return n if n.section_path == c.section_path else None


class HybridRetriever:
    def __init__(self, settings: Settings, store: ReportStore, embedder, keyword: KeywordIndex, reranker=None):
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.view = CorpusView(store, keyword)
        self.keyword = keyword
        self.reranker = reranker

    def understand(self, question: str) -> QueryInfo:
        self.view.refresh()
        return understand(question, self.view.aliases, self.view.latest_years())

    def retrieve(self, question: str, filters: Filters | None = None, k: int | None = None,
                 info: QueryInfo | None = None) -> list[Passage]:
        """Top passages within the context budget, compare questions split into sub-queries."""
        filters = filters or Filters()
        k = k or self.settings.top_k
        info = info or self.understand(question)
        if info.compare:
            subs = sub_queries(info)
        elif len(info.parts) > 1:
            subs = [(part, info.cities, info.years) for part in info.parts]  # each question finds its passage
        else:
            subs = [(info.text, info.cities, info.years)]
        if len(subs) == 1:
            ranked = self._rerank(info.text, self._ranked(info, filters))
        else:
            known, latest = self.view.aliases, self.view.latest_years()
            per = [self._rerank(q, self._ranked(understand(q, known, latest), filters, cities=c, years=y))
                   for q, c, y in subs]
            ranked = _interleave(per)
        return self._select(ranked, k)

    # --- internals ---------------------------------------------------------------------------
    def _ranked(self, info: QueryInfo, filters: Filters, cities: list[str] | None = None,
                years: list[int] | None = None) -> list[Passage]:
        s = self.settings
        cities = info.cities if cities is None else cities
        years = info.years if years is None else years
        view = self.view
        named = cities
        # a place's question stays in that place's reports; a company's may be answered by any document
        # naming it (a judgement, a supplier's report), so there the entity only boosts
        cities = [c for c in cities if c in view.place_entities]
        scope = Filters(cities=filters.cities or [], years=filters.years, report_ids=filters.report_ids,
                        periods=filters.periods)
        city_scope = Filters(cities=scope.cities or cities, years=scope.years, report_ids=scope.report_ids,
                             periods=scope.periods)

        qvec = self.embedder.embed_query(info.expanded)
        dense: list[tuple[Chunk, float]] = []
        for scoped in ([city_scope, scope] if cities and not scope.cities else [scope]):
            hits = self.store.query(qvec, s.dense_depth, where=scoped.where())
            dense = [(view.chunks[c.chunk_id], sim) for c, sim, fh in hits
                     if c.chunk_id in view.chunks and view.file_hash.get(c.source) == fh]
            if len(dense) >= s.top_k:
                break
        allowed = None
        if not scope.empty or cities:
            pool = city_scope if cities and not scope.cities else scope
            allowed = view.allowed(pool)
        kw = self.keyword.search(self.keyword.tokenize(info.expanded), s.keyword_depth, allowed)

        weights = term_weights(question_terms(info.text, self.keyword.words, [*named, *info.mentions]))
        fused: dict[str, Passage] = {}
        dense_rank = {c.chunk_id: (i + 1, sim) for i, (c, sim) in enumerate(dense)}
        kw_rank = {cid: i + 1 for i, (cid, _) in enumerate(kw)}
        for cid in set(dense_rank) | set(kw_rank):
            c = view.chunks.get(cid)
            if c is None:
                continue
            score = 0.0
            if cid in dense_rank:
                score += s.dense_weight / (s.rrf_k + dense_rank[cid][0])
            if cid in kw_rank:
                score += s.keyword_weight / (s.rrf_k + kw_rank[cid])
            boost = self._boost(c, info, named, years)
            match = sentence_match(c.text, weights)
            fused[cid] = Passage(
                chunk=c, score=score * (1.0 + boost) * (1.0 + s.sentence_match_weight * match),
                dense_rank=dense_rank.get(cid, (None,))[0], keyword_rank=kw_rank.get(cid), boost=boost,
                dense_score=dense_rank.get(cid, (None, None))[1], match=match,
            )
        return sorted(fused.values(), key=lambda p: -p.score)

    def _boost(self, c: Chunk, info: QueryInfo, cities: list[str], years: list[int]) -> float:
        b = self.settings.metadata_boost
        boost = 0.0
        if cities and c.entity in cities:
            boost += b
        if info.about_report:
            # the date line, meeting and speaker sit in the report's opening chunk
            if c.ordinal == 0:
                boost += 2 * b
            if c.year in years:
                boost += b
            return boost
        for y in years:
            if c.period == y:
                boost += b
                if info.intent == "target" and c.year == y:
                    boost += b / 2
                elif info.intent != "target" and c.year == y + 1:
                    boost += b / 2
                break
        return boost

    def _rerank(self, question: str, ranked: list[Passage], depth: int = 20) -> list[Passage]:
        """Rescore the head of the fused list with the cross-encoder, when one is configured."""
        if self.reranker is None or not ranked:
            return ranked
        head, tail = ranked[:depth], ranked[depth:]
        scores = self.reranker.predict([(question, p.chunk.text) for p in head])
        order = sorted(range(len(head)), key=lambda i: -float(scores[i]))
        return [head[i] for i in order] + tail

    def _select(self, ranked: list[Passage], k: int) -> list[Passage]:
        budget = self.settings.context_chars
        chosen: list[Passage] = []
        used = 0
        for p in ranked:
            if len(chosen) >= k:
                break
            n = len(p.chunk.text)
            if used + n > budget:
                continue
            chosen.append(p)
            used += n
        # neighbour expansion: the section's next chunk may come along if the budget allows
        if chosen and len(chosen) < k + 1:
            top = chosen[0]
            ids = {p.chunk.chunk_id for p in chosen}
            nxt = self.view.neighbour(top.chunk, +1)
            if nxt and nxt.chunk_id not in ids and used + len(nxt.text) <= budget:
                chosen.append(Passage(chunk=nxt, score=top.score * 0.5, boost=0.0))
        return chosen


def _interleave(lists: list[list[Passage]]) -> list[Passage]:
    out: list[Passage] = []
    seen: set[str] = set()
    for i in range(max((len(x) for x in lists), default=0)):
        for lst in lists:
            if i < len(lst) and lst[i].chunk.chunk_id not in seen:
                out.append(lst[i])
                seen.add(lst[i].chunk.chunk_id)
    return out


def relevance(p: Passage) -> float:
    """A calibrated-ish relevance in [0, 1] for refusal decisions: the dense cosine when known."""
    return p.dense_score if p.dense_score is not None else 0.0


class ReportRetriever(BaseRetriever):
    """LangChain face of the hybrid retriever, so it composes with any chain."""

    hybrid: Any
    filters: Any = None
    k: int | None = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[LCDocument]:
        return [
            LCDocument(page_content=p.chunk.text, metadata={**p.chunk.metadata(), "chunk_id": p.chunk.chunk_id, "score": p.score})
            for p in self.hybrid.retrieve(query, self.filters, self.k)
        ]

