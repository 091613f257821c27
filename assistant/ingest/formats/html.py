"""HTML -> the main text of a (government) web page, via selectolax and a few rules.

Scripts, navigation, headers, footers, share bars and link lists are dropped; the content block is
the element whose paragraphs hold the most text (as in readability). Its text is laid out one
paragraph per line, tables one row per line with their headers, and the page title goes first when
the content block lacks it.

Text lengths are measured once per element, bottom-up (`_measure`): asking each element for its deep
text made a page nested 20,000 levels deep cost minutes (quadratic in depth).
"""

from __future__ import annotations

import codecs
import operator
import re
from itertools import accumulate
from pathlib import Path
from typing import Any, NamedTuple

from assistant.errors import IngestError
from assistant.ingest.formats import (
    TextBuilder,
    join_cjk,
    make_document,
    normalize_line,
    out_of_memory,
    require_bytes,
    table_lines,
)
from assistant.ingest.loading import NO_LIMITS, ReadLimits, decode_bytes
from assistant.records import Document

_DROP_TAGS = ["script", "style", "noscript", "template", "iframe", "svg", "canvas", "object", "embed", "form",
              "button", "select", "input", "textarea", "nav", "header", "footer", "aside", "head", "menu", "dialog"]
_BOILER = re.compile(
    r"(?:^|[-_\s])(?:nav|navbar|navigation|menu|footer|foot|header|breadcrumbs?|crumbs?|share|bdshare\w*|sidebar|"
    r"side|banner|copyright|toolbar|search|login|related|comments?|pager|pagination|topbar|gotop|friendlinks?|"
    r"links|dh|daohang|wzdh|xgwz|xgxx|fxd|print|qrcode|ewm)(?:[-_\s\d]|$)",
    re.IGNORECASE,
)
_BOILER_ROLES = {"navigation", "banner", "contentinfo", "search", "complementary"}
_HIDDEN = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_BLOCK = {"p", "div", "section", "article", "main", "li", "ul", "ol", "dl", "dt", "dd", "blockquote", "pre",
          "h1", "h2", "h3", "h4", "h5", "h6", "tr", "td", "th", "table", "tbody", "thead", "center", "body",
          "address", "figure", "figcaption", "hr", "tfoot", "caption", "html"}
