"""Launch targets measured from warehouse facts (listings, orders, order lines) with Ibis.

Windows are local days of the store (its IANA timezone): fact timestamps are naive UTC,
so the window's local midnights are converted to UTC before filtering.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from lianxing.domain.launch import Measure, launch_day_date
from lianxing.warehouse import Warehouse


@dataclass(frozen=True, slots=True)
class Observation:
    value: Decimal | None
    met_on: dt.date | None  # first local date the target was met (count targets)


def _utc_bounds(start: dt.date, end_exclusive: dt.date, tz: str) -> tuple[dt.datetime, dt.datetime]:
    zone = ZoneInfo(tz)

    def to_utc(day: dt.date) -> dt.datetime:
        local = dt.datetime.combine(day, dt.time(), tzinfo=zone)
        return local.astimezone(dt.UTC).replace(tzinfo=None)

    return to_utc(start), to_utc(end_exclusive)


def observe(
    warehouse: Warehouse,
    measure: Measure,
    *,
    store_id: int,
    timezone: str,
    currency: str,
    launch_date: dt.date,
) -> Observation:
    """What the facts show for ``measure`` in launch days 1..``measure.by_day``."""
    last_day = launch_day_date(launch_date, measure.by_day)
    if measure.kind == "live_skus":
        return _live_skus(warehouse, store_id, launch_date, last_day, measure.at_least)
    start, end = _utc_bounds(launch_date, last_day + dt.timedelta(days=1), timezone)
    if measure.kind == "first_order":
        return _first_order(warehouse, store_id, start, end, timezone)
    if measure.kind == "gmv":
        return _gmv(warehouse, store_id, start, end, currency)
    raise ValueError(f"unknown measure kind {measure.kind!r}")


def _live_skus(
    warehouse: Warehouse,
    store_id: int,
    first: dt.date,
    last: dt.date,
    at_least: Decimal | None,
) -> Observation:
    listings = warehouse.table("listings")
    per_day = (
        listings.filter(
            (listings.store_id == store_id)
            & (listings.status == "active")
            & (listings.snapshot_date >= first)
            & (listings.snapshot_date <= last)
        )
        .group_by("snapshot_date")
        .aggregate(live=listings.sku.nunique())
        .order_by("snapshot_date")
    )
    rows = warehouse.ibis.to_pyarrow(per_day).to_pylist()
    if not rows:
        return Observation(None, None)
    best = max(int(r["live"]) for r in rows)
    met_on = None
    if at_least is not None:
        met_on = next((r["snapshot_date"] for r in rows if r["live"] >= at_least), None)
    return Observation(Decimal(best), met_on)


def _first_order(
    warehouse: Warehouse, store_id: int, start: dt.datetime, end: dt.datetime, tz: str
) -> Observation:
    orders = warehouse.table("orders")
    in_window = orders.filter(
        (orders.store_id == store_id)
        & (orders.status != "cancelled")
        & (orders.purchase_ts >= start)
        & (orders.purchase_ts < end)
    )
    # ORDER BY + LIMIT rather than MIN(): an empty MIN is NULL in a non-nullable column.
    first = in_window.order_by("purchase_ts").limit(1).select("purchase_ts")
    rows = warehouse.ibis.to_pyarrow(first).to_pylist()
    if not rows:
        return Observation(Decimal(0), None)
    count = warehouse.ibis.to_pyarrow(in_window.aggregate(n=in_window.order_id.nunique()))
    first_ts: dt.datetime = rows[0]["purchase_ts"]
    local_date = first_ts.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(tz)).date()
    return Observation(Decimal(int(count.to_pylist()[0]["n"])), local_date)


def _gmv(
    warehouse: Warehouse, store_id: int, start: dt.datetime, end: dt.datetime, currency: str
) -> Observation:
    orders = warehouse.table("orders")
    lines = warehouse.table("order_lines")
    in_window = orders.filter(
        (orders.store_id == store_id)
        & (orders.status != "cancelled")
        & (orders.purchase_ts >= start)
        & (orders.purchase_ts < end)
    ).select("store_id", "order_id")
    joined = lines.filter(lines.currency == currency).join(in_window, ["store_id", "order_id"])
    total = joined.aggregate(gmv=joined.item_price.sum())
    value = warehouse.ibis.to_pyarrow(total).to_pylist()[0]["gmv"]
    return Observation(Decimal(str(value)) if value is not None else Decimal(0), None)


__all__ = ["Observation", "observe"]
