"""The KPI engine: measures from the warehouse, KPIs from measures, one matrix out.

How a matrix is computed (see docs/adr/0003-kpi-engine.md for why):

1. Every (store, period) pair is resolved to local days in the store's timezone (or UTC),
   including the previous period and the same period last year for comparisons.
2. Additive measures come from *daily cubes* (``compiler``): one query per fact source
   returns sums per store, local day and currency; order-based ones read the order cube
   (``order_cube``: one row per order with its line sums, kept in the warehouse). Money
   is converted here, per day, at that day's rate; a missing rate stops the computation
   with an error naming the currency and day. Period sums are differences of per-store
   prefix sums, so any number of (possibly overlapping) periods costs the same.
3. Distinct counts, latest snapshots and medians are computed per period in the database.
4. Stores are combined into scopes (a store, a portfolio) by adding measures; KPI formulas
   are evaluated on the summed measures, so a portfolio's ratio is the ratio of its parts.

The daily cubes are kept, so :meth:`KpiEngine.refresh` after new facts recomputes only
the days from the change on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, assert_never

import ibis
import ibis.expr.types as ir
import numpy as np
import numpy.typing as npt
import pyarrow as pa
from ibis.backends import BaseBackend

from lianxing.domain.facts import FACT_TABLES
from lianxing.domain.kpi import (
    MEASURES,
    NO_DATA,
    NOT_ACROSS_STORES,
    OPTIONS,
    ZERO_DENOMINATOR,
    BinOp,
    Formula,
    KpiGrid,
    KpiKind,
    KpiMatrix,
    Number,
    OptionValue,
    Ref,
    ResolvedPeriod,
    Scope,
    Unit,
)
from lianxing.domain.periods import Period, PeriodError
from lianxing.metrics.compiler import UTC, FactQueries, StoreInfo, TableSource, Window, bounds_table
from lianxing.metrics.daily_cube import DailyOrderCube
from lianxing.metrics.loader import Catalog
from lianxing.metrics.order_cube import OrderCube
from lianxing.warehouse.temporary import compiled as sql_of

Array = npt.NDArray[np.float64]
Codes = npt.NDArray[np.int8]

# Reason codes inside the engine; text in the matrix.
OK, MISSING, ZERO_DEN, NOT_ACROSS, NO_PERIOD = 0, 1, 2, 3, 4
REASONS = {
    MISSING: NO_DATA,
    ZERO_DEN: ZERO_DENOMINATOR,
    NOT_ACROSS: NOT_ACROSS_STORES,
    NO_PERIOD: "period not defined for this store",
}
ROLES = ("current", "previous", "last_year")
_REASON_TEXT = np.array([REASONS.get(code) for code in range(max(REASONS) + 1)], dtype=object)


class FxRateMissing(ValueError):
    """Money cannot be converted: no rate for a currency on a day."""

    def __init__(self, currency: str, day: dt.date, reporting: str) -> None:
        super().__init__(
            f"no exchange rate for {currency} on {day.isoformat()} in fx_rates "
            f"(needed to convert to {reporting}); import the rate for that day"
        )
        self.currency, self.day = currency, day


class KpiRequestError(ValueError):
    """The request names something unknown (a KPI, an option value, a store)."""


# Cube sources: which query feeds which base columns, and which fact table says whether a
# store has data at all (coverage), so that "no data" differs from a real zero.
_SOURCE_COVERAGE = {
    "order_days": ("orders", "purchase_ts"),
    "refund_rd": ("orders", "purchase_ts"),
    "refund_od": ("orders", "purchase_ts"),
    "return_rd": ("orders", "purchase_ts"),
    "return_od": ("orders", "purchase_ts"),
    "due": ("orders", "purchase_ts"),
    "shipped": ("orders", "purchase_ts"),
    "ads": ("ad_daily", "date"),
    "traffic": ("traffic_daily", "date"),
    "fees": ("fees", "posted_ts"),
    "cogs": ("cogs", "valid_from"),
}
_MEASURE_SOURCES: dict[str, tuple[str, ...]] = {
    "item_sales": ("order_days", "refund_rd", "refund_od"),
    "order_count": ("order_days",),
    "pending_order_count": ("order_days",),
    "all_order_count": ("order_days",),
    "cancelled_order_count": ("order_days",),
    "unit_count": ("order_days",),
    "refund_amount": ("refund_rd", "refund_od", "order_days"),
    "returned_units": ("return_rd", "return_od", "order_days"),
    "due_order_count": ("due", "order_days"),
    "on_time_due_order_count": ("due", "order_days"),
    "shipped_order_count": ("shipped", "order_days"),
    "late_shipped_order_count": ("shipped", "order_days"),
    "ad_cost": ("ads",),
    "ad_attributed_sales": ("ads",),
    "session_count": ("traffic",),
    "fee_amount": ("fees",),
    "cogs_amount": ("cogs", "order_days"),
}
_COVERED_COLUMN = dict(_SOURCE_COVERAGE.values())
_ORDER_TABLES = ("orders", "order_lines")
# The fact tables each cube source reads (a refresh re-reads a source only if one changed);
# money sources read ``fx_rates`` too: a changed rate changes their values.
_SOURCE_READS: dict[str, tuple[str, ...]] = {
    "order_days": (*_ORDER_TABLES, "fx_rates"),
    "refund_rd": ("refunds", "fx_rates"),
    "refund_od": ("refunds", *_ORDER_TABLES, "fx_rates"),
    "return_rd": ("returns",),
    "return_od": ("returns", *_ORDER_TABLES),
    "due": ("orders",),
    "shipped": ("orders",),
    "ads": ("ad_daily", "fx_rates"),
    "traffic": ("traffic_daily",),
    "fees": ("fees", "fx_rates"),
    "cogs": ("cogs", *_ORDER_TABLES, "fx_rates"),
}
_COVERAGE_COLUMNS = {
    "orders": (("orders", "purchase_ts"), ("refunds", "refund_ts"), ("returns", "return_ts")),
}
_MONEY_COLUMNS = {
    "item_price",
    "item_tax",
    "shipping_price",
    "shipping_tax",
    "amount",
    "ad_cost",
    "ad_sales",
    "cogs",
}


@dataclass(slots=True)
class _Instances:
    """Every (requested period, role) with each store's local day range (ordinals)."""

    labels: list[tuple[int, str]]  # (requested period index, role)
    starts: npt.NDArray[np.int64]  # shape (instances, stores); -1 where undefined
    ends: npt.NDArray[np.int64]
    periods: list[list[Period | None]]


Frame = dict[str, np.ndarray[Any, Any]]
"""A query result as columns: dates as day ordinals (int64), numbers as float64 (NaN for
NULL), text as object arrays. Plain numpy keeps pandas out of the runtime."""


@dataclass(frozen=True, slots=True)
class _Request:
    periods: list[Period]
    scopes: list[Scope]
    kpis: list[str] | None
    options: dict[str, OptionValue]
    compare: bool


@dataclass(frozen=True, slots=True)
class _Evaluation:
    """A resolved request with the evaluator holding its sums (kept for a refresh)."""

    request: _Request
    selected: list[str]
    effective: dict[str, dict[str, OptionValue]]
    position: dict[int, int]  # store id -> column
    instances: _Instances
    evaluator: _Evaluator
    resolved: dict[tuple[str, str], ResolvedPeriod]  # (period, scope) -> its days and zone


