"""``lianxing contract evaluate``: KPI windows from the warehouse, then the pure statement.

Each KPI window is computed by the KPI engine with the catalog locked at signing, over the
contract's stores together, on facts filtered by the clause's data policy: rows typed in by
hand (``source = 'manual'``) and rows of flagged import batches are left out unless the
contract says they count, and milestone KPIs leave out the orders (with their lines,
refunds and returns) that the integrity review *confirmed* as fake unless the milestone
says ``accept_confirmed_flagged_orders: true``; ``percent_of_kpi`` fees, exit clauses and
remediation plans always leave them out (the agency is not paid a share of brushing, and
brushing does not keep the seller's exit shut). The evidence of every clause (and of every
remediation plan) lists, for the windows it shows, how many fact rows of each source were
counted and how many were left out, and which confirmed fake orders were left out with the
value the KPI would have had with them.

Fees are converted to the settlement currency with the warehouse's ``fx_rates`` (see
:class:`lianxing.domain.contract_evaluation.SettlementRates`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

import ibis
import ibis.expr.types as ir

from lianxing.contracts.rates import settlement_currency, settlement_rates
from lianxing.contracts.service import (
    ContractError,
    get_contract_row,
    locked_catalog,
    stored_contract,
)
from lianxing.db.models import Store
from lianxing.domain.contract_evaluation import (
    ConfirmedOrder,
    SeriesRequest,
    SettlementRateMissing,
    Statement,
    Window,
    WindowValue,
    evaluate,
    plan,
)
from lianxing.domain.contracts import Contract
from lianxing.domain.kpi import Scope
from lianxing.domain.periods import local_midnight_utc, range_period
from lianxing.integrity import confirmed_flags_by_order
from lianxing.metrics.compiler import StoreInfo
from lianxing.metrics.engine import FxRateMissing, KpiEngine, KpiRequestError
from lianxing.metrics.loader import Catalog
from lianxing.workspace import Workspace

# The fact tables (and the column that places a row in time) each measure reads; used to
# show which data a KPI value came from. Measures are the closed vocabulary of domain.kpi.
MEASURE_FACTS: dict[str, tuple[tuple[str, str], ...]] = {
    "item_sales": (("orders", "purchase_ts"), ("refunds", "refund_ts")),
    "order_count": (("orders", "purchase_ts"),),
    "pending_order_count": (("orders", "purchase_ts"),),
    "all_order_count": (("orders", "purchase_ts"),),
    "cancelled_order_count": (("orders", "purchase_ts"),),
    "unit_count": (("orders", "purchase_ts"),),
    "refund_amount": (("refunds", "refund_ts"),),
    "returned_units": (("returns", "return_ts"),),
    "due_order_count": (("orders", "promised_ship_by_ts"),),
    "on_time_due_order_count": (("orders", "promised_ship_by_ts"),),
    "shipped_order_count": (("orders", "shipped_ts"),),
    "late_shipped_order_count": (("orders", "shipped_ts"),),
    "ad_cost": (("ad_daily", "date"),),
    "ad_attributed_sales": (("ad_daily", "date"),),
    "session_count": (("traffic_daily", "date"),),
    "fee_amount": (("fees", "posted_ts"),),
    "cogs_amount": (("orders", "purchase_ts"),),
    "sold_sku_count": (("orders", "purchase_ts"),),
    "active_sku_count": (("listings", "snapshot_date"),),
    "live_sku_count": (("listings", "snapshot_date"),),
    "ahr_score": (("account_health", "snapshot_date"),),
    "first_response_hours_median": (("cs_tickets", "opened_ts"),),
}
_DATE_COLUMNS = {"date", "snapshot_date"}
MANUAL_SOURCE = "manual"
# Fact tables whose rows belong to an order (and leave with it when the order is fake).
ORDER_TABLES = frozenset({"orders", "order_lines", "refunds", "returns"})
# Per store, the confirmed fake orders and the confirmed flags naming each.
ConfirmedOrders = Mapping[int, Mapping[str, tuple[int, ...]]]


def evaluate_contract(
    ws: Workspace,
    contract_id: int,
    as_of: dt.date,
    *,
    flagged_batches: Collection[str] = (),
) -> Statement:
    """The statement of a signed contract as of ``as_of`` (the last complete day counted).

    ``flagged_batches`` are import batches another check (integrity) distrusts; their rows
    count only where the contract accepts flagged data.
    """
    with ws.session() as session:
        row = get_contract_row(session, contract_id)
        contract = stored_contract(row)
        definitions = dict(row.definitions)
        stores = [session.get(Store, sid) for sid in row.store_ids]
        infos = [
            StoreInfo(s.id, s.timezone, s.currency, s.launch_date, s.name)
            for s in stores
            if s is not None
        ]
    catalog = locked_catalog(definitions)
    launch = _launch_date(contract, infos)
    hashes = {clause: locked["hash"] for clause, locked in definitions["clauses"].items()}
    currency = settlement_currency(contract, catalog)
    rates = settlement_rates(ws, contract, currency, as_of)
    requests = plan(contract, launch, as_of)
    confirmed = _confirmed_orders(ws, infos, requests)
    calculator = _WindowCalculator(
        ws, contract, catalog, infos, frozenset(flagged_batches), confirmed
    )
    values = {r.key: calculator.values(r) for r in requests}

    def statement() -> Statement:
        try:
            return evaluate(
                contract, launch=launch, as_of=as_of, values=values, definitions=hashes, rates=rates
            )
        except SettlementRateMissing as exc:
            raise ContractError(str(exc)) from exc

    first = statement()
    # Show which data the evidence came from (only for the windows the statement shows).
    shown: dict[str, set[Window]] = {}
    for clause in first.clauses:
        shown.setdefault(f"{clause.kind}:{clause.id}", set()).update(
            w.window for w in clause.evidence
        )
    for remediation in first.remediation or ():
        # A lapsed plan's windows are also the evidence of the exit clauses it opens.
        shown.setdefault(f"remediation:{remediation.clause}", set()).update(
            w.window for w in (remediation.missed, *remediation.checked)
        )
    for request in requests:
        wanted = shown.get(request.key, set())
        if request.key.startswith("fee:"):
            wanted = {w.window for w in values[request.key]}
        values[request.key] = calculator.with_confirmed_values(
            request,
            [
                calculator.with_sources(request, v) if v.window in wanted else v
                for v in values[request.key]
            ],
        )
    return statement()


def _confirmed_orders(
    ws: Workspace, stores: Sequence[StoreInfo], requests: Sequence[SeriesRequest]
) -> ConfirmedOrders:
    """Per store, the confirmed fake orders inside the windows of requests that refuse them."""
    windows = [w for r in requests if not r.accept_confirmed_orders for w in r.windows]
    if not windows:
        return {}
    start = min(w.start for w in windows)
    end = max(w.end for w in windows)
    with ws.session() as session:
        found = {
            s.store_id: confirmed_flags_by_order(session, s.store_id, start, end) for s in stores
        }
    return {store: orders for store, orders in found.items() if orders}


def _launch_date(contract: Contract, stores: Sequence[StoreInfo]) -> dt.date | None:
    """The stores' own launch date (the earliest of them) wins over the planned one."""
    dates = [s.launch_date for s in stores if s.launch_date is not None]
    return min(dates) if dates else contract.term.launch_date


