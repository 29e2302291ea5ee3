"""Imports: upload a report file for a store; the import runs as a background job that the
page polls (htmx) until it shows the result or every row-level problem."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy import select

from lianxing.accounts.service import visible_stores
from lianxing.db.models import ImportBatch
from lianxing.domain.access import Access
from lianxing.ingest.files.registry import formats
from lianxing.ingest.service import ImportResult
from lianxing.web.api.imports import JobId, UploadRejected, import_job_for, run_upload
from lianxing.web.deps import Caller, PageCaller, check_csrf, transaction
from lianxing.web.templating import render

router = APIRouter()


@router.get("/imports")
def imports_page(request: Request, caller: PageCaller, store: int | None = Query(None)) -> Response:
    with transaction(request) as session:
        visible = visible_stores(session, caller.principal)
        operable = [s for s, a in visible if a >= Access.OPERATE]
        ids = [s.id for s, _ in visible]
        batches = list(
            session.scalars(
                select(ImportBatch)
                .where(ImportBatch.store_id.in_(ids))
                .order_by(ImportBatch.started_at.desc())
                .limit(30)
            )
        )
        names = {s.id: s.name for s, _ in visible}
    return render(
        request,
        "imports.html",
        {
            "stores": operable,
            "selected_store": store,
            "formats": list(formats().values()),
            "batches": batches,
            "store_names": names,
        },
        caller=caller,
    )


@router.post("/imports/upload")
def upload(
    request: Request,
    caller: PageCaller,
    file: Annotated[UploadFile, File()],
    store: int = Form(...),
    format: str = Form("", max_length=100),
    dry_run: bool = Form(False),
    date_from: str = Form("", alias="from", max_length=10),
    date_to: str = Form("", alias="to", max_length=10),
    csrf_token: str = Form(""),
) -> Response:
    check_csrf(caller, csrf_token, request)
    try:
        result = run_upload(
            request,
            caller,
            store,
            file,
            format_id=format or None,
            dry_run=dry_run,
            date_from=date_from or None,
            date_to=date_to or None,
        )
    except UploadRejected as exc:
        return render(
            request,
            "_import_result.html",
            {"rejected": exc, "result": None},
            caller=caller,
            status_code=200,  # htmx swaps 2xx only; the fragment says it was rejected
        )
    except HTTPException as exc:
        return render(
            request,
            "_import_result.html",
            {"rejected": UploadRejected(exc.status_code, str(exc.detail), []), "result": None},
            caller=caller,
        )
    if isinstance(result, ImportResult):  # a dry run, checked at once
        return render(
            request,
            "_import_result.html",
            {"rejected": None, "result": result.as_json(), "alerts": None},
            caller=caller,
        )
    return _job_fragment(request, caller, result.job.id)


def _job_fragment(request: Request, caller: Caller, job_id: str) -> Response:
    view = import_job_for(request, caller, job_id)
    if not view.finished:
        return render(request, "_import_job.html", {"view": view}, caller=caller)
    return render(
        request,
        "_import_result.html",
        {"rejected": view.rejected, "result": view.result, "alerts": view.alerts},
        caller=caller,
    )


@router.get("/imports/jobs/{job_id}")
def import_job(request: Request, caller: PageCaller, job_id: JobId) -> Response:
    """Polled by the page: the job's progress, then its result or problems."""
    return _job_fragment(request, caller, job_id)
