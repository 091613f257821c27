"""A table of figure records keyed by the chunk they were read from, in SQLite beside the index.

The chunks in the store are the truth: a row is only ever read for a chunk that is committed (callers
filter by the chunk ids they see), so rows written for a chunk an interrupted ingest never committed
are harmless, and a file's figures appear and disappear with its chunks. Chunk ids are content
hashes, so a row stays valid for as long as its chunk exists; `stamp` (the extraction rules' version)
empties the table when the rules change.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

COLUMNS = ("figure_id", "chunk_id", "entity", "indicator", "raw", "measure", "kind", "period")


class FigureTable:
    def __init__(self, path: Path, stamp: str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        with self._db:
            self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            self._db.execute("CREATE TABLE IF NOT EXISTS done (chunk_id TEXT PRIMARY KEY)")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS figures (figure_id TEXT PRIMARY KEY, chunk_id TEXT, entity TEXT, "
                "indicator TEXT, raw TEXT, measure TEXT, kind TEXT, period INTEGER, record TEXT)"
            )
            self._db.execute("CREATE INDEX IF NOT EXISTS figures_chunk ON figures (chunk_id)")
            self._db.execute("CREATE INDEX IF NOT EXISTS figures_entity ON figures (entity, period)")
            row = self._db.execute("SELECT value FROM meta WHERE key='stamp'").fetchone()
            if row is None or row[0] != stamp:
                self._db.execute("DELETE FROM figures")
                self._db.execute("DELETE FROM done")
                self._db.execute("INSERT OR REPLACE INTO meta VALUES ('stamp', ?)", (stamp,))

    def done_ids(self) -> set[str]:
        with self._lock:
            return {r[0] for r in self._db.execute("SELECT chunk_id FROM done")}

    def add(self, per_chunk: Iterable[tuple[str, list[dict[str, Any]]]]) -> None:
        """Each chunk's figures (possibly none) in one transaction, the chunk marked as read."""
        with self._lock, self._db:
            for chunk_id, rows in per_chunk:
                self._db.execute("DELETE FROM figures WHERE chunk_id = ?", (chunk_id,))
                self._db.executemany(
                    "INSERT OR REPLACE INTO figures VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(*(r.get(c) for c in COLUMNS), json.dumps(r, ensure_ascii=False)) for r in rows],
                )
                self._db.execute("INSERT OR IGNORE INTO done VALUES (?)", (chunk_id,))

    def drop(self, chunk_ids: Iterable[str]) -> None:
        ids = [(c,) for c in chunk_ids]
        with self._lock, self._db:
            self._db.executemany("DELETE FROM figures WHERE chunk_id = ?", ids)
            self._db.executemany("DELETE FROM done WHERE chunk_id = ?", ids)

    def select(self, entities: list[str] | None = None, periods: list[int] | None = None,
               kinds: list[str] | None = None, measures: list[str] | None = None,
               indicator: str | None = None) -> list[dict[str, Any]]:
        """Rows matching every filter given; `indicator` matches the normalised name or the words as written."""
        where: list[str] = []
        args: list[Any] = []
        for column, values in (("entity", entities), ("period", periods), ("kind", kinds), ("measure", measures)):
            if values:
                where.append(f"{column} IN ({','.join('?' * len(values))})")
                args.extend(values)
        if indicator:
            where.append("(indicator LIKE ? OR raw LIKE ?)")
            args.extend([f"%{indicator}%"] * 2)
        sql = "SELECT record FROM figures" + (" WHERE " + " AND ".join(where) if where else "")
        with self._lock:
            return [json.loads(r[0]) for r in self._db.execute(sql, args)]

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM figures").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
