"""The store's and the models' errors. `assistant.errors` re-exports them, and the edges show
them like every other `ReportQAError`: this package never imports from `assistant`."""


class StoreError(Exception):
    """The store or a model failed; the message names the file, folder, URL or value."""


class ModelUnavailableError(StoreError):
    """The embedding model (or the reranker, or the store's server) cannot be loaded or reached."""
