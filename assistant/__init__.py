"""ReportQA (报告问答): answers questions about long Chinese reports with cited passages, offline."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.qa import ReportQA

__all__ = ["ReportQA"]


def __getattr__(name: str):
    # lazy, so `import assistant` stays cheap and loads no model
    if name == "ReportQA":
        from assistant.qa import ReportQA

        return ReportQA
    raise AttributeError(name)
