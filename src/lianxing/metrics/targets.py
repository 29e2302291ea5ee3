"""Target service: set, list, delete and evaluate KPI targets (CLI, API and jobs share it).

Evaluation asks the KPI engine for one matrix per (KPI, options) group: the targets'
periods for their scopes, plus — for KPIs whose parts add up over days — one period per
day for each store involved, from which the pace is projected
(``lianxing.domain.pace``). Rules (achievement, status, ramps) are in
``lianxing.domain.targets``; this module only gathers the numbers.

Scopes with several stores (a platform, all stores of a seller):

* the actual is the engine's portfolio value (a ratio of summed parts);
* the ramp factor is the mean of the stores' factors (stores without a launch date count 1);
* the projection is the sum of the stores' projections (for a ratio: projected numerators
  summed over projected denominators summed).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lianxing.db.audit import record
from lianxing.db.models import Organisation, Store, User
from lianxing.db.models_targets import Target
from lianxing.domain.accounts import OrgKind, Role
from lianxing.domain.kpi import (
    MEASURES,
    OPTIONS,
    BinOp,
    KpiDefinition,
    KpiKind,
    KpiMatrix,
    OptionValue,
    Rollup,
    Scope,
    Unit,
)
from lianxing.domain.pace import (
    PaceMethod,
    Projection,
    project_additive,
    project_ratio,
    weekday_profile,
)
from lianxing.domain.periods import Period, PeriodKind, day_period, parse_period
from lianxing.domain.platforms import UnknownPlatform
from lianxing.domain.targets import (
    DEFAULT_BANDS,
    Comparator,
    Ramp,
    Status,
    StatusBands,
    TargetError,
    achievement,
    check_target_period,
    default_comparator,
    gap,
    parse_comparator,
    parse_ramp,
    ramp_factor,
    resolve_target_period,
    status,
)
from lianxing.metrics.compiler import StoreInfo
from lianxing.metrics.engine import FxRateMissing, KpiEngine, KpiRequestError
from lianxing.metrics.loader import Catalog, load_catalog
from lianxing.platforms.catalog import load_catalog as load_platforms
from lianxing.stores.service import StoreView, list_stores
from lianxing.workspace import Workspace

HISTORY_DAYS = 56  # the weekday profile learns from the last 8 weeks


class TargetInputError(ValueError):
    """Input that cannot make a target: one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


SCOPE_KINDS = ("store", "platform", "seller")


# ---------------------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TargetView:
    id: int
    scope_kind: str
    scope_ref: str
    kpi_id: str
    kpi_options: dict[str, OptionValue]
    period: str
    comparator: Comparator
    value: float
    currency: str | None
    ramp: Ramp | None
    owner_role: str | None
    owner_user_id: int | None
    created_at: dt.datetime
    created_by: str

    @classmethod
    def of(cls, row: Target) -> TargetView:
        return cls(
            id=row.id,
            scope_kind=row.scope_kind,
            scope_ref=row.scope_ref,
            kpi_id=row.kpi_id,
            kpi_options=dict(row.kpi_options),
            period=row.period,
            comparator=Comparator(row.comparator),
            value=float(row.value),
            currency=row.currency,
            ramp=Ramp.from_json(row.ramp) if row.ramp else None,
            owner_role=row.owner_role,
            owner_user_id=row.owner_user_id,
            created_at=row.created_at,
            created_by=row.created_by,
        )

    @property
    def scope_label(self) -> str:
        return f"{self.scope_kind}:{self.scope_ref}"

    def describe(self) -> str:
        unit = f" {self.currency}" if self.currency else ""
        return f"{self.kpi_id} {self.comparator.value} {self.value:g}{unit}"

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "scope": {"kind": self.scope_kind, "ref": self.scope_ref},
            "kpi": self.kpi_id,
            "kpi_options": self.kpi_options,
            "period": self.period,
            "comparator": self.comparator.value,
            "value": self.value,
            "currency": self.currency,
            "ramp": None
            if self.ramp is None
            else {"spec": self.ramp.spec(), **self.ramp.to_json()},
            "owner_role": self.owner_role,
            "owner_user_id": self.owner_user_id,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
        }


