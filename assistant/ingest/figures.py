"""The indicator ledger's extraction: every quantified statement of a chunk as a `Figure` record.

Mechanism only: which words are units, cues of growth, share, estimate and goal, and which words are
not part of an indicator's name come from the report's profile (`[figures]`, see generic.toml). The
year a figure speaks of comes from the chunk's section (a work report of Y reviews Y−1, plans Y) or a
year the sentence opens with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

from assistant.profiles import FigureRules, ReportProfile, get_profile
from assistant.records import Chunk, Figure, content_hash

_SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?]?")
_CLAUSE_BREAK = re.compile(r"[，,；;、：:（）()《》]")  # a quote is part of a name (“专精特新”企业)
# a short bracket inside a name is part of it (因公出国（境）费支出), a heading's number is not (（一）)
_INNER_BRACKET = re.compile(r"[（(](?![一二三四五六七八九十]+[）)])([\u4e00-\u9fff]{1,3})[）)](?=[\u4e00-\u9fff])")
# 比上年的1,354.80万元: the figure of the year before, stated beside this year's
_LAST_YEARS = re.compile(r"(?:^\s*|比|较)(?:上年|去年|上年度)(?:同期)?(?:的|为|是)\s*$")  # not 为上年的108%
_ITEM = r"\s*(?:\d{1,2}[.．、]|[（(]\d{1,2}[)）]|[①-⑩])\s*"  # 1. / （2） / ③ before a list item's name


def _clause_start(sent: str, begin: int, end: int) -> int:
    """Where the clause that ends at `end` begins (not before `begin`)."""
    masked = _INNER_BRACKET.sub(lambda m: "_" * len(m.group(0)), sent[:end])
    return max([begin, *(b.end() for b in _CLAUSE_BREAK.finditer(masked))])
_SEGMENT_LABEL = re.compile(r"^\s*(?P<item>\d{1,2}[.．、]|[（(]\d{1,2}[)）]|[①-⑩]|[一二三四五六七八九十]{1,2}、)?\s*"
                            r"(?P<label>[^\d：:，,。；;、（）()]{2,12})[：:]")
_LEADING_YEAR = re.compile(r"^(?:截至|截止|到)?((?:19|20)\d{2})年(?:底|末|全年)?[，,]?")
_NUMBER = r"(\d+(?:,\d{3})*(?:\.\d+)?)"
_RANGE_SEP = r"\s*(?:%|％)?\s*(?:-|—|–|~|～|至|到)\s*"


@dataclass(frozen=True)
class Grammar:
    """A profile's figure rules compiled once: the figure pattern and word lists."""

    rules: FigureRules
    figure: re.Pattern[str]
    indicators: tuple[tuple[str, str], ...]  # (the words, the indicator they name), longest first
    lead: re.Pattern[str]
    trail: re.Pattern[str]


@lru_cache(maxsize=16)
def grammar(profile_name: str) -> Grammar:
    profile = get_profile(profile_name)
    r = profile.figures
    units = sorted({*r.percent_units, *r.amount_units, *r.count_units}, key=len, reverse=True)
    inside = "|".join(map(re.escape, r.qualifiers_inside)) or "(?!)"
    after = "|".join(map(re.escape, r.qualifiers_after)) or "(?!)"
    figure = re.compile(
        rf"(?<![\dA-Za-z.．第])(?P<num>{_NUMBER[1:-1]})(?:{_RANGE_SEP}(?P<high>{_NUMBER[1:-1]}))?"
        rf"(?P<inside>{inside})?\s*(?P<unit>{'|'.join(map(re.escape, units))})(?![A-Za-z])(?P<after>{after})?"
    )
    names: dict[str, str] = {i: i for i in profile.indicators}
    for short, full in profile.synonyms.items():
        if len(short) > 1 and full in names:  # abbreviations of indicators, not wording (增速 = 增长)
            names[short] = full
    words = sorted({*r.verbs, *r.qualifiers_before}, key=len, reverse=True)
    lead = re.compile(rf"^(?:{_ITEM}|(?:到|截至|截止|至)?(?:19|20)\d{{2}}年(?:度|底|末)?|{'|'.join(map(re.escape, sorted(r.lead_words, key=len, reverse=True))) or '(?!)'})+")
    trail = re.compile(rf"(?:{'|'.join(map(re.escape, words)) or '(?!)'}|了|的|到|至|在|保持|提高|提升|增加|降低|下降|减少)+$")
    return Grammar(r, figure, tuple(sorted(names.items(), key=lambda kv: -len(kv[0]))), lead, trail)


