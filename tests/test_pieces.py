"""The ONNX backend's tokenizer: SentencePiece standing in for `tokenizers` on Unigram vocabularies must
give the very ids and masks `tokenizers` gives, and anything else must still be read by `tokenizers`."""

from __future__ import annotations

import json

import numpy as np
import pytest

from assistant.backends import prepare_default_model
from tests.builders import ROOT, SAMPLE_DIR
from vectorstore.pieces import HFTokenizer, PieceTokenizer, load_tokenizer

ODD = [
    "", " ", "  多个  空格 ", "\t换行\n与制表", "２０２４年增长５．６％", "～🈻①Ⅱ", "\x01\u200b控制字符\ufeff",
    "<mask> 和 <s> 测试</s>", "Port throughput exceeded 50 million tonnes.", "é ñ ß Ω ж 日本語のテキスト",
]


def _slices() -> list[str]:
    texts = [p.read_text(encoding="utf-8") for p in sorted(SAMPLE_DIR.glob("*.txt"))]
    texts += [p.read_text(encoding="utf-8", errors="replace") for p in sorted((ROOT / "eval/other/docs").iterdir())
              if p.suffix in (".txt", ".md", ".html")]
    return [t[i : i + 300] for t in texts for i in range(0, len(t), 300)] + [texts[0][:3000]]  # one past 512


@pytest.mark.integration
def test_pieces_give_the_ids_tokenizers_gives(shared_model_settings, tmp_path):
    from tokenizers import Tokenizer

    folder = prepare_default_model(shared_model_settings)
    ours = load_tokenizer(folder, tmp_path, max_length=512, pad_token="<pad>", pad_id=1)
    assert isinstance(ours, PieceTokenizer) and (tmp_path / "pieces.model").is_file()
    ref = Tokenizer.from_file(str(folder / "tokenizer.json"))
    ref.enable_truncation(max_length=512)
    ref.enable_padding(pad_id=1, pad_token="<pad>")
    texts = ODD + _slices()
    assert len(texts) > 800
    for start in range(0, len(texts), 16):
        batch = texts[start : start + 16]
        ids, mask = ours.encode(batch)
        encodings = ref.encode_batch(batch)
        assert ids.tolist() == [e.ids for e in encodings], batch
        assert mask.tolist() == [e.attention_mask for e in encodings]
    assert ours.encode([texts[-1]])[0].shape == (1, 512)  # truncated with room for <s> and </s>


@pytest.mark.integration
def test_pieces_model_is_written_once(shared_model_settings, tmp_path):
    folder = prepare_default_model(shared_model_settings)
    load_tokenizer(folder, tmp_path, max_length=512, pad_token="<pad>", pad_id=1)
    first = (tmp_path / "pieces.model").stat().st_mtime_ns
    load_tokenizer(folder, tmp_path, max_length=512, pad_token="<pad>", pad_id=1)
    assert (tmp_path / "pieces.model").stat().st_mtime_ns == first


@pytest.mark.integration
def test_a_cached_tokenizer_does_not_parse_tokenizer_json_again(shared_model_settings, tmp_path, monkeypatch):
    """Parsing the 17 MB file cost ~60 MB on every start; once cached only a few KB are read."""
    import vectorstore.pieces as pieces

    folder = prepare_default_model(shared_model_settings)
    first = load_tokenizer(folder, tmp_path, max_length=512, pad_token="<pad>", pad_id=1)
    lean = json.loads((tmp_path / pieces.LEAN_SPEC_FILE).read_text(encoding="utf-8"))
    assert "vocab" not in lean["model"] and lean["model"]["type"] == "Unigram"
    assert (tmp_path / pieces.LEAN_SPEC_FILE).stat().st_size < 100_000

    def no_full_read(model_dir):
        raise AssertionError("tokenizer.json parsed again")

    monkeypatch.setattr(pieces, "_full_spec", no_full_read)
    again = load_tokenizer(folder, tmp_path, max_length=512, pad_token="<pad>", pad_id=1)
    assert isinstance(again, PieceTokenizer)
    text = ["盘锦2024年地区生产总值增长多少？", "<mask> 和 </s>"]
    assert again.encode(text)[0].tolist() == first.encode(text)[0].tolist()


def test_other_vocabularies_stay_with_tokenizers(tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel({"[PAD]": 0, "[UNK]": 1, "增长": 2, "GDP": 3}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(str(tmp_path / "tokenizer.json"))
    ours = load_tokenizer(tmp_path, tmp_path, max_length=8, pad_token="[PAD]", pad_id=0)
    assert isinstance(ours, HFTokenizer) and not (tmp_path / "pieces.model").exists()
    ids, mask = ours.encode(["GDP 增长", "GDP"])
    assert ids.tolist() == [[3, 2], [3, 0]] and mask.tolist() == [[1, 1], [1, 0]]
    assert json.loads((tmp_path / "tokenizer.json").read_text())["model"]["type"] == "WordLevel"


@pytest.mark.integration
def test_int8_model_quantises_the_word_embeddings(shared_model_settings):
    """Fused into EmbedLayerNormalization the 250,000 x 384 table stayed fp32 (384 MB of a 406 MB file)."""
    import onnx

    from vectorstore.onnx_backend import onnx_model_path

    path = onnx_model_path(prepare_default_model(shared_model_settings), quantized=True)
    graph = onnx.load(str(path)).graph
    floats = [int(np.prod(t.dims)) for t in graph.initializer if t.data_type == onnx.TensorProto.FLOAT]
    assert max(floats) < 1_000_000, max(floats)  # position embeddings and biases only
    assert path.stat().st_size + path.with_name(path.name + ".data").stat().st_size < 160 * 2**20


@pytest.mark.integration
def test_int8_weights_are_mapped_from_a_file_beside_the_graph(shared_model_settings):
    """External data is mapped by ONNX Runtime, not copied: a question touches only its vocabulary rows."""
    import onnx

    from vectorstore.onnx_backend import INT8_DATA, onnx_model_path

    path = onnx_model_path(prepare_default_model(shared_model_settings), quantized=True)
    assert path.stat().st_size < 2 * 2**20  # the graph alone
    graph = onnx.load(str(path), load_external_data=False).graph
    big = [t for t in graph.initializer if int(np.prod(t.dims)) > 100_000]
    assert big and all(t.data_location == onnx.TensorProto.EXTERNAL for t in big)
    assert {e.value for t in big for e in t.external_data if e.key == "location"} == {INT8_DATA}
    assert not any(p.name.startswith(".tmp-") or p.name == "raw.onnx" for p in path.parent.iterdir())
