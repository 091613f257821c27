"""Follow-up questions without an LLM: what an earlier turn said fills what the new question leaves out."""

from __future__ import annotations

import re
from collections.abc import Callable

from assistant.retrieval.places import find_places
from assistant.retrieval.query import INDICATORS, RELATIVE_YEARS, TARGET_WORDS, QueryInfo

_CUE = re.compile(r"^(那么|那|还有|另外|再问一下|再问|同期|同样)[，,]?|[呢吗？?。！!，,\s]+$")
_RESULT_TAIL = re.compile(r"(实际)?(完成|实现|达到|提升到|下降)了|增长了|(是|有)?(多少|几)[人个家项元亿万吨]*")


_SIBLINGS = {"农村": "城镇", "城镇": "农村", "出口": "进口", "进口": "出口", "支出": "收入", "收入": "支出"}


_ASK_TAIL = re.compile(r"(?:(?:增长|下降|达到|完成|实现|新增|是|有)了?)?(?:多少|几|哪些|什么)[^，,]*$")


def resolve_followup(question: str, history: list[str], understand: Callable[[str], QueryInfo]) -> str:
    """Without an LLM: carry the city, year and topic of earlier turns into a follow-up that lacks them.

    「那沈阳呢？」 swaps the city, 「去年呢？」/「2025年的目标呢？」 the year, 「固投呢？」 the indicator of the
    previous question; a longer follow-up without city or year gets them prefixed."""
    if not history:
        return question
    base = history[0]
    for earlier in history[1:]:
        base = resolve_followup(earlier, [base], understand)
    prev = understand(base)
    cur = understand(question)
    q = question.strip()
    places = named_places(q, cur)  # a place the corpus has no report of is still what the user asks about
    cities = cur.cities or places or prev.cities
    rel = next((w for w in RELATIVE_YEARS if w in q), None)
    years = [y for y in cur.years if not rel]
    if rel == "今年" and prev.years:
        # 「今年」 in a follow-up: the year of the report that answered the previous turn
        years = [prev.years[0] + (1 if prev.intent == "result" else 0)]
    elif rel == "今年" or (rel and not prev.years):
        years = understand(f"{''.join(cities[:1])}{rel}").years
    elif rel:
        years = [prev.years[0] + RELATIVE_YEARS[rel]]
    rest = q
    for name in [*(cur.mentions or cur.cities), *places]:
        rest = rest.replace(name, "")
    if rel:
        rest = rest.replace(rel, "")
    rest = re.sub(r"(20\d{2})年?", "", rest)
    rest = _CUE.sub("", _CUE.sub("", rest.strip())).strip("的 ")
    names_topic = len(rest) > 8 or any(t in rest for t in INDICATORS)
    if (cur.cities or places) and (years or not prev.years) and names_topic:
        return question  # already standalone: what it names wins over what was said before
    years = years or prev.years
    asks_target = bool(TARGET_WORDS.search(rest))
    topic = re.sub(r"目标|预期|计划|要达到|要|是多少|多少|呢|的|(达到|完成|实现|增长)了?", "", rest)
    own_ask = _ASK_TAIL.search(rest)
    asked = re.sub(r"目标|预期|计划|实际|的", "", rest[: own_ask.start()]) if own_ask else ""  # what, not which kind
    new_topic = len(asked) > 1 and not any(asked[i : i + 2] in base for i in range(len(asked) - 1))
    if (len(rest) > 8 and not rest.startswith("目标")) or new_topic:
        body = rest  # a full question (重点工作有哪些) that only lacks its city or year
    else:
        body = base
        for name in [*(prev.mentions or prev.cities), *named_places(base, prev)]:
            body = body.replace(name, "")
        body = re.sub(r"(20\d{2})年?|今年|去年|明年|前年", "", body).strip("，, 的？?")
        indicator = next((t for t in INDICATORS if t in body), None)
        if topic and indicator and topic in indicator and topic != indicator:
            body = body[: body.index(indicator)] + indicator[: indicator.rindex(topic)] + rest  # 「总额达到了多少？」
        elif topic in _SIBLINGS and _SIBLINGS[topic] in body:
            body = body.replace(_SIBLINGS[topic], topic, 1)  # 「农村的呢？」
        elif topic and indicator and len(topic) > 1:
            body = body.replace(indicator, topic, 1)  # 「固投呢？」
        elif topic and len(topic) > 1 and (tail := _ASK_TAIL.search(body)):
            body = topic + tail.group()  # 粗钢产量多少 -> 「技术合同成交额呢」 -> 技术合同成交额多少
        elif topic:
            body = f"{body}，{topic}"
        if asks_target:
            body = _RESULT_TAIL.sub("", body).rstrip("？?的，,")
            body += "是多少" if "目标" in body else "目标是多少"
    prefix = "".join(cities) + "".join(f"{y}年" for y in years)
    return f"{prefix}{body}"


def named_places(question: str, info: QueryInfo) -> list[str]:
    """Place names in the question that are not one of its corpus entities (北京 when no report is about it)."""
    text = question
    for said in sorted(info.mentions, key=len, reverse=True):
        text = text.replace(said, " ")
    return [p for p in find_places(text) if p not in info.cities and re.sub("[市省]$", "", p) not in info.cities]


def named_entities(question: str, info: QueryInfo) -> list[str]:
    """The words of the question that name an entity: corpus entities as typed, and other places."""
    return [*(info.mentions or info.cities), *named_places(question, info)]
