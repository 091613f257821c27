"""Library errors become HTTP statuses with one JSON body here, and nowhere else: `{"detail", "error":
{"message", "type", "code"}}`, readable by FastAPI and OpenAI clients. Schema violations are 400, never 422."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from assistant.errors import (
    EmptyIndexError,
    IngestError,
    LLMError,
    ModelUnavailableError,
    ReportQAError,
    StoreError,
)
from assistant.serve.api.schemas import ErrorOut

log = logging.getLogger(__name__)

STATUS = {EmptyIndexError: 503, ModelUnavailableError: 503, LLMError: 503, IngestError: 400}
TYPES = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
         413: "request_too_large", 503: "service_unavailable"}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The error responses of an operation, for the schema."""
    return {c: {"model": ErrorOut} for c in codes}


def describe(exc: Exception) -> tuple[int, str]:
    for cls, status in STATUS.items():
        if isinstance(exc, cls):
            return status, str(exc)
    if isinstance(exc, ReportQAError | StoreError):
        return 400, str(exc)
    log.exception("unexpected error in the API", exc_info=exc)
    return 500, f"internal error ({type(exc).__name__})"


def error_body(status: int, message: str) -> dict[str, Any]:
    return {"detail": message, "error": {"message": message, "type": TYPES.get(status, "server_error"), "code": status}}


def respond(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, message), status_code=status, headers=headers)


async def bad_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
    parts = [f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'body'}: {e.get('msg', '')}"
             for e in exc.errors()]
    return respond(400, "; ".join(parts) or "invalid request")


async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
    return respond(exc.status_code, str(exc.detail), getattr(exc, "headers", None))


async def library_error(_request: Request, exc: Exception) -> JSONResponse:
    return respond(*describe(exc))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, bad_request)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, http_error)  # type: ignore[arg-type]
    for cls in (StoreError, ReportQAError, Exception):
        app.add_exception_handler(cls, library_error)


def drop_422(app: FastAPI) -> None:
    """Validation errors are 400 here (see `bad_request`), so the schema must not promise FastAPI's 422."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    operation.get("responses", {}).pop("422", None)
            for name in ("HTTPValidationError", "ValidationError"):
                schema.get("components", {}).get("schemas", {}).pop(name, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
