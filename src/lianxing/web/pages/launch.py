"""Launch board pages: stores by stage, and one store's checklist, documents and assets
(identifiers masked; the Show button reveals one, audited, on a page that is not cached)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from lianxing.domain.access import Access
from lianxing.domain.assets import AssetKind, HolderKind
from lianxing.domain.launch import DocumentType, ItemStatus
from lianxing.launch.assets import asset_store
from lianxing.launch.plans import Evidence
from lianxing.web.api.common import StoreId, store_or_404
from lianxing.web.api.launch import (
    AssetId,
    ItemId,
    board,
    change_item,
    item_store,
    launch_view,
    reveal,
)
from lianxing.web.api.launch_changes import (
    read_upload,
    record_asset,
    set_item_details,
    store_document,
)
from lianxing.web.deps import PageCaller, check_csrf, state, transaction
from lianxing.web.templating import render

router = APIRouter()


@router.get("/launch")
def board_page(request: Request, caller: PageCaller) -> Response:
    with transaction(request) as session:
        rows = board(session, caller, state(request).workspace)
    return render(request, "launch_board.html", {"rows": rows}, caller=caller)


def _store_page(
    request: Request,
    caller: PageCaller,
    store_id: int,
    *,
    message: str | None = None,
    error: str | None = None,
    revealed: dict[int, str] | None = None,
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
            "document_types": [t.value for t in DocumentType],
            "asset_kinds": [k.value for k in AssetKind],
            "holder_kinds": [h.value for h in HolderKind],
            "message": message,
            "error": error,
            "revealed": revealed or {},
        },
        caller=caller,
    )


@router.get("/launch/{store_id}")
def store_launch_page(
    request: Request,
    store_id: StoreId,
    caller: PageCaller,
    message: str | None = Query(None, max_length=40),
    error: str | None = Query(None, max_length=500),
) -> Response:
    return _store_page(request, caller, store_id, message=message, error=error)


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


def _apply(
    store_id: int,
    anchor: str,
    message: str,
    change: Callable[[], Any],
) -> Response:
    """Run a change; back to the store's page with a message, or with the error's one line."""
    try:
        change()
    except HTTPException as exc:
        return RedirectResponse(
            f"/launch/{store_id}?error={quote(str(exc.detail))}#{anchor}", status_code=303
        )
    return RedirectResponse(f"/launch/{store_id}?message={message}#{anchor}", status_code=303)


@router.post("/launch/items/{item_id}/set")
def set_item_form(
    request: Request,
    item_id: ItemId,
    caller: PageCaller,
    owner: str = Form("", max_length=200),
    due_date: str = Form("", max_length=10),
    csrf_token: str = Form(""),
) -> Response:
    check_csrf(caller, csrf_token, request)
    with transaction(request) as session:
        store_id = item_store(session, caller, item_id, Access.READ)

    def change() -> None:
        with transaction(request) as session:
            set_item_details(
                session, caller, item_id, owner=owner.strip() or None, due=due_date or None
            )

    return _apply(store_id, f"item-{item_id}", "updated", change)


@router.post("/launch/{store_id}/documents")
def upload_document_form(
    request: Request,
    store_id: StoreId,
    caller: PageCaller,
    file: Annotated[UploadFile, File()],
    doc_type: str = Form("", alias="type", max_length=100),
    title: str = Form("", max_length=500),
    issued: str = Form("", max_length=10),
    expires: str = Form("", max_length=10),
    csrf_token: str = Form(""),
) -> Response:
    check_csrf(caller, csrf_token, request)
    web = state(request)
    with transaction(request) as session:
        store_or_404(session, caller, store_id, Access.READ)

    def change() -> None:
        with transaction(request) as session:
            store_or_404(session, caller, store_id, Access.OPERATE)
        content = read_upload(file)
        with transaction(request) as session:
            store_document(
                session,
                caller,
                web.workspace,
                store_id,
                content=content,
                file_name=file.filename or "document",
                doc_type=doc_type,
                title=title.strip() or None,
                issued=issued or None,
                expires=expires or None,
            )

    return _apply(store_id, "documents-section", "uploaded", change)


@router.post("/launch/{store_id}/assets")
def set_asset_form(
    request: Request,
    store_id: StoreId,
    caller: PageCaller,
    kind: str = Form("", max_length=50),
    label: str = Form("", max_length=200),
    identifier: str = Form("", max_length=300),
    holder: str = Form("", max_length=20),
    holder_name: str = Form("", max_length=200),
    verified: bool = Form(False),
    note: str = Form("", max_length=2000),
    csrf_token: str = Form(""),
) -> Response:
    check_csrf(caller, csrf_token, request)
    with transaction(request) as session:
        store_or_404(session, caller, store_id, Access.READ)

    def change() -> None:
        with transaction(request) as session:
            record_asset(
                session,
                caller,
                state(request).workspace,
                store_id,
                kind=kind,
                label=label,
                identifier=identifier.strip() or None,
                holder=holder or None,
                holder_name=holder_name.strip() or None,
                verified=verified,
                note=note.strip() or None,
            )

    return _apply(store_id, "assets", "asset", change)


@router.post("/launch/{store_id}/assets/{asset_id}/reveal")
def reveal_asset_form(
    request: Request,
    store_id: StoreId,
    asset_id: AssetId,
    caller: PageCaller,
    csrf_token: str = Form(""),
) -> Response:
    """The store's page with this asset's full identifier shown (the read is audited).

    Answered directly, not by a redirect: the identifier must not travel in a URL."""
    check_csrf(caller, csrf_token, request)
    with transaction(request) as session:
        store_or_404(session, caller, store_id, Access.READ)
        if asset_store(session, asset_id) != store_id:
            raise HTTPException(404, f"no asset with id {asset_id} / 资产不存在")
    try:
        with transaction(request) as session:
            identifier = reveal(session, caller, state(request).workspace, asset_id)["identifier"]
    except HTTPException as exc:
        return RedirectResponse(
            f"/launch/{store_id}?error={quote(str(exc.detail))}#assets", status_code=303
        )
    page = _store_page(request, caller, store_id, revealed={asset_id: identifier})
    page.headers["Cache-Control"] = "no-store"
    return page
