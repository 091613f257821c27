"""The indexed reports: list them (`read`), upload and delete them (`write`, the routes an API key with
scope `write` guards). Uploads are saved as `data_dir/uploads/<sanitised name>`; what fails to index is
not kept."""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, File, UploadFile
from starlette.exceptions import HTTPException

from assistant.ingest.loading import supported_suffixes
from assistant.serve.api.deps import QA, AppSettings
from assistant.serve.api.errors import errors
from assistant.serve.api.schemas import DeleteOut, FiguresOut, ReportsOut, UploadOut
from assistant.serve.uploads import UPLOAD_DIR, Stored, discard_new, safe_name, store
from assistant.settings import Settings

if TYPE_CHECKING:
    from assistant.qa import ReportQA

MAX_FILES_PER_UPLOAD = 20

read = APIRouter(prefix="/v1", tags=["reports"])
write = APIRouter(prefix="/v1", tags=["reports"])


@read.get("/reports", response_model=ReportsOut, responses=errors(503))
def list_reports(qa: QA) -> dict[str, Any]:
    """Every indexed report (a file may hold several)."""
    reports = qa.reports()
    return {"count": len(reports), "reports": reports}


@read.get("/figures", response_model=FiguresOut, responses=errors(503))
def list_figures(qa: QA, entity: str | None = None, indicator: str | None = None, period: int | None = None,
                 kind: Literal["actual", "expected", "target"] | None = None, limit: int = 1000) -> dict[str, Any]:
    """The indicator ledger, filtered: each figure with its entity, year, kind and exact source span."""
    rows = qa.figures(entity=entity, indicator=indicator, period=period, kind=kind)
    return {"count": len(rows), "figures": [f.to_dict() for f in rows[: max(0, min(limit, 10000))]]}


@write.post("/reports", response_model=UploadOut, responses=errors(413, 503))
def upload_reports(
    files: Annotated[list[UploadFile], File(min_length=1, max_length=MAX_FILES_PER_UPLOAD,
                                            description=f"Report files ({', '.join(supported_suffixes())})")],
    qa: QA, settings: AppSettings,
) -> dict[str, Any]:
    """Save the files under data_dir/uploads (sanitised names) and ingest them; one outcome per file,
    in upload order. A file over the size limit fails the whole upload (413) before anything is written."""
    named, order = _accepted(files, settings)
    saved: dict[str, Stored] = {}
    for name, f in named.items():
        f.file.seek(0)
        saved[name] = store(Path(settings.data_dir) / UPLOAD_DIR, name, f.file.read())
    source = {name: f"{UPLOAD_DIR}/{s.path.name}" for name, s in saved.items()}  # a taken name gets a new one
    t0 = time.perf_counter()
    outcomes = _ingested(qa, settings, list(saved.values()))
    missing = {"status": "error", "message": "the ingest reported nothing for this file"}
    return {"files": [outcomes.get(source[x], {"source": source[x], **missing}) if isinstance(x, str) else x
                      for x in order],
            "seconds": round(time.perf_counter() - t0, 3)}


@write.delete("/reports/{report_id}", response_model=DeleteOut, responses=errors(404, 503))
def delete_report(report_id: str, qa: QA, settings: AppSettings) -> dict[str, Any]:
    """Remove the file holding this report from the index (with the file's other reports)."""
    reports = qa.reports()
    match = next((r for r in reports if r.report_id == report_id), None)
    if match is None:
        raise HTTPException(404, f"no report with id {report_id!r}")
    path = (Path(settings.data_dir) / match.source).resolve()
    deleted = path.parent == (Path(settings.data_dir) / UPLOAD_DIR).resolve() and path.is_file()
    qa.remove(match.source, path if deleted else None)
    return {"report_id": report_id, "source": match.source, "file_deleted": deleted,
            "removed_report_ids": [r.report_id for r in reports if r.source == match.source]}


def _accepted(files: list[UploadFile], settings: Settings) -> tuple[dict[str, UploadFile], list[str | dict[str, Any]]]:
    """The files to store, by safe name, and the upload's order: a safe name, or the outcome of a file
    refused by its name. A file over the size limit fails the whole upload."""
    max_bytes = int(settings.max_file_mb * 1024 * 1024)
    named: dict[str, UploadFile] = {}
    order: list[str | dict[str, Any]] = []
    for f in files:
        try:
            name = safe_name(f.filename)
        except ValueError as exc:
            order.append(_refused(f.filename, str(exc)))
            continue
        if name in named:
            order.append(_refused(f.filename, f"another file in this upload is also named {name}"))
            continue
        size = f.size if f.size is not None else len(f.file.read())
        if size > max_bytes:
            raise HTTPException(413, f"{name}: {size / 1e6:.2f} MB, over the limit of "
                                     f"{settings.max_file_mb:g} MB (REPORTQA_MAX_FILE_MB)")
        named[name] = f
        order.append(name)
    return named, order


def _ingested(qa: ReportQA, settings: Settings, saved: list[Stored]) -> dict[str, dict[str, Any]]:
    """Ingest the stored files: each one's outcome by source, with the ids of the reports it now holds;
    files that failed or duplicate another are removed again, so uploads/ keeps only what is indexed."""
    if not saved:
        return {}
    summary = qa.ingest([s.path for s in saved])
    ids: dict[str, list[str]] = {}
    for r in qa.reports():
        ids.setdefault(r.source, []).append(r.report_id)
    outcomes: dict[str, dict[str, Any]] = {}
    failed: set[Path] = set()
    for o in summary.outcomes:
        if o.status in ("error", "duplicate"):
            failed.add(Path(settings.data_dir) / o.source)
        indexed = o.status in ("indexed", "unchanged")
        outcomes[o.source] = {**asdict(o), "report_ids": ids.get(o.source, []) if indexed else []}
    discard_new(saved, failed)
    return outcomes


def _refused(filename: str | None, message: str) -> dict[str, Any]:
    return {"source": filename or "(no name)", "status": "error", "message": message}
