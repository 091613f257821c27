"""Query understanding: cities, years (also 今年/去年/明年), intent, abbreviations, compare splits."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import partial

from assistant.profiles import query_indicators, query_synonyms

SYNONYMS: dict[str, str] = query_synonyms()
INDICATORS = query_indicators()
"""Indicator names, longest first: what a follow-up like 「固投呢？」 swaps into the previous question."""
TARGET_WORDS = re.compile(r"目标(?!任务?[高低])|预期|计划|打算|力争|要达到|将要|准备|安排|要控制|要增长")
_OUTCOME = re.compile(r"(?:没有|没|未能?|尚未)(?:完成|实现|达到|达成)")
_NOT_TARGET = re.compile(r"年初目标|比.{0,8}目标|高于.{0,6}目标|低于.{0,6}目标|超.{0,4}目标")
RESULT_WORDS = re.compile(r"实际|完成了|实现了|达到了|增长了|下降了|比上年|同比|回顾|成效|成绩|全年")
ABOUT_REPORT = re.compile(r"什么时候(作|做|召开|发布|提交)|哪天|哪一天|日期|哪次会议|什么会议|哪个会议|哪一次.*会议|在.{0,6}会议上|谁(作|做|代表)|作的报告|报告人|由谁|哪个部门")
COMPARE_WORDS = re.compile(r"相比|对比|比较|分别|哪个(更)?(高|低|快|慢|多|少)|和.{0,12}(谁|哪)")
_YEAR = re.compile(r"(?<!\d)(20\d{2}|19\d{2})(?:年|(?=\D|$))")
RELATIVE_YEARS = {"今年": 0, "本年": 0, "去年": -1, "上一年": -1, "前年": -2, "明年": 1}


@dataclass
class QueryInfo:
    text: str
    cities: list[str] = field(default_factory=list)  # entities named (cities, companies, courts …)
    mentions: list[str] = field(default_factory=list)  # how the question wrote each of them (澜川 for 澜川…公司)
    years: list[int] = field(default_factory=list)
    intent: str = "any"  # target / result / any
    compare: bool = False
    about_report: bool = False  # asks when/where/by whom the report itself was delivered
    expanded: str = ""  # the question with abbreviations spelled out
    parts: list[str] = field(default_factory=list)  # a question asking two things: each, with its subject

    @property
    def city(self) -> str | None:
        return self.cities[0] if len(self.cities) == 1 else None

    @property
    def year(self) -> int | None:
        return self.years[0] if len(self.years) == 1 else None


def find_entities(text: str, known: list[str] | dict[str, str]) -> list[tuple[str, str]]:
    """(entity, the words that named it) in question order; `known` maps aliases to entities (or lists names)."""
    aliases = known if isinstance(known, dict) else {n: n for n in known}
    hits: list[tuple[int, str, str]] = []
    for name in sorted(aliases, key=len, reverse=True):
        pos = text.find(name)
        if pos >= 0 and not any(p <= pos < p + len(n) or pos <= p < pos + len(name) for p, n, _ in hits):
            hits.append((pos, name, aliases[name]))
    out: list[tuple[str, str]] = []
    for _, name, entity in sorted(hits):
        if entity not in (e for e, _ in out):
            out.append((entity, name))
    return out


def expand(text: str) -> str:
    extra = [full for short, full in SYNONYMS.items() if short in text and full not in text]
    extra = list(dict.fromkeys(extra))
    return f"{text}（{' '.join(extra)}）" if extra else text


def understand(text: str, known_cities: list[str] | dict[str, str], latest_year: dict[str | None, int]) -> QueryInfo:
    """`known_cities`: entity names, or aliases -> entity. `latest_year` maps an entity (and None: the whole
    corpus) to its latest report year, for 今年/去年."""
    found = find_entities(text, known_cities)
    info = QueryInfo(text=text, cities=[e for e, _ in found], mentions=[m for _, m in found])
    years = [int(y) for y in _YEAR.findall(text)]
    anchor = latest_year.get(info.city) or latest_year.get(None)
    now = _relative_anchor(info, latest_year)
    for word, delta in RELATIVE_YEARS.items():
        if word in text and now:
            years.append(now + delta)
    info.years = list(dict.fromkeys(years))
    if _OUTCOME.search(text):
        info.intent = "result"  # 为什么没有完成预期目标: what happened to a goal is told by the year's review
    elif TARGET_WORDS.search(text) and not _NOT_TARGET.search(text):
        info.intent = "target"
    elif RESULT_WORDS.search(text) or (info.years and anchor and all(y < anchor for y in info.years)):
        info.intent = "result"  # a year already reviewed by a later report
    info.about_report = bool(ABOUT_REPORT.search(text))
    info.compare = len(info.cities) > 1 or len(info.years) > 1 or bool(COMPARE_WORDS.search(text))
    info.expanded = expand(text)
    if not info.compare:
        info.parts = question_parts(text, info.mentions, info.years)
    return info


def _relative_anchor(info: QueryInfo, latest_year: dict[str | None, int]) -> int | None:
    """The year 今年 means: that of the named entity's latest report. A question naming none, over entities
    whose latest reports differ, has no one 今年 (each entity has its own), so it gets no year: the corpus's
    latest report would pick one entity for the user."""
    if info.city:
        return latest_year.get(info.city) or latest_year.get(None)
    if not info.cities and len({y for e, y in latest_year.items() if e is not None}) > 1:
        return None
    return latest_year.get(None)


_PAIR = re.compile(r"^(.+?)[和与及](.+?)(分别|各自|各)(是|为|有|完成了?|达到了?)?(多少\S{0,2}|几\S?|什么|哪些)")
_ASKS = re.compile(r"多少|(?<![许诸众很])多大(?=$|[的呢吗啊])|几[个项件天次篇名人家笔类]?|哪|什么|谁|何时|是否|怎么|怎样|如何|为什么|为何|为啥")
# 「财政收入呢」 after 「GDP多少」: another thing asked the way the question before it was asked
_ALSO = re.compile(r"^(?:那么|那|还有|另外|以及|再就是)?(?P<topic>.{2,}?)(?:的)?呢$")
_ASK_END = re.compile(rf"(?:是|为|有)?(?:{_ASKS.pattern}).*$")


def question_parts(text: str, mentions: list[str], years: list[int]) -> list[str]:
    """The questions inside one (员工总数多少，女性占比多少？ -> two), each carrying the subject and year
    the first one named (澄川新能源2023年女性占比多少); a trailing 「财政收入呢」 is one more, asked as the
    first was (本溪2023年GDP多少，财政收入呢 -> 本溪2023年财政收入多少); [] when it asks one thing."""
    pair = _PAIR.search(text)
    if pair and not _ASKS.search(pair.group(1) + pair.group(2)):
        # 安全生产投入和环保投入分别是多少: the subject (恒锐建材2023年) goes with both
        left, second, ask = pair.group(1), pair.group(2), pair.group(5)
        cut = max([left.rfind(m) + len(m) for m in mentions if m in left] + [y.end() for y in _YEAR.finditer(left)] + [0])
        prefix, first = left[:cut], left[cut:]
        if len(first) >= 2 and len(second) >= 2:
            return [f"{prefix}{first}{ask}", f"{prefix}{second}{ask}"]
    pieces = [p.strip() for p in re.split(r"[？?；;，,、]", text) if p.strip()]
    parts: list[str] = []
    pending = ""
    for piece in pieces:
        if not _ASKS.search(piece):
            also = _ALSO.match(piece) if parts and not pending else None
            first = next((m for m in mentions if m in parts[0]), None) if parts else None
            if also and first and also["topic"] in mentions and also["topic"] != first:
                # 盘锦2024年GDP增长多少，沈阳呢: the same question of another entity
                parts.append(parts[0].replace(first, also["topic"], 1))
                continue
            if also and _another_thing(also["topic"]):
                # 本溪2023年GDP多少？财政收入呢: 财政收入 asked as 多少 was, of the same subject and year
                ask = _ASK_END.search(parts[0])
                parts.append(also["topic"] + (ask.group() if ask else "多少"))
                continue
            pending += piece  # context for the next question: 「一般公共预算支出，2023年实际完成多少」
            continue
        parts.append(pending + piece)
        pending = ""
    if len(parts) < 2 or any(len(p) < 4 for p in parts):
        return []
    def with_subject(part: str) -> str:
        year = "" if not years or _YEAR.search(part) else f"{years[0]}年"
        said = "" if not mentions or any(m in part for m in mentions) else mentions[0]
        return f"{said}{year}{part}"

    return [with_subject(p) for p in parts]


def _another_thing(topic: str) -> bool:
    """「财政收入」 of 「财政收入呢」 is another thing to ask about; 「目标」「增速」「去年」 only change how or
    when the thing before is asked (a follow-up's job, not a part of its own)."""
    moves = {"增长", "下降"}
    return not (TARGET_WORDS.search(topic) or RESULT_WORDS.search(topic) or _YEAR.search(topic)
                or any(w in topic for w in RELATIVE_YEARS) or topic in moves or SYNONYMS.get(topic) in moves)


def sub_queries(info: QueryInfo) -> list[tuple[str, list[str], list[int]]]:
    """Split a compare question into one query per city (or per year), each naming only its side."""
    if len(info.cities) > 1:
        out = []
        for city, said in zip(info.cities, info.mentions or info.cities, strict=False):
            q = info.text
            for other in info.mentions or info.cities:
                if other != said:
                    q = q.replace(other, "")
            q = re.sub(r"^[和与跟及、，,\s]+|[和与跟及、]{2,}", "", q)
            out.append((f"{said} {q}", [city], info.years))
        return out
    if len(info.years) > 1:
        out = []
        for y in info.years:
            q = _YEAR.sub(partial(_keep_year, y), info.text)
            # 「2023年和2024年的」 → 「2024年的」: the other year goes with the word that joined it
            q = re.sub(r"[和与跟及、至到]?\0[和与跟及、至到]?", "", q)
            out.append((q, info.cities, [y]))
        return out
    return [(info.text, info.cities, info.years)]


def _keep_year(year: int, m: re.Match[str]) -> str:
    return m.group(0) if int(m.group(1)) == year else "\0"
