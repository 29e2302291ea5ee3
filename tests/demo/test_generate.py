"""The demo generator: shapes, determinism, invariants, anomalies and sizing."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

import pandas as pd
import pyarrow as pa
import pytest

from lianxing.demo import (
    AnomalyKind,
    DemoSpec,
    benchmark_spec,
    default_demo_spec,
    expected_order_lines,
    generate,
)
from lianxing.demo._columns import ARROW_TYPES
from lianxing.domain.facts import FACT_TABLES, META_COLUMNS

TODAY = date(2026, 11, 15)


def _collect(spec: DemoSpec) -> dict[str, list[pa.Table]]:
    chunks: dict[str, list[pa.Table]] = defaultdict(list)
    for name, table in generate(spec):
        chunks[name].append(table)
    return dict(chunks)


@pytest.fixture(scope="module")
def spec() -> DemoSpec:
    return default_demo_spec(TODAY)


@pytest.fixture(scope="module")
def chunks(spec: DemoSpec) -> dict[str, list[pa.Table]]:
    return _collect(spec)


@pytest.fixture(scope="module")
def frames(chunks: dict[str, list[pa.Table]]) -> dict[str, pd.DataFrame]:
    return {name: pa.concat_tables(parts).to_pandas() for name, parts in chunks.items()}


@pytest.fixture(scope="module")
def small_chunked() -> dict[str, list[pa.Table]]:
    # 40 stores, chunks of ~3,000 lines: many chunks, and big stores split into months
    spec = benchmark_spec(60_000, stores=40)
    spec = DemoSpec(
        spec.stores,
        spec.start,
        spec.end,
        seed=spec.seed,
        anomalies=spec.anomalies,
        listing_snapshot_every_days=7,
        chunk_rows=3_000,
    )
    return _collect(spec)


def test_default_spec_has_the_three_marketplaces_over_six_months(spec: DemoSpec) -> None:
    markets = {(s.platform, s.site, s.currency, s.timezone) for s in spec.stores}
    assert {
        ("amazon", "US", "USD", "America/Los_Angeles"),
        ("shopee", "MY", "MYR", "Asia/Kuala_Lumpur"),
        ("tiktok", "UK", "GBP", "Europe/London"),
    } <= markets
    assert spec.end == date(2026, 11, 14)
    assert spec.start == date(2026, 5, 15)


def test_same_seed_same_output_other_seed_other_output(
    spec: DemoSpec, chunks: dict[str, list[pa.Table]]
) -> None:
    again = _collect(default_demo_spec(TODAY))
    assert again.keys() == chunks.keys()
    for name in chunks:
        assert pa.concat_tables(again[name]).equals(pa.concat_tables(chunks[name])), name
    other = _collect(default_demo_spec(TODAY, seed=spec.seed + 1))
    assert not pa.concat_tables(other["order_lines"]).equals(
        pa.concat_tables(chunks["order_lines"])
    )


@pytest.mark.parametrize("fixture", ["chunks", "small_chunked"])
def test_every_chunk_matches_fact_tables_and_keys_are_unique(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    collected: dict[str, list[pa.Table]] = request.getfixturevalue(fixture)
    assert set(collected) == set(FACT_TABLES)
    for name, parts in collected.items():
        fact = FACT_TABLES[name]
        expected = [c for c in fact.columns if c.name not in META_COLUMNS]
        for part in parts:
            assert part.schema.names == [c.name for c in expected], name
            for column in expected:
                assert part.schema.field(column.name).type == ARROW_TYPES[column.type], (
                    name,
                    column,
                )
                if not column.nullable:
                    assert part.column(column.name).null_count == 0, (name, column.name)
        keys = pa.concat_tables(parts).select(list(fact.key)).to_pandas()
        assert not keys.duplicated().any(), f"{name}: duplicate natural keys"
    if fixture == "small_chunked":
        assert len(collected["order_lines"]) >= 10


def test_money_and_time_types(chunks: dict[str, list[pa.Table]]) -> None:
    lines = chunks["order_lines"][0]
    assert lines.schema.field("item_price").type == pa.decimal128(18, 4)
    assert chunks["orders"][0].schema.field("purchase_ts").type == pa.timestamp("us")
    assert chunks["ad_daily"][0].schema.field("date").type == pa.date32()


def test_lines_reference_existing_orders(frames: dict[str, pd.DataFrame]) -> None:
    order_keys = set(zip(frames["orders"].store_id, frames["orders"].order_id, strict=True))
    for table in ("order_lines", "refunds", "returns"):
        keys = set(zip(frames[table].store_id, frames[table].order_id, strict=True))
        assert keys <= order_keys, table
    fee_orders = frames["fees"].dropna(subset=["order_id"])
    assert set(zip(fee_orders.store_id, fee_orders.order_id, strict=True)) <= order_keys


def test_cancellations_are_about_three_percent(frames: dict[str, pd.DataFrame]) -> None:
    share = (frames["orders"].status == "cancelled").mean()
    assert 0.02 < share < 0.04
    cancelled = frames["orders"][frames["orders"].status == "cancelled"]
    assert cancelled.shipped_ts.isna().all()


def test_refunds_and_returns_follow_the_purchase(
    frames: dict[str, pd.DataFrame], spec: DemoSpec
) -> None:
    orders = frames["orders"].set_index(["store_id", "order_id"])
    for table, ts in (("refunds", "refund_ts"), ("returns", "return_ts")):
        rows = frames[table].join(
            orders[["purchase_ts", "delivered_ts"]], on=["store_id", "order_id"]
        )
        assert len(rows) > 100
        assert (rows[ts] > rows.purchase_ts).all()
        assert (rows[ts] > rows.delivered_ts).all()
    refunds = frames["refunds"].join(orders[["purchase_ts"]], on=["store_id", "order_id"])
    next_month = refunds.refund_ts.dt.to_period("M") > refunds.purchase_ts.dt.to_period("M")
    assert next_month.any()
    cutoff = pd.Timestamp(spec.end + timedelta(days=2))
    assert (frames["refunds"].refund_ts < cutoff).all()


def test_pending_orders_are_unpriced_and_only_on_amazon_last_day(
    frames: dict[str, pd.DataFrame], spec: DemoSpec
) -> None:
    orders, lines = frames["orders"], frames["order_lines"]
    pending = orders[orders.status == "pending"]
    assert len(pending) > 10
    assert set(pending.store_id) == {1}  # the Amazon store
    # the last local day of America/Los_Angeles starts at 07:00 or 08:00 UTC
    assert (pending.purchase_ts >= pd.Timestamp(spec.end) + pd.Timedelta(hours=7)).all()
    pending_lines = lines.merge(pending[["store_id", "order_id"]])
    assert pending_lines.item_price.isna().all()
    priced_lines = lines.merge(orders[orders.status != "pending"][["store_id", "order_id"]])
    assert priced_lines.item_price.notna().all()


def test_late_shipments_and_ship_timeline(frames: dict[str, pd.DataFrame]) -> None:
    shipped = frames["orders"].dropna(subset=["shipped_ts"])
    assert (shipped.shipped_ts > shipped.purchase_ts).all()
    delivered = shipped.dropna(subset=["delivered_ts"])
    assert (delivered.delivered_ts > delivered.shipped_ts).all()
    late = shipped.shipped_ts > shipped.promised_ship_by_ts
    assert 0.01 < late.mean() < 0.08


def test_launch_ramp_and_listing_growth(frames: dict[str, pd.DataFrame], spec: DemoSpec) -> None:
    tiktok = next(s for s in spec.stores if s.platform == "tiktok")
    orders = frames["orders"][frames["orders"].store_id == tiktok.store_id]
    launch = pd.Timestamp(tiktok.launch_date)
    first_week = orders[
        (orders.purchase_ts >= launch) & (orders.purchase_ts < launch + pd.Timedelta(days=7))
    ]
    last_week = orders[orders.purchase_ts >= pd.Timestamp(spec.end) - pd.Timedelta(days=6)]
    assert len(orders[orders.purchase_ts < launch - pd.Timedelta(days=1)]) == 0
    assert len(last_week) > 2.5 * len(first_week) > 0
    listings = frames["listings"][frames["listings"].store_id == tiktok.store_id]
    active = listings[listings.status == "active"].groupby("snapshot_date").size()
    assert active.iloc[0] < active.iloc[-1]


def test_fees_cogs_ads_traffic_health_and_tickets(frames: dict[str, pd.DataFrame]) -> None:
    lines = frames["order_lines"]
    fees = frames["fees"]
    amazon_referral = fees[(fees.store_id == 1) & (fees.fee_type == "referral_fee")]
    charged_lines = lines.merge(amazon_referral[["store_id", "order_id", "sku"]].drop_duplicates())
    ratio = float(amazon_referral.amount.astype(float).sum()) / float(
        lines[(lines.store_id == 1)]
        .merge(amazon_referral[["store_id", "order_id"]].drop_duplicates())
        .item_price.astype(float)
        .sum()
    )
    assert len(charged_lines) > 0
    assert 0.149 < ratio < 0.151
    assert (fees.fee_type == "fba_fulfillment_fee").any()
    assert set(frames["cogs"].groupby("store_id").sku.nunique()) == {60, 80, 40}

    ads = frames["ad_daily"]
    assert set(ads[ads.store_id == 1].ad_type) == {
        "sponsored_products",
        "sponsored_brands",
        "sponsored_display",
    }
    mature = ads[(ads.store_id == 1) & (ads.date < (TODAY - timedelta(days=40)))]
    roas = float(mature.attributed_sales.astype(float).sum()) / float(
        mature.cost.astype(float).sum()
    )
    assert 2.0 < roas < 4.0

    traffic = frames["traffic_daily"]
    units = lines.assign(day=lines.merge(frames["orders"]).purchase_ts.dt.date).quantity.sum()
    conversion = units / traffic.sessions.sum()
    assert 0.05 < conversion < 0.15
    assert (traffic.page_views >= traffic.sessions).all()

    health = frames["account_health"]
    assert set(pd.to_datetime(health.snapshot_date).dt.day_of_week) == {0}
    tickets = frames["cs_tickets"]
    answered = tickets.dropna(subset=["first_response_ts"])
    hours = (answered.first_response_ts - answered.opened_ts).dt.total_seconds() / 3600
    assert 2 < hours.median() < 10


def test_buyer_ref_is_a_hash(frames: dict[str, pd.DataFrame]) -> None:
    refs = frames["orders"].buyer_ref
    assert refs.str.fullmatch(r"[0-9a-f]{16}").all()
    assert refs.nunique() > 1000
    assert refs.value_counts().iloc[1] < 20  # repeat buyers exist but are not brushers


def test_fx_covers_every_currency_and_day(frames: dict[str, pd.DataFrame], spec: DemoSpec) -> None:
    fx = frames["fx_rates"]
    days = (spec.end - spec.start).days + 1
    assert set(fx.currency) == {"USD", "MYR", "GBP"}
    assert fx.groupby("currency").date.nunique().to_dict() == {
        c: days for c in ("USD", "MYR", "GBP")
    }
    assert (fx[fx.currency == "USD"].rate_to_usd == 1.0).all()
    gbp = fx[fx.currency == "GBP"].sort_values("date").rate_to_usd
    assert gbp.nunique() > 100
    assert gbp.min() > 1.0
    assert gbp.max() < 1.6
    used = {c for name in ("orders", "ad_daily", "fees") for c in frames[name].currency}
    assert used <= set(fx.currency)


def test_anomalies_are_present(frames: dict[str, pd.DataFrame], spec: DemoSpec) -> None:
    by_kind = {a.kind: a for a in spec.anomalies}

    drop = by_kind[AnomalyKind.ROAS_DROP]
    ads = frames["ad_daily"][frames["ad_daily"].store_id == drop.store_id]
    in_drop = ads[(ads.date >= drop.start) & (ads.date < drop.start + timedelta(days=drop.days))]
    week_before = ads[(ads.date >= drop.start - timedelta(days=14)) & (ads.date < drop.start)]

    def roas(rows: pd.DataFrame) -> float:
        return float(rows.attributed_sales.astype(float).sum()) / float(
            rows.cost.astype(float).sum()
        )

    assert roas(in_drop) < 1.0 < 2.0 < roas(week_before)

    brushing = by_kind[AnomalyKind.BRUSHING]
    orders = frames["orders"][frames["orders"].store_id == brushing.store_id]
    top_buyer = orders.buyer_ref.value_counts()
    brusher = orders[orders.buyer_ref == top_buyer.index[0]]
    assert len(brusher) == 24
    assert brusher.purchase_ts.max() - brusher.purchase_ts.min() < pd.Timedelta(hours=1)
    assert brusher.ship_postal_code.nunique() == 1
    brusher_lines = frames["order_lines"].merge(brusher[["store_id", "order_id"]])
    assert brusher_lines.sku.nunique() == 1 and (brusher_lines.quantity == 1).all()

    burst = by_kind[AnomalyKind.LATE_SHIPMENT_BURST]
    shipped = frames["orders"][frames["orders"].store_id == burst.store_id].dropna(
        subset=["shipped_ts"]
    )
    local_day = (
        shipped.purchase_ts.dt.tz_localize("UTC").dt.tz_convert("America/Los_Angeles").dt.date
    )
    in_burst = (local_day >= burst.start) & (local_day < burst.start + timedelta(days=burst.days))
    late = shipped.shipped_ts > shipped.promised_ship_by_ts
    assert late[in_burst].mean() > 0.3
    assert late[~in_burst].mean() < 0.05
    health = frames["account_health"][frames["account_health"].store_id == burst.store_id]
    # trailing 30 days with 5 burst days: 0.02 + (0.45 - 0.02) * 5 / 30 = 0.092
    assert 0.075 < health.late_shipment_rate.max() < 0.11
    assert health.late_shipment_rate.min() < 0.04


def test_benchmark_spec_is_sized_and_spread() -> None:
    spec = benchmark_spec(200_000)
    assert len(spec.stores) == 1000
    assert len({s.currency for s in spec.stores}) >= 6
    assert len({s.platform for s in spec.stores}) == 3
    assert abs(expected_order_lines(spec) - 200_000) < 1
    lines = sum(t.num_rows for name, t in generate(spec) if name == "order_lines")
    assert 180_000 <= lines <= 220_000


def test_invalid_specs_are_refused(spec: DemoSpec) -> None:
    with pytest.raises(ValueError, match="ends"):
        DemoSpec(spec.stores, spec.end, spec.start)
    with pytest.raises(ValueError, match="unique"):
        DemoSpec(spec.stores + spec.stores[:1], spec.start, spec.end)
