"""Question terms and sentence matching, shared by retrieval (which passage states it) and the answerer
(which sentence states it): one notion of "this sentence says what was asked"."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from assistant.profiles import load_profiles
from assistant.retrieval.query import SYNONYMS

INDICATORS = frozenset(i for p in load_profiles().values() for i in p.indicators)
# an indicator's short names (营业收入: 营收), not a modifier's (规上): a report may write either
SHORT_NAMES: dict[str, list[str]] = {}
for _short, _full in SYNONYMS.items():
    if _full in INDICATORS and len(_short) > 1 and not _short.isascii() and _short not in _full:
        SHORT_NAMES.setdefault(_full, []).append(_short)

_SENT_END = re.compile(r"(?<=[。！？；!?;])|\n")
_QUESTION_NOISE = re.compile(
    r"是多少|多少|是什么|什么|哪些|哪几|有几|几项|几个|为何|怎样|如何|怎么|吗|呢|么|请问|一下|告诉我|是否|"
    r"大概|大约|约|左右|分别|各是|各自|各|相比|对比|比较|报告|政府工作|提到|提出|说|讲|里|中|的|了|和|与|及|年|"
    r"我想|想知道|想问|了解|了解下|帮我|查查|查一下|看看|情况|[？?！!，,。、\s]"
)
_INTENT_WORDS = re.compile(r"目标|预期|预期目标|计划|打算|力争|要|将|实际|完成|实现|今年|去年|明年|全年|当年|年初")


def question_terms(question: str, tokenize: Callable[[str], list[str]], cities: Sequence[str] = ()) -> list[str]:
    """Content terms of the question, abbreviations spelled out; place and year words left to the metadata."""
    text = question
    for name in cities:
        text = text.replace(name, " ")
    said: dict[str, str] = {}  # full form -> the words the question used (研究与试验发展 -> 研发)
    for short, full in sorted(SYNONYMS.items(), key=lambda kv: -len(kv[0])):
        if short in text and full not in text:
            text = text.replace(short, full)  # no spaces: 规上工业增加值 -> 规模以上工业增加值 stays one word
            said.setdefault(full, short)
    terms = [t for t in tokenize(text)
             if len(t) > 1 and not _QUESTION_NOISE.fullmatch(t) and not _INTENT_WORDS.fullmatch(t)
             and not re.fullmatch(r"\d{4}", t)]
    # a report may use either form: 「研发经费投入」 states what 「研发投入」 asks as well as 研究与试验发展 would,
    # and 「全年营收71.38亿元」 what 「营业收入」 asks
    out = []
    for t in terms:
        typed = [t.replace(full, short) for full, short in said.items() if full in t and len(short) > 1]
        alts = [t, *typed, *SHORT_NAMES.get(t, [])]
        out.append("|".join(dict.fromkeys(alts)))
    return list(dict.fromkeys(out))


def term_weights(terms: list[str]) -> dict[str, int]:
    """Longer terms carry more of the question (地区生产总值 over 增长), capped so one term cannot dominate.
    A term may be alternatives (`研究与试验发展|研发`): either form states it."""
    return {t: min(max(len(a) for a in t.split("|")), 4) for t in terms}


def mentions(term: str, text: str) -> bool:
    """The text holds the term, or one of its alternatives."""
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
            clauses = re.split(r"(?<=[，,])", s)
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


def key_clause(sentence: str, weights: dict[str, int], fits: Callable[[str], float]) -> str | None:
    """The shortest run of up to three consecutive clauses of a long sentence that states as many question
    terms as the whole sentence and the kind of figure asked for: the words to lead an answer with (the whole
    sentence follows it as the quote). None when the sentence is short or no clause run says it alone."""
    if len(sentence) <= 60:
        return None
    clauses = [c for c in re.split(r"(?<=[，,；;：:])", sentence) if c.strip()]
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
    pairs = [term[i : i + 2] for i in range(len(term) - 1)]
    share = sum(1 for p in pairs if p in sent) / len(pairs)
    return share if share >= 0.5 else 0.0


def sentence_match(text: str, weights: dict[str, int]) -> float:
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
