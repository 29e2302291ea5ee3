"""KPI use cases for the CLI, API and reports: stores from the app DB, matrix from the warehouse."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lianxing.db.models import Store
from lianxing.domain.kpi import KpiMatrix, OptionValue, Scope
from lianxing.domain.periods import Period
from lianxing.metrics.compiler import StoreInfo
from lianxing.metrics.daily_cube import DailyOrderCube
from lianxing.metrics.engine import KpiEngine
from lianxing.metrics.loader import Catalog, load_catalog
from lianxing.metrics.order_cube import CUBE_FACTS, OrderCube, SyncResult
from lianxing.warehouse import Warehouse, WriteStats


def workspace_kpi_dir(home: Path) -> Path:
    """Where a workspace keeps its own KPI definitions."""
    return home / "kpis"


def catalog_for(home: Path) -> Catalog:
    """Shipped definitions plus the workspace's own (``<home>/kpis/*.yaml``)."""
    return load_catalog([workspace_kpi_dir(home)])


def store_infos(session: Session) -> list[StoreInfo]:
    return [
        StoreInfo(s.id, s.timezone, s.currency, s.launch_date, s.name)
        for s in session.scalars(select(Store).order_by(Store.id))
    ]


def platform_store_ids(session: Session, platform: str) -> list[int]:
    return list(
        session.scalars(select(Store.id).where(Store.platform == platform).order_by(Store.id))
    )


def keep_cubes_in_step(
    warehouse: Warehouse, stores: Sequence[StoreInfo], written: Mapping[str, WriteStats]
) -> SyncResult:
    """After an import that wrote ``written``: follow it in the KPI engine's derived tables
    (the order cube, and the daily cube of ``stores``), so that the next computation or
    refresh starts in step.

    Only what can be followed is done here (new or replaced orders, new refunds); a cube
    that does not exist yet or must be built from scratch is left to the next computation,
    so a first bulk import does not pay for it.
    """
    if not any(
        (stats := written.get(fact)) is not None and (stats.new or stats.updated)
        for fact in CUBE_FACTS
    ):
        return SyncResult("unchanged")
    cube = OrderCube(warehouse.ibis, warehouse.table)
    result = cube.sync(rebuild=False)
    if result.action != "stale" and stores:
        DailyOrderCube(cube).ensure(stores)
    return result


def compute_matrix(
    warehouse: Warehouse,
    catalog: Catalog,
    stores: Sequence[StoreInfo],
    *,
    scopes: Sequence[Scope],
    periods: Sequence[Period],
    kpis: Sequence[str] | None = None,
    options: dict[str, OptionValue] | None = None,
) -> KpiMatrix:
    engine = KpiEngine(warehouse.ibis, warehouse.table, catalog, stores)
    return engine.compute(periods=periods, scopes=scopes, kpis=kpis, options=options)


def kpi_json(matrix: KpiMatrix, period: str, scope: Scope) -> dict[str, Any]:
    """The ``lianxing kpi --json`` object (DESIGN.md, "Command line")."""
    resolved = matrix.resolved.get((period, scope.key))
    body: dict[str, Any] = {}
    if scope.is_portfolio:
        body["stores"] = list(scope.store_ids)
    else:
        body["store"] = scope.store_ids[0]
    body["period"] = {
        "start": resolved.start if resolved else None,
        # The last day included: "2026-10" ends on 2026-10-31.
        "end": (dt.date.fromisoformat(resolved.end) - dt.timedelta(days=1)).isoformat()
        if resolved
        else None,
        "timezone": resolved.timezone if resolved else None,
        "label": period,
    }
    body["currency"] = matrix.currency
    body["kpis"] = matrix.kpi_json(period, scope.key)
    return body
