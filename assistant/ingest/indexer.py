"""Incremental, crash-safe ingest into the store: unchanged files cost no embedding.

Order per file: embed and upsert the missing chunks -> commit the manifest record -> delete the
file's stale chunks. A kill at any point leaves the last committed state visible (see chroma.py).
"""

from __future__ import annotations

import fcntl
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.backends import ReportStore
from assistant.errors import IngestError
from assistant.ingest.chunking import Chunker
from assistant.ingest.figures import figure_rows, ledger_stamp
from assistant.ingest.isolation import FileReader
from assistant.ingest.loading import discover
from assistant.ingest.parsing import PARSER_VERSION, ParsedFile, parse_document, profile_for
from assistant.settings import Settings
from vectorstore.chroma import FileRecord
from vectorstore.ledger import FigureTable

if TYPE_CHECKING:
    from vectorstore.embeddings import Embedder

Progress = Callable[[int, int, str], None]  # (chunks done, chunks total, file)
EMBED_BATCH = 64


STATUS_LABELS = {"indexed": "已导入", "unchanged": "已在索引中", "duplicate": "重复，未再索引", "removed": "已移除",
                 "error": "失败"}
"""What a person reads for each outcome status (the status itself stays a stable code for the API)."""


@dataclass
class FileOutcome:
    source: str
    status: str  # indexed / unchanged / duplicate / removed / error
    reports: int = 0
    chunks: int = 0
    embedded: int = 0
    message: str = ""

    @property
    def label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


@dataclass(frozen=True)
class Problem:
    source: str
    message: str
    repairable: bool  # re-ingesting the file fixes it


@dataclass
class IngestSummary:
    outcomes: list[FileOutcome] = field(default_factory=list)
    seconds: float = 0.0
    chunks_embedded: int = 0
    chars_embedded: int = 0

    @property
    def errors(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == "error"]


