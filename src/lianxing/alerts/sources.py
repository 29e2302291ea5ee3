"""What each rule kind looks at: turning a rule into observations, one per subject.

Each reader takes the stores in the rule's scope and returns :class:`Observation`s; the state
machine (``lianxing.domain.alerts.step``) decides what they mean for the alert instances.
The readers go through the other features' services: the KPI engine, ``metrics.targets``,
``launch.vault.expiring_documents``, ``contracts.tickets.sla_breaches`` (which records the
breaches it finds, as the contracts feature intends) and the flags saved by
``integrity.service``. Apart from that breach record they change nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from lianxing.contracts.tickets import sla_breaches
from lianxing.db.models import AccessGrant, Store
from lianxing.db.models_contracts import ServiceTicket
from lianxing.db.models_integrity import IntegrityFlag
from lianxing.domain.alerts import (
    Observation,
    RuleKind,
    ScopeKind,
    breaches,
    change_pct,
)
from lianxing.domain.kpi import Scope
from lianxing.domain.periods import Period
from lianxing.domain.targets import resolve_target_period
from lianxing.integrity.service import FlagStatus
from lianxing.launch.vault import expiring_documents, list_documents
from lianxing.metrics.compiler import StoreInfo
from lianxing.metrics.engine import KpiEngine
from lianxing.metrics.targets import TargetResult, evaluate_targets, kpi_catalog
from lianxing.workspace import Workspace


class SourceError(Exception):
    """A rule could not be evaluated (missing data service answer, bad KPI request)."""


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """The parts of a stored rule the readers need."""

    id: int
    kind: RuleKind
    scope_kind: ScopeKind
    scope_ref: str
    params: dict[str, Any]


@dataclass(slots=True)
class ReadContext:
    workspace: Workspace
    session: Session
    now: dt.datetime  # naive UTC
    _targets: list[TargetResult] | None = None

    @property
    def today(self) -> dt.date:
        return self.now.date()

    def targets(self) -> list[TargetResult]:
        # One evaluation of every target serves every target and pace rule of a run.
        if self._targets is None:
            self._targets = evaluate_targets(self.workspace, self.today)
        return self._targets


def stores_in_scope(
    session: Session, scope_kind: ScopeKind, scope_ref: str, now: dt.datetime
) -> list[Store]:
    query = select(Store).order_by(Store.id)
    match scope_kind:
        case ScopeKind.ALL:
            pass
        case ScopeKind.STORE:
            query = query.where(Store.id == int(scope_ref))
        case ScopeKind.PLATFORM:
            query = query.where(Store.platform == scope_ref)
        case ScopeKind.TEAM:
            org_id = int(scope_ref)
            granted = [
                g.store_id
                for g in session.scalars(
                    select(AccessGrant).where(AccessGrant.agency_org_id == org_id)
                )
                if g.is_valid(now)
            ]
            query = query.where(or_(Store.org_id == org_id, Store.id.in_(granted)))
    return list(session.scalars(query))


def _label(store: Store) -> str:
    return f"{store.name} (#{store.id} {store.platform} {store.site})"


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.2f}"


# ---------------------------------------------------------------------------------------
# KPI threshold and change
# ---------------------------------------------------------------------------------------


def _store_periods(stores: Sequence[Store], spec: str, today: dt.date) -> dict[Period, list[Store]]:
    groups: dict[Period, list[Store]] = {}
    for store in stores:
        period = resolve_target_period(spec, today, store.launch_date)
        if period is not None:
            groups.setdefault(period, []).append(store)
    return groups


def read_kpi(ctx: ReadContext, rule: RuleSpec, stores: Sequence[Store]) -> list[Observation]:
    params = rule.params
    kpi, op, threshold = str(params["kpi"]), str(params["op"]), float(params["threshold"])
    compare = rule.kind is RuleKind.CHANGE
    if not stores:
        return []
    engine = KpiEngine(
        ctx.workspace.warehouse.ibis,
        ctx.workspace.warehouse.table,
        kpi_catalog(ctx.workspace),
        [StoreInfo(s.id, s.timezone, s.currency, s.launch_date, s.name) for s in stores],
    )
    observations = []
    for period, members in _store_periods(stores, str(params["period"]), ctx.today).items():
        scopes = [Scope.store(s.id, s.name) for s in members]
        try:
            matrix = engine.compute(
                periods=[period],
                scopes=scopes,
                kpis=[kpi],
                options=dict(params.get("options") or {}),
                compare=compare,
            )
        except ValueError as exc:  # FxRateMissing, KpiRequestError, PeriodError
            raise SourceError(f"rule {rule.id}: {exc}") from exc
        definition = matrix.definitions[kpi]
        unit = matrix.unit_label(definition)
        for store, scope in zip(members, scopes, strict=True):
            cell = matrix.cell(kpi, period.label, scope.key)
            current = cell.value.value
            details: dict[str, Any] = {"kpi": kpi, "period": period.label, "unit": unit}
            if compare:
                previous = cell.previous.value if cell.previous else None
                value = change_pct(current, previous)
                details.update(current=current, previous=previous)
                zh = (
                    f"{definition.name.zh} {period.label} 环比 {_fmt(value)}% "
                    f"({_fmt(previous)} → {_fmt(current)} {unit}), 条件 {op} {threshold:g}%"
                )
                en = (
                    f"{definition.name.en} {period.label} change {_fmt(value)}% "
                    f"({_fmt(previous)} → {_fmt(current)} {unit}), condition {op} {threshold:g}%"
                )
            else:
                value = current
                shown = f"{period.label} = {_fmt(value)} {unit}"
                zh = f"{definition.name.zh} {shown}, 条件 {op} {threshold:g}"
                en = f"{definition.name.en} {shown}, condition {op} {threshold:g}"
            observations.append(
                Observation(
                    dedup_key=f"store:{store.id}",
                    store_id=store.id,
                    breached=breaches(op, value, threshold),
                    value=value,
                    summary_zh=zh,
                    summary_en=en,
                    details=details,
                )
            )
    return observations


# ---------------------------------------------------------------------------------------
# Targets and pace
# ---------------------------------------------------------------------------------------


def _target_store_ids(result: TargetResult, all_stores: Sequence[Store]) -> set[int]:
    target = result.target
    if target.scope_kind == "store":
        return {int(target.scope_ref)}
    if target.scope_kind == "platform":
        return {s.id for s in all_stores if s.platform == target.scope_ref}
    return {s.id for s in all_stores if str(s.org_id) == target.scope_ref}


def read_targets(ctx: ReadContext, rule: RuleSpec, stores: Sequence[Store]) -> list[Observation]:
    statuses = set(rule.params["statuses"])
    wanted = {s.id for s in stores}
    all_stores = list(ctx.session.scalars(select(Store)))
    observations = []
    for result in ctx.targets():
        covered = _target_store_ids(result, all_stores)
        if not covered & wanted:
            continue
        target = result.target
        store_id = int(target.scope_ref) if target.scope_kind == "store" else None
        if rule.kind is RuleKind.PACE:
            status = result.projected_status
            value = result.projection.value if result.projection else None
            breached = status is not None and status.value in statuses
            zh = (
                f"目标 #{target.id} {target.describe()} 预计期末 {_fmt(value)}"
                f"（状态 {status.label if status else '无'}）"
            )
            en = (
                f"target #{target.id} {target.describe()} projected to end at {_fmt(value)} "
                f"(status {status.value if status else 'none'})"
            )
        else:
            status = result.status
            value = result.actual
            breached = status.value in statuses
            zh = (
                f"目标 #{target.id} {target.describe()} 实际 {_fmt(value)}，"
                f"达成 {_fmt(None if result.achievement is None else result.achievement * 100)}%"
                f"（{status.label}）"
            )
            en = (
                f"target #{target.id} {target.describe()} actual {_fmt(value)}, achievement "
                f"{_fmt(None if result.achievement is None else result.achievement * 100)}% "
                f"({status.value})"
            )
        observations.append(
            Observation(
                dedup_key=f"target:{target.id}",
                store_id=store_id,
                breached=breached,
                value=value,
                summary_zh=zh,
                summary_en=en,
                details={"target": target.id, "status": None if status is None else status.value},
            )
        )
    return observations


# ---------------------------------------------------------------------------------------
# Account health (latest snapshot per store)
# ---------------------------------------------------------------------------------------


def read_account_health(
    ctx: ReadContext, rule: RuleSpec, stores: Sequence[Store]
) -> list[Observation]:
    metric, op = str(rule.params["metric"]), str(rule.params["op"])
    threshold = float(rule.params["threshold"])
    if not stores:
        return []
    table = ctx.workspace.warehouse.table("account_health")
    expr = table.filter(table.store_id.isin([s.id for s in stores])).select(
        "store_id", "snapshot_date", metric
    )
    rows: pa.Table = expr.to_pyarrow()
    latest: dict[int, tuple[dt.date, float | None]] = {}
    for row in rows.to_pylist():
        store_id, day, value = int(row["store_id"]), row["snapshot_date"], row[metric]
        if store_id not in latest or day > latest[store_id][0]:
            latest[store_id] = (day, None if value is None else float(value))
    observations = []
    for store in stores:
        if store.id not in latest:
            continue
        day, value = latest[store.id]
        observations.append(
            Observation(
                dedup_key=f"store:{store.id}",
                store_id=store.id,
                breached=breaches(op, value, threshold),
                value=value,
                summary_zh=f"账号健康 {metric} = {_fmt(value)}（{day.isoformat()}），"
                f"条件 {op} {threshold:g}",
                summary_en=f"account health {metric} = {_fmt(value)} ({day.isoformat()}), "
                f"condition {op} {threshold:g}",
                details={"metric": metric, "snapshot_date": day.isoformat()},
            )
        )
    return observations


# ---------------------------------------------------------------------------------------
# Documents, SLA, integrity
# ---------------------------------------------------------------------------------------


def read_documents(ctx: ReadContext, rule: RuleSpec, stores: Sequence[Store]) -> list[Observation]:
    """Documents the vault reports as expiring within ``days_before`` days (or expired):
    ``launch.vault.expiring_documents`` per store in scope (a store's documents and its
    organisation's store-less ones), or for the whole vault with scope ``all``."""
    days_before = int(rule.params["days_before"])
    if rule.scope_kind is ScopeKind.ALL:
        expiring = expiring_documents(ctx.session, today=ctx.today, within_days=days_before)
    else:
        expiring = [
            doc
            for store in stores
            for doc in expiring_documents(
                ctx.session, today=ctx.today, within_days=days_before, store_id=store.id
            )
        ]
    # A renewed document replaces the old one: only the latest-expiring of a kind counts.
    latest: dict[tuple[int, int | None, str], dt.date] = {}
    for doc in list_documents(ctx.session, today=ctx.today, window_days=days_before):
        key = (doc.org_id, doc.store_id, doc.doc_type)
        if doc.expires_on is not None and doc.expires_on > latest.get(key, dt.date.min):
            latest[key] = doc.expires_on
    observations: dict[int, Observation] = {}
    for doc in expiring:
        if doc.expires_on is None or doc.id in observations:
            continue
        if latest[(doc.org_id, doc.store_id, doc.doc_type)] > doc.expires_on:
            continue  # renewed
        days_left = (doc.expires_on - ctx.today).days
        observations[doc.id] = Observation(
            dedup_key=f"document:{doc.id}",
            store_id=doc.store_id,
            breached=True,
            value=float(days_left),
            summary_zh=f"证件「{doc.title}」（{doc.doc_type}）{doc.expires_on.isoformat()} "
            f"到期，剩余 {days_left} 天",
            summary_en=f"document '{doc.title}' ({doc.doc_type}) expires "
            f"{doc.expires_on.isoformat()}, {days_left} day(s) left",
            details={"document": doc.id, "expires_on": doc.expires_on.isoformat()},
        )
    return list(observations.values())


def read_sla(ctx: ReadContext, rule: RuleSpec, stores: Sequence[Store]) -> list[Observation]:
    """Breaches from ``contracts.tickets.sla_breaches`` (which records each deadline passed
    by now, as the contracts feature expects its scheduler to): firing while the answer is
    still missing, clear once it came (late)."""
    store_ids = {s.id for s in stores}
    observations = []
    for breach in sla_breaches(ctx.session, now=ctx.now):
        ticket = ctx.session.get(ServiceTicket, breach.ticket_id)
        assert ticket is not None
        if not (rule.scope_kind is ScopeKind.ALL or ticket.store_id in store_ids):
            continue
        zh_word, en_word = (
            ("首次响应", "first response")
            if breach.kind == "first_response"
            else ("解决", "resolution")
        )
        answered = breach.fulfilled_at
        overdue_hours = ((answered or ctx.now) - breach.due_at).total_seconds() / 3600
        due_text = breach.due_at.isoformat(" ", "minutes")
        observations.append(
            Observation(
                dedup_key=f"ticket:{breach.ticket_id}:{breach.kind}",
                store_id=ticket.store_id,
                breached=answered is None,
                value=round(overdue_hours, 2),
                summary_zh=f"服务工单 #{breach.ticket_id}「{breach.title}」{zh_word}期限 "
                f"{due_text} UTC，已超 {overdue_hours:.1f} 小时",
                summary_en=f"service ticket #{breach.ticket_id} '{breach.title}' {en_word} due "
                f"{due_text} UTC, {overdue_hours:.1f} h overdue",
                details={
                    "ticket": breach.ticket_id,
                    "contract": breach.contract_id,
                    "kind": breach.kind,
                    "due_at": breach.due_at.isoformat(),
                },
            )
        )
    return observations


def read_integrity(ctx: ReadContext, rule: RuleSpec, stores: Sequence[Store]) -> list[Observation]:
    """Open flags the integrity service saved (``integrity.service.run_integrity``); a flag
    reviewed as confirmed or dismissed (``review_flag``) is no longer open and clears."""
    min_score = float(rule.params.get("min_score", 0))
    store_ids = [s.id for s in stores]
    flags = ctx.session.scalars(
        select(IntegrityFlag)
        .where(IntegrityFlag.status == FlagStatus.OPEN.value, IntegrityFlag.store_id.in_(store_ids))
        .order_by(IntegrityFlag.id)
    )
    return [
        Observation(
            dedup_key=f"flag:{flag.id}",
            store_id=flag.store_id,
            breached=flag.score >= min_score,
            value=flag.score,
            summary_zh=f"数据真实性标记 #{flag.id}（{flag.rule}，{flag.subject}）："
            f"{flag.explanation_zh}",
            summary_en=f"integrity flag #{flag.id} ({flag.rule}, {flag.subject}): "
            f"{flag.explanation_en}",
            details={"flag": flag.id, "rule": flag.rule},
        )
        for flag in flags
    ]


READERS: dict[RuleKind, Callable[[ReadContext, RuleSpec, Sequence[Store]], list[Observation]]] = {
    RuleKind.KPI_THRESHOLD: read_kpi,
    RuleKind.CHANGE: read_kpi,
    RuleKind.TARGET_STATUS: read_targets,
    RuleKind.PACE: read_targets,
    RuleKind.ACCOUNT_HEALTH: read_account_health,
    RuleKind.DOCUMENT_EXPIRY: read_documents,
    RuleKind.SLA_BREACH: read_sla,
    RuleKind.INTEGRITY_FLAG: read_integrity,
}


def observe(ctx: ReadContext, rule: RuleSpec) -> list[Observation]:
    stores = stores_in_scope(ctx.session, rule.scope_kind, rule.scope_ref, ctx.now)
    return READERS[rule.kind](ctx, rule, stores)


def store_label(session: Session, store_id: int | None) -> str | None:
    if store_id is None:
        return None
    store = session.get(Store, store_id)
    return _label(store) if store is not None else f"#{store_id}"
