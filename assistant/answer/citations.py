"""The `[n]` citation format: defined once, parsed once."""

from __future__ import annotations

import re

MARKER = re.compile(r"\[(\d{1,3})\]")


def marker(n: int) -> str:
    return f"[{n}]"


def cited_numbers(text: str) -> list[int]:
    return [int(m) for m in MARKER.findall(text)]


def strip_invalid(text: str, valid: set[int]) -> tuple[str, list[int]]:
    """Remove markers that point to no passage; returns the text and the removed numbers."""
    removed: list[int] = []

    def repl(m: re.Match[str]) -> str:
        n = int(m.group(1))
        if n in valid:
            return m.group(0)
        removed.append(n)
        return ""

    return MARKER.sub(repl, text), removed


ATTRIBUTION = re.compile(r"^(?:据《[^》\n]{1,80}》(?:“[^”\n]{0,40}”)?|原文)[：:]")


def attribution(title: str, section_path: str) -> str:
    """Where a quote comes from, in the report's words: 据《title》“section” (the last heading, cut at 24
    characters); what ATTRIBUTION reads back."""
    section = section_path.split(" > ")[-1] if section_path else ""
    if len(section) > 24:
        section = section[:24] + "…"
    return f"据《{title}》" + (f"“{section}”" if section else "")
"""How an extractive answer names the report a quote is from: metadata, checked against the citation."""


def statements(text: str) -> list[tuple[str, list[int]]]:
    """Split an answer into statements, each with the markers that follow it. The clauses of one sentence
    (split at ；) share the marker at the sentence's end: a quote cites once, where it ends."""
    out: list[tuple[str, list[int]]] = []
    pending: list[int] = []  # indices of clauses still waiting for their sentence's marker
    for part in re.split(r"(?<=[\]。！？；\n])(?=[^\[])", text):
        ends_line = part.endswith("\n")
        part = part.strip()
        if not part:
            pending = []
            continue
        nums = cited_numbers(part)
        body = MARKER.sub("", part).strip()
        if re.sub(r"[\W_]+", "", body):
            out.append((body, nums))
            if nums:
                for i in pending:
                    out[i] = (out[i][0], nums)
                pending = []
            elif body.endswith(("；", ";")) and not ends_line:
                pending.append(len(out) - 1)
            else:
                pending = []
        elif out and nums:
            out[-1] = (out[-1][0], out[-1][1] + nums)
    return out
