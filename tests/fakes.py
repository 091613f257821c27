"""Meaningful deterministic fakes for the seams that cannot run real here (or would be slow)."""

from __future__ import annotations

import hashlib
import math
import shutil
from pathlib import Path

from assistant.settings import Settings


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


def indexed_sample_corpus(root: Path) -> Settings:
    """A copy of the sample corpus under `root`, indexed with the fake embedder; returns its settings."""
    from assistant.qa import ReportQA
    from tests.conftest import SAMPLE_DIR

    data = root / "reports"
    shutil.copytree(SAMPLE_DIR, data)
    settings = Settings(data_dir=data, home_dir=root / "home", _env_file=None)
    ReportQA(settings, BigramEmbedder()).ingest()
    return settings


DALIAN_REPORT = """2024年大连市政府工作报告

——2024年1月9日在大连市第十七届人民代表大会第三次会议上

各位代表：

现在，我代表市人民政府，向大会报告工作，请予审议。

一、2023年工作回顾

过去一年，全市地区生产总值增长6.7%，达到8752亿元。港口集装箱吞吐量突破500万标准箱。

二、2024年工作安排

2024年全市经济社会发展的主要预期目标是：地区生产总值增长6%左右，一般公共预算收入增长5%。
"""
"""A small report of a city the sample corpus lacks, for upload tests."""
