"""Find where reports start in a file that may hold several (a compilation with a table of contents)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.ingest.cleaning import iter_lines

TITLE = re.compile(
    r"^(?:[（(][^）)]{1,8}[）)])?[^。，,；;：:!！?？]{2,80}?(?:工作报告|的报告|报告)(?:[（(][^）)]{0,20}[）)])?$"
)
DATE_LINE = re.compile(r"^[—\-－]*\s*(\d{4})年(\d{1,2})月(\d{1,2})日在.{2,60}?会议上")
_TOC_LINE = re.compile(r"^\d{1,3}[.、．]")
_TOC_MARK = re.compile(r"目\s*录")


@dataclass(frozen=True)
class ReportSpan:
    start: int
    end: int
    header_lines: tuple[tuple[int, int], ...]  # title / date lines found at the start


def _kept_lines(text: str, mask: bytearray) -> list[tuple[int, int, str]]:
    out = []
    for s, e in iter_lines(text):
        if e > s and not any(mask[s:e]):
            line = text[s:e].strip()
            if line:
                out.append((s, e, line))
    return out


def is_title(line: str) -> bool:
    if not TITLE.match(line) or _TOC_LINE.match(line) or line.startswith(("一、", "二、", "三、")):
        return False
    return "工作报告" in line or (line.startswith("关于") and line.endswith("的报告")) or bool(re.search(r"\d{4}年", line))


def find_reports(text: str, mask: bytearray) -> list[ReportSpan]:
    """Split a file at title/date lines; the part before the first report is dropped if it is
    a table of contents or web header, kept as a fragment otherwise."""
    lines = _kept_lines(text, mask)
    starts: list[tuple[int, list[tuple[int, int]]]] = []
    i = 0
    while i < len(lines):
        s, e, line = lines[i]
        if is_title(line) or DATE_LINE.match(line):
            header = [(s, e)]
            j = i + 1
            if is_title(line):
                # the date line (and a speaker line) follow a title within a few lines
                for k in range(i + 1, min(i + 4, len(lines))):
                    if DATE_LINE.match(lines[k][2]):
                        header.append(lines[k][:2])
                        j = k + 1
                        break
            starts.append((s, header))
            i = j
            continue
        i += 1
    if not starts:
        return [ReportSpan(lines[0][0] if lines else 0, len(text), ())]
    spans: list[ReportSpan] = []
    first = starts[0][0]
    pre = [ln for ln in lines if ln[0] < first]
    pre_chars = sum(len(ln[2]) for ln in pre)
    if pre and pre_chars > 800 and not any(_TOC_MARK.search(ln[2]) for ln in pre):
        spans.append(ReportSpan(pre[0][0], first, ()))
    for n, (s, header) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(text)
        spans.append(ReportSpan(s, end, tuple(header)))
    return spans
