"""Integrity services: run the detectors for a store and period, keep findings as
reviewable flags, review them (audited), and tell contracts which orders are confirmed.

Used by the CLI (``lianxing integrity``), the web app, reports and contracts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from lianxing.db.audit import record
from lianxing.db.models import Store
from lianxing.db.models_integrity import IntegrityFlag, IntegrityFlagOrder, IntegrityReview
from lianxing.domain.integrity import (
    DEFAULT_THRESHOLDS,
    RULES,
    Finding,
    RuleId,
    Thresholds,
    share,
)
from lianxing.domain.periods import Period
from lianxing.domain.time import utcnow
from lianxing.integrity.detectors import CANCELLED, StoreScope, rows, run_detectors
from lianxing.warehouse import Warehouse


class FlagStatus(StrEnum):
    OPEN = "open"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


class IntegrityError(ValueError):
    """A request the integrity service cannot carry out; the message says why."""


@dataclass(frozen=True, slots=True)
class FlagView:
    id: int
    rule: str
    rule_name: str  # "中文 / English"
    subject: str
    score: float
    status: str
    window_start: dt.datetime
    window_end: dt.datetime
    explanation_zh: str
    explanation_en: str
    order_ids: list[str]
    gmv: float  # of the affected non-cancelled orders, store currency
    gmv_share: float | None  # of the store's GMV in the period
    evidence: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule": self.rule,
            "rule_name": self.rule_name,
            "subject": self.subject,
            "score": self.score,
            "status": self.status,
            "window": [self.window_start.isoformat(), self.window_end.isoformat()],
            "explanation": {"zh": self.explanation_zh, "en": self.explanation_en},
            "orders": self.order_ids,
            "orders_count": len(self.order_ids),
            "gmv": round(self.gmv, 4),
            "gmv_share": self.gmv_share,
            "evidence": self.evidence,
        }


@dataclass(frozen=True, slots=True)
class IntegrityReport:
    store_id: int
    period: Period
    timezone: str
    currency: str
    gmv: float
    flags: list[FlagView]
    flagged_gmv: float  # orders of open or confirmed flags, each order once
    confirmed_gmv: float

    @property
    def flagged_share(self) -> float | None:
        return share(self.flagged_gmv, self.gmv)

    @property
    def confirmed_share(self) -> float | None:
        return share(self.confirmed_gmv, self.gmv)

    def as_dict(self) -> dict[str, Any]:
        return {
            "store": self.store_id,
            "period": {
                "start": self.period.start.isoformat(),
                "end": self.period.end.isoformat(),
                "timezone": self.timezone,
            },
            "currency": self.currency,
            "gmv": round(self.gmv, 4),
            "flagged_gmv": round(self.flagged_gmv, 4),
            "flagged_share": self.flagged_share,
            "confirmed_gmv": round(self.confirmed_gmv, 4),
            "confirmed_share": self.confirmed_share,
            "findings": [f.as_dict() for f in self.flags],
        }


def store_scope(store: Store, period: Period) -> StoreScope:
    resolved = period.for_launch_date(store.launch_date)
    if resolved is None:
        raise IntegrityError(
            f"store {store.id} has no launch date, so period {period.label!r} has no dates"
        )
    return StoreScope(
        store.id, store.timezone, store.currency, store.launch_date, resolved.start, resolved.end
    )


def get_store(session: Session, store_id: int) -> Store:
    store = session.get(Store, store_id)
    if store is None:
        raise IntegrityError(f"--store: no store with id {store_id}")
    return store


def _rule_name(rule: str) -> str:
    known = RULES.get(RuleId(rule)) if rule in RuleId._value2member_map_ else None
    return f"{known.name_zh} / {known.name_en}" if known else rule


def _order_facts(
    warehouse: Warehouse, scope: StoreScope, order_ids: Iterable[str]
) -> dict[str, tuple[dt.datetime, float]]:
    """purchase_ts and GMV (non-cancelled lines, row currency) of the given orders."""
    ids = sorted(set(order_ids))
    if not ids:
        return {}
    orders = warehouse.table("orders")
    orders = orders.filter((orders.store_id == scope.store_id) & orders.order_id.isin(ids))
    lines = warehouse.table("order_lines")
    lines = lines.filter(lines.store_id == scope.store_id).select("order_id", "item_price")
    joined = orders.select("order_id", "purchase_ts", "status").left_join(lines, "order_id")
    per_order = joined.group_by("order_id", "purchase_ts", "status").aggregate(
        gmv=joined.item_price.sum().cast("float64")
    )
    result = {}
    for row in rows(per_order):
        gmv = 0.0 if row["status"] == CANCELLED or row["gmv"] is None else float(row["gmv"])
        result[row["order_id"]] = (row["purchase_ts"], gmv)
    return result


def store_gmv(warehouse: Warehouse, scope: StoreScope) -> float:
    """Sum of line item_price of non-cancelled orders purchased in the period (as KPI gmv,
    in the row currency)."""
    orders = warehouse.table("orders")
    orders = orders.filter(
        (orders.store_id == scope.store_id)
        & (orders.purchase_ts >= scope.start_utc)
        & (orders.purchase_ts < scope.end_utc)
        & (orders.status != CANCELLED)
    ).select("order_id")
    lines = warehouse.table("order_lines")
    lines = lines.filter(lines.store_id == scope.store_id).join(orders, "order_id")
    total = rows(lines.aggregate(gmv=lines.item_price.sum().cast("float64")).select("gmv"))
    return float(total[0]["gmv"] or 0.0)


def _local_day(ts: dt.datetime | None, timezone: str) -> dt.date | None:
    if ts is None:
        return None
    return ts.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(timezone)).date()


def save_findings(
    session: Session,
    warehouse: Warehouse,
    scope: StoreScope,
    findings: Sequence[Finding],
    *,
    actor: str,
) -> list[IntegrityFlag]:
    """Store each finding as a flag: a new one is opened (audited), a known one (same
    fingerprint) is refreshed and keeps its review status."""
    facts = _order_facts(warehouse, scope, (o for f in findings for o in f.order_ids))
    flags = []
    for finding in findings:
        flag = session.scalars(
            select(IntegrityFlag).where(IntegrityFlag.fingerprint == finding.fingerprint)
        ).one_or_none()
        is_new = flag is None
        if flag is None:
            flag = IntegrityFlag(
                fingerprint=finding.fingerprint,
                store_id=scope.store_id,
                status=FlagStatus.OPEN.value,
                created_at=utcnow(),
            )
            session.add(flag)
        flag.rule = finding.rule.value
        flag.subject = finding.subject[:200]
        flag.window_start = finding.window_start
        flag.window_end = finding.window_end
        flag.score = finding.score
        flag.explanation_zh = finding.explanation_zh
        flag.explanation_en = finding.explanation_en
        flag.evidence = dict(finding.evidence)
        flag.updated_at = utcnow()
        known_orders = {o.order_id for o in flag.orders}
        for order_id in finding.order_ids:
            if order_id in known_orders:
                continue
            purchase_ts = facts.get(order_id, (None, 0.0))[0]
            flag.orders.append(
                IntegrityFlagOrder(
                    store_id=scope.store_id,
                    order_id=order_id,
                    purchase_ts=purchase_ts,
                    purchase_day=_local_day(purchase_ts, scope.timezone),
                )
            )
        session.flush()
        if is_new:
            record(
                session,
                actor=actor,
                action="integrity.flag",
                entity="integrity_flag",
                entity_id=flag.id,
                data={
                    "store": scope.store_id,
                    "rule": flag.rule,
                    "subject": flag.subject,
                    "score": flag.score,
                    "orders": len(finding.order_ids),
                },
            )
        flags.append(flag)
    return flags


def run_integrity(
    session: Session,
    warehouse: Warehouse,
    store_id: int,
    period: Period,
    *,
    actor: str,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> IntegrityReport:
    """Detect, keep the findings as flags, and report them with their share of GMV."""
    store = get_store(session, store_id)
    scope = store_scope(store, period)
    findings = run_detectors(warehouse, scope, thresholds)
    flags = save_findings(session, warehouse, scope, findings, actor=actor)
    return report_flags(session, warehouse, scope, period, flags)


def report_flags(
    session: Session,
    warehouse: Warehouse,
    scope: StoreScope,
    period: Period,
    flags: Sequence[IntegrityFlag] | None = None,
) -> IntegrityReport:
    """The report for flags already found (all the store's flags in the period if None):
    dismissed flags are listed but not counted in the flagged share."""
    if flags is None:
        flags = list(
            session.scalars(
                select(IntegrityFlag).where(
                    IntegrityFlag.store_id == scope.store_id,
                    IntegrityFlag.window_end >= scope.start_utc,
                    IntegrityFlag.window_start < scope.end_utc,
                )
            )
        )
    gmv = store_gmv(warehouse, scope)
    order_ids = {o.order_id for f in flags for o in f.orders}
    facts = _order_facts(warehouse, scope, order_ids)
    views = []
    flagged: set[str] = set()
    confirmed: set[str] = set()
    for flag in flags:
        ids = sorted(o.order_id for o in flag.orders)
        flag_gmv = sum(facts.get(o, (None, 0.0))[1] for o in ids)
        if flag.status != FlagStatus.DISMISSED.value:
            flagged.update(ids)
        if flag.status == FlagStatus.CONFIRMED.value:
            confirmed.update(ids)
        views.append(
            FlagView(
                flag.id,
                flag.rule,
                _rule_name(flag.rule),
                flag.subject,
                flag.score,
                flag.status,
                flag.window_start,
                flag.window_end,
                flag.explanation_zh,
                flag.explanation_en,
                ids,
                flag_gmv,
                share(flag_gmv, gmv),
                dict(flag.evidence),
            )
        )
    views.sort(key=lambda v: (-v.score, v.rule, v.subject))

    def in_period_gmv(ids: set[str]) -> float:
        total = 0.0
        for order_id in ids:
            purchase_ts, value = facts.get(order_id, (None, 0.0))
            if purchase_ts is not None and scope.start_utc <= purchase_ts < scope.end_utc:
                total += value
        return total

    return IntegrityReport(
        scope.store_id,
        period,
        scope.timezone,
        scope.currency,
        gmv,
        views,
        in_period_gmv(flagged),
        in_period_gmv(confirmed),
    )


def review_flag(
    session: Session, flag_id: int, *, decision: FlagStatus, reason: str, actor: str
) -> IntegrityFlag:
    """Confirm or dismiss a flag with a reason; the decision is kept and audited."""
    if decision not in (FlagStatus.CONFIRMED, FlagStatus.DISMISSED):
        raise IntegrityError(f"a review confirms or dismisses, not {decision.value!r}")
    if not reason.strip():
        raise IntegrityError("--reason: a review needs a reason (it is kept in the audit log)")
    flag = session.get(IntegrityFlag, flag_id)
    if flag is None:
        raise IntegrityError(f"FLAG_ID: no integrity flag with id {flag_id}")
    previous = flag.status
    flag.status = decision.value
    flag.updated_at = utcnow()
    flag.reviews.append(
        IntegrityReview(decision=decision.value, reason=reason.strip(), actor=actor)
    )
    session.flush()
    record(
        session,
        actor=actor,
        action=f"integrity.{decision.value}",
        entity="integrity_flag",
        entity_id=flag.id,
        data={
            "store": flag.store_id,
            "rule": flag.rule,
            "from": previous,
            "to": decision.value,
            "reason": reason.strip(),
        },
    )
    return flag


def confirmed_flagged_orders(
    session: Session,
    store_id: int,
    start: dt.date | dt.datetime,
    end: dt.date | dt.datetime,
) -> set[str]:
    """Order ids of the store named by *confirmed* flags, purchased in ``[start, end)``.

    Dates are marketplace-local purchase days (as KPI periods are cut); datetimes are
    naive-UTC purchase instants.
    """
    return set(confirmed_flags_by_order(session, store_id, start, end))


def confirmed_flags_by_order(
    session: Session,
    store_id: int,
    start: dt.date | dt.datetime,
    end: dt.date | dt.datetime,
) -> dict[str, tuple[int, ...]]:
    """The orders of :func:`confirmed_flagged_orders`, each with the ids of the confirmed
    flags naming it. Contracts use this to leave confirmed fake orders out of milestone KPIs
    and percent_of_kpi fees, and to say which review left each one out."""
    query = (
        select(IntegrityFlagOrder.order_id, IntegrityFlag.id)
        .join(IntegrityFlag, IntegrityFlag.id == IntegrityFlagOrder.flag_id)
        .where(
            IntegrityFlag.store_id == store_id,
            IntegrityFlag.status == FlagStatus.CONFIRMED.value,
        )
    )
    if isinstance(start, dt.datetime) and isinstance(end, dt.datetime):
        query = query.where(
            IntegrityFlagOrder.purchase_ts >= start, IntegrityFlagOrder.purchase_ts < end
        )
    elif not isinstance(start, dt.datetime) and not isinstance(end, dt.datetime):
        query = query.where(
            IntegrityFlagOrder.purchase_day >= start, IntegrityFlagOrder.purchase_day < end
        )
    else:
        raise IntegrityError("start and end must both be dates or both be datetimes")
    flags: dict[str, set[int]] = {}
    for order_id, flag_id in session.execute(query):
        flags.setdefault(order_id, set()).add(flag_id)
    return {order_id: tuple(sorted(ids)) for order_id, ids in sorted(flags.items())}
