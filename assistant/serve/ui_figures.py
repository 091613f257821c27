"""The 指标 tab: the indicator ledger shaped into table rows, a chart frame and CSV bytes, and the tab
itself (`FiguresTab`: its handlers and layout, which `ChatUI.build` places and wires to the report view).

Plain functions over `Figure` records, so the handlers stay thin and tests need no browser.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

from assistant.records import Figure
from assistant.serve.ui_export import request_dir
from assistant.serve.ui_render import esc, pinyin_key

if TYPE_CHECKING:
    from assistant.qa import ReportQA

KIND_ZH = {"actual": "实际", "expected": "预计", "target": "目标"}
KIND_COLOURS = {"实际": "#2563eb", "预计": "#60a5fa", "目标": "#f59e0b"}
PALETTE = ("#2563eb", "#f59e0b", "#16a34a", "#dc2626", "#9333ea", "#0891b2", "#db2777", "#65a30d", "#ea580c",
           "#a16207")  # distinct on light and dark backgrounds
MEASURE_ZH = {"level": "总量", "growth": "增速", "share": "占比", "count": "数量", "rank": "位次"}
COLUMNS = ["主体", "指标", "数值", "类型", "年份", "依据/比较基础", "报告", "章节"]
COLUMN_WIDTHS: list[str | int] = [60, 140, 120, 56, 56, 150, 300, 260]  # what matters fits a narrow panel
CSV_COLUMNS = [*COLUMNS, "口径", "数字", "单位", "标准值", "标准单位", "原文", "文件", "起", "止"]
TABLE_LIMIT = 500  # rows shown; the CSV holds them all (as `reportqa figures` shows 500)
CSV_PREFIX = "reportqa-figures-"
CSV_MAX_AGE_S = 3600
NO_ENTITY = "（未识别）"
_UNSAFE = re.compile(r'[\\/:*?"<>|\s]+')


@dataclass(frozen=True)
class FigureQuery:
    """What the tab's filters ask for; empty means any. `indicator` is a name from the list (matched
    exactly) or typed words (matched as `reportqa figures --indicator` matches them)."""

    entities: tuple[str, ...] = ()
    indicator: str = ""
    years: tuple[int, ...] = ()
    kinds: tuple[str, ...] = ()


@dataclass
class Chart:
    """What the chart shows: a line (years on x, one line per series) or bars (one year, series on x),
    or nothing (`mark == ""`) with `note` saying why."""

    mark: str = ""
    rows: list[dict[str, Any]] = field(default_factory=list)
    y_title: str = ""
    note: str = ""
    groups: list[tuple[str, str]] = field(default_factory=list)  # (label, key) of the comparable groups
    group: str = ""

    @property
    def y_lim(self) -> list[float]:
        """Room above and below every value (Vega's own domain cut the lowest point off); bars from zero."""
        values = [r["数值"] for r in self.rows] or [0.0]
        low, high = min(values), max(values)
        if self.mark == "bar":
            low, high = min(low, 0.0), max(high, 0.0)
        pad = (high - low) * 0.12 or abs(high) * 0.12 or 1.0
        return [low - pad if low < 0 or self.mark == "line" else 0.0, high + pad]

    @property
    def colours(self) -> dict[str, str]:
        """A colour for each series (line) or kind (bars) in this chart. Sent with every update: Gradio
        redraws the chart only when such a setting changes, and a new series would otherwise stay blank."""
        if self.mark == "bar":
            return {k: KIND_COLOURS[k] for k in dict.fromkeys(r["类型"] for r in self.rows) if k in KIND_COLOURS}
        names = sorted({r["系列"] for r in self.rows}, key=_name_key)
        return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}

    def frame(self) -> Any:
        """The rows as the pandas DataFrame gr.LinePlot / gr.BarPlot take."""
        import pandas as pd

        return pd.DataFrame(self.rows, columns=["系列", "年份", "数值", "类型", "原文数值", "报告"])


