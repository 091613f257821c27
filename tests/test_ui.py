"""Chat UI handlers, called directly (no server): streaming, cards, filters, uploads, status, feedback."""

from __future__ import annotations

import json
import re
import threading
import time

import gradio as gr
import pytest

from assistant.qa import ReportQA
from assistant.serve.feedback import FeedbackLog, to_eval_item
from assistant.serve.ui import ChatUI, create_app
from assistant.serve.ui_figures import FiguresTab
from assistant.serve.ui_render import answer_markdown, highlight_spans, md_text
from assistant.serve.uploads import safe_name
from tests.builders import DALIAN_REPORT
from tests.fakes import BigramEmbedder

DALIAN = DALIAN_REPORT


@pytest.fixture(scope="module")
def shared_ui(sample_qa) -> ChatUI:
    """The chat over the session's indexed sample corpus, for the tests that only read it."""
    return ChatUI(sample_qa)


@pytest.fixture
def ui(sample_settings) -> ChatUI:
    qa = ReportQA(sample_settings, BigramEmbedder())
    qa.ingest()
    return ChatUI(qa)


def ask(ui: ChatUI, question: str, turns=None, **filters):
    steps = list(ui.respond(question, turns or [], **filters))
    return steps, steps[-1][1]


def text_of(fragment: str) -> str:
    return re.sub(r"<[^>]+>", "", fragment.replace("<br>", "\n"))


# --- rendering ------------------------------------------------------------------------------------
def test_answer_markdown_links_markers_and_keeps_text_literal():
    md = answer_markdown("增长<b>5.5%</b>以上 *注*[1]；另见[2]", "t1")
    assert 'href="#rq-t1-c1"' in md and 'href="#rq-t1-c2"' in md
    assert "<b>" not in md and "&lt;b&gt;" in md
    assert r"\*注\*" in md  # no Markdown emphasis from report text
    assert md_text("1. 第一\n- 第二") == "1\\. 第一\n\\- 第二"


def test_highlight_finds_statement_verbatim_or_the_closest_sentence():
    passage = "一、总体要求。主要预期目标是:地区生产总值增长5.5%以上;一般公共预算收入增长5%左右;"
    assert [passage[s:e] for s, e in highlight_spans(passage, ["主要预期目标是:地区生产总值增长5.5%以上;"])] == [
        "主要预期目标是:地区生产总值增长5.5%以上;"]
    # a compare answer prefixes the city: the label is ignored
    assert [passage[s:e] for s, e in highlight_spans(passage, ["济南：一般公共预算收入增长5%左右;"])] == [
        "一般公共预算收入增长5%左右;"]
    # a paraphrase (LLM answer): the sentence sharing most bigrams
    spans = highlight_spans(passage, ["地区生产总值预计增长百分之5.5以上"])
    assert [passage[s:e] for s, e in spans] == ["主要预期目标是:地区生产总值增长5.5%以上;"]
    assert highlight_spans(passage, []) == []


@pytest.mark.parametrize(("name", "expected"), [
    ("../../etc/passwd.txt", "passwd.txt"),
    ("..\\..\\windows\\报告.MD", "报告.md"),
    ("2024年 济南<script>报告.txt", "2024年_济南_script_报告.txt"),
    (".hidden.txt", "hidden.txt"),
    ("...txt", "report.txt"),
    ("盘锦市（2025）政府工作报告.txt", "盘锦市(2025)政府工作报告.txt"),  # NFKC: full-width forms made plain
    ("a\x00b;rm -rf.txt", "a_b_rm_-rf.txt"),
])
def test_safe_filename(name, expected):
    assert safe_name(name) == expected


# --- chat -----------------------------------------------------------------------------------------
def test_respond_streams_then_shows_cards_with_highlight_section_and_report_link(shared_ui):
    steps, turns = ask(shared_ui, "济南2024年GDP增长目标是多少？")
    assert steps[0][0][-1]["content"] == "正在检索相关段落…"
    assert len(steps) >= 3  # placeholder, at least one streamed delta, final
    final = steps[-1][0]
    assert [m["role"] for m in final] == ["user", "assistant"]
    html = final[-1]["content"]
    assert "5.5%" in text_of(html.split('<div class="rq-cards">')[0])
    turn = turns[0]
    assert turn["citations"] and turn["citations"][0]["title"] == "2024年济南市政府工作报告"
    card = html.split('<div class="rq-cards">')[1]
    assert "2024年济南市政府工作报告" in card and "济南 · 2024年 · 二、2024年政府工作安排" in card
    assert re.search(r'<mark class="rq-hl">[^<]*地区生产总值增长5\.5%以上', card)
    assert f'href="#rq-{turn["id"]}-c1"' in html and f'id="rq-{turn["id"]}-c1"' in card
    chunk_id = turn["citations"][0]["chunk_id"]
    assert f'href="#rq-open-{chunk_id}"' in card
    assert "<details" in card
    block = html.split("\n\n")[1]  # one HTML block: a blank line inside would let Markdown split it
    assert block.startswith('<div class="rq-cards">') and block.endswith("</div>") and "</details>" in block


def test_section_expansion_covers_every_chunk_of_the_section(shared_ui):
    _, turns = ask(shared_ui, "济南2024年GDP增长目标是多少？")
    cit = turns[0]["citations"][0]
    view = shared_ui.qa.retriever.view
    chunk = view.chunks[cit["chunk_id"]]
    same = [c for c in view.by_report[chunk.report_id] if c.section_path == chunk.section_path]
    assert len(same) > 1
    answer = shared_ui.qa.ask("济南2024年GDP增长目标是多少？")
    start, end = shared_ui.qa.section_range(answer.citations[0])
    assert (start, end) == (min(c.start for c in same), max(c.end for c in same))
    card = shared_ui.card(answer.citations[0], [], "x")
    section = text_of(card.split("<details class=\"rq-section\"")[1])
    for c in same:
        assert c.text.split("\n")[-1] in section


