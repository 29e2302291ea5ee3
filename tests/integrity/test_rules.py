"""Hand-computed checks of every integrity rule, its score and its explanation."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest

from lianxing.domain.integrity import (
    OrderEvent,
    RuleId,
    SourceKind,
    Thresholds,
    ad_sales_finding,
    below_score,
    click_finding,
    commission_base_finding,
    concentration_findings,
    conversion_finding,
    dense_clusters,
    duplicate_source_finding,
    excess_score,
    kind_shares,
    merge_overlapping,
    new_store_finding,
    orphan_fee_finding,
    poisson_tail,
    price_finding,
    quick_refund_finding,
    shop_hour_finding,
    source_kind,
    source_shares,
    surprise_score,
)

T0 = datetime(2026, 10, 19, 3, 0)


def test_scores_are_half_at_the_threshold_and_one_at_twice_it() -> None:
    assert excess_score(5, 5) == 0.5
    assert excess_score(10, 5) == 1.0
    assert excess_score(25, 5) == 1.0
    assert excess_score(7.5, 5) == 0.75
    assert below_score(0.5, 0.5) == 0.5
    assert below_score(0.2, 0.5) == 0.8  # 1 - 0.2 / 1.0
    assert surprise_score(1e-4, 1e-4) == 0.5
    assert surprise_score(1e-8, 1e-4) == 1.0
    assert surprise_score(1e-6, 1e-4) == 0.75


def test_poisson_tail_matches_hand_values() -> None:
    # P(X >= 3 | 0.5) = 1 - e^-0.5 (1 + 0.5 + 0.125) = 0.0143877...
    assert poisson_tail(3, 0.5) == pytest.approx(1 - math.exp(-0.5) * 1.625, rel=1e-9)
    # P(X >= 1 | 2) = 1 - e^-2
    assert poisson_tail(1, 2.0) == pytest.approx(1 - math.exp(-2), rel=1e-9)
    # P(X >= 2 | 10) = 1 - e^-10 (1 + 10), computed from below the mean
    assert poisson_tail(2, 10.0) == pytest.approx(1 - 11 * math.exp(-10), rel=1e-9)
    assert poisson_tail(0, 3.0) == 1.0
    assert poisson_tail(4, 0.0) == 0.0


def test_dense_clusters_joins_overlapping_windows_and_drops_sparse_orders() -> None:
    minutes = [0, 10, 20, 30, 200, 300, 310, 320, 330, 340, 395, 500]
    stamps = [T0 + timedelta(minutes=m) for m in minutes]
    # 60-minute windows with >= 4 orders: 0..30 (4 orders), 300..340 (5) and 310..340 (4);
    # 395 shares a window only with 340 (2 orders), so it stays out
    assert dense_clusters(stamps, timedelta(minutes=60), 4) == [(0, 3), (5, 9)]
    assert dense_clusters(stamps, timedelta(minutes=60), 7) == []
    with pytest.raises(ValueError, match="sorted"):
        dense_clusters(list(reversed(stamps)), timedelta(minutes=60), 2)


def _events(n: int, buyer: str | None = "b1", step_minutes: int = 5) -> list[OrderEvent]:
    return [
        OrderEvent(f"o{i}", T0 + timedelta(minutes=step_minutes * i), buyer, "10001")
        for i in range(n)
    ]


def test_buyer_concentration_fires_at_five_orders_in_an_hour() -> None:
    assert concentration_findings(1, "buyer", "b1", _events(4)) == []
    (finding,) = concentration_findings(1, "buyer", "b1", _events(6))
    assert finding.rule == RuleId.ORDER_CONCENTRATION
    assert finding.subject == "buyer:b1"
    assert finding.order_ids == ("o0", "o1", "o2", "o3", "o4", "o5")
    assert finding.score == 0.6  # 6 / (2 * 5)
    assert finding.window_start == T0 and finding.window_end == T0 + timedelta(minutes=25)
    assert "placed 6 orders within 25 minutes" in finding.explanation_en
    assert "25 分钟内下单 6 次" in finding.explanation_zh
    # the same orders an hour and a half apart each are no cluster
    assert concentration_findings(1, "buyer", "b1", _events(6, step_minutes=90)) == []


def test_postal_concentration_needs_repeat_buyers() -> None:
    many_households = [
        OrderEvent(f"o{i}", T0 + timedelta(minutes=3 * i), f"buyer{i}", "10001") for i in range(9)
    ]
    assert concentration_findings(1, "postal", "10001", many_households) == []
    three_buyers = [
        OrderEvent(f"o{i}", T0 + timedelta(minutes=3 * i), f"buyer{i % 3}", "10001")
        for i in range(9)
    ]
    (finding,) = concentration_findings(1, "postal", "10001", three_buyers)
    # 9 orders (9 / 16 = 0.5625) and 3 per buyer (3 / 6 = 0.5): the lower score
    assert finding.score == 0.5
    assert finding.evidence == {"orders": 9, "buyers": 3, "orders_per_buyer": 3.0}


def test_shopee_shop_hour_rule_orders_per_unique_buyer() -> None:
    # 6 orders from 2 buyers: ratio 3 = Shopee's threshold
    events = [OrderEvent(f"o{i}", T0 + timedelta(minutes=i), f"b{i % 2}", None) for i in range(6)]
    finding = shop_hour_finding(2, T0, events)
    assert finding is not None and finding.score == 0.5
    assert "orders / buyers = 3.00" in finding.explanation_en
    # 6 orders from 3 buyers: ratio 2, no finding; 5 orders: too few to judge
    spread = [OrderEvent(f"o{i}", T0, f"b{i % 3}", None) for i in range(6)]
    assert shop_hour_finding(2, T0, spread) is None
    assert shop_hour_finding(2, T0, events[:5]) is None


def test_merge_overlapping_reports_one_incident_once() -> None:
    by_buyer = concentration_findings(1, "buyer", "b1", _events(10))
    hour = shop_hour_finding(1, T0, [OrderEvent(f"o{i}", T0, "b1", None) for i in range(8)])
    assert hour is not None
    other = concentration_findings(
        1, "buyer", "b2", [OrderEvent(f"x{i}", T0, "b2", None) for i in range(5)]
    )
    merged = merge_overlapping([*by_buyer, hour, *other])
    assert len(merged) == 2
    lead = next(f for f in merged if f.subject == "buyer:b1")
    assert lead.order_ids == tuple(sorted(f"o{i}" for i in range(10)))
    assert lead.score == 1.0
    assert "Shopee" in lead.explanation_en and "buyer b1" in lead.explanation_en


def test_quick_full_refunds_against_the_store_rate() -> None:
    window = (T0, T0 + timedelta(days=31))
    # 4 of 50 lines; store rate 0.1 % is below the 0.2 % floor: expected 0.1
    finding = quick_refund_finding(1, "SKU1", 4, 50, 0.001, window, ["a", "b", "c", "d"])
    assert finding is not None
    expected_p = 1 - math.exp(-0.1) * (1 + 0.1 + 0.005 + 0.1**3 / 6)
    assert finding.evidence["p_value"] == pytest.approx(expected_p, rel=1e-9)
    assert finding.evidence["expected"] == 0.1
    assert finding.score == surprise_score(expected_p, 1e-4)
    # the same 4 refunds among 2,000 lines at a 1 % store rate are normal
    assert quick_refund_finding(1, "SKU1", 4, 2000, 0.01, window, ["a"]) is None
    # fewer than 3 never fire
    assert quick_refund_finding(1, "SKU1", 2, 2, 0.0, window, ["a", "b"]) is None


def test_conversion_traffic_cannot_explain() -> None:
    # 12 lines, 20 sessions at 5 %: expected 1.0, ratio 12, p = P(X >= 12 | 1)
    finding = conversion_finding(1, "S", T0, 12, 14, 20, 0.05, ["o1", "o2"])
    assert finding is not None
    assert finding.evidence["expected_lines"] == 1.0
    assert finding.evidence["ratio"] == 12.0
    assert finding.evidence["p_value"] == pytest.approx(poisson_tail(12, 1.0))
    # the lower of the ratio score (12x against 3x: capped at 1) and the surprise score
    # (-log10 p / (2 * 6) with p = 8.3e-10)
    assert finding.score == round(-math.log10(poisson_tail(12, 1.0)) / 12, 4) == 0.7567
    # 8 lines on 100 sessions at 5 % (expected 5): 1.6x, normal
    assert conversion_finding(1, "S", T0, 8, 8, 100, 0.05, ["o"]) is None
    # a day without sessions is judged against half a line: P(X >= 8 | 0.5) = 6.3e-8 fires,
    # P(X >= 7 | 0.5) = 1.002e-6 just misses the 1e-6 bar
    no_traffic = conversion_finding(1, "S", T0, 8, 8, 0, 0.05, ["o"])
    assert no_traffic is not None and no_traffic.evidence["expected_lines"] == 0.5
    assert conversion_finding(1, "S", T0, 7, 7, 0, 0.05, ["o"]) is None
    assert conversion_finding(1, "S", T0, 4, 4, 0, 0.05, ["o"]) is None  # too few lines


def test_clicks_without_impressions() -> None:
    impossible = click_finding(1, "C1", T0, 50, 40, 0.005)
    assert impossible is not None and impossible.score == 1.0
    # CTR 100 / 5,000 = 2 % against a usual 0.5 %: 4x
    flood = click_finding(1, "C1", T0, 100, 5000, 0.005)
    assert flood is not None
    assert flood.evidence["ctr_ratio"] == 4.0
    assert flood.score == pytest.approx(4 / 6, abs=1e-4)
    assert click_finding(1, "C1", T0, 100, 10000, 0.005) is None  # 2x: normal variation
    assert click_finding(1, "C1", T0, 19, 100, 0.005) is None  # too few clicks


def test_ad_sales_above_attributable_gmv() -> None:
    finding = ad_sales_finding(1, T0, 3000.0, 1000.0, 7, "USD")
    assert finding is not None and finding.score == 1.0  # 3x against a 1x threshold
    assert finding.evidence["attributable_gmv"] == 1000.0
    assert "7-day attribution window" in finding.explanation_en
    assert ad_sales_finding(1, T0, 1040.0, 1000.0, 7, "USD") is None  # excess below 50
    assert ad_sales_finding(1, T0, 900.0, 1000.0, 7, "USD") is None


def test_price_far_below_usual() -> None:
    window = (T0, T0)
    finding = price_finding(1, "S", window, 4.0, 20.0, "USD", ["o2", "o1", "o1"])
    assert finding is not None
    assert finding.evidence["ratio"] == 0.2
    assert finding.score == 0.8
    assert finding.order_ids == ("o1", "o2")
    assert "20% of its usual 20.00" in finding.explanation_en
    assert price_finding(1, "S", window, 10.0, 20.0, "USD", ["o"]) is None  # exactly half


def test_new_store_first_orders_on_one_sku() -> None:
    window = (T0, T0 + timedelta(days=14))
    # 30 of 50 orders (60 %) on a SKU with 10 % of sessions: 6x the session share
    finding = new_store_finding(4, "S", window, 30, 50, 100, 1000, ["o"])
    assert finding is not None
    assert finding.evidence["order_share"] == 0.6
    assert finding.score == 0.75  # min(0.6 / 0.8, 6 / 4 capped at 1)
    # the SKU also had 40 % of the sessions: its traffic explains the orders
    assert new_store_finding(4, "S", window, 30, 50, 400, 1000, ["o"]) is None
    assert new_store_finding(4, "S", window, 9, 10, 0, 100, ["o"]) is None  # too few


def test_source_differences() -> None:
    window = (T0, T0)
    orphan = orphan_fee_finding(1, window, ["g1", "g2", "g1"], 7.0, "USD")
    assert orphan is not None and orphan.order_ids == ("g1", "g2") and orphan.score == 1.0
    assert orphan_fee_finding(1, window, [], 0.0, "USD") is None
    # commission 30 at a 15 % rate implies 200 settled, the order shows 100
    doubled = commission_base_finding(1, "o1", T0, 100.0, 30.0, 0.15, "USD")
    assert doubled is not None and doubled.evidence["relative_difference"] == 1.0
    assert commission_base_finding(1, "o1", T0, 100.0, 15.9, 0.15, "USD") is None  # 6 %
    dupe = duplicate_source_finding(1, T0, "b", [("A1", "file:x"), ("API-A1", "api:y")])
    assert dupe is not None and dupe.order_ids == ("A1", "API-A1")
    assert duplicate_source_finding(1, T0, "b", [("A1", "file:x"), ("A2", "file:x")]) is None


def test_source_kinds_and_shares() -> None:
    assert source_kind("api:amazon") == SourceKind.PLATFORM_API
    assert source_kind("file:amazon.all_orders") == SourceKind.PLATFORM_FILE
    assert source_kind("file:generic.orders_csv") == SourceKind.GENERIC_CSV
    assert source_kind("manual") == SourceKind.MANUAL
    assert source_kind("edit:alice") == SourceKind.MANUAL
    assert source_kind("demo") == SourceKind.DEMO
    shares = source_shares(
        [("api:amazon", "b1", 600.0, 6), ("manual", "b2", 300.0, 1), ("file:x", "b3", 100.0, 2)]
    )
    assert [(s.source, s.share) for s in shares] == [
        ("api:amazon", 0.6),
        ("manual", 0.3),
        ("file:x", 0.1),
    ]
    assert [s.manual for s in shares] == [False, True, False]
    assert kind_shares(shares) == {
        SourceKind.MANUAL: 0.3,
        SourceKind.PLATFORM_API: 0.6,
        SourceKind.PLATFORM_FILE: 0.1,
    }
    assert source_shares([]) == []


def test_fingerprint_is_stable_and_thresholds_are_overridable() -> None:
    a = concentration_findings(1, "buyer", "b1", _events(6))[0]
    b = concentration_findings(1, "buyer", "b1", _events(7))[0]
    assert a.fingerprint == b.fingerprint  # same rule, store, subject, start
    strict = Thresholds(buyer_min_orders=8)
    assert concentration_findings(1, "buyer", "b1", _events(7), strict) == []
