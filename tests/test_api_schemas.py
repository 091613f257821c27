"""How the API's response schemas are derived from records (`assistant.serve.api.schemas.sent`): a
field added to a record is published without a hand copy, and every field counts as always sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from assistant.serve.api.schemas import FileOutcomeOut, HealthOut, sent


@dataclass(frozen=True)
class Part:
    name: str
    size: int | None = None


@dataclass(frozen=True)
class Whole:
    title: str
    parts: list[Part] = field(default_factory=list)
    added_later: bool = False


def published(response_type) -> tuple[dict, dict]:
    app = FastAPI()
    app.get("/whole", response_model=response_type)(lambda: Whole("t", [Part("p")]))
    client = TestClient(app)
    return client.get("/whole").json(), client.get("/openapi.json").json()["components"]["schemas"]


def test_a_record_is_its_own_response_schema():
    body, schemas = published(Annotated[Whole, sent("A whole", added_later="Why it is there")])
    assert body == {"title": "t", "parts": [{"name": "p", "size": None}], "added_later": False}
    whole = schemas["Whole"]
    assert whole["required"] == list(whole["properties"]) == ["title", "parts", "added_later"]
    assert whole["description"] == "A whole" and whole["properties"]["added_later"]["description"] == "Why it is there"
    assert schemas["Part"]["required"] == ["name", "size"]  # nested records are sent whole too


def test_describing_a_field_the_record_lacks_fails_loudly():
    with pytest.raises(KeyError, match="gone"):
        published(Annotated[Whole, sent(gone="a field that was renamed")])


def test_upload_outcomes_and_health_narrow_their_records():
    from dataclasses import fields

    from assistant.ingest.indexer import FileOutcome
    from assistant.records import IndexStatus

    assert [f.name for f in fields(FileOutcomeOut)] == [f.name for f in fields(FileOutcome)] + ["report_ids"]
    assert set(HealthOut.model_fields) - {"status"} <= {f.name for f in fields(IndexStatus)}
