"""Computing a review report: gather every section once into a :class:`ReviewReport`.

Each section comes from the service that owns it: KPIs from the KPI engine (the same
computation as ``lianxing kpi``), targets with ramps and pace from ``metrics.targets``,
launch progress from ``launch.plans``, milestones and settlement from
``contracts.evaluation``, service tickets and SLA breaches from the contracts tables,
the alerts that fired from ``alerts.service.alerts_fired``,
integrity flags from ``integrity.service`` (read only: the report never runs detectors),
and the data sources from the fact rows' ``source``/``batch_id`` joined to the import
batches. Nothing here renders.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from lianxing.alerts.service import alerts_fired
from lianxing.contracts.evaluation import evaluate_contract
from lianxing.contracts.service import ContractError, list_contracts
from lianxing.db.models import ImportBatch, Store
from lianxing.db.models_contracts import ServiceTicket, SlaBreach
from lianxing.domain.contract_evaluation import Conversion, RateRule
from lianxing.domain.facts import FACT_TABLES
from lianxing.domain.kpi import KpiMatrix, KpiValue, Scope
from lianxing.domain.launch import STAGE_NAMES, LaunchError, Stage
from lianxing.domain.periods import Period, PeriodError, PeriodKind, parse_period, utc_bounds
from lianxing.domain.time import utcnow
from lianxing.integrity.service import IntegrityError, report_flags, store_scope
from lianxing.launch.plans import plan_status
from lianxing.metrics.compiler import StoreInfo
from lianxing.metrics.engine import FxRateMissing, KpiEngine, KpiRequestError
from lianxing.metrics.targets import TargetResult, evaluate_targets, kpi_catalog
from lianxing.reports.model import (
    AlertLine,
    Bilingual,
    Breach,
    ClauseLine,
    ContractStatus,
    FakeOrdersLeftOut,
    FlagLine,
    IntegrityStatus,
    KpiLine,
    LaunchProgress,
    LaunchStage,
    ReviewReport,
    SettledAmount,
    SettlementLine,
    SettlementTotals,
    SourceLine,
    StoreLine,
    TargetLine,
    TicketSla,
    Trend,
)
from lianxing.warehouse import Warehouse
from lianxing.workspace import Workspace

REPORT_PERIOD_KINDS = (PeriodKind.WEEK, PeriodKind.MONTH, PeriodKind.QUARTER)
# The catalog's order in DESIGN.md: sales first, then operations, ads, traffic, profit.
KPI_ORDER = (
    "gmv",
    "gmv_net",
    "orders",
    "units",
    "aov",
    "cancel_rate",
    "fulfillment_rate",
    "late_shipment_rate",
    "refund_rate",
    "return_rate",
    "ad_spend",
    "ad_sales",
    "roas",
    "acos",
    "tacos",
    "sessions",
    "conversion_rate",
    "live_skus",
    "sell_through_rate",
    "contribution_profit",
    "profit_margin",
    "account_health_score",
    "cs_first_response_hours",
)
TREND_KPIS = ("gmv", "orders", "aov", "roas", "conversion_rate", "refund_rate")
TREND_LENGTH = {PeriodKind.WEEK: 8, PeriodKind.MONTH: 6, PeriodKind.QUARTER: 4}


class ReportInputError(ValueError):
    """A report request that cannot be carried out; the message names the option."""


@dataclass(frozen=True, slots=True)
class ReportRequest:
    """Which stores: one (``store``), a list (``stores``) or a platform's (``platform``)."""

    period: str
    store: int | None = None
    stores: tuple[int, ...] = ()
    platform: str | None = None

    @property
    def scope_key(self) -> str:
        if self.store is not None:
            return f"store:{self.store}"
        if self.platform is not None:
            return f"platform:{self.platform}"
        return "stores:" + ",".join(str(s) for s in self.stores)

    @staticmethod
    def from_scope_key(scope_key: str, period: str) -> ReportRequest:
        kind, _, ref = scope_key.partition(":")
        if kind == "store":
            return ReportRequest(period, store=int(ref))
        if kind == "platform":
            return ReportRequest(period, platform=ref)
        return ReportRequest(period, stores=tuple(int(s) for s in ref.split(",")))


