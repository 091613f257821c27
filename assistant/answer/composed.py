"""Answers composed from the indicator ledger: one figure in a whole sentence, a comparison that says
which is higher and by how much, a year's target against its result, a figure over the years.

Each returns None when the ledger has nothing that fits, and the sentence answerer takes over. Every
figure quoted is cited; the passage it was read from is added to the context when retrieval missed it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from assistant.answer.answerers import PART_OF_YEAR, answer_kind, type_rule
from assistant.answer.citations import attribution, marker
from assistant.ingest.figures import chinese_number
from assistant.profiles import get_profile, headline_names, query_indicators, query_synonyms
from assistant.records import Chunk, Figure, Passage
from assistant.retrieval.ledger import Ledger
from assistant.retrieval.query import QueryInfo

TARGET_ACTUAL = re.compile(
    r"目标.{0,10}(完成|实现|达到|达成|做到)|(完成|实现|达到|达成)(了)?.{0,6}目标|目标(和|与|跟|及)实际|实际(和|与|跟|及)目标"
    r"|是否(完成|实现|达标)|完成(了)?(吗|没有|没)|完成情况|达标(了)?(吗|没有)|实现(了)?(吗|没有|没)"
)
WORDING = ("增速", "增幅", "涨了", "收入增长", "物价")
"""Synonyms of how a question is worded, not names of an indicator: never read as one (一般公共预算收入增长)."""
RANKED = re.compile(r"(?:哪个|哪些|哪一个|哪座|哪家|谁)[^，。？?]{0,12}?最(?:高|低|快|慢|多|少|大|小)|排名|排[第前]|前[三五十](?:名|位)")
"""Which of all the entities is highest: every entity's figure, in order."""
_LOWEST_FIRST = re.compile(r"最(?:低|慢|少|小)")
RELATION_ASKED = re.compile(r"哪个|哪一?年|谁|更高|更低|更快|更多|更少|高还是低|相比|比较|对比|差距|差多少|变化|高于|低于|超过")
SERIES = re.compile(r"历年|近[一二两三四五六七八九十几\d]+年|这[几些]年|每年|各年|逐年|历年来|走势|趋势|变化情况|怎么变|如何变化")
CHANGE_ASKED = re.compile(r"比(?:19|20)\d{2}年[^，。？?\d]{0,6}?(?:增长|增加|减少|下降|多|少|涨|降)了?(?:多少|几成|百分之几|幅度)")
"""2024年营业收入比2023年增长多少: the change between two years, not which is higher."""
GROWTH_WORDS = re.compile(r"增长|增速|增幅|涨幅|下降|降幅|增长率|涨了|降了|提高了?多少|快|同比|增减")
SHARE_WORDS = re.compile(r"占比|比重|占.{0,12}(多少|百分之|比例)")
LEVEL_WORDS = re.compile(r"多少(亿|万)?元|多少亿|多少万|规模|总量|总额|是多少|有多少|达到多少|完成(了)?多少|多少(人|户|家|个|项|所|吨|亩|公里|张|套)")
ASK_OR_VERB = r"[是为有达增多完实的同比和与目计分年怎如情呢占下上规总要将预约能超突提降减较在能共合累各建任近历这每逐哪谁最排]"
MEASURE_TAILS = ("人数", "数量", "个数", "户数", "家数", "金额", "数额", "水平", "数据")
"""Words after an indicator that ask how much of it, not name a longer indicator (城镇新增就业人数)."""


@dataclass
class Composed:
    text: str
    figures: list[Figure]
    refused: bool = False
    reason: str | None = None
    series: list[dict] = field(default_factory=list)  # rows of a series answer (year, value, kind, n), for a chart


def compose(question: str, info: QueryInfo, passages: list[Passage], ledger: Ledger) -> tuple[Composed, list[Passage]] | None:
    """The composed answer and the passages it cites (the retrieved ones, then any it added), or None."""
    names = _indicator_words(info)
    if not names and not info.cities:
        return None
    c = _Composer(info, passages, ledger, names)
    asked = question
    for name in names:  # 实际利用外资的目标是多少 asks a goal, not a goal against a result
        asked = asked.replace(name, "")
    both = re.search(r"目标|计划|预期", asked) and re.search(r"实际|完成了?多少|实现了?多少", asked)
    if (TARGET_ACTUAL.search(asked) or both) and info.city and len(info.years) <= 1:
        out = c.target_actual()
    elif (SERIES.search(question) or (_bare(info, names) and not info.years)) and info.city and len(info.years) != 1:
        out = c.series()
    elif len(info.years) == 2 and len(info.cities) <= 1 and CHANGE_ASKED.search(info.text):
        out = c.change()
    elif RANKED.search(info.text) and len(info.years) == 1 and len(info.cities) != 1:
        out = c.ranking()
    elif info.compare and (len(info.cities) > 1 or len(info.years) > 1):
        out = c.compare()
    elif len(info.parts) < 2:
        out = c.single() or c.several()
    else:
        out = None
    return (out, c.passages) if out is not None else None


_BARE_ASK = re.compile(r"是多少|多少|怎么样|怎样|如何|情况|数据|呢|吗|的|\s")
_WHEN = re.compile(r"(?:19|20)\d{2}\s*年度?|今年|去年|上年|全年|本年度?")


def _without_entity_and_time(info: QueryInfo, words: tuple[str, ...] | list[str] = ()) -> str:
    """The question spelled out, with its entity, its years and parts of a year, and `words` taken off."""
    rest = PART_OF_YEAR.sub("", _WHEN.sub("", spelled_out(info.text)))
    for word in sorted([*info.mentions, *info.cities, *words], key=len, reverse=True):
        rest = rest.replace(word, "")
    return rest