def extract_figures(chunk: Chunk, profile: ReportProfile | None = None) -> list[Figure]:
    """Every figure stated in the chunk, in text order, with offsets into the source document."""
    g = grammar((profile or get_profile(chunk.profile)).name)
    out: list[Figure] = []
    unit_line = ""  # 单位：亿元 above a table: the unit of its bare numbers
    captioned: int | None = None  # 关键绩效表（2023年） above the lines it captions, under a 2024 heading
    last_end = 0
    for line in re.finditer(r"[^\n]+", chunk.text):
        if "\n\n" in chunk.text[last_end : line.start()]:
            captioned = None  # a blank line ends what a caption stands over
        last_end = line.end()
        stated = _UNIT_LINE.fullmatch(line.group(0).strip())
        if stated:
            unit_line = stated.group("unit")
            continue
        year = caption_year(line.group(0).strip())
        if year is not None:
            captioned = year
            continue
        cells = _table_figures(chunk, g, line.group(0), line.start(), unit_line)
        if cells is None:
            cells = [f for s in _SENTENCE.finditer(line.group(0))
                     for f in _sentence_figures(chunk, g, s.group(0), line.start() + s.start())]
        if captioned is not None:
            cells = [replace(f, period=captioned) if f.period == chunk.period else f for f in cells]
        out.extend(cells)
    return out


_CAPTION_YEAR = re.compile(r"[（(]((?:19|20)\d{2})\s*年度?[）)]$")


def caption_year(line: str) -> int | None:
    """The year of a caption: a short line naming one year and stating nothing (关键绩效表（2023年）,
    三、合并利润表摘要（2022年度））; the lines under it speak of that year."""
    m = _CAPTION_YEAR.search(line)
    if m and len(line) <= 40 and not re.search(r"[。；;，,：:！？\d]", line[: m.start()]):
        return int(m.group(1))  # 研发投入12.3亿元（2023年） states a figure: no caption
    return None


_CELL = re.compile(r"(?P<name>(?:[（(][^）)；\n]{0,12}[)）]|[^：；\n（(]){1,30})：(?P<value>[^；\n]*)")
_YEAR_WORDS = re.compile(r"((?:19|20)\d{2})\s*年?")
_UNIT_LINE = re.compile(r"[（(]?(?:金额)?单位[：:]\s*(?P<unit>[^\s（）()，,；;]{1,6})[)）]?")
_UNIT_NOTE = re.compile(r"[（(](?:单位[：:])?(?P<unit>[^（）()]{1,8})[)）]")
_PREVIOUS_COLUMN = re.compile(r"上年同期|上年|上年度|上期|去年同期|上年末|期初")


