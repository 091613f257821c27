"""Index, retrieval, answers and follow-ups over the sample corpus (real Chroma, real BM25, fake embedder)."""

from __future__ import annotations

import pytest
from langchain_core.documents import Document as LCDocument

from assistant.answer.answerers import REFUSAL
from assistant.qa import ReportQA
from assistant.retrieval.filters import Filters
from assistant.retrieval.query import expand, sub_queries, understand
from assistant.retrieval.retriever import ReportRetriever
from assistant.settings import Settings
from tests.fakes import BigramEmbedder


@pytest.fixture(scope="module")
def qa(sample_qa):
    """The session's indexed sample corpus, only read here (a test that ingests has its own)."""
    return sample_qa


def test_query_understanding():
    known = ["盘锦", "济南", "沈阳"]
    latest = {"盘锦": 2025, "济南": 2024, None: 2025}
    info = understand("济南和沈阳2023年GDP增速分别是多少？", known, latest)
    assert info.cities == ["济南", "沈阳"] and info.years == [2023] and info.compare
    assert "地区生产总值" in info.expanded
    assert [c for _, c, _ in sub_queries(info)] == [["济南"], ["沈阳"]]
    assert understand("盘锦去年的社零增长多少", known, latest).years == [2024]
    assert understand("今年济南的目标", known, latest).intent == "target"
    assert understand("今年济南的目标", known, latest).years == [2024]
    two_years = understand("盘锦2023年和2024年地区生产总值增速", known, latest)
    assert two_years.years == [2023, 2024] and len(sub_queries(two_years)) == 2
    assert expand("外贸和固投") == "外贸和固投（进出口 固定资产投资）"


def test_chunks_in_index_are_exact_slices(qa):
    view = qa.retriever.view
    assert len(view.chunks) > 300 and len(view.reports) == 11
    for c in list(view.chunks.values())[::7]:
        assert qa.document_text(c.source)[c.start : c.end] == c.text


def test_incremental_ingest_embeds_nothing_when_unchanged(sample_settings):
    qa = ReportQA(sample_settings, BigramEmbedder())
    qa.ingest()
    before = qa.embedder.calls
    assert before > 0
    summary = qa.ingest()
    assert {o.status for o in summary.outcomes} == {"unchanged"}
    assert qa.embedder.calls == before


def test_changed_file_replaces_chunks_and_prune_removes(tmp_path):
    data = tmp_path / "reports"
    data.mkdir()
    settings = Settings(data_dir=data, home_dir=tmp_path / "home", _env_file=None)
    f = data / "r.txt"
    f.write_text("2024年甲乙市政府工作报告\n一、2023年工作回顾\n地区生产总值增长5.1%。\n", encoding="utf-8")
    qa = ReportQA(settings, BigramEmbedder())
    qa.ingest()
    old = set(qa.retriever.view.chunks)
    f.write_text("2024年甲乙市政府工作报告\n一、2023年工作回顾\n地区生产总值增长6.2%。\n", encoding="utf-8")
    summary = qa.ingest()
    assert [o.status for o in summary.outcomes] == ["indexed"]
    new = set(qa.retriever.view.chunks)
    assert old.isdisjoint(new) and qa.store.count() == len(new)
    assert "6.2%" in qa.ask("甲乙市2023年地区生产总值增长多少").answer
    f.unlink()
    summary = qa.ingest(prune=True)
    assert [o.status for o in summary.outcomes] == ["removed"]
    assert qa.store.count() == 0 and qa.status().reports == 0


def test_collection_name_carries_model_and_dimension(qa):
    assert qa.store.chunks.name == "reportqa-chunks-fake-bigram-256"


def test_retrieval_is_year_aware(qa):
    passages = qa.search("盘锦2024年地区生产总值增长多少")
    top = passages[0].chunk
    assert top.city == "盘锦" and top.period == 2024 and top.year == 2025
    target = qa.search("盘锦2024年地区生产总值预期目标是多少")[0].chunk
    assert target.city == "盘锦" and target.period == 2024 and target.year == 2024
    assert sum(len(p.chunk.text) for p in passages) <= qa.settings.context_chars


def test_filters_restrict_results(qa):
    passages = qa.search("地区生产总值增长", Filters(cities=["沈阳"]))
    assert passages and {p.chunk.city for p in passages} == {"沈阳"}
    rid = next(r.report_id for r in qa.reports() if r.year == 2025)
    assert {p.chunk.report_id for p in qa.search("民生", Filters(report_ids=[rid]))} == {rid}


def test_compare_retrieves_both_sides(qa):
    passages = qa.search("济南和沈阳2023年地区生产总值增速分别是多少？")
    assert {"济南", "沈阳"} <= {p.chunk.city for p in passages}


