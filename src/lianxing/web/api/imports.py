"""Report-file imports: upload (same validation and errors as ``lianxing import``), history.

An upload is saved under the workspace (``<home>/uploads/``) and imported by the background
job ``ingest.import_file`` (which also evaluates the alert rules of the store); the caller
polls the job. A dry run writes nothing and evaluates nothing, so it runs at once.
"""

from __future__ import annotations

import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from sqlalchemy import select

from lianxing.db.models import ImportBatch
from lianxing.domain.access import Access
from lianxing.ingest.files.problems import ImportRejected
from lianxing.ingest.files.registry import formats
from lianxing.ingest.service import ImportInputError, ImportOptions, ImportResult, import_file
from lianxing.jobs.runner import submit
from lianxing.jobs.store import JobStatus, JobView
from lianxing.jobs.store import get as get_job
from lianxing.web.api.common import StoreId, parse_day, store_or_404
from lianxing.web.deps import ApiCaller, Caller, state, transaction
from lianxing.workspace import Workspace

router = APIRouter(tags=["imports"])

IMPORT_JOB = "ingest.import_file"
MAX_UPLOAD_BYTES = 2 * 1024**3  # larger files go through `lianxing import` on the server
_UNSAFE_NAME = re.compile(r"[^\w.\-() ]+", re.UNICODE)
_TRACEBACK = "\nTraceback (most recent call last):"

JobId = Annotated[str, PathParam(min_length=1, max_length=36, description="job id / 任务 ID")]


class UploadRejected(Exception):
    """The upload was refused; ``problems`` are the lines the CLI would print."""

    def __init__(self, status: int, message: str, problems: list[str]) -> None:
        super().__init__(message)
        self.status, self.message, self.problems = status, message, problems


def batch_json(batch: ImportBatch) -> dict[str, Any]:
    return {
        "id": batch.id,
        "store": batch.store_id,
        "source": batch.source,
        "file_name": batch.file_name,
        "file_sha256": batch.file_sha256,
        "rows_read": batch.rows_read,
        "rows_new": batch.rows_new,
        "rows_updated": batch.rows_updated,
        "rows_unchanged": batch.rows_unchanged,
        "status": batch.status,
        "started_at": batch.started_at.isoformat(),
        "finished_at": batch.finished_at.isoformat() if batch.finished_at else None,
        "error": batch.error,
    }


def safe_file_name(name: str | None) -> str:
    base = Path(name or "upload").name
    cleaned = _UNSAFE_NAME.sub("_", base).strip(". ") or "upload"
    return cleaned[:200]


def uploads_dir(ws: Workspace) -> Path:
    return ws.settings.home_dir / "uploads"


@dataclass(frozen=True, slots=True)
class ImportJobState:
    """An import job as the upload page and the API show it."""

    job: JobView
    file_name: str
    store_id: int | None
    result: dict[str, Any] | None  # the import's JSON once done
    alerts: dict[str, Any] | None  # the alert evaluation that followed it
    rejected: UploadRejected | None  # once failed: the problems, as the CLI prints them

    @property
    def finished(self) -> bool:
        return self.job.status in (JobStatus.DONE, JobStatus.FAILED)

    def as_json(self) -> dict[str, Any]:
        return {
            "job": self.job.id,
            "status": self.job.status.value,
            "file_name": self.file_name,
            "store": self.store_id,
            "result": self.result,
            "alerts": self.alerts,
            "detail": self.rejected.message if self.rejected else None,
            "problems": self.rejected.problems if self.rejected else [],
        }


def _rejection(error: str, file_name: str) -> UploadRejected:
    """The job's recorded error back as the lines the CLI prints (without the traceback)."""
    text = error.split(_TRACEBACK, 1)[0].strip()
    kind, _, message = text.partition(": ")
    if kind == ImportRejected.__name__:
        lines = [line for line in message.splitlines() if line.strip()]
        return UploadRejected(
            422,
            f"{file_name} rejected, nothing imported / 文件有误，未导入 ({len(lines)} problem(s))",
            lines,
        )
    if kind == ImportInputError.__name__:
        return UploadRejected(422, message, [message])
    return UploadRejected(500, f"{file_name}: the import failed / 导入失败: {text}", [text])