def _table_figures(chunk: Chunk, g: Grammar, line: str, at: int, unit_line: str = "") -> list[Figure] | None:
    """A table row as the PDF/DOCX readers write it (指标：地区生产总值；2024年：1234亿元；增长：5%): each value
    is a figure of the row's name under its column's header (a year, or what it measures). None: no row."""
    cells = [m for m in _CELL.finditer(line)]
    if len(cells) < 2 or ";".join(m.group(0) for m in cells).count(";") != len(cells) - 1 \
            or sum(len(m.group(0)) for m in cells) + len(cells) - 1 < len(line.strip()) - 2:
        return None
    first = cells[0].group("value").strip()
    if re.search(r"\d", first) and not _YEAR_WORDS.fullmatch(first):
        return None  # a row names a thing or a year first; 合同金额：386,400元；… is a list of facts
    row_year = _YEAR_WORDS.fullmatch(first)
    row_unit = _UNIT_NOTE.search(first) or _UNIT_NOTE.search(cells[0].group("name"))
    r = g.rules
    units = {*r.percent_units, *r.amount_units, *r.count_units}
    # a column without a year (增长（%）, 本期比上年同期增减) speaks of the row's latest year
    years = [int(y.group(1)) for c in cells[1:] if (y := _YEAR_WORDS.search(c.group("name")))]
    latest = max(years) if years else chunk.period
    if latest is None and get_profile(chunk.profile).states_its_year(chunk.type):
        latest = chunk.year
    out: list[Figure] = []
    for cell in cells[1:]:
        header, value = cell.group("name").strip(), cell.group("value").strip()
        num = re.fullmatch(r"(-?\d+(?:,\d{3})*(?:\.\d+)?)\s*(\S*)", value)
        if num is None:
            continue
        noted = [u.group("unit") for u in (_UNIT_NOTE.search(header), row_unit) if u] + [unit_line]
        unit = num.group(2) or next((u for u in noted if u in units), "")  # （上年同期） is no unit
        if unit not in units:
            continue
        year = _YEAR_WORDS.search(header)
        earlier = _PREVIOUS_COLUMN.fullmatch(_UNIT_NOTE.sub("", header).strip())  # 上年同期: the year before
        name = _UNIT_NOTE.sub("", header if row_year else first).strip()
        what = "" if row_year else _UNIT_NOTE.sub("", _YEAR_WORDS.sub("", header)).strip()
        # the column says what is measured (增长（%）, 本期比上年同期增减), else the row (研发投入占营业收入的比例)
        measure, _, decline = _measure(r, what or name, unit)
        if measure == "growth" and not what:
            measure = "level"  # a row named 地区生产总值增长 holds growth figures only under a growth column
        base_unit, scale = base_of(r, unit)
        number = float(num.group(1).replace(",", ""))
        if decline:
            number = -number
        start = at + cell.start("value") + (len(cell.group("value")) - len(cell.group("value").lstrip()))
        end = start + len(value)
        period = (int(row_year.group(1)) if row_year else int(year.group(1)) if year
                  else latest - 1 if earlier and latest is not None else latest)
        out.append(Figure(
            figure_id=content_hash(chunk.chunk_id, str(start), "cell"), chunk_id=chunk.chunk_id,
            report_id=chunk.report_id, source=chunk.source, entity=chunk.entity, indicator=_canonical(g, name), raw=name,
            measure=measure, value=number, unit=unit, base_value=round(number * scale, 6), base_unit=base_unit,
            qualifier="", kind=_kind(chunk, r, header), period=period, start=chunk.start + start, end=chunk.start + end,
            text=chunk.text[start:end], value_text=value if num.group(2) else f"{value}{unit}", section=chunk.section_path,
            title=chunk.title, year=chunk.year,
        ))
    return out