# --- filtering and choices ---------------------------------------------------------------------
def indicator_name(f: Figure) -> str:
    return f.indicator or f.raw


@lru_cache(maxsize=1024)
def _name_key(name: str) -> tuple[str, str]:
    return pinyin_key(name)


def select(figures: Iterable[Figure], query: FigureQuery, known: set[str] | None = None) -> list[Figure]:
    """The figures the filters ask for, by entity (pinyin), year, then report and text order."""
    exact = query.indicator in (known or set())
    out = [f for f in figures
           if (not query.entities or (f.entity or NO_ENTITY) in query.entities)
           and (not query.years or f.period in query.years)
           and (not query.kinds or f.kind in query.kinds)
           and (not query.indicator or (f.indicator == query.indicator if exact
                                        else query.indicator in f.indicator or query.indicator in f.raw))]
    return sorted(out, key=lambda f: (_name_key(f.entity or "~"), f.period or 0, f.source, f.start))


def indicator_choices(figures: Iterable[Figure]) -> list[tuple[str, str]]:
    """Named indicators, most frequent first, each labelled with its count: (地区生产总值（19条）, 地区生产总值)."""
    counts = Counter(f.indicator for f in figures if f.indicator)
    return [(f"{name}（{n}条）", name) for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], _name_key(kv[0])))]


def entity_choices(figures: Iterable[Figure]) -> list[str]:
    return sorted({f.entity or NO_ENTITY for f in figures}, key=_name_key)


def year_choices(figures: Iterable[Figure]) -> list[str]:
    return [str(y) for y in sorted({f.period for f in figures if f.period}, reverse=True)]


# --- the table ---------------------------------------------------------------------------------
def value_words(f: Figure) -> str:
    """The figure as a reader says it: 增长3.5%左右, 下降7%左右, 1330亿元."""
    if f.measure == "growth" and f.value >= 0 and not f.value_text.startswith(("增长", "提高", "下降")):
        return f"增长{f.value_text}"
    return f.said()


def section_tail(section: str) -> str:
    """The innermost heading: the full path is long and the CSV keeps it."""
    return section.split(" > ")[-1] if section else "（报告开头）"


def table_rows(figures: Sequence[Figure], limit: int = TABLE_LIMIT) -> list[list[str]]:
    return [[f.entity or NO_ENTITY, indicator_name(f) or "—", value_words(f), KIND_ZH.get(f.kind, f.kind),
             str(f.period) if f.period else "—", f.basis or "—", f.title or f.source, section_tail(f.section)]
            for f in figures[:limit]]


def table_frame(rows: list[list[str]]) -> Any:
    import pandas as pd

    return pd.DataFrame(rows, columns=COLUMNS)


def count_note(shown: int, total: int) -> str:
    if not total:
        return "没有符合筛选条件的指标数值。"
    more = f"，表中显示前 {shown} 条，导出 CSV 可得全部" if shown < total else ""
    return f"共 {total} 条{more}。点击任一行，在「原文」中查看该数值所在的段落。"


# --- the chart ---------------------------------------------------------------------------------
def _group_key(f: Figure) -> str:
    return f"{indicator_name(f)}|{f.measure}|{f.base_unit}"


def _group_label(key: str) -> str:
    name, measure, unit = key.split("|")
    return f"{name}{MEASURE_ZH.get(measure, measure)}（{unit}）" if unit else f"{name}{MEASURE_ZH.get(measure, measure)}"


def _number(x: float) -> str:
    return f"{x:.4f}".rstrip("0").rstrip(".") or "0"