def parse_report_period(text: str, today: dt.date) -> Period:
    try:
        period = parse_period(text, as_of=today)
    except PeriodError as exc:
        raise ReportInputError(f"--period: {exc}") from None
    if period.kind not in REPORT_PERIOD_KINDS:
        raise ReportInputError(
            f"--period: {text!r} is a {period.kind.value}; a review covers a week "
            "(2026-W43), a month (2026-10) or a quarter (2026-Q4)"
        )
    return period


def resolve_stores(session: Session, request: ReportRequest) -> tuple[list[Store], str]:
    """The stores of the request and a label for people; ReportInputError if none."""
    given = sum(
        x for x in (request.store is not None, bool(request.stores), bool(request.platform))
    )
    if given != 1:
        raise ReportInputError(
            "scope: give exactly one of --store ID, --stores 1,2 or --platform ID"
        )
    if request.store is not None:
        store = session.get(Store, request.store)
        if store is None:
            raise ReportInputError(f"--store: no store with id {request.store}")
        return [store], store.name
    if request.platform is not None:
        rows = list(
            session.scalars(
                select(Store).where(Store.platform == request.platform).order_by(Store.id)
            )
        )
        if not rows:
            raise ReportInputError(f"--platform: no store on platform {request.platform!r}")
        return rows, f"{request.platform} ({len(rows)})"
    rows = []
    for store_id in request.stores:
        store = session.get(Store, store_id)
        if store is None:
            raise ReportInputError(f"--stores: no store with id {store_id}")
        rows.append(store)
    return rows, " + ".join(s.name for s in rows)


def report_as_of(period: Period, today: dt.date) -> dt.date:
    """Data counts up to the day before ``as_of``: the period's end, or today if sooner."""
    return min(period.end, today)


def compute_report(
    ws: Workspace,
    request: ReportRequest,
    *,
    today: dt.date | None = None,
    commentary: str | None = None,
) -> ReviewReport:
    today = today or utcnow().date()
    period = parse_report_period(request.period, today)
    as_of = report_as_of(period, today)
    with ws.session() as session:
        stores, label = resolve_stores(session, request)
        store_lines = tuple(
            StoreLine(s.id, s.name, s.platform, s.site, s.currency, s.timezone, s.launch_date)
            for s in stores
        )
        store_ids = [s.id for s in stores]
        single = len(stores) == 1 and request.store is not None
        scope = (
            Scope.store(stores[0].id, stores[0].name)
            if single
            else Scope(f"portfolio:{request.scope_key}", tuple(store_ids), label)
        )
        launch = _launch(session, ws.warehouse, stores, as_of)
        integrity = _integrity(session, ws.warehouse, stores, period)
        tickets = _tickets(session, stores, period)
        alerts = _alerts(session, stores, period)
        contract_ids = [c.id for c in list_contracts(session) if set(c.store_ids) & set(store_ids)]
        sources = _sources(session, ws.warehouse, stores, period)
    notes: list[Bilingual] = []
    matrix, trend_periods = _matrix(ws, stores, scope, period)
    targets = _targets(ws, request, stores, period, as_of, notes)
    kpis, extra = _kpi_lines(matrix, period, scope, targets)
    for cell_note in {
        n for k in matrix.definitions for n in matrix.cell(k, period.label, scope.key).notes
    }:
        zh, _, en = cell_note.partition(" / ")
        notes.append(Bilingual(zh, en or zh))
    # A contract counts whole days: the last one is the day before as_of (as for the KPIs).
    contracts = tuple(_contract(ws, cid, as_of - dt.timedelta(days=1)) for cid in contract_ids)
    resolved = matrix.resolved.get((period.label, scope.key))
    return ReviewReport(
        scope_key=request.scope_key,
        scope_label=label,
        stores=store_lines,
        period=period.label,
        period_kind=period.kind.value,
        start=period.start,
        end=period.end,
        timezone=resolved.timezone if resolved else stores[0].timezone,
        currency=matrix.currency,
        previous_period=_safe_label(period, "previous"),
        last_year_period=_safe_label(period, "last_year"),
        as_of=as_of,
        generated_at=utcnow(),
        kpis=tuple(kpis),
        trends=_trends(matrix, scope, trend_periods),
        launch=launch,
        contracts=contracts,
        tickets=tickets,
        integrity=integrity,
        sources=sources,
        extra_targets=tuple(extra),
        alerts=alerts,
        notes=tuple(notes),
        commentary=commentary,
    )