def test_followup_uses_the_chat_history(shared_ui):
    _, turns = ask(shared_ui, "济南2024年GDP增长目标是多少？")
    _, turns = ask(shared_ui, "沈阳呢？", turns)
    assert turns[1]["history"] == ["济南2024年GDP增长目标是多少？"]
    assert "沈阳" in turns[1]["standalone"]
    assert {c["title"] for c in turns[1]["citations"]} == {"2024年沈阳市政府工作报告"}


@pytest.mark.parametrize(("question", "filters", "expected_title"), [
    ("2023年地区生产总值增长多少？", {"cities": ["沈阳"]}, "2024年沈阳市政府工作报告"),
    ("地区生产总值增长多少？", {"years": ["2025"]}, "2025年盘锦市政府工作报告"),
])
def test_filters_restrict_retrieval(shared_ui, question, filters, expected_title):
    steps, turns = ask(shared_ui, question, **filters)
    titles = {c["title"] for c in turns[0]["citations"]}
    assert titles == {expected_title}
    assert "筛选：" in steps[-1][0][-1]["content"]


def test_report_filter(shared_ui):
    benxi = [r.report_id for r in shared_ui.qa.reports() if r.city == "本溪"]
    _, turns = ask(shared_ui, "地区生产总值增长多少？", report_ids=benxi)
    assert {c["report_id"] for c in turns[0]["citations"]} == set(benxi)


def test_refusal_lists_possibly_related_passages(shared_ui):
    steps, turns = ask(shared_ui, "北京2024年GDP是多少")
    html = steps[-1][0][-1]["content"]
    assert turns[0]["refused"] and "没有「北京」" in html  # the refusal names what is missing
    assert "可能相关的段落" in html and 'class="rq-card rq-related"' in html


def test_empty_index_is_a_message_not_a_crash(settings):
    ui = ChatUI(ReportQA(settings, BigramEmbedder()))
    steps, turns = ask(ui, "济南2024年GDP增长目标是多少？")
    assert "索引为空" in steps[-1][0][-1]["content"] and turns[0]["refused"]


def test_blank_question_changes_nothing(shared_ui):
    assert list(shared_ui.respond("  ", [])) == [([], [])]


def test_report_and_user_text_is_escaped_everywhere(settings):
    (settings.data_dir / "<b>evil.txt").write_text(
        "大连市<b>报告\n\n一、2024年工作安排\n\n"
        "地区生产总值增长6%左右<script>alert(1)</script>，一般公共预算收入增长5%。\n", encoding="utf-8")
    ui = ChatUI(ReportQA(settings, BigramEmbedder()))
    ui.qa.ingest()
    steps, turns = ask(ui, "地区生产总值增长多少？<img src=x onerror=alert(1)>")
    rendered = [m["content"] for m in steps[-1][0]]
    chunk_id = turns[0]["citations"][0]["chunk_id"]
    for html in [*rendered, ui.report_view(chunk_id), ui.status_html()]:
        assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered[1]
    assert "&lt;script&gt;" in ui.report_view(chunk_id) and "&lt;b&gt;evil.txt" in ui.status_html()
    assert "&lt;b&gt;evil.txt" in ui.report_view(chunk_id) and "&lt;b&gt;evil.txt" in rendered[1]


def test_report_view_marks_the_passage_in_the_whole_report(shared_ui):
    _, turns = ask(shared_ui, "济南2024年GDP增长目标是多少？")
    cid = turns[0]["citations"][0]["chunk_id"]
    chunk = shared_ui.qa.retriever.view.chunks[cid]
    report = next(r for r in shared_ui.qa.reports() if r.report_id == chunk.report_id)
    html = shared_ui.report_view(cid)
    assert "2024年济南市政府工作报告" in html and "所在章节：二、2024年政府工作安排" in html
    meta = html.split('<div class="rq-report-title">')[1].split("所在章节")[0]
    assert f'title="文件：{chunk.source}"' in meta and f">{chunk.source}<" not in meta  # a title to read, the file in a tooltip
    marked = re.search(r'<mark class="rq-target" id="rq-target">(.*?)</mark>', html, re.S).group(1)
    assert marked == __import__("html").escape(chunk.text)
    body = text_of(html.split('<div class="rq-report-body">')[1])
    assert len(body) >= report.end - report.start - 10
    viewer, tabs = shared_ui.on_open(turns, gr.EventData(None, {"chunk": cid}))
    assert viewer == html and tabs.selected == "report"
    assert "不在索引中" in shared_ui.report_view("no-such-chunk")


def test_citation_marker_carries_the_cited_sentence_for_its_popover(shared_ui):
    """Hovering or tapping [n] shows the sentence its card highlights, and where it is from."""
    from html import unescape

    _, turns = ask(shared_ui, "济南2024年GDP增长目标是多少？")
    html = turns[0]["html"]
    answer, cards = html.split('<div class="rq-cards">', 1)
    tip = re.search(r'<a class="rq-cite" href="#rq-\w+-c1">&#91;1&#93;<span class="rq-tip">(.*?)</span></span></a>',
                    answer).group(1)
    source, said = re.fullmatch(r'<span class="rq-tip-src">(.*?)</span><span class="rq-tip-text">(.*)', tip).groups()
    assert unescape(source) == "《2024年济南市政府工作报告》 · 二、2024年政府工作安排"
    card_mark = re.search(r'<mark class="rq-hl">(.*?)</mark>', cards).group(1)
    assert said == card_mark and "地区生产总值增长5.5%以上" in said
    assert "\n" not in tip and "<script" not in tip