@dataclass(frozen=True, slots=True)
class TargetResult:
    """A target evaluated on a date."""

    target: TargetView
    period: Period | None  # the dates it covers (of the store; the union for several stores)
    ramp_factor: float
    effective_target: float | None  # value scaled by the ramp; None: no target yet
    actual: float | None
    unit: str
    achievement: float | None
    gap: float | None
    met: bool | None
    status: Status
    projection: Projection | None
    projected_status: Status | None
    notes: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "target": self.target.as_json(),
            "period": None if self.period is None else self.period.to_json(),
            "ramp_factor": self.ramp_factor,
            "effective_target": self.effective_target,
            "actual": self.actual,
            "unit": self.unit,
            "achievement": self.achievement,
            "gap": self.gap,
            "met": self.met,
            "status": self.status.value,
            "pace": None if self.projection is None else self.projection.to_json(),
            "projected_status": None
            if self.projected_status is None
            else self.projected_status.value,
            "notes": list(self.notes),
        }


# ---------------------------------------------------------------------------------------
# Set, list, delete
# ---------------------------------------------------------------------------------------


def kpi_catalog(ws: Workspace) -> Catalog:
    """Shipped KPI definitions plus the workspace's own (``<home>/kpis``)."""
    return load_catalog([ws.settings.home_dir / "kpis"])


def set_target(
    session: Session,
    catalog: Catalog,
    *,
    kpi: str,
    scope_kind: str,
    scope_ref: str,
    period: str,
    value: str | float,
    comparator: str | None = None,
    currency: str | None = None,
    ramp: str | None = None,
    owner_role: str | None = None,
    owner_user_id: int | None = None,
    kpi_options: Mapping[str, OptionValue] | None = None,
    actor: str = "cli",
) -> TargetView:
    """Check every input (reporting all problems), then write the row and its audit entry."""
    problems: list[str] = []
    definition = catalog.definitions.get(kpi.strip())
    if definition is None:
        problems.append(
            f"--kpi: {kpi!r} is not a KPI; expected one of {', '.join(sorted(catalog.definitions))}"
        )
    scope_ref = _check_scope(session, scope_kind, scope_ref, problems)
    period_spec = _collect(problems, "--period", lambda: check_target_period(period))
    parsed_comparator = _collect(
        problems,
        "--comparator",
        lambda: (
            parse_comparator(comparator)
            if comparator is not None
            else default_comparator(definition.direction.value if definition else "higher")
        ),
    )
    parsed_value = _check_value(value, problems)
    parsed_ramp = _collect(problems, "--ramp", lambda: parse_ramp(ramp)) if ramp else None
    options = dict(kpi_options or {})
    if definition is not None:
        _check_options(definition, options, problems)
        currency = _check_currency(definition, currency, options, problems)
    if owner_role is not None and owner_role not in {r.value for r in Role}:
        problems.append(
            f"--owner-role: {owner_role!r} is not a role; expected one of "
            + ", ".join(r.value for r in Role)
        )
    if owner_user_id is not None and session.get(User, owner_user_id) is None:
        problems.append(f"--owner-user: no user with id {owner_user_id}")
    if problems:
        raise TargetInputError(problems)
    assert definition is not None and period_spec is not None and parsed_comparator is not None
    assert parsed_value is not None
    row = Target(
        scope_kind=scope_kind,
        scope_ref=scope_ref,
        kpi_id=definition.id,
        kpi_options=options,
        period=period_spec,
        comparator=parsed_comparator.value,
        value=parsed_value,
        currency=currency,
        ramp=parsed_ramp.to_json() if parsed_ramp else None,
        owner_role=owner_role,
        owner_user_id=owner_user_id,
        created_by=actor,
    )
    session.add(row)
    session.flush()
    view = TargetView.of(row)
    record(
        session,
        actor=actor,
        action="target.create",
        entity="target",
        entity_id=row.id,
        data=view.as_json(),
    )
    return view


