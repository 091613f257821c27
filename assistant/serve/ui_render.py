"""Rendering for the chat UI: pure functions from answers and passages to escaped HTML/Markdown, and
the page assets (styles and scripts). Everything taken from a report or a user is escaped here."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence

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


UNVERIFIED_TITLE = "未在引用原文中找到此数字"


def _inline(text: str) -> str:
    """Text inside an inline HTML tag of a message: escaped, no Markdown syntax, on one line."""
    return esc(_MD_INLINE.sub(r"\\\1", " ".join(text.split())))


def answer_markdown(text: str, turn_id: str, unverified: Sequence[dict] = (), tips: Mapping[int, str] | None = None) -> str:
    """The answer with each `[n]` turned into a link to its citation card, and each number no cited
    passage states (`Answer.unverified_numbers`, offsets into `text`) marked for the reader to check.
    `tips` (from `cite_tip`) ride hidden inside the links: the page shows them as a popover on hover,
    focus or tap, so the cited sentence is read without leaving the answer."""
    tips = tips or {}
    spans = sorted((u["start"], u["end"]) for u in unverified if 0 <= u["start"] < u["end"] <= len(text))
    pieces = [(m.start(), m.end(), m.group(1)) for m in MARKER.finditer(text)]
    pieces += [(s, e, None) for s, e in spans if not any(ps < e and s < pe for ps, pe, _ in pieces)]
    out, pos = [], 0
    for s, e, n in sorted(pieces):
        if s < pos:
            continue  # overlapping spans: the first one is marked
        out.append(md_text(text[pos:s]))
        if n is not None:
            tip = tips.get(int(n), "")
            out.append(f'<a class="rq-cite" href="#{anchor(turn_id, int(n))}">&#91;{n}&#93;{tip}</a>')
        else:
            number = _inline(text[s:e])  # mid-line: no block syntax to break
            out.append(f'<mark class="rq-unverified" title="{UNVERIFIED_TITLE}">{number}</mark>')
        pos = e
    out.append(md_text(text[pos:]))
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


TIP_CHARS = 120


def cite_tip(cit: Citation, spans: Sequence[tuple[int, int]]) -> str:
    """The popover of `[n]`: where it is from (title · section) and the cited sentence, the marked
    statements of the card; the passage's opening when no statement could be placed in it."""
    said = "…".join(cit.text[s:e].strip() for s, e in spans)
    if not said:
        said = cit.text.strip()
        said = said if len(said) <= TIP_CHARS else said[:TIP_CHARS].rstrip() + "…"
    source = f"《{cit.title}》" + (f" · {cit.section}" if cit.section else "")
    return (f'<span class="rq-tip"><span class="rq-tip-src">{_inline(source)}</span>'
            f'<span class="rq-tip-text">{_inline(said)}</span></span>')


def marked_html(text: str, spans: list[tuple[int, int]], cls: str = "rq-hl") -> str:
    out, pos = [], 0
    for s, e in spans:
        out.append(esc(text[pos:s]) + f'<mark class="{cls}">{esc(text[s:e])}</mark>')
        pos = e
    out.append(esc(text[pos:]))
    return "".join(out)


def report_nav(turn_id: str, n: int, numbers: Sequence[int]) -> str:
    """Above a report opened from citation `n` of an answer: the way back to that citation (shown on a
    phone, where the report sits below the chat) and the answer's other citations, cycling."""
    back = f'<a class="rq-back" href="#{anchor(turn_id, n)}">↑ 返回回答</a>'
    if n not in numbers:
        return f'<div class="rq-nav-bar">{back}</div>'
    i = list(numbers).index(n)
    where = f'<span class="rq-nav-pos">引用 [{n}]，共 {len(numbers)} 条</span>'
    if len(numbers) < 2:
        return f'<div class="rq-nav-bar">{back}{where}</div>'
    prev, nxt = numbers[i - 1], numbers[(i + 1) % len(numbers)]
    links = (f'<a class="rq-nav" href="#{anchor(turn_id, prev)}" title="引用 [{prev}]">‹ 上一条引用</a>'
             f'<a class="rq-nav" href="#{anchor(turn_id, nxt)}" title="引用 [{nxt}]">下一条引用 ›</a>')
    return f'<div class="rq-nav-bar">{back}{where}<span class="rq-nav-links">{links}</span></div>'


def _oneline(fragment: str) -> str:
    """Inside a chat message an HTML block must have no blank line (Markdown would end it)."""
    return re.sub(r"\n+", "<br>", fragment)