def test_cite_tip_falls_back_to_the_passage_opening_and_stays_literal():
    from assistant.records import Citation
    from assistant.serve.ui_render import TIP_CHARS, cite_tip

    cit = Citation(n=1, chunk_id="c", report_id="r", source="a.txt", title="《<b>报告</b>", section="",
                   text="*粗体*[2]" + "长" * 300, start=0, end=310, city="", year=None, period=None, score=0.0)
    tip = cite_tip(cit, [])
    assert "<b>" not in tip and "&lt;b&gt;" in tip and r"\*粗体\*\[2\]" in tip  # no HTML, no Markdown
    said = re.search(r'rq-tip-text">(.*?)</span>', tip).group(1)
    assert said.endswith("…") and len(said) <= TIP_CHARS + 10


def test_report_view_opened_from_a_citation_steps_through_that_answers_citations(shared_ui):
    _, turns = ask(shared_ui, "济南和沈阳2023年地区生产总值增速分别是多少？")
    turn = turns[0]
    cited = sorted(c["n"] for c in turn["citations"])
    assert len(cited) >= 2, turn["citations"]
    chunk = {c["n"]: c["chunk_id"] for c in turn["citations"]}

    def open_(n):
        viewer, _ = shared_ui.on_open(turns, gr.EventData(None, {"turn": turn["id"], "n": n}))
        return viewer

    first, last = cited[0], cited[-1]
    viewer = open_(first)
    marked = re.search(r'<mark class="rq-target rq-soft" id="rq-target">(.*)</mark>', viewer, re.S).group(1)
    passage = shared_ui.qa.chunk(chunk[first]).text
    assert re.sub(r"</?mark[^>]*>", "", marked) == __import__("html").escape(passage)  # the passage, lightly
    strong = re.findall(r'<mark class="rq-hl">(.*?)</mark>', marked, re.S)
    assert strong and all(s in __import__("html").escape(passage) and len(s) < len(passage) for s in strong)
    assert f"引用 [{first}]，共 {len(cited)} 条" in viewer
    links = dict((label, href) for href, label in re.findall(r'<a class="rq-nav" href="#([^"]+)"[^>]*>(.*?)</a>', viewer))
    assert links == {"‹ 上一条引用": f"rq-{turn['id']}-c{last}",  # cycling: before the first is the last
                     "下一条引用 ›": f"rq-{turn['id']}-c{cited[1]}"}
    assert f'<a class="rq-back" href="#rq-{turn["id"]}-c{first}">↑ 返回回答</a>' in viewer  # back to its card
    assert f'id="rq-{turn["id"]}-c{first}"' in turn["html"]
    assert f'href="#rq-{turn["id"]}-c{first}"' in open_(last).split('class="rq-nav-links"')[1]  # after the last: the first
    # 查看原文 of a card names its chunk too: the same view; a click naming no answer gets no nav
    same, _ = shared_ui.on_open(turns, gr.EventData(None, {"chunk": chunk[first], "turn": turn["id"], "n": first}))
    assert same == viewer
    plain, _ = shared_ui.on_open(turns, gr.EventData(None, {"chunk": chunk[first]}))
    assert 'class="rq-nav"' not in plain and "返回对话" in plain
    gone, _ = shared_ui.on_open([], gr.EventData(None, {"turn": turn["id"], "n": first}))
    assert "不在索引中" in gone