def delete_target(session: Session, target_id: int, *, actor: str = "cli") -> TargetView:
    row = session.get(Target, target_id)
    if row is None:
        raise TargetInputError([f"target {target_id}: no such target"])
    view = TargetView.of(row)
    session.delete(row)
    record(
        session,
        actor=actor,
        action="target.delete",
        entity="target",
        entity_id=target_id,
        data=view.as_json(),
    )
    return view


def list_targets(session: Session, *, store_id: int | None = None) -> list[TargetView]:
    """Every target, or those whose scope includes ``store_id`` (its store, platform or seller)."""
    rows = list(session.scalars(select(Target).order_by(Target.id)))
    if store_id is None:
        return [TargetView.of(r) for r in rows]
    store = session.get(Store, store_id)
    if store is None:
        raise TargetInputError([f"--store: no store with id {store_id}"])
    wanted = {("store", str(store.id)), ("platform", store.platform), ("seller", str(store.org_id))}
    return [TargetView.of(r) for r in rows if (r.scope_kind, r.scope_ref) in wanted]


def _collect(problems: list[str], option: str, parse: Any) -> Any:
    try:
        return parse()
    except TargetError as exc:
        problems.append(f"{option}: {exc}")
        return None


def _check_scope(session: Session, kind: str, ref: str, problems: list[str]) -> str:
    ref = str(ref).strip()
    if kind == "store":
        if not ref.isdigit() or session.get(Store, int(ref)) is None:
            problems.append(f"--store: no store with id {ref!r}")
    elif kind == "platform":
        try:
            ref = load_platforms().platform(ref).id
        except UnknownPlatform as exc:
            problems.append(f"--platform: {exc}")
    elif kind == "seller":
        org = session.get(Organisation, int(ref)) if ref.isdigit() else None
        if org is None or org.kind != OrgKind.SELLER.value:
            problems.append(f"--seller: no seller organisation with id {ref!r}")
    else:
        problems.append(f"scope {kind!r}: expected one of {', '.join(SCOPE_KINDS)}")
    return ref


def _check_value(value: str | float, problems: list[str]) -> Decimal | None:
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        problems.append(f"--value: {value!r} is not a number; expected e.g. 2.5 or 1000")
        return None
    if not number.is_finite() or abs(number) >= Decimal(10) ** 14:
        problems.append(f"--value: {value!r} is not a finite number below 10^14")
        return None
    return number


def _check_options(
    definition: KpiDefinition, options: Mapping[str, OptionValue], problems: list[str]
) -> None:
    for name, value in options.items():
        if name not in definition.options:
            declared = ", ".join(definition.options) or "none"
            problems.append(
                f"--option {name}: KPI {definition.id} has no such option; it has {declared}"
            )
        elif (expected := OPTIONS[name].check(value)) is not None:
            problems.append(f"--option {name}={value!r}: expected {expected}")


def _check_currency(
    definition: KpiDefinition,
    currency: str | None,
    options: dict[str, OptionValue],
    problems: list[str],
) -> str | None:
    if definition.unit is not Unit.CURRENCY:
        if currency is not None:
            problems.append(
                f"--currency: KPI {definition.id} is a {definition.unit.value}, not money; "
                "leave the currency out"
            )
        return None
    chosen = (currency or str(definition.effective_options(options).get("currency", "USD"))).upper()
    if (expected := OPTIONS["currency"].check(chosen)) is not None:
        problems.append(f"--currency: {currency!r} is not a currency code; expected {expected}")
        return None
    return chosen


# ---------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Plan:
    """One target's scope and resolved dates, before the numbers come in."""

    target: TargetView
    scope: Scope
    stores: list[StoreView]
    request_period: Period | None  # what the engine gets (a launch stage stays unresolved)
    store_periods: dict[int, Period | None] = field(default_factory=dict)


