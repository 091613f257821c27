"""What a route needs from its app, as dependencies: the one shared `ReportQA` and the settings, stored
in `app.state` by `create_api` (routes are module-level, so nothing is captured in a closure)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from assistant.settings import Settings

if TYPE_CHECKING:
    from assistant.qa import ReportQA


def get_qa(request: Request) -> ReportQA:
    return request.app.state.qa


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


QA = Annotated["ReportQA", Depends(get_qa)]
AppSettings = Annotated[Settings, Depends(get_settings)]
