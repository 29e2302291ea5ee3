"""Filling a workspace with the demo: stores in the application database, facts in the
warehouse, the batch and every change recorded. Used by ``lianxing demo``."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from lianxing.db.audit import record
from lianxing.db.models import ImportBatch, Store
from lianxing.db.models_launch import LaunchPlan
from lianxing.demo.spec import DemoSpec, default_demo_spec
from lianxing.demo.write import DEMO_SOURCE, demo_batch_id, write_demo
from lianxing.domain.accounts import ImportStatus
from lianxing.domain.time import utcnow
from lianxing.launch.plans import PlanParams, create_plan
from lianxing.launch.templates import available_platforms
from lianxing.metrics.targets import kpi_catalog, list_targets, set_target
from lianxing.stores import StoreView, create_store
from lianxing.warehouse import WriteStats
from lianxing.workspace import Workspace


@dataclass(frozen=True, slots=True)
class DemoFill:
    batch_id: str
    stores: list[StoreView]
    stats: dict[str, WriteStats]
    spec: DemoSpec


def _store_for(ws: Workspace, platform: str, site: str, name: str, launch: date) -> StoreView:
    """The workspace's demo store for this site, created on first use (so re-runs reuse it)."""
    with ws.session() as session:
        existing = session.scalars(
            select(Store).where(Store.platform == platform, Store.site == site, Store.name == name)
        ).first()
        if existing is not None:
            return StoreView.of(existing)
        return create_store(
            session, platform=platform, site=site, name=name, launch_date=launch, actor="demo"
        )


def fill_demo_workspace(
    ws: Workspace,
    *,
    today: date,
    progress: Callable[[str, int], None] | None = None,
) -> DemoFill:
    """Create (or reuse) the demo stores and write six months of demo facts for them."""
    template = default_demo_spec(today)
    views: list[StoreView] = []
    id_map: dict[int, int] = {}
    for demo_store in template.stores:
        view = _store_for(
            ws, demo_store.platform, demo_store.site, demo_store.name, demo_store.launch_date
        )
        views.append(view)
        id_map[demo_store.store_id] = view.id
    # The generator numbers stores 1..n; use the ids the workspace gave them instead.
    spec = dataclasses.replace(
        template,
        stores=tuple(dataclasses.replace(s, store_id=id_map[s.store_id]) for s in template.stores),
        anomalies=tuple(
            dataclasses.replace(a, store_id=id_map[a.store_id]) for a in template.anomalies
        ),
    )
    batch_id = demo_batch_id(spec)
    started = utcnow()
    stats = write_demo(ws.warehouse, spec, progress, batch_id=batch_id)
    with ws.session() as session:
        batch = session.get(ImportBatch, batch_id) or ImportBatch(id=batch_id)
        batch.source = DEMO_SOURCE
        batch.rows_read = sum(s.total for s in stats.values())
        batch.rows_new = sum(s.new for s in stats.values())
        batch.rows_updated = sum(s.updated for s in stats.values())
        batch.rows_unchanged = sum(s.unchanged for s in stats.values())
        batch.status = ImportStatus.SUCCEEDED.value
        batch.started_at = started
        batch.finished_at = utcnow()
        session.add(batch)
        record(
            session,
            actor="demo",
            action="demo.fill",
            entity="import_batch",
            entity_id=batch_id,
            data={
                "stores": [v.id for v in views],
                "period": [spec.start.isoformat(), spec.end.isoformat()],
                "tables": {name: s.as_dict() for name, s in stats.items()},
            },
        )
    _plans_and_targets(ws, views, today=spec.end)
    return DemoFill(batch_id=batch_id, stores=views, stats=stats, spec=spec)


# Monthly GMV targets (USD) at maturity, per demo site; new stores ramp up to them.
_GMV_TARGETS = {("amazon", "US"): 175_000, ("shopee", "MY"): 120_000, ("tiktok", "UK"): 60_000}


def _plans_and_targets(ws: Workspace, views: list[StoreView], *, today: date) -> None:
    """Give each demo store a launch plan and a few targets, so the board and the
    dashboard's target colours have something to show. Existing ones are left alone."""
    catalog = kpi_catalog(ws)
    with_templates = set(available_platforms())
    with ws.session() as session:
        for view in views:
            if view.platform in with_templates and not _has_plan(session, view.id):
                create_plan(
                    session, store_id=view.id, params=PlanParams(), actor="demo", today=today
                )
            existing = {
                t.kpi_id for t in list_targets(session, store_id=view.id) if t.scope_kind == "store"
            }
            wanted = [
                (
                    "gmv",
                    _GMV_TARGETS.get((view.platform, view.site), 50_000),
                    ">=",
                    "scurve:60",
                    "ops",
                ),
                ("roas", 2.5, ">=", "linear:60:0.4", "ads"),
                ("late_shipment_rate", 0.04, "<=", None, "logistics"),
            ]
            for kpi, value, comparator, ramp, owner in wanted:
                if kpi in existing:
                    continue
                set_target(
                    session,
                    catalog,
                    kpi=kpi,
                    scope_kind="store",
                    scope_ref=str(view.id),
                    period="month",
                    value=value,
                    comparator=comparator,
                    currency="USD" if kpi == "gmv" else None,
                    ramp=ramp,
                    owner_role=owner,
                    actor="demo",
                )


def _has_plan(session: Session, store_id: int) -> bool:
    return session.scalar(select(LaunchPlan.id).where(LaunchPlan.store_id == store_id)) is not None
