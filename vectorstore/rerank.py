"""Optional cross-encoder reranker (off by default: no Chinese reranker ships offline here).

Any sentence-transformers CrossEncoder in a local folder or the local hub cache can be named by
`REPORTQA_RERANKER_MODEL`; it rescores the fused candidates before the context budget is applied.
"""

from __future__ import annotations

from typing import Protocol

from vectorstore.errors import ModelUnavailableError


class Reranker(Protocol):
    def predict(self, pairs: list[tuple[str, str]]) -> list[float]: ...


def build_reranker(name: str | None, device: str = "cpu") -> Reranker | None:
    if not name:
        return None
    try:
        from sentence_transformers import CrossEncoder

        return CrossEncoder(name, device=device, local_files_only=True)
    except Exception as exc:  # noqa: BLE001 - any load failure is one clear message
        raise ModelUnavailableError(
            f"cannot load the reranker {name!r} (REPORTQA_RERANKER_MODEL): {type(exc).__name__}. "
            "Use a local folder or a model already in the local cache, or unset the setting."
        ) from None