_PARAGRAPH = {"p", "li", "pre", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "dd"}
_CONTAINER = {"div", "td", "section", "article", "main", "center", "body", "font", "span"}
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_\-]{2,30})""", re.IGNORECASE)
_GB = {"gb2312", "gbk", "gb_2312-80", "x-gbk", "gb2312-80", "euc-cn", "cp936"}
_TITLE_SPLIT = re.compile(r"\s*[_|｜]\s*|\s+[-—－]\s+")
_MAX_DEPTH = 150
_WHITE = re.compile(r"\s")
_NESTING = ("div|section|article|main|aside|nav|header|footer|center|blockquote|ul|ol|dl|menu|dir|table|form|"
            "fieldset|figure|figcaption|details|summary|dialog|address|hgroup|search")
_BLOCK_TAG = re.compile(rf"<(/?)(?:{_NESTING})[\s/>]")  # on the lower-cased page
_STEP = {"": 1, "/": -1}
_SKIPPED = re.compile(r"<!--.*?-->|<(script|style|textarea|title)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_SOURCE_BREAK = re.compile(r"(?<=[\u2e80-\u9fff\uff00-\uffef])[ \t]*\n\s*(?=[\u2e80-\u9fff\uff00-\uffef])")


def load_html(path: Path, raw: bytes, source: str, limits: ReadLimits = NO_LIMITS) -> Document:
    require_bytes(raw, source)
    text, encoding = decode_html(raw, source)
    depth = nesting_depth(text)
    if depth > limits.html_depth:
        raise IngestError(source, f"HTML 块级元素嵌套 {depth:,} 层，超过上限 {limits.html_depth:,} 层"
                                  "（REPORTQA_MAX_HTML_DEPTH），未解析")
    try:
        lines = extract_lines(text)
    except Exception as exc:  # noqa: BLE001 - a parser failure on a broken page is one file's error
        if out_of_memory(exc):
            raise MemoryError from None
        raise IngestError(source, f"无法解析 HTML（{type(exc).__name__}: {str(exc)[:100]}）") from None
    builder = TextBuilder()
    for line in lines:
        builder.line(line)
    if not builder.length:
        raise IngestError(source, "HTML 网页中没有找到正文")
    return make_document(source, raw, builder, "html", encoding)


def decode_html(raw: bytes, source: str) -> tuple[str, str]:
    """UTF-8, else the declared charset (GB2312/GBK read as GB18030), else the detector of plain-text files.

    A UTF-8 page with a few damaged bytes (a cut download) keeps its text, the bad bytes shown as U+FFFD.
    """
    if raw.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return decode_bytes(raw, source)
    m = _META_CHARSET.search(raw[:8192])
    declared = m.group(1).decode("ascii").lower() if m else None
    lenient = raw.decode("utf-8", errors="replace")
    damaged = lenient.count("\ufffd")
    if damaged == 0 or (declared in (None, "utf-8", "utf8") and damaged <= max(1, len(raw) // 1000)):
        return lenient.replace("\r\n", "\n"), "utf-8"
    if declared:
        encoding = "gb18030" if declared in _GB else declared
        try:
            return raw.decode(encoding).replace("\r\n", "\n"), encoding
        except (UnicodeDecodeError, LookupError):
            pass
    return decode_bytes(raw, source)


def nesting_depth(html: str) -> int:
    """How deep the page's block elements nest, counted from its tags without parsing it.

    The parser walks its stack of open elements at each block start tag, so its cost grows with the
    square of this depth (20,000 levels: about a second, 80,000: about a minute). Elements that close
    themselves (``<p>``, ``<li>``, ``<td>``, void elements) and inline ones are not counted: they do
    not pile up, so a sloppy page with unclosed ``<p>`` or ``<font>`` tags is not refused.
    """
    steps = list(accumulate(map(_STEP.__getitem__, _BLOCK_TAG.findall(_SKIPPED.sub("", html).lower()))))
    # a stray closing tag is ignored, so the depth is the running sum above its lowest point so far
    lowest = accumulate(steps, min, initial=0)
    next(lowest)
    return max(map(operator.sub, steps, lowest), default=0)


def extract_lines(html: str) -> list[str]:
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    titles = _titles(tree)
    root = tree.body or tree.root
    if root is None:
        return []
    root.strip_tags(_DROP_TAGS)
    for node in list(root.css("[class], [id], [role], [style], [hidden]")):
        if _is_boilerplate(node):
            node.decompose()
    sizes = _measure(root)
    lines: list[str] = []
    current = [""]
    for node in _content_nodes(root, sizes):
        _render(node, lines, current, 0, sizes)
        _flush(lines, current)
    lines = [normalize_line(line) for line in lines]
    lines = [line for line in lines if line]
    title = next((t for t in titles if t), "")
    if title and not any(title in line for line in lines[:5]):
        lines.insert(0, title)
    return lines


def _titles(tree) -> list[str]:
    """The page's own title: its first <h1>, else the <title> without the site name."""
    out = []
    h1 = tree.css_first("h1")
    if h1 is not None:
        out.append(join_cjk(normalize_line(h1.text(deep=True))))
    title = tree.css_first("title")
    if title is not None:
        parts = [p for p in _TITLE_SPLIT.split(normalize_line(title.text(deep=True))) if p]
        if parts:
            out.append(join_cjk(max(parts[:2], key=len)))
    return out


def _is_boilerplate(node) -> bool:
    attrs = node.attributes
    if (attrs.get("role") or "").lower() in _BOILER_ROLES or "hidden" in attrs:
        return True
    if _HIDDEN.search(attrs.get("style") or ""):
        return True
    if node.tag in ("body", "html"):
        return False
    names = f"{attrs.get('class') or ''} {attrs.get('id') or ''}"
    return bool(_BOILER.search(names))


class Size(NamedTuple):
    """An element's text as `text(deep=True, strip=True)` reads it, and the share of it inside links."""

    stripped: int  # characters of its text nodes, each stripped
    solid: int  # of those, the ones that are not white space
    links: int  # <a> elements inside it
    link_chars: int  # stripped characters inside those links


_NO_TEXT = Size(0, 0, 0, 0)


def _measure(root) -> dict[int, Size]:
    """`Size` of every element under `root`, children before parents (reverse document order), so each
    text node is read once and the whole page costs time linear in its size, however deep it nests."""
    sizes: dict[int, Size] = {}
    for node in reversed(list(root.traverse())):
        stripped = solid = links = link_chars = 0
        child = node.child
        while child is not None:
            tag = child.tag
            if tag == "-text":
                text = child.text(deep=True, separator="", strip=True)
                stripped += len(text)
                solid += len(text) - len(_WHITE.findall(text))
            else:
                size = sizes.get(child.mem_id, _NO_TEXT)
                stripped += size.stripped
                solid += size.solid
                links += size.links + (tag == "a")
                link_chars += size.link_chars + (size.stripped if tag == "a" else 0)
            child = child.next
        sizes[node.mem_id] = Size(stripped, solid, links, link_chars)
    return sizes


