"""The launch board: stores by stage, a store's checklist (owner, due date, evidence, status,
blockers), done / waive, documents with expiry (downloads are audited), account assets
(identifiers masked; revealing one is audited) with the ``assets check`` findings. Thin over
``lianxing.launch`` (as ``lianxing launch``, ``lianxing doc`` and ``lianxing assets`` call it).

Access: reading a plan needs read access to its store; changing items, reading documents and
revealing an asset's identifier need operate access. A document of a whole seller
organisation (no store) is for that organisation's members with operate rights only.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from lianxing.accounts.service import access_to, visible_stores
from lianxing.db.models_launch import LaunchItem, LaunchPlan, VaultDocument
from lianxing.domain.access import ROLE_CEILING, Access
from lianxing.domain.assets import AssetError
from lianxing.domain.launch import ItemStatus, LaunchError
from lianxing.domain.time import utcnow
from lianxing.launch.assets import asset_store, check_store_assets, list_assets, reveal_identifier
from lianxing.launch.plans import Evidence, plan_status, update_item
from lianxing.launch.vault import DocumentView, VaultError, list_documents, read_document
from lianxing.security import SecretError
from lianxing.web.api.common import StoreId, store_or_404
from lianxing.web.deps import ApiCaller, Caller, state, transaction
from lianxing.workspace import Workspace

router = APIRouter(tags=["launch"])

ItemId = Annotated[int, Path(ge=1, le=2**31 - 1, description="launch item id / 检查项 ID")]
DocumentId = Annotated[int, Path(ge=1, le=2**31 - 1, description="document id / 资料 ID")]
AssetId = Annotated[int, Path(ge=1, le=2**31 - 1, description="account asset id / 资产 ID")]


def board(session: Session, caller: Caller, ws: Workspace) -> list[dict[str, Any]]:
    """Every visible store with its plan's current stage and progress (None: no plan)."""
    rows = []
    today = utcnow().date()
    for store, level in visible_stores(session, caller.principal):
        try:
            status = plan_status(session, store_id=store.id, warehouse=None, today=today)
        except LaunchError:
            status = None
        entry: dict[str, Any] = {
            "store": store.id,
            "name": store.name,
            "platform": store.platform,
            "site": store.site,
            "access": level.name.lower(),
            "plan": status is not None,
        }
        if status is not None:
            entry |= {
                "current_stage": status["current_stage"],
                "complete": status["complete"],
                "blocked_by": status["next_stage_blocked_by"],
                "blocked_titles": [
                    i["title"]
                    for s in status["stages"]
                    for i in s["items"]
                    if i["key"] in status["next_stage_blocked_by"]
                ],
                "stages": [
                    {k: s[k] for k in ("id", "name", "complete", "done", "total")}
                    for s in status["stages"]
                ],
                "overdue": sum(1 for s in status["stages"] for i in s["items"] if i["overdue"]),
                "expiring_documents": len(status["expiring_documents"]),
            }
        rows.append(entry)
    return rows


def store_documents(session: Session, store_id: int, org_id: int) -> list[DocumentView]:
    """The store's documents and its seller organisation's store-less ones."""
    return [
        d
        for d in list_documents(session, today=utcnow().date())
        if d.store_id == store_id or (d.store_id is None and d.org_id == org_id)
    ]


def launch_view(session: Session, caller: Caller, ws: Workspace, store_id: int) -> dict[str, Any]:
    store = store_or_404(session, caller, store_id)
    _, level = access_to(session, caller.principal, store_id)
    try:
        status: dict[str, Any] | None = plan_status(
            session, store_id=store_id, warehouse=ws.warehouse, today=utcnow().date()
        )
    except LaunchError:
        status = None
    return {
        "store": {
            "id": store.id,
            "name": store.name,
            "platform": store.platform,
            "site": store.site,
        },
        "access": level.name.lower(),
        "launch": status,
        "documents": [d.as_json() for d in store_documents(session, store.id, store.org_id)],
        "assets": [a.as_json() for a in list_assets(session, ws.cipher, store_id=store.id)],
        "findings": [
            f.as_json() for f in check_store_assets(session, ws.cipher, store_id=store.id)
        ],
    }


def item_store(session: Session, caller: Caller, item_id: int, need: Access) -> int:
    """The store of a launch item the caller may reach (404 as if missing, 403 if too weak)."""
    item = session.get(LaunchItem, item_id)
    plan = session.get(LaunchPlan, item.plan_id) if item is not None else None
    if plan is None:
        raise HTTPException(404, f"no launch item with id {item_id} / 检查项不存在")
    try:
        store_or_404(session, caller, plan.store_id, need)
    except HTTPException as exc:
        if exc.status_code == 404:
            raise HTTPException(404, f"no launch item with id {item_id} / 检查项不存在") from None
        raise
    return plan.store_id