# --- export and regenerate ---------------------------------------------------------------------
@pytest.fixture
def temp_in(tmp_path, monkeypatch):
    """Files a handler writes to the system temp dir land under tmp_path."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def test_conversation_exports_as_markdown_with_footnotes_and_as_word_with_the_cited_passages(shared_ui, temp_in):
    from pathlib import Path

    from docx import Document
    from docx.enum.text import WD_COLOR_INDEX

    assert [u["interactive"] for u in shared_ui.on_export([])] == [False, False]
    _, turns = ask(shared_ui, "济南2024年GDP增长目标是多少？")
    _, turns = ask(shared_ui, "沈阳呢？", turns)
    md_up, docx_up = shared_ui.on_export(turns)
    assert md_up["interactive"] and docx_up["interactive"]
    md, docx = Path(md_up["value"]), Path(docx_up["value"])
    assert md.parent == docx.parent and md.parent.parent == temp_in and md.suffix == ".md" and docx.suffix == ".docx"
    text = md.read_text(encoding="utf-8")
    assert text.startswith("# 报告问答 · 对话记录") and "共 2 个问题" in text
    assert "## 1. 济南2024年GDP增长目标是多少？" in text and "## 2. 沈阳呢？" in text
    assert "*理解为：沈阳" in text  # how the follow-up was read
    first = shared_ui.qa.ask("济南2024年GDP增长目标是多少？")
    assert "5.5%" in text and "[1]" in text.split("## 2.")[0]
    note = f"[1] 《2024年济南市政府工作报告》·二、2024年政府工作安排：“{first.citations[0].text.strip()}”"
    assert note.replace("\n", "  \n") in text  # the footnote 复制 gives, line breaks kept in Markdown
    assert "<" not in text
    # Word: the same questions and answers, each cited passage in full with its cited sentence highlighted
    doc = Document(str(docx))
    paras = [p.text for p in doc.paragraphs]
    assert paras[0] == "报告问答 · 对话记录" and "1. 济南2024年GDP增长目标是多少？" in paras
    assert any("5.5%" in p and "[1]" in p for p in paras)
    assert "[1] 《2024年济南市政府工作报告》·二、2024年政府工作安排" in paras
    assert first.citations[0].text in paras
    marked = [r.text for p in doc.paragraphs for r in p.runs if r.font.highlight_color == WD_COLOR_INDEX.YELLOW]
    card_mark = __import__("html").unescape(re.search(r'<mark class="rq-hl">(.*?)</mark>', turns[0]["html"]).group(1))
    assert marked and marked[0] == card_mark and "地区生产总值增长5.5%以上" in marked[0]
    # one folder per request: two users (or two answers) never share a file
    again, _ = shared_ui.on_export(turns)
    assert Path(again["value"]).parent != md.parent and Path(again["value"]).read_text(encoding="utf-8") == text


def test_regenerate_asks_the_last_question_again_with_its_filters_and_replaces_the_answer(shared_ui):
    _, turns = ask(shared_ui, "沈阳2024年GDP增长目标是多少？")
    _, turns = ask(shared_ui, "2023年地区生产总值增长多少？", turns, cities=["沈阳"], years=["2024"])
    assert turns[1]["citations"], turns[1]["answer"]
    steps = list(shared_ui.regenerate(turns))
    assert steps[0][0][-1]["content"] == "正在检索相关段落…" and len(steps[0][0]) == 4  # the old answer is gone
    again = steps[-1][1]
    assert len(again) == 2 and again[0] == turns[0]
    old, new = turns[1], again[1]
    assert new["id"] != old["id"] and new["question"] == old["question"] and new["history"] == old["history"]
    assert new["filters"] == old["filters"] == {"cities": ["沈阳"], "years": [2024], "report_ids": [], "periods": []}
    assert {c["title"] for c in new["citations"]} == {"2024年沈阳市政府工作报告"} and "筛选：沈阳" in new["html"]
    assert [m["content"] for m in steps[-1][0]][:3] == [m["content"] for m in shared_ui.messages(turns)][:3]
    # a question asked without what came before is asked again so
    lone = list(shared_ui.respond("那沈阳呢？", turns[:1], alone=True))[-1][1]
    assert list(shared_ui.regenerate(lone))[-1][1][-1]["history"] == []
    assert list(shared_ui.regenerate([])) == [([], [])]


# --- status and filters -------------------------------------------------------------------------
def test_status_panel_and_filter_choices(shared_ui):
    html = shared_ui.status_html()
    for text in ("11 篇", "340", "fake-bigram", "嵌入式", "抽取式", "2024年沈阳市政府工作报告", "2023-01-04"):
        assert text in html
    choices = shared_ui.filter_choices()
    # pinyin order, as a Chinese reader looks names up (not code-point order: 内江 商丘 本溪 沈阳 …)
    assert choices["cities"] == ["本溪", "福州", "济南", "内江", "盘锦", "商丘", "沈阳"]
    assert choices["years"][:3] == ["2025", "2024", "2023"]
    assert len(choices["reports"]) == 11 and all(len(rid) == 16 for _, rid in choices["reports"])
    _, cities, years, reports, periods = shared_ui.on_refresh(["沈阳", "北京"], ["2024"], ["gone"], ["2023", "1999"])
    assert cities["value"] == ["沈阳"] and years["value"] == ["2024"] and reports["value"] == []
    assert periods["value"] == ["2023"] and "2023" in choices["periods"] and "2025" in choices["periods"]
    # the report list follows the entity filter; a chosen report of another entity is dropped
    benxi = [rid for label, rid in choices["reports"] if "本溪" in label]
    shenyang = [rid for label, rid in choices["reports"] if "沈阳" in label]
    narrowed = shared_ui.on_cities(["沈阳"], [*benxi, *shenyang])
    assert {rid for _, rid in narrowed["choices"]} == set(shenyang) and narrowed["value"] == shenyang
    assert len(shared_ui.on_cities([], [])["choices"]) == 11


def test_copy_text_is_the_answer_with_footnotes_not_html(shared_ui):
    from html import unescape

    _, turns = ask(shared_ui, "济南2024年GDP增长目标是多少？")
    html = turns[0]["html"]
    hidden = re.search(r'<span class="rq-plain">(.*?)</span>', html).group(1)
    assert "\n" not in hidden  # one HTML block: newlines only as entities
    text = unescape(hidden)
    answer, notes = text.split("\n\n[1] ", 1)
    assert "5.5%" in answer and "[1]" in answer and "<" not in text
    assert notes.startswith("《2024年济南市政府工作报告》·二、2024年政府工作安排：“")
    cit = shared_ui.qa.ask("济南2024年GDP增长目标是多少？").citations[0]
    assert cit.text.strip() in notes  # the passage itself, so a pasted figure can be checked


def test_citations_are_compact_lines_that_open_to_the_passage(shared_ui):
    _, turns = ask(shared_ui, "济南2024年GDP增长目标是多少？")
    html = turns[0]["html"]
    card = html.split('<div class="rq-cards">')[1]
    summary = re.search(r"<summary[^>]*>(.*?)</summary>", card).group(1)
    assert "2024年济南市政府工作报告" in summary and "二、2024年政府工作安排" in summary
    assert "rq-passage" not in summary and ".txt" not in text_of(summary)  # a title, not a file name …
    assert 'title="文件：' in card  # … which is in the tooltip


def test_empty_chat_overview_names_what_is_indexed(shared_ui, settings):
    text = shared_ui.overview()["placeholder"]
    assert "已收录 11 份报告" in text and "7 个城市或单位" in text
    assert text.index("| 本溪 |") < text.index("| 沈阳 |") and "| 盘锦 | 2023、2024、2025 |" in text
    empty = ChatUI(ReportQA(settings, BigramEmbedder())).overview()["placeholder"]
    assert "索引为空" in empty


# --- uploads ----------------------------------------------------------------------------------------
def test_upload_is_stored_safely_indexed_and_searchable_at_once(ui, tmp_path):
    upload = tmp_path / "incoming" / "大连 2024 <政府> 工作报告.txt"
    upload.parent.mkdir()
    upload.write_text(DALIAN, encoding="utf-8")
    ticks = []
    rows = ui.uploads.upload([str(upload)], progress=lambda value, desc, unit: ticks.append((value, desc)))
    assert len(rows) == 1
    row = rows[0]
    assert (row.status, row.reports, row.chunks) == ("indexed", 1, 3), row
    assert row.titles == ["2024年大连市政府工作报告（大连·2024）"]
    stored = ui.settings.data_dir / "uploads" / "大连_2024_政府_工作报告.txt"
    assert stored.read_text(encoding="utf-8") == DALIAN
    assert ticks and ticks[-1][0] == (3, 3) and "uploads/" in ticks[-1][1]
    assert "大连" in ui.filter_choices()["cities"]
    _, turns = ask(ui, "大连2024年地区生产总值增长目标是多少？")
    assert turns[0]["citations"][0]["source"] == "uploads/大连_2024_政府_工作报告.txt"
    html = ui.uploads.upload_html(rows)
    assert "已导入" in html and "大连_2024_政府_工作报告.txt" in html


def test_upload_rejections_and_name_collisions(ui, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "tool.exe").write_bytes(b"MZ")
    (src / "empty.txt").write_bytes(b"")
    (src / "a").mkdir()
    (src / "b").mkdir()
    (src / "a" / "r.txt").write_text(DALIAN, encoding="utf-8")
    (src / "b" / "r.txt").write_text(DALIAN.replace("大连", "青岛"), encoding="utf-8")
    rows = ui.uploads.upload([str(src / "tool.exe"), str(src / "empty.txt"), str(src / "a" / "r.txt"), str(src / "b" / "r.txt")])
    assert rows[0].status == "error" and "不支持的文件类型 .exe" in rows[0].message
    assert rows[1].status == "error" and "空文件" in rows[1].message
    assert [r.name for r in rows[2:]] == ["r.txt", "r-2.txt"] and {r.status for r in rows[2:]} == {"indexed"}
    # a file that failed is not kept; the indexed ones are
    assert sorted(p.name for p in (ui.settings.data_dir / "uploads").iterdir()) == ["r-2.txt", "r.txt"]
    again = ui.uploads.upload([str(src / "a" / "r.txt")])
    assert (again[0].name, again[0].status) == ("r.txt", "unchanged")
    # another user's R.TXT (other text) and a broken r.txt never replace the indexed r.txt
    (src / "c").mkdir()
    (src / "c" / "R.TXT").write_text(DALIAN.replace("大连", "烟台"), encoding="utf-8")
    (src / "d").mkdir()
    (src / "d" / "r.txt").write_bytes(b"\x00\x01\x02" * 100)
    other, broken = ui.uploads.upload([str(src / "c" / "R.TXT"), str(src / "d" / "r.txt")])
    assert other.status == "indexed" and other.name not in ("r.txt", "r-2.txt") and broken.status == "error"
    assert (ui.settings.data_dir / "uploads" / "r.txt").read_text(encoding="utf-8") == DALIAN
    assert sorted(p.name for p in (ui.settings.data_dir / "uploads").iterdir()) == sorted(["r-2.txt", "r.txt", other.name])
    assert {r.source for r in ui.qa.reports()} >= {"uploads/r.txt", "uploads/r-2.txt", f"uploads/{other.name}"}
    ui.settings.max_file_mb = 0.0001
    big = ui.uploads.upload([str(src / "a" / "r.txt")])
    assert big[0].status == "error" and "超过上限" in big[0].message
    assert "请先选择文件" in ui.uploads.upload_html(ui.uploads.upload(None))


# --- feedback -----------------------------------------------------------------------------------------
def test_feedback_thumb_then_comment_is_appended_as_jsonl(shared_ui, tmp_path):
    shared_ui.feedback = FeedbackLog(tmp_path / "fb" / "feedback.jsonl")
    _, turns = ask(shared_ui, "济南2024年GDP增长目标是多少？")
    _, turns = ask(shared_ui, "沈阳呢？", turns)
    pending, row, note = shared_ui.on_like(turns, gr.LikeData(None, {"index": 3, "value": "", "liked": False}))
    assert pending == {"turn": 1, "rating": "down"} and row["visible"] and "👎" in note
    comment, pending2, row, note = shared_ui.on_comment("应给出2024年目标", pending, turns)
    assert (comment, pending2, row["visible"]) == ("", None, False) and "已记录" in note
    lines = [json.loads(x) for x in (tmp_path / "fb" / "feedback.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["rating"], r["comment"]) for r in lines] == [("down", ""), ("down", "应给出2024年目标")]
    rec = lines[-1]
    assert rec["question"] == "沈阳呢？" and rec["history"] == ["济南2024年GDP增长目标是多少？"]
    assert rec["answer"] == turns[1]["answer"] and rec["timestamp"]
    assert rec["citations"][0]["chunk_id"] in shared_ui.qa.retriever.view.chunks
    latest = shared_ui.feedback.latest()
    assert len(latest) == 1 and latest[0]["comment"] == "应给出2024年目标"
    item = to_eval_item(latest[0])
    assert item["type"] == "followup" and item["answers"] == [] and item["source"] == "001_856a73ee7808871b.txt"
    up, _, _ = shared_ui.on_like(turns, gr.LikeData(None, {"index": 1, "value": "", "liked": True}))
    assert up == {"turn": 0, "rating": "up"}
    assert shared_ui.on_comment("x", None, turns)[3].startswith("请先")


# --- the app ----------------------------------------------------------------------------------------------
def test_create_app_wires_handlers_and_keeps_uploads_off_the_chat_slots(shared_ui):
    demo = create_app(shared_ui.qa)
    assert isinstance(demo, gr.Blocks) and demo.analytics_enabled is False
    fns = {getattr(f.fn, "__name__", ""): f for f in demo.fns.values()}
    assert {"respond", "on_upload", "on_like", "on_comment", "on_open", "on_refresh", "regenerate", "on_export"} <= set(fns)
    chat = next(b for b in demo.blocks.values() if isinstance(b, gr.Chatbot))
    assert (chat._id, "retry") in fns["regenerate"].targets  # the chat's own 重新生成 button under the last answer
    downloads = {b.elem_id: b for b in demo.blocks.values() if isinstance(b, gr.DownloadButton)}
    assert {"rq-export-md", "rq-export-docx"} <= set(downloads)
    assert downloads["rq-export-md"].label == "导出 Markdown" and downloads["rq-export-docx"].label == "导出 Word"
    assert fns["on_upload"].concurrency_id == "ingest" and fns["on_upload"].concurrency_limit == 1
    assert fns["respond"].concurrency_id != "ingest" and fns["respond"].concurrency_limit == "default"


def test_concurrent_sessions_do_not_wait_for_each_other(shared_ui):
    """A slow answer in one session does not hold up another: no lock around the handlers."""
    entered, release = threading.Event(), threading.Event()
    qa = shared_ui.qa
    real_stream = qa.stream

    def stream(question, history=None, filters=None):
        if question.startswith("慢"):
            entered.set()
            assert release.wait(10)
        yield from real_stream(question.lstrip("慢"), history, filters)

    qa.stream = stream
    try:
        slow_result = []
        slow = threading.Thread(target=lambda: slow_result.append(ask(shared_ui, "慢济南2024年GDP增长目标是多少？")))
        slow.start()
        assert entered.wait(10)
        t0 = time.perf_counter()
        _, turns = ask(shared_ui, "盘锦2024年地区生产总值增长多少？")
        assert time.perf_counter() - t0 < 5 and turns[0]["citations"]
        assert slow.is_alive()
        release.set()
        slow.join(10)
        assert slow_result and slow_result[0][1][0]["citations"]
    finally:
        release.set()
        del qa.stream


def test_quick_replies_for_a_question_asked_back_and_for_a_hiding_filter(shared_ui):
    import json as _json
    from types import SimpleNamespace

    steps, turns = ask(shared_ui, "2024年地区生产总值增长目标是多少？")
    options = steps[-1][0][-1].get("options") or []
    assert options or "分别按" in turns[-1]["answer"]  # asked back with choices, or answered per entity
    if turns[-1]["refused"]:  # asked back: one quick reply per candidate, each a full question
        assert len(options) >= 2 and all(_json.loads(o["value"])["q"].startswith(o["label"]) for o in options)
    # an entity alone: the suggested questions are sent as they are
    steps, turns = ask(shared_ui, "沈阳怎么样")
    suggested = steps[-1][0][-1].get("options") or []
    assert len(suggested) == 3 and all(_json.loads(o["value"])["q"] == o["label"] for o in suggested)
    steps, turns = ask(shared_ui, "盘锦2024年地区生产总值增长多少", cities=["济南"])
    [retry] = steps[-1][0][-1]["options"]
    assert retry["label"] == "取消筛选，重新提问"
    question, *filters, alone = shared_ui.on_option(SimpleNamespace(value=retry["value"]))
    assert question == "盘锦2024年地区生产总值增长多少" and filters == [[], [], [], []] and not alone
    # a follow-up read with history can be asked again on its own
    steps, turns = ask(shared_ui, "盘锦2024年地区生产总值增长多少")
    steps, turns = ask(shared_ui, "那沈阳呢？", turns)
    [again] = steps[-1][0][-1]["options"]
    question, *_, alone = shared_ui.on_option(SimpleNamespace(value=again["value"]))
    assert question == "那沈阳呢？" and alone and "理解为：沈阳" in turns[-1]["html"]
    lone = list(shared_ui.respond(question, turns, alone=True))[-1][1][-1]
    assert lone["history"] == [] and lone["standalone"] == "那沈阳呢"
    assert "options" not in shared_ui.messages(turns + turns)[1]  # only the latest answer offers them


# --- colours ----------------------------------------------------------------------------------------
def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _rule(selector: str) -> str:
    from assistant.serve.ui_render import CSS

    return re.search(re.escape(selector) + r"[^{]*\{([^}]*)\}", CSS).group(1)


def test_unverified_numbers_and_disagreeing_reports_are_shown_under_the_answer(shared_ui):
    from assistant.records import Answer
    from assistant.retrieval.filters import Filters

    text = "地区生产总值增长9.9%[1]。"
    note = "注意：鞍山2024年地区生产总值增长，《甲》写预计5.2%，《乙》写4.8%，两份报告不一致。"
    answer = Answer(question="q", answer=text, refused=False, notes=[note],
                    unverified_numbers=[{"text": "9.9%", "start": text.index("9.9%"), "end": text.index("9.9%") + 4}])
    html = shared_ui.render_answer(answer, "t1", Filters())
    assert '<mark class="rq-unverified"' in html and "9.9%</mark>" in html
    assert "在所引原文中没有找到" in html
    assert f'<div class="rq-warn">⚠️ {note}</div>' in html  # the note the answer text does not hold itself
    assert html.count(note) == 2  # shown once, and once more in the plain text 复制 copies


def test_highlight_and_link_colours_pass_wcag_aa_in_light_and_dark():
    """The cited sentence is what the product promises: readable in both themes (WCAG AA, 4.5:1)."""
    mark = _rule("mark.rq-hl")
    bg = re.search(r"background:\s*(#[0-9a-f]{6})", mark).group(1)
    fg = re.search(r"color:\s*(#[0-9a-f]{6})\s*!important", mark).group(1)  # fixed, whatever the theme's text
    assert contrast(fg, bg) >= 4.5
    light_link = re.search(r"color:\s*(#[0-9a-f]{6})", _rule(".rq-n")).group(1)
    dark_link = re.search(r"color:\s*(#[0-9a-f]{6})", _rule(".dark .rq-n")).group(1)
    # Gradio's default card backgrounds: near-white in light, #27272a-ish in dark
    assert contrast(light_link, "#ffffff") >= 4.5 and contrast(light_link, "#f9fafb") >= 4.5
    assert contrast(dark_link, "#27272a") >= 4.5 and contrast(dark_link, "#0b0f19") >= 4.5
    assert contrast("#2563eb", "#27272a") < 4.5  # why the dark theme needs its own colour


def test_header_subtitle_passes_wcag_aa_in_light_and_dark():
    """The line under 报告问答 says how to read the evidence: not the theme's faint grey (1.9:1 on white)."""
    from assistant.serve.ui_render import CSS

    own = re.search(r"^\.rq-header p \{([^}]*)\}", CSS, re.M).group(1)  # its own rule, after the shared one
    light = re.search(r"color:\s*(#[0-9a-f]{6})", own).group(1)
    dark = re.search(r"color:\s*(#[0-9a-f]{6})", _rule(".dark .rq-header p")).group(1)
    assert contrast(light, "#ffffff") >= 4.5  # the page's background, light …
    assert contrast(dark, "#0f0f11") >= 4.5  # … and dark
    assert contrast("#bbbbc2", "#ffffff") < 4.5  # Gradio's subdued text colour: why the header sets its own


