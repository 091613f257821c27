"""DOCX -> text from the document XML: one line per paragraph, headings as section lines, table rows
with headers.

A paragraph styled as a heading (``Heading N``/``标题 N`` or an outline level) becomes a section the
chunker recognises. When its text carries no numeral of its own (Word numbers headings itself), the
numeral a reader sees is written in front of it: ``一、`` / ``（一）`` / ``1、`` / ``（1）`` by level.

The body is read straight from ``word/document.xml`` with lxml, each paragraph's style resolved once
per style id from the styles part: python-docx spent ~2 ms a paragraph looking the default style up
again. The text is the one python-docx gives (``Paragraph.text``, ``_Row.cells``, ``_Cell.text``),
so offsets and chunk ids stay as they were; body elements are freed once read.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from assistant.errors import IngestError
from assistant.ingest.chunking import heading_of
from assistant.ingest.formats import (
    TextBuilder,
    make_document,
    normalize_line,
    out_of_memory,
    require_bytes,
    table_lines,
)
from assistant.ingest.loading import NO_LIMITS, ReadLimits
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

_DOCUMENT = "word/document.xml"
_DOCUMENT_RELS = "word/_rels/document.xml.rels"
_STYLES_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles"
_RELS_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_W_NS = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_BODY, _P, _TBL, _TR, _TC, _R, _HYPERLINK = (_W_NS + t for t in ("body", "p", "tbl", "tr", "tc", "r", "hyperlink"))
_PPR, _PSTYLE, _OUTLINE, _TCPR, _TRPR = (_W_NS + t for t in ("pPr", "pStyle", "outlineLvl", "tcPr", "trPr"))
_GRID_SPAN, _GRID_BEFORE, _VMERGE = (_W_NS + t for t in ("gridSpan", "gridBefore", "vMerge"))
_STYLE, _NAME, _T, _BR = (_W_NS + t for t in ("style", "name", "t", "br"))
_VAL, _TYPE, _DEFAULT, _STYLE_ID = (_W_NS + t for t in ("val", "type", "default", "styleId"))
# run children with a fixed text (python-docx's CT_Cr, CT_NoBreakHyphen, CT_PTab, CT_TabStop)
_RUN_CHARS = {_W_NS + "cr": "\n", _W_NS + "noBreakHyphen": "-", _W_NS + "ptab": "\t", _W_NS + "tab": "\t"}
_ON = {"1", "true", "on"}


@dataclass
class Block:
    kind: str  # "p" (paragraph), "h" (heading), "t" (table rows)
    lines: list[str] = field(default_factory=list)
    level: int = 0


def load_docx(path: Path, raw: bytes, source: str, limits: ReadLimits = NO_LIMITS) -> Document:
    require_bytes(raw, source)
    _check_zip(raw, source)
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            styles = Styles(_styles_xml(zf))
            with zf.open(_DOCUMENT) as xml:
                blocks = _blocks(xml, styles)
    except IngestError:
        raise
    except Exception as exc:  # noqa: BLE001 - zipfile and lxml raise many kinds on a damaged file
        if out_of_memory(exc):
            raise MemoryError from None
        msg = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else ""
        raise IngestError(source, f"DOCX 文件已损坏（{type(exc).__name__}{': ' + msg if msg else ''}）") from None
    builder = TextBuilder()
    for line in _render(blocks):
        builder.line(line)
    return make_document(source, raw, builder, "docx", "docx")


def _check_zip(raw: bytes, source: str) -> None:
    if not raw.startswith(b"PK"):
        raise IngestError(source, "不是 DOCX 文件（不是 zip 压缩包）：旧版 .doc 文件请先在 Word 中另存为 .docx")
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise IngestError(source, f"DOCX 文件已损坏或不完整（zip 压缩包无效：{exc}）：请重新下载或另存后再导入") from None
    names = {i.filename for i in infos}
    if _DOCUMENT not in names:
        shown = "、".join(sorted(names)[:3]) or "空"
        raise IngestError(source, f"不是 Word 文档：压缩包里没有 word/document.xml（里面是：{shown}）")
    unzipped = sum(i.file_size for i in infos)
    if unzipped > MAX_UNZIPPED:
        raise IngestError(source, f"DOCX 解压后有 {unzipped / 1e6:.0f} MB，超过 {MAX_UNZIPPED / 1e6:.0f} MB 的上限，未解析")
    xml = [i for i in infos if i.filename.endswith((".xml", ".rels"))]
    xml_size = sum(i.file_size for i in xml)
    packed = max(1, sum(i.compress_size for i in xml))
    if xml_size > MAX_XML:
        raise IngestError(source, f"DOCX 的正文（XML）解压后有 {xml_size / 1e6:.0f} MB，超过 "
                                  f"{MAX_XML / 1e6:.0f} MB 的上限，未解析")
    if xml_size > _RATIO_FROM and xml_size / packed > MAX_XML_RATIO:
        raise IngestError(source, f"DOCX 的 XML 压缩了 {xml_size / packed:.0f} 倍（普通文档不到 20 倍），"
                                  "疑似压缩炸弹，拒绝读取")


def _parse(data: bytes) -> Any:
    from lxml import etree

    return etree.fromstring(data, etree.XMLParser(remove_blank_text=True, resolve_entities=False))  # as python-docx


def _styles_xml(zf: zipfile.ZipFile) -> bytes | None:
    """The styles part the document's relationships name; python-docx's default styles when it has none."""
    try:
        rels = _parse(zf.read(_DOCUMENT_RELS))
    except KeyError:
        rels = None
    for rel in rels if rels is not None else ():
        if rel.tag == _RELS_NS + "Relationship" and rel.get("Type") == _STYLES_REL and rel.get("TargetMode") != "External":
            target = rel.get("Target") or ""
            name = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("word", target))
            try:
                return zf.read(name)
            except KeyError:
                break
    try:
        from importlib.resources import files

        return (files("docx") / "templates" / "default-styles.xml").read_bytes()
    except (ModuleNotFoundError, OSError):
        return None


class Styles:
    """Heading levels by paragraph style id, looked up as python-docx does (`Styles.get_by_id`): an
    unknown id, or one of a style that is not a paragraph style, means the default paragraph style."""

    def __init__(self, xml: bytes | None):
        self._by_id: dict[str | None, Any] = {}
        self._default: Any = None
        for style in _parse(xml) if xml is not None else ():
            if style.tag != _STYLE:
                continue
            self._by_id.setdefault(style.get(_STYLE_ID), style)
            if (style.get(_TYPE) or "paragraph") == "paragraph" and (style.get(_DEFAULT) or "") in _ON:
                self._default = style  # the last default wins, as the spec says
        self._levels: dict[str | None, tuple[int | None, int | None]] = {}

    def levels(self, style_id: str | None) -> tuple[int | None, int | None]:
        """(level from the style's name, level from its outline) of the style a paragraph names."""
        if style_id not in self._levels:
            style = self._by_id.get(style_id) if style_id else None
            if style is None or (style.get(_TYPE) or "paragraph") != "paragraph":
                style = self._default
            self._levels[style_id] = _style_levels(style)
        return self._levels[style_id]


def _style_levels(style) -> tuple[int | None, int | None]:
    if style is None:
        return None, None
    name_el = style.find(_NAME)
    name = (name_el.get(_VAL) or "") if name_el is not None else ""
    if _TITLE_STYLE.match(name):
        return 0, _outline_level(style)
    m = _HEADING_STYLE.match(name)
    return (max(1, int(m.group(1))) if m else None), _outline_level(style)


def _outline_level(element) -> int | None:
    """1-based level of ``./w:pPr/w:outlineLvl/@w:val`` (the first one), if it is 0-8."""
    for ppr in element.iterchildren(_PPR):
        for outline in ppr.iterchildren(_OUTLINE):
            val = outline.get(_VAL)
            if val is not None:
                return int(val) + 1 if val.isdigit() and int(val) < 9 else None
    return None


def _body_elements(xml: IO[bytes]) -> Iterator:
    """The body's own paragraphs and tables, in document order; each freed once the caller is done."""
    from lxml import etree

    for _, element in etree.iterparse(xml, events=("end",), tag=(_P, _TBL), remove_blank_text=True,
                                      resolve_entities=False):
        body = element.getparent()
        if body is None or body.tag != _BODY or body.getparent() is None or body.getparent().getparent() is not None:
            continue
        yield element
        element.clear(keep_tail=True)
        while element.getprevious() is not None:
            del body[0]


def _blocks(xml: IO[bytes], styles: Styles) -> list[Block]:
    blocks: list[Block] = []
    for item in _body_elements(xml):
        if item.tag == _TBL:
            blocks.append(Block("t", table_lines(_table_rows(item))))
            continue
        lines = [normalize_line(t) for t in _paragraph_text(item).split("\n")]
        lines = [t for t in lines if t]
        if not lines:
            continue
        level = _heading_level(item, styles)
        if level is not None and len(lines) == 1:
            blocks.append(Block("h", lines, level))
        else:
            blocks.append(Block("p", lines))
    return blocks


def _heading_level(p, styles: Styles) -> int | None:
    """1-based heading level from the style name or an outline level; 0 for a title; None for body text."""
    style_id = None
    ppr = p.find(_PPR)
    if ppr is not None:
        pstyle = ppr.find(_PSTYLE)
        style_id = pstyle.get(_VAL) if pstyle is not None else None
    by_name, by_style_outline = styles.levels(style_id)
    if by_name is not None:
        return by_name
    own = _outline_level(p)
    return own if own is not None else by_style_outline


def _paragraph_text(p) -> str:
    """python-docx's `Paragraph.text`: the paragraph's own runs and hyperlinks' runs."""
    parts: list[str] = []
    for child in p:
        if child.tag == _R:
            _run_text(child, parts)
        elif child.tag == _HYPERLINK:
            for run in child.iterchildren(_R):
                _run_text(run, parts)
    return "".join(parts)


def _run_text(run, parts: list[str]) -> None:
    for e in run:
        tag = e.tag
        if tag == _T:
            parts.append(e.text or "")
        elif tag == _BR:
            if (e.get(_TYPE) or "textWrapping") == "textWrapping":  # page and column breaks are no text
                parts.append("\n")
        elif tag in _RUN_CHARS:
            parts.append(_RUN_CHARS[tag])


def _table_rows(tbl) -> list[list[str]]:
    """Cell texts row by row, as python-docx's ``_Row.cells`` gives them: a cell spanning columns
    once, a vertically merged cell repeated from the one above it."""
    rows = []
    for tr in tbl.iterchildren(_TR):
        cells, seen = [], None
        for tc in _row_cells(tr):
            if tc is seen:  # a horizontally merged cell repeats; keep it once
                continue
            seen = tc
            cells.append("\n".join(_paragraph_text(p) for p in tc.iterchildren(_P)))
        rows.append(cells)
    return rows


def _row_cells(tr) -> Iterator:
    for tc in tr.iterchildren(_TC):
        yield from _grid_cells(tc)


def _grid_cells(tc) -> Iterator:
    if _vmerge(tc) == "continue":
        yield from _grid_cells(_tc_above(tc))
        return
    for _ in range(_grid_span(tc)):
        yield tc


def _vmerge(tc) -> str | None:
    tcpr = tc.find(_TCPR)
    vmerge = tcpr.find(_VMERGE) if tcpr is not None else None
    return None if vmerge is None else vmerge.get(_VAL, "continue")


def _grid_span(tc) -> int:
    tcpr = tc.find(_TCPR)
    span = tcpr.find(_GRID_SPAN) if tcpr is not None else None
    return 1 if span is None else int(span.get(_VAL))


def _grid_before(tr) -> int:
    trpr = tr.find(_TRPR)
    before = trpr.find(_GRID_BEFORE) if trpr is not None else None
    return 0 if before is None else int(before.get(_VAL))


def _tc_above(tc):
    """The cell in the row above that starts at this cell's grid column (python-docx's `_tc_above`)."""
    tr = tc.getparent()
    above = tr.getprevious()
    while above is not None and above.tag != _TR:
        above = above.getprevious()
    if above is None:
        raise ValueError("no tr above topmost tr in w:tbl")
    offset = _grid_before(tr) + sum(_grid_span(t) for t in tc.itersiblings(_TC, preceding=True))
    remaining = offset - _grid_before(above)
    for cell in above.iterchildren(_TC):
        if remaining < 0:
            break
        if remaining == 0:
            return cell
        remaining -= _grid_span(cell)
    raise ValueError(f"no `tc` element at grid_offset={offset}")


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