def pinyin_key(name: str) -> tuple[str, str]:
    """Chinese names in the order a Chinese reader looks for them (本溪, 福州, 济南 … not by code point).
    pypinyin is imported here, not with the module: it costs ~250 ms and ~58 MB, and only sorting needs it."""
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin(name)).lower(), name


def source_line(cit: Citation) -> str:
    """`[n] 《title》·section（第p页）`: where a citation is from, as a footnote starts."""
    section = f"·{cit.section}" if cit.section else ""
    page = f"（第{cit.page}页）" if cit.page else ""
    return f"[{cit.n}] 《{cit.title}》{section}{page}"


def footnote(cit: Citation) -> str:
    return f"{source_line(cit)}：“{cit.text.strip()}”"


def plain_body(answer: Answer) -> str:
    """The answer as text with its [n] (or the error), and the notes it carries."""
    text = answer.error or answer.answer
    if answer.notes:
        text += "\n\n" + "\n".join(answer.notes)
    return text.strip()


def plain_answer(answer: Answer) -> str:
    """What 复制 puts on the clipboard: the answer as text with its [n], then one footnote per citation
    (title, section, the passage): pasted into a memo, every figure can still be checked."""
    text = plain_body(answer)
    if answer.citations:
        text += "\n\n" + "\n".join(footnote(c) for c in answer.citations)
    return text.strip()


def plain_block(text: str) -> str:
    """The plain answer hidden in the message for the copy button: newlines as entities, because the
    message's HTML block may hold no raw newline."""
    return f'<span class="rq-plain">{esc(text).replace(chr(10), "&#10;")}</span>'


def status_html(st: IndexStatus, reports: Sequence[Report]) -> str:
    """索引状态: what the index holds and how answers are made, then every report (title and file)."""
    reports = sorted(reports, key=lambda r: (r.city or "", -(r.year or 0), r.title))
    backend = f"服务器 {st.chroma_url}" if st.backend == "server" else "嵌入式（本地 Chroma）"
    mode = f"大模型（{st.llm_model}）" if st.mode == "llm" else "抽取式（离线，不调用大模型）"
    rows = [("报告", f"{st.reports} 篇"), ("片段", str(st.chunks)), ("文件", str(st.files)),
            ("嵌入模型", f"{st.embedding_model}（{st.dimension} 维）"), ("向量库", backend), ("回答模式", mode)]
    summary = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    body = "".join(
        f'<tr><td>{esc(r.title)}<div class="rq-meta">{esc(r.source)}</div></td><td class="rq-nw">{esc(r.city or "—")}'
        f'</td><td class="rq-nw">{r.year or "—"}</td><td class="rq-nw">{esc(r.type)}</td>'
        f'<td class="rq-nw">{esc(r.date or "—")}</td></tr>' for r in reports
    )
    return (f'<table class="rq-table rq-summary">{summary}</table>'
            f'<table class="rq-table"><tr><th>标题 / 文件</th><th>城市</th><th>年份</th><th>类型</th><th>日期</th></tr>'
            f"{body}</table>")


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


HEADER = ('<div class="rq-header"><h1>报告问答</h1><p>根据已收录的报告（政府工作报告、企业年报、判决书等）回答问题，每个回答都附引用：'
          '指向或点按 [n] 看所引的句子，展开引用条目看原文段落，点“查看原文”打开整篇报告。</p></div>')
FILTER_PLACEHOLDER = "全部（不限）"  # shown by an empty filter dropdown
VIEWER_EMPTY = '<div class="rq-empty">点击引用条目中的“查看原文”，这里会打开整篇报告并定位到该段落。</div>'

