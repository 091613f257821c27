"""Question terms and sentence matching, shared by retrieval (which passage states it) and the answerer
(which sentence states it): one notion of "this sentence says what was asked"."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from assistant.ingest.figures import caption_year
from assistant.profiles import load_profiles
from assistant.retrieval.query import SYNONYMS, TARGET_WORDS

INDICATORS = frozenset(i for p in load_profiles().values() for i in p.indicators)
# an indicator's short names (营业收入: 营收), not a modifier's (规上): a report may write either
SHORT_NAMES: dict[str, list[str]] = {}
for _short, _full in SYNONYMS.items():
    if _full in INDICATORS and len(_short) > 1 and not _short.isascii() and _short not in _full:
        SHORT_NAMES.setdefault(_full, []).append(_short)

# a comma ends a clause, but not inside a number (4,915万元)
_COMMA = re.compile(r"(?<=，)|(?<=,)(?!\d)")
_CLAUSE_END = re.compile(r"(?<=[，；;：:])|(?<=,)(?!\d)")
_SENT_END = re.compile(r"(?<=[。！？；!?;])|\n")
_QUESTION_NOISE = re.compile(
    r"是多少|多少|是什么|什么|哪些|哪几|有几|几项|几个|为何|怎样|如何|怎么|吗|呢|么|请问|一下|告诉我|是否|"
    r"大概|大约|约|左右|分别|各是|各自|各|相比|对比|比较|报告|政府工作|提到|提出|说|讲|里|中|的|了|和|与|及|年|"
    r"我想|想知道|想问|了解|了解下|帮我|查查|查一下|看看|情况|[？?！!，,。、\s]|"
    # how a question asks, not what: 哪位, 几类, 哪几块, 多大, 为什么, 有没有
    r"哪几?[个位类种项块家名笔条次天年些件批所台辆套方面]*|几[个位类种项块家名笔条次天些件批所台辆套]|"
    r"多[大久长高远重宽深]|多少钱|为什么|为啥|没有|有没有|是不是|能否|可否|怎么样|什么样|这次|此次|一共|总共|"
    r"这个|那个|现在|目前|当前|名字|叫什么|什么名字|百分之|年度|"
    r"时候|啥|啥样|哪天|几时|合适|多少合适|能不能|可不可以|可以吗|行不行|地方"  # 什么时候, 打多少合适, 最深的地方: how, not what
)
# single characters that are words of their own, not part of an unknown word: verbs and prepositions (做, 花,
# 从, 以, 比), function words (不, 也, 已), comparatives (高, 多), time and place (时, 后, 内), measure words (件, 个)
_LIGHT = frozenset("做花用给从向让由被领付收交拿算打到去来过得着把跟同往叫开发以比较不在于与及并也都就再又还才已曾会能可应"
                   "其之而或且所高低多少大小快慢时后前内间里末初底个件家项名位条次天笔种类台套辆座")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_CJK_TERM = re.compile(r"[\u4e00-\u9fff]+")
_ASCII_LETTER = re.compile(r"[a-z]")
_CODE_TERM = re.compile(r"(?=[a-z0-9\-]*[a-z])(?=[a-z0-9\-]*\d)[a-z0-9\-]{2,}")
# the kind of organisation a name ends in (公司, 集团): the entity's metadata says it, a sentence need not
_ENTITY_WORDS = frozenset(s for p in load_profiles().values() for s in (*p.entity_suffixes, *p.frequent_suffixes))
_INTENT_WORDS = re.compile(r"目标|预期|预期目标|计划|打算|力争|要|将|实际|完成|实现|今年|去年|明年|全年|当年|年初")


def question_terms(question: str, tokenize: Callable[[str], list[str]], cities: Sequence[str] = ()) -> list[str]:
    """Content terms of the question, abbreviations spelled out; place and year words left to the metadata."""
    return [t for t, _ in named_terms(question, tokenize, cities)]


def named_terms(question: str, tokenize: Callable[[str], list[str]],
                cities: Sequence[str] = ()) -> list[tuple[str, bool]]:
    """question_terms, each with whether it is a word the tokenizer did not know (蒋文涛, 恒拓): most often a
    name, which says whom a sentence is about rather than what it states."""
    text = question
    for city in cities:
        text = text.replace(city, " ")
    said: dict[str, str] = {}  # full form -> the words the question used (研究与试验发展 -> 研发)
    for short, full in sorted(SYNONYMS.items(), key=lambda kv: -len(kv[0])):
        if short in text and full not in text:
            text = text.replace(short, full)  # no spaces: 规上工业增加值 -> 规模以上工业增加值 stays one word
            said.setdefault(full, short)
    terms = _recovered(text, [t for t in tokenize(text) if t not in _ENTITY_WORDS
                              and not _QUESTION_NOISE.fullmatch(t) and not _INTENT_WORDS.fullmatch(t)
                              and not re.fullmatch(r"\d{4}", t)])
    # a report may use either form: 「研发经费投入」 states what 「研发投入」 asks as well as 研究与试验发展 would,
    # and 「全年营收71.38亿元」 what 「营业收入」 asks
    out: dict[str, bool] = {}
    for t, unknown in terms:
        typed = [t.replace(full, short) for full, short in said.items() if full in t and len(short) > 1]
        alts = [a for form in (t, *typed, *SHORT_NAMES.get(t, [])) for a in form.split("|")]
        out.setdefault("|".join(dict.fromkeys(alts)), unknown)
    return list(out.items())


def _recovered(text: str, tokens: list[str]) -> list[tuple[str, bool]]:
    """Terms of at least two characters from the question's tokens, with the words the tokenizer does not
    know put back together: it cuts a name or a new word into single characters (蒋/文/涛, 恒/拓, 绿/电), so
    adjacent single characters are one term again, and a single character left beside a word goes with it
    (住院+号 -> 住院号, 契+税收 -> 契税收, also stated whole as 契税)."""
    low = text.lower()
    spans: list[tuple[int, str]] = []
    cur = 0
    for t in tokens:
        at = low.find(t, cur)
        if at >= 0:
            spans.append((at, t))
            cur = at + len(t)

    def single(i: int) -> bool:
        return len(spans[i][1]) == 1 and _CJK.fullmatch(spans[i][1]) is not None and spans[i][1] not in _LIGHT

    def joins(i: int, j: int) -> bool:  # token j starts where token i ends
        return 0 <= i < len(spans) and 0 <= j < len(spans) and spans[i][0] + len(spans[i][1]) == spans[j][0]

    out: list[str] = []
    runs: set[str] = set()
    i = 0
    while i < len(spans):
        if not single(i):
            out.append(spans[i][1])
            i += 1
            continue
        j = i
        while j + 1 < len(spans) and single(j + 1) and joins(j, j + 1):
            j += 1
        if j > i:  # 蒋/文/涛 -> 蒋文涛
            out.append("".join(t for _, t in spans[i : j + 1]))
            runs.add(out[-1])
        else:
            c = spans[i][1]
            prev, nxt = i - 1, i + 1
            # the word before, unless it already took one (out[-1] is then no longer that word)
            light_before = len(spans[prev][1]) == 1 and spans[prev][1] in _LIGHT if prev >= 0 else False  # 能+补 is no word
            if joins(prev, i) and not light_before and _CJK.match(spans[prev][1][-1]) and out and out[-1] == spans[prev][1]:
                word = spans[prev][1]
                # 住院+号; or a surname before a given name (董事会秘书+陈+嘉禾: 陈嘉 counts too)
                after = [f"{c}{spans[nxt][1][0]}"] if joins(i, nxt) and _CJK.match(spans[nxt][1][0]) else []
                out[-1] = "|".join(dict.fromkeys([f"{word}{c}", f"{word[-1]}{c}", *after]))
            elif joins(i, nxt) and not single(nxt) and _CJK.match(spans[nxt][1][0]):
                word = spans[nxt][1]
                out.append("|".join(dict.fromkeys((f"{c}{word}", f"{c}{word[0]}"))))
                j = nxt  # the word is taken with it
        i = j + 1
    return [(t, t in runs) for t in out if len(t) > 1 and not _QUESTION_NOISE.fullmatch(t)]


def term_weights(terms: list[str]) -> dict[str, int]:
    """Longer terms carry more of the question (地区生产总值 over 增长), capped so one term cannot dominate.
    A term may be alternatives (`研究与试验发展|研发`): either form states it."""
    # a code of letters and digits (E05, YH1200) names exactly one thing: it weighs as much as the longest word
    return {t: 4 if _CODE_TERM.fullmatch(t) else min(max(len(a) for a in t.split("|")), 4) for t in terms}


def mentions(term: str, text: str) -> bool:
    """The text holds the term, or one of its alternatives (a term with letters in any case: E3, e3)."""
    if _ASCII_LETTER.search(term):
        text = text.lower()
    return any(alt in text for alt in term.split("|"))


def sentences(text: str, windows: bool = True) -> list[str]:
    """Sentences, and for long ones also their clause windows, so a figure comes with its subject."""
    out: list[str] = []
    for s in _SENT_END.split(text):
        s = s.strip(" \u3000\xa0\t")
        if not s:
            continue
        out.append(s)
        if windows and len(s) > 120:
            clauses = _COMMA.split(s)
            for i in range(len(clauses)):
                window = "".join(clauses[i : i + 3]).strip()
                if 10 <= len(window) < len(s):
                    out.append(window)
    return out


_FULL_STOP = re.compile(r"(?<=[。！？!?])|\n")
LONG_SENTENCE = 150


def answer_units(text: str, whole_long: bool = False) -> list[str]:
    """What an answer may quote: whole sentences (。！？ or a line end). A sentence longer than
    LONG_SENTENCE is offered as its ；-separated statements instead — each a complete clause group, never a
    comma window cut out of one — and also whole when `whole_long` (a list asked for)."""
    out: list[str] = []
    for s in _FULL_STOP.split(text):
        s = s.strip(" \u3000\xa0\t")
        if not s:
            continue
        if len(s) <= LONG_SENTENCE:
            out.append(s)
            continue
        if whole_long:
            out.append(s)
            continue
        out.extend(p for p in (p.strip(" \u3000\xa0\t") for p in re.split(r"(?<=[；;])", s)) if p)
    return out


def key_clause(sentence: str, weights: Mapping[str, float], fits: Callable[[str], float]) -> str | None:
    """The shortest run of up to three consecutive clauses of a long sentence that states as many question
    terms as the whole sentence and the kind of figure asked for: the words to lead an answer with (the whole
    sentence follows it as the quote). None when the sentence is short or no clause run says it alone."""
    if len(sentence) <= 60:
        return None
    clauses = [c for c in _CLAUSE_END.split(sentence) if c.strip()]
    whole = sum(w * term_cover(t, sentence) for t, w in weights.items())
    best: str | None = None
    for i in range(len(clauses)):
        for j in range(i + 1, min(i + 3, len(clauses)) + 1):
            raw = "".join(clauses[i:j]).strip(" \u3000\xa0\t")
            run = raw.rstrip("，,；;：:。")
            if not run or raw.endswith(("：", ":")) or (best is not None and len(run) >= len(best)):
                continue  # a label without its value (占营业收入比重：) says nothing
            covered = sum(w * term_cover(t, run) for t, w in weights.items())
            if covered >= whole and fits(run) >= fits(sentence):
                best = run
    return best if best and len(best) <= 0.6 * len(sentence) else None


_MEASURE = re.compile(r"(?:人数|总数|数量|数目|总额|金额|规模|总量)$")


def term_cover(term: str, sent: str) -> float:
    """1 for the whole term; partial credit when most of its character pairs appear
    (地区生产总值 vs 生产总值, 粮食产量 vs 粮食…产量), so report wording variants still count."""
    if _ASCII_LETTER.search(term):
        sent = sent.lower()  # terms are lower-cased: E05 states e05
    if "|" in term:
        # the asked form may match in part; another name only whole (经济总量 is not 经济…)
        first, *others = term.split("|")
        return max([term_cover(first, sent), *(1.0 for alt in others if alt in sent)])
    if term in sent:
        return 1.0
    if len(term) < 3:
        return 0.0
    measure = _MEASURE.search(term)
    if measure and measure.start() >= 2 and term[: measure.start()] in sent:
        return 0.8  # 员工人数 asked, 共有员工5,012人 written: the measure word is what the figure is
    if _CJK_TERM.fullmatch(term) and any(
            re.search(f"{re.escape(term[:i])}[\u4e00-\u9fff]{{1,3}}?{re.escape(term[i:])}", sent) for i in range(2, len(term))):
        return 0.8  # a word or two put inside: 新能源车 / 新能源乘用车, 胎压 in 轮胎气压
    pairs = [term[i : i + 2] for i in range(len(term) - 1)]
    share = sum(1 for p in pairs if p in sent) / len(pairs)
    return share if share >= 0.5 else 0.0


def sentence_match(text: str, weights: Mapping[str, float]) -> float:
    """How fully the best single sentence of `text` states the question's terms, in [0, 1].

    A passage-level embedding can be dominated by a long preamble; this signal looks at the one
    sentence that would answer, so a chunk stating the asked indicator outranks chunks that lack it."""
    total = sum(weights.values())
    if not total:
        return 0.0
    best = 0.0
    for sent in sentences(text, windows=False):
        covered = sum(w * term_cover(t, sent) for t, w in weights.items())
        best = max(best, covered / total)
        if best >= 1.0:
            break
    return best


# --- what a question asks, and which statements answer it ---------------------------------------------
_ASKING = re.compile(r"多少|几|哪|什么|谁|何|是否|有没有|有无|吗|怎么|怎样|如何|为啥")
# what a yes/no question asks about follows these (有没有申请再审)
_YES_NO = re.compile(r"有没有|是否|是不是|有无|能否|可否")


def asked_weights(question: str, weights: dict[str, int]) -> dict[str, float]:
    """Terms only in a clause that asks nothing set the scene (蒋文涛是高脂血症性胰腺炎，为什么没有做血浆置换):
    they count half, so the sentence stating what is asked is not outweighed by one repeating the premise."""
    pieces = [p for p in re.split(r"[，,；;。：:]", question) if p.strip()]
    asking = [p for p in pieces if _ASKING.search(p)]
    if not asking or len(asking) == len(pieces):
        return dict(weights)
    asked = "".join(asking)
    return {t: w if mentions(t, asked) or not mentions(t, question) else w / 2 for t, w in weights.items()}


def yes_no_focus(question: str, weights: Mapping[str, float]) -> list[str]:
    """The terms a yes/no question asks about: those after 有没有/是否 (申请再审)."""
    m = _YES_NO.search(question)
    if m is None:
        return []
    rest = question[m.end() :]
    return [t for t in weights if mentions(t, rest)]


# words around a figure that are not what it measures: 达到, 增长, 同比
_NOT_MEASURED = frozenset(w for p in load_profiles().values() for w in (
    *p.figures.verbs, *p.figures.growth_cues, *p.figures.decline_cues, "同比", "比上年", "较上年", "上年"))
_HOW_MANY = re.compile(r"(?:多少|几)[个家项人件名位条次天笔元种类]?")


def figure_focus(question: str, weights: Mapping[str, float]) -> list[str]:
    """The terms a figure question measures, one of which an answer states: the one right after 多少 (领了多少
    薪酬), else the nearest before it that is not a verb or a growth word, with the nearest of three characters
    or more, or else the second nearest (城市建设投资集团2023年净利润是多少: 净利润; 粮食产量达到多少: 粮食产量;
    客户满意度得分为多少: 分为 or 满意度, whatever the tokenizer made of 得分为). Each may be stated in its short
    form too (研究与试验发展人员 asked, 研发人员 written)."""
    m = _HOW_MANY.search(question)
    if m is None:
        return []
    after = question[m.end() :]
    right = [t for t in weights if any(after.startswith(a) for a in t.split("|"))]
    if right:
        return [_with_short_forms(right[0])]
    before = question[: m.start()]
    ends = {t: max(before.rfind(a) + len(a) for a in t.split("|")) for t in weights
            if mentions(t, before) and not any(a in _NOT_MEASURED or a.endswith("了") or TARGET_WORDS.search(a)
                                               for a in t.split("|"))}
    near = sorted(ends, key=lambda t: -ends[t])
    long = [t for t in near if weights[t] >= 3]
    return [_with_short_forms(t) for t in dict.fromkeys([*near[:1], *(long or near[1:2])[:1]])]


_WHO = re.compile(r"(?:是谁|是哪位|是哪个人|叫什么名字|叫什么|姓什么)")


def person_focus(question: str, weights: Mapping[str, float]) -> list[str]:
    """The role a 是谁 question asks the holder of (管理中心的主任是谁: 主任): the answer must name it."""
    m = _WHO.search(question)
    if m is None:
        return []
    before = question[: m.start()]
    ends = {t: max(before.rfind(a) + len(a) for a in t.split("|")) for t in weights if mentions(t, before)}
    near = [t for t in ends if ends[t] >= len(before) - 1]  # right before 是谁, at most 的 between
    return near[:1]


def _with_short_forms(term: str) -> str:
    """The term with the short forms of what it spells out (研究与试验发展: 研发, R&D)."""
    forms = term.split("|")
    shorts = [a.replace(full, short) for short, full in SYNONYMS.items() if len(short) > 1 for a in forms if full in a]
    return "|".join(dict.fromkeys([*forms, *shorts]))


_LABEL = re.compile(r"^(\d{1,2}[.、．]\s*|[（(][一二三四五六七八九十\d]{1,3}[）)])?([^：:；;，,。]{2,20})[：:]([^；;。]*)")


def labelled_elsewhere(sent: str, weights: Mapping[str, float]) -> bool:
    """The statement is an item or a table row of a part the question does not name (1. 储能电池系统：营业收入
    31.42亿元；…, 地区：境内；2023年（亿元）：45.92): its figures are that part's, not the whole's."""
    m = _LABEL.match(sent)
    if m is None or any(term_cover(t, m.group(2)) >= 0.75 for t in weights):  # the label is what was asked (轮胎气压: 胎压)
        return False
    numbered, value = m.group(1), m.group(3)
    return bool(numbered) or not any(mentions(t, value) for t in weights)




def under_captions(units: list[str]) -> list[tuple[str, int | None]]:
    """Each statement with the year of the caption it stands under: a short line naming one year and no
    statement of its own (关键绩效表（2023年）, 三、合并利润表摘要（2022年度）)."""
    out: list[tuple[str, int | None]] = []
    year: int | None = None
    for u in units:
        year = caption_year(u) or year
        out.append((u, year))
    return out
