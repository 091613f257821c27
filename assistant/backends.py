"""The store and the models, built from the settings: `vectorstore` takes plain values and knows
the records only by shape, so this is the one place that joins the two."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assistant.records import Chunk, Report
from assistant.settings import Settings
from vectorstore.chroma import ChromaStore
from vectorstore.embeddings import Embedder, make_embedder
from vectorstore.embeddings import prepare_default_model as _prepare_default
from vectorstore.embeddings import resolve_model as _resolve


def build_embedder(settings: Settings) -> Embedder:
    """The embedder the settings ask for (REPORTQA_EMBEDDING_MODEL, _BACKEND, _DEVICE …)."""
    return make_embedder(
        settings.embedding_model, model_dir=settings.model_dir, backend=settings.embedding_backend,
        device=settings.embedding_device, batch_size=settings.embedding_batch_size,
        query_prompt=settings.query_prompt, passage_prompt=settings.passage_prompt,
    )


def resolve_model(settings: Settings) -> tuple[Path, str]:
    """(folder, model_id) of the configured embedding model."""
    return _resolve(settings.embedding_model, settings.model_dir)


def prepare_default_model(settings: Settings) -> Path:
    """Build (once) the offline default model under settings.model_dir."""
    return _prepare_default(settings.model_dir)


ReportStore = ChromaStore[Chunk, Report]


def open_store(client: Any, model_id: str, dimension: int, backend: str = "embedded") -> ReportStore:
    """The store of chunks and reports over a Chroma client (embedded or a server)."""
    return ChromaStore(client, model_id, dimension, read_chunk=Chunk.from_metadata, read_report=Report.from_dict,
                       backend=backend)