def _bare(info: QueryInfo, names: list[str]) -> bool:
    """「盘锦GDP」「济南的一般公共预算收入是多少」「恒锐建材24年上半年营收」: one entity, one indicator,
    at most a time, and nothing else. With no year every year the reports state it for answers, as a
    series; with one, the figure of that year."""
    if len(info.cities) != 1 or len([n for n in names if not GROWTH_WORDS.fullmatch(n)]) != 1:
        return False
    return not _BARE_ASK.sub("", _without_entity_and_time(info, [*names, *query_indicators()]))


def _indicator_words(info: QueryInfo) -> list[str]:
    """Indicators the question names, longest first, with abbreviations spelled out (GDP -> 地区生产总值)."""
    text = info.text
    synonyms = query_synonyms()
    found: list[str] = []
    for word in query_indicators():
        if len(word) < 2 or word in WORDING:
            continue
        if word in text and not any(word in f for f in found):
            found.append(synonyms.get(word, word))
    return list(dict.fromkeys(found))


class _Composer:
    def __init__(self, info: QueryInfo, passages: list[Passage], ledger: Ledger, names: list[str]):
        self.info = info
        self.passages = list(passages)
        self.ledger = ledger
        self.names = names
        self.rank = {p.chunk.chunk_id: n for n, p in enumerate(passages)}
        self.normalised = spelled_out(info.text)
        self.known = set(query_indicators())
        self.headline = headline_names()  # 净利润 -> 归属于上市公司股东的净利润, read once a question
        self._names: dict[str, set[str]] = {}

    def heads_fit(self, name: str, f: Figure, asked: list[str]) -> bool:
        """The words the question puts before the indicator are the figure's too: 农村居民人均可支配收入 is not
        answered by 城镇常住居民人均可支配收入 although both hold 居民人均可支配收入."""
        for q in asked:
            pos = q.find(name)
            if pos < 0:
                continue
            tail = q[pos + len(name) : pos + len(name) + 2]
            counted = tail[:1] in ("数", "量") and re.match(ASK_OR_VERB, tail[1:])  # 新签约项目数这几年: how many
            if (re.fullmatch(r"[\u4e00-\u9fff]{2}", tail) and not re.match(ASK_OR_VERB, tail) and tail not in MEASURE_TAILS
                    and not counted and tail not in spelled_out(f.raw)):
                return False  # 研发人员 is not 研发投入
            longer = next((k for k in sorted(self.known, key=len, reverse=True)
                           if len(k) > len(name) and name in k and k in q), None)
            if longer is None:
                # nor is 地区生产总值 answered by 人均地区生产总值: a known name that qualifies the one asked,
                # unless it is what the short name means (净利润: 归属于上市公司股东的净利润)
                headline = self.headline.get(name)
                return not any(len(k) > len(name) and k.endswith(name) and k != headline and k in spelled_out(f.raw)
                               for k in self.known)
            head, tail = longer[: longer.find(name)], longer[longer.find(name) + len(name):]
            # 规模以上工业增加值 asked: 规上工业企业 holds 规模以上工业 but not 增加值
            return all(ch in f.raw for ch in head) and all(ch in spelled_out(f.raw) for ch in tail)
        return True

    def names_of(self, f: Figure) -> set[str]:
        """What a figure may be asked by: its name as normalised and as written, spelled out (规上 ->
        规模以上), any known indicator its words hold (建设高标准农田 -> 高标准农田), and the short name it is
        the headline figure of (归属于上市公司股东的净利润 -> 净利润)."""
        if f.raw not in self._names:
            spelled = spelled_out(f.raw)
            bare = spelled
            for filler in get_profile(None).figures.name_fillers:
                bare = bare.replace(filler, "") if len(bare) - len(filler) >= 3 else bare
            self._names[f.raw] = {f.raw, spelled, bare, *(k for k in self.known if len(k) >= 4 and _inside(k, spelled)),
                                  *(short for short, full in self.headline.items() if full == spelled)}
        return {f.indicator, *self._names[f.raw]} - {""}

    # --- choosing figures --------------------------------------------------------------------------
    def measures(self) -> list[str]:
        q = self.info.text
        if SHARE_WORDS.search(q):
            return ["share"]
        if GROWTH_WORDS.search(q) and not re.search(r"多少(亿|万)?元|多少亿", q):
            return ["growth"]
        kind = answer_kind(q)
        # 营收多少, 粮食产量多少: a level; a goal's bare 多少 (GDP目标多少) may be a growth rate
        if LEVEL_WORDS.search(q) or kind == "amount" or (kind == "count" and self.info.intent != "target"):
            return ["level", "count"]
        return []

    def kinds(self, period: int | None) -> list[str]:
        if self.info.intent == "target":
            return ["target"]
        if self.info.intent == "result":
            return ["actual", "expected"]
        return []

    def candidates(self, entity: str | None, period: int | None, kinds: list[str] | None = None,
                   measures: list[str] | None = None, text: str | None = None) -> list[Figure]:
        """The figures of the indicator the question names: the longest indicator name (as normalised, or
        as the report words it) that the question contains, so 单位GDP能耗 finds 单位地区生产总值能耗 and not
        地区生产总值."""
        measures = self.measures() if measures is None else measures
        kinds = self.kinds(period) if kinds is None else kinds
        pool = self.ledger.find([entity] if entity else None, [period] if period else None, kinds or None, measures or None)
        asked = [text] if text else [self.info.text, self.normalised]
        best_len, found = 0, []
        for f in pool:
            names = {n for n in self.names_of(f) if len(n) >= 3 and self.heads_fit(n, f, asked)}
            size = max((len(n) for n in names if any(n in q for q in asked)), default=0)
            if size > best_len:
                best_len, found = size, [f]
            elif size and size == best_len:
                found.append(f)
        if not found:
            # 竣工多少个项目 asks what 175个项目竣工 counts: a count's two words, asked in the other order
            found = [f for f in pool if f.measure == "count" and any(_reordered(f.raw, q) for q in asked)]
        return found

    def run(self, f: Figure) -> tuple[str, list[Figure]]:
        """The figure with those the report states with it for the same indicator (一般公共预算收入129.6亿元、
        增长6.8%; 分别增长5.5%左右和6.5%以上), as one span of the report's words."""
        chunk = self.ledger.view.chunks.get(f.chunk_id)
        same = sorted((g for g in self.ledger.find([f.entity] if f.entity else None, [f.period] if f.period else None)
                       if g.chunk_id == f.chunk_id and g.raw == f.raw and g.kind == f.kind), key=lambda g: g.start)
        if chunk is None or f not in same:
            return _figure_words(f), [f]
        i = j = same.index(f)
        while i > 0 and f.start - same[i - 1].end <= 40 and _adjacent(chunk.text, chunk.start, same[i - 1], same[i]):
            i -= 1
        while j + 1 < len(same) and _adjacent(chunk.text, chunk.start, same[j], same[j + 1]):
            j += 1
        group = same[i : j + 1]
        if len(group) == 1 or not group[0].text.startswith(group[0].raw or "\0"):
            return _figure_words(f), [f]
        return chunk.text[group[0].start - chunk.start : group[-1].end - chunk.start], group

    def best(self, figures: list[Figure]) -> Figure | None:
        """The figure retrieval ranked highest, a result before an estimate before a goal, the exact
        indicator before a longer one (地区生产总值 before 人均地区生产总值)."""
        if not figures:
            return None
        kind_order = {"actual": 0, "expected": 1, "target": 2}

        headline = {self.headline.get(n, "") for n in self.names}

        def key(f: Figure) -> tuple:
            exact = 0 if (not self.names or f.indicator in self.names or f.indicator in headline) else 1
            return (exact, self.rank.get(f.chunk_id, 99), kind_order.get(f.kind, 3), f.start)

        return min(figures, key=key)

    def cite(self, f: Figure) -> str:
        if f.chunk_id not in self.rank:
            chunk = self.ledger.view.chunks.get(f.chunk_id)
            if chunk is None:
                return ""
            self.passages.append(Passage(chunk=chunk, score=0.0))
            self.rank[f.chunk_id] = len(self.passages) - 1
        return marker(self.rank[f.chunk_id] + 1)

    # --- the answers -------------------------------------------------------------------------------
    def single(self) -> Composed | None:
        """One figure asked of one entity and year, and one figure in the ledger that fits: the report's own
        clause, with whose, which year and where from (盘锦2024年：据《…》“…”：预计全市地区生产总值增长3.5%左右。[1]).
        The clause is copied from the passage, so the answer quotes like the sentence answerer's."""
        info = self.info
        named = [n for n in self.names if not GROWTH_WORDS.fullmatch(n)]  # 增长 is how, not what, it asks
        # 「盘锦2025年GDP目标」「今年GDP目标多少」: an indicator's goal asked, however it is worded
        goal = info.intent == "target" and len(named) == 1 and answer_kind(info.text) in ("any", "count")
        # 「恒锐建材24年上半年营收」: the indicator and its time alone ask its figure
        bare = not goal and answer_kind(info.text) == "any" and _bare(info, self.names)
        if (answer_kind(info.text) not in ("percent", "amount", "count") and not goal and not bare) \
                or len(info.years) != 1 or info.compare:
            return None  # a reason, a list, a date, no year or several: the sentences answer it
        if len(named) > 1 or _several_asked(info.text, self.names, info.mentions):
            return None  # 营业收入和净利润分别是多少: one statement per thing asked, by the sentence answerer
        if not info.city and len({p.chunk.entity for p in self.passages[:3]}) != 1:
            return None
        entity = info.city or self.passages[0].chunk.entity
        measures = self.measures()
        if bare and not measures:  # how much, else how fast, else how many (连续7个季度 is no GDP)
            f = next((g for m in ("level", "growth", "count")
                      if (g := self.only(self.candidates(entity, info.year, measures=[m]))) is not None), None)
        elif not measures and not goal:
            return None
        else:  # a goal of any measure: only one fits
            f = self.only(self.candidates(entity, info.year, measures=measures))
        stated = self.stated(f, entity) if f is not None else None
        if f is None or stated is None:
            return None
        label, quote = stated
        return Composed(f"{label}：{attribution(f.title, f.section)}：{quote}。{self.cite(f)}", [f])

    def several(self) -> Composed | None:
        """Two to six indicators asked of one entity and year (盘锦2024年GDP、一般公共预算收入和固定资产投资分别
        增长多少): one quoted clause each, in the order asked, under one label. An indicator the ledger holds
        nothing of for that year is named as not found, never silently left out; figures that disagree
        leave the question to the sentences."""
        info = self.info
        named = [n for n in self.names if not GROWTH_WORDS.fullmatch(n)]
        others = _other_names(info, named) if named and len(info.cities) == 1 else []
        named += others  # GDP和人均可支配收入: a name no vocabulary knows is asked too
        if (answer_kind(info.text) not in ("percent", "amount", "count") or len(info.years) != 1 or len(info.cities) != 1
                or not 2 <= len(named) <= 6 or not self.measures()):
            return None
        spelled = self.normalised
        named.sort(key=lambda n: spelled.find(n) if n in spelled else len(spelled))
        found: list[tuple[Figure, str]] = []
        missing: list[str] = []  # asked, and neither the ledger nor the passages hold it for that year
        for name in named:
            pool = self.candidates(info.city, info.year, text=name)
            if not pool and name in others:
                # 人均可支配收入 asked, 城镇居民… and 农村居民… stated: each of the names that end with it
                narrower = self.narrower(name)
                if narrower is None:
                    return None  # their figures disagree: the sentences answer
                for g in narrower:
                    stated = self.stated(g, info.city)
                    chunk = self.ledger.view.chunks.get(g.chunk_id)
                    # 城乡居民人均可支配收入分别增长4.6%和8.2%: the clause, where its name 城镇居民… is not written
                    quote = stated[1] if stated is not None else \
                        _clause_quote(chunk.text, chunk.start, g, max_back=0, named=False) if chunk is not None else None
                    if not quote:
                        return None  # a figure found but not quotable: never left out in silence
                    found.append((g, quote))
                if narrower:
                    continue
            if not pool:
                if any(name in spelled_out(p.chunk.text) for p in self.passages
                       if p.chunk.entity == info.city and p.chunk.period in (None, info.year)):
                    return None  # the words are in the passages: the ledger may have missed the figure
                missing.append(name)
                continue
            f = self.only(pool, names=[name])
            stated = self.stated(f, info.city) if f is not None else None
            if f is None or stated is None:
                return None  # figures that disagree or cannot be quoted: the sentences answer
            found.append((f, stated[1]))
        if not found:
            return None
        pieces: list[str] = []
        source = None
        for f, quote in found:
            said = f"{quote}{self.cite(f)}"
            if said in pieces:
                continue  # two of them in one clause (一般公共预算收入129.6亿元，增长6.8%)
            if f.report_id != source:
                said = f"{attribution(f.title, f.section)}：{said}"
                source = f.report_id
            pieces.append(said)
        figures = [f for f, _ in found]
        # what was not found is said, so an answer to part of the question never reads as the whole
        gap = f"报告中没有找到{info.city}{info.year}年{'、'.join(missing)}的对应数值。" if missing else ""
        return Composed(f"{info.city}{info.year}年：" + "；".join(pieces) + "。" + gap, figures)

    def narrower(self, name: str) -> list[Figure] | None:
        """The figures, one each, of the longer names that end with `name` (城镇居民人均可支配收入 for
        人均可支配收入; not 人均地区生产总值 for 地区生产总值), of the measures and kinds asked, in the
        report's order; None where a name's figures disagree."""
        city, year = self.info.city, self.info.year
        if city is None or year is None:
            return []
        kinds = self.kinds(year)
        pool = self.ledger.find([city], [year], kinds or None, self.measures() or None)  # only() picks the kinds
        by_name: dict[str, list[Figure]] = {}
        for f in pool:
            if f.indicator != name and f.indicator.endswith(name) and len(f.indicator) <= len(name) + 6:
                by_name.setdefault(f.indicator, []).append(f)
        out = [self.only(figs, names=[ind]) for ind, figs in by_name.items()]
        return None if any(f is None for f in out) else sorted((f for f in out if f is not None), key=lambda f: f.start)

    def stated(self, f: Figure, entity: str | None) -> tuple[str, str] | None:
        """(label, quote) of one figure: the report's clause that states it, and whose and which year it is,
        with 预计/目标 where the clause does not say so and the value where a table cell does not."""
        info = self.info
        chunk = self.ledger.view.chunks.get(f.chunk_id)
        quote = _clause_quote(chunk.text, chunk.start, f) if chunk is not None else None
        if quote is None:
            return None
        name = f.raw or f.indicator
        cues = get_profile(chunk.profile if chunk is not None else None).figures
        note = ""  # an estimate or a goal says so, in the report's words or else in ours
        if f.kind == "expected" and not any(c in quote for c in cues.expected_cues):
            note = "（预计）"
        elif f.kind == "target" and not any(c in quote for c in cues.target_cues if len(c) > 1):
            note = "（目标）"
        label = f"{entity or ''}{f.period or info.year}年{name if name not in quote else ''}{note}"
        if len(label) > 20:  # a longer subject label would read as part of the quote
            label = f"{entity or ''}{f.period or info.year}年{note}"
        if f.value_text.strip() not in quote:  # a table cell (71.38 under 2023年度（亿元）): the value said, then the row
            label = f"{entity or ''}{f.period or info.year}年{name}{f.value_text}{note}"
        return label, quote

    def only(self, figures: list[Figure], names: list[str] | None = None) -> Figure | None:
        """The one figure that answers, or None when none does or they disagree: a result before a goal
        unless a goal is asked, the exact indicator before a longer one; records of one value (the same
        figure in two reports) are one answer, from the passage about that year; different values are no clear answer."""
        chunks = self.ledger.view.chunks
        figures = [f for f in figures if self.covers_asked_part(chunks.get(f.chunk_id))]
        asked = self.kinds(None)
        wanted = [f for f in figures if f.kind in (asked or ["actual", "expected"])]
        figures = wanted or ([] if asked else figures)
        names = self.names if names is None else names
        exact = [f for f in figures if f.indicator in names]
        headline = {self.headline.get(n, "") for n in names} - {""}
        # the headline figure first (净利润 of a listed company: the shareholders'), then the exact name
        figures = [f for f in figures if f.indicator in headline] or exact or figures
        if not figures or not all(_same_value(figures[0], f) for f in figures[1:]):
            return None
        # one value in several reports: cite the passage about that year (the 2022 report, not 2023's 上年同期)
        own = [f for f in figures if (c := chunks.get(f.chunk_id)) is not None and c.period == f.period]
        figures = own or figures
        return self.best([f for f in figures if f.value_text in f.text] or figures)  # a sentence reads before a cell

    def covers_asked_part(self, chunk: Chunk | None) -> bool:
        """A half-year or quarterly report's figures answer only a question that asks for that part of the
        year (2024年上半年净利润), and then only they do: 2024年净利润 is not the first half's."""
        rule = type_rule(chunk) if chunk is not None else None
        if rule is not None and rule.part_of_year is not None:
            return bool(rule.part_of_year.search(self.info.text))
        return not PART_OF_YEAR.search(self.info.text)

    def compare(self) -> Composed | None:
        info = self.info
        sides: list[tuple[str, str | None, int | None]]
        if len(info.cities) > 1:
            sides = [(e, e, info.year) for e in info.cities]
        elif info.city or len({p.chunk.entity for p in self.passages}) == 1:
            entity = info.city or self.passages[0].chunk.entity
            sides = [(f"{y}年", entity, y) for y in info.years]
        else:
            return None
        chosen: list[Figure] = []
        missing: list[str] = []
        for label, entity, year in sides:
            f = self.best(self.candidates(entity, year, kinds=self.side_kinds(label)))
            if f is None:
                missing.append(label if len(info.cities) > 1 else f"{entity}{label}")
            else:
                chosen.append(f)
        if missing:
            if not chosen:
                return None
            found = "；".join(f"{_statement(f, f.entity)}{self.cite(f)}" for f in chosen)
            when = f"{info.year}年" if info.year and len(info.cities) > 1 else ""
            if not RELATION_ASKED.search(info.text):
                # 盘锦2024年GDP增长多少，沈阳呢: 沈阳's report states only the goal for 2024; say it is the goal,
                # never answer one side alone. A side with no figure of any kind: the sentences answer.
                if len(info.cities) < 2:
                    return None
                others = [self.best(self.candidates(e, info.year, kinds=[])) for e in missing]
                if any(g is None for g in others):
                    return None
                more = "；".join(f"{_statement(g, g.entity)}{self.cite(g)}" for g in others if g is not None)
                return Composed(f"{found}；{more}（报告中没有{'、'.join(missing)}{when}的实际数，以上为其目标或预计数）", chosen + [g for g in others if g is not None])
            # asked which is higher, one side has no figure: say what was found and why no comparison
            absent = f"已收录的报告中没有找到{'、'.join(missing)}{when}的对应数值。"
            return Composed(f"无法比较：{found}；{absent}", chosen, refused=True, reason=f"no figure for {'、'.join(missing)}")
        comparable = len({(f.measure, f.base_unit) for f in chosen}) == 1
        parts = []
        for (_, entity, _), f in zip(sides, chosen, strict=True):
            parts.append(f"{_statement(f, entity)}{self.cite(f)}")  # a goal beside a result says which it is
        text = "，".join(parts) + "。"
        a, b = chosen[0], chosen[1]
        name_a, name_b = sides[0][0], sides[1][0]
        if not comparable:
            text += "（两者计量口径或单位不同，未直接比较）"
        elif len(chosen) == 2:
            text += _relation(name_a, a, name_b, b)
        else:
            top = max(range(len(chosen)), key=lambda i: chosen[i].base_value)
            low = min(range(len(chosen)), key=lambda i: chosen[i].base_value)
            text += f"{sides[top][0]}最高（{chosen[top].value_text}），{sides[low][0]}最低（{chosen[low].value_text}）。"
        return Composed(text, chosen)

    def ranking(self) -> Composed | None:
        """2023年哪个城市GDP增速最高: the figure of every entity the reports state it for (the ones named, or
        all), in order, each cited, and which is highest; ties said as ties. None unless two or more have
        one figure each in one unit."""
        info = self.info
        named = [n for n in self.names if not GROWTH_WORDS.fullmatch(n)]
        if len(named) != 1:
            return None
        # no measure said (GDP最高, 社零目标哪个城市最高): how much first, else how fast, never the two mixed
        tries = [self.measures()] if self.measures() else [["level", "count"], ["growth"]]
        found: list[Figure] = []
        unclear: list[str] = []
        for measures in tries:
            pool = self.ledger.find(info.cities or None, [info.year] if info.year else None,
                                    self.kinds(info.year) or None, measures)
            found, unclear = [], []
            for entity in dict.fromkeys(f.entity for f in pool if f.entity):
                cands = self.candidates(entity, info.year, measures=measures)
                f = self.only(cands)
                if f is not None:
                    found.append(f)
                elif cands:
                    unclear.append(entity)  # its reports state two different values: said, not dropped silently
            if len(found) >= 2 and len({(f.measure, _magnitude(f.base_unit)[0]) for f in found}) == 1:
                break
        else:
            return None
        low_first = bool(_LOWEST_FIRST.search(info.text))
        found.sort(key=lambda f: _magnitude(f.base_unit)[1] * f.base_value, reverse=not low_first)
        top = [f for f in found if _same_value(f, found[0])]
        rows = "；".join(f"{i}. {_statement(f, f.entity)}{self.cite(f)}" for i, f in enumerate(found, start=1))
        who = "、".join(f.entity or "" for f in top)
        said = re.search(r"最(?:高|低|快|慢|多|少|大|小)", info.text)
        which = said.group() if said else "最低" if low_first else "最高"
        lead = f"{who}{'并列' if len(top) > 1 else ''}{which}（{top[0].value_text}）"
        scope = f"已收录报告中写明{info.year}年这一数值的{len(found)}个对象里，"
        if measures is not tries[0]:  # 最高 asked, the reports state how fast rather than how much: say so
            scope = f"多数报告未写明{info.year}年的总量，以下按增速排列。{scope}"
        left = f"{'、'.join(unclear)}的报告写有不止一个数值，未列入。" if unclear else ""
        return Composed(f"{scope}{lead}：{rows}。{left}（按报告所写数值排列，预计数、目标数以报告为准）", found)

    def change(self) -> Composed | None:
        """2023年营业收入比2022年增长多少: the later year's figure against the earlier one's, the change worked
        out from both, and the growth the report itself states when the years follow each other."""
        info = self.info
        entity = info.city or (self.passages[0].chunk.entity if len({p.chunk.entity for p in self.passages}) == 1 else None)
        m = re.search(r"比((?:19|20)\d{2})年", info.text)
        if entity is None or m is None:
            return None
        earlier = int(m.group(1))
        later = next((y for y in info.years if y != earlier), None)
        if later is None or later < earlier:
            return None
        results = ["actual", "expected"]
        a, b = (self.best(self.candidates(entity, y, results, ["level", "count"])) for y in (later, earlier))
        stated = self.best(self.candidates(entity, later, results, ["growth"])) if later - earlier == 1 else None
        if a is None or b is None or a.base_unit != b.base_unit or b.base_value <= 0:
            if stated is None:
                return None
            return Composed(f"{_statement(stated, entity)}{self.cite(stated)}{_source(stated)}。", [stated])
        diff, unit = _difference(a, b)
        pct = (a.base_value - b.base_value) / b.base_value * 100
        text = (f"{_statement(a, entity)}{self.cite(a)}，{earlier}年为{b.value_text}{self.cite(b)}，"
                f"{'增加' if diff >= 0 else '减少'}{_number(abs(diff))}{unit}（按两年数值计算，{'增长' if pct >= 0 else '下降'}{abs(pct):.2f}%）")
        figures = [a, b]
        if stated is not None:
            text += f"；报告所写：{_figure_words(stated)}{self.cite(stated)}"
            figures.append(stated)
        return Composed(text + "。", figures)

    def side_kinds(self, label: str) -> list[str] | None:
        """A side's own words decide goal or result (2024年社零实际增速和2025年增长目标): the text from the
        side's name to the next side's."""
        text = self.info.text
        pos = text.find(label.rstrip("年"))
        if pos < 0 or len(self.info.years) < 2:
            return None
        rest = text[pos + len(label) :]
        nxt = min([rest.find(f"{y}") for y in self.info.years if rest.find(f"{y}") >= 0] or [len(rest)])
        words = rest[:nxt]
        if re.search(r"目标|预期|计划", words):
            return ["target"]
        if re.search(r"实际|完成|实现", words):
            return ["actual", "expected"]
        return None

    def target_actual(self) -> Composed | None:
        info = self.info
        entity = info.city
        measures = self.measures() or ["growth", "level", "count", "share"]
        years = [info.year] if info.year else sorted({f.period for f in self.candidates(entity, None, ["target"], measures)
                                                       if f.period}, reverse=True)
        for year in years:
            goals = [f for f in self.candidates(entity, year, ["target"], measures) if f.year == year]
            goal = self.best(goals)
            if goal is None:
                continue
            results = [f for f in self.candidates(entity, year, ["actual", "expected"], [goal.measure])
                       if f.year is not None and f.year > year and f.base_unit == goal.base_unit]
            result = self.best([f for f in results if f.indicator == goal.indicator] or results)
            label = f"{entity}{year}年{goal.indicator or goal.raw}"
            if result is None:
                text = (f"无法判断：已收录的报告中只有{entity}{year}年的目标——{_figure_words(goal)}{self.cite(goal)}{_source(goal)}，"
                        f"没有说明{year}年实际完成情况的报告（通常在{year + 1}年的报告中）。")
                return Composed(text, [goal], refused=True, reason=f"no result for {year}")
            diff, unit = _difference(result, goal)
            if abs(diff) < 1e-9:
                verdict = "与目标持平，完成了目标"
            elif diff > 0:
                verdict = f"高于目标{_number(diff)}{unit}，完成了目标"
            else:
                verdict = f"低于目标{_number(-diff)}{unit}，未完成目标"
            if goal.qualifier in ("以上",) and diff < 0 or goal.qualifier == "左右" and abs(diff) <= 0.2 and diff < 0:
                verdict = verdict.replace("未完成目标", "未完成目标" if goal.qualifier == "以上" else "基本完成目标（目标为“左右”）")
            said = _figure_words(result)  # 实际利用外资9.49亿美元 is not said 实际实际利用外资…
            said = f"实际{'预计' if result.kind == 'expected' else ''}{said.removeprefix('实际')}"
            text = (f"{label}：目标是{_figure_words(goal)}{self.cite(goal)}{_source(goal)}，"
                    f"{said}{self.cite(result)}{_source(result)}，"
                    f"{verdict}。")
            return Composed(text, [goal, result])
        return None

    def widened(self, entity: str | None, measures: list[str] | None, found: list[Figure]) -> list[Figure]:
        """For the years the asked name finds nothing, the figures whose name is it with a word or two put
        inside (新签约项目 asked; 2022 and 2024 say 新签约注册项目): one series, worded differently by year."""
        names = {f.indicator for f in found if len(f.indicator) >= 4}
        years = {f.period for f in found}
        if not names:
            return []
        measure = {f.measure for f in found}
        return [g for g in self.ledger.find([entity] if entity else None, None, None, measures)
                if g.period and g.period not in years and g.measure in measure
                and any(_widens(n, g.indicator) for n in names)]

    def series(self) -> Composed | None:
        entity = self.info.city
        measures = self.measures() or None
        figures = [f for f in self.candidates(entity, None, None, measures) if f.period]
        if not figures:
            return None
        widened = self.widened(entity, measures, figures)
        figures += widened
        # the measure the reports state it in most, of those asked (level or count: 2.8万人 is a count)
        measure = max({f.measure for f in figures}, key=lambda m: sum(f.measure == m for f in figures))
        by_year: dict[int, list[Figure]] = {}
        for f in figures:
            if f.measure == measure and f.period is not None:
                by_year.setdefault(f.period, []).append(f)
        kind_order = {"actual": 0, "expected": 1, "target": 2}
        rows = []
        chosen = []
        for year in sorted(by_year):
            # a year's result from the later report that reviews it, before the goal set for it
            # (the exact indicator asked before a longer one: 营业收入 before 动力电池营业收入)
            f = min(by_year[year], key=lambda g: (g in widened, 0 if not self.names or g.indicator in self.names else 1,
                                                  len(g.indicator), kind_order.get(g.kind, 3), -(g.year or 0),
                                                  self.rank.get(g.chunk_id, 99), g.start))
            chosen.append(f)
        chosen = _last_years(self.info.text, chosen)
        if len(chosen) < 2:
            return None
        named = [f for f in chosen if f not in widened] or chosen  # the name asked, not another year's wording
        name = named[0].indicator or named[0].raw
        lines = [f"{entity}{name}{_measure_word(measure)}，各年情况（共{len(chosen)}年）：", "",
                 "| 年份 | 数值 | 说明 | 出处 |", "| --- | --- | --- | --- |"]
        for f in chosen:
            n = self.cite(f)
            kind = {"actual": "实际", "expected": "预计", "target": "目标"}[f.kind]
            if f.indicator != name:
                kind += f"（报告称“{f.raw or f.indicator}”）"  # 新签约项目 one year, 新签约注册项目 the next
            lines.append(f"| {f.period}年 | {f.said()}{n} | {kind} | 《{f.title}》 |")
            rows.append({"year": f.period, "value": f.value, "unit": f.unit, "kind": f.kind, "n": int(n[1:-1])})
        return Composed("\n".join(lines), chosen, series=rows)


