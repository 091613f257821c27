"""Query understanding: cities, years (also 今年/去年/明年), intent, abbreviations, compare splits."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SYNONYMS: dict[str, str] = {
    "GDP": "地区生产总值", "gdp": "地区生产总值", "生产总值": "地区生产总值", "经济总量": "地区生产总值",
    "外贸": "进出口", "社零": "社会消费品零售总额", "消费品零售": "社会消费品零售总额",
    "固投": "固定资产投资", "规上": "规模以上", "规模以上工业": "规模以上工业增加值",
    "财政收入": "一般公共预算收入", "地方财政收入": "一般公共预算收入", "CPI": "居民消费价格", "cpi": "居民消费价格",
    "物价": "居民消费价格", "失业率": "城镇调查失业率",
    "研发": "研究与试验发展", "R&D": "研究与试验发展", "人均收入": "居民人均可支配收入", "收入增长": "居民人均可支配收入",
    "增速": "增长", "增幅": "增长", "涨了": "增长",
}
INDICATORS = sorted({
    *SYNONYMS, *SYNONYMS.values(), "地区生产总值", "一般公共预算收入", "一般公共预算支出", "固定资产投资",
    "社会消费品零售总额", "规模以上工业增加值", "城镇新增就业", "城镇调查失业率", "居民消费价格", "居民人均可支配收入",
    "城镇居民人均可支配收入", "农村居民人均可支配收入", "进出口总额", "进出口", "实际利用外资", "实际使用外资",
    "实际到位内资", "税收收入", "民生支出", "粮食产量", "高标准农田", "常住人口", "城镇化率",
}, key=len, reverse=True)
"""Indicator names, longest first: what a follow-up like 「固投呢？」 swaps into the previous question."""
TARGET_WORDS = re.compile(r"目标(?!任务?[高低])|预期|计划|打算|力争|要达到|将要|准备|安排|要控制|要增长")
_NOT_TARGET = re.compile(r"年初目标|比.{0,8}目标|高于.{0,6}目标|低于.{0,6}目标|超.{0,4}目标")
RESULT_WORDS = re.compile(r"实际|完成了|实现了|达到了|增长了|下降了|比上年|同比|回顾|成效|成绩|全年")
ABOUT_REPORT = re.compile(r"什么时候(作|做|召开|发布|提交)|哪天|哪一天|日期|哪次会议|什么会议|哪个会议|哪一次.*会议|在.{0,6}会议上|谁(作|做|代表)|作的报告|报告人|由谁|哪个部门")
COMPARE_WORDS = re.compile(r"相比|对比|比较|分别|哪个(更)?(高|低|快|慢|多|少)|和.{0,12}(谁|哪)")
_YEAR = re.compile(r"(?<!\d)(20\d{2}|19\d{2})(?:年|(?=\D|$))")
_RELATIVE = {"今年": 0, "本年": 0, "去年": -1, "上一年": -1, "前年": -2, "明年": 1}


@dataclass
class QueryInfo:
    text: str
    cities: list[str] = field(default_factory=list)
    years: list[int] = field(default_factory=list)
    intent: str = "any"  # target / result / any
    compare: bool = False
    about_report: bool = False  # asks when/where/by whom the report itself was delivered
    expanded: str = ""  # the question with abbreviations spelled out

    @property
    def city(self) -> str | None:
        return self.cities[0] if len(self.cities) == 1 else None

    @property
    def year(self) -> int | None:
        return self.years[0] if len(self.years) == 1 else None


def find_cities(text: str, known: list[str]) -> list[str]:
    hits: list[tuple[int, str]] = []
    for name in sorted(known, key=len, reverse=True):
        pos = text.find(name)
        if pos >= 0 and not any(p <= pos < p + len(n) for p, n in hits):
            hits.append((pos, name))
    return [n for _, n in sorted(hits)]


def expand(text: str) -> str:
    extra = [full for short, full in SYNONYMS.items() if short in text and full not in text]
    extra = list(dict.fromkeys(extra))
    return f"{text}（{' '.join(extra)}）" if extra else text


def understand(text: str, known_cities: list[str], latest_year: dict[str | None, int]) -> QueryInfo:
    """`latest_year` maps a city (and None: the whole corpus) to its latest report year, for 今年/去年."""
    info = QueryInfo(text=text, cities=find_cities(text, known_cities))
    years = [int(y) for y in _YEAR.findall(text)]
    anchor = latest_year.get(info.city) or latest_year.get(None)
    for word, delta in _RELATIVE.items():
        if word in text and anchor:
            years.append(anchor + delta)
    info.years = list(dict.fromkeys(years))
    if TARGET_WORDS.search(text) and not _NOT_TARGET.search(text):
        info.intent = "target"
    elif RESULT_WORDS.search(text) or (info.years and anchor and all(y < anchor for y in info.years)):
        info.intent = "result"  # a year already reviewed by a later report
    info.about_report = bool(ABOUT_REPORT.search(text))
    info.compare = len(info.cities) > 1 or len(info.years) > 1 or bool(COMPARE_WORDS.search(text))
    info.expanded = expand(text)
    return info


def sub_queries(info: QueryInfo) -> list[tuple[str, list[str], list[int]]]:
    """Split a compare question into one query per city (or per year), each naming only its side."""
    if len(info.cities) > 1:
        out = []
        for city in info.cities:
            q = info.text
            for other in info.cities:
                if other != city:
                    q = q.replace(other, "")
            q = re.sub(r"^[和与跟及、，,\s]+|[和与跟及、]{2,}", "", q)
            out.append((f"{city} {q}", [city], info.years))
        return out
    if len(info.years) > 1:
        out = []
        for y in info.years:
            q = _YEAR.sub(lambda m, y=y: f"{y}年" if int(m.group(1)) == y else "", info.text)
            out.append((f"{y}年 {q}", info.cities, [y]))
        return out
    return [(info.text, info.cities, info.years)]
