"""BM25 over jieba tokens, with a user dictionary of report vocabulary.

Tokenising is the costly part, so tokens are cached by chunk id (persisted beside the vectors). The
built BM25 matrix is saved too, under the store's version stamp: a start over an unchanged index opens
it memory-mapped instead of rebuilding, and holds no token lists at all. Tokens are read back from the
cache only when the chunk set changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

import bm25s
import numpy as np


class KeywordChunk(Protocol):
    """What BM25 reads of a chunk: the title and section path count as words of its text."""

    @property
    def chunk_id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def section_path(self) -> str: ...
    @property
    def text(self) -> str: ...


_STOP = set("的 了 和 与 及 是 在 为 对 把 被 将 等 中 上 下 年 个 多少 什么 哪些 吗 呢 么 怎么 如何 请问 一下 有 有没有 报告 里 说 要 我们 全市 我市".split())
_PUNCT = re.compile(r"^[\W_]+$")
FORMAT = 1  # bump when tokenize() or the saved layout changes: indexes saved before are then rebuilt
_STALE_TMP_S = 3600.0  # a temp folder this old is a crashed writer's, not one still being written


class KeywordIndex:
    def __init__(self, cache_path: Path | None = None, extra_words: Iterable[str] = (), names: Iterable[str] = ()):
        import logging

        import jieba

        jieba.setLogLevel(logging.WARNING)  # its dictionary-loading chatter is not for users
        self._tokenizer = jieba.Tokenizer()
        self._tokenizer.initialize()
        for w in names:  # place (and other) names: whole, but below the vocabulary
            self._tokenizer.add_word(w, freq=50000)
        for w in extra_words:  # the report profiles' vocabulary (地区生产总值, 营业收入 …): kept whole
            self._tokenizer.add_word(w, freq=200000)
        self.cache_path = cache_path
        self._cache: dict[str, list[str]] | None = None  # read from cache_path when a build needs it
        self._ids: list[str] = []
        self._pos: dict[str, int] = {}
        self._bm25: bm25s.BM25 | None = None
        self._lock = threading.Lock()

    def add_words(self, words: Iterable[str]) -> None:
        for w in words:
            if w:
                self._tokenizer.add_word(w, freq=200000)

    def tokenize(self, text: str) -> list[str]:
        out = []
        for tok in self._tokenizer.cut_for_search(text.lower()):
            tok = tok.strip()
            if tok and tok not in _STOP and not _PUNCT.match(tok):
                out.append(sys.intern(tok))  # the same few words over and over: one string each
        return out

    def words(self, text: str) -> list[str]:
        """Whole words (jieba's precise mode), for judging whether a sentence covers a question."""
        return [w for w in (t.strip() for t in self._tokenizer.cut(text.lower(), HMM=False))
                if w and w not in _STOP and not _PUNCT.match(w)]

    def rebuild(self, chunks: list[KeywordChunk], stamp: str | None = None) -> None:
        """Index exactly these chunks. `stamp` names the store state they come from (its version): an
        index saved for it is opened instead of built, and a built one is saved for the next start."""
        ids = [c.chunk_id for c in chunks]
        saved = self._open_saved(stamp, ids) if stamp and chunks else None
        if saved is not None:
            bm25, ids = saved  # its rows are in the order it was built in
        else:
            bm25 = self._build(chunks)
            if stamp and bm25 is not None:
                self._save(bm25, ids, stamp)
        with self._lock:
            self._ids = ids
            self._pos = {cid: i for i, cid in enumerate(ids)}
            self._bm25 = bm25

    def _tokens(self) -> dict[str, list[str]]:
        """The token cache, read back from its file the first time a build needs it."""
        if self._cache is None:
            self._cache = {}
            if self.cache_path and self.cache_path.exists():
                try:
                    self._cache = {k: [sys.intern(t) for t in v]
                                   for k, v in json.loads(self.cache_path.read_text(encoding="utf-8")).items()}
                except (OSError, ValueError):
                    pass  # a damaged cache is only a slower start
        return self._cache

    def _build(self, chunks: list[KeywordChunk]) -> bm25s.BM25 | None:
        """BM25 over these chunks; only chunks not seen before are tokenised. With a cache file the
        token lists leave memory afterwards (they are on disk, and a search never needs them)."""
        cache = self._tokens()
        tokens = []
        fresh = 0
        for c in chunks:
            toks = cache.get(c.chunk_id)
            if toks is None:
                toks = self.tokenize(f"{c.title} {c.section_path} {c.text}")
                cache[c.chunk_id] = toks
                fresh += 1
            tokens.append(toks)
        live = {c.chunk_id for c in chunks}
        kept = {k: v for k, v in cache.items() if k in live}
        dropped = len(cache) - len(kept)  # a deleted report's words leave the file too
        bm25 = None
        if chunks:
            bm25 = bm25s.BM25()
            bm25.index(tokens, show_progress=False)
        if (fresh or dropped) and self.cache_path:
            self.cache_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.cache_path.with_suffix(f".{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")  # writers may share the cache
            tmp.write_text(json.dumps(kept, ensure_ascii=False), encoding="utf-8")
            tmp.replace(self.cache_path)
        self._cache = None if self.cache_path else kept
        return bm25

    # --- the saved index ------------------------------------------------------------------------
    def _saved_dir(self, stamp: str) -> Path | None:
        """Where the index of one store state lives: beside the token cache, named by the stamp, this
        format and the bm25s version (the cache's own name carries the model and vocabulary tag)."""
        if self.cache_path is None:
            return None
        key = hashlib.sha256(f"{FORMAT}\x00{bm25s.__version__}\x00{stamp}".encode()).hexdigest()[:16]
        return self.cache_path.with_suffix(".bm25") / key

    def _open_saved(self, stamp: str, ids: list[str]) -> tuple[bm25s.BM25, list[str]] | None:
        """The saved index of this stamp, memory-mapped, if it holds exactly these chunks. A damaged or
        mismatched one is removed (so that the rebuild can save a good one) and None returned."""
        path = self._saved_dir(stamp)
        if path is None or not path.is_dir():
            return None
        try:
            meta = json.loads((path / "ids.json").read_text(encoding="utf-8"))
            saved = meta["ids"]
            if meta.get("stamp") == stamp and len(saved) == len(ids) and set(saved) == set(ids):
                bm25 = bm25s.BM25.load(path, mmap=True, show_progress=False)
                data, indices, indptr = (bm25.scores[k] for k in ("data", "indices", "indptr"))
                if bm25.scores["num_docs"] == len(saved) and int(indptr[-1]) == len(data) == len(indices):
                    return bm25, list(saved)
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            pass
        shutil.rmtree(path, ignore_errors=True)
        return None

    def _save(self, bm25: bm25s.BM25, ids: list[str], stamp: str) -> None:
        """Write the index to a temp folder, then rename it into place: other processes sharing the
        folder see a whole index or none. A failure only costs the next start a rebuild."""
        target = self._saved_dir(stamp)
        if target is None or target.exists():
            return  # another process saved this state first
        tmp = target.with_name(f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        try:
            bm25.save(tmp, show_progress=False)
            (tmp / "ids.json").write_text(json.dumps({"stamp": stamp, "ids": ids}), encoding="utf-8")
            os.replace(tmp, target)
        except OSError:
            pass  # the disk is full, or another process renamed its copy in first
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        _prune(target.parent, keep=target.name)

    def has_term(self, term: str) -> bool:
        """Whether any indexed chunk contains this token."""
        with self._lock:
            bm25 = self._bm25
        return bool(bm25 is not None and term.lower() in bm25.vocab_dict)

    def __len__(self) -> int:
        return len(self._ids)

    def search(self, query_tokens: list[str], k: int, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        """Top-k (chunk id, BM25 score); `allowed` restricts to a subset (metadata filters)."""
        with self._lock:
            bm25, ids, pos = self._bm25, self._ids, self._pos
        if bm25 is None or not query_tokens:
            return []
        scores = bm25.get_scores(query_tokens)
        if allowed is not None:
            mask = np.zeros(len(ids), dtype=bool)
            mask[[pos[c] for c in allowed if c in pos]] = True
            scores = np.where(mask, scores, 0.0)
        k = min(k, len(ids))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [(ids[i], float(scores[i])) for i in top if scores[i] > 0]


def _prune(folder: Path, keep: str) -> None:
    """Remove indexes of earlier store states (a process that has one open keeps its mapping) and temp
    folders that crashed writers left behind."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return
    now = time.time()
    for p in entries:
        try:
            stale_tmp = p.name.startswith(".tmp-") and now - p.stat().st_mtime > _STALE_TMP_S
        except OSError:
            continue
        if p.name != keep and (stale_tmp or not p.name.startswith(".")):
            shutil.rmtree(p, ignore_errors=True)