class _CubeRows:
    """A cube's daily rows as first fetched, plus the fresh rows of each refresh since
    (every one replacing all rows from its day on). A refresh reads only the rows from
    its day on; the whole is put together when someone needs it (once per change)."""

    def __init__(self, frame: Frame) -> None:
        self._first = frame
        self._patches: list[tuple[int, Frame]] = []  # (first replaced day, fresh rows)
        self._whole: Frame | None = frame

    def whole(self) -> Frame:
        if self._whole is None:
            frame = self._first
            for day, fresh in self._patches:
                frame = _concat(_select(frame, frame["day"] < day), fresh)
            self._first, self._patches, self._whole = frame, [], frame
        return self._whole

    def from_day(self, day: int) -> Frame:
        """The rows of ``day`` and later."""
        rows = _select(self._first, self._first["day"] >= day)
        for patch_day, fresh in self._patches:
            rows = _concat(
                _select(rows, rows["day"] < patch_day), _select(fresh, fresh["day"] >= day)
            )
        return rows

    def replace_from(self, day: int, fresh: Frame) -> None:
        """Every row of ``day`` and later is replaced by ``fresh`` (rows from ``day`` on)."""
        self._patches.append((day, fresh))
        self._whole = None

    def day_range(self) -> tuple[int, int] | None:
        days = [self._first["day"], *(fresh["day"] for _, fresh in self._patches)]
        found = [d for d in days if d.size]
        if not found:
            return None
        return min(int(d.min()) for d in found), max(int(d.max()) for d in found)

    @property
    def money(self) -> bool:
        return "currency" in self._first


def _select(frame: Frame, rows: npt.NDArray[np.bool_]) -> Frame:
    return {name: column[rows] for name, column in frame.items()}


def _concat(first: Frame, second: Frame) -> Frame:
    return {name: np.concatenate([first[name], second[name]]) for name in first}


@dataclass(slots=True)
class _CubeState:
    window: Window
    stores: list[StoreInfo]
    frames: dict[str, _CubeRows]  # raw daily cubes, original currencies
    coverage: dict[str, dict[int, tuple[int, int]]]  # fact table -> store -> first/last local day
    # Per fact table read for coverage (``orders`` coverage joins orders, refunds, returns).
    fact_coverage: dict[str, dict[int, tuple[int, int]]] = field(default_factory=dict)
    period_frames: dict[str, Frame] = field(default_factory=dict)
    # For refreshes on DuckDB: the window's queries and their SQL, compiled once.
    queries: FactQueries | None = None
    compiled: dict[str, str] = field(default_factory=dict)
    changed_from: int | None = None  # after a refresh: period aggregates ending after it are stale


