"""End to end in a real headless Chromium: the app as served (API + chat), driven by Playwright.

Asks a question and waits for the streamed answer, checks the citation card, opens the report view,
applies a filter, uploads a report and finds it by a question, gives feedback. Screenshots go to
test-artifacts/browser/. Uses the real embedding model when it can be built here, else the fake.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from contextlib import contextmanager
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


def watch(pg) -> list[str]:
    """The page's console errors and uncaught exceptions: any one fails the test (warnings do not)."""
    errors: list[str] = []
    pg.on("console", lambda m: errors.append(f"console: {m.text} @ {m.location}") if m.type == "error" else None)
    pg.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    return errors


@contextmanager
def browse(served, viewport: dict[str, int], theme: str = "light"):
    """A fresh page on the app at `viewport` in `theme` (a phone: touch, mobile layout), ready for a
    question; the test fails on any console error or uncaught exception the page had."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    phone = viewport["width"] < 500
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=viewport, locale="zh-CN", has_touch=phone, is_mobile=phone)
        pg = context.new_page()
        errors = watch(pg)
        pg.set_default_timeout(60_000)
        pg.goto(f"{served[1]}?__theme={theme}")
        pg.wait_for_selector("#rq-question textarea")
        yield pg
        browser.close()
    assert errors == [], errors


@pytest.fixture
def page(served):
    with browse(served, {"width": 1400, "height": 1000}) as pg:
        dialogs: list[str] = []
        pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        pg.dialogs = dialogs
        yield pg


def shot(page, name: str, full_page: bool = True) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


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


def pick(page, selector: str, option: str | re.Pattern[str]) -> None:
    """Choose one option of a Gradio dropdown, as a user does."""
    page.click(f"{selector} input")
    page.locator("[role=option]", has_text=option).first.click()
    page.keyboard.press("Escape")
    page.locator(f"{selector} input").blur()  # a focused dropdown does not open again on a click


def open_figures(page, entity: str | None = "盘锦", indicator: str = "地区生产总值", year: str | None = None,
                 kind: str | None = None) -> None:
    """Open the 指标 tab, wait for the ledger table, then filter it as a user would."""
    page.get_by_role("tab", name="指标").click()
    page.wait_for_function("document.querySelectorAll('#rq-fig-table .virtual-row').length > 10")
    if entity:
        pick(page, "#rq-fig-entity", entity)
        page.wait_for_function("(e) => [...document.querySelectorAll('#rq-fig-table .virtual-row')]"
                               ".every((tr) => tr.innerText.trim().startsWith(e))", arg=entity)
    if year:
        pick(page, "#rq-fig-year", year)
    if kind:
        page.locator("#rq-fig-kind label", has_text=kind).click()
    pick(page, "#rq-fig-indicator", re.compile(rf"(^|\s){indicator}（"))  # options read "✓ 地区生产总值（20条）"
    page.wait_for_function("document.querySelector('#rq-fig-note').innerText.includes('图中：')")
    page.wait_for_selector("#rq-fig-line svg, #rq-fig-bar svg")


def test_figures_tab_table_chart_source_and_csv(served, page, tmp_path):
    open_figures(page)
    table = page.inner_text("#rq-fig-table")
    for text in ("主体", "依据/比较基础", "增长3.5%左右", "下降7%左右", "2025年盘锦市政府工作报告"):
        assert text in table, text
    assert "地区生产总值增速（%），2022—2024年历年走势（盘锦）" in page.inner_text("#rq-fig-note")
    assert page.locator("#rq-fig-bar").is_hidden()
    shot(page, "08-figures")

    # the CSV: the filtered rows, UTF-8 with a BOM (Excel reads the Chinese)
    with page.expect_download() as download:
        page.click("#rq-fig-csv")
    saved = tmp_path / "figures.csv"
    download.value.save_as(saved)
    raw = saved.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and raw.decode("utf-8-sig").splitlines()[0].startswith("主体,指标,数值")
    assert "增长3.5%左右" in raw.decode("utf-8-sig")

    # a row opens the report in 原文 with exactly the figure's words marked
    page.locator("#rq-fig-table [role=gridcell]", has_text="增长3.5%左右").first.click()
    page.wait_for_selector("#rq-viewer mark.rq-target")
    assert page.inner_text("#rq-viewer mark.rq-target") == "地区生产总值增长3.5%左右"
    assert "2025年盘锦市政府工作报告" in page.inner_text("#rq-viewer .rq-report-title")
    shot(page, "09-figure-source")


@pytest.mark.parametrize(("name", "viewport", "theme"), [
    ("10-figures-dark", {"width": 1400, "height": 1000}, "dark"),
    ("11-figures-phone", {"width": 390, "height": 844}, "light"),
])
def test_figures_tab_in_dark_and_on_a_phone(served, name, viewport, theme):
    with browse(served, viewport, theme) as pg:
        if theme == "dark":  # one year across entities: bars
            open_figures(pg, None, year="2024", kind="目标")
        else:
            open_figures(pg)
        if viewport["width"] < 500:  # the table scrolls inside itself: the page never gets wider than the phone
            assert pg.evaluate("document.documentElement.scrollWidth") <= viewport["width"] + 1
        pg.locator("#rq-fig-note").scroll_into_view_if_needed()
        shot(pg, name)


SCREENS = [
    ("desktop-light", {"width": 1280, "height": 800}, "light"),
    ("desktop-dark", {"width": 1280, "height": 800}, "dark"),
    ("phone-light", {"width": 390, "height": 844}, "light"),
    ("phone-dark", {"width": 390, "height": 844}, "dark"),
]


@pytest.mark.parametrize(("name", "viewport", "theme"), SCREENS, ids=[s[0] for s in SCREENS])
def test_popover_report_navigation_export_and_regenerate(served, tmp_path, name, viewport, theme):
    """Evidence at a glance on any screen: [n] shows its sentence, the report view steps through the
    answer's citations (and leads back to it on a phone), the conversation downloads as Markdown/Word."""
    phone = viewport["width"] < 500
    with browse(served, viewport, theme) as pg:
        answer = ask(pg, "济南和沈阳2023年地区生产总值增速分别是多少？")
        cites = answer.locator("a.rq-cite")
        assert cites.count() >= 2
        # 2. the popover: the card's highlighted sentence, inside the screen, readable in the theme
        first = cites.first
        card = pg.locator(f"#rq-chat {first.get_attribute('href')}")
        first.tap() if phone else first.hover()
        pop = pg.locator("#rq-pop")
        pop.wait_for(state="visible")
        said = card.locator("mark.rq-hl").first.text_content()
        assert said and said in pop.inner_text() and "《2024年" in pop.inner_text()
        box = pop.bounding_box()
        assert 0 <= box["x"] and box["x"] + box["width"] <= viewport["width"] and box["y"] >= 0
        colours = pg.evaluate("(() => { const s = getComputedStyle(document.getElementById('rq-pop'));"
                              " return [s.color, s.backgroundColor]; })()")
        assert colours[0] != colours[1]
        assert first.get_attribute("aria-describedby") == "rq-pop" and card.get_attribute("open") is None
        shot(pg, f"12-popover-{name}", full_page=False)
        if phone:  # no hover on a phone: the popover's own link opens the card
            pop.get_by_text("展开引用").tap()
        else:
            pg.keyboard.press("Escape")
            assert pop.is_hidden()
            first.focus()  # keyboard: focus shows it too, Escape hides it, Enter opens the card
            pop.wait_for(state="visible")
            pg.keyboard.press("Escape")
            assert pop.is_hidden()
            pg.keyboard.press("Enter")
        pg.wait_for_function("(id) => document.getElementById(id).open", arg=card.get_attribute("id"))
        assert pop.is_hidden()

        # 3. the report view steps through this answer's citations, cycling
        card.locator("a.rq-open").click()
        pg.wait_for_selector("#rq-viewer .rq-nav-pos")
        titles = [pg.inner_text("#rq-viewer .rq-report-title")]
        positions = [pg.inner_text("#rq-viewer .rq-nav-pos")]
        for _ in range(cites.count()):
            pg.locator("#rq-viewer a.rq-nav", has_text="下一条引用").click()
            pg.wait_for_function("(p) => document.querySelector('#rq-viewer .rq-nav-pos').innerText !== p",
                                 arg=positions[-1])
            titles.append(pg.inner_text("#rq-viewer .rq-report-title"))
            positions.append(pg.inner_text("#rq-viewer .rq-nav-pos"))
        assert positions[-1] == positions[0] and len(set(positions)) == cites.count(), positions
        assert {"2024年济南市政府工作报告", "2024年沈阳市政府工作报告"} <= set(titles)
        back = pg.locator("#rq-viewer a.rq-back")
        assert back.is_visible() == phone  # beside the chat on a desktop: no need to go back
        pg.wait_for_timeout(900)  # the view has scrolled to its passage
        shot(pg, f"13-report-nav-{name}", full_page=False)
        if phone:  # the report sits below the chat: 返回回答 leads back to the citation
            back.tap()
            pg.wait_for_function("(id) => { const r = document.getElementById(id).getBoundingClientRect();"
                                 " return r.top >= 0 && r.top < innerHeight / 2; }", arg=card.get_attribute("id"))
            shot(pg, f"14-back-to-answer-{name}", full_page=False)

        # 4. the whole conversation as Markdown and as Word
        pg.wait_for_function("!document.querySelector('#rq-export-docx').disabled")
        pg.locator("#rq-export").scroll_into_view_if_needed()
        shot(pg, f"15-export-{name}", full_page=False)
        with pg.expect_download() as md:
            pg.click("#rq-export-md")
        assert md.value.suggested_filename.startswith("报告问答对话-") and md.value.suggested_filename.endswith(".md")
        text = Path(md.value.path()).read_text(encoding="utf-8")
        assert "## 1. 济南和沈阳2023年地区生产总值增速分别是多少？" in text and "[2] 《2024年" in text
        with pg.expect_download() as word:
            pg.click("#rq-export-docx")
        from docx import Document

        paras = [p.text for p in Document(word.value.path()).paragraphs]
        assert "1. 济南和沈阳2023年地区生产总值增速分别是多少？" in paras and "引用来源" in paras

        # 5. 重新生成 under the last answer: the same question again, the answer replaced
        if name == "desktop-light":
            said_before, href = answer.inner_text().split("引用来源")[0], first.get_attribute("href")
            pg.locator("#rq-chat button[aria-label='重新生成']").click()
            pg.wait_for_function("(h) => { const a = document.querySelector('#rq-chat a.rq-cite');"
                                 " return a && a.getAttribute('href') !== h && document.querySelector('#rq-chat .rq-foot'); }",
                                 arg=href)  # a new answer (a new id), finished
            bots = pg.locator("#rq-chat [data-testid='bot']")
            assert bots.count() == 1 and bots.last.inner_text().split("引用来源")[0] == said_before
            box, top = pg.locator("#rq-chat .bubble-wrap").bounding_box(), bots.last.bounding_box()["y"]
            assert box["y"] - 1 <= top <= box["y"] + box["height"] / 2, (box, top)  # the new answer in view …
            assert 0 <= top <= viewport["height"] / 2, top  # … of the chat and of the window
            shot(pg, "16-regenerated", full_page=False)


