"""The eval command end to end on a tiny set (fake embedder), and the pure metric functions."""

from __future__ import annotations

import json
import shutil

from rich.console import Console

from assistant.evaluation import metrics as m
from assistant.evaluation.runner import EvalOptions, eval_settings, run_eval
from assistant.qa import ReportQA
from tests.conftest import SAMPLE_DIR
from tests.fakes import BigramEmbedder


def test_metrics():
    assert m.answer_recall(["5%", "6%"], ["增长5%", "无"]) == 0.5
    assert m.reciprocal_rank([False, False, True]) == 1 / 3 and m.reciprocal_rank([False]) == 0.0
    assert m.answer_correct(["5%", "左右"], "增长5%左右[1]") == 1.0 and m.answer_correct(["6%"], "5%") == 0.0
    assert m.percentile([1, 2, 3, 4, 100], 50) == 3 and m.mean([]) is None
    passages = {1: "地区生产总值增长5.5%左右;一般公共预算收入增长6%。", 2: "粮食产量174.3万吨。"}
    assert m.citation_precision("地区生产总值增长5.5%左右[1]", passages) == 1.0
    assert m.citation_precision("地区生产总值增长7%[1]", passages) == 0.0  # a figure the passage does not hold
    assert m.citation_precision("粮食产量174.3万吨[1]", passages) == 0.0  # cited the wrong passage
    assert m.citation_precision("济南：粮食产量174.3万吨[2]\n沈阳：增长6%[1]", passages) == 1.0
    assert m.citation_precision("没有引用的一句话。", passages) == 0.0


def test_run_eval_writes_reports_and_gates(tmp_path, settings, monkeypatch):
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE_DIR, corpus)
    qa_file = tmp_path / "qa.jsonl"
    items = [
        {"id": "a", "question": "济南2024年GDP增长目标是多少？", "answers": ["5.5%以上"], "type": "target",
         "source": "001_856a73ee7808871b.txt", "evidence": "地区生产总值增长5.5%以上", "split": "dev"},
        {"id": "b", "question": "大连2024年GDP增长多少？", "answers": [], "type": "unanswerable", "split": "test"},
        {"id": "c", "split": "test", "question": "那沈阳呢？", "history": ["济南2024年GDP增长目标是多少？"], "answers": ["6%以上"],
         "type": "followup", "source": "001_856a73ee7808871b.txt", "evidence": "地区生产总值增长6%以上"},
    ]
    qa_file.write_text("\n".join(json.dumps(i, ensure_ascii=False) for i in items), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    qa = ReportQA(eval_settings(settings, corpus), BigramEmbedder())
    console = Console(record=True, width=200)
    saved = tmp_path / "baseline.json"
    code = run_eval(settings, EvalOptions(qa_file, corpus, save_baseline=saved), console, qa=qa)
    assert code == 0
    out = console.export_text()
    assert "dense-500 (common recipe)" in out and "keyword only (BM25)" in out and "naive extractive" in out
    assert "ReportQA by split" in out and "Perturbation suite" in out
    results = sorted((tmp_path / "eval" / "results").glob("*.json"))
    payload = json.loads(results[-1].read_text(encoding="utf-8"))
    assert payload["overall"]["refusal_rate"] == 1.0 and payload["overall"]["answer_accuracy"] == 1.0
    assert (tmp_path / "eval" / "results" / (results[-1].stem + ".md")).exists()
    assert payload["pipelines"]["reportqa"]["by_split"]["test"]["n"] == 2
    assert payload["perturbation"]["n"] >= 8 and payload["perturbation"]["by_variant"]["synonym"]["n"] >= 1
    # the two splits are gated apart: a drop on test alone fails the gate
    worse_test = json.loads(saved.read_text(encoding="utf-8"))
    assert set(worse_test["splits"]) == {"dev", "test"} and "perturbation_same_verdict" in worse_test
    worse_test["splits"]["test"]["answer_accuracy"] = 3.0  # beyond the one-question allowance
    saved.write_text(json.dumps(worse_test), encoding="utf-8")
    assert run_eval(settings, EvalOptions(qa_file, corpus, saved, baselines=False), console, qa=qa) == 1
    assert run_eval(settings, EvalOptions(qa_file, corpus, baselines=False, split="dev"), console, qa=qa) == 0
    dev_only = json.loads(sorted((tmp_path / "eval" / "results").glob("*.json"))[-1].read_text(encoding="utf-8"))
    assert [r["id"] for r in dev_only["items"]] == ["a"]
    # a baseline better than what we get now makes the gate fail
    better = json.loads(saved.read_text(encoding="utf-8"))
    better["splits"]["test"]["refusal_rate"] = 1.0
    better["overall"]["mrr"] = 3.0
    saved.write_text(json.dumps(better), encoding="utf-8")
    assert run_eval(settings, EvalOptions(qa_file, corpus, saved, baselines=False), console, qa=qa) == 1


def test_perturbation_variants():
    from assistant.evaluation.perturb import variants

    v = variants("盘锦2024年GDP增长多少？")
    assert v["no ？"] == "盘锦2024年GDP增长多少"
    assert v["full-width digits"] == "盘锦２０２４年GDP增长多少？"
    assert v["extra spaces"].split() == ["盘锦", "2024", "年", "GDP", "增长多少？"]
    assert v["synonym"] == "盘锦2024年地区生产总值增长多少？"
    assert "synonym" not in variants("福州常住人口多少人")  # no term with a known other word: no variant
    assert variants("福州城镇新增就业多少人")["synonym"] == "福州新增城镇就业多少人"  # the report's other wording


def test_the_gate_lets_one_question_flip_on_a_small_split(tmp_path):
    from assistant.evaluation.runner import compare_with_baseline

    base = {"overall": {"refusal_rate": 1.0, "answer_accuracy": 0.9, "n_answerable": 50, "n_unanswerable": 10},
            "splits": {}}
    saved = tmp_path / "b.json"
    saved.write_text(json.dumps(base), encoding="utf-8")
    one = {"overall": {**base["overall"], "refusal_rate": 0.9}, "by_split": {}}  # 1 of 10 unanswerable flipped
    two = {"overall": {**base["overall"], "refusal_rate": 0.8}, "by_split": {}}
    worse_answers = {"overall": {**base["overall"], "answer_accuracy": 0.86}, "by_split": {}}  # 2 of 50
    console = Console(record=True, width=200)
    assert compare_with_baseline(console, one, saved) == 0
    assert compare_with_baseline(console, two, saved) == 1
    assert compare_with_baseline(console, worse_answers, saved) == 1


def test_citation_precision_is_gated_only_for_llm_answers(tmp_path):
    """Extractive answers quote their passages (1.0 by construction): a gate on that could never fail."""
    import json

    from rich.console import Console

    from assistant.evaluation.runner import compare_with_baseline

    saved = tmp_path / "baseline.json"
    saved.write_text(json.dumps({"overall": {"citation_precision": 1.0, "n_answerable": 100}}), encoding="utf-8")
    now = {"overall": {"citation_precision": 0.5, "n_answerable": 100}, "by_split": {}}
    console = Console(file=open(tmp_path / "out.txt", "w"))  # noqa: SIM115
    assert compare_with_baseline(console, now, saved, gate_citations=True) == 1
    assert compare_with_baseline(console, now, saved, gate_citations=False) == 0
