"""The Gradio chat (中文界面): streamed answers with citation cards, filters, index status, feedback,
重新生成 and the conversation's export; the 指标 tab is `ui_figures.FiguresTab`, the 上传报告 tab
`ui_upload.UploadPanel`.

`create_app(qa)` builds one `gr.Blocks` around one shared `ReportQA`. Handlers are `ChatUI` methods, so
tests call them without a server. Everything taken from a report or a user is HTML-escaped here.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

import gradio as gr

from assistant.answer import steering
from assistant.answer.citations import statements
from assistant.errors import USER_ERRORS
from assistant.records import Answer, Citation
from assistant.retrieval.filters import Filters
from assistant.retrieval.normalize import normalize_question
from assistant.serve.feedback import Feedback, FeedbackLog
from assistant.serve.ui_export import export_record, write_exports
from assistant.serve.ui_figures import FiguresTab
from assistant.serve.ui_render import (
    BRIDGE_JS,
    CSS,
    FILTER_PLACEHOLDER,
    HEADER,
    VIEWER_EMPTY,
    VIEWER_JS,
    _oneline,
    anchor,
    answer_markdown,
    cite_tip,
    esc,
    highlight_spans,
    marked_html,
    md_text,
    overview_markdown,
    pinyin_key,
    plain_answer,
    plain_block,
    report_nav,
    status_html,
)
from assistant.serve.ui_upload import UploadPanel, report_label

if TYPE_CHECKING:
    from assistant.qa import ReportQA

EXAMPLES = [
    "盘锦2024年地区生产总值增长多少？",
    "济南2024年GDP增长目标是多少？",
    "济南和沈阳2023年地区生产总值增速分别是多少？",
    "2025年盘锦市政府工作报告是什么时候作的？",
]
WAITING = "正在检索相关段落…"  # the page knows a new answer has begun by it
OPEN_PREFIX = "rq-open-"  # "查看原文" links carry the chunk id in the href: the chat sanitizer drops data-*


def read_with_history(answer: Answer) -> bool:
    """The question was rewritten with what was said before (那沈阳呢 -> 沈阳2024年地区生产总值增长多少)."""
    return bool(answer.standalone_question) and normalize_question(answer.question) != answer.standalone_question


def make_filters(cities: list[str] | None, years: list[Any] | None, report_ids: list[str] | None,
                 periods: list[Any] | None = None) -> Filters:
    return Filters(cities=list(cities or []), years=[int(y) for y in years or []], report_ids=list(report_ids or []),
                   periods=[int(y) for y in periods or []])


def filters_text(f: Filters, labels: dict[str, str]) -> str:
    parts = ["、".join(f.cities), "、".join(f"{y}年的报告" for y in f.years), "、".join(f"{y}年的数据" for y in f.periods),
             "、".join(labels.get(r, r) for r in f.report_ids)]
    return " · ".join(p for p in parts if p)


# --- the app -------------------------------------------------------------------------------------
class ChatUI:
    """Handlers and layout around one shared `ReportQA` (the model is loaded once, for all sessions)."""

    def __init__(self, qa: ReportQA):
        self.qa = qa
        self.settings = qa.settings
        self.feedback = FeedbackLog(qa.settings.feedback_file)
        self.uploads = UploadPanel(qa, self.on_refresh)

    # --- rendering an answer ------------------------------------------------------------------
    def card(self, cit: Citation, claims: list[str], turn_id: str, kind: str = "c") -> str:
        """One citation as a compact line (number, title, section) that opens to the passage, its cited
        sentence marked, the whole section and a link to the report: the answer stays in view."""
        spans = highlight_spans(cit.text, claims)
        meta = [cit.city or "城市未知", f"{cit.year}年" if cit.year else "年份未知", cit.section or "（报告开头）",
                f"第{cit.page}页" if cit.page else ""]
        label = f"[{cit.n}]" if kind == "c" else f"相关{cit.n}"
        section = f' <span class="rq-card-sec">· {esc(cit.section)}</span>' if cit.section else ""
        parts = [
            f'<details class="rq-card{" rq-related" if kind != "c" else ""}" id="{anchor(turn_id, cit.n, kind)}">',
            f'<summary class="rq-card-title" title="文件：{esc(cit.source)}"><span class="rq-n">{label}</span>'
            f'{esc(cit.title)}{section}</summary>',
            f'<div class="rq-meta">{esc(" · ".join(m for m in meta if m))}</div>',
            f'<div class="rq-passage">{marked_html(cit.text, spans)}</div>',
        ]
        start, end = self.qa.section_range(cit)
        if (start, end) != (cit.start, cit.end):
            try:
                text = self.qa.document_text(cit.source)[start:end]
                shifted = [(s + cit.start - start, e + cit.start - start) for s, e in spans]
                body = marked_html(text, shifted or [(cit.start - start, cit.end - start)], "rq-hl" if shifted else "rq-here")
                parts.append(f'<details class="rq-section"><summary>展开整节（{end - start} 字）</summary><div>{body}</div></details>')
            except USER_ERRORS:
                pass
        parts.append(f'<a class="rq-open" href="#{OPEN_PREFIX}{esc(cit.chunk_id)}">查看原文 ›</a></details>')
        return _oneline("".join(parts))

    @staticmethod
    def cited_claims(answer: Answer) -> dict[int, list[str]]:
        """The answer's statements that cite each passage, by citation number."""
        return {c.n: [body for body, nums in statements(answer.answer) if c.n in nums] for c in answer.citations}

    def cited_marks(self, answer: Answer) -> dict[int, list[tuple[int, int]]]:
        """Where each passage says what the answer cites it for: the card's highlight, the popover, the export."""
        claims = self.cited_claims(answer)
        return {c.n: highlight_spans(c.text, claims[c.n]) for c in answer.citations}

    def render_answer(self, answer: Answer, turn_id: str, filters: Filters) -> str:
        out = []
        if answer.error:
            out.append(f"⚠️ {md_text(answer.error)}\n\n")
        claims, marks = self.cited_claims(answer), self.cited_marks(answer)
        tips = {c.n: cite_tip(c, marks[c.n]) for c in answer.citations}
        out.append(answer_markdown(answer.answer, turn_id, answer.unverified_numbers, tips) if answer.answer else "")
        cards = [self.card(c, claims[c.n], turn_id) for c in answer.citations]
        if steering.NOTE in answer.notes:
            out.append(f"\n\n⚠️ {md_text(steering.NOTE)}")
        if answer.unverified_numbers:
            out.append('\n\n<div class="rq-warn">⚠️ 标有虚线的数字在所引原文中没有找到，请对照原文核实。</div>')
        for note in answer.notes:  # what the answer text does not say itself: two reports disagree on a figure
            if note != steering.NOTE and note not in answer.answer:
                out.append(f'\n\n<div class="rq-warn">⚠️ {esc(note)}</div>')
        if answer.uncited and answer.context:
            out.append("\n\n⚠️ 回答没有标注引用，请对照下列检索到的段落核实。")
            cards = [self.card(c, [], turn_id, "r") for c in answer.context]
        elif answer.refused and answer.related:
            cards = [self.card(c, [], turn_id, "r") for c in answer.related]
        if cards:
            title = "引用来源" if answer.citations else "可能相关的段落"
            out.append(f'\n\n<div class="rq-cards"><div class="rq-cards-title">{title}</div>{"".join(cards)}</div>')
        notes = []
        if read_with_history(answer):
            notes.append(f"理解为：{answer.standalone_question}")  # a follow-up read with what was said before
        if not filters.empty:
            notes.append(f"筛选：{self.filters_text(filters)}")
        if answer.timings_ms.get("total") is not None:
            notes.append(f"用时 {answer.timings_ms['total'] / 1000:.1f} 秒")
        if notes:
            out.append(f'\n\n<div class="rq-foot">{esc(" ｜ ".join(notes))}</div>')
        out.append("\n\n" + plain_block(plain_answer(answer)))
        return "".join(out)

    def filters_text(self, filters: Filters) -> str:
        return filters_text(filters, {r.report_id: r.title for r in self.qa.reports()}) if not filters.empty else ""

    # --- chat ------------------------------------------------------------------------------------
    @staticmethod
    def messages(turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for i, t in enumerate(turns):
            reply: dict[str, Any] = {"role": "assistant", "content": t["html"]}
            if t.get("options") and i == len(turns) - 1:  # quick replies belong to the latest answer only
                reply["options"] = t["options"]
            out += [{"role": "user", "content": md_text(t["question"])}, reply]
        return out

    @staticmethod
    def quick_replies(question: str, answer: Answer, filters: Filters) -> list[dict[str, str]]:
        """One click instead of typing: the candidates of a question asked back, or the same question without
        the filter that hid its answer. Each value is what the click sends (JSON: the question, and whether
        to clear the filters first)."""
        if answer.clarify:
            asked = normalize_question(question)
            whole = bool(answer.clarify.get("whole"))  # options that are questions of their own (沈阳怎么样)
            return [{"label": o, "value": json.dumps({"q": o if whole else f"{o}{asked}", "clear": False}, ensure_ascii=False)}
                    for o in answer.clarify.get("options", [])[:8]]
        if answer.refusal_reason == "hidden by filter" and not filters.empty:
            return [{"label": "取消筛选，重新提问", "value": json.dumps({"q": question, "clear": True}, ensure_ascii=False)}]
        if read_with_history(answer):
            return [{"label": "不带上文，按原问题重新提问",
                     "value": json.dumps({"q": question, "clear": False, "alone": True}, ensure_ascii=False)}]
        return []

    @staticmethod
    def on_option(evt: gr.SelectData):
        """A quick reply clicked: the question it sends, and the filters cleared when it says so."""
        try:
            choice = json.loads(evt.value if isinstance(evt.value, str) else evt.value.get("value", ""))
        except (ValueError, AttributeError):
            choice = {"q": str(evt.value), "clear": False}
        keep = gr.update()
        filters: list[Any] = [[], [], [], []] if choice.get("clear") else [keep, keep, keep, keep]
        return (choice.get("q", ""), *filters, bool(choice.get("alone")))

    def respond(self, question: str, turns: list[dict[str, Any]], cities=None, years=None, report_ids=None,
                periods=None, alone: bool = False):
        """Stream one answer: yields (chat messages, turns); the last yield carries the citation cards."""
        question = (question or "").strip()
        turns = list(turns or [])
        if not question:
            yield self.messages(turns), turns
            return
        filters = make_filters(cities, years, report_ids, periods)
        history = [] if alone else [t["question"] for t in turns]  # alone: asked again without what came before
        turn_id = uuid.uuid4().hex[:12]
        shown = self.messages(turns) + [{"role": "user", "content": md_text(question)}]
        yield shown + [{"role": "assistant", "content": WAITING}], turns
        answer, text = None, ""
        try:
            for item in self.qa.stream(question, history, filters):
                if isinstance(item, Answer):
                    answer = item
                    break
                text += item
                yield shown + [{"role": "assistant", "content": answer_markdown(text, turn_id)}], turns
        except USER_ERRORS as exc:
            answer = Answer(question=question, answer="", refused=True, error=str(exc))
        if answer is None:
            answer = Answer(question=question, answer="", refused=True, error="没有得到回答，请重试。")
        turn = {
            "id": turn_id, "question": question, "history": history, "answer": answer.answer,
            "refused": answer.refused, "standalone": answer.standalone_question,
            "filters": {"cities": filters.cities, "years": filters.years, "report_ids": filters.report_ids,
                        "periods": filters.periods},
            "citations": [{"n": c.n, "chunk_id": c.chunk_id, "report_id": c.report_id, "source": c.source,
                           "title": c.title} for c in answer.citations],
            "html": self.render_answer(answer, turn_id, filters),
            "options": self.quick_replies(question, answer, filters),
            "read_as": answer.standalone_question if read_with_history(answer) else "",
            "filters_text": self.filters_text(filters),
            "export": export_record(answer, self.cited_marks(answer)),
        }
        turns = turns + [turn]
        yield self.messages(turns), turns

    def regenerate(self, turns: list[dict[str, Any]] | None):
        """重新生成: the last question asked again with the filters and the history it was asked with
        (not what the filter controls show now); the new answer replaces the old one."""
        turns = list(turns or [])
        if not turns:
            yield self.messages(turns), turns
            return
        last, rest = turns[-1], turns[:-1]
        f = last["filters"]
        alone = bool(rest) and not last["history"]  # it had been asked without what came before
        yield from self.respond(last["question"], rest, f["cities"], f["years"], f["report_ids"], f["periods"], alone)

    @staticmethod
    def on_export(turns: list[dict[str, Any]] | None):
        """The conversation as Markdown and as Word, written anew after each answer into a folder of this
        request's own: a DownloadButton serves the file it holds, it cannot make one on the click."""
        if not turns:
            off = gr.update(value=None, interactive=False)
            return off, off
        md, docx = write_exports(turns)
        return gr.update(value=str(md), interactive=True), gr.update(value=str(docx), interactive=True)

    # --- feedback --------------------------------------------------------------------------------
    def record_feedback(self, turn: dict[str, Any], rating: str, comment: str = "") -> dict[str, Any]:
        return self.feedback.append(Feedback(
            answer_id=turn["id"], question=turn["question"], history=turn["history"], answer=turn["answer"],
            refused=turn["refused"], citations=turn["citations"], rating=rating, comment=comment.strip(),
            standalone_question=turn["standalone"], filters=turn["filters"],
        ))

    def on_like(self, turns: list[dict[str, Any]], data: gr.LikeData):
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        rating = {True: "up", False: "down", "Like": "up", "Dislike": "down"}.get(data.liked)
        if rating is None or not 0 <= index // 2 < len(turns):
            return None, gr.update(visible=False), ""
        turn_no = index // 2
        self.record_feedback(turns[turn_no], rating)
        note = f"已记录{'👍' if rating == 'up' else '👎'}（第 {turn_no + 1} 个回答）。可在下方补充说明。"
        return {"turn": turn_no, "rating": rating}, gr.update(visible=True), note

    def on_comment(self, comment: str, pending: dict[str, Any] | None, turns: list[dict[str, Any]]):
        if not pending or pending["turn"] >= len(turns):
            return comment, pending, gr.update(), "请先点击回答下方的 👍 或 👎。"
        if not (comment or "").strip():
            return comment, pending, gr.update(), "说明为空，未提交。"
        self.record_feedback(turns[pending["turn"]], pending["rating"], comment)
        return "", None, gr.update(visible=False), "感谢反馈，说明已记录。"

    # --- report view -------------------------------------------------------------------------------
    def report_view(self, chunk_id: str, span: tuple[int, int] | None = None, nav: str = "",
                    claims: list[str] | None = None) -> str:
        """The whole report the chunk belongs to, with the chunk marked (the page scrolls to it), or only
        `span` of it (a figure's words, offsets into the source); `nav` (`report_nav`) on top when it was
        opened from an answer's citation, whose `claims` (the answer's statements citing it) mark the cited
        sentences strongly inside the lightly marked passage."""
        chunk = self.qa.chunk(chunk_id or "")
        if chunk is None:
            return '<div class="rq-empty">该段落已不在索引中（报告可能已更新），请重新提问。</div>'
        report = self.qa.report(chunk.report_id)
        text = self.qa.document_text(chunk.source)
        mark_start, mark_end = span or (chunk.start, chunk.end)
        start, end = (report.start, report.end) if report else (0, len(text))
        start, end = min(start, chunk.start, mark_start), max(end, chunk.end, mark_end)
        meta = [chunk.city or "城市未知", f"{chunk.year}年" if chunk.year else "年份未知", chunk.type]
        if report:
            meta += [report.date or "", report.meeting or "", report.speaker or ""]
        inside = esc(text[mark_start:mark_end])
        sentences = highlight_spans(chunk.text, claims) if claims and span is None else []
        if sentences:  # the passage lightly, the sentences the answer cites strongly
            inside, cursor = "", 0
            for a, b in sorted(sentences):
                inside += f'{esc(chunk.text[cursor:a])}<mark class="rq-hl">{esc(chunk.text[a:b])}</mark>'
                cursor = b
            inside += esc(chunk.text[cursor:])
        kind = "rq-target rq-soft" if sentences else "rq-target"
        body = f'{esc(text[start:mark_start])}<mark class="{kind}" id="rq-target">{inside}</mark>{esc(text[mark_end:end])}'
        nav = nav or '<div class="rq-nav-bar"><a class="rq-back" href="#rq-chat">↑ 返回对话</a></div>'
        return (f'<div class="rq-report">{nav}'
                f'<div class="rq-report-title">{esc(chunk.title)}</div>'
                f'<div class="rq-meta">{esc(" · ".join(m for m in meta if m))} · '
                f'<span class="rq-file" title="文件：{esc(chunk.source)}">源文件</span></div>'
                f'<div class="rq-meta">所在章节：{esc(chunk.section_path or "（报告开头）")}</div>'
                f'<div class="rq-report-body">{body}</div></div>')

    def on_open(self, turns: list[dict[str, Any]] | None, evt: gr.EventData):
        """查看原文 or 上一条/下一条引用 clicked: the report at that passage. When the click names an answer's
        citation (`turn`, `n`), its chunk is the one the answer cited, and the view steps through them."""
        data = evt._data if isinstance(evt._data, dict) else {}
        chunk_id, nav = str(data.get("chunk", "")), ""
        turn = next((t for t in turns or [] if t["id"] == data.get("turn")), None)
        cited = {c["n"]: c["chunk_id"] for c in turn["citations"]} if turn else {}
        n = data.get("n")
        claims: list[str] = []
        if turn and isinstance(n, int) and n in cited:
            chunk_id, nav = cited[n], report_nav(turn["id"], n, sorted(cited))
            claims = [body for body, nums in statements(turn.get("answer", "")) if n in nums]
        return self.report_view(chunk_id, nav=nav, claims=claims), gr.Tabs(selected="report")

    # --- index status and filters -------------------------------------------------------------------
    def status_html(self) -> str:
        return status_html(self.qa.status(), self.qa.reports())

    def filter_choices(self, cities: list[str] | None = None) -> dict[str, list]:
        """Filter options, names in pinyin order; the report list only holds the chosen entities' reports."""
        reports = self.qa.reports()
        st = self.qa.status()
        shown = [r for r in reports if not cities or r.entity in cities]
        return {
            "cities": sorted(st.entities, key=pinyin_key),
            "years": [str(y) for y in st.years],
            "periods": [str(y) for y in st.periods],
            "reports": [(report_label(r), r.report_id)
                        for r in sorted(shown, key=lambda r: (pinyin_key(r.entity or ""), -(r.year or 0), r.title))],
        }

    def on_cities(self, cities: list[str] | None, report_ids: list[str] | None):
        """The report list follows the entity filter (a chosen report of another entity is dropped)."""
        reports = self.filter_choices(cities)["reports"]
        valid = {v for _, v in reports}
        return gr.update(choices=reports, value=[r for r in report_ids or [] if r in valid])

    def overview(self) -> dict[str, Any]:
        """The empty chat's text: what is indexed and what can be asked (again after an upload)."""
        return gr.update(placeholder=overview_markdown(self.qa.status(), self.qa.reports()))

    @staticmethod
    def on_example(evt: gr.SelectData):
        """An example question under the empty chat was clicked: it is asked."""
        value = evt.value if isinstance(evt.value, dict) else {"text": str(evt.value)}
        return value.get("text", ""), False

    def on_refresh(self, cities=None, years=None, report_ids=None, periods=None):
        choices = self.filter_choices(cities)
        valid_reports = {v for _, v in choices["reports"]}
        return (
            self.status_html(),
            gr.update(choices=choices["cities"], value=[c for c in cities or [] if c in choices["cities"]]),
            gr.update(choices=choices["years"], value=[y for y in years or [] if str(y) in choices["years"]]),
            gr.update(choices=choices["reports"], value=[r for r in report_ids or [] if r in valid_reports]),
            gr.update(choices=choices["periods"], value=[y for y in periods or [] if str(y) in choices["periods"]]),
        )

    # --- layout ------------------------------------------------------------------------------------------
    def build(self) -> gr.Blocks:
        with gr.Blocks(title="报告问答 ReportQA", analytics_enabled=False, fill_width=True) as demo:
            bridge = (BRIDGE_JS.replace("__CSS__", json.dumps(CSS)).replace("__PREFIX_LEN__", str(len(OPEN_PREFIX)))
                      .replace("__WAITING__", WAITING).replace("__FILTER_PLACEHOLDER__", json.dumps(FILTER_PLACEHOLDER)))
            header = gr.HTML(HEADER, apply_default_css=False, js_on_load=bridge, elem_id="rq-header")
            turns = gr.State([])
            asked = gr.State("")
            pending = gr.State(None)
            with gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=480):
                    chatbot = gr.Chatbot(label="对话", elem_id="rq-chat", height=620, latex_delimiters=[],
                                         buttons=["copy"], autoscroll=False,
                                         placeholder=overview_markdown(self.qa.status(), self.qa.reports()),
                                         examples=[{"text": q} for q in EXAMPLES], feedback_options=("Like", "Dislike"))
                    with gr.Row():
                        question = gr.Textbox(show_label=False, placeholder="输入问题，回车发送", scale=6,
                                              max_lines=4, elem_id="rq-question")
                        send = gr.Button("发送", variant="primary", scale=1, min_width=70, elem_id="rq-send")
                        new_chat = gr.Button("新对话", scale=1, min_width=70, elem_id="rq-new")
                    with gr.Row(elem_id="rq-export"):
                        export_md = gr.DownloadButton("导出 Markdown", interactive=False, size="sm", scale=0,
                                                      min_width=120, elem_id="rq-export-md")
                        export_docx = gr.DownloadButton("导出 Word", interactive=False, size="sm", scale=0,
                                                        min_width=120, elem_id="rq-export-docx")
                    with gr.Row(visible=False) as comment_row:
                        comment = gr.Textbox(show_label=False, placeholder="补充说明（可选）：哪里不对？正确答案是什么？",
                                             scale=5, elem_id="rq-comment")
                        comment_btn = gr.Button("提交说明", scale=1, min_width=90, elem_id="rq-comment-send")
                    feedback_note = gr.Markdown("", elem_id="rq-feedback-note")
                with gr.Column(scale=2, min_width=380):
                    with gr.Group():
                        cities = gr.Dropdown(label="城市 / 单位", multiselect=True, choices=[], elem_id="rq-city")
                        years = gr.Dropdown(label="报告年份（报告发布的年份）", multiselect=True, choices=[],
                                            elem_id="rq-year")
                        periods = gr.Dropdown(label="数据年份（数字所属的年份）", multiselect=True, choices=[],
                                              elem_id="rq-period")
                        reports = gr.Dropdown(label="报告", multiselect=True, choices=[], elem_id="rq-report")
                    gr.Markdown("筛选作用于本次对话之后的提问；留空表示不限；「新对话」会清空筛选。", elem_classes="rq-hint")
                    with gr.Tabs(selected="report") as tabs:
                        with gr.Tab("原文", id="report"):
                            viewer = gr.HTML(VIEWER_EMPTY, js_on_load=VIEWER_JS, apply_default_css=False,
                                             elem_id="rq-viewer")
                        with gr.Tab("指标", id="figures") as figures_tab:
                            figures = FiguresTab(self.qa, self.report_view).build(figures_tab)
                        with gr.Tab("上传报告", id="upload"):
                            upload = self.uploads.build()
                        with gr.Tab("索引状态", id="status"):
                            status = gr.HTML("", js_on_load=None, apply_default_css=False, elem_id="rq-status")
                            refresh = gr.Button("刷新", elem_id="rq-refresh")

            alone = gr.State(False)
            chat_in = [asked, turns, cities, years, reports, periods, alone]
            exports = [export_md, export_docx]

            def answered(event: Any) -> None:  # every answer refreshes the conversation's export files
                event.then(self.on_export, [turns], exports)

            for trigger in (question.submit, send.click):
                answered(trigger(lambda q: ("", q, False), [question], [question, asked, alone], queue=False).then(
                    self.respond, chat_in, [chatbot, turns]))
            off = gr.update(value=None, interactive=False)
            reset = [chatbot, turns, pending, comment_row, feedback_note, *exports]
            # filters belong to a conversation: a new one starts unfiltered
            new_chat.click(lambda: ([], [], None, gr.update(visible=False), "", off, off, [], [], [], []), None,
                           [*reset, cities, years, reports, periods], queue=False)
            chatbot.clear(lambda: ([], [], None, gr.update(visible=False), "", off, off), None, reset, queue=False)
            chatbot.like(self.on_like, [turns], [pending, comment_row, feedback_note])
            answered(chatbot.retry(self.regenerate, [turns], [chatbot, turns]))
            answered(chatbot.option_select(self.on_option, None, [asked, cities, years, reports, periods, alone],
                                           queue=False).then(self.respond, chat_in, [chatbot, turns]))
            answered(chatbot.example_select(self.on_example, None, [asked, alone], queue=False).then(
                self.respond, chat_in, [chatbot, turns]))
            cities.input(self.on_cities, [cities, reports], [reports], queue=False)
            comment_btn.click(self.on_comment, [comment, pending, turns], [comment, pending, comment_row, feedback_note])
            header.click(self.on_open, [turns], [viewer, tabs])
            filter_io = [cities, years, reports, periods]
            upload.button.click(self.uploads.on_upload, [upload.files, *filter_io],
                                [upload.result, upload.files, status, *filter_io], concurrency_limit=1,
                                concurrency_id="ingest", show_progress_on=[upload.result]).then(
                self.overview, None, [chatbot], queue=False)
            refresh.click(self.on_refresh, filter_io, [status, *filter_io])
            figures.table.select(figures.tab.on_figure_select, [figures.shown], [viewer, tabs])
            demo.load(self.on_refresh, filter_io, [status, *filter_io])
            demo.load(self.overview, None, [chatbot], queue=False)
        return demo


def create_app(qa: ReportQA) -> gr.Blocks:
    """The chat app for one shared `ReportQA`; launch it, or mount it into a FastAPI app."""
    return ChatUI(qa).build()