class KpiEngine:
    """Computes KPI matrices for stores from one warehouse (``Warehouse.ibis`` / ``.table``)."""

    def __init__(
        self,
        backend: BaseBackend,
        table: TableSource,
        catalog: Catalog,
        stores: Iterable[StoreInfo],
    ) -> None:
        self.backend = backend
        self.table = _memoised(table)
        self.catalog = catalog
        self.stores = {s.store_id: s for s in stores}
        self._cubes: dict[str, _CubeState] = {}  # by timezone mode
        self.order_cube = OrderCube(backend, self.table)
        self.daily_cube = DailyOrderCube(self.order_cube)
        self._last: _Evaluation | None = None

    # -- public ------------------------------------------------------------------------
    def compute(
        self,
        *,
        periods: Sequence[Period],
        scopes: Sequence[Scope],
        kpis: Sequence[str] | None = None,
        options: Mapping[str, OptionValue] | None = None,
        compare: bool = True,
    ) -> KpiMatrix:
        request = _Request(
            list(periods), list(scopes), list(kpis) if kpis else None, dict(options or {}), compare
        )
        self._cubes.clear()
        self._last = self._evaluate(request)
        return self._assemble(self._last)

    def refresh(self, changed_since: dt.datetime, tables: Iterable[str] | None = None) -> KpiMatrix:
        """Recompute the last matrix after facts from ``changed_since`` (naive UTC) on changed.

        Only cube days from the change on are queried again (reaching back to the order day
        of new refunds and returns); facts before that are assumed unchanged. The sums the
        last matrix was evaluated from are kept: the rows of the re-queried days are taken
        out of them and the fresh rows added, so the work is proportional to the change,
        not to the history. ``tables``: the fact tables that changed, where the caller knows
        (an import knows what it wrote); cubes that read none of them are kept as they are.
        """
        if self._last is None:
            raise KpiRequestError("nothing to refresh: compute a matrix first")
        changed = None if tables is None else set(tables)
        unknown = (changed or set()) - set(FACT_TABLES)
        if unknown:
            raise KpiRequestError(f"unknown fact table {', '.join(sorted(unknown))}")
        self.order_cube.sync(force=True)
        evaluator = self._last.evaluator
        for mode, state in self._cubes.items():
            replaced = self._refresh_cubes(mode, state, changed_since, changed)
            evaluator.apply(mode, replaced, rates_changed=changed is None or "fx_rates" in changed)
        evaluator.forget_measures()
        return self._assemble(self._last)

    # -- request handling --------------------------------------------------------------
    def _evaluate(self, request: _Request) -> _Evaluation:
        """Resolve a request: its KPIs, stores, period instances and an evaluator for them."""
        periods, scopes, kpis = request.periods, request.scopes, request.kpis
        options, compare = request.options, request.compare
        selected = kpis or list(self.catalog.definitions)
        unknown = [k for k in selected if k not in self.catalog.definitions]
        if unknown:
            raise KpiRequestError(
                f"unknown KPI {', '.join(unknown)}; "
                f"expected one of {', '.join(self.catalog.definitions)}"
            )
        _check_options(options)
        store_ids = sorted({sid for scope in scopes for sid in scope.store_ids})
        missing_stores = [sid for sid in store_ids if sid not in self.stores]
        if missing_stores:
            raise KpiRequestError(f"unknown store {', '.join(map(str, missing_stores))}")
        stores = [self.stores[sid] for sid in store_ids]
        instances = _resolve_instances(periods, stores, compare)
        position = {sid: i for i, sid in enumerate(store_ids)}
        membership = np.zeros((len(stores), len(scopes)))
        for g, scope in enumerate(scopes):
            for sid in scope.store_ids:
                membership[position[sid], g] = 1.0

        effective = {k: self.catalog.definitions[k].effective_options(options) for k in selected}
        evaluator = _Evaluator(self, selected, stores, scopes, instances, membership)
        resolved: dict[tuple[str, str], ResolvedPeriod] = {}
        for p_index, period in enumerate(periods):
            i = instances.labels.index((p_index, "current"))
            for scope in scopes:
                known = [
                    r
                    for sid in scope.store_ids
                    if (r := instances.periods[i][position[sid]]) is not None
                ]
                zones = {
                    UTC if options.get("timezone") == UTC else self.stores[sid].timezone
                    for sid in scope.store_ids
                }
                if known:
                    resolved[(period.label, scope.key)] = ResolvedPeriod(
                        period.label,
                        min(r.start for r in known).isoformat(),
                        max(r.end for r in known).isoformat(),
                        zones.pop() if len(zones) == 1 else "mixed",
                    )
        return _Evaluation(request, selected, effective, position, instances, evaluator, resolved)

    def _assemble(self, evaluation: _Evaluation) -> KpiMatrix:
        """Evaluate every KPI of a resolved request into the matrix."""
        request, selected, effective = evaluation.request, evaluation.selected, evaluation.effective
        periods, options, compare = request.periods, request.options, request.compare
        instances, evaluator = evaluation.instances, evaluation.evaluator
        grids: dict[str, dict[str, KpiGrid]] = {role: {} for role in ROLES}
        for kpi_id in selected:
            values, codes, parts = evaluator.kpi(kpi_id, effective[kpi_id])
            for role in ROLES if compare else ("current",):
                grids[role][kpi_id] = _grid(
                    values,
                    codes,
                    parts,
                    instances,
                    role,
                    len(periods),
                    self._is_sum(kpi_id),
                )
        matrix = KpiMatrix(
            definitions={k: self.catalog.definitions[k] for k in selected},
            periods=[p.label for p in periods],
            scopes=list(request.scopes),
            currency=str(options.get("currency", "USD")),
            options=effective,
            current=grids["current"],
            previous=grids["previous"] if compare else {},
            last_year=grids["last_year"] if compare else {},
            notes=evaluator.pending_notes(len(periods)),
        )
        matrix.resolved.update(evaluation.resolved)
        return matrix

    def _is_sum(self, kpi_id: str) -> bool:
        """Money or a count that adds up over days and stores (AOV, a ratio, does not)."""
        definition = self.catalog.definitions[kpi_id]
        return definition.kind is KpiKind.ADDITIVE and definition.unit in _SUMMED_UNITS

    # -- cubes -------------------------------------------------------------------------
    def cube_state(
        self,
        mode: str,
        instances: _Instances,
        stores: Sequence[StoreInfo],
        with_cubes: bool,
        sources: set[str] | None = None,
    ) -> _CubeState:
        state = self._cubes.get(mode)
        defined_starts = instances.starts[instances.starts >= 0]
        if defined_starts.size == 0:
            first = end = dt.date(2000, 1, 1)
            end = first + dt.timedelta(days=1)
        else:
            first = dt.date.fromordinal(int(defined_starts.min()))
            end = dt.date.fromordinal(int(instances.ends[instances.ends >= 0].max()))
        wanted = {s.store_id for s in stores}
        if (
            state is None
            or state.window.first > first
            or state.window.end < end
            or not wanted <= {s.store_id for s in state.stores}
        ):
            state = _CubeState(Window(first, end), list(stores), {}, {})
            self._cubes[mode] = state
        missing = (sources or set(_SOURCE_COVERAGE)) - set(state.frames) if with_cubes else set()
        if missing:
            if self.backend.name == "duckdb":  # SQL kept for refreshes (see _fetch_kept)
                fetched = self._query_cubes(
                    self._kept_queries(state, mode), missing, state.compiled
                )
            else:
                fetched = self._query_cubes(self._queries(state, mode), missing)
            state.frames.update({source: _CubeRows(frame) for source, frame in fetched.items()})
        return state

    def _in_step(self, state: _CubeState, mode: str) -> bool:
        """Bring the order cube, and the daily cube of the state's stores where it is read
        (marketplace time), in step; whether the daily cube is read."""
        self.order_cube.sync()
        if self.daily_cube.stored and mode != UTC:
            self.daily_cube.ensure(state.stores)
            return True
        return False

    def _queries(self, state: _CubeState, mode: str, window: Window | None = None) -> FactQueries:
        daily: ir.Table | None = None
        daily_refunds: ir.Table | None = None
        if self._in_step(state, mode):
            daily, daily_refunds = self.daily_cube.table(), self.daily_cube.refund_table()
        return FactQueries(
            self.backend,
            self.table,
            state.stores,
            window or state.window,
            mode,
            order_facts=self.order_cube.table(),
            daily_orders=daily,
            daily_refunds=daily_refunds,
        )

    def _kept_queries(self, state: _CubeState, mode: str) -> FactQueries:
        """The queries of the state's window, kept with it (DuckDB): SQL compiled from them
        names their store→zone table, which stays registered while they live. The cubes
        are brought in step, as :meth:`_queries` does."""
        if state.queries is None:
            state.queries = self._queries(state, mode)
        else:
            self._in_step(state, mode)
        return state.queries

    def _query_cubes(
        self,
        queries: FactQueries,
        sources: set[str],
        compiled: dict[str, str] | None = None,
        from_day: dt.date | None = None,
    ) -> dict[str, Frame]:
        """The daily rows of ``sources`` (from ``from_day`` on); with ``compiled``
        (DuckDB), through SQL compiled once (:func:`_fetch_kept`)."""
        where = f"WHERE day >= DATE '{from_day.isoformat()}'" if from_day else ""

        def fetch(name: str, expr: Callable[[], ir.Table]) -> Frame:
            return _fetch_kept(self.backend, compiled, name, expr, where)

        frames: dict[str, Frame] = {}
        builders = {
            "order_days": queries.order_days,
            "refund_rd": queries.refunds_by_refund_date,
            "refund_od": queries.refunds_by_order_date,
            "return_rd": queries.returns_by_return_date,
            "return_od": queries.returns_by_order_date,
            "due": queries.due_orders,
            "shipped": queries.shipped_orders,
            "ads": queries.ads,
            "traffic": queries.traffic,
            "fees": queries.fees,
        }
        if {"refund_od", "return_od"} <= sources:  # one join with the order cube for both
            both = fetch("refund_return_od", queries.refunds_and_returns_by_order_date)
            for source, kind, column in (
                ("refund_od", "refund", "amount"),
                ("return_od", "return", "quantity"),
            ):
                rows = both["kind"] == kind
                frames[source] = {
                    "store_id": both["store_id"][rows],
                    "day": both["day"][rows],
                    column: both["value"][rows],
                    **({"currency": both["currency"][rows]} if kind == "refund" else {}),
                }
        for source in sorted(sources & set(builders) - set(frames)):
            frames[source] = fetch(source, builders[source])
        if "cogs" in sources:
            with queries.materialised_orders() as orders:
                frames["cogs"] = _fetch(self.backend, queries.cogs(orders))
        return frames

    def coverage(
        self, mode: str, table: str, wanted: Iterable[str] = ()
    ) -> dict[int, tuple[int, int]]:
        """First and last local day with facts of ``table``, per store (whatever the window).

        Orders count as present where orders, refunds or returns are: a month with refunds
        of earlier orders and no new order has data (sales 0), not "no data". The first
        call loads ``table`` and the other ``wanted`` tables (those the request reads) in
        one query; tables nobody asked for are never scanned.
        """
        state = self._cubes[mode]
        if table not in state.coverage:
            self._load_coverage(state, mode, {table, *wanted} - set(state.coverage))
        return state.coverage[table]

    def _load_coverage(
        self, state: _CubeState, mode: str, tables: set[str], changed: set[str] | None = None
    ) -> None:
        """First and last local day per store of ``tables``, from each fact table they
        cover, in one query: of the facts not read yet, and of those in ``changed``
        (``None``: all) again; the others' are kept."""
        if not tables:
            return
        pairs = {
            pair
            for table in tables
            for pair in _COVERAGE_COLUMNS.get(table, ((table, _COVERED_COLUMN[table]),))
        }
        columns = sorted(
            (fact, column)
            for fact, column in pairs
            if fact not in state.fact_coverage or changed is None or fact in changed
        )
        if columns:
            self._read_fact_coverage(state, mode, columns)
        for table in tables:
            found: dict[int, tuple[int, int]] = {}
            for fact, _ in _COVERAGE_COLUMNS.get(table, ((table, ""),)):
                for store_id, (first_day, last_day) in state.fact_coverage[fact].items():
                    if table == "cogs":  # a unit cost applies to every later order
                        last_day = dt.date.max.toordinal()
                    known = found.get(store_id, (first_day, last_day))
                    found[store_id] = (min(known[0], first_day), max(known[1], last_day))
            state.coverage[table] = found

    def _read_fact_coverage(
        self, state: _CubeState, mode: str, columns: Sequence[tuple[str, str]]
    ) -> None:
        kept = self.backend.name == "duckdb"
        queries = self._kept_queries(state, mode) if kept else self._queries(state, mode)
        frame = _fetch_kept(
            self.backend,
            state.compiled if kept else None,
            "coverage:" + ",".join(f"{t}.{c}" for t, c in columns),
            lambda: queries.coverage(columns),
        )
        dated = frame["local_day"] > 0  # days already
        for end in ("first", "last"):
            instants = frame[end]
            frame[end] = np.where(
                dated,
                instants // 86_400_000_000 + _EPOCH,
                queries.local_days(frame["store_id"], instants),
            )
        for fact, _ in columns:
            rows = frame["fact"] == fact
            state.fact_coverage[fact] = {
                int(store_id): (int(first_day), int(last_day))
                for store_id, first_day, last_day in zip(
                    frame["store_id"][rows].tolist(),
                    frame["first"][rows].tolist(),
                    frame["last"][rows].tolist(),
                    strict=True,
                )
            }

    def _refresh_cubes(
        self,
        mode: str,
        state: _CubeState,
        changed_since: dt.datetime,
        changed: set[str] | None,
    ) -> dict[str, tuple[Frame, Frame]]:
        """Re-query the changed days of every cube that reads a changed table; per source,
        the rows replaced and the rows that replace them (both from the first changed day)."""

        def touched(reads: Iterable[str]) -> bool:
            return changed is None or not changed.isdisjoint(reads)

        since_day = (changed_since - dt.timedelta(days=1)).date()
        reach_back = (
            self._earliest_order_touched(changed_since) if touched(("refunds", "returns")) else None
        )
        from_day = max(min(since_day, reach_back) if reach_back else since_day, state.window.first)
        if from_day >= state.window.end:
            return {}
        stale = {source for source in state.frames if touched(_SOURCE_READS[source])}
        replaced: dict[str, tuple[Frame, Frame]] = {}
        # COGS joins lines to stored orders (no single query to keep): queried for the days.
        windowed = stale if self.backend.name != "duckdb" else stale & {"cogs"}
        fresh = (
            self._query_cubes(
                self._queries(state, mode, Window(from_day, state.window.end)), windowed
            )
            if windowed
            else {}
        )
        if stale - windowed:
            queries = self._kept_queries(state, mode)
            fresh.update(self._query_cubes(queries, stale - windowed, state.compiled, from_day))
        for source, frame in fresh.items():
            rows = state.frames[source]
            replaced[source] = (rows.from_day(from_day.toordinal()), frame)
            rows.replace_from(from_day.toordinal(), frame)
        # Where a store has facts is read again for the changed tables: new facts may lie
        # beyond the cubes' window, and replaced ones may have left a store's last days.
        self._load_coverage(
            state,
            mode,
            {
                table
                for table in state.coverage
                if touched(fact for fact, _ in _COVERAGE_COLUMNS.get(table, ((table, ""),)))
            },
            changed,
        )
        state.changed_from = from_day.toordinal()
        return replaced

    def _earliest_order_touched(self, since: dt.datetime) -> dt.date | None:
        """Earliest purchase day (UTC, minus a day) of orders refunded/returned since ``since``.

        Refunds and returns are mostly of recent orders: the newest quarter of the order cube
        (sorted by purchase time, so zone maps skip the rest) is searched first, and the whole
        cube only if some refunded or returned order is older.
        """
        keys = []
        for name, column in (("refunds", "refund_ts"), ("returns", "return_ts")):
            facts = self.table(name)
            keys.append(facts.filter(facts[column] >= since).select("store_id", "order_id"))
        touched = ibis.union(*keys, distinct=True)
        cube = self.order_cube.table().select("store_id", "order_id", "purchase_ts")
        recent = cube.filter(cube.purchase_ts >= since - dt.timedelta(days=92))
        for orders in (recent, cube):
            joined = touched.left_join(orders, ["store_id", "order_id"])
            summary = joined.aggregate(
                first=joined.purchase_ts.min(),
                missing=joined.purchase_ts.isnull().ifelse(1, 0).sum(),
            )
            result = self.backend.to_pyarrow(summary)
            value = result.column("first")[0].as_py()
            if not result.column("missing")[0].as_py():  # every touched order found (or none)
                break
        return (value - dt.timedelta(days=1)).date() if value is not None else None

    def period_frame(
        self,
        mode: str,
        name: str,
        instances: _Instances,
        stores: Sequence[StoreInfo],
        scopes: Sequence[Scope] | None = None,
    ) -> Frame:
        """A period aggregate per (store or scope, instance), cached with the cubes.

        After a refresh only the instances that end after the changed day are queried again.
        """
        state = self._cubes[mode]
        key = name if scopes is None else f"{name}:{'|'.join(s.key for s in scopes)}"
        cached = state.period_frames.get(key)
        stale_after = state.changed_from if cached is not None else None
        wanted = [
            i
            for i in range(len(instances.labels))
            if stale_after is None or instances.ends[i].max() > stale_after
        ]
        position = {s.store_id: i for i, s in enumerate(stores)}
        rows: list[tuple[Any, ...]] = []
        for i in wanted:
            members: list[tuple[int, ...]]
            if scopes is None:
                members = [(s.store_id,) for s in stores]
            else:
                members = [(g, sid) for g, scope in enumerate(scopes) for sid in scope.store_ids]
            for member in members:
                j = position[member[-1]]
                if instances.starts[i, j] >= 0:
                    rows.append(
                        (
                            *member,
                            i,
                            dt.date.fromordinal(int(instances.starts[i, j])),
                            dt.date.fromordinal(int(instances.ends[i, j])),
                        )
                    )
        fresh: Frame | None = None
        if rows:
            queries = self._queries(state, mode)
            bounds = bounds_table(rows, scoped=scopes is not None)
            match name:
                case "sold_skus":
                    with queries.materialised_orders() as orders:
                        fresh = _fetch(self.backend, queries.sold_skus(orders, bounds))
                case "listings":
                    fresh = _fetch(self.backend, queries.listings(bounds))
                case "account_health":
                    fresh = _fetch(self.backend, queries.account_health(bounds))
                case "first_response":
                    fresh = _fetch(self.backend, queries.first_response_median(bounds))
                case _:
                    raise KeyError(name)
        if cached is not None and stale_after is not None:
            keep = ~np.isin(cached["period"], wanted)
            frame = {
                c: np.concatenate([cached[c][keep], fresh[c]]) if fresh else cached[c][keep]
                for c in cached
            }
        else:
            frame = fresh if fresh is not None else {"period": np.zeros(0, np.int64)}
        state.period_frames[key] = frame
        return frame


