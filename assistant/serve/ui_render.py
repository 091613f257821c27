"""Rendering for the chat UI: pure functions from answers and passages to escaped HTML/Markdown, and
the page assets (styles and scripts). Everything taken from a report or a user is escaped here."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from assistant.answer.citations import MARKER
from assistant.records import Answer, Citation, IndexStatus, Report

_MD_INLINE = re.compile(r"([\\`*_\[\]~|])")
_MD_BLOCK = re.compile(r"^[ \t]*(\d+(?=[.)])|[#>+=-])", re.M)
_SENTENCE = re.compile(r"[^。！？；;!?\n]+[。！？；;!?]?")
_LABEL = re.compile(r"^[^，。：:]{1,10}[：:]")


# --- rendering (pure functions) ----------------------------------------------------------------
def esc(text: str) -> str:
    return html.escape(text, quote=True)


def md_text(text: str) -> str:
    """Report or user text as literal Markdown: no HTML, no emphasis, lists, headings or links."""
    text = _MD_INLINE.sub(r"\\\1", text)
    text = _MD_BLOCK.sub(lambda m: m.group(1) + "\\" if m.group(1)[0].isdigit() else "\\" + m.group(1), text)
    return esc(text)


def anchor(turn_id: str, n: int, kind: str = "c") -> str:
    return f"rq-{turn_id}-{kind}{n}"


def answer_markdown(text: str, turn_id: str) -> str:
    """The answer with each `[n]` turned into a link to its citation card."""
    pieces = MARKER.split(text)
    out = []
    for i, piece in enumerate(pieces):
        if i % 2:
            target = anchor(turn_id, int(piece))
            out.append(f'<a class="rq-cite" href="#{target}">&#91;{piece}&#93;</a>')
        else:
            out.append(md_text(piece))
    return "".join(out)


def _bigrams(text: str) -> set[str]:
    chars = [c for c in text if not c.isspace()]
    return {a + b for a, b in zip(chars, chars[1:], strict=False)}


def highlight_spans(passage: str, claims: list[str]) -> list[tuple[int, int]]:
    """Where the answering statements sit in the passage: verbatim when possible, else the sentence
    sharing most character bigrams with them."""
    spans = []
    for claim in claims:
        for variant in (claim, _LABEL.sub("", claim).strip()):
            pos = passage.find(variant) if len(variant) >= 4 else -1
            if pos >= 0:
                spans.append((pos, pos + len(variant)))
                break
    if not spans and claims:
        wanted = set().union(*(_bigrams(c) for c in claims))
        scored = [(len(_bigrams(m.group()) & wanted), m.start(), m.end()) for m in _SENTENCE.finditer(passage)]
        best = max(scored, key=lambda s: s[0], default=(0, 0, 0))
        if best[0] >= 2:
            spans.append((best[1], best[2]))
    merged: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


def marked_html(text: str, spans: list[tuple[int, int]], cls: str = "rq-hl") -> str:
    out, pos = [], 0
    for s, e in spans:
        out.append(esc(text[pos:s]) + f'<mark class="{cls}">{esc(text[s:e])}</mark>')
        pos = e
    out.append(esc(text[pos:]))
    return "".join(out)


def _oneline(fragment: str) -> str:
    """Inside a chat message an HTML block must have no blank line (Markdown would end it)."""
    return re.sub(r"\n+", "<br>", fragment)


def pinyin_key(name: str) -> tuple[str, str]:
    """Chinese names in the order a Chinese reader looks for them (本溪, 福州, 济南 … not by code point).
    pypinyin is imported here, not with the module: it costs ~250 ms and ~58 MB, and only sorting needs it."""
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin(name)).lower(), name


def footnote(cit: Citation) -> str:
    section = f"·{cit.section}" if cit.section else ""
    page = f"（第{cit.page}页）" if cit.page else ""
    return f"[{cit.n}] 《{cit.title}》{section}{page}：“{cit.text.strip()}”"


def plain_answer(answer: Answer) -> str:
    """What 复制 puts on the clipboard: the answer as text with its [n], then one footnote per citation
    (title, section, the passage): pasted into a memo, every figure can still be checked."""
    text = answer.error or answer.answer
    if answer.notes:
        text += "\n\n" + "\n".join(answer.notes)
    if answer.citations:
        text += "\n\n" + "\n".join(footnote(c) for c in answer.citations)
    return text.strip()


def plain_block(text: str) -> str:
    """The plain answer hidden in the message for the copy button: newlines as entities, because the
    message's HTML block may hold no raw newline."""
    return f'<span class="rq-plain">{esc(text).replace(chr(10), "&#10;")}</span>'


