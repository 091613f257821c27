"""Serve the chat UI (and later the HTTP API) from one process with one shared `ReportQA`."""

from __future__ import annotations

from assistant.settings import Settings


def run_server(settings: Settings, host: str, port: int) -> None:
    from assistant.qa import ReportQA
    from assistant.ui import create_app

    qa = ReportQA.from_settings(settings)
    create_app(qa).queue(default_concurrency_limit=8).launch(server_name=host, server_port=port, show_api=False)