def test_filters_say_they_are_unset(shared_ui):
    """Each empty filter shows 全部（不限）: the page script (Gradio 6's Dropdown has no placeholder) names
    all four filter boxes and is given the text."""
    from assistant.serve.ui_render import BRIDGE_JS, FILTER_PLACEHOLDER

    assert FILTER_PLACEHOLDER == "全部（不限）"
    demo = shared_ui.build()
    ids = {c.elem_id for c in demo.blocks.values() if isinstance(c, gr.Dropdown)}
    header = next(c for c in demo.blocks.values() if getattr(c, "elem_id", None) == "rq-header")
    script = header.js_on_load
    for elem_id in ("rq-city", "rq-year", "rq-period", "rq-report"):
        assert elem_id in ids and f"'{elem_id}'" in BRIDGE_JS
    assert "__FILTER_PLACEHOLDER__" not in script and json.dumps(FILTER_PLACEHOLDER) in script


# --- the 指标 tab ---------------------------------------------------------------------------------------
FIGURE_OUT = ("entities", "indicator", "years", "table", "shown", "line", "bar", "style", "note", "group", "count",
              "csv")


@pytest.fixture
def fig_ui(shared_ui, temp_in) -> FiguresTab:
    """The 指标 tab of the shared chat, its CSV exports written under tmp_path (the system temp dir when served)."""
    return FiguresTab(shared_ui.qa, shared_ui.report_view)


