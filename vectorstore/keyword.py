"""BM25 over jieba tokens, with a user dictionary of report vocabulary.

Tokenising is the costly part, so tokens are cached by chunk id (persisted beside the vectors);
the BM25 matrix itself is rebuilt from the cache in milliseconds whenever the chunk set changes.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
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
        self._cache: dict[str, list[str]] = {}
        if cache_path and cache_path.exists():
            try:
                self._cache = {k: [sys.intern(t) for t in v]
                               for k, v in json.loads(cache_path.read_text(encoding="utf-8")).items()}
            except (OSError, ValueError):
                self._cache = {}  # a damaged cache is only a slower start
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

    def rebuild(self, chunks: list[KeywordChunk]) -> None:
        """Index exactly these chunks; only chunks not seen before are tokenised."""
        tokens = []
        fresh = 0
        for c in chunks:
            toks = self._cache.get(c.chunk_id)
            if toks is None:
                toks = self.tokenize(f"{c.title} {c.section_path} {c.text}")
                self._cache[c.chunk_id] = toks
                fresh += 1
            tokens.append(toks)
        live = {c.chunk_id for c in chunks}
        before = len(self._cache)
        self._cache = {k: v for k, v in self._cache.items() if k in live}
        dropped = before - len(self._cache)  # a deleted report's words leave the file too
        bm25 = None
        if chunks:
            bm25 = bm25s.BM25()
            bm25.index(tokens, show_progress=False)
        ids = [c.chunk_id for c in chunks]
        with self._lock:
            self._ids = ids
            self._pos = {cid: i for i, cid in enumerate(ids)}
            self._bm25 = bm25
        if (fresh or dropped) and self.cache_path:
            self.cache_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.cache_path.with_suffix(f".{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")  # writers may share the cache
            tmp.write_text(json.dumps(self._cache, ensure_ascii=False), encoding="utf-8")
            tmp.replace(self.cache_path)

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
