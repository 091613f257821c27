"""Chinese place names (cities, counties, districts) from the `cpca` package's admin-division table.

Used to notice a question about a place the corpus never mentions (大连, 杭州 …), so it is refused
rather than answered from another city's report. Only the data file is read: no pandas import.
"""

from __future__ import annotations

import csv
import importlib.util
import re
from functools import lru_cache
from pathlib import Path

_SUFFIX = re.compile(r"(市|地区|自治州|盟|林区)$")


def _table() -> Path | None:
    spec = importlib.util.find_spec("cpca")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "resources" / "adcodes.csv"
    return path if path.exists() else None


@lru_cache(maxsize=1)
def place_levels() -> dict[str, str]:
    """name -> province / city / county. Short and full names of provinces and prefecture-level
    cities; full names of counties and districts (their short forms are too often ordinary words)."""
    table = _table()
    if table is None:
        return {}
    levels: dict[str, str] = {}
    with table.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            code, name = row["adcode"], row["name"]
            if code[2:] == "0" * 10:
                level, short = "province", re.sub(r"(省|市|自治区|壮族自治区|回族自治区|维吾尔自治区|特别行政区)$", "", name)
            elif code[4:] == "0" * 8:
                level, short = "city", _SUFFIX.sub("", name)
            elif name.endswith("市"):
                level, short = "city", name[:-1]  # a county-level city (江阴市) has reports of its own
            else:
                level, short = "county", name if len(name) >= 3 else ""
            for n in (name, short):
                if len(n) >= 2:
                    levels.setdefault(n, level)
    return levels


def place_names() -> frozenset[str]:
    return frozenset(place_levels())


def find_places(text: str) -> list[str]:
    """Place names in the text, longest match first, no overlaps."""
    names = place_names()
    found: list[tuple[int, str]] = []
    taken = bytearray(len(text))
    for size in range(min(8, len(text)), 1, -1):
        for i in range(len(text) - size + 1):
            if any(taken[i : i + size]):
                continue
            piece = text[i : i + size]
            if piece in names:
                found.append((i, piece))
                taken[i : i + size] = b"\x01" * size
    return [n for _, n in sorted(found)]
