"""Data integrity: the rules that flag suspicious facts, their scores and explanations,
and how a fact's source is labelled.

Pure logic only: the detectors in ``lianxing.integrity`` run Ibis queries over the
warehouse to find *candidates* and hand the numbers here, where every rule decides, scores
and explains. The thresholds are named and documented (``docs/integrity.md``) so a flag can
always be traced to a rule a person can read.

Scores are in [0, 1] with one convention for every rule: a value exactly at the rule's
threshold scores 0.5 and a value twice as extreme scores 1.0 (capped), so scores of
different rules can be sorted together.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum


class RuleId(StrEnum):
    ORDER_CONCENTRATION = "order_concentration"
    QUICK_FULL_REFUNDS = "quick_full_refunds"
    UNEXPLAINED_CONVERSION = "unexplained_conversion"
    AD_INCONSISTENCY = "ad_inconsistency"
    PRICE_BELOW_USUAL = "price_below_usual"
    NEW_STORE_SKU_CLUSTER = "new_store_sku_cluster"
    SOURCE_MISMATCH = "source_mismatch"


@dataclass(frozen=True, slots=True)
class Rule:
    id: RuleId
    name_zh: str
    name_en: str
    text_en: str  # the rule as a person reads it; docs/integrity.md has the long form


RULES: dict[RuleId, Rule] = {
    r.id: r
    for r in (
        Rule(
            RuleId.ORDER_CONCENTRATION,
            "订单集中 / 疑似刷单",
            "Order concentration",
            "many orders from one buyer or to one postal code within 60 minutes, or a shop hour "
            "with orders / unique buyers >= 3 (Shopee's published rule)",
        ),
        Rule(
            RuleId.QUICK_FULL_REFUNDS,
            "签收后快速全额退款",
            "Full refunds soon after delivery",
            "orders of one SKU refunded in full within 48 hours of delivery, far more often "
            "than the store's usual rate (Poisson tail p < 1e-4)",
        ),
        Rule(
            RuleId.UNEXPLAINED_CONVERSION,
            "流量无法解释的转化",
            "Conversion traffic cannot explain",
            "a SKU's order lines on a day far above sessions x its usual conversion "
            "(at least 3x and Poisson tail p < 1e-6)",
        ),
        Rule(
            RuleId.AD_INCONSISTENCY,
            "广告数据矛盾",
            "Inconsistent ad data",
            "clicks without matching impressions (CTR >= 3x the campaign's usual, or clicks > "
            "impressions), or a day's ad-attributed sales above the store's total sales of "
            "that day and its attribution window (judged once the window has order data)",
        ),
        Rule(
            RuleId.PRICE_BELOW_USUAL,
            "价格远低于常规价",
            "Price far below usual",
            "a line's net unit price below 50 % of the SKU's median unit price",
        ),
        Rule(
            RuleId.NEW_STORE_SKU_CLUSTER,
            "新店首日订单集中于单一SKU",
            "New store's first orders clustered on one SKU",
            "in a store's first 14 days, one SKU has >= 40 % of the orders (at least 10) "
            "and at least twice its share of sessions",
        ),
        Rule(
            RuleId.SOURCE_MISMATCH,
            "数据来源不一致",
            "Sources disagree",
            "settlement fees for orders missing from the order data, commission charged on a "
            "different amount than the order's GMV, or one order imported twice from two sources",
        ),
    )
}


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Every number a rule compares against; defaults are the documented ones."""

    # order concentration
    window_minutes: int = 60
    buyer_min_orders: int = 5
    postal_min_orders: int = 8
    postal_min_orders_per_buyer: float = 3.0
    shop_hour_min_orders: int = 6
    shop_hour_orders_per_buyer: float = 3.0  # Shopee: orders / unique buyers >= 3 in one hour
    # quick full refunds
    refund_within_hours: int = 48
    refund_min_count: int = 3
    refund_p_max: float = 1e-4
    refund_baseline_floor: float = 0.002  # expected share of lines never assumed below this
    # unexplained conversion
    conversion_min_lines: int = 5
    conversion_min_ratio: float = 3.0
    conversion_p_max: float = 1e-6  # many SKU-days are tested each month
    # ads
    ctr_min_clicks: int = 20
    ctr_min_ratio: float = 3.0
    # attributed sales of a day above this multiple of the GMV that could be attributed to
    # it: the store's sales of that day and the attribution window after it
    ad_sales_over_gmv: float = 1.0
    ad_sales_min_excess: float = 50.0  # ... and above it by at least this much (row currency)
    # prices
    price_max_ratio: float = 0.5
    price_history_days: int = 90
    # new stores
    new_store_days: int = 14
    new_store_min_orders: int = 10
    new_store_min_share: float = 0.4
    new_store_min_share_over_sessions: float = 2.0
    # sources
    commission_max_deviation: float = 0.10  # relative difference of the charged base
    commission_min_amount: float = 1.0  # and at least this much (row currency)


