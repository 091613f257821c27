"""The perturbation suite: each question typed four other ways a person would type it. A robust assistant
gives every variant the verdict it gave the original (right, wrong or refused): how people type must not
decide the answer."""

from __future__ import annotations

import re
from collections.abc import Callable

from assistant.profiles import query_synonyms

_FULL_WIDTH_DIGITS = str.maketrans("0123456789%", "０１２３４５６７８９％")
_END = re.compile(r"[？?。！!\s]+$")


def no_question_mark(q: str) -> str:
    return _END.sub("", q)


def extra_spaces(q: str) -> str:
    """Spaces where people put them: around numbers and latin words, and one doubled at the end."""
    spaced = re.sub(r"\s*([0-9０-９]+(?:\.[0-9]+)?[%％]?|[A-Za-z&]+)\s*", r" \1 ", q).strip()
    return f" {spaced}  "


def full_width_digits(q: str) -> str:
    return q.translate(_FULL_WIDTH_DIGITS)


def _aliases() -> list[tuple[str, str]]:
    """(words in the question, what to write instead): full forms to a common short form and back,
    from the report profiles' synonym lists (the first short form listed for a full form)."""
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    for short, full in query_synonyms().items():
        if full not in seen and short not in full and full not in short:
            pairs.append((full, short))
            seen.add(full)
        if short not in full and full not in short:
            pairs.append((short, full))
    return sorted(pairs, key=lambda p: -len(p[0]))


def synonym(q: str) -> str | None:
    """One term swapped for its common synonym (地区生产总值 → GDP, 社零 → 社会消费品零售总额);
    None when the question holds no term the profiles know another word for."""
    for words, other in _aliases():
        if words in q:
            return q.replace(words, other, 1)
    return None


VARIANTS: dict[str, Callable[[str], str | None]] = {
    "no ？": no_question_mark,
    "extra spaces": extra_spaces,
    "full-width digits": full_width_digits,
    "synonym": synonym,
}


def variants(question: str) -> dict[str, str]:
    """The variants that differ from the original question, by kind."""
    out = {}
    for name, make in VARIANTS.items():
        v = make(question)
        if v is not None and v != question:
            out[name] = v
    return out