def _pick(figures: list[Figure]) -> tuple[dict[tuple[str, str, int], Figure], int]:
    """One value per (entity, 实际/目标, year): a result from the latest report that reviews the year (its
    estimate 预计 when no later report gives more), a goal from the report that sets it; and how many
    other values of the same cell were left out."""
    order = {"actual": 0, "expected": 1, "target": 2}
    best: dict[tuple[str, str, int], Figure] = {}
    for f in sorted(figures, key=lambda f: (order.get(f.kind, 3), -(f.year or 0), f.start)):
        assert f.period is not None
        best.setdefault((f.entity or NO_ENTITY, "目标" if f.kind == "target" else "实际", f.period), f)
    return best, len(figures) - len(best)


def chart(figures: Sequence[Figure], indicator: str, group: str = "", kinds: Sequence[str] = ()) -> Chart:
    """One comparable group (same indicator, measure and base unit) of the chosen indicator: a line per
    entity over years, or bars across entities when the figures cover one year. Results and goals are
    never one line: without a 类型 filter the chart shows results (goals when there are none)."""
    if not indicator:
        return Chart(note="请选择一个指标：多个年份时画出历年走势（每个主体一条线），只有一个年份时画出各主体对比。")
    named = [f for f in figures if indicator_name(f) and f.period]
    counts = Counter(_group_key(f) for f in named)
    groups = [(f"{_group_label(k)} · {n}条", k) for k, n in counts.most_common()]
    if not groups:
        return Chart(note="所选指标没有标明年份的数值，无法绘图；数值见下表。")
    group = group if group in counts else groups[0][1]
    chosen = [f for f in named if _group_key(f) == group]
    parts = []
    if not kinds and len({f.kind == "target" for f in chosen}) > 1:
        chosen = [f for f in chosen if f.kind != "target"]
        parts.append("只画实际数；要看目标，请在「类型」中选择“目标”。")
    best, repeated = _pick(chosen)
    both = len({kind for _, kind, _ in best}) > 1
    rows: list[dict[str, Any]] = [
        {"系列": f"{entity}·{kind}" if both else entity, "年份": str(year), "数值": f.base_value,
         "类型": KIND_ZH.get(f.kind, f.kind), "原文数值": value_words(f), "报告": f.title}
        for (entity, kind, year), f in best.items()]
    rows.sort(key=lambda r: (_name_key(r["系列"]), r["年份"]))
    years = sorted({r["年份"] for r in rows})
    points = Counter(r["系列"] for r in rows)
    lone = [r for r in rows if points[r["系列"]] == 1]
    mark = "line" if len(years) > 1 and len(lone) < len(rows) else "bar"
    if mark == "line":  # a line needs two points: a series of one year is said, not drawn
        rows = [r for r in rows if points[r["系列"]] > 1]
    elif len(years) > 1:  # every series has one year, not the same one: bars named with their year
        rows = [{**r, "系列": f"{r['系列']}（{r['年份']}年）"} for r in rows]
    series = sorted({r["系列"] for r in rows}, key=_name_key)
    if mark == "line":
        span = f"{years[0]}—{years[-1]}年历年走势"
    else:
        span = f"{years[0]}年各主体对比" if len(years) == 1 else "各主体只有一个年份的数，按主体并列"
    parts.insert(0, f"图中：{_group_label(group)}，{span}（{'、'.join(series)}）。")
    if mark == "line" and lone:
        said = "；".join(f"{r['系列']} {r['年份']}年{r['原文数值']}" for r in lone)
        parts.append(f"只有一个年份、画不成线：{said}。")
    if any(f.kind == "expected" for f in best.values()):
        parts.append("实际数含报告中的“预计”数（报告发布时的初步数）。")
    if repeated:
        parts.append(f"同一年有多个来源时取较新的报告（{repeated} 条未画入，见下表）。")
    others = len(named) - len([f for f in named if _group_key(f) == group])
    if others:
        parts.append(f"另有 {others} 条口径不同（如总量与增速不能画在一起），可在「口径」中切换。")
    unit = group.split("|")[2]
    if unit and any(f.unit != unit for f in best.values()):
        parts.append(f"数值已换算为{unit}。")
    return Chart(mark=mark, rows=rows, y_title=_group_label(group), note="".join(parts), groups=groups, group=group)