def overview_markdown(status: IndexStatus, reports: Sequence[Report]) -> str:
    """The empty chat: what is indexed (entities and years at a glance) and what can be asked."""
    if not reports:
        return "**索引为空**：请先在「上传报告」中导入报告，或运行 `reportqa ingest`。"
    years: dict[str, set[int]] = {}
    for r in reports:
        years.setdefault(r.entity or "（未识别）", set()).update({r.year} if r.year else set())
    names = sorted(years, key=pinyin_key)
    shown = names[:12]
    rows = "\n".join(f"| {md_text(n)} | {'、'.join(str(y) for y in sorted(years[n])) or '—'} |" for n in shown)
    more = f"\n\n……另有 {len(names) - len(shown)} 个" if len(names) > len(shown) else ""
    return (f"**已收录 {status.reports} 份报告**，涉及 {len(names)} 个城市或单位：\n\n"
            f"| 城市 / 单位 | 报告年份 |\n|---|---|\n{rows}{more}\n\n"
            "可以问某年的经济数据、预期目标、重点工作，或比较两个城市、两个年份。回答只依据这些报告，每句都附引用 [n]。")


HEADER = ('<div class="rq-header"><h1>报告问答</h1><p>根据已收录的报告（政府工作报告、企业年报、判决书等）回答问题，每个回答都附有引用原文；'
          '点击 [n] 或引用条目展开原文段落，点击“查看原文”打开整篇报告。</p></div>')
VIEWER_EMPTY = '<div class="rq-empty">点击引用条目中的“查看原文”，这里会打开整篇报告并定位到该段落。</div>'

# Runs once per page: injects the styles (Gradio 6 takes CSS only at launch) and routes clicks on the
# `[n]` links and "查看原文" links inside chat messages (where no Gradio event can be attached).
BRIDGE_JS = """
if (!document.getElementById('rq-style')) {
  const s = document.createElement('style'); s.id = 'rq-style'; s.textContent = __CSS__; document.head.appendChild(s);
}
window.__rqOpen = (chunk) => trigger('click', {chunk: chunk});
if (window.__rqBound) return;
window.__rqBound = true;
const copyText = (text) => {
  if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
  const t = document.createElement('textarea');  // plain http on an intranet: no clipboard API
  t.value = text; t.style.position = 'fixed'; t.style.opacity = '0'; document.body.appendChild(t);
  t.select(); document.execCommand('copy'); t.remove(); return Promise.resolve();
};
document.addEventListener('click', (e) => {
  const el = e.target instanceof Element ? e.target : null;
  const copy = el ? el.closest('#rq-chat button.rq-copy') : null;
  if (copy) {  // copy the answer as text with footnotes, not as the HTML of the message
    // the buttons sit right after their message (Gradio 6: .message-buttons-* follows .message-row)
    let row = copy.closest('.message-buttons-left, .message-buttons-right, .message-row');
    while (row && !row.classList.contains('message-row')) row = row.previousElementSibling;
    const plain = row ? row.querySelector('.rq-plain') : null;
    if (!plain) return;
    e.preventDefault(); e.stopImmediatePropagation();
    window.__rqCopied = plain.textContent;
    copyText(plain.textContent).then(() => { copy.title = '已复制'; setTimeout(() => { copy.title = '复制回答（含引用出处）'; }, 1500); });
    return;
  }
  const a = el ? el.closest('a.rq-open, a.rq-cite') : null;
  if (!a) return;
  e.preventDefault(); e.stopPropagation();
  const id = (a.getAttribute('href') || '').slice(1);
  if (a.classList.contains('rq-open')) { window.__rqOpen(id.slice(__PREFIX_LEN__)); return; }
  const card = document.getElementById(id);
  if (!card) return;
  card.open = true;
  card.scrollIntoView({behavior: 'smooth', block: 'nearest'});
  card.classList.add('rq-flash'); setTimeout(() => card.classList.remove('rq-flash'), 1600);
}, true);
// Keep the start of the newest answer in view (Gradio's autoscroll would follow its bottom, past the
// citations), and say in Chinese what the copy button does.
let rqBots = 0;
const rqTidy = () => {
  const chat = document.getElementById('rq-chat');
  if (!chat) return;
  chat.querySelectorAll('button[aria-label="Copy message"]').forEach((b) => {
    b.setAttribute('aria-label', '复制'); b.title = '复制回答（含引用出处）'; b.classList.add('rq-copy');
  });
  const bots = chat.querySelectorAll('.message-row.bot-row');
  if (bots.length > rqBots) {
    const last = bots[bots.length - 1], box = last.closest('.bubble-wrap');
    const user = last.previousElementSibling;
    const target = user && user.classList.contains('user-row') ? user : last;
    if (box) box.scrollTop += target.getBoundingClientRect().top - box.getBoundingClientRect().top - 8;
  }
  rqBots = bots.length;
};
new MutationObserver(rqTidy).observe(document.body, {childList: true, subtree: true});
"""

