"""Chroma as the store of chunks and of the per-file manifest (embedded or a server).

A file's chunks become visible only when its manifest record is written (the commit), so an
ingest killed at any point leaves the index consistent: half-written chunks carry a file hash
the manifest does not name and are ignored, then reused or removed by the next run.

The store knows records only by shape (`StoredChunk`, `StoredReport`): the caller says how a stored
record is read back (`read_chunk`, `read_report`), so this package never imports `assistant`.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import urlparse

from vectorstore.errors import ModelUnavailableError, StoreError

PAGE = 2000
TEXT_PAGE = 500  # Chroma's local writes slow down with every large document stored: keep records chunk-sized


class StoredChunk(Protocol):
    """What the store needs of a chunk: its id, its text and flat metadata (str, int, float, bool)."""

    @property
    def chunk_id(self) -> str: ...
    @property
    def text(self) -> str: ...
    def metadata(self) -> dict[str, Any]: ...


class StoredReport(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


C = TypeVar("C", bound=StoredChunk)
R = TypeVar("R", bound=StoredReport)
ReadChunk = Callable[[str, str, dict[str, Any]], C]


@dataclass
class FileRecord(Generic[R]):
    """What the manifest knows of one ingested file."""

    source: str
    file_hash: str
    fmt: str
    encoding: str
    n_chunks: int
    reports: list[R]
    pages: list[int] = field(default_factory=list)
    indexed_at: str = ""
    path: str = ""  # where the file was read from, so --prune knows whether it is gone
    parser: int = 0  # PARSER_VERSION it was read with: a file read by older rules is read again

    def metadata(self) -> dict[str, Any]:
        return {
            "source": self.source, "file_hash": self.file_hash, "fmt": self.fmt, "encoding": self.encoding,
            "n_chunks": self.n_chunks, "indexed_at": self.indexed_at,
            "reports": json.dumps([r.to_dict() for r in self.reports], ensure_ascii=False),
            "pages": json.dumps(self.pages), "parser": self.parser,
            # a path of any bytes (a GBK name on a Linux disk) is kept exactly, as hex: Chroma takes only UTF-8
            "path_hex": os.fsencode(self.path).hex(),
        }

    @classmethod
    def from_metadata(cls, md: dict[str, Any], read_report: Callable[[dict[str, Any]], R]) -> FileRecord[R]:
        return cls(
            source=md["source"], file_hash=md["file_hash"], fmt=md.get("fmt", "txt"), encoding=md.get("encoding", ""),
            n_chunks=int(md.get("n_chunks", 0)), indexed_at=md.get("indexed_at", ""),
            reports=[read_report(r) for r in json.loads(md.get("reports", "[]"))],
            pages=json.loads(md.get("pages", "[]")), parser=int(md.get("parser", 0)),
            path=os.fsdecode(bytes.fromhex(md["path_hex"])) if "path_hex" in md else md.get("path", ""),
        )


def collection_name(model_id: str, dimension: int, kind: str) -> str:
    slug = re.sub(r"[^a-zA-Z0-9._-]+", "-", model_id).strip("-._")[:80] or "model"
    return f"reportqa-{kind}-{slug}-{dimension}"


def make_client(index_dir, chroma_url: str | None):
    """Embedded PersistentClient by default; HttpClient when a server URL is configured. Telemetry off."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if chroma_url:
        url = urlparse(chroma_url)
        try:
            return chromadb.HttpClient(
                host=url.hostname or "127.0.0.1", port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https", settings=chroma_settings,
            )
        except Exception as exc:  # noqa: BLE001 - any connection failure becomes one clear message
            raise ModelUnavailableError(
                f"cannot reach the Chroma server at {chroma_url} (REPORTQA_CHROMA_URL): {exc}"
            ) from None
    index_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(index_dir / "chroma"), settings=chroma_settings)


