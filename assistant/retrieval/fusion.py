"""Fusing ranked lists (dense, keyword …) into one score per id, as plain functions chosen by the
`fusion` setting and swept by bench/tune.py. Each takes lists of (id, score), best first."""

from __future__ import annotations

from collections.abc import Callable, Sequence

Ranking = Sequence[tuple[str, float]]


def reciprocal_rank_fusion(rankings: Sequence[Ranking], weights: Sequence[float], k: int = 60) -> dict[str, float]:
    """Σ wᵢ / (k + rankᵢ): only ranks count, so lists whose scores are on different scales (cosine,
    BM25) mix without calibration. Cormack et al. 2009."""
    _check(rankings, weights)
    fused: dict[str, float] = {}
    for ranking, w in zip(rankings, weights, strict=True):
        for rank, (item, _) in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + w / (k + rank)
    return fused


def convex_combination(rankings: Sequence[Ranking], weights: Sequence[float], k: int = 60) -> dict[str, float]:
    """Σ wᵢ · min-max-normalised scoreᵢ (0 where a list lacks the id): uses how far apart the scores
    are, not only their order. `k` is unused (one signature for every method)."""
    _check(rankings, weights)
    fused: dict[str, float] = {}
    for ranking, w in zip(rankings, weights, strict=True):
        if not ranking:
            continue
        scores = [s for _, s in ranking]
        lo, hi = min(scores), max(scores)
        for item, s in ranking:
            norm = (s - lo) / (hi - lo) if hi > lo else 1.0
            fused[item] = fused.get(item, 0.0) + w * norm
    return fused


Fusion = Callable[[Sequence[Ranking], Sequence[float], int], dict[str, float]]
FUSIONS: dict[str, Fusion] = {"rrf": reciprocal_rank_fusion, "convex": convex_combination}


def _check(rankings: Sequence[Ranking], weights: Sequence[float]) -> None:
    if len(rankings) != len(weights):
        raise ValueError(f"one weight per ranking: {len(rankings)} rankings, {len(weights)} weights")
    if any(w < 0 for w in weights):
        raise ValueError(f"weights must not be negative: {list(weights)}")