def _check_options(options: Mapping[str, OptionValue]) -> None:
    problems = []
    for name, value in options.items():
        spec = OPTIONS.get(name)
        if spec is None:
            problems.append(f"unknown option {name!r}; expected one of {', '.join(OPTIONS)}")
        elif (expected := spec.check(value)) is not None:
            problems.append(f"option {name}: {value!r} is not allowed; expected {expected}")
    if problems:
        raise KpiRequestError("; ".join(problems))


# ---------------------------------------------------------------------------------------
# Evaluation on arrays: shape (instances, scopes)
# ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Measured:
    """A measure per (instance, store) with where the store has data, or, for medians and
    account health, already per (instance, scope) with reason codes."""

    values: Array
    covered: npt.NDArray[np.bool_] | None = None
    codes: Codes | None = None
    parts: dict[str, Array] = field(default_factory=dict)


class _Evaluator:
    def __init__(
        self,
        engine: KpiEngine,
        kpis: Sequence[str],
        stores: list[StoreInfo],
        scopes: Sequence[Scope],
        instances: _Instances,
        membership: npt.NDArray[np.float64],
    ) -> None:
        self.engine, self.stores, self.scopes = engine, stores, scopes
        self.instances, self.membership = instances, membership
        self.position = {s.store_id: i for i, s in enumerate(stores)}
        pairs = np.argwhere(membership > 0)  # (store position, scope index)
        self._pair_stores, self._pair_scopes = pairs[:, 0], pairs[:, 1]
        single = len(pairs) == len(scopes) and np.array_equal(
            np.sort(self._pair_scopes), np.arange(len(scopes))
        )
        self._store_of_scope = self._pair_stores[np.argsort(self._pair_scopes)] if single else None
        self._measures: dict[tuple[str, tuple[tuple[str, OptionValue], ...]], _Measured] = {}
        self._bases: dict[tuple[str, str], dict[str, Array]] = {}
        self._rates: dict[tuple[str, str], _FxTable] = {}
        self._coverage: dict[tuple[str, str], npt.NDArray[np.bool_]] = {}
        self._pending_counts: Array | None = None
        self._row_plans: dict[tuple[bytes, bytes], tuple[npt.NDArray[np.int64], ...]] = {}
        self.shape = (len(instances.labels), len(scopes))
        self._portfolios = any(scope.is_portfolio for scope in scopes)
        # Only the cubes the requested KPIs need (they are fetched together, once).
        self.sources = {
            source
            for kpi_id in kpis
            for name in engine.catalog.measures_of(kpi_id) | {"pending_order_count"}
            for source in _MEASURE_SOURCES.get(name, ())
        }

    # -- KPIs --------------------------------------------------------------------------
    def kpi(self, kpi_id: str, options: Mapping[str, OptionValue]) -> _Result:
        """Values, reason codes and parts per (instance, scope).

        A store counts towards a scope's KPI only where it has data for *every* measure of
        the formula, so a portfolio never sets one store's sales against another's costs.
        """
        definition = self.engine.catalog.definitions[kpi_id]
        names = sorted(self.engine.catalog.measures_of(kpi_id))
        measured = {name: self._measure(name, options) for name in names}
        for name in names:
            found = measured[name]
            if found.covered is None:  # snapshot and median KPIs are exactly one such measure
                assert found.codes is not None
                return found.values, found.codes, found.parts
        mask = np.logical_and.reduce([measured[n].covered for n in names])  # type: ignore[arg-type]
        scoped = {name: self._to_scopes(measured[name].values, mask) for name in names}
        values, codes = self._formula(definition.formula, scoped)
        parts: dict[str, Array] = {}
        formula = definition.formula
        if isinstance(formula, BinOp) and formula.op == "/":
            parts["numerator"] = self._formula(formula.left, scoped)[0]
            parts["denominator"] = self._formula(formula.right, scoped)[0]
        elif isinstance(formula, Ref) and formula.name in MEASURES:
            parts.update(
                {k: self._to_scopes(v, mask)[0] for k, v in measured[formula.name].parts.items()}
            )
        if "item_sales" in names and definition.unit is Unit.CURRENCY:
            parts["pending_orders"] = self._pending(options)
        if self._portfolios:
            parts["stores_with_data"] = self._sum_to_scopes(mask.astype(np.float64))
        return values, codes, parts

    def _formula(
        self, formula: Formula, scoped: Mapping[str, tuple[Array, Codes]]
    ) -> tuple[Array, Codes]:
        match formula:
            case Number(value):
                return np.full(self.shape, value), np.zeros(self.shape, np.int8)
            case Ref(name):
                if name in MEASURES:
                    return scoped[name]
                return self._formula(self.engine.catalog.definitions[name].formula, scoped)
            case BinOp(op, left, right):
                lv, lc = self._formula(left, scoped)
                rv, rc = self._formula(right, scoped)
                codes = np.where(lc != OK, lc, rc).astype(np.int8)
                with np.errstate(divide="ignore", invalid="ignore"):
                    if op == "+":
                        values = lv + rv
                    elif op == "-":
                        values = lv - rv
                    elif op == "*":
                        values = lv * rv
                    else:
                        codes = np.where((codes == OK) & (rv == 0), ZERO_DEN, codes).astype(np.int8)
                        values = lv / np.where(rv == 0, 1.0, rv)
                return np.where(codes == OK, values, np.nan), codes
            case _:
                assert_never(formula)

    # -- measures ----------------------------------------------------------------------
    def _measure(self, name: str, options: Mapping[str, OptionValue]) -> _Measured:
        relevant = tuple(sorted((k, v) for k, v in options.items() if k in MEASURES[name].options))
        key = (name, relevant)
        if key not in self._measures:
            self._measures[key] = self._compute_measure(name, dict(relevant))
        return self._measures[key]

    def _compute_measure(self, name: str, options: Mapping[str, OptionValue]) -> _Measured:
        if name in _MEASURE_SOURCES:
            return self._additive(name, options)
        mode = _mode(options)
        match name:
            case "sold_sku_count":
                frame = self._period("sold_skus", mode)
                column = (
                    "sold_skus"
                    if options.get("cancelled", "exclude") == "exclude"
                    else "sold_skus_with_cancelled"
                )
                values, _ = self._per_store(frame, column)
                return _Measured(values, self._covered("orders", mode))
            case "active_sku_count" | "live_sku_count":
                frame = self._period("listings", mode)
                values, present = self._per_store(
                    frame, "active_skus" if name == "active_sku_count" else "live_skus"
                )
                return _Measured(values, present)
            case "ahr_score":
                return self._account_health(mode)
            case "first_response_hours_median":
                return self._median(mode)
        raise KeyError(name)

    def _base(self, mode: str, currency: str) -> dict[str, Array]:
        """Every cube column summed per (instance, store), money in ``currency``."""
        key = (mode, currency)
        if key not in self._bases:
            state = self.engine.cube_state(
                mode, self.instances, self.stores, with_cubes=True, sources=self.sources
            )
            rates = self._rates[key] = _FxTable(self.engine, state.frames, currency)
            base: dict[str, Array] = {}
            for source, rows in sorted(state.frames.items()):
                columns = _daily_columns(source, rows.whole(), rates)
                for column, (stores, days, values) in columns.items():
                    base[column] = self._rollup(stores, days, values)
            self._bases[key] = base
        return self._bases[key]

    def apply(
        self, mode: str, replaced: Mapping[str, tuple[Frame, Frame]], *, rates_changed: bool
    ) -> None:
        """Bring the sums of ``mode`` in step after a refresh: per source, the replaced daily
        rows are taken out (at the rates they were added with) and the fresh rows added (at
        the current rates)."""
        for (base_mode, currency), base in self._bases.items():
            if base_mode != mode:
                continue
            rates = self._rates[(mode, currency)]
            for sign, fresh in ((-1.0, False), (1.0, True)):
                if fresh and rates_changed:
                    rates.forget()
                for source, (old_rows, new_rows) in replaced.items():
                    columns = _daily_columns(source, new_rows if fresh else old_rows, rates)
                    for column, (stores, days, values) in columns.items():
                        base[column] += sign * self._rollup_rows(stores, days, values)

    def forget_measures(self) -> None:
        """Measures are derived from the sums and period aggregates: evaluate them again."""
        self._measures.clear()
        self._coverage.clear()
        self._pending_counts = None

    def _rollup(
        self, store_ids: npt.NDArray[np.int64], days: npt.NDArray[np.int64], values: Array
    ) -> Array:
        """Sums of daily values over every (instance, store) day range, by prefix sums."""
        # The columns of one cube share their rows: sort and search once per row set.
        rows_key = (store_ids.tobytes(), days.tobytes())
        if rows_key not in self._row_plans:
            n_stores = len(self.stores)
            lookup = self._store_lookup(int(store_ids.max()) if store_ids.size else 0)
            positions = lookup[store_ids] if store_ids.size else store_ids
            keep = positions >= 0
            keys = positions[keep] * 10_000_000 + days[keep]
            order = np.flatnonzero(keep)[np.argsort(keys, kind="stable")]
            keys = np.sort(keys, kind="stable")
            offsets = np.arange(n_stores, dtype=np.int64)[None, :] * 10_000_000
            starts = np.searchsorted(keys, offsets + self.instances.starts, side="left")
            ends = np.searchsorted(keys, offsets + self.instances.ends, side="left")
            self._row_plans[rows_key] = (order, starts, ends)
        order, starts, ends = self._row_plans[rows_key]
        prefix = np.concatenate([[0.0], np.cumsum(values[order])])
        return np.where(self.instances.starts >= 0, prefix[ends] - prefix[starts], 0.0)

    def _rollup_rows(
        self, store_ids: npt.NDArray[np.int64], days: npt.NDArray[np.int64], values: Array
    ) -> Array:
        """:meth:`_rollup` for a few rows (a refresh's): each row added to every instance
        whose day range holds it, without sorting anything."""
        result = np.zeros(self.instances.starts.shape)
        if not store_ids.size:
            return result
        lookup = self._store_lookup(int(store_ids.max()))
        positions = lookup[store_ids]
        ours = positions >= 0
        positions, days, values = positions[ours], days[ours], values[ours]
        for i in range(len(self.instances.labels)):
            starts, ends = self.instances.starts[i, positions], self.instances.ends[i, positions]
            inside = (starts >= 0) & (starts <= days) & (days < ends)
            np.add.at(result[i], positions[inside], values[inside])
        return result

    def _store_lookup(self, largest_id: int) -> npt.NDArray[np.int64]:
        """Store id -> column (-1: not in this request), for ids up to ``largest_id``."""
        lookup = np.full(max(largest_id, *self.position, 0) + 1, -1, dtype=np.int64)
        for sid, j in self.position.items():
            lookup[sid] = j
        return lookup

    def _covered(self, table: str, mode: str) -> npt.NDArray[np.bool_]:
        """(instance, store): the store has facts of ``table`` around the period."""
        if (table, mode) in self._coverage:
            return self._coverage[(table, mode)]
        self.engine.cube_state(mode, self.instances, self.stores, with_cubes=False)
        wanted = {_SOURCE_COVERAGE[source][0] for source in self.sources}
        coverage = self.engine.coverage(mode, table, wanted)
        firsts = np.array(
            [coverage.get(s.store_id, (dt.date.max.toordinal(), 0))[0] for s in self.stores]
        )
        lasts = np.array([coverage.get(s.store_id, (0, -1))[1] for s in self.stores])
        starts, ends = self.instances.starts, self.instances.ends
        covered = (starts >= 0) & (ends > firsts[None, :]) & (starts <= lasts[None, :])
        self._coverage[(table, mode)] = covered
        return covered

    def _sum_to_scopes(self, per_store: Array) -> Array:
        """(instance, store) -> (instance, scope) sums; a gather when every scope is one store."""
        if self._store_of_scope is not None:
            return per_store[:, self._store_of_scope]
        result = np.zeros(self.shape)
        np.add.at(result.T, self._pair_scopes, per_store.T[self._pair_stores])
        return result

    def _to_scopes(self, per_store: Array, covered: npt.NDArray[np.bool_]) -> tuple[Array, Codes]:
        values = self._sum_to_scopes(np.where(covered, per_store, 0.0))
        any_covered = self._sum_to_scopes(covered.astype(np.float64)) > 0
        undefined = self._sum_to_scopes((self.instances.starts < 0).astype(np.float64)) > 0
        codes = np.where(any_covered, OK, np.where(undefined, NO_PERIOD, MISSING)).astype(np.int8)
        return np.where(codes == OK, values, np.nan), codes

    def _additive(self, name: str, options: Mapping[str, OptionValue]) -> _Measured:
        mode = _mode(options)
        base = self._base(mode, str(options.get("currency", "USD")))
        with_cancelled = options.get("cancelled", "exclude") == "include"

        def status(column: str) -> Array:
            return base[f"{column}_nc"] + (base[f"{column}_c"] if with_cancelled else 0.0)

        def refunds() -> Array:
            by_order = options.get("refund_attribution") == "order_date"
            return base["refund_od" if by_order else "refund_rd"]

        parts: dict[str, Array] = {}
        match name:
            case "item_sales":
                value = status("item_price")
                if options.get("include_shipping"):
                    value = value + status("shipping_price")
                if options.get("include_tax") is False:
                    value = value - status("item_tax")
                    if options.get("include_shipping"):
                        value = value - status("shipping_tax")
                if options.get("refunds") == "net":
                    parts["gross"], parts["refunds"] = value, refunds()
                    value = value - parts["refunds"]
            case "order_count" | "pending_order_count" | "unit_count" | "cogs_amount":
                value = status(
                    {
                        "order_count": "orders",
                        "pending_order_count": "pending",
                        "unit_count": "units",
                        "cogs_amount": "cogs",
                    }[name]
                )
            case "all_order_count":
                value = base["orders_nc"] + base["orders_c"]
            case "refund_amount":
                value = refunds()
            case "returned_units":
                value = base[
                    "return_od"
                    if options.get("return_attribution") == "order_date"
                    else "return_rd"
                ]
            case _:
                value = base[_PLAIN_COLUMNS[name]]
        covered = self._covered(_SOURCE_COVERAGE[_MEASURE_SOURCES[name][0]][0], mode)
        if name == "cogs_amount":
            covered = covered & self._covered("orders", mode)
        return _Measured(value, covered, parts=parts)

    def _pending(self, options: Mapping[str, OptionValue]) -> Array:
        measured = self._measure("pending_order_count", options)
        assert measured.covered is not None
        values = self._to_scopes(measured.values, measured.covered)[0]
        if self._pending_counts is None:
            self._pending_counts = values
        return values

    def pending_notes(self, n_periods: int) -> dict[tuple[int, int], list[str]]:
        notes: dict[tuple[int, int], list[str]] = {}
        if self._pending_counts is None:
            return notes
        rows = [self.instances.labels.index((p, "current")) for p in range(n_periods)]
        counts = self._pending_counts[rows]
        for p, g in zip(*np.nonzero(counts > 0), strict=True):  # only the cells with any
            count = int(counts[p, g])
            notes[(int(p), int(g))] = [
                f"{count} 个未定价订单计入订单数和销量，但不计入金额 / {count} "
                "pending orders without a price count in orders and units but add no money"
            ]
        return notes

    # -- period aggregates -------------------------------------------------------------
    def _period(self, name: str, mode: str, scoped: bool = False) -> Frame:
        self.engine.cube_state(mode, self.instances, self.stores, with_cubes=False)
        return self.engine.period_frame(
            mode, name, self.instances, self.stores, self.scopes if scoped else None
        )

    def _per_store(self, frame: Frame, column: str) -> tuple[Array, npt.NDArray[np.bool_]]:
        values = np.zeros(self.instances.starts.shape)
        present = np.zeros(self.instances.starts.shape, dtype=bool)
        if frame["period"].size:
            rows = frame["period"].astype(np.int64)
            cols = np.array([self.position[int(s)] for s in frame["store_id"]], dtype=np.int64)
            data = frame[column].astype(np.float64)
            ok = ~np.isnan(data)
            values[rows[ok], cols[ok]] = data[ok]
            present[rows[ok], cols[ok]] = True
        return values, present

    def _account_health(self, mode: str) -> _Measured:
        frame = self._period("account_health", mode)
        single = np.array([not s.is_portfolio for s in self.scopes], dtype=bool)
        results: dict[str, Array] = {}
        codes: Codes = np.zeros(self.shape, np.int8)
        for column in (
            "ahr_score",
            "order_defect_rate",
            "late_shipment_rate",
            "pre_fulfillment_cancel_rate",
            "valid_tracking_rate",
        ):
            values, present = self._per_store(frame, column)
            scoped, scoped_codes = self._to_scopes(values, present)
            results[column] = np.where(single[None, :], scoped, np.nan)
            if column == "ahr_score":
                codes = np.where(single[None, :], scoped_codes, NOT_ACROSS).astype(np.int8)
        score = results.pop("ahr_score")
        return _Measured(score, codes=codes, parts=results)

    def _median(self, mode: str) -> _Measured:
        frame = self._period("first_response", mode, scoped=True)
        values = np.full(self.shape, np.nan)
        tickets = np.zeros(self.shape)
        if frame["period"].size:
            rows, cols = frame["period"].astype(np.int64), frame["scope"].astype(np.int64)
            values[rows, cols] = frame["hours"].astype(np.float64)
            tickets[rows, cols] = frame["tickets"].astype(np.float64)
        codes = np.where(np.isnan(values), MISSING, OK).astype(np.int8)
        return _Measured(values, codes=codes, parts={"tickets": tickets})