class ChromaStore(Generic[C, R]):
    """Chunks (with their vectors), the file manifest, each file's text and a version stamp, in four
    collections named after the model, so two models never mix vectors."""

    def __init__(self, client: Any, model_id: str, dimension: int, *, read_chunk: ReadChunk,
                 read_report: Callable[[dict[str, Any]], R], backend: str = "embedded"):
        self.client = client
        self.read_chunk = read_chunk
        self.read_report = read_report
        self.backend = backend
        self.model_id = model_id
        self.dimension = dimension
        self.chunks = client.get_or_create_collection(
            collection_name(model_id, dimension, "chunks"), configuration={"hnsw": {"space": "cosine"}},
            embedding_function=None,
        )
        # the manifest: one record per file (its metadata); a file is visible once its record is here
        self.files_col = client.get_or_create_collection(
            collection_name(model_id, dimension, "files"), embedding_function=None
        )
        # one record whose value changes on every commit or removal (see version())
        self.state_col = client.get_or_create_collection(
            collection_name(model_id, dimension, "state"), embedding_function=None
        )
        # each file's decoded text, in chunk-sized pages keyed by file hash (written before the commit)
        self.texts_col = client.get_or_create_collection(
            collection_name(model_id, dimension, "texts"), embedding_function=None
        )

    # --- chunks ---------------------------------------------------------------------------
    def existing_ids(self, ids: list[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(ids), PAGE):
            found.update(self.chunks.get(ids=ids[i : i + PAGE], include=[])["ids"])
        return found

    def upsert_chunks(self, chunks: list[C], embeddings: list[list[float]], file_hash: str) -> None:
        if not chunks:
            return
        metadatas = []
        for c in chunks:
            md = c.metadata()
            md["file_hash"] = file_hash
            metadatas.append(md)
        self.chunks.upsert(ids=[c.chunk_id for c in chunks], embeddings=embeddings,
                           documents=[c.text for c in chunks], metadatas=metadatas)

    def retag_chunks(self, chunks: list[C], file_hash: str) -> None:
        """Point stored chunks (same ids, so the same text and vector) at another file hash: a
        re-ingest of an unchanged chunk costs no embedding."""
        for i in range(0, len(chunks), PAGE):
            page = chunks[i : i + PAGE]
            self.chunks.update(ids=[c.chunk_id for c in page],
                               metadatas=[{**c.metadata(), "file_hash": file_hash} for c in page])

    def sibling(self, name: str) -> ChromaStore[C, R]:
        """Another set of collections on the same client (a baseline's own chunks, say)."""
        return ChromaStore(self.client, f"{self.model_id}-{name}", self.dimension, read_chunk=self.read_chunk,
                           read_report=self.read_report, backend=self.backend)

    def chunk_ids_of(self, source: str) -> list[str]:
        return self.chunks.get(where={"source": source}, include=[])["ids"]

    def delete_chunks(self, ids: list[str]) -> None:
        for i in range(0, len(ids), PAGE):
            self.chunks.delete(ids=ids[i : i + PAGE])

    def iter_chunks(self, sources: list[str] | None = None) -> Iterator[tuple[C, str]]:
        """Every stored chunk (of these files) with the file hash it was written for (paged, for large indexes)."""
        if sources is not None and not sources:
            return
        where = {"source": {"$in": sorted(sources)}} if sources else None
        offset = 0
        while True:
            got = self.chunks.get(where=where, include=["documents", "metadatas"], limit=PAGE, offset=offset)
            if not got["ids"]:
                return
            for cid, text, md in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
                yield self.read_chunk(cid, text, md), md.get("file_hash", "")
            offset += len(got["ids"])

    def get_chunks(self, ids: list[str]) -> list[C]:
        got = self.chunks.get(ids=ids, include=["documents", "metadatas"])
        by_id = {cid: self.read_chunk(cid, t, md) for cid, t, md in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
                 if md is not None and t is not None}
        return [by_id[i] for i in ids if i in by_id]

    def query(self, embedding: list[float], n: int, where: dict[str, Any] | None = None) -> list[tuple[C, float, str]]:
        """Nearest chunks as (chunk, cosine similarity, file hash)."""
        total = self.chunks.count()
        if total == 0:
            return []
        res = self.chunks.query(query_embeddings=[embedding], n_results=min(n, total), where=where or None,
                                include=["documents", "metadatas", "distances"])
        out = []
        for cid, text, md, dist in zip(res["ids"][0], res["documents"][0], res["metadatas"][0], res["distances"][0], strict=True):
            if md is None or text is None:
                continue  # a vector whose chunk another process deleted while this one held the index
            out.append((self.read_chunk(cid, text, md), 1.0 - float(dist), md.get("file_hash", "")))
        return out

    def count(self) -> int:
        return self.chunks.count()

    # --- manifest ---------------------------------------------------------------------------
    def files(self) -> dict[str, FileRecord[R]]:
        got = self.files_col.get(include=["metadatas"])
        return {md["source"]: FileRecord.from_metadata(md, self.read_report) for md in got["metadatas"]}

    def commit_file(self, record: FileRecord[R], text: str) -> None:
        pages = [text[i : i + TEXT_PAGE] for i in range(0, len(text), TEXT_PAGE)] or [""]
        ids = [f"{record.source}#{record.file_hash}#{n}" for n in range(len(pages))]
        for i in range(0, len(pages), PAGE):
            self.texts_col.upsert(
                ids=ids[i : i + PAGE], embeddings=[[1.0]] * len(ids[i : i + PAGE]), documents=pages[i : i + PAGE],
                metadatas=[{"source": record.source, "file_hash": record.file_hash, "n": n} for n in range(i, i + len(ids[i : i + PAGE]))],
            )
        self.files_col.upsert(ids=[record.source], embeddings=[[1.0]], metadatas=[record.metadata()])
        self._bump()
        stale = set(self.texts_col.get(where={"source": record.source}, include=[])["ids"]) - set(ids)
        if stale:
            self.texts_col.delete(ids=sorted(stale))

    def remove_file(self, source: str) -> None:
        self.files_col.delete(ids=[source])
        self._bump()
        self.delete_chunks(self.chunk_ids_of(source))
        self.texts_col.delete(where={"source": source})

    def document_text(self, source: str) -> str:
        got = self.files_col.get(ids=[source], include=["metadatas"])
        if not got["ids"]:
            raise StoreError(f"{source}: not in the index")
        file_hash = got["metadatas"][0]["file_hash"]
        pages = self.texts_col.get(where={"$and": [{"source": source}, {"file_hash": file_hash}]},
                                   include=["documents", "metadatas"])
        if not pages["ids"]:  # an index written before texts were paged kept the text on the manifest record
            return self.files_col.get(ids=[source], include=["documents"])["documents"][0] or ""
        return "".join(t for _, t in sorted(zip((m["n"] for m in pages["metadatas"]), pages["documents"], strict=True)))

    def _bump(self) -> None:
        self.state_col.upsert(ids=["version"], embeddings=[[1.0]], metadatas=[{"version": uuid.uuid4().hex}])

    def version(self) -> str:
        """Changes whenever a file is committed or removed: lets other processes refresh their keyword
        index. One small record, read before every question, whatever the size of the index."""
        got = self.state_col.get(ids=["version"], include=["metadatas"])
        return got["metadatas"][0]["version"] if got["ids"] else ""

