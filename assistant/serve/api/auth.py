"""The API key: `Authorization: Bearer <key>` or `X-API-Key: <key>`, compared in constant time, and a
client guessing keys slowed down. The key and the failure counts live in the app's state."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, FastAPI, Request, Security
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException

from assistant.serve.security import FailedKeys

_BEARER = HTTPBearer(auto_error=False, description="Authorization: Bearer <REPORTQA_API_KEY>")
_KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False, description="X-API-Key: <REPORTQA_API_KEY>")


def require_key(request: Request, cred: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)] = None,
                key: Annotated[str | None, Security(_KEY_HEADER)] = None) -> None:
    """The dependency guarding an endpoint; `create_api` adds it only where a key is configured."""
    expected: str = request.app.state.api_key
    failures: FailedKeys = request.app.state.failed_keys
    who = request.client.host if request.client else "?"
    if failures.blocked(who):
        raise HTTPException(429, "too many wrong API keys from this address; wait a minute",
                            headers={"Retry-After": str(int(failures.window_s))})
    given = cred.credentials if cred else key
    if not given or not secrets.compare_digest(given.encode(), expected.encode()):
        if given:
            failures.failed(who)
        raise HTTPException(401, "missing or wrong API key (Authorization: Bearer <key> or X-API-Key)",
                            headers={"WWW-Authenticate": "Bearer"})


KEY = [Depends(require_key)]


def docs_behind_key(app: FastAPI) -> None:
    """The schema and the interactive docs, served only with the key (a browser can send it as X-API-Key
    through a header extension, or as the Bearer token curl sends)."""
    from fastapi.openapi.docs import get_swagger_ui_html

    def schema() -> JSONResponse:
        return JSONResponse(app.openapi())

    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title=app.title)

    app.add_api_route("/openapi.json", schema, dependencies=KEY, include_in_schema=False)
    app.add_api_route("/docs", docs, dependencies=KEY, include_in_schema=False)
