"""Ledger extraction scored against hand-labelled regions (`eval/figures.jsonl`): every quantified
statement inside a region is labelled, so precision counts what the ledger read there and recall what it
missed. Matching is one-to-one (`metrics.figure_matches`); kind and period are scored on the matches."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from assistant.evaluation import metrics as m

if TYPE_CHECKING:
    from assistant.qa import ReportQA


def gold_regions(path: Path, texts: dict[str, str]) -> list[dict[str, Any]]:
    """The labelled regions of sources in `texts`, each record placed at its offsets in the source."""
    out = []
    for region in m.jsonl_records(path, lambda raw: raw, "labelled figure region"):
        text = texts.get(region["source"])
        pos = text.find(region["region"]) if text is not None else -1
        if pos < 0:
            continue
        records, cursor = [], 0
        for rec in region["records"]:
            at = region["region"].find(rec["text"], cursor)
            if at < 0:
                at = region["region"].find(rec["text"])
            if at < 0:
                continue
            cursor = at + 1
            records.append({**rec, "source": region["source"], "start": pos + at, "end": pos + at + len(rec["text"])})
        out.append({**region, "start": pos, "end": pos + len(region["region"]), "records": records})
    return out


def ledger_scores(qa: ReportQA, path: Path, split: str | None = None) -> dict[str, Any]:
    texts = {src: qa.document_text(src) for src in qa.sources()}
    regions = [r for r in gold_regions(path, texts) if not split or r.get("split") == split]
    figures = [f.to_dict() for f in qa.figures()]
    rows: dict[str, dict[str, float]] = {}
    for region in regions:
        inside = [f for f in figures if f["source"] == region["source"] and region["start"] <= f["start"] and f["end"] <= region["end"]]
        free = list(inside)
        row = rows.setdefault(region.get("split") or "all", {"gold": 0, "predicted": 0, "matched": 0, "kind": 0, "period": 0})
        row["gold"] += len(region["records"])
        row["predicted"] += len(inside)
        for gold in region["records"]:
            hit = next((f for f in free if m.figure_matches(f, gold)), None)
            if hit is None:
                continue
            free.remove(hit)
            row["matched"] += 1
            row["kind"] += hit["kind"] == gold.get("kind")
            row["period"] += hit["period"] == gold.get("period")
    total = {k: sum(r[k] for r in rows.values()) for k in ("gold", "predicted", "matched", "kind", "period")}
    return {sp: _rates(r) for sp, r in [*sorted(rows.items()), ("all", total)]}


def _rates(r: dict[str, float]) -> dict[str, Any]:
    matched = r["matched"]
    return {"gold": int(r["gold"]), "predicted": int(r["predicted"]), "matched": int(matched),
            "precision": matched / r["predicted"] if r["predicted"] else None,
            "recall": matched / r["gold"] if r["gold"] else None,
            "kind_accuracy": r["kind"] / matched if matched else None,
            "period_accuracy": r["period"] / matched if matched else None}


def print_ledger_scores(console: Console, scores: dict[str, Any]) -> None:
    table = Table("split", "labelled", "read", "matched", "precision", "recall", "kind right", "period right",
                  title="Indicator ledger against labelled regions")
    for split, r in scores.items():
        table.add_row(split, str(r["gold"]), str(r["predicted"]), str(r["matched"]),
                      *[("—" if r[k] is None else f"{r[k]:.3f}") for k in ("precision", "recall", "kind_accuracy", "period_accuracy")])
    console.print(table)