def evaluate_targets(
    ws: Workspace,
    as_of: dt.date,
    *,
    store_id: int | None = None,
    bands: StatusBands = DEFAULT_BANDS,
) -> list[TargetResult]:
    """Evaluate every target (or those covering ``store_id``) with data before ``as_of``."""
    catalog = kpi_catalog(ws)
    with ws.session() as session:
        targets = list_targets(session, store_id=store_id)
        stores = list_stores(session)
    plans = [_plan(t, stores, as_of) for t in targets]
    engine = KpiEngine(
        ws.warehouse.ibis,
        ws.warehouse.table,
        catalog,
        [StoreInfo(s.id, s.timezone, s.currency, s.launch_date, s.name) for s in stores],
    )
    groups: dict[tuple[str, tuple[tuple[str, OptionValue], ...]], list[_Plan]] = {}
    for plan in plans:
        groups.setdefault((plan.target.kpi_id, _options_key(plan.target)), []).append(plan)
    results: dict[int, TargetResult] = {}
    for (kpi_id, options_key), members in groups.items():
        definition = catalog.definitions.get(kpi_id)
        for plan, result in zip(
            members,
            _evaluate_group(engine, catalog, definition, dict(options_key), members, as_of, bands),
            strict=True,
        ):
            results[plan.target.id] = result
    return [results[t.id] for t in targets]


def _options_key(target: TargetView) -> tuple[tuple[str, OptionValue], ...]:
    options = dict(target.kpi_options)
    if target.currency is not None:
        options["currency"] = target.currency
    return tuple(sorted(options.items()))


def _plan(target: TargetView, stores: Sequence[StoreView], as_of: dt.date) -> _Plan:
    match target.scope_kind:
        case "store":
            members = [s for s in stores if str(s.id) == target.scope_ref]
            scope = Scope.store(int(target.scope_ref))
        case "platform":
            members = [s for s in stores if s.platform == target.scope_ref]
            scope = Scope(
                f"portfolio:platform:{target.scope_ref}",
                tuple(s.id for s in members),
                f"platform {target.scope_ref}",
            )
        case _:
            members = [s for s in stores if str(s.org_id) == target.scope_ref]
            scope = Scope(
                f"portfolio:seller:{target.scope_ref}",
                tuple(s.id for s in members),
                f"seller {target.scope_ref}",
            )
    store_periods = {
        s.id: resolve_target_period(target.period, as_of, s.launch_date) for s in members
    }
    if target.period.startswith("launch:"):
        request: Period | None = parse_period(target.period)
    else:
        request = resolve_target_period(target.period, as_of, None)
    return _Plan(target, scope, members, request, store_periods)


