"""`ReportQA`: the one builder that wires store, embedder, keyword index, retriever, answerer and chain."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from assistant.answer.answerers import ExtractiveAnswerer, LLMAnswerer, build_llm
from assistant.answer.pipeline import AnswerPipeline
from assistant.backends import build_embedder, open_store
from assistant.ingest.indexer import Indexer, IngestSummary, Progress
from assistant.profiles import vocabulary
from assistant.records import Answer, Report
from assistant.retrieval.normalize import normalize_question
from assistant.retrieval.places import place_names
from assistant.retrieval.retriever import Filters, HybridRetriever
from assistant.settings import Settings
from vectorstore.chroma import make_client
from vectorstore.keyword import KeywordIndex


class ReportQA:
    """Ask questions about the indexed reports. One instance is shared by all users of a process."""

    def __init__(self, settings: Settings, embedder, llm=None, reranker=None):
        self.settings = settings
        self.embedder = embedder
        client = make_client(settings.index_dir, settings.chroma_url)
        self.store = open_store(client, embedder.model_id, embedder.dimension,
                                backend="server" if settings.chroma_url else "embedded")
        # chunk ids are content hashes, so cached tokens are valid whichever store they came from
        words = vocabulary()
        tag = hashlib.sha256("\n".join(words).encode()).hexdigest()[:8]  # other words, other tokens
        cache = settings.index_dir / f"keyword-{embedder.model_id}-{tag}.json"
        self.keyword = KeywordIndex(cache_path=cache, extra_words=words, names=place_names())
        self.retriever = HybridRetriever(settings, self.store, embedder, self.keyword, reranker=reranker)
        self.extractive = ExtractiveAnswerer(self.keyword.words, settings.refusal_threshold, settings.answer_min_coverage)
        self.llm = llm
        answerer = LLMAnswerer(llm) if llm is not None else self.extractive
        self.pipeline = AnswerPipeline(self.retriever, answerer, self.extractive, condense_llm=llm,
                                       refusal_threshold=settings.refusal_threshold)
        self.indexer = Indexer(settings, self.store, embedder)
        self._refresh_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings | None = None, embedder=None, llm=None) -> ReportQA:
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

    # --- index ---------------------------------------------------------------------------------
    def ingest(self, paths: list[Path] | None = None, prune: bool = False, progress: Progress | None = None) -> IngestSummary:
        summary = self.indexer.ingest(paths, prune=prune, progress=progress)
        self.retriever.view.refresh(force=True)
        return summary

    def reports(self) -> list[Report]:
        self.retriever.view.refresh()
        return list(self.retriever.view.reports)

    def document_text(self, source: str) -> str:
        return self.store.document_text(source)

    def remove(self, source: str, delete_file: Path | None = None) -> None:
        self.indexer.remove(source, delete_file)
        self.retriever.view.refresh(force=True)

    def status(self) -> dict[str, Any]:
        self.retriever.view.refresh()
        view = self.retriever.view
        return {
            "reports": len(view.reports), "chunks": len(view.chunks), "files": len(view.file_hash),
            "embedding_model": self.embedder.model_id, "dimension": self.embedder.dimension,
            "backend": self.store.backend, "chroma_url": self.settings.chroma_url, "mode": self.mode,
            "llm_model": self.settings.llm_model if self.llm is not None else None,
        }

    # --- questions -----------------------------------------------------------------------------
    def ask(self, question: str, history: list[str] | None = None, filters: Filters | None = None) -> Answer:
        return self.pipeline.ask(question, history, filters)

    def stream(self, question: str, history: list[str] | None = None, filters: Filters | None = None) -> Iterator[str | Answer]:
        """Text deltas, then the final `Answer` with citations."""
        return self.pipeline.stream(question, history, filters)

    def search(self, question: str, filters: Filters | None = None, k: int | None = None):
        return self.retriever.retrieve(normalize_question(question), filters, k)

    def chain(self):
        """The LCEL chain ({question, history, filters} -> Answer), for composing with other LangChain code."""
        return self.pipeline.as_runnable()