def _sentence_figures(chunk: Chunk, g: Grammar, sent: str, at: int) -> list[Figure]:
    r = g.rules
    lead_year = _LEADING_YEAR.match(sent.strip())
    period = int(lead_year.group(1)) if lead_year else chunk.period
    if period is None and get_profile(chunk.profile).states_its_year(chunk.type):
        period = chunk.year
    out: list[Figure] = []
    carry: tuple[str, str, str] | None = None  # the indicator the sentence speaks of, and its base unit
    # (一般公共预算收入x亿元，增长y%: the growth is the revenue's; 473户 after 退税40.3亿元 is not the refund's)
    respectively: list[str] = []  # the names a 分别 gives its figures to, in order
    nth = 0
    seg_start = 0  # where the words that may name the next figure begin
    last_counted = ""  # the thing the last count counted, written after it
    for m in _figure_matches(g, sent):
        if is_part_of_name(sent, m):
            continue
        clause_start = _clause_start(sent, seg_start, m.start())
        prefix = sent[clause_start : m.start()]
        seg_start = m.end()
        unit = m.group("unit")
        value = float(m.group("num").replace(",", ""))
        if re.search(r"(?:高|低)于[\u4e00-\u9fff]{0,6}$", prefix) and out:
            # 增长8.3%、高于全省2.8个百分点: how the figure before compares, not a figure of its own
            said = f"{prefix.strip()}{m.group(0)}".lstrip("、，, ")
            out[-1] = replace(out[-1], basis=f"{out[-1].basis}，{said}" if out[-1].basis else said)
            continue
        joined = not prefix.strip(" 和及与、") and out and out[-1].end - chunk.start - at >= m.start() - 2
        if joined and out[-1].unit == unit:
            # 分别增长5.5%左右、6.5%以上: the next figure of the same list, of the same measure
            prev = out[-1]
            measure, cue_at, decline = prev.measure, None, prev.value < 0 and unit == prev.unit
        else:
            measure, cue_at, decline = _measure(r, prefix, unit)
        words = prefix[:cue_at] if cue_at is not None else prefix
        raw, name_at = _indicator(g, words)
        if raw in r.name_tails and not words[: name_at or 0].strip():
            raw = _subject_before(g, sent[:clause_start], raw) or raw  # 粮食生产再获丰收，产量达到…: 粮食产量
        base_unit, scale = base_of(r, unit)
        if raw and re.sub(r"[和及与、]$", "", prefix.strip()) == last_counted:
            raw, name_at = "", None  # 11个老旧小区改造工程和8个道路工程: the words before are the last count's
        if raw and unit in r.count_units and re.search(r"等等?\s*$", words):
            raw, name_at = "", None  # 金发生物基一期等230个续建项目: the names before 等 are examples of what is counted
        counted = _counted_after(g, sent, m) if (not raw or raw in r.name_stops) and unit in r.count_units else ""
        if counted and raw:  # 实施4个自备电厂节能改造: the verb alone names nothing
            raw, name_at = "", None
        if counted:
            seg_start = m.end() + len(counted)  # the counted thing names no later figure
        last_counted = counted
        if "分别" in prefix or (joined and respectively):
            # 城镇、农村居民人均可支配收入分别达58031元、28650元: the n-th figure is the n-th name's
            if "分别" in prefix:
                respectively = _respective_names(g, sent[: clause_start + prefix.index("分别")]) or respectively
                nth = 0
            else:
                nth += 1
            if respectively and nth < len(respectively):
                raw, name_at = respectively[nth], None
        elif raw:
            respectively = []
        if raw:
            carry = (raw, _canonical(g, raw), "" if unit in r.percent_units else base_unit)
        elif counted:
            raw = counted
        elif not prefix.strip() and re.search(r"[：:]\s*$", sent[:clause_start]):
            # 营业收入：18.36亿元 — the label before the colon names the figure
            label = re.split(r"[，,；;。：:、]", sent[:clause_start].rstrip()[:-1])[-1]
            raw, label_at = _indicator(g, label)
            if raw:
                name_at = (label_at or 0) - (clause_start - (sent[:clause_start].rstrip()[:-1].rfind(label)))
                carry = (raw, _canonical(g, raw), "" if unit in r.percent_units else base_unit)
        elif carry is not None:
            name_at = None
            if carry[2] and unit not in r.percent_units and unit != "倍" and carry[2] != base_unit:
                carry = None
        span_start = clause_start + (name_at if name_at is not None else (cue_at if cue_at is not None else len(prefix)))
        raw_name, indicator = (raw, _canonical(g, raw)) if raw else (carry[:2] if carry else ("", ""))
        if decline:
            value = -value
        high = float(m.group("high").replace(",", "")) if m.group("high") else None
        tail = re.match(r"[\u4e00-\u9fff/]{1,8}(?=[，,；;。、）)]|$)", sent[m.end():])
        end = m.end() + (len(tail.group(0)) if tail and m.group("unit") in r.count_units | r.amount_units
                         and not re.match(r"(?:的|和|及|与|以|增|下|同|比|较|占)", tail.group(0)) else 0)
        end = max(end, m.end() + len(counted))
        text_start, text_end = at + span_start, at + end  # 11.13万吨二氧化碳当量: the unit's own words
        qualifier = m.group("after") or m.group("inside") or _before_qualifier(r, prefix)
        before = sent[: m.start()]
        out.append(Figure(
            figure_id=content_hash(chunk.chunk_id, str(text_start)), chunk_id=chunk.chunk_id,
            report_id=chunk.report_id, source=chunk.source, entity=chunk.entity, indicator=indicator, raw=raw_name,
            measure=measure, value=value, unit=unit, base_value=round(value * scale, 6), base_unit=base_unit,
            qualifier=qualifier or "", kind=_kind(chunk, r, before),
            period=_clause_year(prefix) or (period - 1 if period and measure in ("level", "count")
                                             and unit not in r.percent_units and unit != "倍" and _LAST_YEARS.search(prefix)
                                             else period),
            basis=_basis(r, prefix) if measure == "growth" else "",
            start=chunk.start + text_start, end=chunk.start + text_end, text=chunk.text[text_start:text_end],
            value_text=sent[m.start() : end].strip(), value_high=high, section=chunk.section_path,
            title=chunk.title, year=chunk.year,
        ))
    for m in (g.rules.rank_pattern.finditer(sent) if g.rules.rank_pattern else ()):
        named = [f for f in out if f.indicator and f.measure != "rank" and f.start < chunk.start + at + m.start()]
        out.append(_rank(chunk, g, sent, at, m, period, max(named, key=lambda f: f.start) if named else None))
    label = _SEGMENT_LABEL.match(sent)
    if label and label.group("label") not in r.lead_words and (label.group("item") or _segment_list(chunk.text, sent[label.end():], out)):
        # 1. 储能电池系统：营业收入31.42亿元 and 液态奶：营业收入58.36亿元 are the segment's revenue, not the company's
        out = [replace(f, raw=label.group("label") + f.raw, indicator=label.group("label") + f.indicator)
               if f.raw and label.group("label") not in f.raw else f for f in out]
    out.sort(key=lambda f: f.start)
    return out