_Result = tuple[Array, Codes, dict[str, Array]]
_PLAIN_COLUMNS = {
    "cancelled_order_count": "orders_c",
    "due_order_count": "due",
    "on_time_due_order_count": "on_time",
    "shipped_order_count": "shipped",
    "late_shipped_order_count": "late",
    "ad_cost": "ad_cost",
    "ad_attributed_sales": "ad_sales",
    "session_count": "sessions",
    "fee_amount": "fees",
}


def _mode(options: Mapping[str, OptionValue]) -> str:
    return UTC if options.get("timezone") == UTC else "marketplace"


# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------


def _resolve_instances(
    periods: Sequence[Period], stores: Sequence[StoreInfo], compare: bool
) -> _Instances:
    labels: list[tuple[int, str]] = []
    resolved: list[list[Period | None]] = []
    for p_index, period in enumerate(periods):
        for role in ROLES if compare else ("current",):
            try:
                base = (
                    period
                    if role == "current"
                    else period.previous()
                    if role == "previous"
                    else period.last_year()
                )
            except PeriodError:
                base = None
            labels.append((p_index, role))
            resolved.append(
                [base.for_launch_date(s.launch_date) if base is not None else None for s in stores]
            )
    shape = (len(labels), len(stores))
    starts = np.array(
        [[p.start.toordinal() if p else -1 for p in row] for row in resolved], dtype=np.int64
    ).reshape(shape)
    ends = np.array(
        [[p.end.toordinal() if p else -1 for p in row] for row in resolved], dtype=np.int64
    ).reshape(shape)
    return _Instances(labels, starts, ends, resolved)


