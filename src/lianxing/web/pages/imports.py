"""Imports: upload a report file for a store, see the result or every row-level problem."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy import select

from lianxing.accounts.service import visible_stores
from lianxing.db.models import ImportBatch
from lianxing.domain.access import Access
from lianxing.ingest.files.registry import formats
from lianxing.web.api.imports import UploadRejected, run_upload
from lianxing.web.deps import PageCaller, check_csrf, transaction
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
    return render(
        request, "_import_result.html", {"rejected": None, "result": result}, caller=caller
    )