def _safe_label(period: Period, which: str) -> str | None:
    try:
        return (period.previous() if which == "previous" else period.last_year()).label
    except PeriodError:
        return None


# -- KPIs, trends, targets -------------------------------------------------------------


def _matrix(
    ws: Workspace, stores: Sequence[Store], scope: Scope, period: Period
) -> tuple[KpiMatrix, list[Period]]:
    trend = [period]
    for _ in range(TREND_LENGTH[period.kind] - 1):
        trend.insert(0, trend[0].previous())
    engine = KpiEngine(
        ws.warehouse.ibis,
        ws.warehouse.table,
        kpi_catalog(ws),
        [StoreInfo(s.id, s.timezone, s.currency, s.launch_date, s.name) for s in stores],
    )
    try:
        matrix = engine.compute(periods=[period, *trend[:-1]], scopes=[scope], compare=True)
    except (FxRateMissing, KpiRequestError) as exc:
        raise ReportInputError(f"KPIs cannot be computed: {exc}") from exc
    return matrix, trend


def _change(current: KpiValue, base: KpiValue | None) -> float | None:
    if base is None or base.value is None or current.value is None or base.value == 0:
        return None
    return (current.value - base.value) / abs(base.value)


def _kpi_lines(
    matrix: KpiMatrix, period: Period, scope: Scope, targets: Sequence[TargetResult]
) -> tuple[list[KpiLine], list[TargetLine]]:
    by_kpi: dict[str, TargetLine] = {}
    extra: list[TargetLine] = []
    for result in targets:
        line = _target_line(result)
        options = dict(result.target.kpi_options)
        plain = not options and result.target.currency in (None, matrix.currency)
        if plain and line.kpi_id in matrix.definitions and line.kpi_id not in by_kpi:
            by_kpi[line.kpi_id] = line
        else:
            extra.append(line)
    lines = []
    rank = {kpi_id: i for i, kpi_id in enumerate(KPI_ORDER)}
    ordered = sorted(matrix.iter_kpis(), key=lambda d: (rank.get(d.id, len(rank)), d.id))
    for definition in ordered:
        cell = matrix.cell(definition.id, period.label, scope.key)
        lines.append(
            KpiLine(
                kpi_id=definition.id,
                name=Bilingual(definition.name.zh, definition.name.en),
                unit=matrix.unit_label(definition),
                unit_kind=definition.unit.value,
                direction=definition.direction.value,
                definition=definition.content_hash,
                value=cell.value.value,
                reason=cell.value.reason,
                previous=cell.previous.value if cell.previous else None,
                previous_change=_change(cell.value, cell.previous),
                last_year=cell.last_year.value if cell.last_year else None,
                last_year_change=_change(cell.value, cell.last_year),
                target=by_kpi.get(definition.id),
            )
        )
    return lines, extra


def _target_line(result: TargetResult) -> TargetLine:
    target = result.target
    return TargetLine(
        target_id=target.id,
        kpi_id=target.kpi_id,
        comparator=target.comparator.value,
        value=target.value,
        effective=result.effective_target,
        ramp_factor=result.ramp_factor,
        ramp=target.ramp.spec() if target.ramp else None,
        actual=result.actual,
        achievement=result.achievement,
        status=result.status.value,
        pace=result.projection.value if result.projection else None,
        pace_method=result.projection.method.value if result.projection else None,
        projected_status=result.projected_status.value if result.projected_status else None,
        options={
            **target.kpi_options,
            **({"currency": target.currency} if target.currency else {}),
        },
        notes=result.notes,
    )


