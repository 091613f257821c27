"""PDF -> text with page starts (for 第N页 citations), via pdfplumber (pdfminer.six).

The extracted text reads like a plain-text report: running headers, footers and page numbers
are dropped, lines wrapped by the page layout are rejoined into their paragraph (also across a
page break), headings stay on lines of their own, and each table row keeps its column headers.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from statistics import median

from assistant.errors import IngestError
from assistant.ingest.chunking import heading_of
from assistant.ingest.formats import (
    TextBuilder,
    join_cjk,
    make_document,
    normalize_line,
    out_of_memory,
    require_bytes,
    table_lines,
)
from assistant.ingest.loading import NO_LIMITS, ReadLimits
from assistant.records import Document

_PAGE_NUMBER = re.compile(
    r"^(?:[-—–－~·•\s]*\d{1,4}[-—–－~·•\s]*"
    r"|第\s*\d{1,4}\s*页(?:\s*[,，/]?\s*共\s*\d{1,4}\s*页)?"
    r"|\d{1,4}\s*/\s*\d{1,4}"
    r"|[Pp]age\s*\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?"
    r"|[-—–－\s]*[ivxlcIVXLC]{1,6}[-—–－\s]*)$"
)
# pdfminer warns on every damaged font or stream; the outcome reaches the user as the file's result instead
logging.getLogger("pdfminer").setLevel(logging.ERROR)

_CID = re.compile(r"\(cid:\d+\)")
_MARGIN_LINES = 2  # lines at the top and at the bottom of a page that may be a running header/footer
_CJK = re.compile(r"[\u2e80-\u9fff\uff00-\uffef\u3000-\u303f\u2018-\u201f]")
_CLOSING = set("，。、；：！？）》」』】〕”’%％,.;:!?)]")


@dataclass
class Line:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    table: bool = False  # a table row: never joined with its neighbours
    lead: float = 0.0  # width of the line's first unbreakable piece (a character, a number, a Latin word)

    @property
    def size(self) -> float:
        return max(1.0, self.bottom - self.top)


@dataclass
class Stats:
    images: int = 0
    chars: int = 0
    unmapped: int = 0  # (cid:N) glyphs: a font without a ToUnicode map


@dataclass
class PageLines:
    lines: list[Line]
    left: float = 0.0
    right: float = 0.0
    gap: float = 0.0  # usual space between two lines of one paragraph


def load_pdf(path: Path, raw: bytes, source: str, limits: ReadLimits = NO_LIMITS) -> Document:
    require_bytes(raw, source)
    if b"%PDF-" not in raw[:1024]:
        raise IngestError(source, "不是 PDF 文件（开头没有 %PDF 文件头）：请确认文件内容与扩展名一致")
    try:
        pages, stats = _read_pages(raw, source)
    except IngestError:
        raise
    except Exception as exc:  # noqa: BLE001 - pdfminer raises many kinds on a damaged file
        if out_of_memory(exc):
            raise MemoryError from None
        raise IngestError(source, f"PDF 文件已损坏或不完整（{_describe(exc)}）：请重新下载或导出后再导入") from None
    if stats.unmapped > stats.chars / 3:
        raise IngestError(source, f"PDF 的文字层无法解码：{stats.unmapped} 个字形在字体中没有 Unicode 映射"
                                  "（可能是扫描件，或导出时未保留文字）")
    if not any(line.text for page in pages for line in page):
        if stats.images:
            raise IngestError(source, "PDF 没有文字层（可能是扫描件）：暂不支持 OCR，请使用含文字的 PDF")
        raise IngestError(source, "PDF 没有文字层（可能是扫描件）：没有可提取的文字")
    _drop_running_lines(pages)
    builder = TextBuilder()
    _assemble([_layout(p) for p in pages], builder)
    return make_document(source, raw, builder, "pdf", "pdf", pages=True)


def _describe(exc: Exception) -> str:
    msg = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


def _read_pages(raw: bytes, source: str) -> tuple[list[list[Line]], Stats]:
    import pdfplumber
    from pdfminer.pdfdocument import PDFPasswordIncorrect
    from pdfplumber.utils.exceptions import PdfminerException

    try:
        pdf = pdfplumber.open(io.BytesIO(raw))
    except PdfminerException as exc:
        cause = exc.args[0] if exc.args else exc
        if isinstance(cause, PDFPasswordIncorrect):
            raise IngestError(source, "PDF 已加密（需要密码）：请另存一份未加密的副本再导入") from None
        raise
    pages: list[list[Line]] = []
    stats = Stats()
    carried: list[str] | None = None
    with pdf:
        for page in pdf.pages:
            stats.images += len(page.images)
            lines, carried = _page_lines(page, stats, carried)
            pages.append(lines)
            page.close()
    return pages, stats


def _page_lines(page, stats: Stats, carried: list[str] | None) -> tuple[list[Line], list[str] | None]:
    """Text lines and table rows of one page, top to bottom; and the header of a table that runs on.

    A table continued from the previous page without its header row gets that header back.
    """
    tables = page.find_tables()
    boxes = [t.bbox for t in tables]
    lines: list[Line] = []
    for raw_line in page.extract_text_lines(strip=True, return_chars=True):
        mid = (raw_line["top"] + raw_line["bottom"]) / 2
        cx = (raw_line["x0"] + raw_line["x1"]) / 2
        if any(x0 <= cx <= x1 and top <= mid <= bottom for x0, top, x1, bottom in boxes):
            continue
        unmapped = len(_CID.findall(raw_line["text"]))
        text = join_cjk(normalize_line(_CID.sub("", raw_line["text"])))
        stats.unmapped += unmapped
        stats.chars += len(text) + unmapped
        if text:
            lines.append(Line(text, raw_line["x0"], raw_line["x1"], raw_line["top"], raw_line["bottom"],
                              lead=_lead_width(raw_line["chars"])))
    text_tops = sorted(ln.top for ln in lines)
    text_bottoms = sorted((ln.bottom for ln in lines), reverse=True)
    runs_on: list[str] | None = None
    for i, table in enumerate(sorted(tables, key=lambda t: t.bbox[1])):
        x0, top, x1, bottom = table.bbox
        rows = [[c or "" for c in row] for row in table.extract()]
        rows = [row for row in rows if any(c.strip() for c in row)]
        if not rows:
            continue
        opens_page = i == 0 and sum(1 for t in text_tops if t < top) <= _MARGIN_LINES
        if carried and opens_page and len(rows[0]) == len(carried) and rows[0] != carried:
            rows = [carried, *rows]
        if i == len(tables) - 1 and sum(1 for b in text_bottoms if b > bottom) <= _MARGIN_LINES:
            runs_on = rows[0]
        row_lines = table_lines(rows)
        step = (bottom - top) / max(1, len(row_lines))
        for k, row in enumerate(row_lines):
            lines.append(Line(row, x0, x1, top + k * step, top + (k + 1) * step, table=True))
    return sorted(lines, key=lambda ln: (ln.top, ln.x0)), runs_on


def _lead_width(chars: list[dict]) -> float:
    """How much room the line's first piece needed: the layout moved it down when the line above lacked it.

    A piece is one Chinese character with the punctuation that may not start a line, or a run of
    Latin letters, digits and signs up to a space.
    """
    i = 0
    while i < len(chars) and not chars[i]["text"].strip():
        i += 1
    if i == len(chars):
        return 0.0
    first, end = chars[i], i
    cjk = bool(_CJK.match(first["text"]))
    while end + 1 < len(chars) and end - i < 40:
        nxt = chars[end + 1]
        if cjk and nxt["text"] not in _CLOSING:
            break
        if not cjk and (not nxt["text"].strip() or _CJK.match(nxt["text"]) or nxt["x0"] - chars[end]["x1"] > 1.0):
            break
        end += 1
    return float(chars[end]["x1"] - first["x0"])


def _key(text: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", text))


def _drop_running_lines(pages: list[list[Line]]) -> None:
    """Remove page numbers and the headers/footers repeated at the same end of most pages."""
    top_keys: dict[str, int] = {}
    bottom_keys: dict[str, int] = {}
    for lines in pages:
        body = [ln for ln in lines if not ln.table]
        for k in {_key(ln.text) for ln in body[:_MARGIN_LINES]}:
            top_keys[k] = top_keys.get(k, 0) + 1
        for k in {_key(ln.text) for ln in body[-_MARGIN_LINES:]}:
            bottom_keys[k] = bottom_keys.get(k, 0) + 1
    need = max(2, (len(pages) + 1) // 2)
    for i, lines in enumerate(pages):
        for counts, edge in ((top_keys, 0), (bottom_keys, -1)):
            for _ in range(_MARGIN_LINES):
                if not lines or lines[edge].table:
                    break
                line = lines[edge]
                if _PAGE_NUMBER.match(line.text) or counts.get(_key(line.text), 0) >= need:
                    lines.pop(edge)
                else:
                    break
        pages[i] = lines


def _layout(lines: list[Line]) -> PageLines:
    body = [ln for ln in lines if not ln.table]
    if not body:
        return PageLines(lines)
    gaps = [b.top - a.bottom for a, b in zip(body, body[1:], strict=False) if b.top > a.top]
    return PageLines(lines, left=min(ln.x0 for ln in body), right=max(ln.x1 for ln in body),
                     gap=median(gaps) if gaps else 0.0)


def _continues(prev: Line, prev_page: PageLines, nxt: Line, next_page: PageLines, same_page: bool) -> bool:
    """Whether `nxt` continues the paragraph of `prev` (a line wrapped by the layout)."""
    if prev.table or nxt.table:
        return False
    size = nxt.size
    if prev_page.right - prev.x1 > nxt.lead + 1.5 * size:  # room left for the next line's first piece: it ended here
        return False
    if nxt.x0 > next_page.left + 0.8 * size:  # indented: a new paragraph
        return False
    if same_page and nxt.top - prev.bottom > next_page.gap + 0.6 * size:  # extra space between paragraphs
        return False
    return not (heading_of(nxt.text) and prev.text[-1] in "。！？；：!?;:")


def _assemble(pages: list[PageLines], builder: TextBuilder) -> None:
    prev: Line | None = None
    prev_page: PageLines | None = None
    for page in pages:
        first = True
        for line in page.lines:
            if prev is not None and prev_page is not None and _continues(prev, prev_page, line, page, not first):
                builder.add(_joiner(prev.text, line.text))
            else:
                builder.end_line()
            if first:
                builder.start_page()
                first = False
            builder.add(line.text)
            prev, prev_page = line, page
        if first:
            builder.start_page()


def _joiner(before: str, after: str) -> str:
    """No space at a break next to a Chinese character; a space between two Latin words."""
    a, b = before[-1], after[0]
    if _CJK.match(a) or _CJK.match(b) or a == "-":
        return ""
    if a.isascii() and a.isalnum() and b.isascii() and b.isalnum():
        return " "
    return "" if _mostly_cjk(before) else " "


def _mostly_cjk(text: str) -> bool:
    return len(_CJK.findall(text)) * 2 >= len(text.replace(" ", ""))