def _segment_list(text: str, after: str, figures: list[Figure]) -> bool:
    """A line's label without an item number names a segment when the figure's name follows its colon at
    once and at least one other line of the passage is labelled the same way (液态奶：营业收入58.36亿元 /
    奶粉：营业收入14.92亿元): a list of parts, not one heading (经营情况：营业收入86.47亿元) or the name itself."""
    after = after.lstrip()
    raw = next((f.raw for f in figures if f.raw and after.startswith(f.raw)), "")
    if not raw:
        return False
    lines = re.findall(rf"^\s*[^\d：:，,。；;、（）()\n]{{2,12}}[：:]\s*{re.escape(raw)}", text, re.M)
    return len(set(lines)) >= 2


def base_of(rules: FigureRules, unit: str) -> tuple[str, float]:
    """(base unit, scale) of a unit, as the ledger normalises it (万元 -> 亿元 × 0.0001, ％ -> %)."""
    if unit in ("个百分点", "百分点"):
        return "个百分点", 1.0
    if unit in ("%", "％"):
        return "%", 1.0
    return rules.amount_units.get(unit) or rules.count_units.get(unit) or (unit, 1.0)


def is_part_of_name(sent: str, m: re.Match[str]) -> bool:
    """5G基站 and G15 are names; 1号线 has no unit; a number inside a date or code is no figure."""
    after = sent[m.end() : m.end() + 1]
    return (bool(re.match(r"[A-Za-z级]", after))  # 5G, 30万吨级码头
            or m.group("unit") == "次" and sent[max(0, m.start() - 1) : m.start()] == "第")


