"""Tokenising for the ONNX backend: SentencePiece for Unigram vocabularies, `tokenizers` otherwise.

Why not `tokenizers` for everything: it holds a Unigram vocabulary (XLM-R's 250,000 pieces, used by
multilingual e5 and its kin) in a trie of hash maps, ~280 MB per process and a third of a serving
process. SentencePiece holds the same pieces in a double-array trie (~60 MB) and encodes several times
faster. The SentencePiece model is written once from tokenizer.json (cached beside the ONNX files);
the normaliser, the added tokens and the template still come from tokenizer.json, so the ids are those
`tokenizers` gives (every slice of the sample and eval corpora; random strings differ only where two
segmentations score exactly the same). Any other tokenizer.json is read by `tokenizers` as before.
What the pipeline needs of tokenizer.json besides the pieces is cached too (tokenizer.json without its
vocabulary, a few KB): parsing the 17 MB file for it cost ~60 MB more on every start.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from vectorstore.cache import build_cached, source_stamp

PIECES_FILE = "pieces.model"
LEAN_SPEC_FILE = "tokenizer-lean.spec"  # tokenizer.json without the vocabulary (JSON)
_RECIPE_VERSION = 1
_SPACE = "▁"


class BatchTokenizer(Protocol):
    """Texts -> (input ids, attention mask), int64, padded to the longest text of the batch."""

    def encode(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]: ...


def load_tokenizer(model_dir: Path, cache_dir: Path, *, max_length: int, pad_token: str,
                   pad_id: int) -> BatchTokenizer:
    """The leaner tokenizer the model's tokenizer.json allows. `pad_id` is used when the vocabulary has
    no `pad_token`."""
    spec = _lean_spec(model_dir, cache_dir)
    if _unigram_metaspace(spec):
        pad = next((t["id"] for t in spec.get("added_tokens") or [] if t["content"] == pad_token), pad_id)
        return PieceTokenizer(spec, _pieces_model(model_dir, cache_dir), max_length, pad)
    return HFTokenizer(model_dir / "tokenizer.json", max_length, pad_token, pad_id)


def _full_spec(model_dir: Path) -> dict[str, Any]:
    return json.loads((model_dir / "tokenizer.json").read_text(encoding="utf-8"))


def _lean_spec(model_dir: Path, cache_dir: Path) -> dict[str, Any]:
    """tokenizer.json with its model's vocabulary left out, from a small file written once."""

    def write(tmp: Path) -> None:
        spec = _full_spec(model_dir)
        model = {k: v for k, v in (spec.get("model") or {}).items() if k not in ("vocab", "merges")}
        tmp.write_text(json.dumps({**spec, "model": model}, ensure_ascii=False), encoding="utf-8")

    stamp = {"recipe": _RECIPE_VERSION, "sources": source_stamp(model_dir, ("tokenizer.json",))}
    path = build_cached(cache_dir / LEAN_SPEC_FILE, stamp, write)
    return json.loads(path.read_text(encoding="utf-8"))


class HFTokenizer:
    """`tokenizers` configured once for truncation and padding (safe to call from several threads)."""

    def __init__(self, path: Path, max_length: int, pad_token: str, pad_id: int):
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(path))
        known = tok.token_to_id(pad_token)
        tok.enable_truncation(max_length=max_length)
        tok.enable_padding(pad_id=pad_id if known is None else known, pad_token=pad_token)
        self._tok = tok

    def encode(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        encodings = self._tok.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], np.int64)
        return ids, np.array([e.attention_mask for e in encodings], np.int64)