class _WindowCalculator:
    def __init__(
        self,
        ws: Workspace,
        contract: Contract,
        catalog: Catalog,
        stores: Sequence[StoreInfo],
        flagged: frozenset[str],
        confirmed_orders: ConfirmedOrders,
    ) -> None:
        self.ws, self.contract, self.catalog = ws, contract, catalog
        self.stores = list(stores)
        self.flagged = flagged
        self.confirmed_orders = confirmed_orders
        ids = tuple(s.store_id for s in stores)
        self.scope = (
            Scope.store(ids[0]) if len(ids) == 1 else Scope(f"contract:{contract.number}", ids, "")
        )

    def _keep(self, table: ir.Table, request: SeriesRequest, name: str) -> ir.BooleanValue:
        keep = ibis.literal(True)
        if not request.accept_manual:
            keep = keep & (table.source != MANUAL_SOURCE)
        if self.flagged and not request.accept_flagged:
            keep = keep & ~table.batch_id.isin(sorted(self.flagged))
        if name in ORDER_TABLES and not request.accept_confirmed_orders:
            for store_id, order_ids in sorted(self.confirmed_orders.items()):
                keep = keep & ~(
                    (table.store_id == store_id) & table.order_id.isin(sorted(order_ids))
                )
        return keep

    def _table_source(self, request: SeriesRequest) -> Callable[[str], ir.Table]:
        def table(name: str) -> ir.Table:
            facts = self.ws.warehouse.table(name)
            if name == "fx_rates":
                return facts
            return facts.filter(self._keep(facts, request, name))

        return table

    def values(self, request: SeriesRequest) -> list[WindowValue]:
        if not request.windows or not self.stores:
            return []
        clause = self.contract.clause(request.clause)
        options: dict[str, Any] = dict(clause.options)
        if request.currency is not None:
            options["currency"] = request.currency
        periods = [range_period(w.start, w.last_day) for w in request.windows]
        engine = KpiEngine(
            self.ws.warehouse.ibis, self._table_source(request), self.catalog, self.stores
        )
        try:
            matrix = engine.compute(
                periods=periods,
                scopes=[self.scope],
                kpis=[clause.kpi],
                options=options,
                compare=False,
            )
        except (FxRateMissing, KpiRequestError) as exc:
            raise ContractError(f"KPI clause {clause.id!r}: {exc}") from exc
        found = []
        for window, period in zip(request.windows, periods, strict=True):
            cell = matrix.cell(clause.kpi, period.label, self.scope.key).value
            found.append(WindowValue(window, cell.value, cell.reason))
        return found

    def with_sources(self, request: SeriesRequest, value: WindowValue) -> WindowValue:
        """``value`` with the fact rows behind it counted by source, kept and left out."""
        clause = self.contract.clause(request.clause)
        counted: dict[str, int] = {}
        excluded: dict[str, int] = {}
        tables: dict[str, str] = {}
        for measure in sorted(self.catalog.measures_of(clause.kpi)):
            for table, column in MEASURE_FACTS.get(measure, ()):
                tables.setdefault(table, column)
        fakes: set[tuple[int, str]] = set()
        for table_name, column in sorted(tables.items()):
            for store in self.stores:
                facts = self.ws.warehouse.table(table_name)
                facts = facts.filter(
                    (facts.store_id == store.store_id)
                    & _in_window(facts, column, value.window, store)
                )
                fakes.update(self._confirmed_in(facts, request, table_name, store.store_id))
                grouped = (
                    facts.group_by("source")
                    .aggregate(
                        kept=self._keep(facts, request, table_name).ifelse(1, 0).sum(),
                        rows=facts.count(),
                    )
                    .order_by("source")
                )
                result = self.ws.warehouse.ibis.to_pyarrow(grouped).to_pylist()
                for entry in result:
                    source = f"{table_name}:{entry['source']}"
                    kept, rows = int(entry["kept"] or 0), int(entry["rows"])
                    if kept:
                        counted[source] = counted.get(source, 0) + kept
                    if rows - kept:
                        excluded[source] = excluded.get(source, 0) + rows - kept
        confirmed = tuple(
            ConfirmedOrder(store_id, order_id, self.confirmed_orders[store_id][order_id])
            for store_id, order_id in sorted(fakes)
        )
        return dataclasses.replace(
            value, sources=counted, excluded=excluded, confirmed_orders=confirmed
        )

    def _confirmed_in(
        self, facts: ir.Table, request: SeriesRequest, table_name: str, store_id: int
    ) -> set[tuple[int, str]]:
        """The confirmed fake orders of ``store_id`` among ``facts`` that ``request`` refuses."""
        orders = self.confirmed_orders.get(store_id, {})
        if request.accept_confirmed_orders or table_name not in ORDER_TABLES or not orders:
            return set()
        found = facts.filter(facts.order_id.isin(sorted(orders))).select("order_id").distinct()
        rows = self.ws.warehouse.ibis.to_pyarrow(found).to_pylist()
        return {(store_id, str(row["order_id"])) for row in rows}

    def with_confirmed_values(
        self, request: SeriesRequest, series: Sequence[WindowValue]
    ) -> list[WindowValue]:
        """``series`` with, where confirmed fake orders were left out of a window, the value
        the KPI would have had with them (the same computation, accepting them)."""
        affected = [v.window for v in series if v.confirmed_orders]
        if not affected:
            return list(series)
        counting = dataclasses.replace(
            request, windows=tuple(affected), accept_confirmed_orders=True
        )
        with_them = {v.window: v.value for v in self.values(counting)}
        return [
            dataclasses.replace(v, value_with_confirmed=with_them[v.window])
            if v.window in with_them
            else v
            for v in series
        ]


def _in_window(facts: ir.Table, column: str, window: Window, store: StoreInfo) -> ir.BooleanValue:
    if column in _DATE_COLUMNS:
        return (facts[column] >= window.start) & (facts[column] < window.end)
    start = local_midnight_utc(window.start, store.timezone)
    end = local_midnight_utc(window.end, store.timezone)
    return (facts[column] >= start) & (facts[column] < end)
