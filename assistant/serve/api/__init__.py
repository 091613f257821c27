"""The HTTP API beside the chat UI: ask (JSON or server-sent events), manage reports, an
OpenAI-compatible chat endpoint and a health check, over the one shared `ReportQA`.

The routes are module-level routers (`ask`, `reports`, `health`) that reach the `ReportQA` and the
settings through dependencies on `app.state` (`deps`); `create_api` only builds the app around them. This
is an edge: library errors become HTTP statuses with a JSON body here (`errors`) and nowhere else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from assistant.serve.api import ask, health, reports
from assistant.serve.api.auth import KEY, FailedKeys, docs_behind_key
from assistant.serve.api.errors import drop_422, errors, install_error_handlers
from assistant.serve.api.schemas import AnswerOut, AskRequest, CitationOut, FiltersIn, ReportOut, plain
from assistant.serve.security import Guard, allowed_hosts

if TYPE_CHECKING:
    from assistant.qa import ReportQA
    from assistant.settings import Settings

__all__ = ["AnswerOut", "AskRequest", "CitationOut", "FailedKeys", "FiltersIn", "ReportOut", "add_root_redirect",
           "create_api", "plain"]


def create_api(qa: ReportQA, settings: Settings | None = None) -> FastAPI:
    """A FastAPI app over one shared `ReportQA`; mount the UI beside it (see `assistant.serve.server`)."""
    settings = settings or qa.settings
    api_key = settings.api_key.get_secret_value() if settings.api_key else None
    everywhere = settings.api_key_scope == "all"  # "write": only upload and delete need the key
    closed_docs = bool(api_key) and everywhere  # with a key on every endpoint, the schema and docs need it too
    app = FastAPI(
        title="ReportQA 报告问答 API",
        version="1",
        description="Questions about long Chinese reports, answered with cited passages.",
        docs_url=None if closed_docs else "/docs", redoc_url=None if closed_docs else "/redoc",
        openapi_url=None if closed_docs else "/openapi.json",
    )
    app.state.qa, app.state.settings = qa, settings
    app.state.api_key, app.state.failed_keys = api_key, FailedKeys()
    if closed_docs:
        docs_behind_key(app)
    app.include_router(health.router)
    for router, guarded in ((ask.router, everywhere), (reports.read, everywhere), (reports.write, True)):
        keyed = bool(api_key) and guarded
        app.include_router(router, dependencies=KEY if keyed else [], responses=errors(400, 401) if keyed else errors(400))
    install_error_handlers(app)
    drop_422(app)
    app.add_middleware(Guard, hosts=allowed_hosts(settings.host, settings.allowed_hosts), origins=settings.allowed_origins,
                       upload_limit=int(settings.max_upload_mb * 1024 * 1024), failures=app.state.failed_keys)
    return app


def add_root_redirect(app: FastAPI) -> None:
    """Without the chat UI, `/` points at the interactive API docs."""
    app.add_api_route("/", lambda: RedirectResponse("/docs"), include_in_schema=False)