DEFAULT_THRESHOLDS = Thresholds()

# Fee types that are a percentage of the item price, so they reveal the amount the
# platform settled on (Amazon referral fee, Shopee/TikTok/Lazada commission).
COMMISSION_FEE_TYPES = frozenset({"referral_fee", "commission_fee", "commission"})


@dataclass(frozen=True, slots=True)
class Finding:
    """One suspicious pattern: which rule, where, how strong, why, and which orders."""

    rule: RuleId
    store_id: int
    subject: str  # what the pattern is about: "buyer:…", "sku:…", "campaign:…", "store"
    window_start: datetime  # naive UTC
    window_end: datetime
    score: float
    explanation_zh: str
    explanation_en: str
    order_ids: tuple[str, ...] = ()
    evidence: dict[str, float | int | str | None] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        """Stable identity: running the detectors again finds the same flag, not a new one."""
        text = "|".join(
            (self.rule.value, str(self.store_id), self.subject, self.window_start.isoformat())
        )
        return hashlib.sha256(text.encode()).hexdigest()[:32]


# -- scoring ---------------------------------------------------------------------------


def excess_score(observed: float, threshold: float) -> float:
    """0.5 at the threshold, 1.0 at twice the threshold (capped), linear in between and below."""
    if threshold <= 0:
        raise ValueError("threshold must be positive")
    return round(min(1.0, max(0.0, observed / (2.0 * threshold))), 4)


def below_score(observed: float, threshold: float) -> float:
    """For rules that fire when a value is *below* a threshold (e.g. a price ratio):
    0.5 at the threshold, 1.0 at zero."""
    if threshold <= 0:
        raise ValueError("threshold must be positive")
    return round(min(1.0, max(0.0, 1.0 - observed / (2.0 * threshold))), 4)


def surprise_score(p_value: float, p_max: float) -> float:
    """For Poisson-tail rules: 0.5 at ``p_max``, 1.0 at ``p_max`` squared."""
    if not 0 < p_max < 1:
        raise ValueError("p_max must be in (0, 1)")
    if p_value <= 0:
        return 1.0
    return excess_score(-math.log10(p_value), -math.log10(p_max))


def poisson_tail(k: int, lam: float) -> float:
    """P(X >= k) for X ~ Poisson(lam), computed in log space (k up to millions is fine)."""
    if k <= 0:
        return 1.0
    if lam <= 0:
        return 0.0
    # sum the upper tail directly: terms fall fast once past the mean
    log_term = k * math.log(lam) - lam - math.lgamma(k + 1)
    if k > lam:
        total, term, i = 0.0, log_term, k
        while True:
            total += math.exp(term)
            i += 1
            term += math.log(lam) - math.log(i)
            if term < log_term - 40 or i > k + 100_000:
                break
        return min(1.0, total)
    # below the mean: 1 - P(X <= k - 1)
    cdf, term = 0.0, -lam
    for i in range(k):
        cdf += math.exp(term)
        term += math.log(lam) - math.log(i + 1)
    return max(0.0, 1.0 - cdf)


