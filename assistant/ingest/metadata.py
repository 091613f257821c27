"""Report metadata from the report's own header and text. Unknown stays None: never guessed from a neighbour."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from assistant.ingest.splitting import DATE_LINE, ReportSpan, is_title
from assistant.profiles import ReportProfile, detect_profile
from assistant.records import Document, Report, content_hash

_CN_NUM = "一二三四五六七八九十"
MEETING = re.compile(rf"第[{_CN_NUM}]{{1,4}}届人民代表大会第[{_CN_NUM}]{{1,3}}次会议")
# 发布时间：2025-03-18 / 披露日期：2024年8月27日 — a web page's or a filing's date line
_PUBLISHED = re.compile(r"(?:发布|披露|印发|公布|报告披露)(?:时间|日期)[:：]\s*((?:19|20)\d{2})[年\-/.](\d{1,2})[月\-/.](\d{1,2})")
_SPEAKER = re.compile(r"^(?:(?:市|县|区|州)长|代市长|副市长|[\u4e00-\u9fff]{2,10}(?:委员会|委|局|厅|办公室))(?:[\s\u3000\xa0]*[\u4e00-\u9fff][\s\u3000\xa0]*){0,4}$")



def normalize_city(name: str) -> str:
    """'盘锦市' -> '盘锦' (what users type); districts and counties keep their suffix."""
    if name.endswith("市") and len(name) > 2 and not re.search(r"[区县]", name[:-1]):
        return name[:-1]
    return name


def _first_heading(body: str) -> str | None:
    for line in body.split("\n"):
        line = line.strip(" \u3000\xa0\t")
        if re.match(rf"^(?:[{_CN_NUM}]{{1,3}}、|[（(][{_CN_NUM}]{{1,3}}[）)])", line):
            head = re.split(r"[。；;]", line, maxsplit=1)[0]
            return head[:40]
    return None


def extract_metadata(doc: Document, span: ReportSpan, ordinal: int, forced_profile: str | None = None) -> Report:
    text = doc.text
    header = [text[s:e].strip(" \u3000\xa0\t") for s, e in span.header_lines]
    title_line = next((h for h in header if is_title(h)), None)
    title_at = next((s for (s, e), h in zip(span.header_lines, header, strict=True) if h == title_line), None)
    if title_line:
        title_line = re.sub(r"^#+\s*", "", title_line)  # a Markdown heading's marks are not the title
    date_line = next((h for h in header if DATE_LINE.match(h)), None)
    body = text[span.start : span.end]
    head = body[:3000]

    profile = detect_profile(title_line or _first_line(body), head, forced_profile)
    date = None
    m = DATE_LINE.match(date_line) if date_line else None
    if m is None and title_line:
        m = re.search(r"(\d{4})年(\d{1,2})月(\d{1,2})日", title_line)
    published = None
    if m is None:
        published = _PUBLISHED.search(head[:600])
    g = m or published
    if g is not None:
        date = f"{int(g.group(1)):04d}-{int(g.group(2)):02d}-{int(g.group(3)):02d}"
    year = int(date[:4]) if date and not published else None  # a page is published after the year it tells of
    if year is None and title_line:
        ym = re.match(r"^(\d{4})年度?", title_line)
        if ym and "工作报告" in title_line:
            year = int(ym.group(1))
    title_guess = title_line or _generic_title(body, profile)
    # government reports keep their own rules for untitled fragments (see below); other kinds use the guess
    named = title_line or (None if profile.entity_is_place else title_guess)
    if year is None:
        year = _year_from(profile, title_guess, head[:300])
    if year is None and published and date:
        year = int(date[:4])

    above = text[max(0, span.start - 200) : span.start].strip().split("\n")[-1].strip(" \u3000\xa0\t")
    name_line = _line_before(text, title_at) if title_at is not None else above
    entity_raw = _entity(profile, [date_line, named])
    if entity_raw is None and not profile.entity_is_place:
        entity_raw = _entity(profile, [name_line])  # the name line above a title line (公司名 / 2023年年度报告)
    entity_raw = entity_raw or _entity(profile, [head]) or _frequent_name(profile, head, body)
    if entity_raw is None and profile.content_entity is not None:
        counts = Counter(profile.content_entity.findall(body))
        if counts:
            name, n = counts.most_common(1)[0]
            if n >= 2:
                entity_raw = name
    entity = (normalize_city(entity_raw) if profile.entity_is_place else entity_raw) if entity_raw else None
    city = entity if profile.entity_is_place else None

    meeting_m = MEETING.search(date_line or "") or MEETING.search(head[:600])
    meeting = meeting_m.group() if meeting_m else None

    speaker = None
    if span.header_lines:
        after = text[span.header_lines[-1][1] : span.header_lines[-1][1] + 200]
        for line in after.split("\n")[:5]:
            line = line.strip(" \u3000\xa0\t——-")  # noqa: B005 - a set of indent and dash characters
            if line and _SPEAKER.match(line):
                speaker = re.sub(r"[\s\u3000\xa0]+", " ", line)
                break

    rtype = profile.report_type(named or title_guess or "", head)
    inferred = title_line is None
    if title_line:
        title = title_line
    elif not profile.entity_is_place:
        title = title_guess or Path(doc.source).stem
    elif date_line and entity_raw:
        city_full = entity_raw if entity_raw.endswith(("市", "县", "区")) else entity_raw + "市"
        title = f"{year}年{city_full}{rtype if rtype != '其他' else '报告'}"
    elif ordinal == 0 and (headline := _headline(body, profile)):
        title = headline  # a web page's or an article's own headline
    else:
        heading = _first_heading(body) or body.strip()[:20]
        title = f"{city or ''}报告片段：{heading}（{doc.source}）"
    if not profile.entity_is_place and entity and profile.short_entity(entity) not in title:
        title = f"{entity}{title}"  # 「2021年年度报告」 under the company's name line

    aliases = sorted({m.group(1) for pat in profile.alias_patterns for m in pat.finditer(head)} - {entity})
    report_id = content_hash(body.strip())
    return Report(
        report_id=report_id, source=doc.source, title=title, city=city, year=year, date=date,
        meeting=meeting, type=rtype, speaker=speaker, start=span.start, end=span.end,
        title_inferred=inferred, entity=entity, profile=profile.name, aliases=aliases,
    )


def _line_before(text: str, pos: int) -> str:
    """The non-empty line just above position `pos`."""
    lines = [ln.strip(" \u3000\xa0\t") for ln in text[max(0, pos - 200) : pos].split("\n")]
    return next((ln for ln in reversed(lines) if ln), "")


def _headline(body: str, profile: ReportProfile) -> str | None:
    """The opening line when it reads as a headline: short, no sentence end, not a numbered heading; an
    official document's masthead and number lines are passed over (临溪市人民政府办公室文件)."""
    lines = [re.sub(r"^#+\s*", "", ln.strip(" \u3000\xa0\t")) for ln in body.split("\n") if ln.strip(" \u3000\xa0\t")][:6]
    line = profile.opening_title(lines) or ""
    if 6 <= len(line) <= 60 and not re.search(r"[。；;！!？?：:]", line) and not _first_heading(line):
        return line
    return None


