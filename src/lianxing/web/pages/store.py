"""One store: KPIs with period comparison, targets (actual vs target vs ramp, pace), trends."""

from __future__ import annotations

import json

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from lianxing.accounts.service import NotAllowed, StoreNotFound, access_to, require_store
from lianxing.domain.kpi import Scope
from lianxing.domain.periods import PeriodError, parse_period
from lianxing.metrics.engine import FxRateMissing, KpiRequestError
from lianxing.web import kpis as kpi_service
from lianxing.web.api.targets import evaluate_for_store
from lianxing.web.deps import PageCaller, state, transaction
from lianxing.web.templating import render

router = APIRouter()

TREND_KPIS = ("gmv", "ad_spend", "orders")


@router.get("/stores/{store_id}")
def store_page(
    request: Request,
    store_id: int,
    caller: PageCaller,
    period: str | None = Query(None, max_length=40),
) -> Response:
    with transaction(request) as session:
        try:
            store = require_store(session, caller.principal, store_id)
        except StoreNotFound:
            raise HTTPException(404, "no such store / 店铺不存在") from None
        except NotAllowed as exc:
            raise HTTPException(403, str(exc)) from None
        _, access = access_to(session, caller.principal, store_id)
        org_name = store.org.name
    web = state(request)
    period_text = period or kpi_service.default_period_text()
    error = None
    report = None
    trend: dict[str, object] = {}
    results = []
    try:
        parsed = parse_period(period_text)
        with web.warehouse_lock:
            report = kpi_service.kpi_json(web.workspace, store, period_text)
            months = kpi_service.trend_months(parsed, 12)
            matrix = kpi_service.engine_for(web.workspace, [store]).compute(
                periods=months, scopes=[Scope.store(store.id)], kpis=list(TREND_KPIS), compare=False
            )
        trend = {
            "months": [m.label for m in months],
            "series": {
                k: [matrix.value(k, m.label, f"store:{store.id}") for m in months]
                for k in TREND_KPIS
            },
            "names": {
                k: {"zh": matrix.definitions[k].name.zh, "en": matrix.definitions[k].name.en}
                for k in TREND_KPIS
            },
        }
        results = evaluate_for_store(request, caller, store)
    except (PeriodError, KpiRequestError, FxRateMissing) as exc:
        error = str(exc)
    return render(
        request,
        "store.html",
        {
            "store": store,
            "org_name": org_name,
            "access": access.name.lower(),
            "period_text": period_text,
            "report": report,
            "trend_json": json.dumps(trend, ensure_ascii=False),
            "targets": results,
            "lower_is_better": {
                d.id
                for d in kpi_service.catalog_for(web.workspace).definitions.values()
                if d.direction.value == "lower"
            },
            "error": error,
        },
        caller=caller,
    )
