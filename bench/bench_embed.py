"""Embedding throughput and retrieval agreement of the backends on the sample corpus's chunks.

    python bench/bench_embed.py [--texts 300] [--batch-size 32] [--rounds 1] [--device cuda]

Rows: torch fp32 in corpus order (batches of 32, no sorting), torch fp32 length-sorted, ONNX fp32
and ONNX int8 (both length-sorted). Columns: throughput (wall clock; CPU seconds of the process
too, steadier when other processes share the machine), speedup vs plain torch, and agreement
with plain torch: cosine of each passage's two embeddings, overlap of the top-5 passages and
same top-1 passage for the queries. When eval/qa.jsonl is there its questions are the queries
and hit@5 (a top-5 passage contains the gold evidence) shows whether differences in ranking
matter; e5 scores are compressed, so near-ties reorder without changing hit@5.
With --rounds > 1 the backends run interleaved and each keeps its best time. With --device cuda a
"torch fp32 sorted (cuda)" row is added beside the CPU rows (ONNX rows stay on the CPU).
Note: one `SentenceTransformer.encode(all_texts)` call already sorts by length internally;
"plain" is what batching by hand in corpus order costs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # an edge script: never reach for a model hub

from assistant.backends import resolve_model  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from vectorstore.embeddings import OnnxEmbedder, SentenceTransformerEmbedder  # noqa: E402

FALLBACK_QUERIES = [
    "2024年地区生产总值增长多少",
    "一般公共预算收入完成情况",
    "湿地保护修复和生态建设",
    "港口建设和对外开放",
    "居民人均可支配收入增长",
    "民生实事和就业",
    "招商引资项目",
    "科技创新和产业升级",
]


def load_passages(settings: Settings, limit: int) -> list[tuple[str, str]]:
    """(text to embed, chunk text) pairs: the project's chunker if it works, else 450-char slices."""
    try:
        from assistant.ingest.parsing import parse_paths

        pairs = [(c.embed_text, c.text) for c in parse_paths([settings.data_dir], settings).chunks]
    except Exception as exc:  # the chunker is another module's: fall back rather than fail
        print(f"(chunker unavailable: {exc!r}; slicing)")
        pairs, step = [], settings.chunk_target
        for path in sorted(settings.data_dir.glob("*.txt")):
            s = path.read_text(encoding="utf-8")
            pairs += [(s[i : i + step], s[i : i + step]) for i in range(0, len(s), step)]
    return [p for p in pairs if p[0].strip()][:limit]


def load_queries(chunk_texts: list[str]) -> tuple[list[str], list[set[int]]]:
    """Eval questions whose evidence lies inside one benchmarked chunk, with those chunks' indices."""
    path = ROOT / "eval" / "qa.jsonl"
    if not path.is_file():
        return FALLBACK_QUERIES, []
    questions, gold = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        item = json.loads(line) if line.strip() else {}
        hits = {i for i, t in enumerate(chunk_texts) if item.get("evidence") and item["evidence"] in t}
        if hits:
            questions.append(item["question"])
            gold.append(hits)
    return (questions, gold) if questions else (FALLBACK_QUERIES, [])


def timed(embedder, texts: list[str], sort: bool) -> tuple[np.ndarray, float, float]:
    """(vectors, wall seconds, CPU seconds of this process)."""
    t0, c0 = time.perf_counter(), time.process_time()
    vecs = embedder.encode(texts, embedder.passage_prompt, sort_by_length=sort)
    return vecs, time.perf_counter() - t0, time.process_time() - c0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--texts", type=int, default=300, help="number of passages (default 300)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=1, help="timed runs per backend, best kept (default 1)")
    ap.add_argument("--device", default="cpu", help="also time torch on this device (e.g. cuda); CPU rows always run")
    args = ap.parse_args()

    settings = Settings()
    model_dir, model_id = resolve_model(settings)
    pairs = load_passages(settings, args.texts)
    texts = [p[0] for p in pairs]
    queries, gold = load_queries([p[1] for p in pairs])
    n_chars, lengths = sum(map(len, texts)), [len(t) for t in texts]
    print(f"model {model_id} ({model_dir})")
    print(
        f"{len(texts)} passages, {n_chars} chars (min {min(lengths)}, mean {np.mean(lengths):.0f}, max {max(lengths)})"
    )
    print(f"{len(queries)} queries{' from eval/qa.jsonl' if gold else ''}")

    common = {"model_id": model_id, "batch_size": args.batch_size, "device": "cpu"}
    torch_emb = SentenceTransformerEmbedder(model_dir, **common)
    runs = [
        ("torch fp32 plain", torch_emb, False),
        ("torch fp32 sorted", torch_emb, True),
        ("onnx fp32 sorted", OnnxEmbedder(model_dir, quantized=False, **common), True),
        ("onnx int8 sorted", OnnxEmbedder(model_dir, quantized=True, **common), True),
    ]
    if args.device != "cpu":
        runs.append((f"torch fp32 sorted ({args.device})",
                     SentenceTransformerEmbedder(model_dir, **{**common, "device": args.device}), True))
    for _, emb, _ in runs:  # load (and export ONNX on first use) before any clock runs
        emb.encode(texts[:4], emb.passage_prompt)
    best: dict[str, tuple[np.ndarray, float, float]] = {}
    for r in range(args.rounds):
        for name, emb, sort in runs:
            vecs, secs, cpu = timed(emb, texts, sort)
            if name not in best or secs < best[name][1]:
                best[name] = (vecs, secs, cpu)
            print(f"  round {r + 1}: {name}: {secs:.1f}s wall, {cpu:.1f}s CPU", flush=True)

    ref_vecs, ref_secs, _ = best[runs[0][0]]
    ref_top = None
    print()
    print(
        f"{'backend':<18} {'chars/s':>8} {'chunks/s':>9} {'speedup':>8} {'CPU s':>6} "
        f"{'cos mean':>9} {'cos min':>8} {'top5 overlap':>13} {'top1 same':>10} {'hit@5':>6}"
    )
    for name, emb, _ in runs:
        vecs, secs, cpu = best[name]
        top = np.argsort(-(emb.encode(queries, emb.query_prompt) @ vecs.T), axis=1)[:, :5]
        ref_top = top if ref_top is None else ref_top
        cos = (vecs * ref_vecs).sum(axis=1)
        overlap = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(top, ref_top, strict=True)])
        hit5 = f"{np.mean([bool(set(t) & g) for t, g in zip(top, gold, strict=True)]):.3f}" if gold else "-"
        print(
            f"{name:<18} {n_chars / secs:>8.0f} {len(texts) / secs:>9.2f} {ref_secs / secs:>7.2f}x {cpu:>6.1f} "
            f"{cos.mean():>9.5f} {cos.min():>8.5f} {overlap:>13.2f} {np.mean(top[:, 0] == ref_top[:, 0]):>10.2f} "
            f"{hit5:>6}"
        )
    print(f"\n(settings.embedding_backend = {settings.embedding_backend!r}; {os.cpu_count()} CPU cores)")


if __name__ == "__main__":
    main()