def _first_line(body: str) -> str:
    return next((ln.strip(" \u3000\xa0\t") for ln in body.split("\n") if ln.strip(" \u3000\xa0\t")), "")


def _generic_title(body: str, profile: ReportProfile) -> str:
    """A document without a report title line: its opening short lines up to the one naming its type
    (湄江市西河区人民法院 / 民 事 判 决 书 -> 湄江市西河区人民法院民事判决书), else its first short line."""
    lines = [re.sub(r"[\s\u3000\xa0]+", "", ln) for ln in body.split("\n")]
    lines = [ln.lstrip("#").strip() for ln in lines if ln][:6]
    official = next((ln for ln in lines if any(p.search(ln) for p in profile.title_lines)), None)
    if official:
        return official[:80]  # 关于印发…的通知 under its masthead
    lines = [ln for ln in lines if not any(p.search(ln) for p in profile.masthead)][:4]
    short = []
    for ln in lines:
        if len(ln) > 60 or re.search(r"[。；;！!？?]", ln):
            break
        short.append(ln)
        if any(t.title is not None and t.title.search(ln) for t in profile.types):
            return "".join(short)[:80]
    return short[0][:80] if short else ""


def _year_from(profile: ReportProfile, title: str, head: str) -> int | None:
    rule = profile.time
    for text, patterns in ((title, (*rule.year_patterns, *rule.title_year_patterns)), (head, rule.year_patterns)):
        for pat in patterns:
            m = pat.search(text)
            if m and 1900 <= int(m.group(1)) <= 2100:
                return int(m.group(1))
    return None


def _frequent_name(profile: ReportProfile, head: str, body: str) -> str | None:
    """The organisation the text keeps naming: for each name ending in a profile suffix in the opening,
    the longest form the body repeats (澜川新能源科技股份有限公司, not 指澜川新能源科技股份有限公司)."""
    best: tuple[int, str] | None = None
    for suffix in profile.frequent_suffixes:
        for m in re.finditer(re.escape(suffix), head):
            end = m.end()
            start_min = max(0, m.start() - 30)
            run = re.search(r"[\u4e00-\u9fffA-Za-z0-9（）()·]*$", head[start_min : m.start()])
            stem = run.group() if run else ""
            if len(stem) < 2:
                continue
            base = body.count(head[m.start() - 2 : end])
            name = None
            for size in range(2, len(stem) + 1):
                cand = head[m.start() - size : end]
                if body.count(cand) >= max(2, base // 2):
                    name = cand
            if name and (best is None or body.count(name) > best[0]):
                best = (body.count(name), name)
    return best[1] if best else None


def _entity(profile: ReportProfile, texts: list[str | None]) -> str | None:
    for source_text in filter(None, texts):
        for pat in profile.entity_patterns:
            m = pat.search(source_text)
            if m:
                return m.group(1)
    return None