def _reordered(name: str, question: str) -> bool:
    """The question holds a short name's two halves, the second before the first (项目竣工: 竣工…项目)."""
    return 4 <= len(name) <= 6 and any(
        (b := question.find(name[i:])) >= 0 and question.find(name[:i], b + len(name) - i) >= 0
        for i in range(2, len(name) - 1))


def _widens(name: str, other: str) -> bool:
    """`other` is `name` with a few words put inside it (新签约项目 -> 新签约注册项目): how one report's
    wording of a yearly figure differs from another's. Both ends keep two characters or more."""
    extra = len(other) - len(name)
    return 0 < extra <= 4 and any(other.startswith(name[:i]) and other.endswith(name[i:])
                                  and re.fullmatch(r"[\u4e00-\u9fff]+", other[i : i + extra])
                                  for i in range(2, len(name) - 1))


def _last_years(question: str, chosen: list[Figure]) -> list[Figure]:
    """近两年, 近三年: the last n years; results before goals when the question does not ask for goals
    (近两年增长情况 is what happened, not next year's target)."""
    m = re.search(r"近([一二两三四五六七八九十\d]+)年", question)
    if m is None:
        return chosen
    words = m.group(1)
    n = int(words) if words.isdigit() else int(chinese_number(words))
    if n < 1:
        return chosen
    if not re.search(r"目标|计划|预期", question):
        results = [f for f in chosen if f.kind != "target"]
        chosen = results if len(results) >= min(n, 2) else chosen
    return chosen[-n:]


