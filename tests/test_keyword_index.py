"""The saved keyword index: a start over an unchanged index opens the BM25 matrix saved for the store's
version (memory-mapped) and ranks exactly as a rebuild would; a changed index is rebuilt and saved; a
damaged or missing file costs only a rebuild, and other processes never see a half-written one."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import bm25s
import numpy as np
import pytest

from assistant.qa import ReportQA
from tests.builders import report_text
from tests.fakes import BigramEmbedder
from vectorstore.keyword import KeywordIndex

QUERIES = ["一般公共预算收入", "地区生产总值 增长", "营商环境 优化", "乡村振兴", "沈阳 固定资产投资", "不存在的词汇甲乙"]


@pytest.fixture(scope="module")
def chunks(sample_qa) -> list:
    sample_qa.refresh(force=True)
    return list(sample_qa.retriever.view.chunks.values())


@pytest.fixture(scope="module")
def tokens(chunks, tmp_path_factory) -> Path:
    """A token cache of the sample chunks, made once: tests copy it rather than tokenise again."""
    path = tmp_path_factory.mktemp("tokens") / "keyword.json"
    KeywordIndex(cache_path=path).rebuild(chunks)
    return path


@pytest.fixture
def cache(tmp_path, tokens) -> Path:
    path = tmp_path / "keyword.json"
    shutil.copy(tokens, path)
    return path


@pytest.fixture(scope="module")
def expected(chunks) -> list[list[tuple[str, float]]]:
    """The reference ranking: built in memory, nothing saved or read."""
    return results(fresh(chunks))


def results(index: KeywordIndex) -> list[list[tuple[str, float]]]:
    return [index.search(index.tokenize(q), 30) for q in QUERIES]


def fresh(chunks: list) -> KeywordIndex:
    """Built in memory: nothing saved, nothing opened."""
    index = KeywordIndex()
    index.rebuild(chunks)
    return index


def no_build(monkeypatch) -> None:
    """Make any BM25 build fail, so a test can tell that an index was opened, not rebuilt."""
    def fail(*args, **kwargs):
        raise AssertionError("the BM25 index was rebuilt")

    monkeypatch.setattr(bm25s.BM25, "index", fail)


def saved_dirs(cache) -> list[str]:
    folder = cache.with_suffix(".bm25")
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_saved_index_ranks_exactly_as_a_rebuilt_one(cache, chunks, expected, monkeypatch):
    KeywordIndex(cache_path=cache).rebuild(chunks, stamp="v1")
    assert len(saved_dirs(cache)) == 1
    no_build(monkeypatch)
    monkeypatch.setattr(KeywordIndex, "_tokens", lambda self: pytest.fail("tokens read for an unchanged index"))
    opened = KeywordIndex(cache_path=cache)
    opened.rebuild(list(reversed(chunks)), stamp="v1")  # the store may list chunks in another order
    monkeypatch.undo()
    assert isinstance(opened._bm25.scores["data"], np.memmap)
    assert opened._cache is None  # no token lists held after the build
    assert results(opened) == expected and any(expected)
    assert opened.has_term("预算") and not opened.has_term("不存在的词汇甲乙")
    allowed = {c.chunk_id for c in chunks[: len(chunks) // 3]}
    words = opened.tokenize("地区生产总值")
    assert opened.search(words, 10, allowed) == fresh(chunks).search(words, 10, allowed) != []


def test_a_changed_index_is_rebuilt_and_replaces_the_saved_one(cache, chunks, expected):
    KeywordIndex(cache_path=cache).rebuild(chunks, stamp="v1")
    first = saved_dirs(cache)
    fewer = chunks[: len(chunks) // 2]
    index = KeywordIndex(cache_path=cache)
    index.rebuild(fewer, stamp="v2")
    assert results(index) == results(fresh(fewer))
    assert len(saved_dirs(cache)) == 1 and saved_dirs(cache) != first  # the old state's index is gone
    again = KeywordIndex(cache_path=cache)
    again.rebuild(chunks, stamp="v2")  # same stamp, other chunks: not trusted
    assert results(again) == expected


@pytest.mark.parametrize("damage", ["truncate", "ids"])
def test_a_damaged_saved_index_is_only_a_slower_start(cache, chunks, expected, damage, monkeypatch):
    KeywordIndex(cache_path=cache).rebuild(chunks, stamp="v1")
    folder = cache.with_suffix(".bm25") / saved_dirs(cache)[0]
    if damage == "truncate":
        data = folder / "data.csc.index.npy"
        data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    else:  # ids of other chunks, or of none
        (folder / "ids.json").write_text(json.dumps({"stamp": "v1", "ids": ["x"] * len(chunks)}), encoding="utf-8")
    index = KeywordIndex(cache_path=cache)
    index.rebuild(chunks, stamp="v1")
    assert results(index) == expected
    no_build(monkeypatch)  # and the rebuild saved a good one in its place
    again = KeywordIndex(cache_path=cache)
    again.rebuild(chunks, stamp="v1")
    assert results(again) == expected


def test_a_damaged_token_cache_is_retokenised(tmp_path, chunks, expected):
    cache = tmp_path / "keyword.json"
    cache.write_text("{\"half\": [", encoding="utf-8")
    index = KeywordIndex(cache_path=cache)
    index.rebuild(chunks, stamp="v1")
    assert results(index) == expected
    assert len(json.loads(cache.read_text(encoding="utf-8"))) == len(chunks)


def test_writers_leave_no_partial_folder_and_clear_crashed_ones(cache, chunks):
    folder = cache.with_suffix(".bm25")
    crashed, writing = folder / ".tmp-1-dead", folder / ".tmp-2-live"
    for d in (crashed, writing):
        d.mkdir(parents=True)
    hour_ago = time.time() - 7200
    os.utime(crashed, (hour_ago, hour_ago))
    KeywordIndex(cache_path=cache).rebuild(chunks, stamp="v1")
    KeywordIndex(cache_path=cache).rebuild(chunks, stamp="v1")  # a second process: opens, writes nothing
    names = saved_dirs(cache)
    assert ".tmp-1-dead" not in names and ".tmp-2-live" in names  # another writer may still be at work
    assert len([n for n in names if not n.startswith(".")]) == 1


def test_a_restart_opens_the_index_and_an_ingest_rebuilds_it(settings, monkeypatch):
    (settings.data_dir / "a.txt").write_text(report_text("鞍山"), encoding="utf-8")
    first = ReportQA(settings, BigramEmbedder())
    first.ingest()
    question = "鞍山2023年一般公共预算收入多少？"
    before = first.ask(question)
    cache = first.keyword.cache_path
    assert cache is not None and len(saved_dirs(cache)) == 1
    with monkeypatch.context() as m:
        no_build(m)
        restarted = ReportQA(settings, BigramEmbedder())
        after = restarted.ask(question)
    assert not after.refused and after.answer == before.answer
    assert [c.chunk_id for c in after.citations] == [c.chunk_id for c in before.citations]
    kept = saved_dirs(cache)
    (settings.data_dir / "b.txt").write_text(report_text("营口", revenue="88.8"), encoding="utf-8")
    restarted.ingest()
    assert "88.8" in restarted.ask("营口2023年一般公共预算收入多少？").answer
    assert len(saved_dirs(cache)) == 1 and saved_dirs(cache) != kept
