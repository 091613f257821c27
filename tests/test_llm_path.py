"""The LLM answerer through the real prompts, streaming and citation check, with LangChain's fake chat models."""

from __future__ import annotations

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

from assistant.answer.answerers import LLMAnswerer
from assistant.answer.citations import cited_numbers, statements, strip_invalid
from assistant.answer.prompting import available, load_prompt, render, with_figures
from assistant.qa import ReportQA
from assistant.records import Answer
from tests.fakes import BigramEmbedder, scripted


class FailingChat(GenericFakeChatModel):
    def _stream(self, *args, **kwargs):
        raise TimeoutError("upstream timed out")

    def _generate(self, *args, **kwargs):
        raise TimeoutError("upstream timed out")


@pytest.fixture(scope="module")
def index_dir(sample_index):
    return sample_index


def make_qa(settings, llm) -> ReportQA:
    return ReportQA(settings, BigramEmbedder(), llm=llm)


def test_every_prompt_renders():
    assert {"system", "answer", "condense", "judge", "figures"} <= set(available())
    assert "<passages>" in render("answer", passages="[1] x", question="q")
    assert "<figures>\n[1] x\n</figures>" in render("figures", figures="[1] x")
    assert render("condense", history="用户：a", question="b").strip()
    assert render("judge", passages="p", question="q", answer="a").strip()
    with pytest.raises(Exception, match="needs"):
        render("answer", passages="x")
    assert "数据" in load_prompt("system") and "[1]" in load_prompt("system")


def test_citation_parsing():
    text, removed = strip_invalid("增长3.5%[1]，另有[7]。", {1, 2})
    assert text == "增长3.5%[1]，另有。" and removed == [7]
    assert cited_numbers("a[1][2]b[3]") == [1, 2, 3]
    assert statements("第一句。[1]第二句[2]。") == [("第一句。", [1]), ("第二句", [2])]
    assert statements("济南：增长6%[1]\n福州：增长5.3%[2]") == [("济南：增长6%", [1]), ("福州：增长5.3%", [2])]


def test_llm_answer_streams_and_invalid_markers_are_removed(index_dir):
    llm = scripted("盘锦2024年地区生产总值增长3.5%左右[1]，财政收入创新高[7]。")
    qa = make_qa(index_dir, llm)
    items = list(qa.stream("盘锦2024年地区生产总值增长多少？"))
    deltas = [i for i in items if isinstance(i, str)]
    final = items[-1]
    assert isinstance(final, Answer) and len(deltas) >= 1
    assert "[7]" not in final.answer and "[1]" in final.answer
    assert [c.n for c in final.citations] == [1] and not final.uncited and not final.refused
    assert qa.mode == "llm" and llm.calls == 1  # no history: no condense call, one answer call


def test_llm_answer_without_markers_is_flagged(index_dir):
    qa = make_qa(index_dir, scripted("增长了一些。"))
    ans = qa.ask("盘锦2024年地区生产总值增长多少？")
    assert ans.uncited and not ans.citations


def test_llm_says_not_mentioned(index_dir):
    qa = make_qa(index_dir, scripted("报告中未提及"))
    ans = qa.ask("盘锦2024年地区生产总值增长多少？")
    assert ans.refused


def test_refusal_does_not_call_the_llm(index_dir):
    """The refusal is decided before the answer step: a question the reports cannot answer costs no call.
    (A failing call would not show: the pipeline falls back to the extractive answer, which refuses too.)"""
    llm = scripted()
    ans = make_qa(index_dir, llm).ask("大连2024年地区生产总值增长多少？")
    assert ans.refused and ans.related and ans.refusal_reason == "not in the corpus: 大连"
    assert llm.calls == 0


def test_a_refused_followup_calls_the_llm_only_to_condense(index_dir):
    llm = scripted("大连2024年地区生产总值增长目标是多少？")
    ans = make_qa(index_dir, llm).ask("那大连呢？", history=["济南2024年地区生产总值增长目标是多少？"])
    assert ans.refused and ans.standalone_question == "大连2024年地区生产总值增长目标是多少？"
    assert llm.calls == 1  # the condense step; the refusal comes before any answer call
    [condense] = llm.prompts[0]
    assert "用户：济南2024年地区生产总值增长目标是多少" in condense.content and "那大连呢" in condense.content


