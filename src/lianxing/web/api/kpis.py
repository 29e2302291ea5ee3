"""KPIs: the definitions, one store's KPI object, and the portfolio matrix."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request

from lianxing.accounts.service import visible_stores
from lianxing.domain.periods import PeriodError, parse_period
from lianxing.metrics.engine import FxRateMissing, KpiRequestError
from lianxing.web import kpis as kpi_service
from lianxing.web.api.common import StoreId, store_or_404
from lianxing.web.deps import ApiCaller, state, transaction

router = APIRouter(tags=["kpis"])

PeriodQuery = Query(
    None,
    max_length=40,
    description="2026-10, 2026-W43, 2026-Q4, 2026-10-05, 2026-10-01..2026-10-15, rolling:28, "
    "launch:1-30; default: the month of yesterday",
)
KpiQuery = Query(None, max_length=500, description="comma-separated KPI ids; default: all")


def _kpi_list(text: str | None) -> list[str] | None:
    return [k.strip() for k in text.split(",") if k.strip()] if text else None


@router.get("/kpi-definitions", summary="KPI definitions / 指标定义")
def definitions(request: Request, caller: ApiCaller) -> dict[str, Any]:
    catalog = kpi_service.catalog_for(state(request).workspace)
    return {
        "kpis": [
            {
                "id": d.id,
                "name": {"zh": d.name.zh, "en": d.name.en},
                "unit": d.unit.value,
                "direction": d.direction.value,
                "formula": d.formula_source,
                "description": {"zh": d.description.zh, "en": d.description.en},
                "definition": d.content_hash,
            }
            for d in catalog.definitions.values()
        ]
    }


@router.get("/stores/{store_id}/kpis", summary="A store's KPIs (as `lianxing kpi --json`)")
def store_kpis(
    store_id: StoreId,
    request: Request,
    caller: ApiCaller,
    period: str | None = PeriodQuery,
    kpi: str | None = KpiQuery,
) -> dict[str, Any]:
    web = state(request)
    with transaction(request) as session:
        store = store_or_404(session, caller, store_id)
    try:
        with web.warehouse_lock:
            return kpi_service.kpi_json(
                web.workspace, store, period or kpi_service.default_period_text(), _kpi_list(kpi)
            )
    except (PeriodError, KpiRequestError, FxRateMissing) as exc:
        raise HTTPException(422, str(exc)) from None


@router.get("/kpis", summary="KPI matrix of every store you may see / 店铺指标矩阵")
def portfolio_kpis(
    request: Request,
    caller: ApiCaller,
    period: str | None = PeriodQuery,
    kpi: str | None = KpiQuery,
    platform: str | None = Query(None, max_length=32),
    site: str | None = Query(None, max_length=16),
) -> dict[str, Any]:
    web = state(request)
    with transaction(request) as session:
        stores = [
            s
            for s, _ in visible_stores(session, caller.principal)
            if (platform is None or s.platform == platform)
            and (site is None or s.site.upper() == site.upper())
        ]
    try:
        parsed = parse_period(period or kpi_service.default_period_text())
        if not stores:
            return {"period": parsed.label, "currency": "USD", "kpis": [], "stores": []}
        with web.warehouse_lock:
            result = kpi_service.portfolio(
                web.workspace,
                stores,
                parsed,
                _kpi_list(kpi) or kpi_service.HEADLINE_KPIS,
            )
    except (PeriodError, KpiRequestError, FxRateMissing) as exc:
        raise HTTPException(422, str(exc)) from None
    rows = [*result.rows, *([result.total] if result.total else [])]
    return {
        "period": result.period.label,
        "currency": result.matrix.currency,
        "kpis": result.kpis,
        "months": [m.label for m in result.months],
        "stores": [
            {
                "scope": row.scope.key,
                "store": row.store.id if row.store else None,
                "name": row.store.name if row.store else row.scope.label,
                "values": row.values,
                "change_vs_previous": row.changes,
                "trend": row.trends,
            }
            for row in rows
        ],
    }
