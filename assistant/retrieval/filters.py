"""What a caller (the chat, the API) restricts a question to: entities, report years, reports and data years."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from assistant.records import Chunk, Report


@dataclass
class Filters:
    """Caller filters (chat UI, API): empty means no restriction. `cities` are entity names (the city of a
    government report, the company of an annual report …); the API keeps the name `cities`."""

    cities: list[str] = field(default_factory=list)
    years: list[int] = field(default_factory=list)  # 报告年份: the year a report was delivered
    report_ids: list[str] = field(default_factory=list)
    periods: list[int] = field(default_factory=list)  # 数据年份: the year a passage's figures are about

    def allows(self, c: Chunk) -> bool:
        return (
            (not self.cities or c.entity in self.cities)
            and (not self.years or c.year in self.years)
            and (not self.report_ids or c.report_id in self.report_ids)
            and (not self.periods or c.period in self.periods)
        )

    def allows_report(self, r: Report) -> bool:
        return ((not self.cities or r.entity in self.cities) and (not self.years or r.year in self.years)
                and (not self.report_ids or r.report_id in self.report_ids))

    def where(self) -> dict[str, Any] | None:
        clauses: list[dict[str, Any]] = []
        if self.cities:
            clauses.append({"entity": {"$in": list(self.cities)}})
        if self.years:
            clauses.append({"year": {"$in": [int(y) for y in self.years]}})
        if self.report_ids:
            clauses.append({"report_id": {"$in": list(self.report_ids)}})
        if self.periods:
            clauses.append({"period": {"$in": [int(y) for y in self.periods]}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    @property
    def empty(self) -> bool:
        return not (self.cities or self.years or self.report_ids or self.periods)
