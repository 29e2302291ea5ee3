"""Every shipped KPI on the hand-made facts of conftest.py, on DuckDB and on PostgreSQL.

The expected numbers are worked out by hand in the comments; the same cases run on both
backends (the ``warehouse`` fixture is parametrised), which makes this the conformance suite.
"""

from __future__ import annotations

import pytest
from kpi_facts import FACTS, STORES, load_facts, make_engine

from lianxing.domain.kpi import NO_DATA, NOT_ACROSS_STORES, ZERO_DENOMINATOR, KpiMatrix, Scope
from lianxing.domain.periods import parse_period
from lianxing.metrics.engine import FxRateMissing
from lianxing.warehouse import Warehouse

OCT = "2026-10"
S1, S2, BOTH = "store:1", "store:2", "portfolio:amazon"
SCOPES = [Scope.store(1), Scope.store(2), Scope(BOTH, (1, 2), "Amazon")]


def _matrix(wh: Warehouse, period: str = OCT, **options: object) -> KpiMatrix:
    return make_engine(wh).compute(periods=[parse_period(period)], scopes=SCOPES, options=options)  # type: ignore[arg-type]


# Store 1, October in Los Angeles time. Non-cancelled orders: A1, A4 (pending), A5 (10-31 23:00
# PDT); A2 is 09-30 PDT, A3 is cancelled. Store 2: B1 (100 EUR at 1.10) and B2 (50 EUR at 1.20);
# B3 is 11-01 in Berlin.
EXPECTED_OCTOBER = {
    # kpi: (store 1, store 2, portfolio)
    "gmv": (80 + 20, 100 * 1.10 + 50 * 1.20, 100 + 170),
    "gmv_net": (100 - 60, 170, 100 - 60 + 170),  # R2 (60) refunded in October
    "orders": (3, 2, 5),
    "units": (3 + 3 + 1, 2, 9),
    "aov": (100 / 3, 85, 270 / 5),  # 54, not the mean of 33.3 and 85
    "cancel_rate": (1 / 4, 0 / 2, 1 / 6),
    "fulfillment_rate": (1 / 3, None, 1 / 3),  # due: A1 (on time), A2 (late), A4 (unshipped)
    "late_shipment_rate": (1 / 2, None, 1 / 2),  # shipped in October: A1, A2 (late)
    "refund_rate": (60 / 100, 0 / 170, 60 / 270),
    "return_rate": (1 / 7, 0 / 2, 1 / 9),  # RT1 (1 unit) in October
    "ad_spend": (10 + 15, None, 25),
    "ad_sales": (40 + 35, None, 75),
    "roas": (75 / 25, None, 3),
    "acos": (25 / 75, None, 25 / 75),
    "tacos": (25 / 100, None, 25 / 100),  # store 2 has no ad data: only store 1 counts
    "sessions": (140, None, 140),
    "conversion_rate": (7 / 140, None, 7 / 140),
    "live_skus": (2, None, 2),  # 10-30 snapshot: S1, S3 active
    "sell_through_rate": (2 / 3, None, 2 / 3),  # sold S1, S2; active at some time S1, S2, S3
    # gmv_net 40 − fees (12 + 3) − COGS (2×10 + 8 + 3×12 + 8) − ads 25
    "contribution_profit": (40 - 15 - 72 - 25, None, -72),
    "profit_margin": (-72 / 40, None, -72 / 40),
    "account_health_score": (230, None, None),
    "cs_first_response_hours": ((2 + 5) / 2, None, 3.5),  # 1, 2, 5, 10 hours (K4 unanswered)
}


@pytest.fixture(scope="module")
def october(seeded: Warehouse) -> KpiMatrix:
    return _matrix(seeded)


def test_every_shipped_kpi_has_a_case(october: KpiMatrix) -> None:
    assert set(october.definitions) == set(EXPECTED_OCTOBER)


@pytest.mark.parametrize("kpi", sorted(EXPECTED_OCTOBER))
def test_october_values(october: KpiMatrix, kpi: str) -> None:
    for scope, expected in zip((S1, S2, BOTH), EXPECTED_OCTOBER[kpi], strict=True):
        actual = october.value(kpi, OCT, scope)
        if expected is None:
            assert actual is None, (kpi, scope)
        else:
            assert actual == pytest.approx(expected, rel=1e-9), (kpi, scope)


def test_reasons_for_missing_values(october: KpiMatrix) -> None:
    assert october.cell("roas", OCT, S2).value.reason == NO_DATA
    assert october.cell("account_health_score", OCT, BOTH).value.reason == NOT_ACROSS_STORES
    assert october.cell("account_health_score", OCT, S1).value.parts[
        "order_defect_rate"
    ] == pytest.approx(0.004)


def test_zero_denominator(seeded: Warehouse) -> None:
    # November, store 1: ad cost 100, attributed sales 0.
    november = _matrix(seeded, "2026-11")
    cell = november.cell("acos", "2026-11", S1)
    assert cell.value.value is None
    assert cell.value.reason == ZERO_DENOMINATOR
    assert november.value("roas", "2026-11", S1) == 0.0


