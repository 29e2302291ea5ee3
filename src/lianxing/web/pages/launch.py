"""Launch board pages: stores by stage, and one store's checklist, documents and assets."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from lianxing.domain.access import Access
from lianxing.domain.launch import ItemStatus
from lianxing.launch.plans import Evidence
from lianxing.web.api.common import StoreId
from lianxing.web.api.launch import ItemId, board, change_item, item_store, launch_view
from lianxing.web.deps import PageCaller, check_csrf, state, transaction
from lianxing.web.templating import render

router = APIRouter()


@router.get("/launch")
def board_page(request: Request, caller: PageCaller) -> Response:
    with transaction(request) as session:
        rows = board(session, caller, state(request).workspace)
    return render(request, "launch_board.html", {"rows": rows}, caller=caller)


@router.get("/launch/{store_id}")
def store_launch_page(
    request: Request,
    store_id: StoreId,
    caller: PageCaller,
    message: str | None = Query(None, max_length=40),
    error: str | None = Query(None, max_length=500),
) -> Response:
    web = state(request)
    with web.warehouse_lock, transaction(request) as session:
        view = launch_view(session, caller, web.workspace, store_id)
    return render(
        request,
        "launch_store.html",
        {
            **view,
            "can_operate": view["access"] in ("operate", "manage"),
            "message": message,
            "error": error,
        },
        caller=caller,
    )


def _change(
    request: Request,
    caller: PageCaller,
    item_id: int,
    status: ItemStatus,
    *,
    reason: str | None = None,
    evidence: Evidence | None = None,
) -> Response:
    with transaction(request) as session:
        store_id = item_store(session, caller, item_id, Access.READ)
    try:
        with transaction(request) as session:
            change_item(session, caller, item_id, status, reason=reason, evidence=evidence)
    except HTTPException as exc:
        return RedirectResponse(
            f"/launch/{store_id}?error={quote(str(exc.detail))}#item-{item_id}", status_code=303
        )
    return RedirectResponse(
        f"/launch/{store_id}?message={status.value}#item-{item_id}", status_code=303
    )


@router.post("/launch/items/{item_id}/done")
def done_form(
    request: Request,
    item_id: ItemId,
    caller: PageCaller,
    note: str = Form("", max_length=2000),
    link: str = Form("", max_length=1000),
    document: str = Form("", max_length=12),
    csrf_token: str = Form(""),
) -> Response:
    check_csrf(caller, csrf_token, request)
    evidence = Evidence(
        int(document) if document.isdigit() else None, note.strip() or None, link.strip() or None
    )
    return _change(request, caller, item_id, ItemStatus.DONE, evidence=evidence)


@router.post("/launch/items/{item_id}/waive")
def waive_form(
    request: Request,
    item_id: ItemId,
    caller: PageCaller,
    reason: str = Form("", max_length=2000),
    csrf_token: str = Form(""),
) -> Response:
    check_csrf(caller, csrf_token, request)
    return _change(request, caller, item_id, ItemStatus.WAIVED, reason=reason)