def test_llm_errors_fall_back_to_extractive(index_dir):
    qa = make_qa(index_dir, FailingChat(messages=iter([])))
    ans = qa.ask("济南2024年GDP增长目标是多少？")
    assert ans.error and "大模型调用失败" in ans.error
    assert "5.5%以上" in ans.answer and ans.citations


def test_condense_uses_the_llm_for_followups(index_dir):
    llm = scripted("沈阳2024年地区生产总值增长目标是多少？", "沈阳2024年的目标是增长6%以上[1]。")
    ans = make_qa(index_dir, llm).ask("那沈阳呢？", history=["济南2024年地区生产总值增长目标是多少？"])
    assert ans.standalone_question == "沈阳2024年地区生产总值增长目标是多少？"  # the rules alone drop the ？
    assert llm.calls == 2  # condense, then answer
    _, human = llm.prompts[1]
    assert "问题：沈阳2024年地区生产总值增长目标是多少？" in human.content  # the answer step is asked the rewrite
    assert ans.citations and ans.citations[0].city == "沈阳"  # retrieved for the rewrite, not for 那沈阳呢


def test_prompt_fences_passages(index_dir):
    qa = make_qa(index_dir, scripted("x"))
    passages = qa.search("济南2024年GDP增长目标")
    system, human = LLMAnswerer(None).messages("问题", passages)
    assert "指令" in system.content and "<passages>" in human.content
    assert human.content.index("<passages>") < human.content.index("[1] 《") < human.content.index("</passages>")


def test_prompt_carries_the_ledger_lines_of_the_retrieved_chunks(index_dir):
    llm = scripted("盘锦2024年地区生产总值增长3.5%左右[1]。")
    qa = make_qa(index_dir, llm)
    ans = qa.ask("盘锦2024年地区生产总值增长多少？")
    _, human = llm.prompts[0]
    prompt = human.content
    block = prompt[prompt.index("<figures>") + len("<figures>") : prompt.index("</figures>")].strip().splitlines()
    assert prompt.index("</passages>") < prompt.index("<figures>") < prompt.index("问题：")
    by_chunk = {c.n: c.chunk_id for c in ans.context}
    ledger = {f.chunk_id for f in qa.figures()}
    assert block and all(int(line[1 : line.index("]")]) in by_chunk for line in block)  # numbered like passages
    n = next(c.n for c in ans.context if "增长3.5%左右" in c.text)
    assert f"[{n}] 盘锦 · 2024 · 地区生产总值 · 增长3.5%左右（预计）" in block
    assert {by_chunk[int(line[1 : line.index("]")])] for line in block} <= set(ledger)  # only retrieved chunks'


def test_with_figures_puts_the_block_after_the_passages():
    prompt = render("answer", passages="[1] x", question="q")
    assert with_figures(prompt, []) == prompt
    out = with_figures(prompt, ["[1] 盘锦 · 2024 · 地区生产总值 · 增长3.5%左右"])
    assert out.index("</passages>") < out.index("<figures>") < out.index("问题：q")


def test_llm_numbers_are_checked_against_the_cited_passages(index_dir):
    copied = make_qa(index_dir, scripted("盘锦2024年地区生产总值增长3.5%左右[1]。")).ask("盘锦2024年地区生产总值增长多少？")
    assert copied.unverified_numbers == [] and copied.to_dict()["unverified_numbers"] == []
    text = "盘锦2024年地区生产总值增长9.9%[1]。"
    invented = make_qa(index_dir, scripted(text)).ask("盘锦2024年地区生产总值增长多少？")
    at = text.index("9.9%")
    assert invented.answer == text and invented.unverified_numbers == [{"text": "9.9%", "start": at, "end": at + 4}]


def test_the_extractive_fallback_lists_no_numbers(index_dir):
    ans = make_qa(index_dir, FailingChat(messages=iter([]))).ask("济南2024年GDP增长目标是多少？")
    assert ans.error and ans.unverified_numbers == []