def _grid(
    values: Array,
    codes: Codes,
    parts: Mapping[str, Array],
    instances: _Instances,
    role: str,
    n_periods: int,
    summed: bool,
) -> KpiGrid:
    """One role's rows of a KPI. Sums of money and counts (``summed``: additive KPIs; and
    the summed parts of any KPI) are rounded to 1e-6: differences of prefix
    sums carry float noise in the last bits (180876.46999999986 for 180876.47), which
    nobody should have to read."""
    rows = [instances.labels.index((p, role)) for p in range(n_periods)]

    def cells(array: Array, rounded: bool) -> list[list[float | None]]:
        picked = np.round(array[rows], _SUM_DECIMALS) if rounded else array[rows]
        boxed = picked.astype(object)  # Python floats, with None where NaN
        boxed[np.isnan(picked)] = None
        result: list[list[float | None]] = boxed.tolist()
        return result

    return KpiGrid(
        values=cells(np.where(codes == OK, values, np.nan), summed),
        reasons=_REASON_TEXT[codes[rows]].tolist(),
        parts={name: cells(array, name in _SUMMED_PARTS) for name, array in parts.items()}
        if role == "current"
        else {},
    )


_SUMMED_UNITS = frozenset({Unit.CURRENCY, Unit.COUNT})
# Parts that are sums of money or counts (account-health components and medians are not).
_SUMMED_PARTS = frozenset(
    {"numerator", "denominator", "gross", "refunds", "pending_orders", "stores_with_data"}
)
_SUM_DECIMALS = 6


