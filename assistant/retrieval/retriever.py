"""Hybrid retrieval: dense (Chroma) + BM25 (jieba), fused, boosted by what the question names, selected
within the context budget.

Only committed chunks are visible: a chunk whose file hash differs from the manifest's is skipped.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever

from assistant.backends import ReportStore
from assistant.records import Chunk, Passage
from assistant.retrieval.filters import Filters
from assistant.retrieval.fusion import FUSIONS
from assistant.retrieval.query import QueryInfo, sub_queries, understand
from assistant.retrieval.terms import question_terms, sentence_match, term_weights
from assistant.retrieval.view import CorpusView
from assistant.settings import Settings
from vectorstore.chunk_cache import ChunkCache
from vectorstore.keyword import KeywordIndex

if TYPE_CHECKING:
    from vectorstore.embeddings import Embedder
    from vectorstore.rerank import Reranker


class HybridRetriever:
    def __init__(self, settings: Settings, store: ReportStore, embedder: Embedder, keyword: KeywordIndex,
                 reranker: Reranker | None = None):
        self.settings = settings
        self.store = store
        self.embedder = embedder
        where = hashlib.sha256((settings.chroma_url or "embedded").encode()).hexdigest()[:8]  # one file per store
        self.view = CorpusView(store, keyword, ChunkCache(settings.index_dir / f"chunks-{embedder.model_id}-{where}.sqlite"))
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
        """dense -> keyword -> fuse -> boost (entity, year) and sentence match, best first."""
        s = self.settings
        named = info.cities if cities is None else cities
        years = info.years if years is None else years
        scopes = self._scopes(named, filters)
        dense = self._dense(info.expanded, scopes)
        keyword = self._keyword(info.expanded, scopes)
        fused = FUSIONS[s.fusion]([[(c.chunk_id, sim) for c, sim in dense], keyword],
                                  [s.dense_weight, s.keyword_weight], s.rrf_k)
        weights = term_weights(question_terms(info.text, self.keyword.words, [*named, *info.mentions]))
        dense_rank = {c.chunk_id: (i + 1, sim) for i, (c, sim) in enumerate(dense)}
        kw_rank = {cid: i + 1 for i, (cid, _) in enumerate(keyword)}
        out = []
        for cid, score in fused.items():
            c = self.view.chunks.get(cid)
            if c is None:
                continue
            boost = self._boost(c, info, named, years)
            match = sentence_match(c.text, weights)
            out.append(Passage(
                chunk=c, score=score * (1.0 + boost) * (1.0 + s.sentence_match_weight * match),
                dense_rank=dense_rank.get(cid, (None,))[0], keyword_rank=kw_rank.get(cid), boost=boost,
                dense_score=dense_rank.get(cid, (None, None))[1], match=match,
            ))
        return sorted(out, key=lambda p: -p.score)

    def _scopes(self, named: list[str], filters: Filters) -> list[Filters]:
        """The filters to search within, narrowest first. A place's question stays in that place's reports
        (then the caller's filters alone, if those hold too little); a company's may be answered by any
        document naming it (a judgement, a supplier's report), so there the entity only boosts."""
        places = [c for c in named if c in self.view.place_entities]
        scope = Filters(cities=filters.cities or [], years=filters.years, report_ids=filters.report_ids,
                        periods=filters.periods)
        if places and not scope.cities:
            return [Filters(cities=places, years=scope.years, report_ids=scope.report_ids, periods=scope.periods), scope]
        return [scope]

    def _dense(self, text: str, scopes: list[Filters]) -> list[tuple[Chunk, float]]:
        """Nearest committed chunks in the first scope that holds top_k of them."""
        view = self.view
        qvec = self.embedder.embed_query(text)
        dense: list[tuple[Chunk, float]] = []
        for scoped in scopes:
            hits = self.store.query(qvec, self.settings.dense_depth, where=scoped.where())
            dense = [(view.chunks[c.chunk_id], sim) for c, sim, fh in hits
                     if c.chunk_id in view.chunks and view.file_hash.get(c.source) == fh]
            if len(dense) >= self.settings.top_k:
                break
        return dense

    def _keyword(self, text: str, scopes: list[Filters]) -> list[tuple[str, float]]:
        """BM25 within the narrowest scope (the whole index when nothing restricts it)."""
        allowed = None if scopes[0].empty else self.view.allowed(scopes[0])
        return self.keyword.search(self.keyword.tokenize(text), self.settings.keyword_depth, allowed)

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

