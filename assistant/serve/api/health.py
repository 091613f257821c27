"""`GET /healthz`: liveness and index size, never behind the API key."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.exceptions import HTTPException

from assistant.serve.api.deps import QA
from assistant.serve.api.errors import errors
from assistant.serve.api.schemas import HealthOut

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthOut, responses=errors(503))
def healthz(qa: QA) -> dict[str, Any]:
    """Liveness and index size; never needs an API key."""
    try:
        st = qa.status()
    except Exception as exc:  # noqa: BLE001 - a health check reports, never raises
        raise HTTPException(503, f"index unavailable: {type(exc).__name__}: {exc}") from None
    return {**st.to_dict(), "status": "ok"}  # HealthOut keeps its HEALTH_FIELDS
