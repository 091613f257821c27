"""Markdown -> report text: heading marks and emphasis dropped (the numbered heading text is what the
chunker reads), pipe tables as one line per row with every value next to its column header."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from assistant.ingest.formats import table_lines
from assistant.ingest.loading import NO_LIMITS, ReadLimits, decode_bytes
from assistant.records import Document

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+")
_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")
_ROW = re.compile(r"^\s*\|.*\|\s*$")
_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")


def load_markdown(path: Path, raw: bytes, source: str, limits: ReadLimits = NO_LIMITS) -> Document:
    text, encoding = decode_bytes(raw, source)
    out: list[str] = []
    table: list[list[str]] = []
    for line in text.split("\n"):
        if _ROW.match(line) or (table and _RULE.match(line)):
            if not _RULE.match(line):
                table.append([cell.strip() for cell in line.strip().strip("|").split("|")])
            continue
        if table:
            out.extend(table_lines(table))
            table = []
        out.append(_EMPHASIS.sub(r"\2", _HEADING.sub("", line)))
    if table:
        out.extend(table_lines(table))
    return Document(source=source, text="\n".join(out), encoding=encoding,
                    file_hash=hashlib.sha256(raw).hexdigest()[:16], fmt="md")
