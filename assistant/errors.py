"""A small error hierarchy; turned into user messages only at the edges (CLI, UI, API).

The store's and the models' errors live in `vectorstore.errors` (that package never imports this
one); `USER_ERRORS` is what an edge catches to show either kind as a message."""

from vectorstore.errors import ModelUnavailableError, StoreError

__all__ = ["USER_ERRORS", "EmptyIndexError", "IngestError", "LLMError", "ModelUnavailableError",
           "ReportQAError", "StoreError"]


class ReportQAError(Exception):
    """Base of every error the user may see as a message."""


class IngestError(ReportQAError):
    """A file could not be ingested; the message names the file and the cause."""

    def __init__(self, source: str, reason: str):
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class EmptyIndexError(ReportQAError):
    """A question was asked before any report was indexed."""


class LLMError(ReportQAError):
    """The configured LLM failed (timeout, API error)."""


USER_ERRORS: tuple[type[Exception], ...] = (ReportQAError, StoreError)