def _content_nodes(root, sizes: dict[int, Size]) -> list:
    """The element whose paragraphs hold the most (non-link) text, with its siblings that hold text too.

    Siblings count when the content is split over several blocks (``<div>`` paragraphs, pages).
    """
    scores: dict[int, float] = {}
    nodes: dict[int, Any] = {}

    def credit(node, amount: float) -> None:
        if node is not None and node.tag in _CONTAINER | {"p", "li"}:
            scores[node.mem_id] = scores.get(node.mem_id, 0.0) + amount
            nodes[node.mem_id] = node

    for node in root.traverse():
        if node.tag in _PARAGRAPH:
            n = _text_len(node, sizes)
            if n >= 10:
                parent = node.parent
                credit(parent, n)
                credit(parent.parent if parent is not None else None, n / 2)
        elif node.tag in _CONTAINER:
            n = _own_text_len(node, sizes)
            if n >= 10:
                credit(node, n)
                credit(node.parent, 0.9 * n if _is_leaf(node) else n / 2)  # <div> paragraphs: their parent
    if not scores:
        return [root]
    best_id = max(scores, key=lambda k: scores[k])
    best = nodes[best_id]
    parent = best.parent
    if parent is None or best.tag in ("body", "html"):
        return [best]
    keep = max(10.0, 0.2 * scores[best_id])
    out = []
    child = parent.child
    while child is not None:
        if child.mem_id == best_id or scores.get(child.mem_id, 0.0) >= keep or (
            child.tag == "p" and _text_len(child, sizes) >= 40 and not _link_list(child, sizes)
        ):
            out.append(child)
        child = child.next
    return out


def _is_leaf(node) -> bool:
    child = node.child
    while child is not None:
        if child.tag in _BLOCK:
            return False
        child = child.next
    return True


def _text_len(node, sizes: dict[int, Size]) -> int:
    """Characters that are neither white space nor link text."""
    size = sizes.get(node.mem_id, _NO_TEXT)
    return size.solid - size.link_chars


def _own_text_len(node, sizes: dict[int, Size]) -> int:
    """Text of the element's own text children and inline elements (``text<br>text`` pages)."""
    total = 0
    child = node.child
    while child is not None:
        if child.tag == "-text":
            total += len((child.text_content or "").strip())
        elif child.tag not in _BLOCK and child.tag != "a":
            total += sizes.get(child.mem_id, _NO_TEXT).stripped
        child = child.next
    return total


def _link_list(node, sizes: dict[int, Size]) -> bool:
    size = sizes.get(node.mem_id, _NO_TEXT)
    if size.links < 3:
        return False
    return size.link_chars / (size.stripped or 1) > 0.6


def _render(node, lines: list[str], current: list[str], depth: int, sizes: dict[int, Size],
            preformatted: bool = False) -> None:
    """Walk the content element: inline text joins the current line, blocks and <br> end it."""
    child = node.child
    while child is not None:
        tag = child.tag
        if tag == "-text":
            text = child.text_content or ""
            current[0] += text if preformatted else _SOURCE_BREAK.sub("", text).replace("\n", " ")
        elif tag == "br":
            _flush(lines, current)
        elif tag == "table":
            _flush(lines, current)
            lines.extend(table_lines(_table_rows(child)))
        elif tag in _BLOCK:
            _flush(lines, current)
            if not _link_list(child, sizes):
                if depth < _MAX_DEPTH:
                    _render(child, lines, current, depth + 1, sizes, preformatted or tag == "pre")
                else:
                    current[0] += child.text(deep=True, separator="\n")
            _flush(lines, current)
        elif tag not in ("-comment", "img"):
            if depth < _MAX_DEPTH:
                _render(child, lines, current, depth + 1, sizes, preformatted)
            else:
                current[0] += child.text(deep=True).replace("\n", " ")
        child = child.next


def _flush(lines: list[str], current: list[str]) -> None:
    if current[0].strip():
        lines.extend(current[0].split("\n"))
    current[0] = ""


def _table_rows(table) -> list[list[str]]:
    rows = []
    for tr in table.css("tr"):
        cells = [c.text(deep=True, separator=" ") for c in tr.iter() if c.tag in ("td", "th")]
        if cells:
            rows.append(cells)
    return rows