def _measure_word(measure: str) -> str:
    return {"growth": "增长", "share": "占比", "level": "", "count": "", "rank": "排名"}.get(measure, "")


def _figure_words(f: Figure) -> str:
    """The figure as the report states it, from its indicator: 地区生产总值增长3.5%左右."""
    # 175个项目竣工: a count names what it counts after the number, and is said as written
    return f.text if (f.raw and (f.text.startswith(f.raw) or f.text.startswith(f.value_text))) else f"{f.indicator or f.raw}{_growth(f)}{f.value_text}"


def _growth(f: Figure) -> str:
    if f.measure == "growth":
        return "下降" if f.value < 0 else "增长"
    return "为" if f.measure in ("level", "count") else ""


def _statement(f: Figure, entity: str | None, words: str | None = None) -> str:
    """盘锦2024年预计地区生产总值增长3.5%左右 — entity, year, estimate or goal, the figure."""
    year = f"{f.period}年" if f.period else ""
    words = words or _figure_words(f)
    if f.kind == "target":
        return f"{entity or ''}{year}目标：{words}"
    if f.kind == "expected" and "预计" not in words:
        return f"{entity or ''}{year}预计{words}"
    return f"{entity or ''}{year}{words}"


def _adjacent(text: str, offset: int, a: Figure, b: Figure) -> bool:
    """b follows a with only a joining word or mark between them (、 和 , 增长)."""
    gap = text[a.end - offset : b.start - offset]
    return len(gap) <= 4 and not re.search(r"[。；;：:]", gap)