def _targets(
    ws: Workspace,
    request: ReportRequest,
    stores: Sequence[Store],
    period: Period,
    as_of: dt.date,
    notes: list[Bilingual],
) -> list[TargetResult]:
    """Targets of exactly this scope whose period is the report's period."""
    wanted: tuple[str, str] | None
    if request.store is not None:
        wanted = ("store", str(request.store))
    elif request.platform is not None:
        wanted = ("platform", request.platform)
    else:
        orgs = {s.org_id for s in stores}
        with ws.session() as session:
            org_stores = (
                set(session.scalars(select(Store.id).where(Store.org_id == orgs.pop())))
                if len(orgs) == 1
                else set()
            )
        wanted = ("seller", str(stores[0].org_id)) if org_stores == {s.id for s in stores} else None
    if wanted is None:
        notes.append(
            Bilingual(
                "所选店铺组合没有共同目标；目标按店铺、平台或卖家设定",
                "no target covers exactly these stores; "
                "targets are set per store, platform or seller",
            )
        )
        return []
    results = evaluate_targets(ws, as_of, store_id=request.store)
    return [
        r
        for r in results
        if (r.target.scope_kind, r.target.scope_ref) == wanted
        and r.period is not None
        and (r.period.start, r.period.end) == (period.start, period.end)
    ]


def _trends(matrix: KpiMatrix, scope: Scope, periods: Sequence[Period]) -> tuple[Trend, ...]:
    trends = []
    for kpi_id in TREND_KPIS:
        definition = matrix.definitions.get(kpi_id)
        if definition is None:
            continue
        trends.append(
            Trend(
                kpi_id=kpi_id,
                name=Bilingual(definition.name.zh, definition.name.en),
                unit=matrix.unit_label(definition),
                unit_kind=definition.unit.value,
                labels=tuple(p.label for p in periods),
                values=tuple(matrix.value(kpi_id, p.label, scope.key) for p in periods),
            )
        )
    return tuple(trends)


# -- launch, contracts, tickets, integrity ---------------------------------------------


def _launch(
    session: Session, warehouse: Warehouse, stores: Sequence[Store], as_of: dt.date
) -> tuple[LaunchProgress, ...]:
    progress = []
    for store in stores:
        try:
            status = plan_status(session, store_id=store.id, warehouse=warehouse, today=as_of)
        except LaunchError:
            continue  # no launch plan: nothing to report for this store
        current = status["current_stage"]
        overdue = [
            Bilingual(item["title"]["zh"], item["title"]["en"])
            for stage in status["stages"]
            for item in stage["items"]
            if item["overdue"]
        ]
        progress.append(
            LaunchProgress(
                store_id=store.id,
                store_name=store.name,
                launch_date=store.launch_date,
                current_stage=Bilingual(*STAGE_NAMES[Stage(current)]) if current else None,
                complete=bool(status["complete"]),
                stages=tuple(
                    LaunchStage(
                        Bilingual(s["name"]["zh"], s["name"]["en"]),
                        int(s["done"]),
                        int(s["total"]),
                        bool(s["complete"]),
                    )
                    for s in status["stages"]
                ),
                blocked_by=tuple(status["next_stage_blocked_by"]),
                overdue=tuple(overdue),
                expiring_documents=len(status["expiring_documents"]),
            )
        )
    return tuple(progress)


def _contract(ws: Workspace, contract_id: int, as_of: dt.date) -> ContractStatus:
    """The contract's clauses and statement as of ``as_of``, the last complete day counted."""
    with ws.session() as session:
        view = next(c for c in list_contracts(session) if c.id == contract_id)
    try:
        statement = evaluate_contract(ws, contract_id, as_of)
    except (ContractError, FxRateMissing, KpiRequestError) as exc:
        return ContractStatus(
            view.number, view.title, view.agency, (), (), problem=str(exc), as_of=as_of
        )
    totals = statement.converted_totals()
    fees = tuple(
        SettlementLine(
            line.fee,
            line.name,
            line.type,
            line.status.value,
            None if line.amount is None else float(line.amount),
            line.currency,
            line.due_date,
            _settled(line.converted),
            None
            if line.fake_orders is None
            else FakeOrdersLeftOut(
                float(line.fake_orders.amount_left_out), Bilingual(*line.fake_orders.reason())
            ),
        )
        for line in statement.lines
    )
    refunds = tuple(
        SettlementLine(
            refund.exit,
            f"退款 / refund ({refund.exit})",
            "refund",
            "refund_owed",
            float(refund.amount),
            refund.currency,
            refund.owed_from,
            _settled(refund.converted),
        )
        for refund in statement.refunds
    )
    return ContractStatus(
        number=view.number,
        title=view.title,
        agency=view.agency,
        clauses=tuple(
            ClauseLine(
                c.kind,
                c.id,
                c.kpi,
                c.outcome.value,
                c.met_on,
                Bilingual(c.explanation_zh, c.explanation_en),
                None if c.fake_orders is None else Bilingual(*c.fake_orders.reason()),
            )
            for c in statement.clauses
        ),
        settlement=fees + refunds,
        settlement_total=SettlementTotals(
            statement.settlement_currency,
            float(totals["due"]),
            float(totals["not_yet_due"]),
            float(totals["pending_milestone"]),
            float(totals["refunds_owed"]),
        ),
        as_of=as_of,
    )


