"""Follow-up questions without an LLM: what an earlier turn said fills what the new question leaves out."""

from __future__ import annotations

import re
from collections.abc import Callable

from assistant.retrieval.places import find_places
from assistant.retrieval.query import (
    COMPARE_WORDS,
    INDICATORS,
    RELATIVE_YEARS,
    RESULT_WORDS,
    SYNONYMS,
    TARGET_WORDS,
    QueryInfo,
)

_CUE = re.compile(r"^(那么|那|还有|另外|再问一下|再问|请问|再看看|看看|换成|换到|同期|同样)[，,]?|[呢吗？?。！!，,\s]+$")
_RESULT_TAIL = re.compile(r"(实际)?(完成|实现|达到|提升到|下降)了|增长了|(是|有)?(多少|几)[人个家项元亿万吨]*")
_ASK_TAIL = re.compile(r"(?:(?:增长|下降|达到|完成|实现|新增|是|有)了?)?(?:多少|几|哪些|什么|怎么样|怎样|如何|谁|哪位|何时)[^，,]*$")
_ASK_VERB = re.compile(r"(?:增长|下降|达到|完成|实现|新增)(?=了?(?:多少|几))")
_AMOUNT_ASK = re.compile(r"(?:分别|各自)?(?:是|有)?(?:多少|几)[^，,]*$")
_TOPIC_NOISE = re.compile(r"目标|预期|计划|要达到|要|是多少|多少|呢|的|(达到|完成|实现|增长)了?")
_PLAN = re.compile(r"目标|预期|计划")
_MEASURE = re.compile(r"(提升到|增长|下降|达到|完成|实现)了?$")
# words that point back at what was said: 它/该市/这家公司 at the entity, 那一年/当年 at the year
_PRONOUN = re.compile(r"(?<!其)它们?|该(?:地区|市|县|区|省|地|公司|企业|集团|单位|院)|那里|那儿|当地"
                      r"|[这那](?:个|座|家)(?:城市|市|县|区|地方|公司|企业|单位)|[这那](?:城市|地方|公司|企业)")
_YEAR_PRONOUN = re.compile(r"那一年|那年|当年|同年|这一年")

# the profiles' synonyms make 增速/增幅 "indicators" (of 增长); a follow-up reads them as how a figure moves
_MOVES = {"增长", "下降", *(short for short, full in SYNONYMS.items() if full in ("增长", "下降"))}
_TOPICS = [t for t in INDICATORS if t not in _MOVES]
_GROWTH = re.compile(f"^(?:{'|'.join(sorted(_MOVES, key=len, reverse=True))})了?")
# 「跟济南比呢」「和沈阳相比哪个高」: the previous entity is one side of the comparison
_VERSUS_VERB = re.compile(r"(?:相比|对比|比较|比)(?=呢|$|哪|谁|[，,？?]|高|低|快|慢|多|少)")
_VERSUS = re.compile(rf"^(?:那|那么)?(?:跟|和|与|同)(?!期|样)|{_VERSUS_VERB.pattern}")
# years counted from the previous turn's, not from now
_STEPS = {"前一年": -1, "下一年": 1, "后一年": 1, "次年": 1, "第二年": 1}
_EDGES = re.compile(r"^[和与跟及、的\s]+|[的\s]+$")

_WHICH_ASK = re.compile(r"(?:是|在)?哪(?:次|个|一?天|一?年|里)[^，,]*$")
_PERSON_OR_TIME = re.compile(r"(?:是|由)?(?:谁|哪位|何时|什么时候)")
# 「哪个高」「哪年更多」「谁快」: a comparison asked of what the conversation has named
_WHICH = re.compile(r"^(?:那|那么)?(?:哪个|哪一?年|谁|哪边)(?:更|比较)?([高低快慢多少大小])")
_SIBLINGS = {"农村": "城镇", "城镇": "农村", "出口": "进口", "进口": "出口", "支出": "收入", "收入": "支出"}


