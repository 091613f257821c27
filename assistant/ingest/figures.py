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
_CLAUSE_BREAK = re.compile(r"[，,；;、：:（）()“”\"《》]")
_LEADING_YEAR = re.compile(r"^(?:截至|截止|到)?((?:19|20)\d{2})年(?:底|末|全年)?[，,]?")
_NUMBER = r"(\d+(?:,\d{3})*(?:\.\d+)?)"
_RANGE_SEP = r"\s*(?:%|％)?\s*(?:-|—|–|~|～|至|到)\s*"


@dataclass(frozen=True)
class _Grammar:
    """A profile's figure rules compiled once: the figure pattern and word lists."""

    rules: FigureRules
    figure: re.Pattern[str]
    indicators: tuple[tuple[str, str], ...]  # (the words, the indicator they name), longest first
    lead: re.Pattern[str]
    trail: re.Pattern[str]


@lru_cache(maxsize=16)
def _grammar(profile_name: str) -> _Grammar:
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
    lead = re.compile(rf"^(?:(?:19|20)\d{{2}}年(?:底|末)?|{'|'.join(map(re.escape, sorted(r.lead_words, key=len, reverse=True))) or '(?!)'})+")
    trail = re.compile(rf"(?:{'|'.join(map(re.escape, words)) or '(?!)'}|了|的|到|至|在|保持|提高|提升|增加|降低|下降|减少)+$")
    return _Grammar(r, figure, tuple(sorted(names.items(), key=lambda kv: -len(kv[0]))), lead, trail)


def extract_figures(chunk: Chunk, profile: ReportProfile | None = None) -> list[Figure]:
    """Every figure stated in the chunk, in text order, with offsets into the source document."""
    g = _grammar((profile or get_profile(chunk.profile)).name)
    out: list[Figure] = []
    for s in _SENTENCE.finditer(chunk.text):
        out.extend(_sentence_figures(chunk, g, s.group(0), s.start()))
    return out


def _sentence_figures(chunk: Chunk, g: _Grammar, sent: str, at: int) -> list[Figure]:
    r = g.rules
    lead_year = _LEADING_YEAR.match(sent.strip())
    period = int(lead_year.group(1)) if lead_year else chunk.period
    if period is None and get_profile(chunk.profile).time.report_period == "year":
        period = chunk.year
    out: list[Figure] = []
    carry: tuple[str, str] | None = None  # the indicator the sentence is speaking of (一般公共预算收入x亿元，增长y%)
    respectively: list[str] = []  # the names a 分别 gives its figures to, in order
    nth = 0
    seg_start = 0  # where the words that may name the next figure begin
    for m in g.figure.finditer(sent):
        if _is_part_of_name(sent, m):
            continue
        clause_start = max([seg_start, *(b.end() for b in _CLAUSE_BREAK.finditer(sent, 0, m.start()))])
        prefix = sent[clause_start : m.start()]
        seg_start = m.end()
        unit = m.group("unit")
        value = float(m.group("num").replace(",", ""))
        if re.search(r"(?:高|低)于[\u4e00-\u9fff]{0,6}$", prefix) and out:
            # 增长8.3%、高于全省2.8个百分点: how the figure before compares, not a figure of its own
            out[-1] = replace(out[-1], basis=f"{prefix.strip()}{m.group(0)}".lstrip("、，, "))
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
            carry = (raw, _canonical(g, raw))
        elif carry is not None:
            name_at = None
        span_start = clause_start + (name_at if name_at is not None else (cue_at if cue_at is not None else len(prefix)))
        raw_name, indicator = (raw, _canonical(g, raw)) if raw else (carry or ("", ""))
        base_unit, scale = r.amount_units.get(unit) or r.count_units.get(unit) or (unit, 1.0)
        if unit in ("个百分点", "百分点"):
            base_unit = "个百分点"
        if decline:
            value = -value
        high = float(m.group("high").replace(",", "")) if m.group("high") else None
        tail = re.match(r"[\u4e00-\u9fff/]{1,8}(?=[，,；;。、）)]|$)", sent[m.end():])
        end = m.end() + (len(tail.group(0)) if tail and m.group("unit") in r.count_units | r.amount_units
                         and not re.match(r"(?:的|和|及|与|以|增|下|同|比|较|占)", tail.group(0)) else 0)
        text_start, text_end = at + span_start, at + end  # 11.13万吨二氧化碳当量: the unit's own words
        qualifier = m.group("after") or m.group("inside") or _before_qualifier(r, prefix)
        before = sent[: m.start()]
        out.append(Figure(
            figure_id=content_hash(chunk.chunk_id, str(text_start)), chunk_id=chunk.chunk_id,
            report_id=chunk.report_id, source=chunk.source, entity=chunk.entity, indicator=indicator, raw=raw_name,
            measure=measure, value=value, unit=unit, base_value=round(value * scale, 6), base_unit=base_unit,
            qualifier=qualifier or "", kind=_kind(chunk, r, before), period=period,
            start=chunk.start + text_start, end=chunk.start + text_end, text=chunk.text[text_start:text_end],
            value_text=sent[m.start() : end].strip(), value_high=high, section=chunk.section_path,
            title=chunk.title, year=chunk.year,
        ))
    for m in (g.rules.rank_pattern.finditer(sent) if g.rules.rank_pattern else ()):
        out.append(_rank(chunk, g, sent, at, m, period))
    out.sort(key=lambda f: f.start)
    return out


