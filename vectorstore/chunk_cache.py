"""Each committed file's chunks as the store gave them, in SQLite on this host, so a process that starts
over an unchanged index opens a file instead of reading every chunk back from Chroma (~0.4 ms a chunk
there, ~0.01 ms here: 334,000 chunks in seconds, not minutes).

The store stays the truth. A file's rows are read only while the manifest names the same file hash,
chunk count and ingest time they were written for, so a re-ingest, a delete or a damaged file costs one
read from the store, never a stale answer. Processes on one host share the file (SQLite, WAL); each
writes whole files in one transaction. Rows are (chunk id, text, flat metadata), as the store keeps
them, so this package still knows chunks only by shape.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMAT = "1"  # bump when the stored row changes


@dataclass(frozen=True)
class FileKey:
    """What makes a file's cached rows valid: the manifest record they were read under."""

    file_hash: str
    n_chunks: int
    indexed_at: str


Row = tuple[str, str, dict[str, Any]]  # chunk id, text, metadata


class ChunkCache:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
            db.execute("PRAGMA journal_mode=WAL")
            with db:
                db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
                db.execute("CREATE TABLE IF NOT EXISTS files (source TEXT PRIMARY KEY, file_hash TEXT, "
                           "n_chunks INTEGER, indexed_at TEXT)")
                db.execute("CREATE TABLE IF NOT EXISTS chunks (source TEXT, chunk_id TEXT, text TEXT, md TEXT)")
                db.execute("CREATE INDEX IF NOT EXISTS chunks_source ON chunks (source)")
                row = db.execute("SELECT value FROM meta WHERE key='format'").fetchone()
                if row is None or row[0] != FORMAT:
                    db.execute("DELETE FROM chunks")
                    db.execute("DELETE FROM files")
                    db.execute("INSERT OR REPLACE INTO meta VALUES ('format', ?)", (FORMAT,))
            self._db = db
        except sqlite3.Error:
            self._db = None  # an unwritable or damaged cache is only a slower start

    def read(self, wanted: Mapping[str, FileKey]) -> tuple[list[Row], list[str]]:
        """The rows of the wanted files whose cached key matches, and the files that must be read from
        the store (not cached, or cached under another manifest record)."""
        if self._db is None or not wanted:
            return [], sorted(wanted)
        try:
            with self._lock:
                keys = {s: FileKey(h, int(n), t) for s, h, n, t in self._db.execute("SELECT * FROM files")}
                valid = {s for s, k in wanted.items() if keys.get(s) == k}
                by_source: dict[str, list[Row]] = {}
                if valid:
                    every = len(valid) == len(keys)  # the whole cache is wanted: one scan, no IN list
                    query = "SELECT source, chunk_id, text, md FROM chunks" + (
                        "" if every else f" WHERE source IN ({','.join('?' * len(valid))})")
                    for source, cid, text, md in self._db.execute(query, () if every else sorted(valid)):
                        if source in valid:
                            by_source.setdefault(source, []).append((cid, text, json.loads(md)))
        except (sqlite3.Error, ValueError):
            return [], sorted(wanted)
        whole = {s for s in valid if len(by_source.get(s, ())) == wanted[s].n_chunks}  # else a torn write: read again
        return [r for s in whole for r in by_source[s]], sorted(set(wanted) - whole)

    def write(self, files: Iterable[tuple[str, FileKey, list[Row]]]) -> None:
        """Each whole file's rows under the manifest record they were read for, one transaction a file."""
        if self._db is None:
            return
        try:
            with self._lock:
                for source, key, rows in files:
                    if len(rows) != key.n_chunks:
                        continue  # only a whole file is worth keeping
                    with self._db:
                        self._db.execute("DELETE FROM chunks WHERE source = ?", (source,))
                        self._db.executemany("INSERT INTO chunks VALUES (?, ?, ?, ?)",
                                             [(source, cid, text, json.dumps(md, ensure_ascii=False))
                                              for cid, text, md in rows])
                        self._db.execute("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)",
                                         (source, key.file_hash, key.n_chunks, key.indexed_at))
        except sqlite3.Error:
            pass

    def keep(self, sources: set[str]) -> None:
        """Forget the files the manifest no longer names (deleted reports leave this file too)."""
        if self._db is None:
            return
        try:
            with self._lock:
                gone = [s for (s,) in self._db.execute("SELECT source FROM files") if s not in sources]
                if gone:
                    with self._db:
                        self._db.executemany("DELETE FROM chunks WHERE source = ?", [(s,) for s in gone])
                        self._db.executemany("DELETE FROM files WHERE source = ?", [(s,) for s in gone])
        except sqlite3.Error:
            pass