@lru_cache(maxsize=1)
def _abbreviations() -> tuple[tuple[str, str], ...]:
    """The profiles' abbreviations worth spelling out, longest first (the profiles load once a process)."""
    pairs = sorted(query_synonyms().items(), key=lambda kv: -len(kv[0]))
    return tuple((short, full) for short, full in pairs if len(short) >= 2 and short not in WORDING)


@lru_cache(maxsize=8192)
def spelled_out(text: str) -> str:
    """The question with its abbreviations spelled out in place: 单位GDP能耗 -> 单位地区生产总值能耗. Cached:
    each candidate figure's name is spelled out once, not once per question and name."""
    for short, full in _abbreviations():
        if short in text and full not in text:
            text = text.replace(short, full)
    return text


def _source(f: Figure) -> str:
    section = f.section.split(" > ")[-1] if f.section else ""
    if len(section) > 24:
        section = section[:24] + "…"
    return f"（《{f.title}》{'·' + section if section else ''}）"


_CLAUSE_END = "，,；;。！？!?\n"


def _clause_quote(text: str, offset: int, f: Figure, max_back: int = 2, named: bool = True) -> str | None:
    """The clause of the passage that states the figure, from the mark before it to the mark after it, and
    the clause or two before when the figure's name is written there (一般公共预算收入129.6亿元，增长6.8%;
    粮食生产再获丰收，产量达到6.72亿斤): never cut inside a clause, never past the sentence. None when the
    quote does not hold the name, unless `named` is off."""
    start, end = f.start - offset, f.end - offset
    if not (0 <= start < end <= len(text)):
        return None
    sentence_start = max(text.rfind(c, 0, start) for c in "。！？!?\n") + 1
    begin = max(max(text.rfind(c, sentence_start, start) for c in _CLAUSE_END + "：:") + 1, sentence_start)
    stop = min([i for c in _CLAUSE_END if (i := text.find(c, end)) >= 0] or [len(text)])
    name = f.raw or f.indicator
    if f.value_text.strip() not in text[begin:stop]:  # a table cell: its row from the start, where the name is
        begin = sentence_start
    for _ in range(max_back):
        if not name or all(ch in text[begin:stop] for ch in name) or begin <= sentence_start:
            break
        begin = max(max(text.rfind(c, sentence_start, begin - 1) for c in _CLAUSE_END + "：:") + 1, sentence_start)
    quote = text[begin:stop].strip()
    return quote if not named or not name or all(ch in quote for ch in name) else None


