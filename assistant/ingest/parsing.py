"""Ingest pipeline without the index: files -> documents -> reports -> chunks, with per-file errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import IngestError
from assistant.ingest.chunking import Chunker
from assistant.ingest.cleaning import find_boilerplate, removed_mask
from assistant.ingest.isolation import FileReader
from assistant.ingest.loading import discover
from assistant.ingest.metadata import extract_metadata
from assistant.ingest.splitting import find_reports
from assistant.records import Chunk, Document, Report
from assistant.settings import Settings

PARSER_VERSION = 6
"""Bump when parsing gives other reports or chunk metadata for the same bytes (2: report profiles, entity;
5: report types with their own time rule, a local paper's entity; 6: an official document's masthead is not its title)."""


@dataclass
class ParsedFile:
    document: Document
    reports: list[Report]
    chunks: list[Chunk]


@dataclass
class ParseResult:
    files: list[ParsedFile] = field(default_factory=list)
    skipped: list[IngestError] = field(default_factory=list)

    @property
    def reports(self) -> list[Report]:
        return [r for f in self.files for r in f.reports]

    @property
    def chunks(self) -> list[Chunk]:
        return [c for f in self.files for c in f.chunks]


def parse_document(doc: Document, chunker: Chunker, profile: str | None = None) -> ParsedFile:
    """`profile` forces a report profile (setting, folder or upload); None detects it per report."""
    removed = find_boilerplate(doc.text)
    mask = removed_mask(doc.text, removed)
    reports, chunks = [], []
    for i, span in enumerate(find_reports(doc.text, mask)):
        report = extract_metadata(doc, span, i, profile)
        report_chunks = chunker.chunk(doc, report, mask)
        if report_chunks:
            reports.append(report)
            chunks.extend(report_chunks)
    if not chunks:
        raise IngestError(doc.source, "没有找到报告正文（只有网页导航、版权声明等固定内容或空白）")
    return ParsedFile(doc, reports, chunks)


PROFILE_FILE = ".reportqa-profile"


def profile_for(path: Path, settings: Settings) -> str | None:
    """The forced profile of a file: the setting, else a `.reportqa-profile` file (one profile name)
    in its folder or a parent folder up to the data dir, else None (detected)."""
    if settings.report_profile:
        return settings.report_profile
    for folder in path.resolve().parents:
        marker = folder / PROFILE_FILE
        if marker.is_file():
            return marker.read_text(encoding="utf-8").strip() or None
        if folder == settings.data_dir.resolve() or folder == folder.parent:
            break
    return None


def parse_paths(paths: list[Path], settings: Settings) -> ParseResult:
    """Load and chunk every file; a bad file is recorded in `skipped` and the rest go on."""
    chunker = Chunker(settings.chunk_target, settings.chunk_max)
    result = ParseResult()
    with FileReader(settings) as reader:
        for path in discover(paths):
            try:
                doc = reader.load(path)
                result.files.append(parse_document(doc, chunker, profile_for(path, settings)))
            except IngestError as exc:
                result.skipped.append(exc)
    return result
