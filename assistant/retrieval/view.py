"""The corpus as retrieval sees it: every committed chunk, the reports, entity aliases and each report's
coverage, refreshed when the manifest changes (and only for the files that changed)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from assistant.backends import ReportStore
from assistant.profiles import get_profile, load_profiles
from assistant.records import Chunk, Report
from assistant.retrieval.filters import Filters
from assistant.retrieval.places import place_names
from vectorstore.chroma import FileRecord
from vectorstore.chunk_cache import ChunkCache, FileKey
from vectorstore.keyword import KeywordIndex


@dataclass(frozen=True)
class Coverage:
    """Which years one report can answer for, computed once per refresh (not per question)."""

    entity: str | None
    year: int | None
    periods: frozenset[int]  # years its sections speak of, and those its profile says it also states
    open: bool  # its profile does not model time (judgements, manuals …): any year may be in it

    @classmethod
    def of(cls, r: Report, chunks: list[Chunk]) -> Coverage:
        rule = get_profile(r.profile).time
        periods = {c.period for c in chunks if c.period is not None}
        if rule.report_period == "sections" and r.year is not None:
            periods.add(r.year)  # a report of Y always sets out Y's plans, whatever its headings say
        periods |= {p + off for p in list(periods) for off in rule.also_covers}
        if rule.report_period != "none":
            periods |= {int(y) for y in re.findall(r"((?:19|20)\d{2})年", r.title)}  # 关于…2023年度…的审计工作报告
        return cls(r.entity, r.year, frozenset(periods), rule.report_period == "none")


def entity_aliases(reports: list[Report]) -> dict[str, str]:
    """What a question may call each entity -> the entity: the name itself, and for organisations the name
    without its legal suffix and that name's leading parts (澜川新能源科技股份有限公司: 澜川新能源科技, 澜川新能源,
    澜川 …). A form two entities share, or that is a place name, names neither."""
    forms: dict[str, set[str]] = {}
    places = place_names()
    # the places of the corpus's own reports too (临溪 of 临溪市's bulletin): a company named after its city
    # (临溪远航电动车科技有限公司) is called by the name after the place (远航, 远航电动车)
    local = {f for r in reports if r.entity and get_profile(r.profile).entity_is_place
             for f in (r.entity, *get_profile(r.profile).name_forms(r.entity))}
    for r in reports:
        if not r.entity:
            continue
        forms.setdefault(r.entity, set()).add(r.entity)
        profile = get_profile(r.profile)
        for form in {*profile.name_forms(r.entity), *r.aliases}:
            if form not in places:
                forms.setdefault(form, set()).add(r.entity)
        # a legal form is one whatever the document (a manual's maker: 临溪远航电动车科技有限公司)
        short = next((s for p in (profile, *load_profiles().values()) if (s := p.short_entity(r.entity)) != r.entity), r.entity)
        if short == r.entity:
            continue
        bare = _without_place(short, places | local)
        for name in dict.fromkeys((short, bare)):
            for size in range(2, len(name) + 1):
                alias = name[:size]
                if alias not in places and alias not in local or size == len(name):
                    forms.setdefault(alias, set()).add(r.entity)
    # a form that is itself an entity's name is that entity's (临溪 is the city, not 临溪星河软件 which starts so)
    return {alias: alias if alias in names else next(iter(names))
            for alias, names in forms.items() if len(names) == 1 or alias in names}


def _without_place(name: str, places: AbstractSet[str]) -> str:
    """The name after a leading place (临溪远航电动车科技 -> 远航电动车科技), when two characters or more remain."""
    for size in range(min(len(name) - 2, 6), 1, -1):
        head = name[:size]
        if head in places or head[-1] in "省市县区" and head[:-1] in places:
            return name[size:]
    return name


CHECK_INTERVAL = 2.0  # seconds between manifest checks: a check reads every file record


class CorpusView:
    """What retrieval needs to know of the committed index, refreshed when the manifest changes."""

    def __init__(self, store: ReportStore, keyword: KeywordIndex, cache: ChunkCache | None = None):
        self.store = store
        self.keyword = keyword
        self.cache = cache  # this host's copy of the committed chunks: a start opens it instead of the store
        self._version: str | None = None
        self._checked = 0.0
        self._lock = threading.Lock()
        self.chunks: dict[str, Chunk] = {}
        self.file_hash: dict[str, str] = {}
        self.reports: list[Report] = []
        self.by_report: dict[str, list[Chunk]] = {}
        self.by_city: dict[str | None, set[str]] = {}  # entity -> chunk ids
        self.coverage: dict[str, Coverage] = {}
        self.aliases: dict[str, str] = {}
        self.place_entities: set[str] = set()  # entities that are places: their questions stay in their reports
        self.periods: tuple[int, ...] = ()  # years the passages speak about (数据年份), newest first

    def refresh(self, force: bool = False) -> None:
        """Catch up with the manifest. Another process's ingest is noticed within `CHECK_INTERVAL`
        seconds; this process's own ingests call with force=True (check now). Only files whose hash
        changed are read back; one thread rebuilds while the others answer from the previous view."""
        now = time.monotonic()
        if not force and self._version is not None and now - self._checked < CHECK_INTERVAL:
            return
        self._checked = now
        if self.store.version() == self._version:
            return
        if not self._lock.acquire(blocking=self._version is None or force):
            return  # another thread is rebuilding: answer from the current view meanwhile
        try:
            version = self.store.version()
            if version == self._version:
                return
            files = self.store.files()
            file_hash = {s: r.file_hash for s, r in files.items()}
            first = self._version is None
            changed = set(file_hash) if first else {s for s, h in file_hash.items() if self.file_hash.get(s) != h}
            chunks = {} if first else {cid: c for cid, c in self.chunks.items() if c.source in file_hash and c.source not in changed}
            chunks.update((c.chunk_id, c) for c in self.read_chunks(files, changed))
            by_report: dict[str, list[Chunk]] = {}
            for c in sorted(chunks.values(), key=lambda c: (c.report_id, c.ordinal)):
                by_report.setdefault(c.report_id, []).append(c)
            by_city: dict[str | None, set[str]] = {}
            for cid, c in chunks.items():
                by_city.setdefault(c.entity, set()).add(cid)
            reports = [rep for r in files.values() for rep in r.reports]
            aliases = entity_aliases(reports)
            self.keyword.add_words(aliases)
            self.keyword.rebuild(list(chunks.values()), stamp=version)  # an unchanged index is opened, not built
            self.chunks, self.file_hash, self.reports, self.by_report = chunks, file_hash, reports, by_report
            self.by_city = by_city
            self.aliases = aliases
            self.place_entities = {r.entity for r in reports if r.entity and get_profile(r.profile).entity_is_place}
            self.coverage = {r.report_id: Coverage.of(r, by_report.get(r.report_id, [])) for r in reports}
            self.periods = tuple(sorted({c.period for c in chunks.values() if c.period is not None}, reverse=True))
            self._version = version
        finally:
            self._lock.release()

    def read_chunks(self, files: dict[str, FileRecord[Report]], changed: set[str]) -> list[Chunk]:
        """The committed chunks of these files: from this host's cache where it holds them as the
        manifest records them, the rest from the store (and then into the cache)."""
        keys = {s: FileKey(r.file_hash, r.n_chunks, r.indexed_at) for s, r in files.items() if s in changed}
        out: list[Chunk] = []
        missing = sorted(changed)
        if self.cache is not None:
            rows, missing = self.cache.read(keys)
            out = [Chunk.from_metadata(cid, text, md) for cid, text, md in rows]
        if self.cache is not None:
            self.cache.keep(set(files))
        if not missing:
            return out
        every = len(missing) == len(files)  # nothing cached: one paged scan, not a filter naming every file
        fresh = [c for c, fh in self.store.iter_chunks(None if every else missing)
                 if c.source in keys and keys[c.source].file_hash == fh]
        if self.cache is not None:
            per_file: dict[str, list[Chunk]] = {}
            for c in fresh:
                per_file.setdefault(c.source, []).append(c)
            self.cache.write((s, keys[s], [(c.chunk_id, c.text, c.metadata()) for c in cs]) for s, cs in per_file.items())
        return out + fresh

    @property
    def version(self) -> str | None:
        """The store version this view was built from (None before the first refresh)."""
        return self._version

    def allowed(self, f: Filters) -> set[str]:
        """Chunk ids the filters allow; a city restriction is looked up, not scanned."""
        if f.cities:
            ids = set().union(*(self.by_city.get(c, set()) for c in f.cities))
            if not (f.years or f.report_ids or f.periods):
                return ids
            return {cid for cid in ids if f.allows(self.chunks[cid])}
        return {cid for cid, c in self.chunks.items() if f.allows(c)}

    def known_cities(self) -> list[str]:
        """Entity names of the reports (cities of government reports, companies, courts …)."""
        return sorted({r.entity for r in self.reports if r.entity})

    def latest_years(self) -> dict[str | None, int]:
        """The year 今年 means for each entity: the year its latest report was delivered (a government
        report of Y is delivered in Y; an annual report of Y, in Y+1, when its year is 去年)."""
        out: dict[str | None, int] = {}
        for r in self.reports:
            if r.year is None:
                continue
            now = r.year if get_profile(r.profile).time.report_period == "sections" else r.year + 1
            if r.date:
                now = max(now, int(r.date[:4]))
            for key in (r.entity, None):
                out[key] = max(out.get(key, 0), now)
        return out

    def neighbour(self, c: Chunk, step: int) -> Chunk | None:
        siblings = self.by_report.get(c.report_id, [])
        idx = next((i for i, s in enumerate(siblings) if s.chunk_id == c.chunk_id), None)
        if idx is None or not 0 <= idx + step < len(siblings):
            return None
        n = siblings[idx + step]
        return n if n.section_path == c.section_path else None