_EPOCH = dt.date(1970, 1, 1).toordinal()


def _memoised(table: TableSource) -> TableSource:
    """The same fact table expression for every use in one engine: each lookup asks the
    backend for the table's schema."""
    known: dict[str, ir.Table] = {}

    def lookup(name: str) -> ir.Table:
        if name not in known:
            known[name] = table(name)
        return known[name]

    return lookup


def _fetch(backend: BaseBackend, expr: Any) -> Frame:
    return _frame(backend.to_pyarrow(expr))


def _fetch_kept(
    backend: BaseBackend,
    compiled: dict[str, str] | None,
    key: str,
    build: Callable[[], ir.Table],
    where: str = "",
) -> Frame:
    """The rows of ``build()``. With ``compiled`` (DuckDB), its SQL is compiled once under
    ``key`` and run again as it is, ``where`` outside it (DuckDB pushes the filter into
    the scan): running it again, e.g. for a refresh's days, compiles nothing."""
    if compiled is None:
        return _fetch(backend, build())
    if key not in compiled:
        compiled[key] = sql_of(backend, build())
    query = f"SELECT * FROM ({compiled[key]}) AS kept {where}"
    return _frame(backend.con.sql(query).to_arrow_table())


def _frame(table: pa.Table) -> Frame:
    frame: Frame = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        kind = column.type
        if pa.types.is_date(kind):
            frame[name] = (
                column.cast(pa.int32()).to_numpy(zero_copy_only=False).astype(np.int64) + _EPOCH
            )
        elif pa.types.is_timestamp(kind):  # microseconds since 1970 (naive UTC)
            micros = column.cast(pa.timestamp("us")).cast(pa.int64())
            frame[name] = micros.fill_null(np.iinfo(np.int64).min).to_numpy(zero_copy_only=False)
        elif (
            pa.types.is_integer(kind)
            or pa.types.is_floating(kind)
            or pa.types.is_decimal(kind)
            or pa.types.is_boolean(kind)
        ):
            frame[name] = column.cast(pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False)
        else:  # text: through the dictionary, so that only distinct values become objects
            encoded = column.cast(pa.string()).dictionary_encode().combine_chunks()
            words = np.array([*encoded.dictionary.to_pylist(), None], dtype=object)
            codes = encoded.indices.fill_null(len(words) - 1).to_numpy(zero_copy_only=False)
            frame[name] = words[codes]
    if "store_id" in frame:
        frame["store_id"] = frame["store_id"].astype(np.int64)
    return frame


