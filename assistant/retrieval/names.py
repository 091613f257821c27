"""Names typed wrong: 「盘金」 for 盘锦, 「沉阳」 for 沈阳. A question naming no known entity is matched against
the corpus's entity names by sound (pypinyin) and by edit distance (rapidfuzz), so it is answered about the
entity meant, and says so, instead of about whichever report the words happen to fit."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz.distance import Levenshtein

from assistant.retrieval.places import place_names


@dataclass(frozen=True)
class Correction:
    typed: str  # the words in the question
    entity: str  # the entity they are taken to mean
    alias: str  # the form of its name that replaced them


@lru_cache(maxsize=4096)
def _sound(text: str) -> str:
    from pypinyin import lazy_pinyin

    return " ".join(lazy_pinyin(text))


def _is_cjk(text: str) -> bool:
    return all("\u4e00" <= ch <= "\u9fff" for ch in text)


def find_typos(question: str, aliases: dict[str, str]) -> list[Correction]:
    """Near misses of entity names in the question, when it names none exactly. A window of the question
    matches a name that sounds the same (盘金/盘锦), or, for names of three or more characters, one character
    off with the same first character (澜州新能源/澜川新能源). Real place names (抚州 is not 福州) and windows
    two entities are equally near to never match: then nothing is guessed."""
    if any(alias in question for alias in aliases):
        return []
    places = place_names()
    by_size: dict[int, list[str]] = {}
    for alias in aliases:
        if len(alias) >= 2 and _is_cjk(alias):
            by_size.setdefault(len(alias), []).append(alias)
    found: list[Correction] = []
    taken: set[int] = set()
    for size in sorted(by_size, reverse=True):
        sounds: dict[str, set[str]] = {}
        for alias in by_size[size]:
            sounds.setdefault(_sound(alias), set()).add(alias)
        for i in range(len(question) - size + 1):
            window = question[i : i + size]
            if not _is_cjk(window) or window in places or taken & set(range(i, i + size)):
                continue
            near = set(sounds.get(_sound(window), set()))
            if size >= 3:
                near |= {a for a in by_size[size] if a[0] == window[0] and Levenshtein.distance(window, a) <= 1}
            entities = {aliases[a] for a in near}
            if len(entities) != 1:
                continue  # none near, or two entities equally near: ask rather than guess
            alias = min(near, key=lambda a: Levenshtein.distance(window, a))
            found.append(Correction(window, aliases[alias], alias))
            taken |= set(range(i, i + size))
    return found


def apply(question: str, corrections: list[Correction]) -> str:
    for c in corrections:
        question = question.replace(c.typed, c.alias, 1)
    return question
