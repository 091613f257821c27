"""Answer feedback (👍/👎 with an optional comment), appended to a JSONL file that can seed eval items.

Each rating or comment appends one line; a later line for the same `answer_id` supersedes an
earlier one (a comment added after the thumb), so `FeedbackLog.latest()` is what reviewers read.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RATINGS = ("up", "down")


@dataclass(frozen=True)
class Feedback:
    answer_id: str
    question: str
    history: list[str]
    answer: str
    refused: bool
    citations: list[dict[str, Any]]  # n, chunk_id, report_id, source, title
    rating: str
    comment: str = ""
    standalone_question: str | None = None
    filters: dict[str, list[Any]] = field(default_factory=dict)
    timestamp: str = ""

    def __post_init__(self) -> None:
        if self.rating not in RATINGS:
            raise ValueError(f"rating must be one of {RATINGS}, got {self.rating!r}")


class FeedbackLog:
    """One append-only JSONL file shared by every session of the process."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()

    def append(self, feedback: Feedback) -> dict[str, Any]:
        record = asdict(feedback)
        record["timestamp"] = record["timestamp"] or datetime.now(UTC).isoformat(timespec="seconds")
        line = json.dumps(record, ensure_ascii=False)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
        return record

    def records(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def latest(self) -> list[dict[str, Any]]:
        """The last record per answer, in order of first appearance."""
        out: dict[str, dict[str, Any]] = {}
        for r in self.records():
            out[r["answer_id"]] = r
        return list(out.values())


def to_eval_item(record: dict[str, Any]) -> dict[str, Any]:
    """A draft eval item (eval/qa.jsonl format): a reviewer fills `answers` before it counts."""
    first = record["citations"][0] if record["citations"] else {}
    if record["history"]:
        kind = "followup"
    elif record["refused"]:
        kind = "unanswerable"
    else:
        kind = "fact"
    return {
        "id": f"fb-{record['answer_id']}",
        "question": record["question"],
        "history": record["history"],
        "answers": [],
        "type": kind,
        "source": first.get("source"),
        "feedback": record["rating"],
        "comment": record["comment"],
        "model_answer": record["answer"],
    }