# --- CSV -----------------------------------------------------------------------------------------
def csv_bytes(figures: Iterable[Figure]) -> bytes:
    """The filtered table with the numbers an analyst computes with, UTF-8 with a BOM: Excel then reads
    the Chinese right."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for f in figures:
        writer.writerow([f.entity or NO_ENTITY, indicator_name(f), value_words(f), KIND_ZH.get(f.kind, f.kind),
                         f.period or "", f.basis, f.title, f.section, MEASURE_ZH.get(f.measure, f.measure),
                         _number(f.value), f.unit, _number(f.base_value), f.base_unit, f.text, f.source, f.start, f.end])
    return out.getvalue().encode("utf-8-sig")


def csv_name(query: FigureQuery) -> str:
    parts = ["指标", *query.entities, query.indicator, *(str(y) for y in query.years),
             *(KIND_ZH.get(k, k) for k in query.kinds)]
    return _UNSAFE.sub("_", "_".join(p for p in parts if p))[:80] + ".csv"


def write_csv(figures: Iterable[Figure], query: FigureQuery, root: Path | None = None) -> Path:
    """The CSV in a folder of its own (one per request, so two users never share a file); folders older
    than an hour are removed first (Gradio has served its own copy by then)."""
    path = request_dir(CSV_PREFIX, root, CSV_MAX_AGE_S) / csv_name(query)
    path.write_bytes(csv_bytes(figures))
    return path


# --- the tab -------------------------------------------------------------------------------------
@dataclass
class FigureParts:
    """What `ChatUI.build` wires of the tab: a table row clicked opens the report view."""

    tab: FiguresTab
    table: Any
    shown: Any


class FiguresTab:
    """The 指标 tab: the ledger filtered into a table, a chart and a CSV. `report_view(chunk_id, span)`
    renders the 原文 view a table row opens (the chat's own, so both look the same)."""

    def __init__(self, qa: ReportQA, report_view: Callable[[str, tuple[int, int] | None], str]):
        self.qa = qa
        self.report_view = report_view

    def on_figures(self, entities=None, indicator=None, years=None, kinds=None, group=None):
        """The tab for its filters: choices, table, chart and CSV. Read from the ledger only when the tab
        is opened or a filter changes, never at start-up."""
        ledger = self.qa.figures()
        query = FigureQuery(tuple(entities or []), (indicator or "").strip(), tuple(int(y) for y in years or []),
                            tuple(kinds or []))
        scope = select(ledger, FigureQuery(entities=query.entities))
        chosen = select(ledger, query, {f.indicator for f in ledger})
        rows = table_rows(chosen)
        drawn = chart(chosen, query.indicator, group or "", query.kinds)
        plot = {"value": drawn.frame(), "visible": True}
        line = gr.update(**plot) if drawn.mark == "line" else gr.update(visible=False)
        bar = gr.update(**plot) if drawn.mark == "bar" else gr.update(visible=False)
        style = {"mark": drawn.mark, "y_title": drawn.y_title, "y_lim": drawn.y_lim, "color_map": drawn.colours,
                 "sort": [r["系列"] for r in drawn.rows]}
        shown = [{"chunk_id": f.chunk_id, "start": f.start, "end": f.end, "row": row}
                 for f, row in zip(chosen, rows, strict=False)]
        csv_path = str(write_csv(chosen, query)) if chosen else None
        return (
            gr.update(choices=entity_choices(ledger)),
            gr.update(choices=[("全部指标", ""), *indicator_choices(scope)]),
            gr.update(choices=year_choices(ledger)),
            table_frame(rows), shown, line, bar, style, f'<div class="rq-fig-note">{esc(drawn.note)}</div>',
            gr.update(choices=drawn.groups, value=drawn.group or None, visible=len(drawn.groups) > 1),
            f'<div class="rq-fig-note">{esc(count_note(len(rows), len(chosen)))}</div>',
            gr.update(value=csv_path, interactive=csv_path is not None,
                      label=f"导出 CSV（{len(chosen)} 条）" if chosen else "导出 CSV"),
        )

    @staticmethod
    def on_chart_style(style: dict[str, Any] | None):
        """The chart's axis, scale and colours, sent after its data: Gradio redraws a chart when these
        change, from the data it holds then, so a new series (a new entity) would get no colour if they
        came together with the data."""
        if not style or not style.get("mark"):
            return gr.update(), gr.update()
        common = {k: style[k] for k in ("y_title", "y_lim", "color_map")}
        if style["mark"] == "line":
            return gr.update(**common), gr.update()
        return gr.update(), gr.update(**common, sort=style["sort"])

    def on_figure_select(self, shown: list[dict[str, Any]], evt: gr.SelectData):
        """A table row clicked: the report opens in 原文 at that figure, its words marked. The row is found
        by its values when the table was sorted in the browser (the index then no longer matches)."""
        index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        row = [str(v) for v in evt.row_value or []]
        hit = shown[index] if isinstance(index, int) and 0 <= index < len(shown or []) else None
        if row and (hit is None or hit["row"] != row):
            hit = next((s for s in shown or [] if s["row"] == row), None)
        if hit is None:
            return gr.update(), gr.update()
        return self.report_view(hit["chunk_id"], (hit["start"], hit["end"])), gr.Tabs(selected="report")

    def build(self, tab: gr.Tab) -> FigureParts:
        """The tab's controls, inside the caller's `gr.Tab`; opening it (`tab.select`) fills them."""
        indicator = gr.Dropdown(label="指标（可选择或输入）", choices=[], value="", allow_custom_value=True,
                                elem_id="rq-fig-indicator")
        with gr.Row(equal_height=True):
            entities = gr.Dropdown(label="主体", multiselect=True, choices=[], min_width=140, elem_id="rq-fig-entity")
            years = gr.Dropdown(label="数据年份", multiselect=True, choices=[], min_width=140, elem_id="rq-fig-year")
        kinds = gr.CheckboxGroup(label="类型（不选即全部）", choices=[(v, k) for k, v in KIND_ZH.items()],
                                 elem_id="rq-fig-kind")
        group = gr.Radio(label="口径（只画同一口径、同一单位的数值）", choices=[], visible=False, elem_id="rq-fig-group")
        line = gr.LinePlot(x="年份", y="数值", color="系列", x_title="年份", color_title="主体", tooltip=["原文数值", "报告"],
                           sort="x", height=280, visible=False, show_label=False, elem_id="rq-fig-line")
        bar = gr.BarPlot(x="系列", y="数值", color="类型", x_title="主体", color_title="类型", tooltip=["原文数值", "报告"],
                         height=280, visible=False, show_label=False, elem_id="rq-fig-bar")
        note = gr.HTML("", apply_default_css=False, elem_id="rq-fig-note")
        count = gr.HTML("", apply_default_css=False, elem_id="rq-fig-count")
        table = gr.Dataframe(headers=COLUMNS, interactive=False, max_height=420, column_widths=COLUMN_WIDTHS,
                             show_label=False, elem_id="rq-fig-table")
        csv_button = gr.DownloadButton("导出 CSV", interactive=False, size="sm", elem_id="rq-fig-csv")
        shown = gr.State([])
        style = gr.State(None)
        gr.on([tab.select, entities.input, indicator.input, years.input, kinds.input, group.input], self.on_figures,
              [entities, indicator, years, kinds, group],
              [entities, indicator, years, table, shown, line, bar, style, note, group, count, csv_button]).then(
            self.on_chart_style, [style], [line, bar], queue=False)
        return FigureParts(self, table, shown)
