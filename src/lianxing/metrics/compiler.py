"""Compile the measure vocabulary to Ibis expressions over the canonical facts.

Every expression here runs unchanged on DuckDB and PostgreSQL (and any SQL backend Ibis
supports). Two shapes are produced:

* **daily cubes** for additive measures: one row per (store, local day[, currency]) with
  the raw sums, split by order status so that options like ``cancelled`` are applied
  afterwards without another query, and kept in their original currency so the reporting
  currency is applied afterwards too (see ``engine``);
* **period aggregates** for measures that do not add up over days (distinct SKUs, latest
  snapshots, medians), computed per (store or scope, period) through a small bounds table.

Local days are computed in the database from naive-UTC timestamps with a CASE over the
timezone's UTC offsets (``domain.periods.offset_segments``), so no backend session time
zone is ever involved.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import numpy as np
import numpy.typing as npt
import pyarrow as pa
from ibis.backends import BaseBackend

from lianxing.domain.periods import OffsetSegment, offset_segments
from lianxing.warehouse.temporary import temporary_table

CANCELLED = "cancelled"
_NULLABLE_INT = ibis.dtype("int64")
_ORDER_MONEY = ("item_price", "item_tax", "shipping_price", "shipping_tax")
ACTIVE = "active"
UTC = "UTC"


@dataclass(frozen=True, slots=True)
class StoreInfo:
    """What the engine needs to know about a store (the app DB ``Store`` row has more)."""

    store_id: int
    timezone: str
    currency: str = "USD"
    launch_date: dt.date | None = None
    label: str = ""


TableSource = Callable[[str], ir.Table]


@dataclass(frozen=True, slots=True)
class Window:
    """Local days ``[first, end)`` the cubes cover, and the naive-UTC range around them."""

    first: dt.date
    end: dt.date

    @property
    def utc_start(self) -> dt.datetime:
        # Every timezone is within 14 hours of UTC: a day of margin on each side is enough.
        return dt.datetime.combine(self.first - dt.timedelta(days=1), dt.time(0))

    @property
    def utc_end(self) -> dt.datetime:
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(0))


class FactQueries:
    """Builds the cube and period expressions for one set of stores, window and timezone mode."""

    def __init__(
        self,
        backend: BaseBackend,
        table: TableSource,
        stores: Sequence[StoreInfo],
        window: Window,
        timezone_mode: str,
        order_facts: ir.Table | None = None,
        daily_orders: ir.Table | None = None,
        daily_refunds: ir.Table | None = None,
    ) -> None:
        self.backend = backend
        # The order cube (``order_cube``): one row per order with its line sums; and the
        # daily cube over it (``daily_cube``), in step for ``stores`` when given.
        self.order_facts = order_facts
        self.daily_orders = daily_orders
        self.daily_refunds = daily_refunds
        self.table = table
        self.stores = list(stores)
        self.window = window
        self.timezone_mode = timezone_mode
        zones = sorted({s.timezone for s in stores}) if timezone_mode != UTC else [UTC]
        self._zone_index = {name: i for i, name in enumerate(zones)}
        self._segments: list[list[OffsetSegment]] = [
            offset_segments(name, window.utc_start, window.utc_end)
            if name != UTC
            else [OffsetSegment(window.utc_start, 0)]
            for name in zones
        ]
        # Arrow, not a dict: a dict memtable goes through pandas.
        self.store_zones = ibis.memtable(
            pa.table(
                {
                    "store_id": pa.array([s.store_id for s in stores], pa.int64()),
                    "tz_index": pa.array(
                        [
                            self._zone_index[s.timezone if timezone_mode != UTC else UTC]
                            for s in stores
                        ],
                        pa.int64(),
                    ),
                }
            )
        )

    # -- local days ------------------------------------------------------------------
    def _offset_minutes(
        self, tz_index: ir.IntegerColumn, ts: ir.TimestampColumn
    ) -> ir.IntegerValue:
        def zone_offset(segments: list[OffsetSegment]) -> ir.IntegerValue:
            if len(segments) == 1:
                return ibis.literal(segments[0].offset_minutes, "int32")
            branches = [
                (ts < nxt.start_utc, ibis.literal(cur.offset_minutes, "int32"))
                for cur, nxt in itertools.pairwise(segments)
            ]
            return ibis.cases(*branches, else_=ibis.literal(segments[-1].offset_minutes, "int32"))

        if len(self._segments) == 1:
            return zone_offset(self._segments[0])
        return ibis.cases(
            *[(tz_index == i, zone_offset(segs)) for i, segs in enumerate(self._segments[:-1])],
            else_=zone_offset(self._segments[-1]),
        )

    def local_day(self, table: ir.Table, ts: ir.TimestampColumn) -> ir.DateValue:
        offset = self._offset_minutes(table.tz_index, ts)
        return (ts + offset.as_interval("m")).date()

    def _in_window(self, ts: ir.TimestampColumn) -> ir.BooleanValue:
        return (ts >= self.window.utc_start) & (ts < self.window.utc_end)

    def _day_in_window(self, day: ir.DateValue) -> ir.BooleanValue:
        return (day >= self.window.first) & (day < self.window.end)

    def _localised(self, name: str | ir.Table, ts_column: str, *columns: str) -> ir.Table:
        """Rows of a fact table in the window, of the selected stores, with ``day`` (local)."""
        facts = self.table(name) if isinstance(name, str) else name
        facts = facts.filter(self._in_window(facts[ts_column]))
        joined = facts.join(self.store_zones, "store_id")
        with_day = joined.select(*columns, day=self.local_day(joined, joined[ts_column]))
        return with_day.filter(self._day_in_window(with_day.day))

    def _order_facts(self) -> ir.Table:
        if self.order_facts is None:
            raise ValueError("the order cube is needed for order-based measures")
        return self.order_facts

    def orders(self, *extra: str) -> ir.Table:
        """Orders in the window with their local purchase day and cancelled flag (from the
        order cube)."""
        return self._localised(
            self._order_facts(),
            "purchase_ts",
            "store_id",
            "order_id",
            "currency",
            "cancelled",
            *extra,
        )

    def materialised_orders(self) -> AbstractContextManager[ir.Table]:
        """Orders in the window with their local purchase day, stored once for the queries
        that join them to lines (COGS, sold SKUs)."""
        return temporary_table(self.backend, self.orders(), prefix="lx_orders")

    # -- daily cubes -----------------------------------------------------------------
    def order_day_sums(self) -> ir.Table:
        """Orders, pending orders and line sums (exact) per (store, local day, currency,
        cancelled): one pass over the order cube."""
        orders = self.orders(*_ORDER_MONEY, "units", "unpriced")
        return orders.group_by("store_id", "day", "currency", "cancelled").aggregate(
            orders=orders.count(),
            pending=orders.unpriced.sum(),
            units=orders.units.sum(),
            **{c: orders[c].sum() for c in _ORDER_MONEY},
        )

    def order_days(self) -> ir.Table:
        """:meth:`order_day_sums` with money as floats, read from the stored daily cube
        (``daily_cube``) where the engine keeps one in step for these stores."""
        if self.daily_orders is not None and self.timezone_mode != UTC:
            daily = self.daily_orders.semi_join(self.store_zones, "store_id")
            sums = daily.filter(self._day_in_window(daily.day))
        else:
            sums = self.order_day_sums()
        return sums.select(
            "store_id",
            "day",
            "currency",
            "cancelled",
            "orders",
            "pending",
            "units",
            **{c: sums[c].cast("float64") for c in _ORDER_MONEY},
        )

    def refunds_by_refund_date(self) -> ir.Table:
        refunds = self._localised("refunds", "refund_ts", "store_id", "currency", "amount")
        return refunds.group_by("store_id", "day", "currency").aggregate(
            amount=refunds.amount.sum().cast("float64")
        )

    def _by_order_day(self, facts: ir.Table, *columns: str) -> ir.Table:
        """Rows of refunds or returns with the local purchase day of their order (in the
        window): joined to the order cube first, so only their orders get a local day."""
        cube = self._order_facts()
        joined = facts.join(
            cube.select("store_id", "order_id", purchase="purchase_ts"), ["store_id", "order_id"]
        )
        return self._localised(joined, "purchase", "store_id", *columns)

    def refund_return_order_day_sums(self) -> ir.Table:
        """Refunds and returns by the local day of their order, in one pass over the order
        cube: ``kind`` is ``refund`` (``value`` an amount in ``currency``) or ``return``
        (``value`` a quantity); exact decimals."""
        refunds, returns = self.table("refunds"), self.table("returns")
        text, value = ibis.dtype("string"), ibis.dtype("decimal(18, 4)")
        both = refunds.select(
            store_id=refunds.store_id.cast(_NULLABLE_INT),
            order_id=refunds.order_id.cast(text),
            kind=ibis.literal("refund", text),
            currency=refunds.currency.cast(text),
            value=refunds.amount.cast(value),
        ).union(
            returns.select(
                store_id=returns.store_id.cast(_NULLABLE_INT),
                order_id=returns.order_id.cast(text),
                kind=ibis.literal("return", text),
                currency=ibis.null(text),
                value=returns.quantity.cast(value),
            )
        )
        rows = self._by_order_day(both, "kind", "currency", "value")
        return rows.group_by("kind", "store_id", "day", "currency").aggregate(
            value=rows.value.sum()
        )

    def refunds_and_returns_by_order_date(self) -> ir.Table:
        """:meth:`refund_return_order_day_sums` as floats, from the stored daily cube where
        the engine keeps one in step for these stores."""
        if self.daily_refunds is not None and self.timezone_mode != UTC:
            stored = self.daily_refunds.semi_join(self.store_zones, "store_id")
            sums = stored.filter(self._day_in_window(stored.day))
        else:
            sums = self.refund_return_order_day_sums()
        return sums.select("kind", "store_id", "day", "currency", value=sums.value.cast("float64"))

    def refunds_by_order_date(self) -> ir.Table:
        both = self.refunds_and_returns_by_order_date()
        refunds = both.filter(both.kind == "refund")
        return refunds.select("store_id", "day", "currency", amount=refunds.value)

    def returns_by_return_date(self) -> ir.Table:
        returns = self._localised("returns", "return_ts", "store_id", "quantity")
        return returns.group_by("store_id", "day").aggregate(quantity=returns.quantity.sum())

    def returns_by_order_date(self) -> ir.Table:
        both = self.refunds_and_returns_by_order_date()
        returns = both.filter(both.kind == "return")
        return returns.select("store_id", "day", quantity=returns.value)

    def due_orders(self) -> ir.Table:
        due = self._localised(
            "orders",
            "promised_ship_by_ts",
            "store_id",
            "status",
            "promised_ship_by_ts",
            "shipped_ts",
        )
        due = due.filter(due.status != CANCELLED)
        on_time = due.shipped_ts.notnull() & (due.shipped_ts <= due.promised_ship_by_ts)
        return due.group_by("store_id", "day").aggregate(
            due=due.count(), on_time=_flag(on_time).sum()
        )

    def shipped_orders(self) -> ir.Table:
        shipped = self._localised(
            "orders", "shipped_ts", "store_id", "promised_ship_by_ts", "shipped_ts"
        )
        late = shipped.promised_ship_by_ts.notnull() & (
            shipped.shipped_ts > shipped.promised_ship_by_ts
        )
        return shipped.group_by("store_id", "day").aggregate(
            shipped=shipped.count(), late=_flag(late).sum()
        )

    def ads(self) -> ir.Table:
        ads = self._dated("ad_daily")
        return ads.group_by("store_id", "day", "currency").aggregate(
            ad_cost=ads.cost.sum().cast("float64"),
            ad_sales=ads.attributed_sales.sum().cast("float64"),
        )

    def traffic(self) -> ir.Table:
        traffic = self._dated("traffic_daily")
        return traffic.group_by("store_id", "day").aggregate(sessions=traffic.sessions.sum())

    def fees(self) -> ir.Table:
        fees = self._localised("fees", "posted_ts", "store_id", "currency", "amount")
        return fees.group_by("store_id", "day", "currency").aggregate(
            amount=fees.amount.sum().cast("float64")
        )

    def cogs(self, orders: ir.Table) -> ir.Table:
        """Quantity × the unit cost valid on the order day (latest ``valid_from`` not after it)."""
        costs = self.table("cogs")
        following = ibis.window(group_by=[costs.store_id, costs.sku], order_by=costs.valid_from)
        periods = costs.select(
            "store_id",
            "sku",
            "valid_from",
            "unit_cost",
            "currency",
            valid_to=costs.valid_from.lead().over(following),
        )
        lines = self.table("order_lines").select("store_id", "order_id", "sku", "quantity")
        sold = lines.join(
            orders.select("store_id", "order_id", "day", "cancelled"), ["store_id", "order_id"]
        )
        joined = sold.join(
            periods,
            [
                sold.store_id == periods.store_id,
                sold.sku == periods.sku,
                sold.day >= periods.valid_from,
                periods.valid_to.isnull() | (sold.day < periods.valid_to),
            ],
        )
        return joined.group_by(["store_id", "day", periods.currency, "cancelled"]).aggregate(
            cogs=(joined.quantity * joined.unit_cost).sum().cast("float64")
        )

    def _dated(self, name: str) -> ir.Table:
        facts = self.table(name)
        facts = facts.filter((facts.date >= self.window.first) & (facts.date < self.window.end))
        facts = facts.semi_join(self.store_zones, "store_id")
        return facts.mutate(day=facts.date)

    # -- coverage --------------------------------------------------------------------
    def coverage(self, columns: Sequence[tuple[str, str]]) -> ir.Table:
        """First and last fact per (fact table, store), whatever the window, for every
        (table, column) in one query; dates come back as midnight with ``local_day`` 1
        (instants: 0, see :meth:`local_days`)."""
        parts = []
        for name, column in columns:
            if name == "orders" and self.daily_orders is not None and self.timezone_mode != UTC:
                # The stored daily cube has every order's local day: a far smaller scan.
                facts, column = self.daily_orders, "day"
            else:
                facts = self._order_facts() if name == "orders" else self.table(name)
            is_date = facts[column].type().is_date()
            value = facts[column].cast("timestamp")
            per_store = facts.group_by("store_id").aggregate(first=value.min(), last=value.max())
            parts.append(
                per_store.select(  # one nullable type on every side of the union
                    store_id=per_store.store_id.cast(_NULLABLE_INT),
                    first=per_store.first,
                    last=per_store.last,
                    fact=ibis.literal(name),
                    local_day=ibis.literal(int(is_date), "int32"),
                )
            )
        return ibis.union(*parts) if len(parts) > 1 else parts[0]

    def local_days(
        self, store_ids: npt.NDArray[np.int64], instants_us: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.int64]:
        """Local day ordinals of naive-UTC instants (microseconds since 1970) in numpy.

        Instants outside the window get the offset of the window's first or last segment:
        their day may be off by one, but stays outside the window, which is all that
        coverage is compared with. Stores not in this query's stores get -1.
        """
        zone_of = {
            s.store_id: self._zone_index[s.timezone if self.timezone_mode != UTC else UTC]
            for s in self.stores
        }
        zones = np.array([zone_of.get(int(sid), -1) for sid in store_ids.tolist()], np.int64)
        offsets = np.zeros(instants_us.size, np.int64)
        for index, segments in enumerate(self._segments):
            rows = zones == index
            starts = np.array([_micros(seg.start_utc) for seg in segments], np.int64)
            minutes = np.array([seg.offset_minutes for seg in segments], np.int64)
            position = np.clip(np.searchsorted(starts, instants_us[rows], "right") - 1, 0, None)
            offsets[rows] = minutes[position] * 60_000_000
        days = (instants_us + offsets) // 86_400_000_000 + _EPOCH_ORDINAL
        return np.where(zones >= 0, days, -1)

    # -- period aggregates -----------------------------------------------------------
    def sold_skus(self, orders: ir.Table, bounds: ir.Table) -> ir.Table:
        lines = self.table("order_lines")
        lines = lines.filter(lines.quantity >= 1).select("store_id", "order_id", "sku")
        sold = lines.join(
            orders.select("store_id", "order_id", "day", "cancelled"), ["store_id", "order_id"]
        )
        joined = _within(sold, bounds, sold.day)
        return joined.group_by("store_id", "period").aggregate(
            sold_skus=joined.sku.nunique(where=joined.cancelled == 0),
            sold_skus_with_cancelled=joined.sku.nunique(),
        )

    def listings(self, bounds: ir.Table) -> ir.Table:
        listings = self.table("listings").select("store_id", "sku", "snapshot_date", "status")
        joined = _within(listings, bounds, listings.snapshot_date)
        latest = joined.group_by("store_id", "period").aggregate(
            latest=joined.snapshot_date.max(),
            active_skus=joined.sku.nunique(where=joined.status == ACTIVE),
        )
        at_latest = joined.join(
            latest, ["store_id", "period", joined.snapshot_date == latest.latest]
        )
        live = at_latest.group_by("store_id", "period").aggregate(
            live_skus=_flag(at_latest.status == ACTIVE).sum()
        )
        return latest.join(live, ["store_id", "period"]).select(
            "store_id", "period", "active_skus", "live_skus"
        )

    def account_health(self, bounds: ir.Table) -> ir.Table:
        health = self.table("account_health")
        joined = _within(health, bounds, health.snapshot_date)
        latest = joined.group_by("store_id", "period").aggregate(latest=joined.snapshot_date.max())
        rows = joined.join(latest, ["store_id", "period", joined.snapshot_date == latest.latest])
        return rows.select(
            "store_id",
            "period",
            "ahr_score",
            "order_defect_rate",
            "late_shipment_rate",
            "pre_fulfillment_cancel_rate",
            "valid_tracking_rate",
        )

    def first_response_median(self, scoped_bounds: ir.Table) -> ir.Table:
        """Median per (scope, period); for several stores, the median over all their tickets."""
        tickets = self._localised(
            "cs_tickets", "opened_ts", "store_id", "opened_ts", "first_response_ts"
        )
        tickets = tickets.filter(tickets.first_response_ts.notnull())
        tickets = tickets.mutate(
            hours=(tickets.first_response_ts.epoch_seconds() - tickets.opened_ts.epoch_seconds())
            / 3600.0
        )
        joined = _within(tickets, scoped_bounds, tickets.day)
        return joined.group_by("scope", "period").aggregate(
            hours=joined.hours.median(), tickets=joined.count()
        )


def bounds_table(
    rows: Sequence[tuple[int, int, dt.date, dt.date]], *, scoped: bool = False
) -> ir.Table:
    """Rows (store_id, period, first day, end day), or (scope, store_id, ...) if scoped."""
    columns = ["store_id", "period", "start", "end"]
    schema = {"store_id": "int64", "period": "int64", "start": "date", "end": "date"}
    if scoped:
        columns = ["scope", *columns]
        schema = {"scope": "int64", **schema}
    types = {"int64": pa.int64(), "date": pa.date32()}
    data = {
        name: pa.array([row[i] for row in rows], types[schema[name]])
        for i, name in enumerate(columns)
    }
    return ibis.memtable(pa.table(data))


def _within(facts: ir.Table, bounds: ir.Table, day: ir.DateValue) -> ir.Table:
    joined = facts.join(
        bounds, [facts.store_id == bounds.store_id, day >= bounds.start, day < bounds.end]
    )
    return joined


_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


def _micros(instant: dt.datetime) -> int:
    return (instant - dt.datetime(1970, 1, 1)) // dt.timedelta(microseconds=1)


def _flag(condition: ir.BooleanValue) -> ir.IntegerValue:
    """1 or 0; PostgreSQL cannot cast a boolean to a bigint, a CASE works everywhere."""
    return condition.ifelse(1, 0)
