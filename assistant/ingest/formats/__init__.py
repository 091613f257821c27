"""Loaders for formats whose text must be extracted first: PDF, DOCX and HTML.

Each loader returns a `Document` whose `text` is the extracted text, laid out like a plain-text
report (one paragraph or heading per line, table rows as ``表头：值；表头：值``), so cleaning,
splitting and chunking work unchanged. Offsets point into that text, and the index stores it,
so citations stay verifiable. Every failure is an `IngestError` naming the file and the cause.

The loaders live in their own modules and import their parsing library there: `loading.LOADERS`
imports them lazily, so a plain-text ingest never loads pdfminer or lxml.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from assistant.errors import IngestError
from assistant.records import Document

_SPACES = re.compile(r"[ \t\r\n\f\v\u00a0\u2000-\u200b\u3000]+")
_CJK = r"\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef"
_SPACE_IN_CJK = re.compile(rf"(?<=[{_CJK}]) (?=[{_CJK}])")
# Kangxi radicals, CJK radicals and compatibility ideographs that PDF fonts map instead of 工, 行, 金 ...
_LOOKALIKES = re.compile(r"[\u2e80-\u2fdf\uf900-\ufaff]")


def normalize_line(text: str) -> str:
    """One line of extracted text: runs of white space collapsed, look-alike radicals unified."""
    text = _LOOKALIKES.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    return _SPACES.sub(" ", text).strip()


def join_cjk(text: str) -> str:
    """Drop the single spaces that layout (justification, HTML source line breaks) puts between Chinese characters."""
    return _SPACE_IN_CJK.sub("", text)


def clean_cell(text: str | None) -> str:
    return join_cjk(normalize_line(text or ""))


def table_lines(rows: list[list[str]]) -> list[str]:
    """A table as one line per row, every value next to its column header, so numbers stay attributable.

    ``[["指标", "2024年"], ["地区生产总值", "1234亿元"]]`` -> ``["指标：地区生产总值；2024年：1234亿元"]``.
    The first non-empty row is the header; a one-row table (or one without a header) is joined by ``；``.
    """
    cleaned = [[clean_cell(c) for c in row] for row in rows]
    cleaned = [row for row in cleaned if any(row)]
    if not cleaned:
        return []
    header, body = cleaned[0], cleaned[1:]
    if not body or len([h for h in header if h]) < 2:
        return ["；".join(c for c in row if c) for row in cleaned]
    out = [join_row(header, row) for row in body if row != header]  # a header repeated on the next page
    return [line for line in out if line]


def join_row(header: list[str], row: list[str]) -> str:
    parts: list[str] = []
    for i, value in enumerate(row):
        if not value:
            continue
        name = header[i] if i < len(header) else ""
        parts.append(f"{name}：{value}" if name and name != value else value)
    return "；".join(parts)


class TextBuilder:
    """Accumulates the extracted text; `pages` records where each page starts (PDF)."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.pages: list[int] = []
        self._last = ""

    def add(self, text: str) -> None:
        if text:
            self.parts.append(text)
            self.length += len(text)
            self._last = text[-1]

    def end_line(self) -> None:
        if self.length and self._last != "\n":
            self.add("\n")

    def line(self, text: str) -> None:
        """A line of its own (paragraph, heading, table row); empty lines are dropped."""
        if text:
            self.end_line()
            self.add(text)
            self.end_line()

    def start_page(self) -> None:
        self.pages.append(self.length)

    def text(self) -> str:
        return "".join(self.parts).rstrip("\n")


def out_of_memory(exc: BaseException) -> bool:
    """The parser failed for want of memory (the worker's budget), perhaps wrapped by the library:
    that is a budget to report, not a damaged file."""
    seen: BaseException | None = exc
    for _ in range(4):
        if seen is None:
            return False
        if isinstance(seen, MemoryError):
            return True
        inner = seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None
        seen = seen.__cause__ or inner or seen.__context__
    return False


def require_bytes(raw: bytes, source: str) -> None:
    if not raw.strip():
        raise IngestError(source, "空文件")


def make_document(source: str, raw: bytes, builder: TextBuilder, fmt: str, encoding: str,
                  pages: bool = False) -> Document:
    text = builder.text()
    if not text.strip():
        raise IngestError(source, f"{fmt.upper()} 文件中没有找到文字")
    page_starts = tuple(min(p, len(text)) for p in builder.pages) if pages else ()
    return Document(source=source, text=text, encoding=encoding, file_hash=hashlib.sha256(raw).hexdigest()[:16],
                    pages=page_starts, fmt=fmt)
