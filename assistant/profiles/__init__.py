"""Report profiles: what one kind of report looks like, as data (`*.toml` beside this file).

Stages hold mechanisms (read an entity, a year and a type from a title; date a section; expand an
abbreviation); a profile supplies the patterns and words for its kind of report. Adding a kind of report
means adding one TOML file here and its tests.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

Pattern = re.Pattern[str]
PROFILE_DIR = Path(__file__).parent


@dataclass(frozen=True)
class TypeRule:
    """A report type is chosen when every condition it names holds (first rule wins)."""

    name: str
    title: Pattern | None = None
    title_not: Pattern | None = None
    body: Pattern | None = None
    period: str = ""  # "year": a report of this type speaks of its year (a 统计公报), whatever the time rule
    not_for: Pattern | None = None  # questions it cannot answer (a half-year report and 全年)
    part_of_year: Pattern | None = None  # how a question asks for the part of a year it covers (上半年, 1-6月)

    def matches(self, title: str, body_head: str) -> bool:
        if self.title is None and self.body is None:
            return False
        if self.title is not None and not self.title.search(title):
            return False
        if self.title_not is not None and self.title_not.search(title):
            return False
        return self.body is None or bool(self.body.search(body_head))


@dataclass(frozen=True)
class TimeRule:
    """Which year a report and its sections speak about.

    report_period "year": the whole report speaks of its year (an annual report of Y speaks of Y);
    "sections": top-level headings decide (a government work report of Y reviews Y−1 and plans Y);
    "none": only headings that state a year. `also_covers`: offsets of years a report of Y also
    states figures for (an annual report's 上年同期 column)."""

    report_period: str = "none"
    review_cues: Pattern | None = None
    review_offset: int = -1
    plan_cues: Pattern | None = None
    year_patterns: tuple[Pattern, ...] = ()  # searched in the title, then the opening text
    title_year_patterns: tuple[Pattern, ...] = ()  # searched in the title only (a year in the text may be history)
    also_covers: tuple[int, ...] = ()


@dataclass(frozen=True)
class FigureRules:
    """How a kind of report writes a figure (the indicator ledger reads it): units by measure with their
    base unit and scale, qualifiers, the cue words of growth, share, estimate and goal."""

    percent_units: tuple[str, ...] = ()
    amount_units: dict[str, tuple[str, float]] = field(default_factory=dict)
    count_units: dict[str, tuple[str, float]] = field(default_factory=dict)
    qualifiers_after: tuple[str, ...] = ()
    qualifiers_inside: tuple[str, ...] = ()
    qualifiers_before: tuple[str, ...] = ()
    growth_cues: tuple[str, ...] = ()
    decline_cues: tuple[str, ...] = ()
    share_cues: tuple[str, ...] = ()
    rank_pattern: Pattern | None = None
    expected_cues: tuple[str, ...] = ()
    target_cues: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ()
    lead_words: tuple[str, ...] = ()
    basis_pattern: Pattern | None = None
    name_tails: tuple[str, ...] = ()  # the shared tail of a 分别 list (第一产业、服务业增加值)
    respective_heads: dict[str, tuple[str, ...]] = field(default_factory=dict)  # 城乡 -> 城镇, 农村
    name_stops: tuple[str, ...] = ()  # verbs that end the counted thing after a count (473户市场主体办理…)
    name_fillers: tuple[str, ...] = ()  # words a question may leave out of a name (PM2.5平均浓度 asked as PM2.5浓度)

    @classmethod
    def from_data(cls, data: dict, base: FigureRules | None = None) -> FigureRules:
        """A profile's [figures] table; keys it leaves out come from `base` (the generic profile's)."""
        def units(key: str) -> dict[str, tuple[str, float]] | None:
            return {k: (str(v[0]), float(v[1])) for k, v in data[key].items()} if key in data else None

        def words(key: str) -> tuple[str, ...] | None:
            return tuple(data[key]) if key in data else None

        b = base or cls()
        return cls(
            percent_units=words("percent_units") or b.percent_units,
            amount_units=units("amount_units") or b.amount_units,
            count_units=units("count_units") or b.count_units,
            qualifiers_after=words("qualifiers_after") or b.qualifiers_after,
            qualifiers_inside=words("qualifiers_inside") or b.qualifiers_inside,
            qualifiers_before=words("qualifiers_before") or b.qualifiers_before,
            growth_cues=words("growth_cues") or b.growth_cues,
            decline_cues=words("decline_cues") or b.decline_cues,
            share_cues=words("share_cues") or b.share_cues,
            rank_pattern=_pattern(data.get("rank_pattern")) or b.rank_pattern,
            expected_cues=words("expected_cues") or b.expected_cues,
            target_cues=words("target_cues") or b.target_cues,
            verbs=words("verbs") or b.verbs,
            lead_words=words("lead_words") or b.lead_words,
            basis_pattern=_pattern(data.get("basis_pattern")) or b.basis_pattern,
            name_tails=words("name_tails") or b.name_tails,
            respective_heads={k: tuple(v) for k, v in data["respective_heads"].items()} if "respective_heads" in data
            else b.respective_heads,
            name_stops=words("name_stops") or b.name_stops,
            name_fillers=words("name_fillers") or b.name_fillers,
        )


@dataclass(frozen=True)
class ReportProfile:
    name: str
    label: str  # shown to users
    description: str
    priority: int  # breaks detection ties: higher wins
    detect_title: tuple[Pattern, ...]
    detect_text: tuple[Pattern, ...]
    min_score: float
    entity_patterns: tuple[Pattern, ...]
    content_entity: Pattern | None
    entity_suffixes: tuple[str, ...]
    frequent_suffixes: tuple[str, ...]
    entity_is_place: bool  # the entity is a city/county (its name is normalised: 盘锦市 -> 盘锦)
    types: tuple[TypeRule, ...]
    time: TimeRule
    synonyms: dict[str, str] = field(default_factory=dict)
    indicators: tuple[str, ...] = ()
    vocabulary: tuple[str, ...] = ()  # terms of this kind of report to keep whole when tokenising
    alias_patterns: tuple[Pattern, ...] = ()  # another name the text gives the entity (证券简称：澄川新能)
    abbreviations: dict[str, str] = field(default_factory=dict)  # 第一人民医院 -> 一院: how people shorten names
    figures: FigureRules = field(default_factory=FigureRules)
    amount_words: tuple[str, ...] = ()  # what a question asks in money (净利润多少, 花了多少): an amount answers
    person_titles: tuple[str, ...] = ()  # what follows a person's name (韦明哲主任医师): a name answers 哪位
    # the figure a short name means when a report states several (净利润 -> 归属于上市公司股东的净利润)
    headline: dict[str, str] = field(default_factory=dict)
    masthead: tuple[Pattern, ...] = ()  # opening lines that are not the title (…文件, 临政办发〔2024〕12号)
    title_lines: tuple[Pattern, ...] = ()  # an opening line that reads as the title (关于印发…的通知)

    def opening_title(self, lines: list[str]) -> str | None:
        """Among a document's opening lines, the one that reads as its title, else the first that is no
        masthead line; None when every line is masthead."""
        kept = [ln for ln in lines if not any(p.search(ln) for p in self.masthead)]
        return next((ln for ln in kept if any(p.search(ln) for p in self.title_lines)), kept[0] if kept else None)

    def name_forms(self, name: str) -> set[str]:
        """The name as people shorten it: 青岚市第一人民医院 -> 青岚市一院, 青岚一院."""
        forms = {name}
        for long, short in self.abbreviations.items():
            forms |= {f.replace(long, short) for f in forms if long in f}
        forms |= {re.sub(r"^([\u4e00-\u9fff]{2,4}?)[市县区]", r"\1", f) for f in forms}
        return {f for f in forms if len(f) >= 3}

    def title_hits(self, title: str) -> int:
        return sum(1 for p in self.detect_title if p.search(title))

    def detect_score(self, title: str, head: str) -> float:
        return 2 * self.title_hits(title) + sum(1 for p in self.detect_text if p.search(head))

    def report_type(self, title: str, body_head: str) -> str:
        return next((t.name for t in self.types if t.matches(title, body_head)), "其他")

    def states_its_year(self, report_type: str) -> bool:
        """Text outside any dated heading speaks of the report's own year: an annual report, or a report
        type whose rule says so (a 统计公报 of Y states Y's figures, whatever the profile's time rule)."""
        return self.time.report_period == "year" or any(t.name == report_type and t.period == "year" for t in self.types)

    def short_entity(self, name: str) -> str:
        """The name people type: 澜川新能源科技股份有限公司 -> 澜川新能源科技."""
        for suffix in self.entity_suffixes:
            if name.endswith(suffix) and len(name) - len(suffix) >= 2:
                return name[: -len(suffix)]
        return name


def _pattern(text: str | None) -> Pattern | None:
    return re.compile(text) if text else None


def load_profile(path: Path, figure_base: FigureRules | None = None) -> ReportProfile:
    """One TOML file -> a frozen profile; a bad file names itself and the problem."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        detect, entity, time, query = (data.get(k, {}) for k in ("detect", "entity", "time", "query"))
        return ReportProfile(
            name=data["name"], label=data.get("label", data["name"]), description=data.get("description", ""),
            priority=int(data.get("priority", 0)),
            detect_title=tuple(re.compile(p) for p in detect.get("title", [])),
            detect_text=tuple(re.compile(p) for p in detect.get("text", [])),
            min_score=float(detect.get("min_score", 1)),
            entity_patterns=tuple(re.compile(p) for p in entity.get("patterns", [])),
            content_entity=_pattern(entity.get("content_pattern")),
            entity_suffixes=tuple(sorted(entity.get("suffixes", []), key=len, reverse=True)),
            frequent_suffixes=tuple(entity.get("frequent_suffixes", [])),
            entity_is_place=bool(entity.get("is_place", False)),
            types=tuple(TypeRule(t["name"], _pattern(t.get("title")), _pattern(t.get("title_not")), _pattern(t.get("body")),
                                 t.get("period", ""), _pattern(t.get("not_for")), _pattern(t.get("part_of_year")))
                        for t in data.get("types", [])),
            time=TimeRule(
                report_period=time.get("report_period", "none"), review_cues=_pattern(time.get("review_cues")),
                review_offset=int(time.get("review_offset", -1)), plan_cues=_pattern(time.get("plan_cues")),
                year_patterns=tuple(re.compile(p) for p in time.get("year_patterns", [])),
                title_year_patterns=tuple(re.compile(p) for p in time.get("title_year_patterns", [])),
                also_covers=tuple(int(x) for x in time.get("also_covers", [])),
            ),
            synonyms=dict(query.get("synonyms", {})),
            indicators=tuple(sorted(query.get("indicators", []), key=len, reverse=True)),
            vocabulary=tuple(query.get("vocabulary", [])),
            alias_patterns=tuple(re.compile(p) for p in entity.get("alias_patterns", [])),
            abbreviations=dict(entity.get("abbreviations", {})),
            figures=FigureRules.from_data(data.get("figures", {}), figure_base),
            amount_words=tuple(query.get("amount_words", [])),
            person_titles=tuple(sorted(query.get("person_titles", []), key=len, reverse=True)),
            headline=dict(query.get("headline", {})),
            masthead=tuple(re.compile(p) for p in detect.get("masthead", [])),
            title_lines=tuple(re.compile(p) for p in detect.get("title_lines", [])),
        )
    except (OSError, KeyError, ValueError, TypeError, re.error, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"report profile {path}: {exc}") from exc


@lru_cache(maxsize=4)
def load_profiles(extra_dir: str | None = None) -> dict[str, ReportProfile]:
    """The shipped profiles, then any in `extra_dir` (same name replaces), highest priority first."""
    files = sorted(PROFILE_DIR.glob("*.toml"))
    if extra_dir:
        files += sorted(Path(extra_dir).glob("*.toml"))
    profiles: dict[str, ReportProfile] = {}
    generic = PROFILE_DIR / "generic.toml"
    base = load_profile(generic).figures  # what a profile without its own [figures] table uses
    for f in files:
        p = load_profile(f, base)
        profiles[p.name] = p
    return dict(sorted(profiles.items(), key=lambda kv: -kv[1].priority))


def get_profile(name: str | None) -> ReportProfile:
    profiles = load_profiles()
    return profiles.get(name or "generic") or profiles["generic"]


def detect_profile(title: str, head: str, forced: str | None = None) -> ReportProfile:
    """The profile whose title and text cues score highest (ties: priority); generic when none fits."""
    profiles = load_profiles()
    if forced:
        if forced not in profiles:
            raise ValueError(f"unknown report profile {forced!r}; known: {', '.join(profiles)}")
        return profiles[forced]
    # the title speaks first: a hospital's 工作报告 full of 全市/高质量发展 is still the hospital's; the
    # text decides among profiles the title fits equally (or when no title cue matches at all)
    best, best_rank = profiles["generic"], (0, 0.0)
    for p in profiles.values():
        score = p.detect_score(title, head)
        rank = (p.title_hits(title), score)
        if score >= p.min_score and rank > best_rank:
            best, best_rank = p, rank
    return best


def headline_names() -> dict[str, str]:
    """Every profile's headline figures: 净利润 asked of a listed company means the one attributable to its
    shareholders, not a subsidiary's or a quarter's."""
    out: dict[str, str] = {}
    for p in reversed(list(load_profiles().values())):
        out.update(p.headline)
    return out


def query_synonyms() -> dict[str, str]:
    """Abbreviations of every profile: a question is typed before we know which report answers it."""
    out: dict[str, str] = {}
    for p in reversed(list(load_profiles().values())):
        out.update(p.synonyms)
    return out


def vocabulary() -> list[str]:
    """Words the keyword tokenizer keeps whole, from every profile: indicators, synonyms, and the
    profile's own terms (预期目标, 营业收入 …). Cut apart (营业 / 收入) they would not match as one."""
    return sorted({w for p in load_profiles().values() for w in (*p.vocabulary, *query_words(p)) if len(w) > 1})


def query_words(p: ReportProfile) -> tuple[str, ...]:
    return (*p.indicators, *p.synonyms, *p.synonyms.values())


def query_indicators() -> list[str]:
    return sorted({i for p in load_profiles().values() for i in query_words(p)}, key=len, reverse=True)
