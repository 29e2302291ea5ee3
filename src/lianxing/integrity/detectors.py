"""The detectors: Ibis queries over the warehouse facts that find candidate patterns.

Each detector narrows the facts down in the database (so it runs the same on DuckDB and
PostgreSQL and never pulls a store's whole history into Python), then hands the few
candidate numbers to ``lianxing.domain.integrity``, where the rule decides, scores and
explains. One detector per rule of ``RuleId``; ``DETECTORS`` lists them in report order.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir

from lianxing.domain.integrity import (
    COMMISSION_FEE_TYPES,
    DEFAULT_THRESHOLDS,
    Finding,
    OrderEvent,
    RuleId,
    Thresholds,
    ad_sales_finding,
    click_finding,
    commission_base_finding,
    concentration_findings,
    conversion_finding,
    duplicate_source_finding,
    merge_overlapping,
    new_store_finding,
    orphan_fee_finding,
    price_finding,
    quick_refund_finding,
    shop_hour_finding,
)
from lianxing.domain.periods import local_midnight_utc, offset_segments
from lianxing.warehouse import Warehouse

CANCELLED = "cancelled"
Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class StoreScope:
    """One store and one period of local days ``[first_day, end_day)``."""

    store_id: int
    timezone: str
    currency: str
    launch_date: dt.date | None
    first_day: dt.date
    end_day: dt.date

    @property
    def start_utc(self) -> dt.datetime:
        return local_midnight_utc(self.first_day, self.timezone)

    @property
    def end_utc(self) -> dt.datetime:
        return local_midnight_utc(self.end_day, self.timezone)

    def day_start_utc(self, day: dt.date) -> dt.datetime:
        return local_midnight_utc(day, self.timezone)


class Facts:
    """A store's facts with local-time helpers, shared by every detector of one run."""

    def __init__(self, warehouse: Warehouse, scope: StoreScope, history_days: int = 90) -> None:
        self.warehouse = warehouse
        self.scope = scope
        # history before the period feeds the baselines (usual conversion, price, CTR)
        self.history_start = scope.first_day - dt.timedelta(days=history_days)
        self._segments = offset_segments(
            scope.timezone,
            local_midnight_utc(self.history_start, scope.timezone) - dt.timedelta(days=1),
            scope.end_utc + dt.timedelta(days=1),
        )

    def table(self, name: str) -> ir.Table:
        facts = self.warehouse.table(name)
        return facts.filter(facts.store_id == self.scope.store_id)

    def local(self, ts: ir.TimestampValue) -> ir.TimestampValue:
        """Naive-UTC timestamp to marketplace local time (a CASE over the UTC offsets)."""
        segments = self._segments
        if len(segments) == 1:
            offset: ir.IntegerValue = ibis.literal(segments[0].offset_minutes, "int32")
        else:
            offset = ibis.cases(
                *[
                    (ts < nxt.start_utc, ibis.literal(cur.offset_minutes, "int32"))
                    for cur, nxt in itertools.pairwise(segments)
                ],
                else_=ibis.literal(segments[-1].offset_minutes, "int32"),
            )
        return ts + offset.as_interval("m")

    def orders(self, since: dt.date | None = None, until: dt.datetime | None = None) -> ir.Table:
        """Orders purchased from ``since`` (default: the period start) to ``until`` (UTC,
        default: the period end)."""
        first = self.scope.day_start_utc(since) if since else self.scope.start_utc
        last = until or self.scope.end_utc
        orders = self.table("orders")
        return orders.filter((orders.purchase_ts >= first) & (orders.purchase_ts < last))

    def sold_lines(
        self, since: dt.date | None = None, until: dt.datetime | None = None
    ) -> ir.Table:
        """Lines of non-cancelled orders with the order's purchase time and local day."""
        orders = self.orders(since, until)
        orders = orders.filter(orders.status != CANCELLED).select(
            "order_id", "purchase_ts", order_currency="currency"
        )
        lines = self.table("order_lines").select(
            "order_id", "sku", "quantity", "item_price", "promotion_discount", "currency"
        )
        joined = lines.join(orders, "order_id")
        return joined.mutate(day=self.local(joined.purchase_ts).date())


