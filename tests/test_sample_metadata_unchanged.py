"""The sample corpus keeps the metadata it had before report profiles (a guard for moving rules into data).

The fixture was written by the code before profiles (`python -m tests.test_sample_metadata_unchanged`
regenerates it: do that only when a change of the sample corpus's metadata is meant).
"""

from __future__ import annotations

import json
from pathlib import Path

from assistant.ingest.parsing import parse_paths
from assistant.settings import Settings
from tests.conftest import SAMPLE_DIR

FIXTURE = Path(__file__).parent / "fixtures" / "sample_dry_run.json"
REPORT_KEYS = ("report_id", "source", "title", "city", "year", "date", "meeting", "type", "speaker", "start", "end",
               "title_inferred")
CHUNK_KEYS = ("chunk_id", "report_id", "source", "start", "end", "section_path", "period", "title", "city", "year",
              "type", "page", "ordinal")


def snapshot(data_dir: Path) -> dict:
    result = parse_paths([data_dir], Settings(data_dir=data_dir, _env_file=None))
    return {
        "reports": [{k: getattr(r, k) for k in REPORT_KEYS} for r in result.reports],
        "chunks": [{**{k: getattr(c, k) for k in CHUNK_KEYS}, "embed_header": c.embed_text.split("\n", 1)[0]}
                   for c in result.chunks],
        "skipped": [e.source for e in result.skipped],
    }


def test_sample_corpus_metadata_is_unchanged():
    expected = json.loads(FIXTURE.read_text(encoding="utf-8"))
    got = json.loads(json.dumps(snapshot(SAMPLE_DIR), ensure_ascii=False))
    assert got["reports"] == expected["reports"]
    assert len(got["chunks"]) == len(expected["chunks"])
    for g, e in zip(got["chunks"], expected["chunks"], strict=True):
        assert g == e
    assert got["skipped"] == expected["skipped"]


if __name__ == "__main__":
    FIXTURE.parent.mkdir(exist_ok=True)
    FIXTURE.write_text(json.dumps(snapshot(SAMPLE_DIR), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