def share(part: float, total: float) -> float | None:
    """part / total, or None when total is zero (a share of nothing is not defined)."""
    return None if total == 0 else part / total


# -- order concentration ---------------------------------------------------------------


def dense_clusters(
    timestamps: Sequence[datetime], window: timedelta, min_count: int
) -> list[tuple[int, int]]:
    """Index ranges ``[first, last]`` of sorted ``timestamps`` in which every member lies in
    some window of length ``window`` holding at least ``min_count`` timestamps.

    Overlapping or touching dense windows join into one cluster.
    """
    if min_count < 1:
        raise ValueError("min_count must be at least 1")
    if any(b < a for a, b in itertools.pairwise(timestamps)):
        raise ValueError("timestamps must be sorted")
    n = len(timestamps)
    clusters: list[tuple[int, int]] = []
    end = 0
    for start in range(n):
        end = max(end, start)
        while end + 1 < n and timestamps[end + 1] - timestamps[start] <= window:
            end += 1
        if end - start + 1 >= min_count:
            if clusters and start <= clusters[-1][1]:
                clusters[-1] = (clusters[-1][0], max(clusters[-1][1], end))
            else:
                clusters.append((start, end))
    return clusters


@dataclass(frozen=True, slots=True)
class OrderEvent:
    order_id: str
    purchase_ts: datetime
    buyer_ref: str | None
    postal_code: str | None