def figures_tab(ui: FiguresTab, entities=(), indicator="", years=(), kinds=(), group=None) -> dict:
    return dict(zip(FIGURE_OUT, ui.on_figures(list(entities), indicator, list(years), list(kinds), group), strict=True))


def test_figures_tab_filters_the_ledger_into_a_chinese_table_and_a_line_per_entity(fig_ui):
    from assistant.serve.ui_figures import COLUMNS

    out = figures_tab(fig_ui, ["盘锦"], "地区生产总值")
    table = out["table"]
    assert list(table.columns) == COLUMNS == ["主体", "指标", "数值", "类型", "年份", "依据/比较基础", "报告", "章节"]
    rows = [dict(zip(COLUMNS, r, strict=True)) for r in table.values.tolist()]
    assert {r["主体"] for r in rows} == {"盘锦"} and {r["指标"] for r in rows} == {"地区生产总值"}
    said = {(r["年份"], r["类型"], r["数值"]) for r in rows}
    assert {("2022", "预计", "下降7%左右"), ("2023", "预计", "增长2%左右"), ("2024", "目标", "增长6%左右"),
            ("2024", "预计", "增长3.5%左右"), ("2025", "目标", "增长5.5%左右"), ("2022", "预计", "1330亿元")} <= said
    assert [r["年份"] for r in rows] == sorted(r["年份"] for r in rows)
    by_value = {r["数值"]: r for r in rows}
    assert by_value["增长3.5%左右"]["报告"] == "2025年盘锦市政府工作报告"  # the title, not the file name
    assert by_value["增长3.5%左右"]["章节"] == "一、2024年工作回顾"
    # the chart: growth only (comparable values), results only, one point a year
    line = out["line"]
    assert line["visible"] and out["bar"]["visible"] is False
    style, _ = fig_ui.on_chart_style(out["style"])  # sent after the data, so Gradio redraws with it
    assert style["y_title"] == "地区生产总值增速（%）" and list(style["color_map"]) == ["盘锦"]
    assert style["y_lim"][0] < -7 < 3.5 < style["y_lim"][1]
    frame = line["value"]
    assert frame[["系列", "年份", "数值"]].values.tolist() == [["盘锦", "2022", -7.0], ["盘锦", "2023", 2.0],
                                                               ["盘锦", "2024", 3.5]]
    assert "图中：地区生产总值增速（%），2022—2024年历年走势（盘锦）" in out["note"]
    assert "口径" in out["note"] and out["group"]["visible"] and len(out["group"]["choices"]) >= 2
    assert f"共 {len(table)} 条" in out["count"] and "点击任一行" in out["count"]
    assert out["indicator"]["choices"][0] == ("全部指标", "")
    assert out["entities"]["choices"] == ["本溪", "福州", "济南", "内江", "盘锦", "商丘", "沈阳"]
    assert out["years"]["choices"] == ["2025", "2024", "2023", "2022"]
    # the other 口径: the level in 亿元; targets on their own when asked for
    level = figures_tab(fig_ui, ["盘锦"], "地区生产总值", group="地区生产总值|level|亿元")
    assert level["line"]["visible"] is False and level["bar"]["value"]["数值"].tolist() == [1330.0]
    targets = figures_tab(fig_ui, ["盘锦"], "地区生产总值", kinds=["target"])
    assert targets["line"]["value"][["年份", "数值"]].values.tolist() == [["2023", 5.0], ["2024", 6.0], ["2025", 5.5]]
    assert {r[3] for r in targets["table"].values.tolist()} == {"目标"}