def _counted_after(g: Grammar, sent: str, m: re.Match[str]) -> str:
    """The thing a count with no name before it counts, written after it: 473户市场主体办理… -> 市场主体;
    5个经济区(园区)固定资产投资… -> 经济区(园区) (a known indicator begins the next statement)."""
    words = re.match(r"[\u4e00-\u9fff“”\"（）()A-Za-z]*", sent[m.end() :])
    tail = words.group(0) if words else ""
    cut = len(tail)
    for stop in g.rules.name_stops:
        pos = tail.find(stop)
        if 0 < pos < cut:
            cut = pos
    for name in [n for n, _ in g.indicators] + ["“", "\""]:  # a known indicator or a quote opens the next phrase
        pos = tail.find(name)
        if 0 < pos < cut:
            cut = pos
    tail = re.split(r"[和及与、]", tail[:cut])[0]  # 11个老旧小区改造工程和8个道路工程
    tail = re.sub(r"的$", "", tail)[:16]
    return tail if len(tail) >= 2 and re.match(r"[\u4e00-\u9fff“]", tail) else ""


def _subject_before(g: Grammar, before: str, tail: str) -> str:
    """A bare measure word (产量, 收入) names the previous clause's subject's figure when a known indicator
    is that subject with the word: 粮食生产再获丰收,产量达到6.72亿斤 -> 粮食产量. "" when none is."""
    if not re.search(r"[，,]\s*$", before):
        return ""
    clause = re.split(r"[，,；;。：:]", before.rstrip()[:-1])[-1]
    lead = g.lead.match(clause)
    clause = clause[lead.end() :] if lead else clause
    return next((_canonical(g, name) for name, _ in g.indicators
                 if name.endswith(tail) and len(name) > len(tail) and clause.startswith(name[: -len(tail)])), "")


def _basis(r: FigureRules, words: str) -> str:
    """同比 / 比上年 in the words before a growth figure: what it is measured against."""
    m = r.basis_pattern.search(words) if r.basis_pattern else None
    return m.group(0) if m else ""


_CN_PERCENT = re.compile(r"百分之(?P<cn>[零〇一二两三四五六七八九十百]+(?:点[零〇一二三四五六七八九]+)?)")


class _WordsMatch:
    """百分之二十六 read as 26%: the parts of a figure match the loop reads, for a figure written in words."""

    def __init__(self, m: re.Match[str]):
        self._m, self._num = m, _format_number(chinese_number(m.group("cn")))

    def group(self, name: int | str = 0) -> str | None:
        return {0: self._m.group(0), "num": self._num, "unit": "%"}.get(name)

    def start(self, name: int | str = 0) -> int:
        return self._m.start()

    def end(self, name: int | str = 0) -> int:
        return self._m.end()


def _figure_matches(g: Grammar, sent: str) -> list:
    """The figures of a sentence in text order: written in digits, and percentages written in words."""
    found: list = list(g.figure.finditer(sent))
    if "百分之" in sent:
        found += [_WordsMatch(m) for m in _CN_PERCENT.finditer(sent)]
        found.sort(key=lambda m: m.start())
    return found


def _format_number(x: float) -> str:
    return f"{x:.6f}".rstrip("0").rstrip(".")


def _clause_year(words: str) -> int | None:
    """到2024年末存栏奶牛达到7.5万头: the year the figure's own clause dates it to (not 比2023年, a basis)."""
    m = re.search(r"(?:到|截至|截止)((?:19|20)\d{2})年(?:底|末)?|((?:19|20)\d{2})年(?:底|末)", words)
    return int(m.group(1) or m.group(2)) if m else None