def _evaluate_group(
    engine: KpiEngine,
    catalog: Catalog,
    definition: KpiDefinition | None,
    options: dict[str, OptionValue],
    plans: list[_Plan],
    as_of: dt.date,
    bands: StatusBands,
) -> list[TargetResult]:
    if definition is None:
        gone = "KPI 定义已不存在 / the KPI definition no longer exists"
        return [_result(p, None, "", None, as_of, bands, [gone]) for p in plans]
    money = definition.unit is Unit.CURRENCY
    unit = options.get("currency", "USD") if money else definition.unit.value
    projectable = _projectable(catalog, definition)
    periods: dict[str, Period] = {}
    scopes: dict[str, Scope] = {}
    for plan in plans:
        if plan.request_period is not None and plan.scope.store_ids:
            periods.setdefault(plan.request_period.label, plan.request_period)
            scopes.setdefault(plan.scope.key, plan.scope)
    days: list[dt.date] = []
    if projectable:
        days = _pace_days(plans, as_of)
        for day in days:
            periods.setdefault(day.isoformat(), day_period(day))
        for plan in plans:
            for store in plan.stores:
                single = Scope.store(store.id)
                scopes.setdefault(single.key, single)
    matrix: KpiMatrix | None = None
    failure: str | None = None
    if periods and scopes:
        try:
            matrix = engine.compute(
                periods=list(periods.values()),
                scopes=list(scopes.values()),
                kpis=[definition.id],
                options=options,
                compare=False,
            )
        except (FxRateMissing, KpiRequestError) as exc:
            failure = str(exc)
    results = []
    for plan in plans:
        notes: list[str] = []
        actual: float | None = None
        projection: Projection | None = None
        if failure is not None:
            notes.append(failure)
        elif not plan.stores:
            notes.append("范围内没有店铺 / no store in this scope")
        elif not any(plan.store_periods.values()):
            notes.append(
                "店铺没有上线日期，无法确定上线阶段 / "
                "no store in scope has a launch date for this launch stage"
            )
        elif plan.request_period is None or matrix is None:
            notes.append("无法计算 / not computed")
        else:
            grid = matrix.current[definition.id]
            p = matrix.periods.index(plan.request_period.label)
            g = [s.key for s in matrix.scopes].index(plan.scope.key)
            actual = grid.values[p][g]
            if actual is None and grid.reasons[p][g]:
                notes.append(str(grid.reasons[p][g]))
            if projectable:
                projection = _project(matrix, definition, plan, as_of, days)
            else:
                notes.append(
                    f"此类指标不做进度预测 / no pace projection for a {definition.kind.value} KPI"
                )
        results.append(_result(plan, actual, str(unit), projection, as_of, bands, notes))
    return results


def _projectable(catalog: Catalog, definition: KpiDefinition) -> bool:
    """Additive KPIs and ratios of additive parts: every measure sums over days."""
    if definition.kind is KpiKind.RATIO:
        if not (isinstance(definition.formula, BinOp) and definition.formula.op == "/"):
            return False
    elif definition.kind is not KpiKind.ADDITIVE:
        return False
    return all(MEASURES[m].rollup is Rollup.SUM for m in catalog.measures_of(definition.id))


def _pace_days(plans: Iterable[_Plan], as_of: dt.date) -> list[dt.date]:
    """Days of the history window and of every store's target period, before ``as_of``."""
    wanted: set[dt.date] = set()
    for plan in plans:
        for period in plan.store_periods.values():
            if period is None:
                continue
            wanted.update(d for d in period.iter_days() if d < as_of)
            if period.start < as_of < period.end:
                wanted.update(as_of - dt.timedelta(days=i) for i in range(1, HISTORY_DAYS + 1))
    return sorted(wanted)


def _daily(
    matrix: KpiMatrix,
    definition: KpiDefinition,
    store_id: int,
    part: str | None,
    days: Sequence[dt.date],
) -> dict[dt.date, float | None]:
    """One store's daily values (or a ratio's daily numerator/denominator); None: no data."""
    grid = matrix.current[definition.id]
    g = [s.key for s in matrix.scopes].index(Scope.store(store_id).key)
    rows = grid.values if part is None else grid.parts[part]
    return {day: rows[matrix.periods.index(day.isoformat())][g] for day in days}


def _project(
    matrix: KpiMatrix,
    definition: KpiDefinition,
    plan: _Plan,
    as_of: dt.date,
    days: Sequence[dt.date],
) -> Projection | None:
    parts: tuple[str | None, ...] = (
        (None,) if definition.kind is KpiKind.ADDITIVE else ("numerator", "denominator")
    )
    totals: dict[str | None, list[Projection]] = {part: [] for part in parts}
    for store in plan.stores:
        period = plan.store_periods.get(store.id)
        if period is None:
            continue
        for part in parts:
            series = _daily(matrix, definition, store.id, part, days)
            history = {
                d: v
                for d, v in series.items()
                if v is not None
                and as_of - dt.timedelta(days=HISTORY_DAYS) <= d < as_of
                and (store.launch_date is None or d >= store.launch_date)
            }
            actuals = {d: v or 0.0 for d, v in series.items() if period.contains(d)}
            totals[part].append(
                project_additive(period.iter_days(), actuals, as_of, weekday_profile(history))
            )
    combined = {part: _sum(projections) for part, projections in totals.items()}
    if any(c is None for c in combined.values()):
        return None
    if definition.kind is KpiKind.ADDITIVE:
        return combined[None]
    numerator, denominator = combined["numerator"], combined["denominator"]
    assert numerator is not None and denominator is not None
    return project_ratio(numerator, denominator)


