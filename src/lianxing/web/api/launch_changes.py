"""Changes to a store's launch records that were CLI-only: uploading a vault document
(``lianxing doc add``), setting an item's owner and due date (``lianxing launch set``) and
recording an account asset (``lianxing assets set``). Thin over ``lianxing.launch``; every
change is audited there, documents are encrypted there.

Access: operate access to the store (a seller role that may change it, or an agency whose
operate grant is valid). Outsiders get 404 as if the store or item did not exist.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from lianxing.domain.access import Access
from lianxing.domain.assets import AssetError, parse_holder, parse_kind
from lianxing.domain.launch import LaunchError
from lianxing.launch.assets import set_asset
from lianxing.launch.plans import update_item
from lianxing.launch.vault import MAX_DOCUMENT_BYTES, VaultError, add_document, parse_doc_type
from lianxing.security import SecretError
from lianxing.web.api.common import StoreId, parse_day, store_or_404
from lianxing.web.api.launch import ItemId, item_store
from lianxing.web.deps import ApiCaller, Caller, state, transaction
from lianxing.workspace import Workspace

router = APIRouter(tags=["launch"])


def read_upload(upload: UploadFile) -> bytes:
    """The uploaded bytes; one byte over the vault's limit is enough for its size error."""
    content = upload.file.read(MAX_DOCUMENT_BYTES + 1)
    return content if isinstance(content, bytes) else bytes(content)


def store_document(
    session: Session,
    caller: Caller,
    ws: Workspace,
    store_id: int,
    *,
    content: bytes,
    file_name: str,
    doc_type: str,
    title: str | None,
    issued: str | None,
    expires: str | None,
) -> dict[str, Any]:
    """Encrypt and store a document of the store (errors as ``lianxing doc add`` words them)."""
    store_or_404(session, caller, store_id, Access.OPERATE)
    issued_on = parse_day(issued, "issued")
    expires_on = parse_day(expires, "expires")
    try:
        view = add_document(
            session,
            ws.cipher,
            ws.settings.vault_dir,
            content=content,
            file_name=file_name,
            doc_type=parse_doc_type(doc_type),
            store_id=store_id,
            title=title or None,
            issued_on=issued_on,
            expires_on=expires_on,
            actor=caller.principal.actor,
        )
    except (VaultError, SecretError) as exc:
        raise HTTPException(422, str(exc)) from None
    return view.as_json()


def set_item_details(
    session: Session, caller: Caller, item_id: int, *, owner: str | None, due: str | None
) -> dict[str, Any]:
    """Set an item's owner and/or due date, as ``lianxing launch set`` does."""
    item_store(session, caller, item_id, Access.OPERATE)
    due_date = parse_day(due, "due_date")
    if owner is None and due_date is None:
        raise HTTPException(422, "nothing to set: give owner or due_date / 请填写负责人或截止日期")
    try:
        item = update_item(
            session,
            ref=str(item_id),
            store_id=None,
            owner=owner,
            due_date=due_date,
            actor=caller.principal.actor,
        )
    except LaunchError as exc:
        raise HTTPException(422, str(exc)) from None
    return {
        "id": item.id,
        "key": item.key,
        "status": item.status,
        "owner": item.owner,
        "due_date": item.due_date.isoformat() if item.due_date else None,
    }


def record_asset(
    session: Session,
    caller: Caller,
    ws: Workspace,
    store_id: int,
    *,
    kind: str,
    label: str,
    identifier: str | None,
    holder: str | None,
    holder_name: str | None,
    verified: bool,
    note: str | None,
) -> dict[str, Any]:
    """Record or change an account asset, as ``lianxing assets set`` does."""
    store_or_404(session, caller, store_id, Access.OPERATE)
    try:
        view = set_asset(
            session,
            ws.cipher,
            store_id=store_id,
            kind=parse_kind(kind),
            label=label,
            identifier=identifier or None,
            holder_kind=parse_holder(holder) if holder else None,
            holder_name=holder_name,
            verified=verified,
            note=note or None,
            actor=caller.principal.actor,
        )
    except AssetError as exc:
        raise HTTPException(422, str(exc)) from None
    return view.as_json()


@router.post(
    "/stores/{store_id}/documents",
    status_code=201,
    summary="Upload a document to the vault (encrypted, audited) / 上传资料（加密保存）",
)
def upload_document(
    store_id: StoreId,
    request: Request,
    caller: ApiCaller,
    file: Annotated[UploadFile, File(description="the document / 资料文件")],
    type: str = Form(max_length=100, description="business_licence, legal_rep_id, ..."),
    title: str | None = Form(None, max_length=500, description="title / 标题"),
    issued: str | None = Form(None, max_length=10, description="YYYY-MM-DD / 签发日期"),
    expires: str | None = Form(None, max_length=10, description="YYYY-MM-DD / 到期日期"),
) -> dict[str, Any]:
    web = state(request)
    with transaction(request) as session:
        store_or_404(session, caller, store_id, Access.OPERATE)
    content = read_upload(file)
    with transaction(request) as session:
        return store_document(
            session,
            caller,
            web.workspace,
            store_id,
            content=content,
            file_name=file.filename or "document",
            doc_type=type,
            title=title,
            issued=issued,
            expires=expires,
        )


class ItemDetailsIn(BaseModel):
    owner: str | None = Field(default=None, max_length=200, description="owner / 负责人")
    due_date: str | None = Field(default=None, max_length=10, description="YYYY-MM-DD / 截止日期")


@router.patch(
    "/launch-items/{item_id}", summary="Set an item's owner and due date / 设置负责人和截止日期"
)
def patch_item(
    item_id: ItemId, body: ItemDetailsIn, request: Request, caller: ApiCaller
) -> dict[str, Any]:
    with transaction(request) as session:
        return set_item_details(session, caller, item_id, owner=body.owner, due=body.due_date)


class AssetIn(BaseModel):
    kind: str = Field(max_length=50, description="login_email, phone, two_factor, ...")
    label: str = Field(default="", max_length=200, description="tells assets of a kind apart")
    identifier: str | None = Field(
        default=None,
        max_length=300,
        description="e-mail, phone, account number, app name: stored encrypted, shown masked",
    )
    holder: str | None = Field(default=None, max_length=20, description="seller, agency, person")
    holder_name: str | None = Field(default=None, max_length=200)
    verified: bool = Field(default=False, description="checked now / 现已核验")
    note: str | None = Field(default=None, max_length=2000, description="why it changed")


@router.post(
    "/stores/{store_id}/assets", summary="Record or change an account asset / 登记账号资产"
)
def post_asset(
    store_id: StoreId, body: AssetIn, request: Request, caller: ApiCaller
) -> dict[str, Any]:
    with transaction(request) as session:
        return record_asset(
            session,
            caller,
            state(request).workspace,
            store_id,
            kind=body.kind,
            label=body.label,
            identifier=body.identifier,
            holder=body.holder,
            holder_name=body.holder_name,
            verified=body.verified,
            note=body.note,
        )
