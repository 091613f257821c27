"""DOCX -> text via python-docx: one line per paragraph, headings as section lines, table rows with headers.

A paragraph styled as a heading (``Heading N``/``标题 N`` or an outline level) becomes a section the
chunker recognises. When its text carries no numeral of its own (Word numbers headings itself), the
numeral a reader sees is written in front of it: ``一、`` / ``（一）`` / ``1、`` / ``（1）`` by level.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import IngestError
from assistant.ingest.chunking import heading_of
from assistant.ingest.formats import TextBuilder, make_document, normalize_line, require_bytes, table_lines
from assistant.ingest.splitting import is_title
from assistant.records import Document

MAX_UNZIPPED = 512 * 1024 * 1024  # a DOCX that expands beyond this is refused (zip bomb)
# The XML alone: a 300-page report's document.xml is 5–30 MB, packed 5–15 times. More, or packed far
# tighter than text ever is, is a bomb, refused in milliseconds instead of parsed for minutes.
MAX_XML = 80 * 1024 * 1024
MAX_XML_RATIO = 100
_RATIO_FROM = 4 * 1024 * 1024  # small files may pack tightly (a repeated table row) without harm
_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*(\d)$", re.IGNORECASE)
_TITLE_STYLE = re.compile(r"^(?:title|标题)$", re.IGNORECASE)
_CN_DIGITS = "一二三四五六七八九"


@dataclass
class Block:
    kind: str  # "p" (paragraph), "h" (heading), "t" (table rows)
    lines: list[str] = field(default_factory=list)
    level: int = 0


def load_docx(path: Path, raw: bytes, source: str) -> Document:
    require_bytes(raw, source)
    _check_zip(raw, source)
    try:
        import docx

        blocks = _blocks(docx.Document(io.BytesIO(raw)))
    except IngestError:
        raise
    except Exception as exc:  # noqa: BLE001 - python-docx and lxml raise many kinds on a damaged file
        msg = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else ""
        raise IngestError(source, f"damaged DOCX ({type(exc).__name__}{': ' + msg if msg else ''})") from None
    builder = TextBuilder()
    for line in _render(blocks):
        builder.line(line)
    return make_document(source, raw, builder, "docx", "docx")


def _check_zip(raw: bytes, source: str) -> None:
    if not raw.startswith(b"PK"):
        raise IngestError(source, "not a DOCX file (not a zip archive; an old .doc must be saved as .docx)")
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise IngestError(source, f"damaged or truncated DOCX (bad zip archive: {exc})") from None
    names = {i.filename for i in infos}
    if "word/document.xml" not in names:
        shown = ", ".join(sorted(names)[:3]) or "nothing"
        raise IngestError(source, f"not a Word document: the zip holds no word/document.xml (it holds {shown})")
    unzipped = sum(i.file_size for i in infos)
    if unzipped > MAX_UNZIPPED:
        raise IngestError(source, f"DOCX expands to {unzipped / 1e6:.0f} MB, over the limit of {MAX_UNZIPPED / 1e6:.0f} MB")
    xml = [i for i in infos if i.filename.endswith((".xml", ".rels"))]
    xml_size = sum(i.file_size for i in xml)
    packed = max(1, sum(i.compress_size for i in xml))
    if xml_size > MAX_XML:
        raise IngestError(source, f"DOCX text (XML) unpacks to {xml_size / 1e6:.0f} MB, over the limit of "
                                  f"{MAX_XML / 1e6:.0f} MB; not parsed")
    if xml_size > _RATIO_FROM and xml_size / packed > MAX_XML_RATIO:
        raise IngestError(source, f"DOCX XML is packed {xml_size / packed:.0f} times (ordinary documents: under 20); "
                                  "refused as a zip bomb")


def _blocks(document) -> list[Block]:
    from docx.table import Table

    blocks: list[Block] = []
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            rows = _table_rows(item)
            blocks.append(Block("t", table_lines(rows)))
            continue
        lines = [normalize_line(t) for t in item.text.split("\n")]
        lines = [t for t in lines if t]
        if not lines:
            continue
        level = _heading_level(item)
        if level is not None and len(lines) == 1:
            blocks.append(Block("h", lines, level))
        else:
            blocks.append(Block("p", lines))
    return blocks


def _table_rows(table) -> list[list[str]]:
    rows = []
    for row in table.rows:
        cells, seen = [], None
        for cell in row.cells:
            if cell._tc is seen:  # a horizontally merged cell repeats; keep it once
                continue
            seen = cell._tc
            cells.append(cell.text)
        rows.append(cells)
    return rows


def _heading_level(paragraph) -> int | None:
    """1-based heading level from the style name or an outline level; 0 for a title; None for body text."""
    style = paragraph.style
    name = (style.name or "") if style is not None else ""
    if _TITLE_STYLE.match(name):
        return 0
    m = _HEADING_STYLE.match(name)
    if m:
        return max(1, int(m.group(1)))
    for element in (paragraph._p, style.element if style is not None else None):
        if element is None:
            continue
        vals = element.xpath("./w:pPr/w:outlineLvl/@w:val")
        if vals and vals[0].isdigit() and int(vals[0]) < 9:
            return int(vals[0]) + 1
    return None


def _render(blocks: list[Block]) -> list[str]:
    """Lines of the extracted text; headings without a numeral get the one Word would show."""
    levels = sorted({b.level for b in blocks if b.kind == "h" and b.level > 0 and not is_title(b.lines[0])})
    rank = {lvl: min(i + 1, 4) for i, lvl in enumerate(levels)}
    counters = [0, 0, 0, 0, 0]
    out: list[str] = []
    for b in blocks:
        if b.kind != "h" or b.level == 0 or is_title(b.lines[0]):
            out.extend(b.lines)
            continue
        level = rank[b.level]
        counters[level] += 1
        for deeper in range(level + 1, 5):
            counters[deeper] = 0
        text = b.lines[0]
        out.append(text if heading_of(text) else numeral(level, counters[level]) + text)
    return out


def numeral(level: int, n: int) -> str:
    """The heading numeral the chunker recognises at each level: 一、 （一） 1、 （1）."""
    if level >= 3:
        return f"{n}、" if level == 3 else f"（{n}）"
    cn = chinese_number(n)
    return f"{cn}、" if level == 1 else f"（{cn}）"


def chinese_number(n: int) -> str:
    if n < 10:
        return _CN_DIGITS[n - 1] if n > 0 else "零"
    tens, ones = divmod(min(n, 99), 10)
    return ("" if tens == 1 else _CN_DIGITS[tens - 1]) + "十" + (_CN_DIGITS[ones - 1] if ones else "")