def test_figures_chart_never_joins_goals_to_results_and_says_what_it_cannot_draw(fig_ui):
    both = figures_tab(fig_ui, ["盘锦"], "地区生产总值", kinds=["actual", "expected", "target"])
    frame = both["line"]["value"]
    assert set(frame["系列"]) == {"盘锦·目标", "盘锦·实际"}
    assert frame[frame["系列"] == "盘锦·目标"]["年份"].tolist() == ["2023", "2024", "2025"]
    style, _ = fig_ui.on_chart_style(both["style"])
    assert len(set(style["color_map"].values())) == 2  # one colour each, sent after the data
    # 本溪 has one year only: a line cannot show it, so the note gives its value instead
    lone = figures_tab(fig_ui, ["盘锦", "本溪"], "一般公共预算收入")
    assert set(lone["line"]["value"]["系列"]) == {"盘锦"}
    assert "只有一个年份、画不成线：本溪 2023年增长8.3%" in lone["note"]


def test_figures_tab_compares_entities_for_one_year_in_bars(fig_ui):
    out = figures_tab(fig_ui, [], "地区生产总值", ["2024"], ["target"])
    bar = out["bar"]
    assert out["line"]["visible"] is False and bar["visible"]
    frame = bar["value"]
    _, style = fig_ui.on_chart_style(out["style"])
    assert frame["系列"].tolist() == ["本溪", "福州", "济南", "盘锦", "商丘", "沈阳"] == style["sort"]  # pinyin order
    assert style["color_map"] == {"目标": "#f59e0b"} and style["y_lim"][0] == 0
    assert dict(zip(frame["系列"], frame["数值"], strict=True))["济南"] == 5.5
    assert set(frame["类型"]) == {"目标"} and "2024年各主体对比" in out["note"]
    # the most frequent indicators come first in the list
    names = [v for _, v in out["indicator"]["choices"][1:]]
    assert "地区生产总值" in names[:5] and names.index("地区生产总值") < names.index("粮食产量")


