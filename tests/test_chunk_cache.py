"""The host's chunk cache: a process that starts over an unchanged index reads its chunks from the cache,
not from the store, and sees exactly what the store holds; a changed, deleted or torn file is read from
the store again; a damaged cache file is only a slower start."""

from __future__ import annotations

from assistant.qa import ReportQA
from tests.builders import report_text
from tests.fakes import BigramEmbedder
from vectorstore.chunk_cache import ChunkCache, FileKey


def _store_reads(qa: ReportQA, monkeypatch) -> list[list[str] | None]:
    """Record which files each process reads back from the store."""
    calls: list[list[str] | None] = []
    real = qa.store.iter_chunks

    def counting(sources=None):
        calls.append(None if sources is None else list(sources))
        return real(sources)

    monkeypatch.setattr(qa.store, "iter_chunks", counting)
    return calls


def _index(settings) -> ReportQA:
    (settings.data_dir / "anshan.txt").write_text(report_text("鞍山", 2024, "201.7"), encoding="utf-8")
    (settings.data_dir / "fushun.txt").write_text(report_text("抚顺", 2024, "88.8"), encoding="utf-8")
    (settings.data_dir / "benxi.txt").write_text(report_text("本溪", 2024, "66.6"), encoding="utf-8")
    qa = ReportQA(settings, BigramEmbedder())
    assert not qa.ingest().errors
    return qa


def _chunks(qa: ReportQA) -> dict:
    qa.retriever.view.refresh(force=True)
    return qa.retriever.view.chunks


def test_a_restart_reads_the_cache_and_sees_what_the_store_holds(settings, monkeypatch):
    first = _index(settings)
    expected = _chunks(first)
    second = ReportQA(settings, BigramEmbedder())
    reads = _store_reads(second, monkeypatch)
    assert _chunks(second) == expected and reads == []  # every chunk from the cache, none from Chroma
    assert "201.7亿元" in second.ask("鞍山2023年一般公共预算收入是多少").answer


def test_a_changed_or_deleted_file_is_read_from_the_store_again(settings, monkeypatch):
    _chunks(_index(settings))  # the cache now holds both files
    writer = ReportQA(settings, BigramEmbedder())  # another process, with no cache: the cache file goes stale
    writer.retriever.view.cache = None
    (settings.data_dir / "anshan.txt").write_text(report_text("鞍山", 2024, "305.5"), encoding="utf-8")
    writer.ingest()
    writer.remove("fushun.txt")
    fresh = ReportQA(settings, BigramEmbedder())
    reads = _store_reads(fresh, monkeypatch)
    chunks = _chunks(fresh)
    assert {c.source for c in chunks.values()} == {"anshan.txt", "benxi.txt"}
    assert any("305.5亿元" in c.text for c in chunks.values()) and not any("201.7" in c.text for c in chunks.values())
    assert reads == [["anshan.txt"]]  # the re-ingested file only; the deleted one is not read at all
    assert "305.5亿元" in fresh.ask("鞍山2023年一般公共预算收入是多少").answer


def test_a_damaged_cache_file_is_a_slower_start_not_an_error(settings):
    first = _index(settings)
    expected = _chunks(first)
    for path in settings.index_dir.glob("chunks-*.sqlite*"):
        path.write_bytes(b"not a database" * 100)
    assert _chunks(ReportQA(settings, BigramEmbedder())) == expected


def test_only_whole_files_under_their_manifest_record_are_read(tmp_path):
    cache = ChunkCache(tmp_path / "chunks.sqlite")
    key = FileKey("h1", 2, "t1")
    rows = [("c1", "甲", {"source": "a.txt"}), ("c2", "乙", {"source": "a.txt"})]
    cache.write([("a.txt", key, rows), ("b.txt", FileKey("h2", 3, "t1"), rows[:1])])  # b is torn: not kept
    assert cache.read({"a.txt": key, "b.txt": FileKey("h2", 3, "t1")}) == (rows, ["b.txt"])
    assert cache.read({"a.txt": FileKey("h1", 2, "t2")}) == ([], ["a.txt"])  # re-ingested: another record
    cache.keep({"b.txt"})
    assert cache.read({"a.txt": key}) == ([], ["a.txt"])  # a file the manifest no longer names is forgotten
