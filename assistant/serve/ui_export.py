"""A whole conversation as a file to keep: Markdown (each answer with its [n], then its footnotes) and
Word (the cited passages too, the cited sentence highlighted).

What an export needs of an answer is taken when the answer is made (`export_record`) and kept in the
chat's turn, plain data in the session state; the files are written into a folder of their own per
request, so two users never share one. python-docx is imported only when a Word file is written.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from assistant.records import Answer
from assistant.serve.ui_render import footnote, plain_body, source_line

EXPORT_PREFIX = "reportqa-export-"
MAX_AGE_S = 3600
TITLE = "报告问答 · 对话记录"
FONT = "宋体"  # East Asian text in Word: without a named font Word may fall back to one without the glyphs


def export_record(answer: Answer, marks: dict[int, list[tuple[int, int]]]) -> dict[str, Any]:
    """The answer as the exports show it: body text, footnotes, and each cited passage with the spans
    its card highlights (`marks`, by citation number)."""
    return {
        "body": plain_body(answer),
        "footnotes": [footnote(c) for c in answer.citations],
        "sources": [{"head": source_line(c), "text": c.text, "marks": [list(m) for m in marks.get(c.n, [])]}
                    for c in answer.citations],
    }


def _asked(turn: dict[str, Any]) -> list[str]:
    """The question, and how it was read when that differs (a follow-up read with what came before)."""
    lines = [turn["question"]]
    if turn.get("read_as"):
        lines.append(f"理解为：{turn['read_as']}")
    if turn.get("filters_text"):
        lines.append(f"筛选：{turn['filters_text']}")
    return lines


def _md_lines(text: str) -> str:
    """Line breaks kept when the Markdown is rendered (a bare newline would run the lines together)."""
    return "  \n".join(line.rstrip() for line in text.split("\n"))


def conversation_markdown(turns: Sequence[dict[str, Any]], now: datetime | None = None) -> str:
    """Questions as headings, answers with their [n], each footnote a paragraph of its own (Markdown
    would run consecutive lines together)."""
    when = (now or datetime.now()).strftime("%Y-%m-%d %H:%M")
    out = [f"# {TITLE}", f"导出时间：{when}　共 {len(turns)} 个问题"]
    for i, turn in enumerate(turns, 1):
        question, *read = _asked(turn)
        out.append(f"## {i}. {question}")
        out += [f"*{line}*" for line in read]
        out += [_md_lines(part) for part in (turn["export"]["body"] or "（没有回答）").split("\n\n")]
        if turn["export"]["footnotes"]:
            out.append("**引用来源**")
            out += [_md_lines(f) for f in turn["export"]["footnotes"]]
    return "\n\n".join(out) + "\n"


def conversation_docx(turns: Sequence[dict[str, Any]], path: Path, now: datetime | None = None) -> Path:
    """The conversation as a Word document: per question the answer, then each cited passage in full,
    its cited sentence highlighted, so a memo built from it can be checked without the app."""
    from docx import Document
    from docx.enum.text import WD_COLOR_INDEX
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor

    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.size = Pt(11)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
    doc.add_heading(TITLE, level=0)
    when = (now or datetime.now()).strftime("%Y-%m-%d %H:%M")
    doc.add_paragraph(f"导出时间：{when}　共 {len(turns)} 个问题")
    for i, turn in enumerate(turns, 1):
        question, *read = _asked(turn)
        doc.add_heading(f"{i}. {question}", level=1)
        for line in read:
            doc.add_paragraph().add_run(line).italic = True
        for part in (turn["export"]["body"] or "（没有回答）").split("\n\n"):
            doc.add_paragraph(part)
        if not turn["export"]["sources"]:
            continue
        doc.add_heading("引用来源", level=2)
        for src in turn["export"]["sources"]:
            doc.add_paragraph().add_run(src["head"]).bold = True
            passage = doc.add_paragraph()
            passage.paragraph_format.left_indent = Pt(18)
            text, pos = src["text"], 0
            for start, end in src["marks"]:
                passage.add_run(text[pos:start])
                hit = passage.add_run(text[start:end])
                hit.font.highlight_color = WD_COLOR_INDEX.YELLOW
                hit.font.color.rgb = RGBColor(0x1F, 0x29, 0x37)
                pos = end
            passage.add_run(text[pos:])
    doc.save(str(path))
    return path


def request_dir(prefix: str, root: Path | None = None, max_age_s: float = MAX_AGE_S) -> Path:
    """A new folder for one request's files (never one file for two users); folders of the same prefix
    older than `max_age_s` are removed first (Gradio has served its own copy by then)."""
    root = root or Path(tempfile.gettempdir())
    cutoff = time.time() - max_age_s
    for old in root.glob(f"{prefix}*"):
        try:
            if old.is_dir() and old.stat().st_mtime < cutoff:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            pass
    return Path(tempfile.mkdtemp(prefix=prefix, dir=root))


def write_exports(turns: Sequence[dict[str, Any]], root: Path | None = None) -> tuple[Path, Path]:
    """The Markdown and the Word file of a conversation, in a folder of this request's own."""
    now = datetime.now()
    folder = request_dir(EXPORT_PREFIX, root)
    name = f"报告问答对话-{now:%Y%m%d-%H%M}"
    md = folder / f"{name}.md"
    md.write_text(conversation_markdown(turns, now), encoding="utf-8")
    return md, conversation_docx(turns, folder / f"{name}.docx", now)