def _settled(conversion: Conversion | None) -> SettledAmount | None:
    if conversion is None:
        return None
    return SettledAmount(
        float(conversion.amount),
        conversion.currency,
        float(conversion.rate),
        conversion.rate_date,
        conversion.rule is RateRule.AS_OF_ESTIMATE,
    )


def _period_utc(stores: Sequence[Store], period: Period) -> tuple[dt.datetime, dt.datetime]:
    """The period in naive UTC: in the stores' timezone if they share one, else in UTC."""
    zones = {s.timezone for s in stores}
    bounds = utc_bounds(period, zones.pop() if len(zones) == 1 else "UTC")
    return bounds.start, bounds.end


def _tickets(session: Session, stores: Sequence[Store], period: Period) -> TicketSla | None:
    store_ids = [s.id for s in stores]
    contract_ids = [c.id for c in list_contracts(session) if set(c.store_ids) & set(store_ids)]
    if not contract_ids:
        return None
    start, end = _period_utc(stores, period)
    tickets = list(
        session.scalars(
            select(ServiceTicket).where(
                ServiceTicket.contract_id.in_(contract_ids),
                or_(ServiceTicket.store_id.is_(None), ServiceTicket.store_id.in_(store_ids)),
                ServiceTicket.opened_at < end,
            )
        )
    )
    by_id = {t.id: t for t in tickets}
    responded = [
        t for t in tickets if t.first_response_at is not None and start <= t.first_response_at < end
    ]
    breaches = [
        b
        for b in session.scalars(
            select(SlaBreach)
            .where(
                SlaBreach.ticket_id.in_(list(by_id)),
                SlaBreach.due_at >= start,
                SlaBreach.due_at < end,
            )
            .order_by(SlaBreach.due_at)
        )
    ]
    return TicketSla(
        opened=sum(1 for t in tickets if t.opened_at >= start),
        resolved=sum(
            1 for t in tickets if t.resolved_at is not None and start <= t.resolved_at < end
        ),
        open_at_end=sum(1 for t in tickets if t.resolved_at is None or t.resolved_at >= end),
        responded=len(responded),
        responded_in_time=len(
            [
                t
                for t in responded
                if t.response_due_at is None
                or (t.first_response_at is not None and t.first_response_at <= t.response_due_at)
            ]
        ),
        breaches=tuple(
            Breach(
                b.ticket_id,
                by_id[b.ticket_id].title,
                by_id[b.ticket_id].severity,
                b.kind,
                b.due_at,
                b.fulfilled_at,
            )
            for b in breaches
        ),
    )


def _alerts(session: Session, stores: Sequence[Store], period: Period) -> tuple[AlertLine, ...]:
    """The stores' alerts that fired in the period (cut like the ticket SLA section)."""
    start, end = _period_utc(stores, period)
    return tuple(
        AlertLine(
            alert_id=a.alert_id,
            rule=a.rule_name,
            kind=a.kind,
            severity=a.severity,
            store_id=a.store_id,
            summary=Bilingual(a.summary_zh, a.summary_en),
            value=a.value,
            fired_at=a.fired_at,
            resolved_at=a.resolved_at,
            acked_at=a.acked_at,
            acked_by=a.acked_by,
            delivery_status=a.delivery_status,
        )
        for a in alerts_fired(session, store_ids=[s.id for s in stores], start=start, end=end)
    )


def _integrity(
    session: Session, warehouse: Warehouse, stores: Sequence[Store], period: Period
) -> tuple[IntegrityStatus, ...]:
    found = []
    for store in stores:
        try:
            report = report_flags(session, warehouse, store_scope(store, period), period)
        except IntegrityError:
            continue
        found.append(
            IntegrityStatus(
                store_id=store.id,
                store_name=store.name,
                currency=report.currency,
                gmv=report.gmv,
                flagged_share=report.flagged_share,
                confirmed_share=report.confirmed_share,
                flags=tuple(
                    FlagLine(
                        f.rule_name,
                        f.subject,
                        f.score,
                        f.status,
                        len(f.order_ids),
                        f.gmv_share,
                        Bilingual(f.explanation_zh, f.explanation_en),
                    )
                    for f in report.flags
                ),
            )
        )
    return tuple(found)