def resolve_followup(question: str, history: list[str], understand: Callable[[str], QueryInfo]) -> str:
    """Without an LLM: carry the city, year and topic of earlier turns into a follow-up that lacks them.

    「那沈阳呢？」 swaps the city, 「去年呢？」/「2025年的目标呢？」 the year, 「固投呢？」 the indicator of the
    previous question, 「它」/「该市」/「那一年」 point back at them; a longer follow-up without city or year
    gets them prefixed. What the new question names always wins."""
    if not history:
        return question
    base = history[0]
    turns = [base]
    for earlier in history[1:]:
        base = resolve_followup(earlier, [base], understand)
        turns.append(base)
    prev = understand(base)
    q = _point_back(question.strip(), prev)
    cur = understand(q)
    places = named_places(q, cur)  # a place the corpus has no report of is still what the user asks about
    cities = [*cur.cities, *places] or prev.cities
    which = _WHICH.search(q)
    if which and not (cur.cities or places or cur.years) and len(turns) > 1:
        # 「沈阳2024年社零目标」「济南呢」「哪个高」: the two sides are the last two the conversation named
        sides = _last_two(turns, understand)
        if sides is not None:
            return f"{sides}{_AMOUNT_ASK.sub('', _body(base, prev))}哪个{which.group(1)}"
    # one new entity set against the old one; a follow-up naming both sides (沈阳和济南分别…) needs no help
    versus = len(cur.cities) == 1 and not places and cur.cities[0] not in prev.cities and bool(COMPARE_WORDS.search(q) or _VERSUS_VERB.search(q))
    if versus:
        cities = [*prev.cities, *cur.cities]
    comparing = len(cities) > 1 and bool(COMPARE_WORDS.search(q) or _VERSUS_VERB.search(q))
    rel = next((w for w in [*_STEPS, *RELATIVE_YEARS] if w in q), None)
    years = [y for y in cur.years if not rel]
    if rel in _STEPS:
        years = [prev.years[0] + _STEPS[rel]] if prev.years else []
    elif rel == "今年" and prev.years:
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
    rest = _EDGES.sub("", _CUE.sub("", _CUE.sub("", rest.strip())))
    if comparing:
        rest = _EDGES.sub("", _VERSUS.sub("", rest))
    names_topic = len(rest) > 8 or any(t in rest for t in _TOPICS)
    if (cur.cities or places) and (years or not prev.years) and names_topic and not versus:
        return q  # already standalone: what it names wins over what was said before
    years = years or prev.years
    topic = _TOPIC_NOISE.sub("", rest)
    own_ask = _ASK_TAIL.search(rest)
    # what the follow-up asks about, without which kind of figure (目标, 实际, 同比 …)
    asked = _EDGES.sub("", RESULT_WORDS.sub("", TARGET_WORDS.sub("", rest[: own_ask.start()]))) if own_ask else ""
    new_topic = len(asked) > 1 and not any(asked[i : i + 2] in base for i in range(len(asked) - 1))
    prior = _body(base, prev)
    prior_ask = _ASK_TAIL.search(prior) or _WHICH_ASK.search(prior)
    if own_ask and not asked and prior_ask and _PERSON_OR_TIME.match(own_ask.group()) \
            and not _PERSON_OR_TIME.match(prior_ask.group()):
        # 「…是哪次会议上作的」「谁作的」: the same subject, another ask
        return f"{'和'.join(cities)}{''.join(f'{y}年' for y in years)}{prior[: prior_ask.start()]}{rest}"
    if comparing and not names_topic:
        body = _body(base, prev)  # 「和沈阳相比哪个高」「那沈阳和济南分别是多少」: the old question, for both
        body = _AMOUNT_ASK.sub("", body) + rest if rest else body
    elif (len(rest) > 8 and not rest.startswith("目标") and topic not in _TOPICS) or new_topic:
        body = rest  # a full question (重点工作有哪些) that only lacks its city or year
    else:
        body = _carry(_body(base, prev), rest, topic, asked if own_ask else None)
    prefix = "和".join(cities) + "".join(f"{y}年" for y in years)
    return f"{prefix}{body}"


def _last_two(turns: list[str], understand: Callable[[str], QueryInfo]) -> str | None:
    """「沈阳和济南2024年」 or 「盘锦2023年和2024年」: the last two entities (or, for one entity, years) the
    resolved turns named, as a question's subject; None when the turns name only one of each."""
    infos = [understand(t) for t in turns]
    cities = list(dict.fromkeys(c for i in reversed(infos) for c in i.cities))[:2][::-1]
    years = list(dict.fromkeys(y for i in reversed(infos) for y in i.years))[:2][::-1]
    if len(cities) == 2:
        return "和".join(cities) + "".join(f"{y}年" for y in infos[-1].years[:1])
    if len(years) == 2 and len(cities) == 1:
        return f"{cities[0]}{years[0]}年和{years[1]}年"
    return None


def _body(base: str, prev: QueryInfo) -> str:
    """The earlier question without its entities and years: what a follow-up changes or keeps."""
    for name in [*(prev.mentions or prev.cities), *named_places(base, prev)]:
        base = base.replace(name, "")
    return _EDGES.sub("", re.sub(r"(20\d{2})年?|今年|去年|明年|前年", "", base).strip("，, 的？?"))


