"""Answer quality on the sample corpus with the real model, real Chroma and the CLI contract."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from assistant.answer.answerers import REFUSAL
from assistant.qa import ReportQA
from assistant.retrieval.filters import Filters
from assistant.settings import Settings
from tests.builders import ROOT, free_port, stop, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def qa(real_sample_qa) -> ReportQA:
    """The session's sample corpus indexed with the real model, only read here."""
    return real_sample_qa


@pytest.fixture(scope="module")
def real_settings(qa) -> Settings:
    return qa.settings


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("盘锦2024年地区生产总值增长多少？", ["3.5%左右"]),
        ("盘锦2025年GDP预期增长目标是多少？", ["5.5%左右"]),
        ("济南2024年规模以上工业增加值的预期增长目标是多少？", ["7%以上"]),
        ("2023年本溪粮食产量达到多少？", ["6.72亿斤"]),
        ("盘锦市2025年政府工作报告是在哪天、哪次会议上作的？", ["2025年1月8日", "第九届人民代表大会第四次会议"]),
    ],
)
def test_facts_and_targets(qa, question, expected):
    ans = qa.ask(question)
    assert not ans.refused, ans.refusal_reason
    assert all(e in ans.answer for e in expected), ans.answer
    assert ans.citations
    for c in ans.citations:
        assert qa.document_text(c.source)[c.start : c.end] == c.text


def test_compare_two_cities(qa):
    ans = qa.ask("济南和福州2023年地区生产总值增速分别是多少？")
    assert "6%左右" in ans.answer and "5.3%左右" in ans.answer
    assert {c.city for c in ans.citations} == {"济南", "福州"}


@pytest.mark.parametrize(
    "question",
    ["大连2024年地区生产总值增长多少？", "盘锦2019年地区生产总值是多少？", "盘锦2024年居民消费价格（CPI）涨幅是多少？",
     "内江2024年地区生产总值的预期增长目标是多少？", "江阴市2023年地区生产总值是多少？"],
)
def test_unanswerable_is_refused(qa, question):
    ans = qa.ask(question)
    assert ans.refused and not ans.citations, ans.answer
    # the refusal says what is missing: the place, or the year, or that nothing states it
    assert ans.answer == REFUSAL or "没有「" in ans.answer or "其中没有" in ans.answer, ans.answer


@pytest.mark.parametrize(
    ("history", "question", "expected", "in_standalone"),
    [
        (["济南2023年社会消费品零售总额增长多少？"], "那沈阳呢？", "9%", "沈阳2023年"),
        (["福州2023年城镇新增就业多少人？"], "今年的目标是多少？", "13万人", "福州2024年"),
        (["商丘2024年的GDP增长目标是多少？"], "固投呢？", "8%", "商丘2024年"),
        (["福州2023年城镇居民人均可支配收入是多少？"], "农村的呢？", "28650元", "农村"),
    ],
)
def test_followups(qa, history, question, expected, in_standalone):
    ans = qa.ask(question, history=history)
    assert in_standalone in ans.standalone_question
    assert expected in ans.answer, (ans.standalone_question, ans.answer)


def _cli(real_settings, *args, stdin=None):
    env = {"REPORTQA_DATA_DIR": str(real_settings.data_dir), "REPORTQA_HOME_DIR": str(real_settings.home_dir),
           "REPORTQA_MODEL_DIR": str(real_settings.model_dir), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "assistant.cli", *args], input=stdin, capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=600)


def test_cli_ask_json_contract(qa, real_settings):
    out = _cli(real_settings, "ask", "--json", "盘锦2024年地区生产总值增长多少")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["refused"] is False and "3.5%" in d["answer"]
    text = (real_settings.data_dir / d["citations"][0]["source"]).read_text(encoding="utf-8")
    c = d["citations"][0]
    assert text[c["start"] : c["end"]] == c["text"]
    assert set(d["timings_ms"]) >= {"retrieve", "answer", "total"}


def test_cli_ask_stdin_lines(qa, real_settings):
    out = _cli(real_settings, "ask", "--json", "-", stdin="济南2024年GDP增长目标是多少\n大连2024年GDP增长多少\n")
    assert out.returncode == 0, out.stderr
    lines = [json.loads(x) for x in out.stdout.splitlines()]
    assert [x["refused"] for x in lines] == [False, True]


def test_cli_ingest_dry_run(real_settings):
    out = _cli(real_settings, "ingest", "--dry-run", "--json")
    assert out.returncode == 0, out.stderr
    kinds = [json.loads(x)["kind"] for x in out.stdout.splitlines()]
    assert kinds.count("report") == 11 and kinds.count("chunk") > 300


def test_unreachable_hub_model_is_a_clear_message(real_settings):
    env = {"REPORTQA_EMBEDDING_MODEL": "BAAI/bge-small-zh-v1.5", "REPORTQA_HOME_DIR": str(real_settings.home_dir),
           "REPORTQA_MODEL_DIR": str(real_settings.home_dir / "models-empty"), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin",
           "HF_HOME": str(real_settings.home_dir / "hf")}
    out = subprocess.run([sys.executable, "-m", "assistant.cli", "ask", "盘锦"], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=300)
    assert out.returncode == 1
    assert "REPORTQA_EMBEDDING_MODEL" in out.stderr and "multilingual-e5-small" in out.stderr
    assert "Traceback" not in out.stderr


def test_cli_serve_api_only(qa, real_settings):
    """`reportqa serve --api-only`: the HTTP API as its own process over the real index, no chat UI."""
    import os

    import httpx

    port = free_port()
    env = {**os.environ, "REPORTQA_DATA_DIR": str(real_settings.data_dir), "REPORTQA_HOME_DIR": str(real_settings.home_dir),
           "REPORTQA_MODEL_DIR": str(real_settings.model_dir), "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
    log = real_settings.home_dir / "serve.log"
    with log.open("w") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "serve", "--api-only", "--port", str(port)],
                                stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/healthz", proc, log, timeout=180)
        assert httpx.get(f"{base}/healthz").json()["reports"] == 11
        assert httpx.get(base, follow_redirects=False).headers["location"] == "/docs"  # no UI mounted
        r = httpx.post(f"{base}/v1/ask", json={"question": "盘锦2024年地区生产总值增长多少？"}, timeout=60)
        assert r.status_code == 200 and "3.5%" in r.json()["answer"] and r.json()["citations"]
    finally:
        stop(proc)


def test_conversation_cases_with_the_real_model(qa):
    typo = qa.ask("盘金2024年地区生产总值增长多少")
    assert not typo.refused and "3.5%" in typo.answer and "按「盘锦」理解" in typo.answer
    vague = qa.ask("2023年一般公共预算收入是多少")
    assert vague.clarify or (vague.notes and len({c.city for c in vague.citations}) >= 2)
    hidden = qa.ask("盘锦2024年地区生产总值增长多少", filters=Filters(cities=["济南"]))
    assert hidden.refusal_reason == "hidden by filter" and "盘锦" in hidden.answer