def _respective_names(g: Grammar, before: str) -> list[str]:
    """The names before 分别, each made whole: 城镇、农村居民人均可支配收入 -> 城镇居民人均可支配收入,
    农村居民人均可支配收入 (the shared tail is the known indicator the last name ends with)."""
    joint = re.split(r"[，,；;：:。]", before)[-1]
    lead = g.lead.match(joint)
    joint = joint[lead.end() :] if lead else joint
    names = [n for n in re.split(r"[、和及与]", joint) if n]
    if len(names) == 1:  # 城乡居民人均可支配收入分别增长5%、6%
        head = next((h for h in g.rules.respective_heads if names[0].startswith(h) and len(names[0]) > len(h)), None)
        return [h + names[0][len(head):] for h in g.rules.respective_heads[head]] if head else []
    if len(names) < 2:
        return []
    last = names[-1]
    tails = [name for name, _ in g.indicators] + sorted(g.rules.name_tails, key=len, reverse=True)
    tail = next((t for t in tails if last.endswith(t) and len(t) < len(last)), None)
    if tail is None:  # 废钢、铁精粉、备品备件分别增长…: names of their own
        return names
    # the last name's head is as long as the others' (城镇、农村常住居民… -> 城镇常住居民…)
    head_len = min(len(last) - len(tail), *(len(n) for n in names[:-1]))
    shared = last[head_len:]
    return [n if n.endswith(shared) or n.endswith(tail) else n + shared for n in names]


def _measure(r: FigureRules, prefix: str, unit: str) -> tuple[str, int | None, bool]:
    """(measure, where its cue word starts in `prefix`, a decline?) read from the words before the figure."""
    tail = prefix.rstrip()
    for q in sorted(r.qualifiers_before, key=len, reverse=True):
        if tail.endswith(q):
            tail = tail[: -len(q)]
            break
    tail = re.sub(rf"(?:{'|'.join(map(re.escape, sorted(r.verbs, key=len, reverse=True)))}|了|为|到)+$", "", tail) if r.verbs else tail
    percent = unit in r.percent_units or unit == "倍"
    if re.search(r"(?:到|至)$", prefix.rstrip()) and unit != "个百分点":
        percent = percent and not any(re.search(f"{c}(?:到|至)$", prefix.rstrip()) for c in r.growth_cues + r.decline_cues)
        if not percent:  # 提高到93.7%: raised to a level, not grown by it
            return ("level" if unit not in r.count_units else "count"), None, False
    for cue in sorted((*r.decline_cues, *r.growth_cues), key=len, reverse=True):
        if tail.endswith(cue) and (percent or unit == "倍"):
            return "growth", len(tail) - len(cue), cue in r.decline_cues
    if percent:
        for cue in r.share_cues:
            pos = prefix.rfind(cue)
            if pos >= 0 and len(prefix) - pos <= 16:
                return "share", None, False
        return "level", None, False
    if unit in r.count_units:
        return "count", None, False
    return "level", None, False


def _indicator(g: Grammar, words: str) -> tuple[str, int | None]:
    """(the indicator's name as written, where it starts in `words`): a known indicator when one is
    written there, else the words left after the lead words and verbs are taken off."""
    best: tuple[int, str] | None = None
    for name, _ in g.indicators:
        pos = words.rfind(name)
        if pos >= 0 and (best is None or pos + len(name) > best[0] + len(best[1])):
            best = (pos, name)
    if best is not None:
        pos, name = best
        # the words that qualify the indicator (规上工业增加值, 城镇居民人均可支配收入) stay with it
        head = re.search(r"[\u4e00-\u9fffA-Za-z]*$", words[:pos])
        lead = g.lead.match(head.group(0)) if head else None
        start = (head.start() + (lead.end() if lead else 0)) if head else pos
        end = pos + len(name)
        rest = g.trail.sub("", words[end:].rstrip())
        if re.fullmatch(r"[\u4e00-\u9fff]{1,6}", rest) and not g.lead.match(rest):
            end += len(rest)  # 单位地区生产总值能耗: the known name is part of a longer one
        raw = words[start:end]
        return (raw if len(raw) <= end - pos + 6 else words[pos:end]), (start if len(raw) <= end - pos + 6 else pos)
    cleaned = g.trail.sub("", words.rstrip())
    lead = g.lead.match(cleaned)
    start = lead.end() if lead else 0
    raw = cleaned[start:].strip()
    if len(raw) > 16:
        start += len(raw) - 16
        raw = raw[-16:]
    if len(raw) < 2 or not re.search(r"[\u4e00-\u9fffA-Za-z]", raw):
        return "", None
    return raw, start + (len(words) - len(words.lstrip()) if not lead else 0)


