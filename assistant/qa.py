"""`ReportQA`: the one builder that wires store, embedder, keyword index, retriever, answerer and chain,
and the closed facade the edges (CLI, chat, API, evaluation) use: they never reach inside it."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.answer.answerers import NOT_MENTIONED, Answerer, ExtractiveAnswerer, LLMAnswerer, build_llm
from assistant.answer.pipeline import AnswerPipeline
from assistant.backends import ReportStore, build_embedder, open_store
from assistant.ingest.figures import ledger_stamp
from assistant.ingest.indexer import Indexer, IngestSummary, Problem, Progress, figures_path
from assistant.profiles import vocabulary
from assistant.records import Answer, Chunk, Citation, Figure, IndexStatus, Passage, Report
from assistant.retrieval.filters import Filters
from assistant.retrieval.ledger import Ledger
from assistant.retrieval.normalize import normalize_question
from assistant.retrieval.places import place_names
from assistant.retrieval.query import QueryInfo
from assistant.retrieval.retriever import HybridRetriever
from assistant.settings import Settings
from vectorstore.chroma import make_client
from vectorstore.embeddings import Embedder
from vectorstore.keyword import KeywordIndex
from vectorstore.ledger import FigureTable
from vectorstore.rerank import Reranker

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.runnables import Runnable

SECTION_MAX = 20000  # characters of a section shown inline; the report view has the rest
_DOC_CACHE = 16  # decoded report texts kept per process (the report view reads one per click)


class ReportQA:
    """Ask questions about the indexed reports. One instance is shared by all users of a process."""

    def __init__(self, settings: Settings, embedder: Embedder, llm: BaseChatModel | None = None,
                 reranker: Reranker | None = None):
        self.settings = settings
        self.embedder = embedder
        client = make_client(settings.index_dir, settings.chroma_url)
        self.store: ReportStore = open_store(client, embedder.model_id, embedder.dimension,
                                             backend="server" if settings.chroma_url else "embedded")
        # chunk ids are content hashes, so cached tokens are valid whichever store they came from
        words, names = vocabulary(), place_names()
        tag = hashlib.sha256("\n".join([*words, "", *sorted(names)]).encode()).hexdigest()[:8]  # other words, other tokens
        cache = settings.index_dir / f"keyword-{embedder.model_id}-{tag}.json"  # the saved BM25 index sits beside it
        self.keyword = KeywordIndex(cache_path=cache, extra_words=words, names=names)
        self.retriever = HybridRetriever(settings, self.store, embedder, self.keyword, reranker=reranker)
        self.extractive = ExtractiveAnswerer(self.keyword.words, settings.refusal_threshold, settings.answer_min_coverage)
        self.llm = llm
        answerer: Answerer = LLMAnswerer(llm) if llm is not None else self.extractive
        self.figure_table = FigureTable(figures_path(settings), ledger_stamp())
        self.ledger = Ledger(self.figure_table, self.retriever.view)
        self.pipeline = AnswerPipeline(self.retriever, answerer, self.extractive, condense_llm=llm,
                                       refusal_threshold=settings.refusal_threshold, ledger=self.ledger)
        self.indexer = Indexer(settings, self.store, embedder, self.figure_table)
        self._docs: dict[tuple[str, str], str] = {}
        self._docs_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings | None = None, embedder: Embedder | None = None,
                      llm: BaseChatModel | None = None) -> ReportQA:
        settings = settings or Settings()
        if embedder is None:
            embedder = build_embedder(settings)
        if llm is None and settings.llm_enabled:
            llm = build_llm(settings)
        from vectorstore.rerank import build_reranker

        return cls(settings, embedder, llm, reranker=build_reranker(settings.reranker_model))

    @property
    def mode(self) -> str:
        return "llm" if self.llm is not None else "extractive"

    def figures(self, entity: str | None = None, indicator: str | None = None, period: int | None = None,
                kind: str | None = None, measure: str | None = None) -> list[Figure]:
        """The indicator ledger of the committed index, filtered (an indicator matches its normalised name
        or the words the report uses)."""
        return self.ledger.find([entity] if entity else None, [period] if period else None, [kind] if kind else None,
                                [measure] if measure else None, indicator or None)

    # --- index ---------------------------------------------------------------------------------
    def ingest(self, paths: list[Path] | None = None, prune: bool = False, progress: Progress | None = None) -> IngestSummary:
        summary = self.indexer.ingest(paths, prune=prune, progress=progress)
        self.refresh(force=True)
        return summary

    def remove(self, source: str, delete_file: Path | None = None) -> None:
        self.indexer.remove(source, delete_file)
        self.refresh(force=True)

    def check(self) -> list[Problem]:
        """Stored chunks against the manifest, the manifest against the files on disk."""
        return self.indexer.check()

    def repair(self, problems: list[Problem]) -> IngestSummary:
        summary = self.indexer.repair(problems)
        self.refresh(force=True)
        return summary

    def refresh(self, force: bool = False) -> None:
        """Catch up with the committed index (another process's ingest is seen within seconds)."""
        self.retriever.view.refresh(force=force)

    # --- what is indexed -----------------------------------------------------------------------
    def reports(self) -> list[Report]:
        self.refresh()
        return list(self.retriever.view.reports)

    def report(self, report_id: str) -> Report | None:
        self.refresh()
        return next((r for r in self.retriever.view.reports if r.report_id == report_id), None)

    def chunk(self, chunk_id: str) -> Chunk | None:
        self.refresh()
        return self.retriever.view.chunks.get(chunk_id)

    def sources(self) -> list[str]:
        """The indexed files' names (relative to the data dir)."""
        self.refresh()
        return sorted(self.retriever.view.file_hash)

    def document_text(self, source: str) -> str:
        """A file's decoded text, the one every offset points into (a few kept, keyed by file hash)."""
        key = (source, self.retriever.view.file_hash.get(source, ""))
        with self._docs_lock:
            if key in self._docs:
                return self._docs[key]
        text = self.store.document_text(source)
        with self._docs_lock:
            if len(self._docs) >= _DOC_CACHE:
                self._docs.clear()
            self._docs[key] = text
        return text

    def section_range(self, cit: Citation) -> tuple[int, int]:
        """Offsets of the citation's whole section, from its first to its last chunk (at most SECTION_MAX
        characters around the citation)."""
        same = [c for c in self.retriever.view.by_report.get(cit.report_id, []) if c.section_path == cit.section]
        if not same:
            return cit.start, cit.end
        start, end = min(c.start for c in same), max(c.end for c in same)
        if end - start > SECTION_MAX:
            start = max(start, cit.start - SECTION_MAX // 2)
            end = min(end, start + SECTION_MAX)
        return min(start, cit.start), max(end, cit.end)

    def status(self) -> IndexStatus:
        self.refresh()
        view = self.retriever.view
        return IndexStatus(
            reports=len(view.reports), chunks=len(view.chunks), files=len(view.file_hash),
            embedding_model=self.embedder.model_id, dimension=self.embedder.dimension,
            backend=self.store.backend, chroma_url=self.settings.chroma_url, mode=self.mode,
            llm_model=self.settings.llm_model if self.llm is not None else None,
            entities=tuple(view.known_cities()),
            years=tuple(sorted({r.year for r in view.reports if r.year}, reverse=True)),
            periods=view.periods,
        )

    # --- questions -----------------------------------------------------------------------------
    def ask(self, question: str, history: list[str] | None = None, filters: Filters | None = None) -> Answer:
        return self.pipeline.ask(question, history, filters)

    def stream(self, question: str, history: list[str] | None = None, filters: Filters | None = None) -> Iterator[str | Answer]:
        """Text deltas, then the final `Answer` with citations."""
        return self.pipeline.stream(question, history, filters)

    def search(self, question: str, filters: Filters | None = None, k: int | None = None) -> list[Passage]:
        return self.retriever.retrieve(normalize_question(question), filters, k)

    def understand(self, question: str) -> QueryInfo:
        """What the question names (entities, years, intent …), as retrieval reads it."""
        return self.retriever.understand(question)

    def keyword_search(self, question: str, k: int) -> list[Passage]:
        """BM25 alone over the whole index (for the evaluation's keyword baseline)."""
        self.refresh()
        chunks = self.retriever.view.chunks
        hits = self.keyword.search(self.keyword.tokenize(question), k)
        return [Passage(chunk=chunks[cid], score=s) for cid, s in hits if cid in chunks]

    def tokens(self, text: str) -> list[str]:
        """The keyword index's tokens of a text."""
        return self.keyword.tokenize(text)

    def extract(self, question: str, passages: list[Passage]) -> tuple[str, bool]:
        """The extractive answer over given passages, and whether it refused (for baselines)."""
        text = "".join(self.extractive.stream(question, self.understand(question), passages))
        return text, text.startswith(NOT_MENTIONED)

    def side_store(self, name: str) -> ReportStore:
        """Another set of collections on the same Chroma client, e.g. for a baseline's own chunks."""
        return self.store.sibling(name)

    def chain(self) -> Runnable:
        """The LCEL chain ({question, history, filters} -> Answer), for composing with other LangChain code."""
        return self.pipeline.as_runnable()