def concentration_findings(
    store_id: int,
    key_kind: str,
    key: str,
    events: Sequence[OrderEvent],
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> list[Finding]:
    """Findings for the orders of one buyer (``key_kind`` "buyer") or one postal code
    ("postal") — ``events`` are that key's orders, any order."""
    if key_kind not in ("buyer", "postal"):
        raise ValueError(f"unknown concentration key {key_kind!r}")
    ordered = sorted(events, key=lambda e: (e.purchase_ts, e.order_id))
    window = timedelta(minutes=thresholds.window_minutes)
    min_count = thresholds.buyer_min_orders if key_kind == "buyer" else thresholds.postal_min_orders
    findings = []
    for first, last in dense_clusters([e.purchase_ts for e in ordered], window, min_count):
        members = ordered[first : last + 1]
        n = len(members)
        buyers = len({e.buyer_ref for e in members if e.buyer_ref is not None}) or 1
        per_buyer = n / buyers
        minutes = (members[-1].purchase_ts - members[0].purchase_ts).total_seconds() / 60
        if key_kind == "postal":
            if per_buyer < thresholds.postal_min_orders_per_buyer:
                continue  # many households share a postal code; only repeat buyers count
            score = min(
                excess_score(n, thresholds.postal_min_orders),
                excess_score(per_buyer, thresholds.postal_min_orders_per_buyer),
            )
            zh = (
                f"{minutes:.0f} 分钟内 {n} 单寄往同一邮编 {key}，仅 {buyers} 个买家"
                f"（每买家 {per_buyer:.1f} 单，规则：≥{thresholds.postal_min_orders} 单且"
                f"每买家 ≥{thresholds.postal_min_orders_per_buyer:g} 单）"
            )
            en = (
                f"{n} orders to postal code {key} within {minutes:.0f} minutes from {buyers} "
                f"buyer(s) ({per_buyer:.1f} per buyer; rule: >= {thresholds.postal_min_orders} "
                f"orders and >= {thresholds.postal_min_orders_per_buyer:g} per buyer)"
            )
        else:
            score = excess_score(n, thresholds.buyer_min_orders)
            zh = (
                f"同一买家 {key} 在 {minutes:.0f} 分钟内下单 {n} 次"
                f"（规则：{thresholds.window_minutes} 分钟内 ≥{thresholds.buyer_min_orders} 单）"
            )
            en = (
                f"buyer {key} placed {n} orders within {minutes:.0f} minutes (rule: >= "
                f"{thresholds.buyer_min_orders} within {thresholds.window_minutes} minutes)"
            )
        findings.append(
            Finding(
                RuleId.ORDER_CONCENTRATION,
                store_id,
                f"{key_kind}:{key}",
                members[0].purchase_ts,
                members[-1].purchase_ts,
                score,
                zh,
                en,
                tuple(e.order_id for e in members),
                {"orders": n, "buyers": buyers, "orders_per_buyer": round(per_buyer, 3)},
            )
        )
    return findings


def shop_hour_finding(
    store_id: int,
    hour_start: datetime,
    orders: Sequence[OrderEvent],
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> Finding | None:
    """Shopee's shop-level rule on one clock hour: orders / unique buyers >= 3."""
    n = len(orders)
    buyers = len({e.buyer_ref for e in orders if e.buyer_ref is not None}) or 1
    ratio = n / buyers
    if n < thresholds.shop_hour_min_orders or ratio < thresholds.shop_hour_orders_per_buyer:
        return None
    return Finding(
        RuleId.ORDER_CONCENTRATION,
        store_id,
        f"shop_hour:{hour_start.isoformat()}",
        hour_start,
        hour_start + timedelta(hours=1),
        excess_score(ratio, thresholds.shop_hour_orders_per_buyer),
        f"店铺在 1 小时内 {n} 单仅来自 {buyers} 个买家（订单/买家 = {ratio:.2f}，"
        f"Shopee 规则 ≥{thresholds.shop_hour_orders_per_buyer:g}）",
        f"{n} orders from {buyers} unique buyer(s) in one hour (orders / buyers = {ratio:.2f}; "
        f"Shopee's rule: >= {thresholds.shop_hour_orders_per_buyer:g})",
        tuple(sorted(e.order_id for e in orders)),
        {"orders": n, "buyers": buyers, "orders_per_buyer": round(ratio, 3)},
    )


def merge_overlapping(findings: Iterable[Finding]) -> list[Finding]:
    """Join findings of one rule and store that share orders into one finding: one
    incident seen by several signals (buyer, postal code, shop hour) is reported once,
    with the highest score and every explanation."""
    groups: list[list[Finding]] = []
    for finding in sorted(findings, key=lambda f: (-f.score, f.subject)):
        ids = set(finding.order_ids)
        target = None
        for group in groups:
            same_place = group[0].rule == finding.rule and group[0].store_id == finding.store_id
            if same_place and ids & {o for g in group for o in g.order_ids}:
                target = group
                break
        if target is None:
            groups.append([finding])
        else:
            target.append(finding)
    merged = []
    for group in groups:
        lead = group[0]
        if len(group) == 1:
            merged.append(lead)
            continue
        order_ids = tuple(sorted({o for g in group for o in g.order_ids}))
        evidence = dict(lead.evidence)
        evidence["signals"] = ", ".join(g.subject for g in group)
        merged.append(
            Finding(
                lead.rule,
                lead.store_id,
                lead.subject,
                min(g.window_start for g in group),
                max(g.window_end for g in group),
                lead.score,
                "；".join(g.explanation_zh for g in group),
                "; ".join(g.explanation_en for g in group),
                order_ids,
                evidence,
            )
        )
    return merged


# -- quick full refunds ----------------------------------------------------------------


def quick_refund_finding(
    store_id: int,
    sku: str,
    quick_full_refunds: int,
    delivered_lines: int,
    store_rate: float,
    window: tuple[datetime, datetime],
    order_ids: Sequence[str],
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> Finding | None:
    """``quick_full_refunds`` of ``delivered_lines`` of one SKU were refunded in full within
    the rule's hours of delivery; ``store_rate`` is the store-wide share of such lines."""
    if quick_full_refunds < thresholds.refund_min_count or delivered_lines <= 0:
        return None
    expected = delivered_lines * max(store_rate, thresholds.refund_baseline_floor)
    p_value = poisson_tail(quick_full_refunds, expected)
    if p_value >= thresholds.refund_p_max:
        return None
    hours = thresholds.refund_within_hours
    return Finding(
        RuleId.QUICK_FULL_REFUNDS,
        store_id,
        f"sku:{sku}",
        window[0],
        window[1],
        surprise_score(p_value, thresholds.refund_p_max),
        f"SKU {sku}：{delivered_lines} 个已签收订单行中 {quick_full_refunds} 个在签收后 "
        f"{hours} 小时内全额退款，按店铺常态预期 {expected:.2f} 个（p = {p_value:.1e}）",
        f"SKU {sku}: {quick_full_refunds} of {delivered_lines} delivered lines refunded in "
        f"full within {hours} h of delivery; the store's usual rate predicts {expected:.2f} "
        f"(p = {p_value:.1e})",
        tuple(sorted(set(order_ids))),
        {
            "quick_full_refunds": quick_full_refunds,
            "delivered_lines": delivered_lines,
            "expected": round(expected, 4),
            "p_value": p_value,
        },
    )


# -- unexplained conversion ------------------------------------------------------------


def conversion_finding(
    store_id: int,
    sku: str,
    day_start: datetime,
    lines: int,
    units: int,
    sessions: int,
    usual_lines_per_session: float,
    order_ids: Sequence[str],
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> Finding | None:
    """A SKU-day whose order lines traffic cannot explain.

    ``usual_lines_per_session`` is the SKU's conversion on the other days; the expected
    lines are sessions x that rate (at least 0.5 so a day without sessions is judged
    against half a line, not zero).
    """
    if lines < thresholds.conversion_min_lines:
        return None
    expected = max(sessions * usual_lines_per_session, 0.5)
    ratio = lines / expected
    p_value = poisson_tail(lines, expected)
    if ratio < thresholds.conversion_min_ratio or p_value >= thresholds.conversion_p_max:
        return None
    return Finding(
        RuleId.UNEXPLAINED_CONVERSION,
        store_id,
        f"sku:{sku}",
        day_start,
        day_start + timedelta(days=1),
        min(
            excess_score(ratio, thresholds.conversion_min_ratio),
            surprise_score(p_value, thresholds.conversion_p_max),
        ),
        f"SKU {sku} 当日 {lines} 个订单行（{units} 件），访客 {sessions}，按常规转化率 "
        f"{usual_lines_per_session:.2%} 预期 {expected:.1f} 个"
        f"（{ratio:.1f} 倍，p = {p_value:.1e}）",
        f"SKU {sku}: {lines} order lines ({units} units) on the day with {sessions} sessions; "
        f"its usual conversion {usual_lines_per_session:.2%} predicts {expected:.1f} "
        f"({ratio:.1f}x, p = {p_value:.1e})",
        tuple(sorted(set(order_ids))),
        {
            "lines": lines,
            "units": units,
            "sessions": sessions,
            "expected_lines": round(expected, 4),
            "ratio": round(ratio, 3),
            "p_value": p_value,
        },
    )


# -- ads -------------------------------------------------------------------------------


def click_finding(
    store_id: int,
    campaign_id: str,
    day_start: datetime,
    clicks: int,
    impressions: int,
    usual_ctr: float,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> Finding | None:
    """Clicks that impressions do not explain: more clicks than impressions, or a CTR at
    least ``ctr_min_ratio`` times the campaign's usual CTR."""
    if clicks < thresholds.ctr_min_clicks:
        return None
    if clicks > impressions:
        score = 1.0
        zh = f"广告活动 {campaign_id} 点击 {clicks} 次多于曝光 {impressions} 次"
        en = f"campaign {campaign_id}: {clicks} clicks but only {impressions} impressions"
        ratio = None
    else:
        if usual_ctr <= 0 or impressions == 0:
            return None
        ratio = (clicks / impressions) / usual_ctr
        if ratio < thresholds.ctr_min_ratio:
            return None
        score = excess_score(ratio, thresholds.ctr_min_ratio)
        zh = (
            f"广告活动 {campaign_id} 点击率 {clicks / impressions:.2%}，为常规 "
            f"{usual_ctr:.2%} 的 {ratio:.1f} 倍（点击增长而曝光未增长）"
        )
        en = (
            f"campaign {campaign_id}: CTR {clicks / impressions:.2%} is {ratio:.1f}x its usual "
            f"{usual_ctr:.2%} (clicks grew without impressions)"
        )
    return Finding(
        RuleId.AD_INCONSISTENCY,
        store_id,
        f"campaign:{campaign_id}",
        day_start,
        day_start + timedelta(days=1),
        score,
        zh,
        en,
        (),
        {
            "clicks": clicks,
            "impressions": impressions,
            "usual_ctr": round(usual_ctr, 6),
            "ctr_ratio": None if ratio is None else round(ratio, 3),
        },
    )


def ad_sales_finding(
    store_id: int,
    day_start: datetime,
    attributed_sales: float,
    attributable_gmv: float,
    attribution_days: int,
    currency: str,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> Finding | None:
    """A day's ad-attributed sales above every sale that could be attributed to it: the
    store's GMV from that day through the end of the attribution window (an ad click on
    day d is credited with orders up to ``attribution_days`` days later)."""
    limit = attributable_gmv * thresholds.ad_sales_over_gmv
    excess = attributed_sales - limit
    if excess <= 0 or excess < thresholds.ad_sales_min_excess:
        return None
    ratio = attributed_sales / attributable_gmv if attributable_gmv > 0 else None
    return Finding(
        RuleId.AD_INCONSISTENCY,
        store_id,
        "ad_sales_over_gmv",
        day_start,
        day_start + timedelta(days=1),
        1.0 if ratio is None else excess_score(ratio, thresholds.ad_sales_over_gmv),
        f"当日广告归因销售额 {attributed_sales:,.2f} {currency} 高于店铺当日起 "
        f"{attribution_days} 天（归因窗口）的全部销售额 {attributable_gmv:,.2f} {currency}",
        f"ad-attributed sales of the day, {attributed_sales:,.2f} {currency}, exceed all the "
        f"store's sales from that day through its {attribution_days}-day attribution window, "
        f"{attributable_gmv:,.2f} {currency}",
        (),
        {
            "attributed_sales": attributed_sales,
            "attributable_gmv": attributable_gmv,
            "attribution_days": attribution_days,
            "currency": currency,
        },
    )


# -- prices ----------------------------------------------------------------------------


def price_finding(
    store_id: int,
    sku: str,
    window: tuple[datetime, datetime],
    lowest_unit_price: float,
    usual_unit_price: float,
    currency: str,
    order_ids: Sequence[str],
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> Finding | None:
    """Lines of one SKU sold at a net unit price below ``price_max_ratio`` of its usual one."""
    if usual_unit_price <= 0 or not order_ids:
        return None
    ratio = lowest_unit_price / usual_unit_price
    if ratio >= thresholds.price_max_ratio:
        return None
    return Finding(
        RuleId.PRICE_BELOW_USUAL,
        store_id,
        f"sku:{sku}",
        window[0],
        window[1],
        below_score(ratio, thresholds.price_max_ratio),
        f"SKU {sku} 有 {len(set(order_ids))} 个订单以 {lowest_unit_price:,.2f} {currency} 成交，"
        f"仅为常规单价 {usual_unit_price:,.2f} 的 {ratio:.0%}",
        f"SKU {sku}: {len(set(order_ids))} order(s) at a net unit price as low as "
        f"{lowest_unit_price:,.2f} {currency}, {ratio:.0%} of its usual "
        f"{usual_unit_price:,.2f}",
        tuple(sorted(set(order_ids))),
        {
            "lowest_unit_price": lowest_unit_price,
            "usual_unit_price": usual_unit_price,
            "ratio": round(ratio, 4),
            "currency": currency,
        },
    )


# -- new stores ------------------------------------------------------------------------


def new_store_finding(
    store_id: int,
    sku: str,
    window: tuple[datetime, datetime],
    sku_orders: int,
    all_orders: int,
    sku_sessions: int,
    all_sessions: int,
    order_ids: Sequence[str],
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> Finding | None:
    """A new store's first days dominated by one SKU that its traffic does not explain."""
    if sku_orders < thresholds.new_store_min_orders or all_orders == 0:
        return None
    order_share = sku_orders / all_orders
    if order_share < thresholds.new_store_min_share:
        return None
    session_share = sku_sessions / all_sessions if all_sessions else 0.0
    over = order_share / session_share if session_share > 0 else math.inf
    if over < thresholds.new_store_min_share_over_sessions:
        return None
    days = thresholds.new_store_days
    return Finding(
        RuleId.NEW_STORE_SKU_CLUSTER,
        store_id,
        f"sku:{sku}",
        window[0],
        window[1],
        min(
            excess_score(order_share, thresholds.new_store_min_share),
            1.0
            if math.isinf(over)
            else excess_score(over, thresholds.new_store_min_share_over_sessions),
        ),
        f"开店前 {days} 天 {all_orders} 单中 {sku_orders} 单（{order_share:.0%}）集中在 SKU {sku}，"
        f"而其访客占比仅 {session_share:.0%}",
        f"in the store's first {days} days, {sku_orders} of {all_orders} orders "
        f"({order_share:.0%}) are for SKU {sku}, which had {session_share:.0%} of the sessions",
        tuple(sorted(set(order_ids))),
        {
            "sku_orders": sku_orders,
            "all_orders": all_orders,
            "order_share": round(order_share, 4),
            "session_share": round(session_share, 4),
        },
    )


# -- sources ---------------------------------------------------------------------------


def orphan_fee_finding(
    store_id: int,
    window: tuple[datetime, datetime],
    order_ids: Sequence[str],
    amount: float,
    currency: str,
) -> Finding | None:
    """Settlement fees charged for orders the order data does not have."""
    if not order_ids:
        return None
    n = len(set(order_ids))
    return Finding(
        RuleId.SOURCE_MISMATCH,
        store_id,
        "fees_without_orders",
        window[0],
        window[1],
        excess_score(n, 1.0),
        f"结算费用中有 {n} 个订单（费用 {amount:,.2f} {currency}）在订单数据中不存在",
        f"settlement fees name {n} order(s) ({amount:,.2f} {currency} of fees) that the "
        f"order data does not contain",
        tuple(sorted(set(order_ids))),
        {"orders": n, "fee_amount": amount, "currency": currency},
    )


def commission_base_finding(
    store_id: int,
    order_id: str,
    purchase_ts: datetime,
    order_gmv: float,
    commission: float,
    usual_rate: float,
    currency: str,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> Finding | None:
    """The commission implies the platform settled a different amount than the order shows."""
    if usual_rate <= 0 or order_gmv <= 0:
        return None
    settled_base = commission / usual_rate
    difference = settled_base - order_gmv
    relative = abs(difference) / order_gmv
    if (
        relative <= thresholds.commission_max_deviation
        or abs(difference) < thresholds.commission_min_amount
    ):
        return None
    return Finding(
        RuleId.SOURCE_MISMATCH,
        store_id,
        f"order:{order_id}",
        purchase_ts,
        purchase_ts,
        excess_score(relative, thresholds.commission_max_deviation),
        f"订单 {order_id} 销售额 {order_gmv:,.2f} {currency}，但佣金 {commission:,.2f} 按常规费率 "
        f"{usual_rate:.1%} 对应结算额 {settled_base:,.2f}（相差 {relative:.0%}）",
        f"order {order_id}: GMV {order_gmv:,.2f} {currency}, but its commission "
        f"{commission:,.2f} at the usual {usual_rate:.1%} implies {settled_base:,.2f} settled "
        f"({relative:.0%} apart)",
        (order_id,),
        {
            "order_gmv": order_gmv,
            "commission": commission,
            "settled_base": round(settled_base, 4),
            "relative_difference": round(relative, 4),
            "currency": currency,
        },
    )


def duplicate_source_finding(
    store_id: int,
    purchase_ts: datetime,
    buyer_ref: str,
    orders: Sequence[tuple[str, str]],
) -> Finding | None:
    """The same purchase (time and buyer) stored under different order ids from different
    sources: an API and a file import that disagree on the id double-count GMV."""
    sources = {source for _, source in orders}
    if len(orders) < 2 or len(sources) < 2:
        return None
    ids = tuple(sorted(order_id for order_id, _ in orders))
    return Finding(
        RuleId.SOURCE_MISMATCH,
        store_id,
        f"duplicate:{buyer_ref}:{purchase_ts.isoformat()}",
        purchase_ts,
        purchase_ts,
        excess_score(len(orders), 1.0),
        f"同一买家同一时刻的订单以不同订单号从 {len(sources)} 个来源导入"
        f"（{', '.join(sorted(sources))}）：{', '.join(ids)}，可能重复计算",
        f"the same purchase (buyer and time) was imported under {len(ids)} order ids from "
        f"{len(sources)} sources ({', '.join(sorted(sources))}): {', '.join(ids)}; likely "
        f"counted twice",
        ids,
        {"sources": ", ".join(sorted(sources)), "orders": len(ids)},
    )


# -- provenance ------------------------------------------------------------------------


class SourceKind(StrEnum):
    PLATFORM_API = "platform_api"
    PLATFORM_FILE = "platform_file"
    GENERIC_CSV = "generic_csv"
    MANUAL = "manual"
    DEMO = "demo"
    OTHER = "other"


SOURCE_KIND_LABELS: dict[SourceKind, str] = {
    SourceKind.PLATFORM_API: "平台接口 / platform API",
    SourceKind.PLATFORM_FILE: "平台报表文件 / platform file",
    SourceKind.GENERIC_CSV: "通用CSV / generic CSV",
    SourceKind.MANUAL: "手工录入或编辑 / manual or edited",
    SourceKind.DEMO: "演示数据 / demo",
    SourceKind.OTHER: "其他 / other",
}


def source_kind(source: str) -> SourceKind:
    """Classify a fact row's ``source`` (``api:<platform>``, ``file:<format>``, ``manual``...)."""
    prefix, _, rest = source.partition(":")
    if prefix == "api":
        return SourceKind.PLATFORM_API
    if prefix == "file":
        return SourceKind.GENERIC_CSV if rest.startswith("generic") else SourceKind.PLATFORM_FILE
    if prefix in ("manual", "edit", "edited"):
        return SourceKind.MANUAL
    if prefix == "demo":
        return SourceKind.DEMO
    return SourceKind.OTHER


def is_labelled_manual(source: str) -> bool:
    """Manual and edited rows are always shown with a label, wherever they appear."""
    return source_kind(source) == SourceKind.MANUAL


@dataclass(frozen=True, slots=True)
class SourceShare:
    source: str
    batch_id: str
    kind: SourceKind
    value: float
    rows: int
    share: float | None

    @property
    def manual(self) -> bool:
        return self.kind == SourceKind.MANUAL


def source_shares(parts: Iterable[tuple[str, str, float, int]]) -> list[SourceShare]:
    """(source, batch_id, value, rows) → shares of the total value, largest first.

    Shares are of the absolute total so a negative part (a refund) cannot make others
    exceed 100 %.
    """
    rows = list(parts)
    total = sum(abs(value) for _, _, value, _ in rows)
    shares = [
        SourceShare(source, batch, source_kind(source), value, count, share(abs(value), total))
        for source, batch, value, count in rows
    ]
    return sorted(shares, key=lambda s: (-abs(s.value), s.source, s.batch_id))


def kind_shares(shares: Iterable[SourceShare]) -> dict[SourceKind, float | None]:
    """The same shares added up per kind of source."""
    listed = list(shares)
    total = sum(abs(s.value) for s in listed)
    by_kind: dict[SourceKind, float] = {}
    for s in listed:
        by_kind[s.kind] = by_kind.get(s.kind, 0.0) + abs(s.value)
    return {kind: share(value, total) for kind, value in sorted(by_kind.items())}
