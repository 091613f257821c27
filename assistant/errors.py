"""A small error hierarchy; turned into user messages only at the edges (CLI, UI, API)."""


class ReportQAError(Exception):
    """Base of every error the user may see as a message."""


class IngestError(ReportQAError):
    """A file could not be ingested; the message names the file and the cause."""

    def __init__(self, source: str, reason: str):
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class ModelUnavailableError(ReportQAError):
    """The embedding model (or LLM) cannot be loaded or reached."""


class EmptyIndexError(ReportQAError):
    """A question was asked before any report was indexed."""


class LLMError(ReportQAError):
    """The configured LLM failed (timeout, API error)."""