def document_allowed(session: Session, caller: Caller, doc: VaultDocument) -> bool:
    """May the caller read this document (operate access to its store, or for a document
    of a whole organisation: a member of it whose role may operate)?"""
    if doc.store_id is not None:
        _, level = access_to(session, caller.principal, doc.store_id)
        return level >= Access.OPERATE
    return any(
        m.org_id == doc.org_id and ROLE_CEILING[m.role] >= Access.OPERATE
        for m in caller.principal.memberships
    )


class DoneIn(BaseModel):
    note: str | None = Field(default=None, max_length=2000)
    link: str | None = Field(default=None, max_length=1000)
    document_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class WaiveIn(BaseModel):
    reason: str = Field(max_length=2000, description="why the item is waived / 豁免原因")


def change_item(
    session: Session,
    caller: Caller,
    item_id: int,
    status: ItemStatus,
    *,
    reason: str | None = None,
    evidence: Evidence | None = None,
) -> dict[str, Any]:
    item_store(session, caller, item_id, Access.OPERATE)
    if evidence is not None and evidence.document_id is not None:
        doc = session.get(VaultDocument, evidence.document_id)
        if doc is None or not document_allowed(session, caller, doc):
            raise HTTPException(
                422, f"document_id: no document with id {evidence.document_id} / 资料不存在"
            )
    try:
        item = update_item(
            session,
            ref=str(item_id),
            store_id=None,
            status=status,
            reason=reason,
            evidence=evidence,
            actor=caller.principal.actor,
        )
    except LaunchError as exc:
        raise HTTPException(422, str(exc)) from None
    return {
        "id": item.id,
        "key": item.key,
        "status": item.status,
        "waive_reason": item.waive_reason,
        "evidence": item.evidence,
    }


def download(session: Session, caller: Caller, ws: Workspace, document_id: int) -> Response:
    doc = session.get(VaultDocument, document_id)
    if doc is None or not document_allowed(session, caller, doc):
        raise HTTPException(404, f"no document with id {document_id} / 资料不存在")
    try:
        view, content = read_document(
            session, ws.cipher, ws.settings.vault_dir, document_id, actor=caller.principal.actor
        )
    except (VaultError, SecretError) as exc:
        raise HTTPException(500, str(exc)) from None
    return Response(
        content,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(view.file_name)}",
            "X-Content-SHA256": view.sha256,
        },
    )


def reveal(session: Session, caller: Caller, ws: Workspace, asset_id: int) -> dict[str, Any]:
    """The asset with its full identifier, for operate access to its store; the read is
    audited (``asset.reveal``). Outsiders get 404 as if the asset did not exist."""
    missing = HTTPException(404, f"no asset with id {asset_id} / 资产不存在")
    store_id = asset_store(session, asset_id)
    if store_id is None:
        raise missing
    try:
        store_or_404(session, caller, store_id, Access.OPERATE)
    except HTTPException as exc:
        if exc.status_code == 404:
            raise missing from None
        raise
    try:
        view, identifier = reveal_identifier(
            session, ws.cipher, asset_id, actor=caller.principal.actor
        )
    except (AssetError, SecretError) as exc:
        raise HTTPException(500, str(exc)) from None
    return {**view.as_json(), "identifier": identifier}


@router.get("/launch", summary="Launch board: stores by stage / 开店看板")
def launch_board(request: Request, caller: ApiCaller) -> dict[str, Any]:
    with transaction(request) as session:
        return {"stores": board(session, caller, state(request).workspace)}


@router.get("/stores/{store_id}/launch", summary="A store's launch plan / 开店计划")
def store_launch(store_id: StoreId, request: Request, caller: ApiCaller) -> dict[str, Any]:
    web = state(request)
    with web.warehouse_lock, transaction(request) as session:
        return launch_view(session, caller, web.workspace, store_id)


@router.post("/launch-items/{item_id}/done", summary="Mark an item done / 标记完成")
def item_done(item_id: ItemId, body: DoneIn, request: Request, caller: ApiCaller) -> Any:
    evidence = Evidence(body.document_id, body.note or None, body.link or None)
    with transaction(request) as session:
        return change_item(session, caller, item_id, ItemStatus.DONE, evidence=evidence)


@router.post("/launch-items/{item_id}/waive", summary="Waive an item with a reason / 豁免")
def item_waive(item_id: ItemId, body: WaiveIn, request: Request, caller: ApiCaller) -> Any:
    with transaction(request) as session:
        return change_item(session, caller, item_id, ItemStatus.WAIVED, reason=body.reason)


@router.get(
    "/documents/{document_id}",
    summary="Download a document (audited) / 下载资料（记入审计）",
    response_class=Response,
)
def get_document(document_id: DocumentId, request: Request, caller: ApiCaller) -> Response:
    with transaction(request) as session:
        return download(session, caller, state(request).workspace, document_id)


@router.post(
    "/assets/{asset_id}/reveal",
    summary="An account asset's full identifier (audited) / 显示完整标识（记入审计）",
)
def post_reveal(
    asset_id: AssetId, request: Request, response: Response, caller: ApiCaller
) -> dict[str, Any]:
    response.headers["Cache-Control"] = "no-store"
    with transaction(request) as session:
        return reveal(session, caller, state(request).workspace, asset_id)