def _inside(known: str, name: str) -> bool:
    """A known indicator a longer name holds as itself: after a verb (建设高标准农田), not after a
    qualifier that makes it another figure (海洋经济生产总值 is not 地区生产总值)."""
    at = name.find(known)
    if at < 0:
        return False
    head = name[:at]
    words = get_profile(None).figures
    return len(head) <= 2 or head in words.lead_words or head in words.verbs


def _same_value(a: Figure, b: Figure) -> bool:
    """One figure written twice, maybe rounded: 326,418,552.16元 and 3.26亿元 agree to the digits the rounder shows."""
    (root_a, fa), (root_b, fb) = _magnitude(a.base_unit), _magnitude(b.base_unit)
    if (a.measure, root_a, a.qualifier) != (b.measure, root_b, b.qualifier):
        return False
    x, y = a.base_value * fa, b.base_value * fb
    if a.unit == b.unit:
        return abs(x - y) <= 1e-9 * max(abs(x), 1.0)  # 6% and 6.5% are two statements, not one rounded
    step = max(_last_digit(a) * fa, _last_digit(b) * fb)  # 3.26亿元 is 326,418,552.16元 rounded
    return abs(x - y) <= step / 2 + 1e-9 * max(abs(x), 1.0)


_MAGNITUDES = (("万亿", 1e12), ("千万", 1e7), ("百万", 1e6), ("亿", 1e8), ("万", 1e4))


