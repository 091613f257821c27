"""Scripted conversations (eval/conversations.jsonl): every turn asked with the turns before it as
history, and scored on what a person expects of that turn — the figure about the entity it is about, a
refusal, or a question back (or an answer per entity) when it names nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from assistant.evaluation import metrics as m

if TYPE_CHECKING:
    from assistant.qa import ReportQA
    from assistant.records import Answer

EXPECTS = ("answer", "refuse", "clarify")


@dataclass
class Turn:
    question: str
    expect: str
    answers: list[str] = field(default_factory=list)
    entity: str | None = None


@dataclass
class Conversation:
    id: str
    split: str
    kind: str
    turns: list[Turn]


def _conversation(raw: dict) -> Conversation:
    turns = [Turn(t["question"], t["expect"], list(t.get("answers", [])), t.get("entity")) for t in raw["turns"]]
    if any(t.expect not in EXPECTS for t in turns):
        raise ValueError(f"expect must be one of {', '.join(EXPECTS)}")
    return Conversation(raw["id"], raw.get("split", "dev"), raw.get("kind", "other"), turns)


def load_conversations(path: Path) -> list[Conversation]:
    return m.jsonl_records(path, _conversation, "conversation")


def turn_right(turn: Turn, answer: Answer) -> tuple[bool, bool | None]:
    """(the turn is right, the entity it is about was kept — None when the turn names none)."""
    if turn.expect == "refuse":
        return answer.refused and answer.refusal_reason != "clarify", None
    if turn.expect == "clarify":
        per_entity = any("分别按" in n for n in answer.notes)
        return answer.refusal_reason == "clarify" or per_entity, None
    kept = None
    if turn.entity:
        kept = any(turn.entity in (c.city or "", c.title) for c in answer.citations)
    right = not answer.refused and m.answer_correct(turn.answers, answer.answer) == 1.0 and kept is not False
    return right, kept


def run_conversations(qa: ReportQA, conversations: list[Conversation]) -> dict[str, Any]:
    rows = []
    for conv in conversations:
        history: list[str] = []
        for i, turn in enumerate(conv.turns):
            answer = qa.ask(turn.question, history=list(history))
            right, kept = turn_right(turn, answer)
            rows.append({"id": conv.id, "turn": i + 1, "split": conv.split, "kind": conv.kind, "expect": turn.expect,
                         "right": right, "entity_kept": kept, "question": turn.question,
                         "standalone": answer.standalone_question, "answer": answer.answer[:200]})
            history.append(turn.question)

    def summarize(sel: list[dict[str, Any]]) -> dict[str, Any]:
        convs = {r["id"] for r in sel}
        kept = [r["entity_kept"] for r in sel if r["entity_kept"] is not None]
        return {"conversations": len(convs), "turns": len(sel),
                "turn_accuracy": m.mean([1.0 if r["right"] else 0.0 for r in sel]),
                "conversation_accuracy": m.mean([1.0 if all(r["right"] for r in sel if r["id"] == c) else 0.0
                                                 for c in convs]),
                "entity_kept": m.mean([1.0 if k else 0.0 for k in kept])}

    return {"overall": summarize(rows),
            "by_split": {sp: summarize([r for r in rows if r["split"] == sp]) for sp in ("dev", "test")
                         if any(r["split"] == sp for r in rows)},
            "by_kind": {k: summarize([r for r in rows if r["kind"] == k]) for k in sorted({str(r["kind"]) for r in rows})},
            "turns": rows}


def print_conversations(console: Console, result: dict[str, Any]) -> None:
    table = Table("group", "conversations", "turns", "turn accuracy", "all turns right", "entity kept",
                  title="Scripted conversations (every turn with the turns before it as history)")
    groups = [*result["by_kind"].items(), *result["by_split"].items(), ("all", result["overall"])]
    for name, row in groups:
        table.add_row(name, str(row["conversations"]), str(row["turns"]),
                      *(f"{row[k]:.3f}" if row[k] is not None else "—"
                        for k in ("turn_accuracy", "conversation_accuracy", "entity_kept")))
    console.print(table)