# Runs once per page: injects the styles (Gradio 6 takes CSS only at launch) and routes clicks on the
# `[n]` links and "查看原文" links inside chat messages (where no Gradio event can be attached).
BRIDGE_JS = """
if (!document.getElementById('rq-style')) {
  const s = document.createElement('style'); s.id = 'rq-style'; s.textContent = __CSS__; document.head.appendChild(s);
}
window.__rqOpen = (data) => trigger('click', data);
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
  if (el && el.closest('#rq-pop-go')) { e.preventDefault(); const a = pop.anchor; hidePop(); if (a) openCard(a); return; }
  const a = el ? el.closest('a.rq-open, a.rq-cite, a.rq-nav, a.rq-back') : null;
  if (!a) { if (!(el && el.closest('#rq-pop'))) hidePop(); return; }
  e.preventDefault(); e.stopPropagation();
  const id = (a.getAttribute('href') || '').slice(1);
  // 查看原文 names its chunk; its card's id (rq-<turn>-c<n>) names the answer and the citation, so the
  // report view can step through that answer's citations (上一条 / 下一条 name only those)
  const cite = (card) => { const m = /^rq-([0-9a-f]+)-c([0-9]+)$/.exec(card ? card.id : ''); return m ? {turn: m[1], n: +m[2]} : {}; };
  if (a.classList.contains('rq-open')) { window.__rqOpen({chunk: id.slice(__PREFIX_LEN__), ...cite(a.closest('.rq-card'))}); return; }
  if (a.classList.contains('rq-nav')) { window.__rqOpen(cite({id})); return; }
  if (a.classList.contains('rq-back')) {  // a phone: up the page to the citation, after the tap has ended
    setTimeout(() => { if (!openCard(a, 'start')) document.getElementById('rq-chat')?.scrollIntoView({block: 'start'}); }, 30);
    return;
  }
  // a tap shows the cited sentence first (no hover on a phone); a second tap, or a click, opens the card
  if (pointer === 'touch' && !shownAtDown) { showPop(a); return; }
  hidePop(); openCard(a);
}, true);
// [n] popover: one element for the page, filled from the hidden .rq-tip inside the marker
const pop = document.createElement('div');
pop.id = 'rq-pop'; pop.setAttribute('role', 'tooltip'); pop.hidden = true;
document.body.appendChild(pop);
let pointer = 'mouse', shownAtDown = false, hideTimer = 0;
const openCard = (a, jump) => {
  const card = document.getElementById((a.getAttribute('href') || '').slice(1));
  if (!card || card.tagName !== 'DETAILS') return false;
  card.open = true;
  card.scrollIntoView(jump ? {block: jump} : {behavior: 'smooth', block: 'nearest'});
  card.classList.add('rq-flash'); setTimeout(() => card.classList.remove('rq-flash'), 1600);
  return true;
};
const placePop = () => {
  const a = pop.anchor;
  if (!a || !a.isConnected) { hidePop(); return; }
  const r = a.getBoundingClientRect(), w = window.innerWidth, h = window.innerHeight;
  if (r.bottom < 0 || r.top > h) { hidePop(); return; }
  const pw = pop.offsetWidth, ph = pop.offsetHeight;
  pop.style.left = Math.max(8, Math.min(r.left + r.width / 2 - pw / 2, w - pw - 8)) + 'px';
  const below = r.bottom + 6;
  pop.style.top = (below + ph <= h - 8 || r.top - ph - 6 < 8 ? below : r.top - ph - 6) + 'px';
};
const showPop = (a) => {
  const tip = a.querySelector('.rq-tip');
  if (!tip) return;
  clearTimeout(hideTimer);
  if (pop.anchor && pop.anchor !== a) pop.anchor.removeAttribute('aria-describedby');
  pop.replaceChildren(...tip.cloneNode(true).childNodes);
  const go = document.createElement('button');
  go.id = 'rq-pop-go'; go.type = 'button'; go.textContent = '展开引用 ›';
  pop.appendChild(go);
  pop.anchor = a; a.setAttribute('aria-describedby', 'rq-pop');
  pop.hidden = false; placePop();
};
function hidePop() {
  clearTimeout(hideTimer);
  if (pop.anchor) pop.anchor.removeAttribute('aria-describedby');
  pop.anchor = null; pop.hidden = true;
}
const citeOf = (t) => (t instanceof Element ? t.closest('#rq-chat a.rq-cite') : null);
document.addEventListener('pointerdown', (e) => {
  pointer = e.pointerType || 'mouse';
  const a = citeOf(e.target);
  shownAtDown = !!a && !pop.hidden && pop.anchor === a;
}, true);
document.addEventListener('keydown', (e) => {
  pointer = 'key';
  if (e.key === 'Escape' && !pop.hidden) hidePop();
}, true);
document.addEventListener('mouseover', (e) => {
  if (pointer === 'touch') return;
  const a = citeOf(e.target);
  if (a) showPop(a); else if (e.target instanceof Element && e.target.closest('#rq-pop')) clearTimeout(hideTimer);
});
document.addEventListener('mouseout', (e) => {
  if (pointer === 'touch' || pop.hidden) return;
  if (citeOf(e.target) || (e.target instanceof Element && e.target.closest('#rq-pop'))) {
    clearTimeout(hideTimer); hideTimer = setTimeout(hidePop, 250);
  }
});
document.addEventListener('focusin', (e) => { const a = citeOf(e.target); if (a && pointer === 'key') showPop(a); });
document.addEventListener('focusout', (e) => { if (citeOf(e.target) && pointer === 'key') hidePop(); });
document.addEventListener('scroll', () => { if (!pop.hidden) placePop(); }, true);
window.addEventListener('resize', () => { if (!pop.hidden) placePop(); });
// Keep the start of the newest answer in view (Gradio's autoscroll would follow its bottom, past the
// citations), and say in Chinese what the copy button does.
let rqBots = 0, rqWaiting = false;
// an empty filter says what it means (Gradio 6's Dropdown takes no placeholder); none once one is chosen
const rqPlaceholders = () => {
  ['rq-city', 'rq-year', 'rq-period', 'rq-report'].forEach((id) => {
    const box = document.getElementById(id), input = box ? box.querySelector('input[role="combobox"]') : null;
    if (!input) return;
    const text = box.querySelector('.token') ? '' : __FILTER_PLACEHOLDER__;
    if (input.placeholder !== text) input.placeholder = text;
  });
};
const rqTidy = () => {
  rqPlaceholders();
  const chat = document.getElementById('rq-chat');
  if (!chat) return;
  chat.querySelectorAll('button[aria-label="Copy message"]').forEach((b) => {
    b.setAttribute('aria-label', '复制'); b.title = '复制回答（含引用出处）'; b.classList.add('rq-copy');
  });
  chat.querySelectorAll('button[aria-label="Retry"], button[aria-label="重试"]').forEach((b) => {
    b.setAttribute('aria-label', '重新生成'); b.title = '重新生成（同样的问题和筛选，替换这个回答）';
  });
  const bots = chat.querySelectorAll('.message-row.bot-row');
  // a new answer: one more message, or the last one begun anew (重新生成 replaces it in place)
  const waiting = bots.length > 0 && bots[bots.length - 1].textContent.includes('__WAITING__');
  if (bots.length > rqBots || (waiting && !rqWaiting)) {
    const last = bots[bots.length - 1], box = last.closest('.bubble-wrap');
    const user = last.previousElementSibling;
    const target = user && user.classList.contains('user-row') ? user : last;
    if (box) {
      box.scrollTop += target.getBoundingClientRect().top - box.getBoundingClientRect().top - 8;
      const top = box.getBoundingClientRect().top;  // the page scrolled on, to the report view: back up to the chat
      if (top < 0) window.scrollBy(0, top - 8);
    }
  }
  rqBots = bots.length; rqWaiting = waiting;
};
new MutationObserver(rqTidy).observe(document.body, {childList: true, subtree: true});
rqTidy();
"""