def _magnitude(unit: str) -> tuple[str, float]:
    """A unit as its root and the factor of its Chinese magnitude word: 亿元 -> (元, 1e8), 万人 -> (人, 1e4)."""
    for word, factor in _MAGNITUDES:
        if unit.startswith(word) and len(unit) > len(word):
            return unit[len(word):], factor
    return unit, 1.0


def _last_digit(f: Figure) -> float:
    """The value of the last written digit in the base unit (3.26亿元: 0.01; 326,418,552.16元: 0.01)."""
    digits = re.search(r"\d[\d,]*(?:\.(\d+))?", f.value_text)
    decimals = len(digits.group(1)) if digits and digits.group(1) else 0
    scale = f.base_value / f.value if f.value else 1.0
    return abs(scale) * 10 ** -decimals


_ASK_FILLER = r"(?:分别|各自?|是|为|增长了?|增速|增幅|多少|几|了|的|呢|吗|[？?。！!\s])+"
_ASK_ENDS = re.compile(rf"^{_ASK_FILLER}|{_ASK_FILLER}$")
_NOT_A_NAME = re.compile(r"原因|为什么|为何|情况|措施|如何|怎么|怎样|哪些|什么|目标|计划")


def _other_names(info: QueryInfo, names: list[str]) -> list[str]:
    """The other things a question joins to the indicators it names (GDP和人均可支配收入分别增长多少 ->
    人均可支配收入): each joined part with entity, time and the ask words at its ends taken off, when it
    is a name (not 主要原因) and not one of those named already."""
    known = [_ASK_ENDS.sub("", n) for n in names]
    out = []
    for part in re.split(r"[和与及、，,]", _without_entity_and_time(info)):
        part = _ASK_ENDS.sub("", part)
        if (len(part) >= 3 and re.fullmatch(r"[\u4e00-\u9fff]+", part) and not _NOT_A_NAME.search(part)
                and not any(n in part or part in n for n in [*names, *known])):
            out.append(part)
    return out