def import_job_state(job: JobView) -> ImportJobState:
    path = Path(str(job.args.get("path", "upload")))
    store = job.args.get("store_id")
    result = job.result or {}
    rejected = None
    if job.status is JobStatus.FAILED:
        rejected = _rejection(job.error or "", path.name)
    return ImportJobState(
        job=job,
        file_name=path.name,
        store_id=int(store) if store is not None else None,
        result=result.get("import") if job.status is JobStatus.DONE else None,
        alerts=result.get("alerts") if job.status is JobStatus.DONE else None,
        rejected=rejected,
    )


def import_job_for(request: Request, caller: Caller, job_id: str) -> ImportJobState:
    """The caller's view of an import job; 404 for other jobs and jobs of stores they cannot see."""
    web = state(request)
    with transaction(request) as session:
        job = get_job(session, job_id)
        store = job.args.get("store_id") if job is not None else None
        if job is None or job.kind != IMPORT_JOB or store is None:
            raise HTTPException(404, f"no import job with id {job_id}")
        try:
            store_or_404(session, caller, int(store))
        except HTTPException:
            raise HTTPException(404, f"no import job with id {job_id}") from None
    view = import_job_state(job)
    if view.finished:
        # The upload was needed until the job could no longer run; its facts are imported.
        folder = Path(str(job.args.get("path", ""))).parent
        if folder.parent == uploads_dir(web.workspace):
            shutil.rmtree(folder, ignore_errors=True)
    return view


def _save_upload(folder: Path, name: str, upload: UploadFile) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with path.open("wb") as out:
        copied = 0
        while chunk := upload.file.read(1024 * 1024):
            copied += len(chunk)
            if copied > MAX_UPLOAD_BYTES:
                raise UploadRejected(
                    413,
                    f"{name}: larger than {MAX_UPLOAD_BYTES // 1024**3} GiB; "
                    "use `lianxing import` on the server / 文件过大",
                    [],
                )
            out.write(chunk)
    if copied == 0:
        raise UploadRejected(422, f"{name}: the file is empty / 文件为空", [])
    return path


def run_upload(
    request: Request,
    caller: Caller,
    store_id: int,
    upload: UploadFile,
    *,
    format_id: str | None,
    dry_run: bool,
    date_from: str | None,
    date_to: str | None,
) -> ImportResult | ImportJobState:
    """Save the upload under its own name (so errors name it); a dry run checks it at once,
    a real import is handed to the job runner (its state is returned)."""
    web = state(request)
    with transaction(request) as session:
        store_or_404(session, caller, store_id, Access.OPERATE)
    period_from = parse_day(date_from, "from")
    period_to = parse_day(date_to, "to")
    if period_from and period_to and period_from > period_to:
        raise UploadRejected(422, "from must not be after to / 开始日期不能晚于结束日期", [])
    name = safe_file_name(upload.filename)
    folder = uploads_dir(web.workspace) / uuid.uuid4().hex
    queued = False
    try:
        path = _save_upload(folder, name, upload)
        if not dry_run:
            job = submit(
                web.workspace,
                IMPORT_JOB,
                {
                    "path": str(path),
                    "store_id": store_id,
                    "format_id": format_id or None,
                    "period_from": period_from.isoformat() if period_from else None,
                    "period_to": period_to.isoformat() if period_to else None,
                    "actor": caller.principal.actor,
                },
                # A rejected file stays rejected: one attempt, the problems shown at once.
                max_attempts=1,
                actor=caller.principal.actor,
            )
            queued = True
            return import_job_state(job)
        with web.warehouse_lock:
            return import_file(
                web.workspace,
                path,
                store_id,
                format_id=format_id or None,
                dry_run=True,
                options=ImportOptions(
                    period_from=period_from, period_to=period_to, actor=caller.principal.actor
                ),
            )
    except ImportInputError as exc:
        raise UploadRejected(422, str(exc), [str(exc)]) from None
    except ImportRejected as exc:
        raise UploadRejected(
            422,
            f"{name} rejected, nothing imported / 文件有误，未导入 "
            f"({exc.problems.count} problem(s))",
            exc.problems.lines(),
        ) from None
    finally:
        if not queued:  # the job needs the file until it has run
            shutil.rmtree(folder, ignore_errors=True)


