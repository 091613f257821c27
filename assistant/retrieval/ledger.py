"""The indicator ledger as answers and the figures views read it: the figures of the committed chunks.

Rows are written at ingest (`Indexer`) and caught up here for any committed chunk without them (an index
built before the ledger existed, another host's ingest in server mode, new extraction rules), so what
this process sees always follows the chunks its view sees.
"""

from __future__ import annotations

import threading

from assistant.ingest.figures import figure_rows
from assistant.records import Figure
from assistant.retrieval.filters import Filters
from assistant.retrieval.view import CorpusView
from vectorstore.ledger import FigureTable


class Ledger:
    def __init__(self, table: FigureTable, view: CorpusView, filters: Filters | None = None):
        self.table = table
        self.view = view
        self.filters = filters if filters is not None and not filters.empty else None
        self._synced: str | None = None
        self._lock = threading.Lock()

    def within(self, filters: Filters) -> Ledger:
        """The same ledger seen through the chat's or the API's filters: an answer under 济南 is never
        composed from 盘锦's figures."""
        if filters.empty:
            return self
        seen = Ledger(self.table, self.view, filters)
        seen._synced, seen._lock = self._synced, self._lock
        return seen

    def sync(self) -> None:
        self.view.refresh()
        version = self.view.version
        if version == self._synced:
            return
        with self._lock:
            if version == self._synced:
                return
            live = self.view.chunks
            done = self.table.done_ids()
            missing = [c for cid, c in live.items() if cid not in done]
            if missing:
                self.table.add(figure_rows(missing))
            self._synced = version

    def find(self, entities: list[str] | None = None, periods: list[int] | None = None, kinds: list[str] | None = None,
             measures: list[str] | None = None, indicator: str | None = None) -> list[Figure]:
        """Figures of committed chunks matching every filter given, in report and text order."""
        self.sync()
        live = self.view.chunks
        rows = self.table.select(entities, periods, kinds, measures, indicator)
        figures = [Figure.from_dict(r) for r in rows if r["chunk_id"] in live
                   and (self.filters is None or self.filters.allows(live[r["chunk_id"]]))]
        return sorted(figures, key=lambda f: (f.entity or "", f.period or 0, f.source, f.start))