EMPTY_SCREENS = [
    ("desktop-light", {"width": 1280, "height": 900}, "light"),
    ("phone-dark", {"width": 390, "height": 844}, "dark"),
]


@pytest.mark.parametrize(("name", "viewport", "theme"), EMPTY_SCREENS, ids=[s[0] for s in EMPTY_SCREENS])
def test_empty_chat_overview_examples_and_filter_placeholders(served, name, viewport, theme):
    """The empty chat reads well on any screen: the overview inset from the chat's border and at its top, its
    table in the theme's border colour, every example question in view (a phone too); an empty filter says
    全部（不限）, a chosen one does not, and 新对话 brings it back."""
    filters = ["#rq-city", "#rq-year", "#rq-period", "#rq-report"]
    with browse(served, viewport, theme) as pg:
        pg.wait_for_function("(ids) => ids.every((s) => document.querySelector(`${s} input`).placeholder"
                             " === '全部（不限）')", arg=filters)
        chat = pg.locator("#rq-chat").bounding_box()
        first = pg.locator("#rq-chat .placeholder p").first.bounding_box()
        assert first["x"] - chat["x"] >= 12 and first["y"] - chat["y"] < 70, (chat, first)
        border, text = pg.evaluate("(() => { const s = getComputedStyle(document.querySelector("
                                   "'#rq-chat .placeholder td')); return [s.borderTopColor, s.color]; })()")
        assert border != text  # the theme's border colour, not black / white lines
        wrap = pg.locator("#rq-chat .bubble-wrap")
        assert wrap.evaluate("(w) => w.scrollHeight <= w.clientHeight + 1")  # nothing hidden below a scroll
        box = wrap.bounding_box()
        examples = pg.locator("#rq-chat button.example")
        assert examples.count() == 4
        for i in range(4):
            b = examples.nth(i).bounding_box()
            assert box["x"] <= b["x"] and b["x"] + b["width"] <= box["x"] + box["width"] + 1, (box, b)
            assert box["y"] <= b["y"] and b["y"] + b["height"] <= box["y"] + box["height"] + 1, (box, b)
        shot(pg, f"17-empty-chat-{name}", full_page=False)

        pick(pg, "#rq-city", "沈阳")
        assert pg.locator("#rq-city input").get_attribute("placeholder") == ""
        assert pg.locator("#rq-year input").get_attribute("placeholder") == "全部（不限）"
        pg.click("#rq-new")
        pg.wait_for_function("document.querySelector('#rq-city input').placeholder === '全部（不限）'"
                             " && !document.querySelector('#rq-city .token')")