class PieceTokenizer:
    """tokenizer.json's pipeline with SentencePiece doing the Unigram segmentation."""

    def __init__(self, spec: dict[str, Any], model_file: Path, max_length: int, pad_id: int):
        import sentencepiece
        from tokenizers import Tokenizer

        # the normaliser alone: tokenizer.json with a one-word model (the 250,000 pieces stay unread)
        bare = {**spec, "model": {"type": "WordLevel", "vocab": {"<unk>": 0}, "unk_token": "<unk>"},
                "added_tokens": [], "post_processor": None, "decoder": None}  # fmt: skip
        normalizer = Tokenizer.from_str(json.dumps(bare)).normalizer
        self._normalize = normalizer.normalize_str if normalizer is not None else (lambda s: s)
        self._pieces = sentencepiece.SentencePieceProcessor(model_file=str(model_file))
        added = sorted(spec.get("added_tokens") or [], key=lambda t: -len(t["content"]))
        self._added_ids = {t["content"]: t["id"] for t in added}
        self._added = re.compile("|".join(
            ("\\s*" if t.get("lstrip") else "") + re.escape(t["content"]) + ("\\s*" if t.get("rstrip") else "")
            for t in added
        )) if added else None  # fmt: skip
        self._prefix, self._suffix = _template(spec)
        self._room = max(1, max_length - len(self._prefix) - len(self._suffix))
        self._pad_id = pad_id

    def ids(self, text: str) -> list[int]:
        """The ids of one text without the template's special tokens (tokenizers' `add_special_tokens=False`)."""
        if self._added is None:
            return self._segment(text)
        out: list[int] = []
        pos = 0
        for m in self._added.finditer(text):  # added tokens are matched in the raw text, as tokenizers does
            out += self._segment(text[pos : m.start()])
            out.append(self._added_ids[m.group().strip()])
            pos = m.end()
        return out + self._segment(text[pos:])

    def _segment(self, text: str) -> list[int]:
        norm = self._normalize(text).replace(" ", _SPACE)
        if not norm:
            return []
        if not norm.startswith(_SPACE):  # Metaspace, prepend_scheme "always"
            norm = _SPACE + norm
        return self._pieces.encode(norm)

    def encode(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        rows = [self._prefix + self.ids(t)[: self._room] + self._suffix for t in texts]
        width = max(len(r) for r in rows)
        ids = np.full((len(rows), width), self._pad_id, np.int64)
        mask = np.zeros((len(rows), width), np.int64)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = r
            mask[i, : len(r)] = 1
        return ids, mask


def _unigram_metaspace(spec: dict[str, Any]) -> bool:
    """Whether SentencePiece can stand in: a Unigram model without byte fallback, Metaspace splitting
    (prepend always, no split), and a single-sequence template of special tokens around the text."""
    model, pre = spec.get("model") or {}, spec.get("pre_tokenizer") or {}
    try:
        _template(spec)
    except (KeyError, TypeError, ValueError):
        return False
    return (
        model.get("type") == "Unigram" and not model.get("byte_fallback") and model.get("unk_id") is not None
        and pre.get("type") == "Metaspace" and pre.get("replacement") == _SPACE
        and pre.get("prepend_scheme", "always") == "always" and not pre.get("split", False)
        and all(not t.get("normalized") for t in spec.get("added_tokens") or [])
    )  # fmt: skip


def _template(spec: dict[str, Any]) -> tuple[list[int], list[int]]:
    """(ids before the text, ids after it) of the post-processor's single-sequence template."""
    post = spec.get("post_processor")
    if post is None:
        return [], []
    if post.get("type") != "TemplateProcessing":
        raise ValueError(post.get("type"))
    specials = post["special_tokens"]
    before: list[int] = []
    after: list[int] = []
    seen_text = False
    for part in post["single"]:
        if "Sequence" in part:
            seen_text = True
        else:
            (after if seen_text else before).extend(specials[part["SpecialToken"]["id"]]["ids"])
    return before, after


def _pieces_model(model_dir: Path, cache_dir: Path) -> Path:
    """The SentencePiece model of this tokenizer.json, written once (and again when the file changes)."""
    stamp = {"recipe": _RECIPE_VERSION, "sources": source_stamp(model_dir, ("tokenizer.json",))}
    return build_cached(cache_dir / PIECES_FILE, stamp, lambda tmp: _write_pieces(_full_spec(model_dir), tmp))


def _write_pieces(spec: dict[str, Any], out: Path) -> None:
    from sentencepiece import sentencepiece_model_pb2

    pb: Any = sentencepiece_model_pb2  # generated protobuf code: no type information
    model = spec["model"]
    unk = int(model["unk_id"])
    special = {t["id"] for t in spec.get("added_tokens") or [] if t.get("special")}
    proto = pb.ModelProto()
    proto.trainer_spec.model_type = pb.TrainerSpec.UNIGRAM
    proto.trainer_spec.vocab_size = len(model["vocab"])
    proto.trainer_spec.unk_id = unk
    proto.trainer_spec.bos_id = proto.trainer_spec.eos_id = proto.trainer_spec.pad_id = -1
    # tokenizer.json's normaliser runs before SentencePiece, which must then change nothing
    proto.normalizer_spec.name = "identity"
    proto.normalizer_spec.add_dummy_prefix = False
    proto.normalizer_spec.remove_extra_whitespaces = False
    proto.normalizer_spec.escape_whitespaces = False
    kinds = pb.ModelProto.SentencePiece
    for i, (piece, score) in enumerate(model["vocab"]):
        p = proto.pieces.add()
        p.piece, p.score = piece, float(score)
        p.type = kinds.UNKNOWN if i == unk else kinds.CONTROL if i in special else kinds.NORMAL
    out.write_bytes(proto.SerializeToString())