_STATUS_SPLIT = {
    "order_days": (
        "orders",
        "pending",
        "item_price",
        "item_tax",
        "shipping_price",
        "shipping_tax",
        "units",
    ),
    "cogs": ("cogs",),
}
_SINGLE = {
    "refund_rd": "amount",
    "refund_od": "amount",
    "return_rd": "quantity",
    "return_od": "quantity",
    "fees": "amount",
    "traffic": "sessions",
}
_BASE_NAMES = {"traffic": "sessions", "fees": "fees"}
_PAIRS = {"due": ("due", "on_time"), "shipped": ("shipped", "late"), "ads": ("ad_cost", "ad_sales")}

_Daily = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], Array]


def _daily_columns(source: str, frame: Frame, rates: _FxTable) -> dict[str, _Daily]:
    """The base columns of one cube as (store ids, day ordinals, values), money converted."""

    factors: Array | None = None

    def column(name: str, mask: npt.NDArray[np.bool_]) -> _Daily:
        nonlocal factors
        values = np.nan_to_num(frame[name][mask].astype(np.float64))
        if name in _MONEY_COLUMNS and "currency" in frame:
            if factors is None:  # once per cube: every money column has the same rows
                factors = rates.factors(frame["day"], frame["currency"].astype(str))
            values = values * factors[mask]
        return frame["store_id"][mask], frame["day"][mask].astype(np.int64), values

    everything = np.ones(frame["store_id"].size, dtype=bool)
    out: dict[str, _Daily] = {}
    if source in _STATUS_SPLIT:
        cancelled = frame["cancelled"] > 0
        for name in _STATUS_SPLIT[source]:
            out[f"{name}_nc"] = column(name, ~cancelled)
            out[f"{name}_c"] = column(name, cancelled)
    elif source in _SINGLE:
        out[_BASE_NAMES.get(source, source)] = column(_SINGLE[source], everything)
    else:
        for name in _PAIRS[source]:
            out[name] = column(name, everything)
    return out


class _FxTable:
    """Multipliers from a currency to the reporting currency on a day, from ``fx_rates``."""

    def __init__(self, engine: KpiEngine, frames: Mapping[str, _CubeRows], reporting: str) -> None:
        self.engine, self.reporting = engine, reporting
        self.frames = frames
        self._rates: dict[tuple[int, str], float] | None = None
        self._reloaded = False  # since the last miss

    def forget(self) -> None:
        """Read the rates again when next needed (they changed)."""
        self._rates = None

    def _load(self) -> dict[tuple[int, str], float]:
        if self._rates is None:
            ranges = [
                found
                for rows in self.frames.values()
                if rows.money and (found := rows.day_range()) is not None
            ]
            rates = self.engine.table("fx_rates")
            if ranges:
                first = dt.date.fromordinal(min(r[0] for r in ranges))
                last = dt.date.fromordinal(max(r[1] for r in ranges))
                rates = rates.filter((rates.date >= first) & (rates.date <= last))
            frame = _fetch(self.engine.backend, rates.select("date", "currency", "rate_to_usd"))
            self._rates = {
                (int(d), str(c)): float(r)
                for d, c, r in zip(
                    frame["date"], frame["currency"], frame["rate_to_usd"], strict=True
                )
            }
        return self._rates

    def _to_usd(self, day: int, currency: str) -> float:
        if currency == "USD":
            return 1.0
        rate = self._load().get((day, currency))
        if rate is None and not self._reloaded:
            # Loaded for the days the cubes had then: a refresh may bring later days.
            self._rates, self._reloaded = None, True
            rate = self._load().get((day, currency))
        if rate is None:
            raise FxRateMissing(currency, dt.date.fromordinal(day), self.reporting)
        self._reloaded = False
        return rate

    def factors(self, days: npt.NDArray[np.int64], currencies: npt.NDArray[Any]) -> Array:
        """Per row: the multiplier from the row's currency on its day to the reporting one."""
        result = np.ones(days.size)
        if days.size == 0:
            return result
        foreign = currencies != self.reporting
        if not foreign.any():
            return result
        # Look each (day, currency) pair up once; rows gather from the distinct pairs.
        names, codes = np.unique(currencies[foreign], return_inverse=True)
        keys = days[foreign].astype(np.int64) * len(names) + codes
        distinct, inverse = np.unique(keys, return_inverse=True)
        pair_factors = np.array(
            [
                self._to_usd(int(key // len(names)), str(names[key % len(names)]))
                / self._to_usd(int(key // len(names)), self.reporting)
                for key in distinct.tolist()
            ]
        )
        result[foreign] = pair_factors[inverse]
        return result
