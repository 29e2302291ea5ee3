"""Launch plan services: create a plan from its template, report status, change items.

Shared by the CLI and the web app. Every change appends to the audit log in the same
transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lianxing.db.audit import record
from lianxing.db.models import Store
from lianxing.db.models_launch import LaunchItem, LaunchPlan, VaultDocument
from lianxing.domain.launch import (
    STAGE_NAMES,
    EvidenceKind,
    ItemKind,
    ItemState,
    ItemStatus,
    LaunchError,
    Measure,
    MeasureResult,
    Stage,
    check_transition,
    check_waive_reason,
    evaluate_measure,
    plan_progress,
)
from lianxing.domain.time import utcnow
from lianxing.launch.measures import observe
from lianxing.launch.templates import load_template, measure_json
from lianxing.launch.vault import DocumentView, expiring_documents
from lianxing.warehouse import Warehouse


@dataclass(frozen=True, slots=True)
class PlanParams:
    category: str | None = None
    budget: str | None = None
    first_month_gmv: Decimal | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "budget": self.budget,
            "first_month_gmv": str(self.first_month_gmv) if self.first_month_gmv else None,
        }


def parse_amount(text: str | None, option: str) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise LaunchError(
            f"{option}: value {text!r} is not a number; expected e.g. 20000"
        ) from None
    if not value.is_finite() or value <= 0:
        raise LaunchError(f"{option}: value {text!r}; expected a positive amount")
    return value


def get_store(session: Session, store_id: int) -> Store:
    store = session.get(Store, store_id)
    if store is None:
        raise LaunchError(f"--store: no store with id {store_id}")
    return store


def _plan_for(session: Session, store_id: int) -> LaunchPlan:
    plan = session.scalar(select(LaunchPlan).where(LaunchPlan.store_id == store_id))
    if plan is None:
        raise LaunchError(
            f"--store: store {store_id} has no launch plan; run `lianxing launch plan "
            f"--store {store_id}` / 该店铺尚无开店计划"
        )
    return plan


def create_plan(
    session: Session,
    *,
    store_id: int,
    params: PlanParams,
    actor: str = "cli",
    today: dt.date | None = None,
) -> LaunchPlan:
    """Create the store's plan from the template of its platform and site."""
    store = get_store(session, store_id)
    if session.scalar(select(LaunchPlan.id).where(LaunchPlan.store_id == store_id)):
        raise LaunchError(f"--store: store {store_id} already has a launch plan")
    template = load_template(store.platform, store.site)
    start = today or utcnow().date()
    plan = LaunchPlan(
        store_id=store.id,
        platform=store.platform,
        site=store.site,
        template_hash=template.content_hash,
        params=params.as_json(),
        risks=[r.as_json() for r in template.risks],
        sources=[
            {"id": s.id, "title": s.title, "url": s.url, "official": s.official, "note": s.note}
            for s in template.sources
        ],
        created_by=actor,
    )
    session.add(plan)
    session.flush()
    now = utcnow()
    for position, t in enumerate(template.items):
        measure = t.measure
        required = t.required
        if measure is not None and measure.kind == "gmv":
            measure = Measure(measure.kind, measure.by_day, params.first_month_gmv)
            required = params.first_month_gmv is not None
        session.add(
            LaunchItem(
                plan_id=plan.id,
                key=t.key,
                stage=t.stage.value,
                position=position,
                kind=t.kind.value,
                title_zh=t.title_zh,
                title_en=t.title_en,
                required=required,
                document_type=t.document_type.value if t.document_type else None,
                measure=measure_json(measure),
                source_ids=list(t.sources),
                unverified=t.unverified,
                note=t.note or None,
                owner=t.owner,
                due_date=start + dt.timedelta(days=t.due_days) if t.due_days is not None else None,
                status=ItemStatus.TODO.value,
                waive_reason=None,
                evidence=[],
                updated_at=now,
                updated_by=actor,
            )
        )
    session.flush()
    record(
        session,
        actor=actor,
        action="launch.plan.create",
        entity="launch_plan",
        entity_id=plan.id,
        data={
            "store_id": store.id,
            "platform": store.platform,
            "site": store.site,
            "template_hash": template.content_hash,
            "items": len(template.items),
            "params": params.as_json(),
        },
    )
    return plan