def _is_part_of_name(sent: str, m: re.Match[str]) -> bool:
    """5G基站 and G15 are names; 1号线 has no unit; a number inside a date or code is no figure."""
    after = sent[m.end() : m.end() + 1]
    return bool(re.match(r"[A-Za-z]", after)) or m.group("unit") == "次" and sent[max(0, m.start() - 1) : m.start()] == "第"


def _respective_names(g: _Grammar, before: str) -> list[str]:
    """The names before 分别, each made whole: 城镇、农村居民人均可支配收入 -> 城镇居民人均可支配收入,
    农村居民人均可支配收入 (the shared tail is the known indicator the last name ends with)."""
    joint = re.split(r"[，,；;：:。]", before)[-1]
    lead = g.lead.match(joint)
    joint = joint[lead.end() :] if lead else joint
    names = [n for n in re.split(r"[、和及与]", joint) if n]
    if len(names) < 2:
        return []
    last = names[-1]
    tail = next((name for name, _ in g.indicators if last.endswith(name) and len(name) < len(last)), None)
    if tail is None:
        return []
    head_len = len(last) - len(tail)
    shared = tail if head_len else ""
    out = [n if n.endswith(tail) else n + shared for n in names]
    return out if head_len else []


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


def _indicator(g: _Grammar, words: str) -> tuple[str, int | None]:
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


def _canonical(g: _Grammar, raw: str) -> str:
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


def _rank(chunk: Chunk, g: _Grammar, sent: str, at: int, m: re.Match[str], period: int | None) -> Figure:
    clause_start = max([0, *(b.end() for b in _CLAUSE_BREAK.finditer(sent, 0, m.start()))])
    raw, name_at = _indicator(g, sent[clause_start : m.start()])
    start = at + clause_start + (name_at or 0 if raw else m.start() - clause_start)
    value = float(m.group(1))
    return Figure(
        figure_id=content_hash(chunk.chunk_id, str(start), "rank"), chunk_id=chunk.chunk_id, report_id=chunk.report_id,
        source=chunk.source, entity=chunk.entity, indicator=_canonical(g, raw) if raw else "", raw=raw, measure="rank",
        value=value, unit="位", base_value=value, base_unit="位", qualifier="", kind=_kind(chunk, g.rules, sent[: m.start()]),
        period=period, start=chunk.start + start, end=chunk.start + at + m.end(), text=chunk.text[start : at + m.end()],
        value_text=m.group(0), section=chunk.section_path, title=chunk.title, year=chunk.year,
    )


def ledger_stamp() -> str:
    """The extraction rules' version: this module and the profiles. Other rules, other figures."""
    from pathlib import Path

    from assistant.profiles import PROFILE_DIR

    files = [Path(__file__), *sorted(PROFILE_DIR.glob("*.toml"))]
    return content_hash(*(f.read_text(encoding="utf-8") for f in files))


def figure_rows(chunks: list[Chunk]) -> list[tuple[str, list[dict]]]:
    """(chunk id, its figures as plain dicts) for the ledger table."""
    return [(c.chunk_id, [f.to_dict() for f in extract_figures(c)]) for c in chunks]
