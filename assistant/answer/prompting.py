"""Prompts are data files in the `prompts` package, rendered strictly: a missing variable is an error."""

from __future__ import annotations

import string
from importlib import resources

from assistant.errors import ReportQAError


def load_prompt(name: str) -> str:
    try:
        return resources.files("prompts").joinpath(f"{name}.txt").read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReportQAError(f"prompt {name!r} not found in prompts/") from None


def render(name: str, **values: object) -> str:
    template = load_prompt(name)
    needed = {f for _, f, _, _ in string.Formatter().parse(template) if f}
    missing = needed - set(values)
    if missing:
        raise ReportQAError(f"prompt {name!r} needs {sorted(missing)}")
    extra = set(values) - needed
    if extra:
        raise ReportQAError(f"prompt {name!r} does not use {sorted(extra)}")
    return template.format(**values)


def available() -> list[str]:
    return sorted(p.name[:-4] for p in resources.files("prompts").iterdir() if p.name.endswith(".txt"))


def with_figures(prompt: str, lines: list[str]) -> str:
    """The answer prompt with the passages' ledger lines right after its passages (the answerer renders
    `answer`; this adds the `figures` block beside it). No lines, no block."""
    if not lines:
        return prompt
    close = prompt.rfind("</passages>")
    if close < 0:
        raise ReportQAError("the answer prompt has no </passages> to put the figures after")
    at = close + len("</passages>")
    return prompt[:at] + "\n\n" + render("figures", figures="\n".join(lines)).rstrip("\n") + prompt[at:]
