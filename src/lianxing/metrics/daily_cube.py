"""The daily order cube: orders and their line sums per (store, local day, currency, status).

The order cube (``order_cube``) has one row per order, so the order-based daily sums of a
matrix are still one group-by over millions of rows with a time-zone ``CASE`` on each.
Those sums change only where orders change, so they are kept too: ``kpi_order_days``
holds, per store, local day (in the store's time zone), currency and cancelled flag, the
number of orders and of pending orders and the sums of units, item price, item tax,
shipping price and shipping tax (exact decimals), i.e. exactly what
``FactQueries.order_days`` computes from the order cube.

Kept in step by the order cube, which logs the stores and purchase instants of every
order it appends or recomputes (``kpi_order_days_dirty``) and drops these tables when
it is rebuilt. Before a computation the engine calls :meth:`DailyOrderCube.ensure` with
its stores: the logged ranges of those stores are recomputed (a day of margin on each
side covers any time zone), and a store seen with another time zone than its rows were
cut in (``kpi_order_days_zones``) is recomputed whole. Stores outside a computation stay
as they are until one needs them. Only the marketplace-time cut is kept; a matrix in
UTC reads the order cube.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import ibis.expr.types as ir

from lianxing.metrics.compiler import FactQueries, StoreInfo, Window
from lianxing.metrics.order_cube import (
    CUBE_TABLE,
    DAILY_DIRTY_TABLE,
    DAILY_REFUNDS_TABLE,
    DAILY_TABLE,
    DAILY_ZONES_TABLE,
    DIRTY_COLUMNS,
    OrderCube,
    quote,
)

_COLUMNS = (
    "store_id BIGINT",
    "day DATE",
    "currency VARCHAR(8)",
    "cancelled INTEGER",
    "orders BIGINT",
    "pending BIGINT",
    "units BIGINT",
    "item_price DECIMAL(18, 4)",
    "item_tax DECIMAL(18, 4)",
    "shipping_price DECIMAL(18, 4)",
    "shipping_tax DECIMAL(18, 4)",
)
_NAMES = ", ".join(c.split()[0] for c in _COLUMNS)
_REFUND_COLUMNS = (
    "kind VARCHAR(8)",  # refund (value: an amount in currency) or return (value: units)
    "store_id BIGINT",
    "day DATE",
    "currency VARCHAR(8)",
    "value DECIMAL(18, 4)",
)
_REFUND_NAMES = ", ".join(c.split()[0] for c in _REFUND_COLUMNS)


_TABLES = (DAILY_TABLE, DAILY_REFUNDS_TABLE, DAILY_ZONES_TABLE, DAILY_DIRTY_TABLE)


class DailyOrderCube:
    """The stored per-day order sums of one warehouse (see the module docstring)."""

    def __init__(self, cube: OrderCube) -> None:
        self.cube = cube
        self._ready: dict[int, str] = {}  # store -> zone, in step as of ``_generation``
        self._generation = -1

    @property
    def stored(self) -> bool:
        return self.cube.stored

    def table(self) -> ir.Table:
        return self.cube.derived(DAILY_TABLE)

    def refund_table(self) -> ir.Table:
        return self.cube.derived(DAILY_REFUNDS_TABLE)

    def ensure(self, stores: Sequence[StoreInfo]) -> None:
        """Bring the rows of ``stores`` in step with the order cube (which must be synced)."""
        if self.cube.generation != self._generation:
            self._ready.clear()
            self._generation = self.cube.generation
        wanted = {s.store_id: s for s in stores if self._ready.get(s.store_id) != s.timezone}
        if not wanted:
            return
        cube = self.cube
        name = cube.name
        if not cube.tables_exist(*_TABLES):
            with cube.transaction():
                for table, columns in (
                    (DAILY_TABLE, ", ".join(_COLUMNS)),
                    (DAILY_REFUNDS_TABLE, ", ".join(_REFUND_COLUMNS)),
                    (DAILY_ZONES_TABLE, "store_id BIGINT, timezone VARCHAR(64)"),
                    (DAILY_DIRTY_TABLE, DIRTY_COLUMNS),
                ):
                    cube.execute(f"CREATE TABLE IF NOT EXISTS {name(table)} ({columns})")
        zones = {int(s): str(z) for s, z in cube.rows(f"SELECT * FROM {name(DAILY_ZONES_TABLE)}")}
        dirty = {
            int(s): (lo, hi)
            for s, lo, hi in cube.rows(
                f"SELECT store_id, min(first_ts), max(last_ts) FROM {name(DAILY_DIRTY_TABLE)} "
                "GROUP BY store_id"
            )
        }
        stale = [s for sid, s in wanted.items() if zones.get(sid) != s.timezone]
        stale_ids = {s.store_id for s in stale}
        touched = [s for sid, s in wanted.items() if sid in dirty and sid not in stale_ids]
        if stale or touched:
            with cube.bounded_memory(), cube.transaction():
                if stale:
                    self._recompute(stale, None)
                    ids = _id_list(s.store_id for s in stale)
                    cube.execute(f"DELETE FROM {name(DAILY_ZONES_TABLE)} WHERE store_id IN ({ids})")
                    values = ", ".join(f"({s.store_id}, {quote(s.timezone)})" for s in stale)
                    cube.execute(f"INSERT INTO {name(DAILY_ZONES_TABLE)} VALUES {values}")
                if touched:
                    first = min(dirty[s.store_id][0] for s in touched)
                    last = max(dirty[s.store_id][1] for s in touched)
                    self._recompute(touched, (first, last))
                done = _id_list(s.store_id for s in [*stale, *touched])
                cube.execute(f"DELETE FROM {name(DAILY_DIRTY_TABLE)} WHERE store_id IN ({done})")
        self._ready.update({sid: s.timezone for sid, s in wanted.items()})

    def _recompute(
        self, stores: Sequence[StoreInfo], span: tuple[dt.datetime, dt.datetime] | None
    ) -> None:
        """Replace the rows of ``stores`` for the local days around ``span`` (naive-UTC
        purchase instants; ``None``: every order of those stores)."""
        cube = self.cube
        ids = _id_list(s.store_id for s in stores)
        if span is None:
            found = cube.rows(
                f"SELECT min(purchase_ts), max(purchase_ts) FROM {cube.name(CUBE_TABLE)} "
                f"WHERE store_id IN ({ids})"
            )
            first_ts, last_ts = found[0]
            for table in (DAILY_TABLE, DAILY_REFUNDS_TABLE):
                cube.execute(f"DELETE FROM {cube.name(table)} WHERE store_id IN ({ids})")
            if first_ts is None:  # no order yet
                return
        else:
            first_ts, last_ts = span
        # Local days lie within a day of the UTC date whatever the zone.
        day = dt.timedelta(days=1)
        window = Window(first_ts.date() - day, last_ts.date() + 2 * day)
        queries = FactQueries(
            cube.backend, cube.fact_table, stores, window, "marketplace", order_facts=cube.table()
        )
        for table, names, sums in (
            (DAILY_TABLE, _NAMES, queries.order_day_sums()),
            (DAILY_REFUNDS_TABLE, _REFUND_NAMES, queries.refund_return_order_day_sums()),
        ):
            if span is not None:
                cube.execute(
                    f"DELETE FROM {cube.name(table)} WHERE store_id IN ({ids}) "
                    f"AND day >= DATE '{window.first.isoformat()}' "
                    f"AND day < DATE '{window.end.isoformat()}'"
                )
            cube.execute(
                f"INSERT INTO {cube.name(table)} ({names}) "
                f"SELECT {names} FROM ({cube.sql(sums)}) AS sums"
            )


def _id_list(ids: Iterable[int]) -> str:
    return ", ".join(str(int(i)) for i in ids)
