"""Known incidents written on top of demo facts, to measure the detectors.

Each ``inject_*`` function writes one incident for one rule into a store's facts (as its
own batch, like an import would) and returns an :class:`Incident` naming what it wrote,
so an evaluation can count what a detector found (recall) and what it flagged that no
incident explains (false positives). Used by ``bench/integrity_eval.py`` and the tests.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from lianxing.domain.integrity import Finding, RuleId
from lianxing.integrity.detectors import CANCELLED, rows
from lianxing.warehouse import Warehouse

INJECTED_SOURCE = "file:generic.injected"


@dataclass(frozen=True, slots=True)
class Incident:
    rule: RuleId
    store_id: int
    day: dt.date  # local day the incident is on (its first day)
    order_ids: frozenset[str] = frozenset()
    subject: str = ""  # for incidents without orders: the finding subject to expect
    last_day: dt.date | None = None

    def matched_by(self, finding: Finding, timezone: str) -> bool:
        """Whether a finding (of any rule) points at this incident."""
        if finding.store_id != self.store_id:
            return False
        if self.order_ids:
            return bool(self.order_ids & set(finding.order_ids))
        zone = ZoneInfo(timezone)
        first = finding.window_start.replace(tzinfo=dt.UTC).astimezone(zone).date()
        last = finding.window_end.replace(tzinfo=dt.UTC).astimezone(zone).date()
        return (
            finding.subject == self.subject
            and first <= (self.last_day or self.day)
            and (self.day <= last)
        )


@dataclass
class StoreFacts:
    """What an injection needs to know about a store to write believable rows."""

    store_id: int
    timezone: str
    currency: str
    prices: dict[str, Decimal]  # sku -> unit price from the latest listing snapshot
    sessions: dict[str, int] = field(default_factory=dict)  # sku -> sessions in the month

    def utc(self, day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
        local = dt.datetime.combine(day, dt.time(hour, minute), tzinfo=ZoneInfo(self.timezone))
        return local.astimezone(dt.UTC).replace(tzinfo=None)


def store_facts(
    warehouse: Warehouse, store_id: int, timezone: str, currency: str, month: dt.date
) -> StoreFacts:
    listings = warehouse.table("listings")
    listings = listings.filter((listings.store_id == store_id) & listings.price.notnull())
    latest = listings.group_by("sku").aggregate(last=listings.snapshot_date.max())
    priced = listings.join(latest, ["sku", listings.snapshot_date == latest.last])
    prices = {r["sku"]: r["price"] for r in rows(priced.select("sku", "price"))}
    traffic = warehouse.table("traffic_daily")
    end = (month + dt.timedelta(days=32)).replace(day=1)
    traffic = traffic.filter(
        (traffic.store_id == store_id) & (traffic.date >= month) & (traffic.date < end)
    )
    per_sku = traffic.group_by("sku").aggregate(sessions=traffic.sessions.sum())
    sessions = {r["sku"]: int(r["sessions"]) for r in rows(per_sku)}
    return StoreFacts(store_id, timezone, currency, prices, sessions)


def _id(*parts: object) -> str:
    return "INJ-" + hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:14].upper()


def _order(
    store: StoreFacts,
    order_id: str,
    at: dt.datetime,
    buyer: str,
    postal: str,
    *,
    delivered: dt.datetime | None = None,
) -> dict[str, Any]:
    return {
        "store_id": store.store_id,
        "order_id": order_id,
        "purchase_ts": at,
        "status": "delivered" if delivered else "unshipped",
        "fulfillment_channel": "MFN",
        "currency": store.currency,
        "is_business": False,
        "buyer_ref": buyer,
        "ship_country": "XX",
        "ship_postal_code": postal,
        "promised_ship_by_ts": at + dt.timedelta(days=2),
        "shipped_ts": (delivered - dt.timedelta(days=2)) if delivered else None,
        "delivered_ts": delivered,
    }


def _line(
    store: StoreFacts, order_id: str, sku: str, quantity: int, unit_price: Decimal
) -> dict[str, Any]:
    return {
        "store_id": store.store_id,
        "order_id": order_id,
        "line_id": order_id + "-1",
        "sku": sku,
        "quantity": quantity,
        "item_price": unit_price * quantity,
        "item_tax": Decimal(0),
        "shipping_price": Decimal(0),
        "shipping_tax": Decimal(0),
        "promotion_discount": Decimal(0),
        "currency": store.currency,
    }


def _write(
    warehouse: Warehouse, batch: str, tables: dict[str, list[dict[str, Any]]], source: str
) -> None:
    with warehouse.batch(batch, source=source) as writer:
        for name, data in tables.items():
            if data:
                writer.append(name, data)


def _by_sessions(store: StoreFacts, rank: int) -> str:
    """The SKU at ``rank`` when priced SKUs are sorted by sessions, most visited first."""
    ranked = sorted(store.prices, key=lambda s: (-store.sessions.get(s, 0), s))
    return ranked[min(rank, len(ranked) - 1)]


def inject_buyer_burst(warehouse: Warehouse, store: StoreFacts, day: dt.date) -> Incident:
    """One buyer, 7 orders of popular SKUs within 40 minutes, each to another postal code."""
    buyer = _id("buyer", store.store_id, day)[:16].lower()
    orders, lines = [], []
    for i in range(7):
        order_id = _id("burst", store.store_id, day, i)
        orders.append(_order(store, order_id, store.utc(day, 14, 5 + 6 * i), buyer, f"7{i:04d}"))
        sku = _by_sessions(store, i % 3)
        lines.append(_line(store, order_id, sku, 1, store.prices[sku]))
    _write(
        warehouse,
        f"inj-burst-{store.store_id}-{day}",
        {"orders": orders, "order_lines": lines},
        INJECTED_SOURCE,
    )
    return Incident(
        RuleId.ORDER_CONCENTRATION, store.store_id, day, frozenset(o["order_id"] for o in orders)
    )


def inject_postal_cluster(warehouse: Warehouse, store: StoreFacts, day: dt.date) -> Incident:
    """Nine orders from three buyers to one postal code within 50 minutes."""
    orders, lines = [], []
    for i in range(9):
        order_id = _id("postal", store.store_id, day, i)
        buyer = _id("pbuyer", store.store_id, day, i % 3)[:16].lower()
        orders.append(_order(store, order_id, store.utc(day, 10, 2 + 6 * i), buyer, "88888"))
        sku = _by_sessions(store, 1 + i % 4)
        lines.append(_line(store, order_id, sku, 1, store.prices[sku]))
    _write(
        warehouse,
        f"inj-postal-{store.store_id}-{day}",
        {"orders": orders, "order_lines": lines},
        INJECTED_SOURCE,
    )
    return Incident(
        RuleId.ORDER_CONCENTRATION, store.store_id, day, frozenset(o["order_id"] for o in orders)
    )


def inject_quick_refunds(warehouse: Warehouse, store: StoreFacts, day: dt.date) -> Incident:
    """Six orders of one SKU over six days, each refunded in full a day after delivery."""
    sku = _by_sessions(store, 6)
    orders, lines, refunds = [], [], []
    for i in range(6):
        order_id = _id("refund", store.store_id, day, i)
        bought = store.utc(day + dt.timedelta(days=i), 11 + i, 17)
        delivered = bought + dt.timedelta(days=3)
        buyer = _id("rbuyer", store.store_id, day, i)[:16].lower()
        orders.append(_order(store, order_id, bought, buyer, f"5{i:04d}", delivered=delivered))
        line = _line(store, order_id, sku, 1, store.prices[sku])
        lines.append(line)
        refunds.append(
            {
                "store_id": store.store_id,
                "refund_id": order_id + "-R1",
                "order_id": order_id,
                "sku": sku,
                "refund_ts": delivered + dt.timedelta(hours=20),
                "amount": line["item_price"],
                "currency": store.currency,
                "reason": "buyer_remorse",
            }
        )
    _write(
        warehouse,
        f"inj-refund-{store.store_id}-{day}",
        {"orders": orders, "order_lines": lines, "refunds": refunds},
        INJECTED_SOURCE,
    )
    return Incident(
        RuleId.QUICK_FULL_REFUNDS, store.store_id, day, frozenset(o["order_id"] for o in orders)
    )


def inject_conversion_spike(warehouse: Warehouse, store: StoreFacts, day: dt.date) -> Incident:
    """Twelve orders of a little-visited SKU in one day from twelve buyers, hours apart."""
    sku = _by_sessions(store, len(store.prices) - 3)
    orders, lines = [], []
    for i in range(12):
        order_id = _id("conv", store.store_id, day, i)
        buyer = _id("cbuyer", store.store_id, day, i)[:16].lower()
        orders.append(_order(store, order_id, store.utc(day, 8 + i, 31), buyer, f"6{i:04d}"))
        lines.append(_line(store, order_id, sku, 1, store.prices[sku]))
    _write(
        warehouse,
        f"inj-conv-{store.store_id}-{day}",
        {"orders": orders, "order_lines": lines},
        INJECTED_SOURCE,
    )
    return Incident(
        RuleId.UNEXPLAINED_CONVERSION, store.store_id, day, frozenset(o["order_id"] for o in orders)
    )


def _ad_row(warehouse: Warehouse, store_id: int, day: dt.date) -> dict[str, Any]:
    ads = warehouse.table("ad_daily")
    ads = ads.filter((ads.store_id == store_id) & (ads.date == day))
    found = rows(ads.order_by("campaign_id").limit(1))
    if not found:
        raise ValueError(f"store {store_id} has no ad rows on {day}")
    row = found[0]
    row.pop("source", None)
    row.pop("batch_id", None)
    return row


def inject_click_flood(warehouse: Warehouse, store: StoreFacts, day: dt.date) -> Incident:
    """A campaign-day whose clicks are five times normal while impressions stay the same."""
    row = _ad_row(warehouse, store.store_id, day)
    row["clicks"] = max(int(row["clicks"] or 0) * 5, 40)
    _write(warehouse, f"inj-clicks-{store.store_id}-{day}", {"ad_daily": [row]}, INJECTED_SOURCE)
    return Incident(
        RuleId.AD_INCONSISTENCY, store.store_id, day, subject=f"campaign:{row['campaign_id']}"
    )


def inject_ad_sales_over_gmv(warehouse: Warehouse, store: StoreFacts, day: dt.date) -> Incident:
    """Attributed sales of a day set to twice the store's whole GMV of that day and the
    seven days after it (any attribution window)."""
    lines = warehouse.table("order_lines")
    orders = warehouse.table("orders")
    start, end = store.utc(day, 0), store.utc(day + dt.timedelta(days=8), 0)
    orders = orders.filter(
        (orders.store_id == store.store_id)
        & (orders.purchase_ts >= start)
        & (orders.purchase_ts < end)
        & (orders.status != CANCELLED)
    ).select("order_id")
    lines = lines.filter(lines.store_id == store.store_id).join(orders, "order_id")
    gmv = rows(lines.aggregate(gmv=lines.item_price.sum()).select("gmv"))[0]["gmv"] or Decimal(0)
    row = _ad_row(warehouse, store.store_id, day)
    row["attributed_sales"] = Decimal(gmv) * 2 + Decimal(100)
    _write(warehouse, f"inj-adsales-{store.store_id}-{day}", {"ad_daily": [row]}, INJECTED_SOURCE)
    return Incident(RuleId.AD_INCONSISTENCY, store.store_id, day, subject="ad_sales_over_gmv")


def inject_cheap_orders(warehouse: Warehouse, store: StoreFacts, day: dt.date) -> Incident:
    """Three orders of a popular SKU at a fifth of its price."""
    sku = _by_sessions(store, 2)
    orders, lines = [], []
    for i in range(3):
        order_id = _id("cheap", store.store_id, day, i)
        buyer = _id("xbuyer", store.store_id, day, i)[:16].lower()
        orders.append(_order(store, order_id, store.utc(day, 9 + 3 * i, 44), buyer, f"4{i:04d}"))
        lines.append(
            _line(store, order_id, sku, 1, (store.prices[sku] / 5).quantize(Decimal("0.01")))
        )
    _write(
        warehouse,
        f"inj-cheap-{store.store_id}-{day}",
        {"orders": orders, "order_lines": lines},
        INJECTED_SOURCE,
    )
    return Incident(
        RuleId.PRICE_BELOW_USUAL, store.store_id, day, frozenset(o["order_id"] for o in orders)
    )


def inject_new_store_cluster(
    warehouse: Warehouse, store: StoreFacts, launch: dt.date, orders_count: int
) -> Incident:
    """``orders_count`` orders of one little-visited SKU over a new store's first week."""
    sku = _by_sessions(store, len(store.prices) - 1)
    orders, lines = [], []
    for i in range(orders_count):
        order_id = _id("newstore", store.store_id, launch, i)
        buyer = _id("nbuyer", store.store_id, launch, i)[:16].lower()
        at = store.utc(launch + dt.timedelta(days=i % 7), 9 + (i // 7) % 12, 7 * (i % 8))
        orders.append(_order(store, order_id, at, buyer, f"3{i:04d}"))
        lines.append(_line(store, order_id, sku, 1, store.prices[sku]))
    _write(
        warehouse,
        f"inj-newstore-{store.store_id}",
        {"orders": orders, "order_lines": lines},
        INJECTED_SOURCE,
    )
    return Incident(
        RuleId.NEW_STORE_SKU_CLUSTER,
        store.store_id,
        launch,
        frozenset(o["order_id"] for o in orders),
    )


def inject_source_mismatches(
    warehouse: Warehouse, store: StoreFacts, day: dt.date
) -> list[Incident]:
    """Settlement fees for two unknown orders; one order charged commission on twice its
    price; one order imported again from an API under another id."""
    incidents = []
    ghost_ids = [_id("ghost", store.store_id, day, i) for i in range(2)]
    fees = [
        {
            "store_id": store.store_id,
            "fee_id": f"{order_id}-C",
            "posted_ts": store.utc(day, 12),
            "order_id": order_id,
            "sku": next(iter(store.prices)),
            "fee_type": "commission_fee",
            "amount": Decimal("3.50"),
            "currency": store.currency,
        }
        for order_id in ghost_ids
    ]
    incidents.append(Incident(RuleId.SOURCE_MISMATCH, store.store_id, day, frozenset(ghost_ids)))

    orders = warehouse.table("orders")
    start, end = store.utc(day, 0), store.utc(day + dt.timedelta(days=1), 0)
    orders = orders.filter(
        (orders.store_id == store.store_id)
        & (orders.purchase_ts >= start)
        & (orders.purchase_ts < end)
        & (orders.status != CANCELLED)
        & orders.buyer_ref.notnull()
    )
    all_fees = warehouse.table("fees")
    commission = all_fees.filter(
        (all_fees.store_id == store.store_id)
        & all_fees.fee_type.isin(["referral_fee", "commission_fee"])
    )
    charged = orders.select("order_id").join(commission, "order_id")
    target = rows(charged.order_by("order_id").limit(1))
    if target:
        fee = target[0]
        fee.pop("source", None)
        fee.pop("batch_id", None)
        fee["amount"] = fee["amount"] * 2
        fees.append(fee)
        incidents.append(
            Incident(RuleId.SOURCE_MISMATCH, store.store_id, day, frozenset([fee["order_id"]]))
        )
    _write(warehouse, f"inj-fees-{store.store_id}-{day}", {"fees": fees}, "file:settlement")

    original = rows(orders.order_by(orders.order_id.desc()).limit(1))
    if original:
        copy = original[0]
        original_id = copy["order_id"]
        copy.pop("source", None)
        copy.pop("batch_id", None)
        copy["order_id"] = "API-" + original_id
        lines = warehouse.table("order_lines")
        copied_lines = rows(
            lines.filter((lines.store_id == store.store_id) & (lines.order_id == original_id))
        )
        for line in copied_lines:
            line.pop("source", None)
            line.pop("batch_id", None)
            line["order_id"] = copy["order_id"]
        _write(
            warehouse,
            f"inj-dupe-{store.store_id}-{day}",
            {"orders": [copy], "order_lines": copied_lines},
            "api:duplicate",
        )
        incidents.append(
            Incident(
                RuleId.SOURCE_MISMATCH,
                store.store_id,
                day,
                frozenset([original_id, copy["order_id"]]),
            )
        )
    return incidents
