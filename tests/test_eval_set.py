"""Every record of eval/qa.jsonl is checked against the corpus files it cites."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from assistant.ingest.chunking import Chunker
from assistant.ingest.loading import load_document
from assistant.ingest.parsing import parse_document
from tests.conftest import ROOT, SAMPLE_DIR

QA = ROOT / "eval" / "qa.jsonl"
TYPES = {"fact", "target", "list", "compare", "followup", "unanswerable"}


def records() -> list[dict]:
    return [json.loads(line) for line in QA.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_set_size_and_mix():
    recs = records()
    assert len(recs) >= 150
    assert len({r["id"] for r in recs}) == len(recs)
    assert len({r["question"] for r in recs if not r.get("history")}) == len([r for r in recs if not r.get("history")])
    types = Counter(r["type"] for r in recs)
    assert set(types) == TYPES
    assert types["unanswerable"] >= 15
    assert all(types[t] >= 10 for t in TYPES)


@pytest.mark.parametrize("rec", records(), ids=lambda r: r["id"])
def test_record_is_grounded(rec):
    assert rec["question"].strip()
    if rec["type"] == "unanswerable":
        assert rec["answers"] == [] and rec.get("source") is None
        return
    assert rec["answers"], "answerable items need answers"
    text = (SAMPLE_DIR / rec["source"]).read_text(encoding="utf-8")
    assert rec["evidence"] in text
    evidences = [rec["evidence"]]
    if rec.get("source2"):
        text2 = (SAMPLE_DIR / rec["source2"]).read_text(encoding="utf-8")
        assert rec["evidence2"] in text2
        evidences.append(rec["evidence2"])
    for a in rec["answers"]:
        assert any(a in e for e in evidences), a
    if rec["type"] == "followup":
        assert rec.get("history"), "a follow-up needs the earlier turns"
    if rec["type"] == "compare":
        assert len(rec["answers"]) >= 2


def test_every_report_is_covered():
    chunker = Chunker()
    covered: set[str] = set()
    reports = []
    for path in sorted(SAMPLE_DIR.glob("*.txt")):
        pf = parse_document(load_document(path), chunker)
        reports.extend(pf.reports)
    for rec in records():
        for src, ev in ((rec.get("source"), rec.get("evidence")), (rec.get("source2"), rec.get("evidence2"))):
            if not src:
                continue
            text = (SAMPLE_DIR / src).read_text(encoding="utf-8")
            pos = text.find(ev)
            for r in reports:
                if r.source == src and r.start <= pos < r.end:
                    covered.add(r.report_id)
    assert covered == {r.report_id for r in reports}, [r.title for r in reports if r.report_id not in covered]
    assert Path(QA).exists()
