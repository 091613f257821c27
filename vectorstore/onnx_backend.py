"""Export a sentence-transformers encoder to ONNX (fp32 or dynamic int8), cached in the model folder.

Why our own export and not optimum: fewer dependencies, and the recipe matters for speed. The
model is traced with eager attention (the sdpa path of transformers 5 traces into a slow graph
that onnxruntime cannot fuse), then onnxruntime's BERT optimizer fuses attention, GELU and LayerNorm.
The embedding lookup is left a plain Gather, so that int8 quantises the word-embedding table too: fused
into EmbedLayerNormalization it stayed fp32, 384 of the int8 file's 406 MB for a 250,000-piece
vocabulary (now 113 MB, a session ~90 MB instead of ~370 MB, the same cosine to fp32: 0.9967). Int8
is dynamic quantisation with per-channel weights (per-tensor weights lose noticeably more accuracy for
e5-small: cos 0.985 vs 0.997).

The int8 weights are stored beside the graph as external data (model_qint8.onnx.data), which ONNX
Runtime maps into memory instead of copying: a question touches only the vocabulary rows it uses, so
asking costs ~40 MB of model pages instead of ~150 MB (and no 60 MB copy while the session loads),
and processes on one host share the pages.
"""

from __future__ import annotations

import logging
import os
import threading
import warnings
from pathlib import Path

import numpy as np

from vectorstore.cache import atomic_build, is_fresh, source_stamp

log = logging.getLogger(__name__)

ONNX_DIR = "onnx"
FP32_FILE = "model.onnx"
INT8_FILE = "model_qint8.onnx"
INT8_DATA = INT8_FILE + ".data"  # its weights, mapped rather than read (see the module docstring)
# Bumped when the export recipe changes, so cached files get rebuilt.
_RECIPE_VERSION = 3
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "config.json")
_export_lock = threading.Lock()


def onnx_model_path(model_dir: Path, quantized: bool) -> Path:
    """Return the cached ONNX file for `model_dir`, exporting it first if missing or stale."""
    with _export_lock:
        return _ensure(Path(model_dir), quantized)


def _ensure(model_dir: Path, quantized: bool) -> Path:
    target = model_dir / ONNX_DIR / (INT8_FILE if quantized else FP32_FILE)
    stamp = _stamp(model_dir, quantized)
    if not is_fresh(target, stamp) or (quantized and not (target.parent / INT8_DATA).is_file()):
        if quantized:  # int8 is derived from the optimised fp32 graph, which stays cached too
            fp32 = _ensure(model_dir, quantized=False)
            atomic_build(target, lambda tmp: _quantize(fp32, tmp), stamp)
        else:
            atomic_build(target, lambda tmp: _export_fp32(model_dir, tmp), stamp)
    return target


def _stamp(model_dir: Path, quantized: bool) -> dict:
    """What the cached file was made from: if any of it changes, the file is rebuilt."""
    import onnxruntime

    return {
        "recipe": _RECIPE_VERSION,
        "int8": quantized,
        "onnxruntime": onnxruntime.__version__,
        "sources": source_stamp(model_dir, _WEIGHT_FILES),
    }


def _export_fp32(model_dir: Path, out: Path) -> None:
    import torch
    from transformers import AutoConfig, AutoModel

    log.info("exporting %s to ONNX (one-off, ~30 s)", model_dir)
    config = AutoConfig.from_pretrained(model_dir, local_files_only=True)
    model = AutoModel.from_pretrained(model_dir, local_files_only=True, attn_implementation="eager").eval()

    class Encoder(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    # Padding in the dummy batch makes the trace keep the masked-attention path.
    pad = config.pad_token_id if config.pad_token_id is not None else 0
    ids = torch.tensor([[0, 10, 11, 12, 2], [0, 10, 2, pad, pad]])
    mask = (torch.arange(5) < torch.tensor([[5], [3]])).long()
    raw = out.with_name("raw.onnx")
    axes = {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"}}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer chatter about shape-dependent Python branches
        torch.onnx.export(
            # .eval() on the wrapper: the exporter restores the wrapper's mode onto every submodule
            # afterwards, and a fresh Module is in training mode (dropout on).
            Encoder(model).eval(), (ids, mask), str(raw), dynamo=False, opset_version=17,
            input_names=["input_ids", "attention_mask"], output_names=["last_hidden_state"],
            dynamic_axes={**axes, "last_hidden_state": {0: "batch", 1: "seq"}},
        )  # fmt: skip
    try:
        from onnxruntime.transformers.fusion_options import FusionOptions
        from onnxruntime.transformers.optimizer import optimize_model

        options = FusionOptions("bert")
        options.enable_embed_layer_norm = False  # keeps the word embeddings a Gather that int8 can quantise
        optimized = optimize_model(
            str(raw), model_type="bert", num_heads=config.num_attention_heads, hidden_size=config.hidden_size,
            optimization_options=options,
        )
        optimized.save_model_to_file(str(out))
    except Exception as exc:  # an architecture the fusions do not know: the plain graph still works
        log.warning("onnxruntime optimizer failed (%s); using the unoptimised graph", exc)
        os.replace(raw, out)
    _check_export(model, out)


def _check_export(model, onnx_file: Path) -> None:
    """Guard against a bad trace: the ONNX graph must reproduce torch on a padded, mixed batch."""
    import onnxruntime as ort
    import torch

    rng = np.random.default_rng(0)
    lengths = [3, 17, 40]
    ids = np.full((3, 40), model.config.pad_token_id or 0, np.int64)
    mask = np.zeros((3, 40), np.int64)
    for row, n in enumerate(lengths):
        ids[row, :n] = rng.integers(5, min(model.config.vocab_size, 30000), n)
        mask[row, :n] = 1
    with torch.no_grad():
        ref = model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)).last_hidden_state
    session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
    a, b = mean_pool(ref.numpy(), mask), mean_pool(got, mask)
    worst = float((a * b).sum(axis=1).min())
    if worst < 0.9999:
        raise RuntimeError(f"ONNX export does not match the torch model (cosine {worst:.5f})")


def _quantize(fp32: Path, out: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root, hint = logging.getLogger(), _DropMessage("pre-processing before quantization")
    root.addFilter(hint)  # quantize_dynamic logs this advice (meant for static quantisation) on root
    try:
        quantize_dynamic(
            str(fp32), str(out), weight_type=QuantType.QInt8, per_channel=True,
            op_types_to_quantize=["MatMul", "Attention", "Gather"],
            # Only weight matmuls; quantising attention's activation x activation products costs accuracy.
            extra_options={"MatMulConstBOnly": True, "DefaultTensorType": onnx.TensorProto.FLOAT},
        )  # fmt: skip
    finally:
        root.removeFilter(hint)
    model = onnx.load(str(out))
    onnx.save_model(model, str(out), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=INT8_DATA, size_threshold=1024)


class _DropMessage(logging.Filter):
    def __init__(self, fragment: str):
        super().__init__()
        self.fragment = fragment

    def filter(self, record: logging.LogRecord) -> bool:
        return self.fragment not in record.getMessage()


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Masked mean over tokens, then L2 normalisation (what Pooling(mean) + Normalize do)."""
    m = mask[..., None].astype(hidden.dtype)
    pooled = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
    return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
