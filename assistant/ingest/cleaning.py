"""Find web boilerplate without rewriting text: the result is a mask of removed spans.

Whole boilerplate lines are removed; promotional snippets glued into report lines
(``更多资料+【公众号…】``) are removed as spans, so every chunk stays an exact slice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_LINE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("site header", re.compile(r"^.{0,20}欢迎您[!！]?$")),
    ("search box", re.compile(r"^搜索[:：]?\s*$")),
    ("breadcrumb", re.compile(r"当前位置")),
    ("prev/next link", re.compile(r"^(上一篇|下一篇)")),
    ("copyright", re.compile(r"版权所有|Copyright|©")),
    ("ICP number", re.compile(r"ICP(备|证)")),
    ("navigation menu", re.compile(r"^导航(菜单|栏)$")),
    ("page tools", re.compile(r"^[【\[]?关闭[】\]]?\s*[【\[]?打印[】\]]?$|建议使用IE|分辨率以上浏览|^字号[:：]")),
    ("site disclaimer", re.compile(r"本文仅代表作者观点|不代表本站立场|^本文地址[:：]|^留言与评论|^验证码[:：]?$|^发布时间[:：].{0,30}来源[:：]")),
    ("page tools", re.compile(r"^正文复制$|^合集$|^解读[:：]|^分享到[:：]?")),
    ("table of contents", re.compile(r"^目\s*录$")),
    ("table of contents", re.compile(r"^\d{1,3}[.、．]\s*\d{4}年.{2,40}报告\s*\d{1,4}$")),
]

PROMO = re.compile(r"更多资料(?:\+?【[^】\n]{0,20}】|\+?[A-Za-z]{1,8}[:：][A-Za-z0-9]{0,8}(?:整理)?[,，]?)")


@dataclass(frozen=True)
class Removed:
    start: int
    end: int
    reason: str
    text: str


def iter_lines(text: str):
    """(start, end) of each line, without the newline."""
    pos = 0
    for line in text.split("\n"):
        yield pos, pos + len(line)
        pos += len(line) + 1


def find_boilerplate(text: str) -> list[Removed]:
    removed: list[Removed] = []
    for start, end in iter_lines(text):
        line = text[start:end].strip()
        if not line:
            continue
        reason = next((r for r, pat in _LINE_PATTERNS if pat.search(line)), None)
        if reason is None and PROMO.fullmatch(line):
            reason = "promotion"
        if reason:
            removed.append(Removed(start, end, reason, text[start:end]))
            continue
        for m in PROMO.finditer(text, start, end):
            removed.append(Removed(m.start(), m.end(), "promotion", m.group()))
    return removed


def removed_mask(text: str, removed: list[Removed]) -> bytearray:
    mask = bytearray(len(text))
    for r in removed:
        mask[r.start : r.end] = b"\x01" * (r.end - r.start)
    return mask