def test_explain_fields(qa):
    p = qa.search("济南2024年地区生产总值增长目标")[0]
    assert p.score > 0 and (p.dense_rank or p.keyword_rank) and p.boost > 0


def test_langchain_retriever(qa):
    docs = ReportRetriever(hybrid=qa.retriever, k=3).invoke("沈阳2024年一般公共预算收入目标")
    assert 1 <= len(docs) <= 4 and isinstance(docs[0], LCDocument)
    assert docs[0].metadata["city"] == "沈阳"


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("盘锦2024年地区生产总值增长多少", ["3.5%"]),
        ("济南2024年GDP增长目标是多少？", ["5.5%以上"]),
        ("2025年盘锦市政府工作报告是什么时候作的？", ["2025年1月8日"]),
    ],
)
def test_extractive_answers_carry_the_figure_and_a_citation(qa, question, expected):
    ans = qa.ask(question)
    assert not ans.refused
    for e in expected:
        assert e in ans.answer
    assert ans.citations and all(f"[{c.n}]" in ans.answer for c in ans.citations)
    for c in ans.citations:
        assert qa.document_text(c.source)[c.start : c.end] == c.text



@pytest.mark.parametrize("question", ["大连2024年地区生产总值增长多少？", "盘锦2019年地区生产总值是多少？", "杭州2025年的预期目标有哪些？"])
def test_unanswerable_is_refused_with_related_passages(qa, question):
    ans = qa.ask(question)
    assert ans.refused and not ans.citations
    assert ans.answer == REFUSAL or "没有「" in ans.answer or "其中没有" in ans.answer, ans.answer


def test_followups_resolve_without_llm(qa):
    first = "济南2024年地区生产总值增长目标是多少？"
    ans = qa.ask("那沈阳呢？", history=[first])
    assert "沈阳" in ans.standalone_question and "6%以上" in ans.answer
    ans = qa.ask("去年呢？", history=["盘锦2024年地区生产总值增长多少？"])
    assert "2023" in ans.standalone_question and not ans.refused


def test_json_contract(qa):
    d = qa.ask("沈阳2024年地区生产总值增长目标是多少").to_dict()
    assert {"question", "answer", "refused", "citations", "timings_ms"} <= set(d)
    assert {"retrieve", "answer", "total"} <= set(d["timings_ms"])
    c = d["citations"][0]
    assert {"n", "chunk_id", "report_id", "title", "city", "year", "period", "section", "source", "start", "end", "text", "score"} <= set(c)


def test_lcel_chain_gives_the_same_answer(qa):
    q = "沈阳2024年地区生产总值增长目标是多少"
    via_chain = qa.chain().invoke({"question": q, "history": []})
    assert via_chain.answer == qa.ask(q).answer


def test_odd_questions_do_not_crash(qa):
    for q in ["", "   ", "？？？", "<script>alert(1)</script>", "a" * 5000, "2024", "盘锦"]:
        ans = qa.ask(q)
        assert isinstance(ans.answer, str) and ans.answer


def test_prune_keeps_files_ingested_from_elsewhere(tmp_path):
    data = tmp_path / "reports"
    data.mkdir()
    outside = tmp_path / "elsewhere" / "x.txt"
    outside.parent.mkdir()
    outside.write_text("2024年丙丁市政府工作报告\n一、2023年工作回顾\n地区生产总值增长4.4%。\n", encoding="utf-8")
    qa = ReportQA(Settings(data_dir=data, home_dir=tmp_path / "home", _env_file=None), BigramEmbedder())
    qa.ingest([outside])
    assert [o.status for o in qa.ingest(prune=True).outcomes] == []
    assert qa.status().files == 1
    outside.unlink()
    assert [o.status for o in qa.ingest(prune=True).outcomes] == ["removed"]


def test_an_answer_ends_as_a_sentence_not_on_a_clause_mark(qa):
    """The last statement quoted from a ；-list ends with 。; what it states is still the passage's."""
    from assistant.records import Chunk, Passage

    text = "重点工作安排如下。全年计划新建学校三所，扩建医院两家；改造老旧小区一百个；"
    chunk = Chunk(chunk_id="c", report_id="r", source="x.txt", start=0, end=len(text), text=text, section_path="二、安排",
                  period=None, title="某市工作计划", city=None, year=None, type="其他", embed_text=text, entity="某市")
    info = understand("改造老旧小区多少个", [], {})
    said = "".join(qa.pipeline.extractive.stream(info.text, info, [Passage(chunk=chunk, score=1.0)]))
    assert said.endswith("改造老旧小区一百个。[1]") and "；[1]" not in said