def _several_asked(question: str, names: list[str], mentions: list[str]) -> bool:
    """两个以上的指标: 营业收入和净利润, 分别: the question joins things asked, not words of one name."""
    text = spelled_out(question)
    for word in sorted([*names, *mentions, *query_indicators()], key=len, reverse=True):
        if len(word) >= 2 and word in text:
            text = text.replace(word, "　")
    return bool(re.search(r"分别|各是|各为|[和与及、]", text))


def _difference(a: Figure, b: Figure) -> tuple[float, str]:
    """a − b in the unit both are written in (17.5万人 − 4.55万人 = 12.95万人), else in the base unit."""
    if a.unit == b.unit and a.unit not in ("%", "％"):
        return a.value - b.value, a.unit
    return a.base_value - b.base_value, _difference_unit(a)


def _difference_unit(f: Figure) -> str:
    if f.unit in ("%", "％", "个百分点", "百分点"):
        return "个百分点"
    return f.base_unit


def _number(x: float) -> str:
    text = f"{x:.4f}".rstrip("0").rstrip(".")
    return text or "0"


def _relation(name_a: str, a: Figure, name_b: str, b: Figure) -> str:
    """沈阳高于福州0.7个百分点 / 两者持平; a level of two amounts also says how many times."""
    diff, unit = _difference(a, b)
    approx = any(f.qualifier for f in (a, b))
    if abs(diff) < 1e-9:
        return f"{name_a}与{name_b}持平" + ("（按报告所写数值比较）" if approx else "") + "。"
    hi, lo = (name_a, name_b) if diff > 0 else (name_b, name_a)
    text = f"{hi}高于{lo}，高{_number(abs(diff))}{unit}"
    if a.measure in ("level", "count") and min(a.base_value, b.base_value) > 0 and unit not in ("个百分点",):
        ratio = max(a.base_value, b.base_value) / min(a.base_value, b.base_value)
        text += f"（约为{lo}的{ratio:.2f}倍）"
    return text + ("（按报告所写数值比较）" if approx else "") + "。"

