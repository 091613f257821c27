"""Pure metric functions for the evaluation suite: each returns per-item scores; `mean` makes the overall."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import TypeVar

from assistant.answer.citations import ATTRIBUTION, statements
from assistant.errors import ReportQAError

T = TypeVar("T")

_FIGURE = re.compile(r"\d+(?:\.\d+)?\s*(?:万亿元|亿元|万元|元|万亩|亩|万人|人|%|％|个百分点|倍|家|个|项|公里|万吨|吨)?")


def jsonl_records(path, build: Callable[[dict], T], what: str) -> list[T]:
    """One record per non-empty line of a JSON Lines file; a bad line names the file, the line and why."""
    out: list[T] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(build(json.loads(line)))
        except (ValueError, KeyError, TypeError) as exc:
            raise ReportQAError(f"{path}:{n}: not a valid {what} ({exc})") from None
    return out


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    idx = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[idx]


def answer_recall(answers: list[str], passage_texts: list[str]) -> float:
    """Share of the expected answer strings found in the retrieved passages."""
    if not answers:
        return 0.0
    return sum(1 for a in answers if any(a in t for t in passage_texts)) / len(answers)


def reciprocal_rank(relevant: list[bool]) -> float:
    for i, ok in enumerate(relevant, start=1):
        if ok:
            return 1.0 / i
    return 0.0


def overlaps(span: tuple[int, int], other: tuple[int, int]) -> bool:
    return span[0] < other[1] and other[0] < span[1]


def answer_correct(answers: list[str], answer_text: str) -> float:
    """1 when every expected string appears verbatim in the answer."""
    return 1.0 if answers and all(a in answer_text for a in answers) else 0.0


def _bigrams(text: str) -> set[str]:
    chars = [c for c in text if not c.isspace()]
    return {a + b for a, b in zip(chars, chars[1:], strict=False)}


def statement_supported(statement: str, cited_texts: list[str]) -> bool:
    """Every figure of the statement is in a cited passage, and most of its wording is too."""
    if not cited_texts:
        return False
    joined = "\n".join(cited_texts)
    body = ATTRIBUTION.sub("", re.sub(r"^[^：:《]{1,20}[：:]", "", statement.strip()).strip()).strip()
    if body and body in joined:
        return True
    figures = [f.strip() for f in _FIGURE.findall(body) if any(ch.isdigit() for ch in f)]
    if any(f not in joined for f in figures):
        return False
    grams = _bigrams(body)
    if not grams:
        return True
    return len(grams & _bigrams(joined)) / len(grams) >= 0.6


def citation_precision(answer_text: str, passages_by_n: dict[int, str]) -> float | None:
    """Share of the answer's statements whose cited passages hold what they state (None: no statements)."""
    items = statements(answer_text)
    if not items:
        return None
    ok = sum(1 for body, nums in items if statement_supported(body, [passages_by_n[n] for n in nums if n in passages_by_n]))
    return ok / len(items)


def relation_correct(answer_text: str, relation: dict) -> float:
    """1.0 when the answer says the comparison the set states: {"higher": A, "lower": B} is right when the
    answer says A…高于B or B…低于A; {"equal": [A, B]} when it says 持平; 实际/目标 when it says the target
    was beaten (高于目标, 完成了目标) or missed (低于目标, 未完成目标)."""
    text = answer_text
    if "equal" in relation:
        return 1.0 if re.search(r"持平|相同|相等|一致", text) else 0.0
    hi, lo = str(relation["higher"]), str(relation["lower"])
    if {hi, lo} == {"实际", "目标"}:
        words = r"高于目标|超过目标|超额完成|完成了目标" if hi == "实际" else r"低于目标|未完成目标|未达到目标|未实现目标"
        return 1.0 if re.search(words, text) else 0.0
    a, b = re.escape(hi), re.escape(lo)
    said = re.search(rf"{a}年?[^。；\n]{{0,30}}?高于{b}|{b}年?[^。；\n]{{0,30}}?低于{a}", text)
    return 1.0 if said else 0.0


def figure_matches(predicted: dict, gold: dict) -> bool:
    """A ledger record is the labelled one when its span overlaps the label's, its value and unit are the
    same, and one indicator name holds the other (地区生产总值 / 全市地区生产总值)."""
    if predicted["source"] != gold["source"]:
        return False
    if not overlaps((predicted["start"], predicted["end"]), (gold["start"], gold["end"])):
        return False
    if abs(float(predicted["value"]) - float(gold["value"])) > 1e-6 or predicted["unit"] != gold["unit"]:
        return False
    p_names = {predicted.get("indicator") or "", predicted.get("raw") or ""} - {""}
    g_name = gold.get("indicator") or ""
    return not g_name or any(g_name in n or n in g_name for n in p_names)