def test_pending_orders_are_counted_and_reported(october: KpiMatrix) -> None:
    cell = october.cell("gmv", OCT, S1)
    assert cell.value.parts["pending_orders"] == 1
    assert any("pending" in note for note in cell.notes)
    assert october.cell("orders", OCT, S1).notes == ()


def test_previous_period_and_last_year(october: KpiMatrix) -> None:
    cell = october.cell("gmv", OCT, S1)
    assert cell.previous is not None and cell.previous.value == pytest.approx(100 + 60)  # A2, A6
    assert cell.last_year is not None and cell.last_year.reason == NO_DATA


def test_utc_cuts_the_month_differently(seeded: Warehouse) -> None:
    utc = make_engine(seeded).compute(
        periods=[parse_period(OCT)], scopes=[Scope.store(1)], options={"timezone": "UTC"}
    )
    # In UTC, A2 (10-01 03:00) is October and A5 (11-01 06:00) is November.
    assert utc.value("orders", OCT, S1) == 3  # A1, A2, A4
    assert utc.value("gmv", OCT, S1) == pytest.approx(80 + 100)
    assert utc.options["orders"]["timezone"] == "UTC"
    assert utc.resolved[(OCT, S1)].timezone == "UTC"
    # Berlin in UTC: B3 (10-31 23:30 UTC) is October, and the EUR rate of 10-31 is missing.
    with pytest.raises(FxRateMissing, match="EUR on 2026-10-31"):
        _matrix(seeded, timezone="UTC")


def test_refund_and_return_attribution_by_order_date(seeded: Warehouse) -> None:
    by_order = _matrix(seeded, refund_attribution="order_date", return_attribution="order_date")
    # R1 (30, refunded in November) belongs to A1, an October order; R2 belongs to September.
    assert by_order.value("gmv_net", OCT, S1) == pytest.approx(100 - 30)
    assert by_order.value("refund_rate", OCT, S1) == pytest.approx(30 / 100)
    # RT2 (2 units, returned in November) belongs to A1.
    assert by_order.value("return_rate", OCT, S1) == pytest.approx(2 / 7)
    assert by_order.options["gmv_net"]["refund_attribution"] == "order_date"
    by_refund = _matrix(seeded, "2026-11")
    assert by_refund.value("gmv_net", "2026-11", S1) == pytest.approx(0 - 30)  # no November sales


def test_cancelled_shipping_and_tax_options(seeded: Warehouse) -> None:
    matrix = _matrix(seeded, cancelled="include", include_shipping=True, include_tax=False)
    # + A3 (40) + A1 shipping (5) − A1 item tax (4 + 2.4)
    assert matrix.value("gmv", OCT, S1) == pytest.approx(100 + 40 + 5 - 6.4)
    assert matrix.value("orders", OCT, S1) == 4
    assert matrix.value("sell_through_rate", OCT, S1) == pytest.approx(3 / 3)  # S3 sold in A3


def test_second_currency_as_reporting_currency(seeded: Warehouse) -> None:
    matrix = make_engine(seeded).compute(
        periods=[parse_period(OCT)],
        scopes=[Scope.store(2)],
        options={"currency": "EUR"},
        kpis=["gmv", "aov"],
    )
    assert matrix.value("gmv", OCT, S2) == pytest.approx(150)
    assert matrix.kpi_json(OCT, S2)["gmv"]["unit"] == "EUR"


def test_missing_rate_names_currency_and_date(warehouse: Warehouse) -> None:
    facts = dict(FACTS, fx_rates=[r for r in FACTS["fx_rates"] if str(r["date"]) != "2026-10-25"])
    load_facts(warehouse, facts)
    with pytest.raises(FxRateMissing, match="EUR on 2026-10-25"):
        make_engine(warehouse).compute(
            periods=[parse_period(OCT)], scopes=[Scope.store(2)], kpis=["gmv"]
        )


def test_launch_stage_uses_each_stores_launch_date(seeded: Warehouse) -> None:
    matrix = _matrix(seeded, "launch:1-30")
    # Store 1 launched 10-01: days 1-30 are 10-01..10-30, so A5 (10-31) is out.
    assert matrix.value("gmv", "launch:1-30", S1) == pytest.approx(80)
    # Store 2 launched 09-01: its facts start on 10-10, so days 1-30 have no data (not 0).
    assert matrix.cell("gmv", "launch:1-30", S2).value.reason == NO_DATA
    assert matrix.resolved[("launch:1-30", S1)].start == "2026-10-01"


@pytest.mark.parametrize(
    ("period", "orders"),
    [
        ("2026-W40", 1),
        ("2026-Q4", 3),
        ("2026-10-05", 1),
        ("2026-10-01..2026-10-15", 1),
        ("2026-W44", 1),
    ],
)
def test_period_kinds(seeded: Warehouse, period: str, orders: int) -> None:
    # W40 = 09-28..10-04 (A2 on 09-30; A6 is 09-15), W44 = 10-26..11-01 (A5).
    matrix = make_engine(seeded).compute(
        periods=[parse_period(period)], scopes=[Scope.store(1)], kpis=["orders"]
    )
    assert matrix.value("orders", period, S1) == orders


def test_stores_are_listed_in_fixture() -> None:
    assert [s.store_id for s in STORES] == [1, 2]