def _canonical(g: Grammar, raw: str) -> str:
    """GDP, 生产总值 -> 地区生产总值; a longer name (城镇登记失业率) stays as written."""
    return dict(g.indicators).get(raw, raw)


def _before_qualifier(r: FigureRules, prefix: str) -> str:
    tail = prefix.rstrip()
    return next((q for q in sorted(r.qualifiers_before, key=len, reverse=True) if tail.endswith(q)), "")


def _kind(chunk: Chunk, r: FigureRules, before: str) -> str:
    """actual / expected / target. In a work report's review section a figure is a result (预计: an
    estimate); in its plan section a goal; elsewhere the sentence's cue words decide."""
    if any(c in before for c in r.expected_cues):
        return "expected"
    rule = get_profile(chunk.profile).time
    if rule.report_period == "sections" and chunk.period is not None and chunk.year is not None:
        if chunk.period < chunk.year:
            return "actual"
        if chunk.period == chunk.year:
            return "target"
    strong = [c for c in r.target_cues if len(c) > 1]
    if any(c in before for c in strong):
        return "target"
    return "actual"


def _rank(chunk: Chunk, g: Grammar, sent: str, at: int, m: re.Match[str], period: int | None,
          before: Figure | None) -> Figure:
    """第5, 前3: a rank of the indicator named before it, or of the figure before it in the sentence
    (一般公共预算收入121.4亿元，位居全省第5)."""
    clause_start = _clause_start(sent, 0, m.start())
    raw, name_at = _indicator(g, sent[clause_start : m.start()])
    start = at + clause_start + (name_at or 0 if raw else m.start() - clause_start)
    indicator = _canonical(g, raw) if raw else ""
    if not raw and before is not None:
        raw, indicator = before.raw, before.indicator
    value = float(m.group(1)) if m.group(1).isdigit() else chinese_number(m.group(1))
    unit = m.group(2) or ""
    return Figure(
        figure_id=content_hash(chunk.chunk_id, str(start), "rank"), chunk_id=chunk.chunk_id, report_id=chunk.report_id,
        source=chunk.source, entity=chunk.entity, indicator=indicator, raw=raw, measure="rank",
        value=value, unit=unit, base_value=value, base_unit="位", qualifier="", kind=_kind(chunk, g.rules, sent[: m.start()]),
        period=period, start=chunk.start + start, end=chunk.start + at + m.end(), text=chunk.text[start : at + m.end()],
        value_text=m.group(0), section=chunk.section_path, title=chunk.title, year=chunk.year,
    )


def chinese_number(words: str) -> float:
    """一 … 九百九十九点九九, as ranks, percentages and spans of years are written (全国第一, 百分之二十六,
    十二点五, 近两年)."""
    digits = "零一二三四五六七八九"
    whole, _, frac = words.replace("〇", "零").replace("两", "二").partition("点")
    value = 0
    if "百" in whole:
        hundreds, _, whole = whole.partition("百")
        value += (max(digits.find(hundreds), 0) if hundreds else 1) * 100
        whole = whole.lstrip("零")
    if "十" in whole:
        tens, _, ones = whole.partition("十")
        value += (max(digits.find(tens), 0) if tens else 1) * 10 + (max(digits.find(ones), 0) if ones else 0)
    elif whole:
        value += max(digits.find(whole), 0)
    return value + (float("0." + "".join(str(digits.find(c)) for c in frac)) if frac else 0.0)


def ledger_stamp() -> str:
    """The extraction rules' version: this module and the profiles. Other rules, other figures."""
    from pathlib import Path

    from assistant.profiles import PROFILE_DIR

    files = [Path(__file__), *sorted(PROFILE_DIR.glob("*.toml"))]
    return content_hash(*(f.read_text(encoding="utf-8") for f in files))


def figure_rows(chunks: list[Chunk]) -> list[tuple[str, list[dict]]]:
    """(chunk id, its figures as plain dicts) for the ledger table."""
    return [(c.chunk_id, [f.to_dict() for f in extract_figures(c)]) for c in chunks]