def _point_back(question: str, prev: QueryInfo) -> str:
    """「它」「该市」「这家公司」 become the entity the previous turn was about, 「那一年」「当年」 its year, so
    the rest of the question is read as if it had named them."""
    names = prev.mentions or prev.cities
    if names and (m := _PRONOUN.search(question)):
        said = "和".join(names) if m.group().startswith("它们") or len(names) == 1 else ""
        if said:
            question = question[: m.start()] + said + question[m.end() :]
    if len(prev.years) == 1 and not re.search(r"20\d{2}", question):
        question = _YEAR_PRONOUN.sub(f"{prev.years[0]}年", question, count=1)
    return question


def _subject(body: str) -> str | None:
    """What the earlier question asked about: its indicator (the first named, the longest there), or the
    words before its ask (粗钢产量 in 粗钢产量多少)."""
    found = [(body.find(t), t) for t in _TOPICS if t in body]
    if found:
        return min(found, key=lambda f: (f[0], -len(f[1])))[1]
    ask = _ASK_TAIL.search(body)
    head = _MEASURE.sub("", _PLAN.sub("", body[: ask.start()] if ask else body).replace("实际", ""))
    return head if len(head) > 1 else None


def _carry(body: str, rest: str, topic: str, asked: str | None) -> str:
    """The earlier question's body with what the follow-up changes: the indicator (固投呢), part of it
    (总额达到了多少), or the kind of figure (实际新增多少 after a target; 定的目标是多少 after a result)."""
    asks_target = bool(TARGET_WORDS.search(rest))
    asks_result = not asks_target and bool(RESULT_WORDS.search(rest))
    subject = _subject(body)
    # `asked`: the words before the follow-up's own ask (「实际新增多少」: none, 新增 is how it asks)
    what = asked if asked is not None else topic[2:] if topic.startswith("实际") and topic not in _TOPICS else topic
    # the same indicator asked anew: no new words (实际增长了多少), or its head noun (总额 of 进出口总额);
    # a part inside it (出口 of 进出口总额) is an indicator of its own
    again = not what and (asks_result or (asked is not None and not asks_target))
    if subject and ((len(what) > 1 and subject.endswith(what)) or again):
        said = rest.replace(what, "", 1) if what else rest
        if (verb := _ASK_VERB.search(said)) and verb.group() in subject:
            said = said[: verb.start()] + said[verb.end() :]  # 新增 of 城镇新增就业 is said once
        body = subject + said if asked is not None else body.replace(subject, subject + said, 1)
    elif topic in _SIBLINGS and _SIBLINGS[topic] in body:
        body = body.replace(_SIBLINGS[topic], topic, 1)  # 「农村的呢？」
    elif len(topic) > 1 and subject and asked is not None:
        body = rest  # 「出口增长了多少」: a question of its own about another indicator
    elif len(topic) > 1 and subject:
        after = body[body.index(subject) + len(subject) :]
        # a growth rate belongs to the old indicator; the new one is asked for as its report states it
        body = topic + (after if _PLAN.search(after) else _GROWTH.sub("", after))  # 「固投呢？」
    elif len(topic) > 1 and (tail := _ASK_TAIL.search(body)):
        body = topic + tail.group()  # 粗钢产量多少 -> 「技术合同成交额呢」 -> 技术合同成交额多少
    elif len(topic) > 1:
        body = f"{body}，{topic}"
    if asks_target:
        body = _RESULT_TAIL.sub("", body).rstrip("？?的，,")
        body = _outside(body, subject, "实际")
        if "增长" in rest and "增长" not in body:
            body += "增长"
        body += "是多少" if "目标" in body else "目标是多少"
    elif asks_result:
        body = _outside(body, subject, "目标|预期|计划")
    return body


def _outside(body: str, subject: str | None, words: str) -> str:
    """`body` without `words`, except inside the subject (实际 of 实际利用外资 stays)."""
    if subject and subject in body:
        head, tail = body.split(subject, 1)
        return re.sub(words, "", head) + subject + re.sub(words, "", tail)
    return re.sub(words, "", body)


def named_places(question: str, info: QueryInfo) -> list[str]:
    """Place names in the question that are not one of its corpus entities (北京 when no report is about it)."""
    text = question
    for said in sorted(info.mentions, key=len, reverse=True):
        text = text.replace(said, " ")
    return [p for p in find_places(text) if p not in info.cities and re.sub("[市省]$", "", p) not in info.cities]


def named_entities(question: str, info: QueryInfo) -> list[str]:
    """The words of the question that name an entity: corpus entities as typed, and other places."""
    return [*(info.mentions or info.cities), *named_places(question, info)]
