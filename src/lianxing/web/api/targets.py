"""KPI targets: a store's targets with actual, achievement, ramp and pace; set and delete.

Targets scoped to a whole seller are shown only to that seller's members (an agency with a
grant on one store must not learn the seller's totals). Platform-wide targets span every
seller of the workspace, so the web app leaves them to the command line.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from lianxing.db.models import Store
from lianxing.db.models_targets import Target
from lianxing.domain.access import Access
from lianxing.metrics import targets as target_service
from lianxing.metrics.engine import FxRateMissing, KpiRequestError
from lianxing.web.api.common import StoreId, store_or_404
from lianxing.web.deps import ApiCaller, Caller, state, transaction
from lianxing.web.kpis import data_as_of

router = APIRouter(tags=["targets"])


def may_see_target(caller: Caller, scope_kind: str, scope_ref: str, store: Store) -> bool:
    if scope_kind == "store":
        return scope_ref == str(store.id)
    if scope_kind == "seller":
        return scope_ref == str(store.org_id) and store.org_id in caller.principal.seller_org_ids
    return False


def evaluate_for_store(
    request: Request, caller: Caller, store: Store, today: dt.date | None = None
) -> list[target_service.TargetResult]:
    web = state(request)
    as_of = data_as_of(today) + dt.timedelta(days=1)
    with web.warehouse_lock:
        results = target_service.evaluate_targets(web.workspace, as_of, store_id=store.id)
    return [
        r for r in results if may_see_target(caller, r.target.scope_kind, r.target.scope_ref, store)
    ]


@router.get("/stores/{store_id}/targets", summary="A store's targets, evaluated / 店铺目标")
def store_targets(store_id: StoreId, request: Request, caller: ApiCaller) -> dict[str, Any]:
    with transaction(request) as session:
        store = store_or_404(session, caller, store_id)
    try:
        results = evaluate_for_store(request, caller, store)
    except (KpiRequestError, FxRateMissing) as exc:
        raise HTTPException(422, str(exc)) from None
    return {"store": store_id, "targets": [r.as_json() for r in results]}


class TargetIn(BaseModel):
    kpi: str = Field(max_length=64)
    scope: str = Field(default="store", pattern="^(store|seller)$")
    store_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    seller_org_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    period: str = Field(max_length=64, description="e.g. month, week, 2026-10, launch:1-30")
    value: float
    comparator: str | None = Field(default=None, max_length=2)
    currency: str | None = Field(default=None, max_length=3)
    ramp: str | None = Field(default=None, max_length=200)
    owner_role: str | None = Field(default=None, max_length=32)


def _check_scope_access(session: Session, caller: Caller, body: TargetIn) -> str:
    if body.scope == "store":
        if body.store_id is None:
            raise HTTPException(422, "store_id: required for a store target")
        store_or_404(session, caller, body.store_id, Access.OPERATE)
        return str(body.store_id)
    org = body.seller_org_id
    if (
        org is None
        or not caller.principal.administers(org)
        or org not in caller.principal.seller_org_ids
    ):
        raise HTTPException(403, "seller targets are set by the seller's owner or admin / 无权限")
    return str(org)


@router.post("/targets", status_code=201, summary="Set a target / 设定目标")
def set_target(body: TargetIn, request: Request, caller: ApiCaller) -> dict[str, Any]:
    web = state(request)
    catalog = target_service.kpi_catalog(web.workspace)
    try:
        with transaction(request) as session:
            ref = _check_scope_access(session, caller, body)
            view = target_service.set_target(
                session,
                catalog,
                kpi=body.kpi,
                scope_kind=body.scope,
                scope_ref=ref,
                period=body.period,
                value=body.value,
                comparator=body.comparator,
                currency=body.currency,
                ramp=body.ramp,
                owner_role=body.owner_role,
                actor=caller.principal.actor,
            )
    except target_service.TargetInputError as exc:
        raise HTTPException(422, "; ".join(exc.problems)) from None
    return view.as_json()


@router.delete("/targets/{target_id}", summary="Delete a target / 删除目标")
def delete_target(target_id: int, request: Request, caller: ApiCaller) -> dict[str, Any]:
    with transaction(request) as session:
        row = session.get(Target, target_id) if 0 < target_id < 2**31 else None
        if row is None:
            raise HTTPException(404, f"no target with id {target_id}")
        if row.scope_kind == "store":
            try:
                store_or_404(session, caller, int(row.scope_ref), Access.OPERATE)
            except HTTPException as exc:
                if exc.status_code == 404:
                    raise HTTPException(404, f"no target with id {target_id}") from None
                raise
        elif not (
            row.scope_kind == "seller"
            and row.scope_ref.isdigit()
            and caller.principal.administers(int(row.scope_ref))
        ):
            raise HTTPException(404, f"no target with id {target_id}")
        view = target_service.delete_target(session, target_id, actor=caller.principal.actor)
    return view.as_json()
