"""Report-file imports: upload (same validation and errors as ``lianxing import``), history."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import JSONResponse
from sqlalchemy import select

from lianxing.db.models import ImportBatch
from lianxing.domain.access import Access
from lianxing.ingest.files.problems import ImportRejected
from lianxing.ingest.files.registry import formats
from lianxing.ingest.service import ImportInputError, ImportOptions, ImportResult, import_file
from lianxing.web.api.common import StoreId, parse_day, store_or_404
from lianxing.web.deps import ApiCaller, Caller, state, transaction

router = APIRouter(tags=["imports"])

MAX_UPLOAD_BYTES = 2 * 1024**3  # larger files go through `lianxing import` on the server
_UNSAFE_NAME = re.compile(r"[^\w.\-() ]+", re.UNICODE)


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
) -> ImportResult:
    """Save the upload under its own name (so errors name it) and import it like the CLI."""
    web = state(request)
    with transaction(request) as session:
        store_or_404(session, caller, store_id, Access.OPERATE)
    period_from = parse_day(date_from, "from")
    period_to = parse_day(date_to, "to")
    name = safe_file_name(upload.filename)
    with tempfile.TemporaryDirectory(prefix="lx-upload-") as folder:
        path = Path(folder) / name
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
        try:
            with web.warehouse_lock:
                return import_file(
                    web.workspace,
                    path,
                    store_id,
                    format_id=format_id or None,
                    dry_run=dry_run,
                    options=ImportOptions(
                        period_from=period_from,
                        period_to=period_to,
                        actor=caller.principal.actor,
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
    status_code=201,
    summary="Import a report file / 导入报表",
    responses={422: {"description": "the file was rejected; `problems` lists every problem"}},
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
        result = run_upload(
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
    return result.as_json()


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