def test_figures_tab_empty_states(fig_ui):
    out = figures_tab(fig_ui, ["盘锦"])
    assert out["line"]["visible"] is False and out["bar"]["visible"] is False
    assert "请选择一个指标" in out["note"] and len(out["table"]) > 100
    none = figures_tab(fig_ui, ["盘锦"], "没有这个指标")
    assert len(none["table"]) == 0 and "没有符合筛选条件" in none["count"]
    assert none["csv"]["value"] is None and none["csv"]["interactive"] is False


def test_figures_csv_is_the_filtered_table_in_utf8_with_bom_one_file_per_request(fig_ui, tmp_path):
    import csv
    import io
    from pathlib import Path

    from assistant.serve.ui_figures import CSV_COLUMNS

    out = figures_tab(fig_ui, ["盘锦"], "地区生产总值")
    path = Path(out["csv"]["value"])
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and "盘锦" in path.name and "地区生产总值" in path.name
    assert path.parent.parent == tmp_path and path.parent.name.startswith("reportqa-figures-")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == CSV_COLUMNS and rows[0][:3] == ["主体", "指标", "数值"]
    assert len(rows) - 1 == len(out["table"]) and out["csv"]["label"] == f"导出 CSV（{len(rows) - 1} 条）"
    body = [dict(zip(CSV_COLUMNS, r, strict=True)) for r in rows[1:]]
    hit = next(r for r in body if r["数值"] == "增长3.5%左右")
    assert (hit["年份"], hit["类型"], hit["数字"], hit["单位"], hit["报告"]) == ("2024", "预计", "3.5", "%", "2025年盘锦市政府工作报告")
    text = fig_ui.qa.document_text(hit["文件"])
    assert text[int(hit["起"]):int(hit["止"])] == hit["原文"]
    again = Path(figures_tab(fig_ui, ["盘锦"], "地区生产总值")["csv"]["value"])
    assert again.parent != path.parent and again.read_bytes() == raw  # never one file for two requests


def test_selecting_a_figure_row_opens_the_report_at_its_exact_span(fig_ui):
    from html import escape
    from types import SimpleNamespace

    out = figures_tab(fig_ui, ["盘锦"], "地区生产总值")
    shown = out["shown"]
    figures = {(f.chunk_id, f.start): f for f in fig_ui.qa.figures(entity="盘锦", indicator="地区生产总值")}
    i = next(i for i, s in enumerate(shown) if s["row"][2] == "增长3.5%左右")
    viewer, tabs = fig_ui.on_figure_select(shown, SimpleNamespace(index=[i, 2], row_value=shown[i]["row"]))
    assert tabs.selected == "report"
    fig = figures[(shown[i]["chunk_id"], shown[i]["start"])]
    source = fig_ui.qa.document_text(fig.source)
    marked = re.search(r'<mark class="rq-target" id="rq-target">(.*?)</mark>', viewer, re.S).group(1)
    assert marked == escape(source[fig.start:fig.end]) == escape(fig.text) == "地区生产总值增长3.5%左右"
    assert "2025年盘锦市政府工作报告" in viewer and "所在章节：一、2024年工作回顾" in viewer
    # the table sorted in the browser: the row is found by its values, not its position
    j = (i + 1) % len(shown)
    moved, _ = fig_ui.on_figure_select(shown, SimpleNamespace(index=[j, 0], row_value=shown[i]["row"]))
    assert moved == viewer
    nothing = fig_ui.on_figure_select(shown, SimpleNamespace(index=[999, 0], row_value=["?"]))
    assert nothing[0] == {"__type__": "update"}


def test_the_ledger_is_read_when_the_tab_opens_not_when_the_app_is_built(fig_ui, monkeypatch):
    calls = []
    real = fig_ui.qa.figures
    monkeypatch.setattr(fig_ui.qa, "figures", lambda *a, **k: calls.append(1) or real(*a, **k))
    demo = create_app(fig_ui.qa)
    assert calls == []
    fns = {getattr(f.fn, "__name__", ""): f for f in demo.fns.values()}
    assert {"on_figures", "on_figure_select"} <= set(fns)
    tab = next(b for b in demo.blocks.values() if isinstance(b, gr.Tab) and b.id == "figures")
    assert tab.label == "指标"
    assert (tab._id, "select") in fns["on_figures"].targets  # opening the tab fills it
    viewer = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "rq-viewer")
    assert viewer._id in {o._id for o in fns["on_figure_select"].outputs}  # a row opens the report view
