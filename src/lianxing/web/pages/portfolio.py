"""Portfolio overview: every visible store's key KPIs, target status and trends."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from lianxing.accounts.service import visible_stores
from lianxing.domain.periods import Period, PeriodError, parse_period
from lianxing.metrics import targets as target_service
from lianxing.metrics.engine import FxRateMissing, KpiRequestError
from lianxing.web import kpis as kpi_service
from lianxing.web.deps import Caller, PageCaller, state, transaction
from lianxing.web.templating import render

router = APIRouter()


def store_target_statuses(
    request: Request, caller: Caller, store_ids: set[int], shown: Period
) -> dict[tuple[int, str], target_service.TargetResult]:
    """(store, KPI) -> the store target's evaluation for the period shown, for the cells'
    colours. A target whose own period is not the one shown (a monthly target while a week
    is shown) colours nothing: its status would describe other numbers than the cell's."""
    web = state(request)
    # Evaluate as of the day after the period shown (or after the last day with data).
    as_of = min(shown.end, kpi_service.data_as_of() + dt.timedelta(days=1))
    with web.warehouse_lock:
        results = target_service.evaluate_targets(web.workspace, as_of)
    found: dict[tuple[int, str], target_service.TargetResult] = {}
    for result in results:
        target = result.target
        same_period = result.period is not None and (
            (result.period.start, result.period.end) == (shown.start, shown.end)
        )
        if same_period and target.scope_kind == "store" and target.scope_ref.isdigit():
            key = (int(target.scope_ref), target.kpi_id)
            if key[0] in store_ids:
                found.setdefault(key, result)
    return found


@router.get("/")
def overview(
    request: Request,
    caller: PageCaller,
    period: str | None = Query(None, max_length=40),
    platform: str | None = Query(None, max_length=32),
    site: str | None = Query(None, max_length=16),
    org: int | None = Query(None),
) -> Response:
    with transaction(request) as session:
        everything = visible_stores(session, caller.principal)
        org_names = {s.org_id: s.org.name for s, _ in everything}
    stores = [
        s
        for s, _ in everything
        if (not platform or s.platform == platform)
        and (not site or s.site == site)
        and (org is None or s.org_id == org)
    ]
    period_text = period or kpi_service.default_period_text()
    error = None
    data = None
    statuses: dict[tuple[int, str], target_service.TargetResult] = {}
    try:
        parsed = parse_period(period_text)
        if stores:
            with state(request).warehouse_lock:
                data = kpi_service.portfolio(state(request).workspace, stores, parsed)
            statuses = store_target_statuses(request, caller, {s.id for s in stores}, parsed)
    except (PeriodError, KpiRequestError, FxRateMissing) as exc:
        error = str(exc)
    return render(
        request,
        "portfolio.html",
        {
            "data": data,
            "statuses": statuses,
            "period_text": period_text,
            "error": error,
            "platforms": sorted({s.platform for s, _ in everything}),
            "sites": sorted({s.site for s, _ in everything}),
            "orgs": sorted(org_names.items()),
            "selected": {"platform": platform or "", "site": site or "", "org": org},
            "store_count": len(stores),
        },
        caller=caller,
    )