# -- data sources ----------------------------------------------------------------------

# How each fact table's rows are placed in time; order_lines follow their orders.
_TIME_COLUMNS: dict[str, tuple[str, bool]] = {  # column, is a timestamp (else a local date)
    "orders": ("purchase_ts", True),
    "refunds": ("refund_ts", True),
    "returns": ("return_ts", True),
    "ad_daily": ("date", False),
    "traffic_daily": ("date", False),
    "listings": ("snapshot_date", False),
    "account_health": ("snapshot_date", False),
    "fees": ("posted_ts", True),
    "cs_tickets": ("opened_ts", True),
}


def _in_period(table: ir.Table, name: str, store: Store, period: Period) -> ir.Table:
    facts = table.filter(table.store_id == store.id)
    if name == "cogs":  # a unit cost applies from valid_from on
        return facts.filter(facts.valid_from < period.end)
    column, is_timestamp = _TIME_COLUMNS[name]
    if is_timestamp:
        bounds = utc_bounds(period, store.timezone)
        lo: Any = ibis.literal(bounds.start)
        hi: Any = ibis.literal(bounds.end)
    else:
        lo, hi = ibis.literal(period.start), ibis.literal(period.end)
    return facts.filter((facts[column] >= lo) & (facts[column] < hi))


def _sources(
    session: Session, warehouse: Warehouse, stores: Sequence[Store], period: Period
) -> tuple[SourceLine, ...]:
    """Which sources and import batches wrote the facts of the period, and when."""
    counts: dict[tuple[str, str], dict[str, int]] = {}  # (source, batch) -> table -> rows
    parts: list[tuple[str, ir.Table]] = []
    for store in stores:
        for name in FACT_TABLES:
            if name in ("fx_rates", "order_lines"):
                continue
            facts = _in_period(warehouse.table(name), name, store, period)
            parts.append((name, facts))
            if name == "orders":
                lines = warehouse.table("order_lines")
                keys = facts.select("store_id", "order_id")
                parts.append(
                    (
                        "order_lines",
                        lines.semi_join(
                            keys,
                            [lines.store_id == keys.store_id, lines.order_id == keys.order_id],
                        ),
                    )
                )
    rates = warehouse.table("fx_rates")
    if any(s.currency != "USD" for s in stores):
        parts.append(
            ("fx_rates", rates.filter((rates.date >= period.start) & (rates.date < period.end)))
        )
    for name, facts in parts:
        grouped = facts.group_by(["source", "batch_id"]).aggregate(rows=facts.count())
        for row in warehouse.ibis.to_pyarrow(grouped).to_pylist():
            bucket = counts.setdefault((str(row["source"]), str(row["batch_id"])), {})
            bucket[name] = bucket.get(name, 0) + int(row["rows"])
    batch_ids = sorted({batch for _, batch in counts})
    batches = {
        b.id: b for b in session.scalars(select(ImportBatch).where(ImportBatch.id.in_(batch_ids)))
    }
    by_source: dict[str, dict[str, Any]] = {}
    for (source, batch_id), tables in sorted(counts.items()):
        entry = by_source.setdefault(
            source, {"tables": set(), "rows": 0, "batches": 0, "last": None, "files": set()}
        )
        entry["tables"].update(tables)
        entry["rows"] += sum(tables.values())
        entry["batches"] += 1
        batch = batches.get(batch_id)
        if batch is not None:
            refreshed = batch.finished_at or batch.started_at
            if entry["last"] is None or refreshed > entry["last"]:
                entry["last"] = refreshed
            if batch.file_name:
                entry["files"].add(batch.file_name)
    return tuple(
        SourceLine(
            source=source,
            tables=tuple(sorted(e["tables"])),
            rows=e["rows"],
            batches=e["batches"],
            last_refreshed=e["last"],
            files=tuple(sorted(e["files"])),
        )
        for source, e in sorted(by_source.items())
    )