@router.get("/import-formats", summary="Report formats / 报表格式")
def list_formats(caller: ApiCaller) -> dict[str, Any]:
    return {
        "formats": [
            {"id": f.id, "name": {"zh": f.name_zh, "en": f.name_en}, "tables": list(f.tables)}
            for f in formats().values()
        ]
    }


@router.post(
    "/stores/{store_id}/imports",
    status_code=202,
    summary="Import a report file / 导入报表",
    description=(
        "Saves the file and queues its import (job `ingest.import_file`, which also evaluates "
        "the store's alert rules); poll `GET /import-jobs/{job}`. With `dry_run` the file is "
        "checked at once and the answer is 200 with the result."
    ),
    responses={
        200: {"description": "dry run: the file is valid, nothing written"},
        422: {"description": "the file was rejected; `problems` lists every problem"},
    },
)
def upload(
    store_id: StoreId,
    request: Request,
    caller: ApiCaller,
    file: Annotated[UploadFile, File(description="report file (CSV, TSV, XLSX, JSON, .gz)")],
    format: str | None = Form(None, max_length=100, description="format id; detected if empty"),
    dry_run: bool = Form(False),
    date_from: str | None = Form(None, alias="from", max_length=10),
    date_to: str | None = Form(None, alias="to", max_length=10),
) -> Any:
    try:
        outcome = run_upload(
            request,
            caller,
            store_id,
            file,
            format_id=format,
            dry_run=dry_run,
            date_from=date_from,
            date_to=date_to,
        )
    except UploadRejected as exc:
        return JSONResponse(
            {"detail": exc.message, "problems": exc.problems}, status_code=exc.status
        )
    if isinstance(outcome, ImportResult):
        return JSONResponse(outcome.as_json(), status_code=200)
    body = {**outcome.as_json(), "url": f"/api/v1/import-jobs/{outcome.job.id}"}
    return JSONResponse(body, status_code=202)


@router.get("/import-jobs/{job_id}", summary="An import job's state / 导入任务状态")
def import_job(job_id: JobId, request: Request, caller: ApiCaller) -> dict[str, Any]:
    """queued / running / done (with the import's result and the alert evaluation) / failed
    (with every problem, as `lianxing import` prints them)."""
    return import_job_for(request, caller, job_id).as_json()


@router.get("/stores/{store_id}/imports", summary="A store's import history / 导入记录")
def list_imports(store_id: StoreId, request: Request, caller: ApiCaller) -> dict[str, Any]:
    with transaction(request) as session:
        store_or_404(session, caller, store_id)
        rows = session.scalars(
            select(ImportBatch)
            .where(ImportBatch.store_id == store_id)
            .order_by(ImportBatch.started_at.desc())
            .limit(200)
        )
        return {"imports": [batch_json(b) for b in rows]}


@router.get("/imports/{batch_id}", summary="One import / 导入详情")
def get_import(batch_id: str, request: Request, caller: ApiCaller) -> dict[str, Any]:
    with transaction(request) as session:
        batch = session.get(ImportBatch, batch_id[:36])
        if batch is None or batch.store_id is None:
            raise HTTPException(404, f"no import with id {batch_id}")
        try:
            store_or_404(session, caller, batch.store_id)
        except HTTPException:
            raise HTTPException(404, f"no import with id {batch_id}") from None
        return batch_json(batch)