VIEWER_JS = """
const go = () => {
  const t = element.querySelector('.rq-target'), box = element.querySelector('.rq-report-body');
  if (!t || !box) return;
  box.scrollTop = Math.max(0, t.offsetTop - box.clientHeight / 3);
  element.scrollIntoView({block: 'nearest'});
};
const later = () => [60, 300, 800].forEach((ms) => setTimeout(go, ms));
watch('value', later);
later();
"""

CSS = """
.rq-header h1 { font-size: 1.5rem; margin: 0; }
.rq-header p, .rq-hint p { margin: .2rem 0 0; color: var(--body-text-color-subdued); font-size: .9em; }
.rq-cards { display: flex; flex-direction: column; gap: .3rem; margin-top: .25rem; }
.rq-cards-title { font-weight: 600; font-size: .9em; color: var(--body-text-color-subdued); }
.rq-plain { display: none; }
.rq-card { border: 1px solid var(--border-color-primary); border-left: 4px solid #2563eb; border-radius: 8px;
  padding: .3rem .75rem; background: var(--background-fill-secondary); font-size: .92em; transition: box-shadow .3s; }
details.rq-card > summary { cursor: pointer; list-style: none; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }
details.rq-card > summary::-webkit-details-marker { display: none; }
details.rq-card > summary::after { content: " ▸"; color: var(--body-text-color-subdued); }
details.rq-card[open] > summary::after { content: " ▾"; }
.rq-card-sec { font-weight: 400; color: var(--body-text-color-subdued); }
.rq-card.rq-related { border-left-color: #9ca3af; }
.rq-card.rq-flash { box-shadow: 0 0 0 3px #f59e0b; }
.rq-card-title, .rq-report-title { font-weight: 600; }
.rq-report-title { font-size: 1.1em; }
.rq-n { color: #2563eb; margin-right: .35rem; }
.rq-meta { font-size: .85em; color: var(--body-text-color-subdued); margin: .15rem 0 .35rem; }
.rq-passage { padding: .2rem .5rem; border-left: 2px solid var(--border-color-primary); line-height: 1.7; }
mark.rq-hl, mark.rq-target { background: #fde68a; color: #1f2937 !important; padding: 0 1px; border-radius: 2px; }  /* dark theme too */
mark.rq-here { background: rgba(37, 99, 235, .12); color: inherit; }
.rq-section summary, a.rq-open { cursor: pointer; color: #2563eb; font-size: .85em; text-decoration: none; }
.rq-section > div { max-height: 320px; overflow: auto; padding: .35rem .5rem; line-height: 1.7; }
a.rq-cite { color: #2563eb; text-decoration: none; font-weight: 600; font-size: .85em; }
.rq-foot { font-size: .8em; color: var(--body-text-color-subdued); }
.rq-report-body { position: relative; white-space: pre-wrap; max-height: 65vh; overflow: auto; line-height: 1.8;
  padding: .5rem .75rem; border: 1px solid var(--border-color-primary); border-radius: 8px; }
.rq-table { border-collapse: collapse; width: 100%; font-size: .88em; margin-bottom: .75rem; }
.rq-table th, .rq-table td { border-bottom: 1px solid var(--border-color-primary); padding: .3rem .4rem;
  text-align: left; vertical-align: top; }
.rq-table th, .rq-table td.rq-nw { white-space: nowrap; }
.rq-table .rq-meta { margin: 0; font-size: .8em; word-break: break-all; }
.rq-summary th { width: 6em; }
.rq-ok { color: #16a34a; } .rq-err { color: #dc2626; }
.rq-empty { color: var(--body-text-color-subdued); padding: .75rem 0; }
.dark .rq-n, .dark a.rq-cite, .dark a.rq-open, .dark .rq-section summary { color: #93c5fd; }  /* AA on dark cards */
.dark .rq-card { border-left-color: #60a5fa; }
a.rq-back { display: none; font-size: .9em; color: #2563eb; text-decoration: none; }
.dark a.rq-back { color: #93c5fd; }
@media (max-width: 768px) { a.rq-back { display: inline-block; margin-bottom: .4rem; } }  /* phone: the report opens below the chat */
#rq-chat .placeholder { padding-top: 1.8rem; }  /* clear of the chat's 对话 label */
#rq-chat .placeholder table td, #rq-chat .placeholder table th { padding: .15rem .6rem; font-size: .9em; }
"""
