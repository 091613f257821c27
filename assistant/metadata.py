"""Report metadata from the report's own header and text. Unknown stays None: never guessed from a neighbour."""

from __future__ import annotations

import re
from collections import Counter

from assistant.records import Document, Report, content_hash
from assistant.splitting import DATE_LINE, ReportSpan, is_title

_CN_NUM = "一二三四五六七八九十"
MEETING = re.compile(rf"第[{_CN_NUM}]{{1,4}}届人民代表大会第[{_CN_NUM}]{{1,3}}次会议")
_PLACE = r"[\u4e00-\u9fff]{1,8}?(?:市|县|区|州|盟|旗)"
_CITY_PATTERNS = [
    re.compile(rf"在({_PLACE})第[{_CN_NUM}]+届"),
    re.compile(rf"^\d{{4}}年度?({_PLACE})(?:人民)?政府"),
    re.compile(rf"^(?:[（(][^）)]{{1,8}}[）)])?({_PLACE})(?:人民)?政府"),
    re.compile(rf"^关于({_PLACE})\d{{4}}年"),
    re.compile(rf"代表({_PLACE})人民政府"),
]
_CONTENT_CITY = re.compile(r"(?:美丽|平安|健康|幸福|法治|数字|智慧|活力|文明)([\u4e00-\u9fff]{2})(?:建设|上|[，,。；;、]|$)")
_SPEAKER = re.compile(r"^(?:(?:市|县|区|州)长|代市长|副市长|[\u4e00-\u9fff]{2,10}(?:委员会|委|局|厅|办公室))(?:[\s\u3000\xa0]*[\u4e00-\u9fff][\s\u3000\xa0]*){0,4}$")

TYPES = ("政府工作报告", "计划执行报告", "预算报告", "其他")


def normalize_city(name: str) -> str:
    """'盘锦市' -> '盘锦' (what users type); districts and counties keep their suffix."""
    if name.endswith("市") and len(name) > 2 and not re.search(r"[区县]", name[:-1]):
        return name[:-1]
    return name


def report_type(title: str, body_head: str) -> str:
    if "政府工作报告" in title or re.search(r"人民政府工作报告", title):
        return "政府工作报告"
    if "预算" in title and "计划" not in title:
        return "预算报告"
    if "计划" in title and ("执行" in title or "草案" in title):
        return "计划执行报告"
    if re.search(r"代表[\u4e00-\u9fff]{0,8}人民政府[，,]?向大会报告", body_head):
        return "政府工作报告"
    return "其他"


def _first_heading(body: str) -> str | None:
    for line in body.split("\n"):
        line = line.strip(" \u3000\xa0\t")
        if re.match(rf"^(?:[{_CN_NUM}]{{1,3}}、|[（(][{_CN_NUM}]{{1,3}}[）)])", line):
            head = re.split(r"[。；;]", line, maxsplit=1)[0]
            return head[:40]
    return None


def extract_metadata(doc: Document, span: ReportSpan, ordinal: int) -> Report:
    text = doc.text
    header = [text[s:e].strip(" \u3000\xa0\t") for s, e in span.header_lines]
    title_line = next((h for h in header if is_title(h)), None)
    date_line = next((h for h in header if DATE_LINE.match(h)), None)
    body = text[span.start : span.end]
    head = body[:3000]

    date = None
    m = DATE_LINE.match(date_line) if date_line else None
    if m is None and title_line:
        m = re.search(r"(\d{4})年(\d{1,2})月(\d{1,2})日", title_line)
    if m:
        date = f"{int(m.group(1)):04d}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"
    year = int(date[:4]) if date else None
    if year is None and title_line:
        ym = re.match(r"^(\d{4})年度?", title_line)
        if ym and "工作报告" in title_line:
            year = int(ym.group(1))

    city_raw = None
    for source_text in filter(None, [date_line, title_line, head]):
        for pat in _CITY_PATTERNS:
            cm = pat.search(source_text)
            if cm:
                city_raw = cm.group(1)
                break
        if city_raw:
            break
    if city_raw is None:
        counts = Counter(_CONTENT_CITY.findall(body))
        if counts:
            name, n = counts.most_common(1)[0]
            if n >= 2:
                city_raw = name
    city = normalize_city(city_raw) if city_raw else None

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

    rtype = report_type(title_line or "", head)
    inferred = title_line is None
    if title_line:
        title = title_line
    elif date_line and city_raw:
        city_full = city_raw if city_raw.endswith(("市", "县", "区")) else city_raw + "市"
        title = f"{year}年{city_full}{rtype if rtype != '其他' else '报告'}"
    else:
        heading = _first_heading(body) or body.strip()[:20]
        title = f"{city or ''}报告片段：{heading}（{doc.source}）"

    report_id = content_hash(body.strip())
    return Report(
        report_id=report_id, source=doc.source, title=title, city=city, year=year, date=date,
        meeting=meeting, type=rtype, speaker=speaker, start=span.start, end=span.end,
        title_inferred=inferred,
    )