class Indexer:
    def __init__(self, settings: Settings, store: ReportStore, embedder: Embedder, figures: FigureTable | None = None):
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.figures = figures or FigureTable(figures_path(settings), ledger_stamp())
        self.chunker = Chunker(settings.chunk_target, settings.chunk_max)
        self._thread_lock = threading.Lock()

    @contextmanager
    def _locked(self):
        """One ingest at a time, across threads (uploads) and processes (CLI beside the app)."""
        with self._thread_lock:
            self.settings.index_dir.mkdir(parents=True, exist_ok=True)
            with open(self.settings.index_dir / ".ingest.lock", "w") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(fh, fcntl.LOCK_UN)

    def ingest(self, paths: list[Path] | None = None, prune: bool = False, progress: Progress | None = None) -> IngestSummary:
        t0 = time.perf_counter()
        summary = IngestSummary()
        paths = paths or [self.settings.data_dir]
        with self._locked(), FileReader(self.settings) as reader:
            manifest = self.store.files()
            parsed: list[ParsedFile] = []
            origin: dict[str, Path] = {}
            seen_sources: set[str] = set()
            for path in discover(paths):
                try:
                    doc = reader.load(path)
                    if len(doc.text) > self.settings.max_text_chars:
                        raise IngestError(doc.source, f"文字共 {len(doc.text):,} 个字符，超过 "
                                                      f"{self.settings.max_text_chars:,} 个字符的上限（REPORTQA_MAX_TEXT_CHARS）")
                    seen_sources.add(doc.source)
                    origin[doc.source] = path.resolve()
                    pf = parse_document(doc, self.chunker, profile_for(path, self.settings))
                except IngestError as exc:
                    seen_sources.add(exc.source)
                    summary.outcomes.append(FileOutcome(exc.source, "error", message=exc.reason))
                    continue
                parsed.append(pf)
            reader.close()  # no worker idles through the embedding

            todo: list[ParsedFile] = []
            hashes = {r.file_hash: s for s, r in manifest.items()}
            report_owner = {rep.report_id: s for s, r in manifest.items() for rep in r.reports}
            for pf in parsed:
                doc = pf.document
                old = manifest.get(doc.source)
                if old and old.file_hash == doc.file_hash and old.parser == PARSER_VERSION:
                    summary.outcomes.append(FileOutcome(doc.source, "unchanged", len(pf.reports), len(pf.chunks)))
                    continue
                twin = hashes.get(doc.file_hash) or next(
                    (report_owner[r.report_id] for r in pf.reports if report_owner.get(r.report_id, doc.source) != doc.source), None
                )
                if twin and twin != doc.source:
                    summary.outcomes.append(FileOutcome(doc.source, "duplicate", message=f"与 {twin} 的报告内容相同，只索引一次"))
                    continue
                hashes[doc.file_hash] = doc.source
                for r in pf.reports:
                    report_owner[r.report_id] = doc.source
                todo.append(pf)

            total = sum(len(pf.chunks) for pf in todo)
            done = 0
            for pf in todo:
                outcome = self._index_file(pf, origin[pf.document.source], summary,
                                           _offset_progress(progress, done, total, pf.document.source))
                done += len(pf.chunks)
                summary.outcomes.append(outcome)

            if prune:
                for source in sorted(set(manifest) - seen_sources):
                    if self._file_gone(manifest[source]):
                        self.store.remove_file(source)
                        summary.outcomes.append(FileOutcome(source, "removed", message="文件已不存在，已从索引中移除"))
        summary.seconds = time.perf_counter() - t0
        return summary

    def remove(self, source: str, delete_file: Path | None = None) -> None:
        """Drop a file's chunks and manifest record (and the file itself when given), under the ingest
        lock: a delete racing an ingest of the same name waits for it, so the index stays consistent."""
        with self._locked():
            self.store.remove_file(source)
            if delete_file is not None:
                delete_file.unlink(missing_ok=True)

    def check(self) -> list[Problem]:
        """The index against itself and the disk: every manifest record has exactly its chunks, every
        stored chunk belongs to a committed file version, every file is still where it was read."""
        problems: list[Problem] = []
        manifest = self.store.files()
        counts: dict[tuple[str, str], int] = {}
        for chunk, file_hash in self.store.iter_chunks():
            counts[(chunk.source, file_hash)] = counts.get((chunk.source, file_hash), 0) + 1
        for source, record in sorted(manifest.items()):
            have = counts.pop((source, record.file_hash), 0)
            if have != record.n_chunks:
                problems.append(Problem(source, f"索引中存有 {have} 个片段，清单记录为 {record.n_chunks} 个", True))
            if self._file_gone(record):
                problems.append(Problem(source, "文件已不在磁盘上（reportqa ingest --prune 会将其移出索引）", False))
        for (source, _), n in sorted(counts.items()):
            if source in manifest:
                problems.append(Problem(source, f"索引中有该文件旧版本的 {n} 个片段", True))
            else:
                problems.append(Problem(source, f"索引中有 {n} 个片段属于清单中没有的文件", True))
        return problems

    def repair(self, problems: list[Problem]) -> IngestSummary:
        """Re-ingest what `check` found inconsistent: its chunks and record dropped, the file read again."""
        manifest = self.store.files()
        again: list[Path] = []
        with self._locked():
            for source in sorted({p.source for p in problems if p.repairable}):
                record = manifest.get(source)
                self.store.remove_file(source)
                path = Path(record.path) if record and record.path else self.settings.data_dir / source
                if path.exists():
                    again.append(path)
        return self.ingest(again) if again else IngestSummary()

    def _file_gone(self, record: FileRecord) -> bool:
        path = Path(record.path) if record.path else self.settings.data_dir / record.source
        return not path.exists()

    def _index_file(self, pf: ParsedFile, path: Path, summary: IngestSummary, progress: Callable[[int], object]) -> FileOutcome:
        doc = pf.document
        ids = [c.chunk_id for c in pf.chunks]
        have = self.store.existing_ids(ids)
        missing = [c for c in pf.chunks if c.chunk_id not in have]
        reused = [c for c in pf.chunks if c.chunk_id in have]
        if reused:
            # chunks left by an interrupted run (or unchanged text): re-tag them, no re-embedding
            self.store.retag_chunks(reused, doc.file_hash)
        progress(len(reused))
        order = sorted(range(len(missing)), key=lambda i: len(missing[i].embed_text))
        for b in range(0, len(order), EMBED_BATCH):
            batch = [missing[i] for i in order[b : b + EMBED_BATCH]]
            vectors = self.embedder.embed_documents([c.embed_text for c in batch])
            self.store.upsert_chunks(batch, vectors, doc.file_hash)
            summary.chunks_embedded += len(batch)
            summary.chars_embedded += sum(len(c.text) for c in batch)
            progress(len(reused) + min(b + EMBED_BATCH, len(order)))
        # the file's figures before its commit: rows of chunks never committed are never read
        self.figures.add(figure_rows(pf.chunks))
        stale = set(self.store.chunk_ids_of(doc.source)) - set(ids)
        record = FileRecord(
            source=doc.source, file_hash=doc.file_hash, fmt=doc.fmt, encoding=doc.encoding, n_chunks=len(pf.chunks),
            reports=pf.reports, pages=list(doc.pages), indexed_at=datetime.now(UTC).isoformat(timespec="seconds"),
            path=str(path), parser=PARSER_VERSION,
        )
        self.store.commit_file(record, doc.text)
        self.store.delete_chunks(sorted(stale))
        self.figures.drop(stale)
        return FileOutcome(doc.source, "indexed", len(pf.reports), len(pf.chunks), len(missing))



def figures_path(settings: Settings):
    return settings.index_dir / "figures.sqlite"


def _offset_progress(progress: Progress | None, base: int, total: int, source: str) -> Callable[[int], None]:
    """One file's chunk count as progress over the whole run."""

    def tick(n: int) -> None:
        if progress is not None:
            progress(base + n, total, source)

    return tick