def rows(expr: ir.Table) -> list[Row]:
    result: list[Row] = expr.to_pyarrow().to_pylist()
    return result


Detector = Callable[[Facts, Thresholds], list[Finding]]


# -- order concentration ---------------------------------------------------------------


def order_concentration(facts: Facts, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> list[Finding]:
    store_id = facts.scope.store_id
    orders = facts.orders()
    orders = orders.filter(orders.status != CANCELLED)
    findings: list[Finding] = []
    for kind, column, min_count in (
        ("buyer", "buyer_ref", thresholds.buyer_min_orders),
        ("postal", "ship_postal_code", thresholds.postal_min_orders),
    ):
        keyed = orders.filter(orders[column].notnull() & (orders[column] != ""))
        sliding = ibis.window(
            group_by=keyed[column],
            order_by=keyed.purchase_ts,
            range=(-ibis.interval(minutes=thresholds.window_minutes), 0),
        )
        counted = keyed.mutate(in_window=keyed.count().over(sliding))
        candidates = (
            counted.filter(counted.in_window >= min_count).select(key=counted[column]).distinct()
        )
        members = keyed.join(candidates, keyed[column] == candidates.key)
        by_key: dict[str, list[OrderEvent]] = defaultdict(list)
        for row in rows(
            members.select("order_id", "purchase_ts", "buyer_ref", "ship_postal_code", "key")
        ):
            by_key[row["key"]].append(
                OrderEvent(
                    row["order_id"], row["purchase_ts"], row["buyer_ref"], row["ship_postal_code"]
                )
            )
        for key, events in sorted(by_key.items()):
            findings.extend(concentration_findings(store_id, kind, key, events, thresholds))

    # Shopee's shop-level rule counts clock hours of the marketplace's local time
    hourly = orders.mutate(hour=facts.local(orders.purchase_ts).truncate("h"))
    hours = hourly.group_by("hour").aggregate(n=hourly.count(), buyers=hourly.buyer_ref.nunique())
    hours = hours.filter(
        (hours.n >= thresholds.shop_hour_min_orders)
        & (hours.n >= hours.buyers * thresholds.shop_hour_orders_per_buyer)
    )
    in_hours = hourly.join(hours.select("hour"), "hour")
    by_hour: dict[dt.datetime, list[OrderEvent]] = defaultdict(list)
    for row in rows(in_hours.select("hour", "order_id", "purchase_ts", "buyer_ref")):
        by_hour[row["hour"]].append(
            OrderEvent(row["order_id"], row["purchase_ts"], row["buyer_ref"], None)
        )
    for hour, events in sorted(by_hour.items()):
        # findings keep UTC windows like every other: the local clock hour converted back
        start_utc = hour.replace(tzinfo=ZoneInfo(facts.scope.timezone)).astimezone(dt.UTC)
        start_utc = start_utc.replace(tzinfo=None)
        finding = shop_hour_finding(store_id, start_utc, events, thresholds)
        if finding is not None:
            findings.append(finding)
    return merge_overlapping(findings)


# -- quick full refunds ----------------------------------------------------------------


def quick_full_refunds(facts: Facts, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> list[Finding]:
    scope = facts.scope
    orders = facts.table("orders")
    delivered = orders.filter(
        (orders.delivered_ts >= scope.start_utc) & (orders.delivered_ts < scope.end_utc)
    ).select("order_id", "delivered_ts")
    lines = facts.table("order_lines")
    line_totals = lines.group_by("order_id", "sku").aggregate(
        price=lines.item_price.sum().cast("float64")
    )
    delivered_lines = line_totals.join(delivered, "order_id")
    refunds = facts.table("refunds")
    refunded = refunds.group_by("order_id", "sku").aggregate(
        refunded=refunds.amount.sum().cast("float64"), first_refund=refunds.refund_ts.min()
    )
    joined = delivered_lines.left_join(refunded, ["order_id", "sku"])
    seconds = joined.first_refund.epoch_seconds() - joined.delivered_ts.epoch_seconds()
    quick_full = (
        joined.refunded.notnull()
        & (joined.refunded >= joined.price - 0.005)
        & (seconds >= 0)
        & (seconds <= thresholds.refund_within_hours * 3600)
    )
    flagged = joined.mutate(quick=ibis.ifelse(quick_full, 1, 0))
    per_sku = flagged.group_by("sku").aggregate(
        delivered=flagged.count(), quick=flagged.quick.sum()
    )
    sku_rows = rows(per_sku)
    all_delivered = sum(r["delivered"] for r in sku_rows)
    all_quick = sum(int(r["quick"] or 0) for r in sku_rows)
    if all_quick == 0:
        return []
    candidates = [r["sku"] for r in sku_rows if (r["quick"] or 0) >= thresholds.refund_min_count]
    if not candidates:
        return []
    quick_orders: dict[str, list[str]] = defaultdict(list)
    quick_rows = flagged.filter((flagged.quick == 1) & flagged.sku.isin(candidates))
    for row in rows(quick_rows.select("sku", "order_id")):
        quick_orders[row["sku"]].append(row["order_id"])
    findings = []
    for row in sku_rows:
        sku = row["sku"]
        if sku not in quick_orders:
            continue
        quick = int(row["quick"])
        # the store's usual rate leaves this SKU out, so one bad SKU cannot hide itself
        others_delivered = all_delivered - row["delivered"]
        store_rate = (all_quick - quick) / others_delivered if others_delivered else 0.0
        finding = quick_refund_finding(
            scope.store_id,
            sku,
            quick,
            int(row["delivered"]),
            store_rate,
            (scope.start_utc, scope.end_utc),
            quick_orders[sku],
            thresholds,
        )
        if finding is not None:
            findings.append(finding)
    return findings


# -- unexplained conversion ------------------------------------------------------------


def unexplained_conversion(
    facts: Facts, thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> list[Finding]:
    scope = facts.scope
    since = scope.first_day - dt.timedelta(days=28)
    lines = facts.sold_lines(since)
    daily_lines = lines.group_by("sku", "day").aggregate(
        lines=lines.count(), units=lines.quantity.sum()
    )
    traffic = facts.table("traffic_daily")
    traffic = traffic.filter((traffic.date >= since) & (traffic.date < scope.end_day))
    daily_sessions = traffic.group_by("sku", day=traffic.date).aggregate(
        sessions=traffic.sessions.sum()
    )
    line_totals = daily_lines.group_by("sku").aggregate(sku_lines=daily_lines.lines.sum())
    session_totals = daily_sessions.group_by("sku").aggregate(
        sku_sessions=daily_sessions.sessions.sum()
    )
    days = daily_lines.left_join(daily_sessions, ["sku", "day"]).select(
        "sku", "day", "lines", "units", sessions=ibis.coalesce(daily_sessions.sessions, 0)
    )
    days = days.join(line_totals, "sku").left_join(session_totals, "sku")
    days = days.select(
        "sku",
        "day",
        "lines",
        "units",
        "sessions",
        "sku_lines",
        sku_sessions=ibis.coalesce(days.sku_sessions, 0),
    )
    other_lines = (days.sku_lines - days.lines).cast("float64")
    other_sessions = (days.sku_sessions - days.sessions).cast("float64")
    # a coarse filter in the database: at least the minimum lines and the minimum ratio
    # against the most generous usual rate (all the SKU's lines over its other sessions);
    # SKUs without other sessions go through and fall back to the store rate below
    generous = (days.sku_lines.cast("float64") / other_sessions.nullif(0.0)) * days.sessions
    candidates = days.filter(
        (days.day >= scope.first_day)
        & (days.lines >= thresholds.conversion_min_lines)
        & (
            other_sessions.isnull()
            | (other_sessions <= 0)
            | (days.lines.cast("float64") >= thresholds.conversion_min_ratio * generous)
        )
    ).mutate(other_lines=other_lines, other_sessions=other_sessions)
    candidate_rows = rows(candidates)
    if not candidate_rows:
        return []
    store_totals = rows(
        days.aggregate(lines=days.lines.sum(), sessions=days.sessions.sum()).select(
            "lines", "sessions"
        )
    )[0]
    if not store_totals["sessions"]:
        return []  # no traffic facts at all: conversion cannot be judged
    store_rate = float(store_totals["lines"]) / float(store_totals["sessions"])
    findings = []
    for row in candidate_rows:
        if row["other_sessions"] and row["other_sessions"] > 0:
            usual = row["other_lines"] / row["other_sessions"]
        else:
            usual = store_rate
        day_start = scope.day_start_utc(row["day"])
        order_ids = [
            r["order_id"]
            for r in rows(
                lines.filter((lines.sku == row["sku"]) & (lines.day == row["day"]))
                .select("order_id")
                .distinct()
            )
        ]
        finding = conversion_finding(
            scope.store_id,
            row["sku"],
            day_start,
            int(row["lines"]),
            int(row["units"]),
            int(row["sessions"]),
            usual,
            order_ids,
            thresholds,
        )
        if finding is not None:
            findings.append(finding)
    return findings


# -- ads -------------------------------------------------------------------------------


def ad_inconsistency(facts: Facts, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> list[Finding]:
    scope = facts.scope
    since = scope.first_day - dt.timedelta(days=28)
    ads = facts.table("ad_daily")
    ads = ads.filter((ads.date >= since) & (ads.date < scope.end_day))
    per_day = ads.group_by("campaign_id", "date").aggregate(
        clicks=ads.clicks.sum(), impressions=ads.impressions.sum()
    )
    totals = per_day.group_by("campaign_id").aggregate(
        all_clicks=per_day.clicks.sum(), all_impressions=per_day.impressions.sum()
    )
    joined = per_day.join(totals, "campaign_id")
    candidates = joined.filter(
        (joined.date >= scope.first_day) & (joined.clicks >= thresholds.ctr_min_clicks)
    )
    findings = []
    for row in rows(candidates):
        other_clicks = (row["all_clicks"] or 0) - row["clicks"]
        other_impressions = (row["all_impressions"] or 0) - (row["impressions"] or 0)
        usual_ctr = other_clicks / other_impressions if other_impressions > 0 else 0.0
        finding = click_finding(
            scope.store_id,
            row["campaign_id"],
            scope.day_start_utc(row["date"]),
            int(row["clicks"]),
            int(row["impressions"] or 0),
            usual_ctr,
            thresholds,
        )
        if finding is not None:
            findings.append(finding)

    in_period = ads.filter(ads.date >= scope.first_day)
    ad_sales = in_period.group_by(day="date", currency="currency").aggregate(
        ad_sales=in_period.attributed_sales.sum().cast("float64"),
        window=in_period.attribution_days.max(),
    )
    ad_rows = rows(ad_sales)
    if not ad_rows:
        return findings
    longest = max(int(r["window"] or 1) for r in ad_rows)
    # daily GMV from the period start through the longest attribution window after it
    end_utc = scope.day_start_utc(scope.end_day + dt.timedelta(days=longest))
    lines = facts.sold_lines(scope.first_day, end_utc)
    gmv = lines.group_by("day", "currency").aggregate(gmv=lines.item_price.sum().cast("float64"))
    daily_gmv = {(r["day"], r["currency"]): float(r["gmv"] or 0.0) for r in rows(gmv)}
    # a day is judged only once its whole attribution window has order data: near the end
    # of the data the sales its clicks will be credited with are not known yet
    all_orders = facts.table("orders")
    latest = rows(all_orders.aggregate(last=all_orders.purchase_ts.max()).select("last"))
    if latest[0]["last"] is None:
        return findings
    last_day = latest[0]["last"].replace(tzinfo=dt.UTC).astimezone(ZoneInfo(scope.timezone)).date()
    for row in ad_rows:
        window = max(1, int(row["window"] or 1))
        if row["day"] + dt.timedelta(days=window - 1) > last_day:
            continue
        attributable = sum(
            daily_gmv.get((row["day"] + dt.timedelta(days=i), row["currency"]), 0.0)
            for i in range(window)
        )
        finding = ad_sales_finding(
            scope.store_id,
            scope.day_start_utc(row["day"]),
            float(row["ad_sales"]),
            attributable,
            window,
            row["currency"],
            thresholds,
        )
        if finding is not None:
            findings.append(finding)
    return findings


# -- prices ----------------------------------------------------------------------------


def price_below_usual(facts: Facts, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> list[Finding]:
    scope = facts.scope
    lines = facts.sold_lines(scope.first_day - dt.timedelta(days=thresholds.price_history_days))
    lines = lines.filter(lines.item_price.notnull() & (lines.quantity > 0))
    lines = lines.mutate(
        unit=(
            (lines.item_price - ibis.coalesce(lines.promotion_discount, 0)).cast("float64")
            / lines.quantity.cast("float64")
        )
    )
    usual = lines.group_by("sku", "currency").aggregate(usual=lines.unit.median())
    joined = lines.join(usual, ["sku", "currency"])
    cheap = joined.filter(
        (joined.purchase_ts >= scope.start_utc)
        & (joined.unit < joined.usual * thresholds.price_max_ratio)
    )
    grouped: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in rows(cheap.select("sku", "currency", "order_id", "purchase_ts", "unit", "usual")):
        grouped[(row["sku"], row["currency"])].append(row)
    findings = []
    for (sku, currency), members in sorted(grouped.items()):
        finding = price_finding(
            scope.store_id,
            sku,
            (min(r["purchase_ts"] for r in members), max(r["purchase_ts"] for r in members)),
            min(float(r["unit"]) for r in members),
            float(members[0]["usual"]),
            currency,
            [r["order_id"] for r in members],
            thresholds,
        )
        if finding is not None:
            findings.append(finding)
    return findings


# -- new stores ------------------------------------------------------------------------


def new_store_sku_cluster(
    facts: Facts, thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> list[Finding]:
    scope = facts.scope
    if scope.launch_date is None:
        return []
    first = scope.launch_date
    end = first + dt.timedelta(days=thresholds.new_store_days)
    if end <= scope.first_day or first >= scope.end_day:
        return []  # the store's first days are not in this period
    orders = facts.table("orders")
    orders = orders.filter(
        (orders.purchase_ts >= scope.day_start_utc(first))
        & (orders.purchase_ts < scope.day_start_utc(end))
        & (orders.status != CANCELLED)
    ).select("order_id")
    lines = facts.table("order_lines").select("order_id", "sku").join(orders, "order_id")
    per_sku = lines.group_by("sku").aggregate(orders=lines.order_id.nunique())
    all_orders = rows(orders.aggregate(n=orders.count()).select("n"))[0]["n"]
    top = rows(per_sku.order_by([ibis.desc("orders"), "sku"]).limit(1))
    if not top or not all_orders:
        return []
    sku = top[0]["sku"]
    traffic = facts.table("traffic_daily")
    traffic = traffic.filter((traffic.date >= first) & (traffic.date < end))
    sessions = rows(
        traffic.aggregate(
            all=traffic.sessions.sum(),
            sku=traffic.sessions.sum(where=traffic.sku == sku),
        ).select("all", "sku")
    )[0]
    order_ids = [
        r["order_id"] for r in rows(lines.filter(lines.sku == sku).select("order_id").distinct())
    ]
    finding = new_store_finding(
        scope.store_id,
        sku,
        (scope.day_start_utc(first), scope.day_start_utc(end)),
        int(top[0]["orders"]),
        int(all_orders),
        int(sessions["sku"] or 0),
        int(sessions["all"] or 0),
        order_ids,
        thresholds,
    )
    return [] if finding is None else [finding]


# -- sources ---------------------------------------------------------------------------


def source_mismatch(facts: Facts, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> list[Finding]:
    scope = facts.scope
    findings: list[Finding] = []

    fees = facts.table("fees")
    fees = fees.filter(
        (fees.posted_ts >= scope.start_utc)
        & (fees.posted_ts < scope.end_utc)
        & fees.order_id.notnull()
    )
    known = facts.table("orders").select("order_id")
    orphans = fees.anti_join(known, "order_id")
    orphan_rows = rows(
        orphans.group_by("order_id", "currency").aggregate(
            amount=orphans.amount.sum().cast("float64")
        )
    )
    if orphan_rows:
        orphan = orphan_fee_finding(
            scope.store_id,
            (scope.start_utc, scope.end_utc),
            [r["order_id"] for r in orphan_rows],
            sum(r["amount"] for r in orphan_rows),
            orphan_rows[0]["currency"],
        )
        if orphan is not None:
            findings.append(orphan)

    all_fees = facts.table("fees")
    commission = all_fees.filter(all_fees.fee_type.isin(sorted(COMMISSION_FEE_TYPES)))
    commission = commission.group_by("order_id").aggregate(
        commission=commission.amount.sum().cast("float64")
    )
    lines = facts.sold_lines().filter(lambda t: t.item_price.notnull())
    gmv = lines.group_by("order_id", "purchase_ts", "currency").aggregate(
        gmv=lines.item_price.sum().cast("float64")
    )
    charged = gmv.join(commission, "order_id")
    charged = charged.filter(charged.gmv > 0).mutate(rate=charged.commission / charged.gmv)
    usual = rows(charged.aggregate(rate=charged.rate.median()).select("rate"))[0]["rate"]
    if usual:
        deviating = charged.filter(
            ((charged.commission / usual) - charged.gmv).abs()
            > charged.gmv * thresholds.commission_max_deviation
        )
        for row in rows(
            deviating.select("order_id", "purchase_ts", "currency", "gmv", "commission")
        ):
            finding = commission_base_finding(
                scope.store_id,
                row["order_id"],
                row["purchase_ts"],
                float(row["gmv"]),
                float(row["commission"]),
                float(usual),
                row["currency"],
                thresholds,
            )
            if finding is not None:
                findings.append(finding)

    orders = facts.orders()
    orders = orders.filter(orders.buyer_ref.notnull())
    same = orders.group_by("buyer_ref", "purchase_ts").aggregate(
        ids=orders.order_id.nunique(), sources=orders.source.nunique()
    )
    same = same.filter((same.ids >= 2) & (same.sources >= 2)).select("buyer_ref", "purchase_ts")
    dupes = orders.join(same, ["buyer_ref", "purchase_ts"])
    grouped: dict[tuple[str, dt.datetime], list[tuple[str, str]]] = defaultdict(list)
    for row in rows(dupes.select("buyer_ref", "purchase_ts", "order_id", "source")):
        grouped[(row["buyer_ref"], row["purchase_ts"])].append((row["order_id"], row["source"]))
    for (buyer, ts), members in sorted(grouped.items()):
        duplicate = duplicate_source_finding(scope.store_id, ts, buyer, members)
        if duplicate is not None:
            findings.append(duplicate)
    return findings


DETECTORS: dict[RuleId, Detector] = {
    RuleId.ORDER_CONCENTRATION: order_concentration,
    RuleId.QUICK_FULL_REFUNDS: quick_full_refunds,
    RuleId.UNEXPLAINED_CONVERSION: unexplained_conversion,
    RuleId.AD_INCONSISTENCY: ad_inconsistency,
    RuleId.PRICE_BELOW_USUAL: price_below_usual,
    RuleId.NEW_STORE_SKU_CLUSTER: new_store_sku_cluster,
    RuleId.SOURCE_MISMATCH: source_mismatch,
}


def run_detectors(
    warehouse: Warehouse,
    scope: StoreScope,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    rules: Sequence[RuleId] | None = None,
) -> list[Finding]:
    """Every detector (or the named ones) over one store and period; highest score first."""
    facts = Facts(warehouse, scope, history_days=max(90, thresholds.price_history_days))
    findings: list[Finding] = []
    for rule in rules or list(DETECTORS):
        findings.extend(DETECTORS[rule](facts, thresholds))
    return sorted(findings, key=lambda f: (-f.score, f.rule.value, f.subject))