def _items(session: Session, plan: LaunchPlan) -> list[LaunchItem]:
    return list(
        session.scalars(
            select(LaunchItem).where(LaunchItem.plan_id == plan.id).order_by(LaunchItem.position)
        )
    )


def find_item(session: Session, ref: str, store_id: int | None) -> LaunchItem:
    """An item by numeric id, or by key together with ``store_id``."""
    if ref.isdigit():
        item = session.get(LaunchItem, int(ref))
        if item is None:
            raise LaunchError(f"ITEM: no launch item with id {ref}")
        if store_id is not None:
            plan = session.get(LaunchPlan, item.plan_id)
            if plan is None or plan.store_id != store_id:
                raise LaunchError(f"ITEM: item {ref} does not belong to store {store_id}")
        return item
    if store_id is None:
        raise LaunchError(f"ITEM: {ref!r} is a key; give --store too, or the item's numeric id")
    plan = _plan_for(session, store_id)
    item = session.scalar(
        select(LaunchItem).where(LaunchItem.plan_id == plan.id, LaunchItem.key == ref)
    )
    if item is None:
        raise LaunchError(f"ITEM: store {store_id}'s plan has no item {ref!r}")
    return item


@dataclass(frozen=True, slots=True)
class Evidence:
    document_id: int | None = None
    note: str | None = None
    link: str | None = None

    def entries(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if self.document_id is not None:
            out.append({"kind": EvidenceKind.DOCUMENT.value, "value": self.document_id})
        if self.note and self.note.strip():
            out.append({"kind": EvidenceKind.NOTE.value, "value": self.note.strip()})
        if self.link and self.link.strip():
            link = self.link.strip()
            if not link.startswith(("http://", "https://")):
                raise LaunchError(f"--link: value {link!r}; expected an http(s) URL")
            out.append({"kind": EvidenceKind.LINK.value, "value": link})
        return out


def update_item(
    session: Session,
    *,
    ref: str,
    store_id: int | None,
    status: ItemStatus | None = None,
    reason: str | None = None,
    evidence: Evidence | None = None,
    owner: str | None = None,
    due_date: dt.date | None = None,
    actor: str = "cli",
) -> LaunchItem:
    """Mark done or waived, attach evidence, set owner or due date; audited."""
    item = find_item(session, ref, store_id)
    before = {
        "status": item.status,
        "owner": item.owner,
        "due_date": item.due_date,
        "waive_reason": item.waive_reason,
    }
    entries = evidence.entries() if evidence else []
    for entry in entries:
        if entry["kind"] == EvidenceKind.DOCUMENT.value:
            doc = session.get(VaultDocument, entry["value"])
            if doc is None:
                raise LaunchError(f"--doc: no vault document with id {entry['value']}")
    if status is not None:
        check_transition(ItemStatus(item.status), status, ItemKind(item.kind))
        if status is ItemStatus.WAIVED:
            item.waive_reason = check_waive_reason(reason)
        else:
            item.waive_reason = None
        item.status = status.value
    if owner is not None:
        item.owner = owner.strip() or None
    if due_date is not None:
        item.due_date = due_date
    if entries:
        item.evidence = [*item.evidence, *entries]
    item.updated_at = utcnow()
    item.updated_by = actor
    session.flush()
    plan = session.get(LaunchPlan, item.plan_id)
    record(
        session,
        actor=actor,
        action=f"launch.item.{status.value}" if status else "launch.item.update",
        entity="launch_item",
        entity_id=item.id,
        data={
            "store_id": plan.store_id if plan else None,
            "key": item.key,
            "before": before,
            "after": {
                "status": item.status,
                "owner": item.owner,
                "due_date": item.due_date,
                "waive_reason": item.waive_reason,
            },
            "evidence_added": entries,
        },
    )
    return item


def _measured(
    warehouse: Warehouse | None, store: Store, item: LaunchItem, today: dt.date
) -> MeasureResult | None:
    if item.measure is None:
        return None
    spec = item.measure
    measure = Measure(
        spec["kind"],
        int(spec["by_day"]),
        Decimal(spec["at_least"]) if spec.get("at_least") is not None else None,
    )
    if store.launch_date is None or warehouse is None:
        return evaluate_measure(measure, launch_date=None, value=None, met_on=None, today=today)
    seen = observe(
        warehouse,
        measure,
        store_id=store.id,
        timezone=store.timezone,
        currency=store.currency,
        launch_date=store.launch_date,
    )
    return evaluate_measure(
        measure, launch_date=store.launch_date, value=seen.value, met_on=seen.met_on, today=today
    )


def plan_status(
    session: Session,
    *,
    store_id: int,
    warehouse: Warehouse | None,
    today: dt.date,
    expiry_window_days: int = 30,
) -> dict[str, Any]:
    """The plan as one JSON-able object: stages, items, blockers, risks, expiring documents."""
    store = get_store(session, store_id)
    plan = _plan_for(session, store_id)
    items = _items(session, plan)
    views: list[dict[str, Any]] = []
    states: list[ItemState] = []
    for item in items:
        status = ItemStatus(item.status)
        result = _measured(warehouse, store, item, today)
        if result is not None and status is not ItemStatus.WAIVED:
            status = result.status
        states.append(
            ItemState(item.key, Stage(item.stage), item.required, status, item.waive_reason)
        )
        views.append(
            {
                "id": item.id,
                "key": item.key,
                "stage": item.stage,
                "kind": item.kind,
                "title": {"zh": item.title_zh, "en": item.title_en},
                "required": item.required,
                "status": status.value,
                "owner": item.owner,
                "due_date": item.due_date.isoformat() if item.due_date else None,
                "overdue": bool(
                    item.due_date
                    and item.due_date < today
                    and status in (ItemStatus.TODO, ItemStatus.MISSED)
                ),
                "document_type": item.document_type,
                "evidence": item.evidence,
                "waive_reason": item.waive_reason,
                "sources": item.source_ids,
                "unverified": item.unverified,
                "note": item.note,
                "measure": (
                    {
                        **(item.measure or {}),
                        "value": str(result.value) if result.value is not None else None,
                        "deadline": result.deadline.isoformat() if result.deadline else None,
                        "explanation": result.explanation,
                    }
                    if result is not None
                    else None
                ),
            }
        )
    progress = plan_progress(states)
    stages = []
    for stage_progress in progress.stages:
        zh, en = STAGE_NAMES[stage_progress.stage]
        stages.append(
            {
                "id": stage_progress.stage.value,
                "name": {"zh": zh, "en": en},
                "complete": stage_progress.complete,
                "done": stage_progress.done,
                "total": stage_progress.total,
                "open_required": list(stage_progress.open_required),
                "blocked_by": list(stage_progress.blocked_by),
                "items": [v for v in views if v["stage"] == stage_progress.stage.value],
            }
        )
    expiring: Sequence[DocumentView] = expiring_documents(
        session, today=today, within_days=expiry_window_days, store_id=store_id
    )
    return {
        "store": store.id,
        "plan": {
            "id": plan.id,
            "platform": plan.platform,
            "site": plan.site,
            "template_hash": plan.template_hash,
            "params": plan.params,
            "created_at": plan.created_at.isoformat(timespec="seconds"),
        },
        "launch_date": store.launch_date.isoformat() if store.launch_date else None,
        "current_stage": progress.current_stage.value if progress.current_stage else None,
        "complete": progress.complete,
        "next_stage_blocked_by": list(progress.next_stage_blocked_by),
        "stages": stages,
        "risks": plan.risks,
        "sources": plan.sources,
        "expiring_documents": [d.as_json() for d in expiring],
    }
