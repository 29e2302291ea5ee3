"""Stores the caller may see; adding a store to the caller's seller organisation."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field

from lianxing.accounts.service import visible_stores
from lianxing.domain.access import Access
from lianxing.domain.accounts import StoreStatus
from lianxing.stores import StoreError, StoreView, create_store
from lianxing.web.api.common import StoreId, store_or_404
from lianxing.web.deps import ApiCaller, transaction

router = APIRouter(tags=["stores"])


def store_json(store: Any, access: Access) -> dict[str, Any]:
    return {**StoreView.of(store).as_json(), "access": access.name.lower()}


@router.get("/stores", summary="Stores you may see / 店铺列表")
def list_stores(
    request: Request,
    caller: ApiCaller,
    platform: str | None = Query(None, max_length=32),
    site: str | None = Query(None, max_length=16),
) -> dict[str, Any]:
    with transaction(request) as session:
        rows = visible_stores(session, caller.principal)
        return {
            "stores": [
                store_json(s, a)
                for s, a in rows
                if (platform is None or s.platform == platform)
                and (site is None or s.site.upper() == site.upper())
            ]
        }


@router.get("/stores/{store_id}", summary="One store / 店铺")
def get_store(store_id: StoreId, request: Request, caller: ApiCaller) -> dict[str, Any]:
    with transaction(request) as session:
        store = store_or_404(session, caller, store_id)
        _, level = next(
            (s, a) for s, a in visible_stores(session, caller.principal) if s.id == store.id
        )
        return store_json(store, level)


class StoreIn(BaseModel):
    platform: str = Field(max_length=32)
    site: str = Field(max_length=16)
    name: str = Field(max_length=200)
    launch_date: date | None = None
    status: StoreStatus | None = None
    org_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


@router.post("/stores", status_code=201, summary="Add a store / 添加店铺")
def add_store(body: StoreIn, request: Request, caller: ApiCaller) -> dict[str, Any]:
    sellers = [o for o in caller.principal.seller_org_ids if caller.principal.administers(o)]
    org_id = body.org_id if body.org_id is not None else (sellers[0] if len(sellers) == 1 else None)
    if org_id is None or org_id not in sellers:
        raise HTTPException(
            403, "only an owner or admin of the seller organisation adds its stores / 无权限"
        )
    try:
        with transaction(request) as session:
            view = create_store(
                session,
                platform=body.platform,
                site=body.site,
                name=body.name,
                launch_date=body.launch_date,
                status=body.status.value if body.status else None,
                org_id=org_id,
                actor=caller.principal.actor,
            )
    except StoreError as exc:
        raise HTTPException(422, str(exc)) from None
    return {**view.as_json(), "access": Access.MANAGE.name.lower()}
