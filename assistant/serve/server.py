"""Serve the chat UI and the HTTP API from one process with one shared `ReportQA`.

The FastAPI app holds the API routes; the Gradio UI (`assistant.serve.ui.create_app`) is mounted at `/`
beside them. Without the UI module the API is served alone.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import logging
import secrets
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

from assistant.settings import Settings

if TYPE_CHECKING:
    import gradio as gr
    from fastapi import FastAPI

    from assistant.qa import ReportQA

log = logging.getLogger(__name__)
_STUBS_MODULE = "gradio.component_meta"


def _no_stub(*_args: Any, **_kwargs: Any) -> None:
    return None


class _NoGradioStubs(importlib.abc.MetaPathFinder):
    """Finds `gradio.component_meta` once, as the normal path finder does, and switches off its
    `create_or_modify_pyi` as soon as the module has run, before any component class is defined."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
                  ) -> importlib.machinery.ModuleSpec | None:
        if fullname != _STUBS_MODULE:
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        loader = spec.loader if spec is not None else None
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        run = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run(module)
            if callable(getattr(module, "create_or_modify_pyi", None)):
                module.create_or_modify_pyi = _no_stub  # type: ignore[attr-defined]

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def skip_gradio_stubs() -> None:
    """On every import Gradio parses the source of each of its ~80 component classes twice and renders
    a `.pyi` type stub, rewritten in site-packages when it differs (for type checkers; the app never reads it):
    about 40 % of `import gradio`, seconds of the server's start-up. Called before Gradio is imported;
    a no-op once it is, or where Gradio no longer has that hook."""
    if _STUBS_MODULE in sys.modules or any(isinstance(f, _NoGradioStubs) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _NoGradioStubs())


def load_ui(qa: ReportQA) -> gr.Blocks | None:
    """The Gradio Blocks for this `ReportQA`, or None when `assistant.serve.ui` is not there."""
    skip_gradio_stubs()
    try:
        from assistant.serve.ui import create_app
    except ModuleNotFoundError as exc:
        if exc.name != "assistant.serve.ui":
            raise
        return None
    return create_app(qa)


def build_app(qa: ReportQA, settings: Settings | None = None, ui: bool = True) -> FastAPI:
    """The API app, with the chat UI mounted at `/` when available (and wanted)."""
    from assistant.serve.api import add_root_redirect, create_api

    app = create_api(qa, settings)
    blocks = load_ui(qa) if ui else None
    if blocks is None:
        if ui:
            log.warning("assistant.serve.ui is not available: serving the HTTP API only")
        add_root_redirect(app)
        return app
    import gradio as gr

    blocks.queue(default_concurrency_limit=8)
    max_size = f"{(settings or qa.settings).max_file_mb:g}mb"  # Gradio refuses bigger uploads before saving them
    key = (settings or qa.settings).api_key

    def key_login(_user: str, password: str) -> bool:
        """The chat can upload and delete too: with an API key set, the key is its password (any user name)."""
        assert key is not None  # only installed when a key is set
        return secrets.compare_digest(str(password).encode(), key.get_secret_value().encode())  # bytes: any script

    auth = key_login if key is not None else None
    return gr.mount_gradio_app(app, blocks, path="/", footer_links=["gradio", "settings"], max_file_size=max_size,
                               auth=auth, auth_message="ReportQA：用户名任意，密码为 REPORTQA_API_KEY")


def run_server(settings: Settings, host: str, port: int, qa: ReportQA | None = None, ui: bool = True) -> None:
    import uvicorn

    if qa is None:
        from assistant.qa import ReportQA

        qa = ReportQA.from_settings(settings)
    app = build_app(qa, settings, ui=ui)
    print(f"ReportQA: http://{host}:{port}/  (API: /v1, schema: /openapi.json, docs: /docs)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)