VIEWER_JS = """
const go = () => {
  const t = element.querySelector('.rq-target'), box = element.querySelector('.rq-report-body');
  if (!t || !box) return;
  box.scrollTop = Math.max(0, t.offsetTop - box.clientHeight / 3);
  element.scrollIntoView({block: 'nearest'});
};
let timers = [];
const stop = () => { timers.forEach(clearTimeout); timers = []; };
const later = () => { stop(); timers = [60, 300, 800].map((ms) => setTimeout(go, ms)); };
document.addEventListener('pointerdown', stop, true);  // the reader moved on (返回回答): do not pull the page back
document.addEventListener('wheel', stop, true);
watch('value', later);
later();
"""

CSS = """
.rq-header h1 { font-size: 1.5rem; margin: 0; }
.rq-header p, .rq-hint p { margin: .2rem 0 0; color: var(--body-text-color-subdued); font-size: .9em; }
.rq-header p { color: #5b5b66; }  /* the theme's subdued grey is 1.9:1 on white: AA (4.5:1) in both themes */
.dark .rq-header p { color: #a1a1aa; }
.rq-cards { display: flex; flex-direction: column; gap: .3rem; margin-top: .25rem; }
.rq-cards-title { font-weight: 600; font-size: .9em; color: var(--body-text-color-subdued); }
.rq-plain, .rq-tip { display: none; }
#rq-pop { position: fixed; z-index: 1000; max-width: min(360px, calc(100vw - 16px)); padding: .5rem .7rem;
  background: var(--background-fill-primary); color: var(--body-text-color); font-size: 14px; line-height: 1.6;
  border: 1px solid var(--border-color-primary); border-left: 4px solid #f59e0b; border-radius: 8px;
  box-shadow: 0 6px 20px rgba(0, 0, 0, .18); font-family: var(--font); }
#rq-pop[hidden] { display: none; }
#rq-pop .rq-tip-src { display: block; font-size: .8em; color: var(--body-text-color-subdued); margin-bottom: .2rem; }
#rq-pop .rq-tip-text { display: block; }
#rq-pop button { margin-top: .35rem; padding: 0; border: 0; background: none; color: #2563eb; font-size: .85em;
  cursor: pointer; }
.dark #rq-pop { box-shadow: 0 6px 20px rgba(0, 0, 0, .55); }
.dark #rq-pop button { color: #93c5fd; }
.rq-card { border: 1px solid var(--border-color-primary); border-left: 4px solid #2563eb; border-radius: 8px;
  padding: .3rem .75rem; background: var(--background-fill-secondary); font-size: .92em; transition: box-shadow .3s;
  scroll-margin-top: 2.4rem; }  /* clear of the chat's 对话 label when scrolled to */
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
mark.rq-target.rq-soft { background: rgba(253, 230, 138, .28); color: inherit !important; }  /* the passage, lightly */
mark.rq-unverified { background: rgba(220, 38, 38, .1); color: inherit; border-bottom: 2px dashed #dc2626;
  padding: 0 1px; cursor: help; }  /* a number no cited passage states */
.dark mark.rq-unverified { background: rgba(248, 113, 113, .18); border-bottom-color: #f87171; }
.rq-section summary, a.rq-open { cursor: pointer; color: #2563eb; font-size: .85em; text-decoration: none; }
.rq-section > div { max-height: 320px; overflow: auto; padding: .35rem .5rem; line-height: 1.7; }
a.rq-cite { color: #2563eb; text-decoration: none; font-weight: 600; font-size: .85em; }
.rq-foot { font-size: .8em; color: var(--body-text-color-subdued); }
.rq-warn { font-size: .88em; border-left: 3px solid #d97706; background: rgba(217, 119, 6, .08); padding: .3rem .55rem;
  border-radius: 4px; }  /* two reports disagree, a number to check: readable in light and dark */
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
.rq-nav-bar { display: flex; flex-wrap: wrap; align-items: center; gap: .3rem .9rem; margin-bottom: .4rem;
  font-size: .9em; }
.rq-nav-pos { color: var(--body-text-color-subdued); }
.rq-nav-links { display: inline-flex; gap: .9rem; margin-left: auto; }
a.rq-nav, a.rq-back { color: #2563eb; text-decoration: none; white-space: nowrap; }
a.rq-nav:hover, a.rq-back:hover { text-decoration: underline; }
.dark a.rq-nav, .dark a.rq-back { color: #93c5fd; }
a.rq-back { display: none; }
@media (max-width: 768px) {  /* phone: the report opens below the chat, a tap away from the answer */
  a.rq-back { display: inline-block; font-weight: 600; }
  .rq-nav-links { margin-left: 0; }
}
#rq-export { justify-content: flex-end; gap: .5rem; }  /* under 发送 / 新对话: what acts on the whole conversation */
/* the empty chat: what is indexed, from the top (clear of the chat's 对话 label), inset like the examples */
#rq-chat .placeholder { align-items: flex-start; justify-content: flex-start; padding: 1.6rem var(--spacing-xxl) 0; }
#rq-chat .placeholder table { border-collapse: collapse; border: 1px solid var(--border-color-primary);
  margin: .5rem 0 .75rem; font-size: .9em; }
#rq-chat .placeholder table td, #rq-chat .placeholder table th { border: 1px solid var(--border-color-primary);
  padding: .3rem .75rem; text-align: left; }
#rq-chat .placeholder table th { background: var(--neutral-100); font-weight: 600; }
.dark #rq-chat .placeholder table th { background: var(--neutral-700); }
@media (max-width: 600px) {  /* phone: the examples as a compact column, all in view under the overview */
  #rq-chat .placeholder { padding-top: 1.4rem; }
  #rq-chat .placeholder table td, #rq-chat .placeholder table th { padding: .2rem .6rem; }
  #rq-chat .examples { grid-template-columns: 1fr; gap: .4rem; padding: .5rem var(--spacing-xxl) .75rem; }
  #rq-chat .example { padding: .45rem .75rem; }
  #rq-chat .example-text-content { margin-top: 0; }
  #rq-chat .example-text { font-size: .9em; }
}
"""
