"""End to end in a real headless Chromium: the app as served (API + chat), driven by Playwright.

Asks a question and waits for the streamed answer, checks the citation card, opens the report view,
applies a filter, uploads a report and finds it by a question, gives feedback. Screenshots go to
test-artifacts/browser/. Uses the real embedding model when it can be built here, else the fake.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import pytest

from assistant.qa import ReportQA
from assistant.settings import Settings
from tests.builders import DALIAN_REPORT, ROOT, SAMPLE_DIR, free_port
from tests.fakes import BigramEmbedder

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
UPLOAD_TEXT = DALIAN_REPORT.rstrip("\n") + '<script>alert("xss")</script>\n'


def make_embedder():
    """The real embedding model when it imports and builds here; otherwise the deterministic fake."""
    try:
        from assistant.backends import build_embedder

        embedder = build_embedder(Settings(_env_file=None))
        embedder.embed_query("测试")
        return embedder
    except Exception:  # noqa: BLE001 - any failure means "no real model on this machine"
        return BigramEmbedder()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium)")
    import uvicorn

    from assistant.serve.server import build_app

    root = tmp_path_factory.mktemp("browser")
    shutil.copytree(SAMPLE_DIR, root / "reports")
    settings = Settings(data_dir=root / "reports", home_dir=root / "home", chroma_url=None, llm_base_url=None,
                        _env_file=None)
    qa = ReportQA(settings, make_embedder())
    qa.ingest()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(build_app(qa, settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.started, "the app did not start"
    yield qa, f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def page(served):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
        pg = context.new_page()
        pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        pg.dialogs = dialogs
        pg.set_default_timeout(60_000)
        pg.goto(served[1])
        pg.wait_for_selector("#rq-question textarea")
        yield pg
        browser.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def new_chat(page) -> None:
    page.click("#rq-new")
    page.wait_for_function("document.querySelectorAll('#rq-chat [data-testid=bot]').length === 0")


def ask(page, question: str | None = None):
    """Send a question (or what the textbox holds) and wait until its answer has finished streaming."""
    before = page.locator("#rq-chat .rq-foot").count()
    if question is not None:
        page.fill("#rq-question textarea", question)
    page.click("#rq-send")
    page.wait_for_function(f"document.querySelectorAll('#rq-chat .rq-foot').length > {before}")
    return page.locator("#rq-chat [data-testid='bot']").last


def test_chat_citations_filter_upload_feedback(served, page, tmp_path):

    qa, _ = served
    shot(page, "01-start")
    assert page.title() == "报告问答 ReportQA"

    # 0. the empty chat says what is indexed
    overview = page.inner_text("#rq-chat")
    assert "已收录 11 份报告" in overview and "本溪" in overview

    # 1. an example question is asked with one click: streamed answer, a compact citation line naming the
    # right report, the passage (with the cited sentence marked) behind it
    page.locator("#rq-chat button", has_text="济南2024年GDP增长目标是多少？").click()
    page.wait_for_function("document.querySelectorAll('#rq-chat .rq-foot').length > 0")
    answer = page.locator("#rq-chat [data-testid='bot']").last
    assert "5.5%" in answer.inner_text()
    card = answer.locator(".rq-card").first
    assert "2024年济南市政府工作报告" in card.locator(".rq-card-title").inner_text()
    assert card.locator(".rq-passage").is_hidden()  # closed: the answer stays in view
    assert "5.5%" in card.locator("mark.rq-hl").first.text_content()
    # the start of the answer is in the chat's view, not scrolled past by its citations
    box = page.locator("#rq-chat .bubble-wrap").bounding_box()
    top = answer.bounding_box()["y"]
    assert box["y"] - 1 <= top <= box["y"] + box["height"] / 2, (box, top)
    # 复制 copies the answer as text with footnotes, not the message's HTML
    page.locator("#rq-chat .message-buttons-left button.rq-copy").last.click()
    copied = page.evaluate("window.__rqCopied")
    assert "5.5%" in copied and "\n[1] 《2024年济南市政府工作报告》" in copied and "<" not in copied
    shot(page, "02-answer")

    # [n] opens its citation; the section expands; the report view opens at the passage
    answer.locator("a.rq-cite").first.click()
    page.wait_for_selector("#rq-chat .rq-card.rq-flash")
    assert card.locator(".rq-passage").is_visible()
    card.locator("details.rq-section summary").click()
    assert card.locator("details.rq-section[open]").count() == 1
    card.locator("a.rq-open").click()
    page.wait_for_selector("#rq-viewer mark.rq-target")
    assert "2024年济南市政府工作报告" in page.inner_text("#rq-viewer .rq-report-title")
    page.wait_for_function("document.querySelector('#rq-viewer .rq-report-body').scrollTop > 0")
    shot(page, "03-report-view")

    # 2. a new chat, with a filter applied to retrieval: only 沈阳 passages
    new_chat(page)
    page.click("#rq-city input")
    page.locator("[role=option]", has_text="沈阳").click()
    page.keyboard.press("Escape")
    answer = ask(page, "2023年地区生产总值增长多少？")
    titles = answer.locator(".rq-card-title").all_inner_texts()
    assert titles and all("沈阳" in t for t in titles), titles
    assert "筛选：沈阳" in answer.inner_text()
    shot(page, "04-filtered")
    # a question the filter hides says so and offers one click to ask it without the filter
    hidden = ask(page, "盘锦2024年地区生产总值增长多少？")
    assert "当前筛选" in hidden.inner_text()
    before = page.locator("#rq-chat .rq-foot").count()
    page.locator("#rq-chat button.option", has_text="取消筛选").click()
    page.wait_for_function(f"document.querySelectorAll('#rq-chat .rq-foot').length > {before}")
    again = page.locator("#rq-chat [data-testid='bot']").last
    assert "3.5%" in again.inner_text() and "筛选：" not in again.inner_text()
    shot(page, "04b-filter-cleared")

    # 3. upload a report, then find it by a question
    path = tmp_path / "大连 2024 政府工作报告.txt"
    path.write_text(UPLOAD_TEXT, encoding="utf-8")
    page.get_by_role("tab", name="上传报告").click()
    page.set_input_files("#rq-files input[type=file]", str(path))
    page.wait_for_selector("#rq-files :text('大连')")
    page.click("#rq-upload")
    page.wait_for_selector("#rq-upload-result table")
    result = page.inner_text("#rq-upload-result")
    assert "已导入" in result and "2024年大连市政府工作报告" in result, result
    assert (qa.settings.data_dir / "uploads" / "大连_2024_政府工作报告.txt").exists()
    shot(page, "05-uploaded")
    new_chat(page)
    answer = ask(page, "大连2024年地区生产总值增长目标是多少？")
    assert "2024年大连市政府工作报告" in answer.locator(".rq-card-title").first.inner_text()
    assert '<script>alert("xss")</script>' in answer.locator(".rq-card").first.text_content()
    assert page.locator("#rq-chat script").count() == 0 and page.dialogs == []
    page.get_by_role("tab", name="索引状态").click()
    assert "2024年大连市政府工作报告" in page.inner_text("#rq-status")
    shot(page, "06-upload-answered")

    # 4. feedback on that answer, with a comment
    page.locator("#rq-chat button[aria-label='Dislike'], #rq-chat button[aria-label='踩']").last.click()
    page.wait_for_selector("#rq-comment textarea")
    page.fill("#rq-comment textarea", "应写明是预期目标")
    page.click("#rq-comment-send")
    page.wait_for_function("document.querySelector('#rq-feedback-note').innerText.includes('感谢反馈')")
    records = [json.loads(x) for x in qa.settings.feedback_file.read_text(encoding="utf-8").splitlines()]
    assert [(r["rating"], r["comment"]) for r in records] == [("down", ""), ("down", "应写明是预期目标")]
    assert records[-1]["question"] == "大连2024年地区生产总值增长目标是多少？"
    assert records[-1]["citations"][0]["source"] == "uploads/大连_2024_政府工作报告.txt"
    shot(page, "07-feedback")