def _sum(projections: list[Projection]) -> Projection | None:
    if not projections:
        return None
    methods = {p.method for p in projections}
    values = [p.value for p in projections]
    return Projection(
        None if any(v is None for v in values) else math.fsum(v for v in values if v is not None),
        methods.pop() if len(methods) == 1 else PaceMethod.MIXED,
        max(p.elapsed_days for p in projections),
        max(p.remaining_days for p in projections),
    )


def _result(
    plan: _Plan,
    actual: float | None,
    unit: str,
    projection: Projection | None,
    as_of: dt.date,
    bands: StatusBands,
    notes: list[str],
) -> TargetResult:
    target = plan.target
    known = [p for p in plan.store_periods.values() if p is not None]
    period = _union(known, plan.request_period)
    factors = []
    for store in plan.stores:
        store_period = plan.store_periods.get(store.id)
        factors.append(
            1.0
            if store_period is None
            else ramp_factor(target.ramp, store_period, store.launch_date)
        )
    factor = math.fsum(factors) / len(factors) if factors else 1.0
    effective = _effective_target(target.value, factor, target.comparator)
    if target.ramp is not None and factor < 1:
        notes.append(f"冷启动爬坡系数 / cold-start ramp factor {factor:.3f}")
    started = any(p.start < as_of for p in known)
    if known and not started:
        notes.append("期间尚未开始 / the period has not started")
        actual, projection = None, None
    if effective is None:
        notes.append("爬坡系数为 0：暂无上限 / ramp factor 0: no cap yet")
        defined = actual is not None
        return TargetResult(
            target=target,
            period=period,
            ramp_factor=factor,
            effective_target=None,
            actual=actual,
            unit=unit,
            achievement=None,
            gap=0.0 if defined else None,
            met=True if defined else None,
            status=Status.GOOD if defined else Status.UNKNOWN,
            projection=projection,
            projected_status=None
            if projection is None or projection.value is None
            else Status.GOOD,
            notes=tuple(notes),
        )
    projected_value = projection.value if projection is not None else None
    return TargetResult(
        target=target,
        period=period,
        ramp_factor=factor,
        effective_target=effective,
        actual=actual,
        unit=unit,
        achievement=achievement(actual, effective, target.comparator),
        gap=gap(actual, effective, target.comparator),
        met=None if actual is None else target.comparator.holds(actual, effective),
        status=status(actual, effective, target.comparator, bands),
        projection=projection,
        projected_status=None
        if projected_value is None
        else status(projected_value, effective, target.comparator, bands),
        notes=tuple(notes),
    )


def _effective_target(value: float, factor: float, comparator: Comparator) -> float | None:
    """Scale a target by the ramp so that a young store is held to less.

    Higher-is-better (and ``==``) targets are multiplied by the factor (ROAS ≥ 2.5 at 40 %
    is ROAS ≥ 1.0); lower-is-better caps are divided by it (ACoS ≤ 30 % at 50 % is ACoS ≤
    60 %), since multiplying a cap would make it stricter. A cap at factor 0 is no cap (None).
    """
    if comparator.lower_is_better:
        return None if factor == 0 else value / factor
    return value * factor


def _union(periods: list[Period], fallback: Period | None) -> Period | None:
    if not periods:
        return fallback if fallback is not None and fallback.kind is not PeriodKind.LAUNCH else None
    if len(periods) == 1 or all(p == periods[0] for p in periods):
        return periods[0]
    first = min(p.start for p in periods)
    end = max(p.end for p in periods)
    base = periods[0]
    return Period(base.kind, first, end, base.label, base.launch_days)
