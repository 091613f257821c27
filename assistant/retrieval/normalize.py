"""Question normalisation: one canonical form for the many ways people type the same question.

Runs before anything else reads the question, so that 「盘锦2024年GDP增长多少」, 「盘锦 2024 年 GDP 增长多少？」,
「盘锦２０２４年ＧＤＰ增长多少?」, 「盘锦二〇二四年GDP增长多少」 and 「盤錦2024年GDP增長多少」 all reach retrieval and
the answerer as the same string; so do 「22 年营收多少」, 「'22年营收多少」 and 「2022年营收多少」. Report text is
never normalised (offsets must stay exact).
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from functools import lru_cache

_CN_DIGITS = {"〇": "0", "零": "0", "○": "0", "Ｏ": "0", "一": "1", "二": "2", "三": "3", "四": "4",
              "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}
_CN_YEAR = re.compile(r"([一二][〇零○Ｏ一二三四五六七八九]{3})(?=年)")
# 22年营收 / 17年净利润: a two-digit year as people say it (not 连续22年, 近10年, 22年来, 5年间)
_SHORT_YEAR = re.compile(r"(?<![\d.连续近过去这那上下前后第每了有满共达用历])(\d{2})年(?![来间内底前后多半以的时代义制期级党工一])")
# '23年 / ’23年: the apostrophe says it is a year, whatever follows 年
_APOSTROPHE_YEAR = re.compile(r"['‘’`](\d{2})(?=年)")
# GDP多大 / 甘油三酯有多高 / 线路有多长: at a clause's end these ask a quantity, as 多少 does (not 多大程度,
# 许多大项目, 很多高校)
_HOW_BIG = re.compile(r"(?<![许诸众很])多[大高长重远深宽](?=$|[呢吗啊呀？?！!，,；;。])")
_CJK = r"\u3400-\u9fff\uf900-\ufaff"
# a space beside Chinese, a digit or % goes (盘锦 2024 年, 增长 5 %); one between two numbers stays (2023 2024)
_SPACE_NEAR_CJK = re.compile(rf"(?<=[{_CJK}%])\s+|\s+(?=[{_CJK}%])|(?<=\d)\s+(?!\d)|(?<!\d)\s+(?=\d)")
_SPACES = re.compile(r"\s+")
_TRAILING = re.compile(r"[\s?？!！。.~～…,，、;；:：]+$")
_LEADING = re.compile(r"^[\s?？!！。.,，、;；:：]+")
# NFKC turns full-width ASCII into half-width but also Chinese punctuation into ASCII; keep these as typed
_KEEP = str.maketrans({"(": "（", ")": "）", ";": "；", ":": "："})
_COMMA = re.compile(r",(?!\d{3})|(?<!\d),")  # 1,234 stays a number


@lru_cache(maxsize=1)
def _to_simplified():
    """OpenCC's traditional-to-simplified converter, or None when the package is not installed."""
    try:
        import opencc
    except ImportError:  # pragma: no cover - opencc is a dependency; degrade rather than fail
        return None
    return opencc.OpenCC("t2s").convert


def normalize_question(text: str) -> str:
    """The canonical form of a question: half-width digits and letters, no spaces around Chinese,
    simplified characters, four-digit Arabic years, no trailing punctuation (a missing ？ changes nothing),
    多少 for a clause-final 多大 (多高, 多长 …)."""
    if not text:
        return ""
    s = _COMMA.sub("，", unicodedata.normalize("NFKC", text).translate(_KEEP))
    s = s.replace("\u200b", "").replace("\ufeff", "")
    convert = _to_simplified()
    if convert is not None:
        s = convert(s)
    # spaces first: 「22 年」 and 「二〇二三 年」 are years only once they touch 年
    s = _SPACES.sub(" ", s).strip()
    s = _SPACE_NEAR_CJK.sub("", s)
    s = _CN_YEAR.sub(lambda m: "".join(_CN_DIGITS[ch] for ch in m.group(1)), s)
    s = _APOSTROPHE_YEAR.sub(lambda m: _century(m.group(1)), s)
    # a two-digit year only as far as reports go (≤ this year + 5, or 19xx): 用了15年, 40年党龄 are spans
    s = _SHORT_YEAR.sub(lambda m: f"{_century(m.group(1))}年" if _plausible(m.group(1)) else m.group(0), s)
    s = _LEADING.sub("", _TRAILING.sub("", s))
    return _HOW_BIG.sub("多少", s)


def _plausible(two: str) -> bool:
    return int(two) >= 50 or int(two) <= datetime.date.today().year % 100 + 5


def _century(two: str) -> str:
    return f"{'20' if int(two) < 50 else '19'}{two}"
