"""Meaningful deterministic fakes for the seams that cannot run real here (or would be slow)."""

from __future__ import annotations

import hashlib
import math


class BigramEmbedder:
    """Hashes Chinese character bigrams into a unit vector, so texts sharing words rank close."""

    model_id = "fake-bigram"

    def __init__(self, dimension: int = 256):
        self.dimension = dimension
        self.calls = 0

    def _vec(self, text: str) -> list[float]:
        v = [0.0] * self.dimension
        chars = [c for c in text if not c.isspace()]
        for a, b in zip(chars, chars[1:], strict=False):
            h = int.from_bytes(hashlib.md5((a + b).encode()).digest()[:4], "little")
            v[h % self.dimension] += 1.0
        n = math.sqrt(sum(x * x for x in v)) or 1.0
        return [x / n for x in v]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += len(texts)
        return [self._vec(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vec(text)
