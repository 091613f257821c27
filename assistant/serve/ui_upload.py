"""The 上传报告 tab: files saved through the one upload service (`uploads.store`), indexed at once, and a
table of what became of each (`UploadPanel`: its handlers and layout, which `ChatUI.build` places and
wires to the filters, the index status and the empty chat's overview).

The handlers are plain methods, so tests call them without a server. Everything taken from a file or
a report is HTML-escaped here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

from assistant.errors import USER_ERRORS, ReportQAError
from assistant.ingest.loading import source_name, supported_suffixes
from assistant.records import Report
from assistant.serve.ui_render import esc
from assistant.serve.uploads import UPLOAD_DIR, Stored, discard_new, safe_name, store

if TYPE_CHECKING:
    from assistant.qa import ReportQA

STATUS_ZH = {"indexed": "已导入", "unchanged": "已在索引中", "duplicate": "重复，未再索引", "error": "失败"}


def report_label(r: Report) -> str:
    return f"{r.title}（{r.city or '城市未知'}·{r.year or '年份未知'}）"


@dataclass
class UploadRow:
    name: str
    status: str = "error"
    reports: int = 0
    chunks: int = 0
    message: str = ""
    titles: list[str] = field(default_factory=list)


@dataclass
class UploadParts:
    """What `ChatUI.build` wires of the tab: the button indexes the chosen files into the result table."""

    files: Any
    button: Any
    result: Any


class UploadPanel:
    """The upload tab around one shared `ReportQA`. `refresh(cities, years, report_ids, periods)` gives the
    index status and the filters' updates after an upload (the chat's own `on_refresh`)."""

    def __init__(self, qa: ReportQA, refresh: Callable[..., tuple[Any, ...]]):
        self.qa = qa
        self.settings = qa.settings
        self.refresh = refresh

    def store_upload(self, path: Path) -> Stored:
        """Save an uploaded file under data_dir/uploads through the one upload service (a safe name, a new
        name when another file holds it); reject early what cannot work."""
        try:
            name = safe_name(path.name)
        except ValueError:
            raise ReportQAError(f"不支持的文件类型 {path.suffix or '（无扩展名）'}，支持：{'、'.join(supported_suffixes())}") from None
        size = path.stat().st_size
        if size > self.settings.max_file_mb * 1024 * 1024:
            raise ReportQAError(f"文件 {size / 1024 / 1024:.1f} MB，超过上限 {self.settings.max_file_mb:g} MB")
        return store((self.settings.data_dir / UPLOAD_DIR).resolve(), name, path.read_bytes())

    def upload(self, files: list[str] | None, progress=None) -> list[UploadRow]:
        rows: list[UploadRow] = []
        stored: dict[str, UploadRow] = {}
        saved: list[Stored] = []
        for f in files or []:
            path = Path(getattr(f, "name", f))
            row = UploadRow(path.name)
            rows.append(row)
            try:
                kept = self.store_upload(path)
            except OSError as exc:
                row.message = str(exc)
                continue
            except USER_ERRORS as exc:
                row.message = str(exc)
                continue
            saved.append(kept)
            row.name = kept.path.name
            stored[source_name(kept.path, self.settings.data_dir)] = row
        if stored:
            def tick(done: int, total: int, source: str) -> None:
                if progress is not None and total:
                    progress((done, total), desc=f"正在索引 {source}", unit="片段")

            summary = self.qa.ingest([self.settings.data_dir / s for s in stored], progress=tick)
            titles: dict[str, list[str]] = {}
            for r in self.qa.reports():
                titles.setdefault(r.source, []).append(report_label(r))
            for o in summary.outcomes:
                done = stored.get(o.source)
                if done is not None:
                    done.status, done.reports, done.chunks, done.message = o.status, o.reports, o.chunks, o.message
                    done.titles = titles.get(o.source, [])
            discard_new(saved, {self.settings.data_dir / o.source for o in summary.outcomes
                              if o.status in ("error", "duplicate")})
        return rows

    @staticmethod
    def upload_html(rows: list[UploadRow]) -> str:
        if not rows:
            return '<div class="rq-empty">请先选择文件。</div>'
        body = []
        for r in rows:
            cls = "rq-err" if r.status == "error" else "rq-ok"
            titles = "<br>".join(esc(t) for t in r.titles)
            body.append(f'<tr><td>{esc(r.name)}</td><td class="rq-nw {cls}">{STATUS_ZH.get(r.status, r.status)}</td>'
                        f'<td class="rq-nw">{r.reports}</td><td class="rq-nw">{r.chunks}</td>'
                        f"<td>{titles}{'<br>' if titles and r.message else ''}"
                        f"{esc(r.message)}</td></tr>")
        return ('<table class="rq-table rq-upload"><tr><th>文件</th><th>结果</th><th>报告</th><th>片段</th>'
                f'<th>说明</th></tr>{"".join(body)}</table>')

    def on_upload(self, files, cities, years, report_ids, periods=None, progress=gr.Progress()):  # noqa: B008
        progress(0, desc="正在保存并解析文件…")
        rows = self.upload(files, progress)
        return (self.upload_html(rows), None, *self.refresh(cities, years, report_ids, periods))

    def build(self) -> UploadParts:
        """The tab's controls, inside the caller's `gr.Tab`."""
        files = gr.File(label=f"选择报告文件（{'、'.join(supported_suffixes())}，"
                              f"单个不超过 {self.settings.max_file_mb:g} MB）",
                        file_count="multiple", elem_id="rq-files")
        # no file_types: Gradio would refuse other files with an English toast; the upload
        # service refuses them by name, in Chinese, in the results table instead
        button = gr.Button("导入并索引", variant="primary", elem_id="rq-upload")
        result = gr.HTML("", js_on_load=None, apply_default_css=False, min_height=80, elem_id="rq-upload-result")
        return UploadParts(files, button, result)
