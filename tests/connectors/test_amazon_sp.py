"""Amazon SP-API connector against a loopback fake: LWA, paging, and the same facts as files."""

from __future__ import annotations

import datetime as dt
import json
import time
from decimal import Decimal
from typing import Any

import pytest
from fake_platforms.amazon_sp import FakeAmazonSP, published_limits
from helpers import DATA, add_store, fact_counts, sp_api_orders

import lianxing.ingest.sync as sync_module
from lianxing.domain.facts import FACT_TABLES
from lianxing.ingest.api.amazon_sp import AmazonSellingPartner
from lianxing.ingest.api.base import Credentials
from lianxing.ingest.api.http import ApiError
from lianxing.ingest.service import ImportInputError, ImportOptions, import_file
from lianxing.ingest.sync import (
    ConnectorOptions,
    complete_authorisation,
    connect_with_refresh_token,
    start_authorisation,
    sync_status,
    sync_store,
)
from lianxing.workspace import Workspace

SELLER = "A1SELLERTEST"
SINCE = dt.date(2026, 9, 30)
SCALE = 60.0  # published limits x 60 on both sides, so a test runs in seconds
FAST = ConnectorOptions(limit_scale=SCALE, http={"backoff_base": 0.01}, poll_interval=0.01)


def _rows(workspace: Workspace, table: str, store_id: int) -> list[dict[str, Any]]:
    t = workspace.warehouse.table(table)
    df = t.filter(t.store_id == store_id).drop("store_id", "source", "batch_id").to_pyarrow()
    key = ["order_id", "line_id"] if table == "order_lines" else ["order_id"]
    return sorted(df.to_pylist(), key=lambda r: [r[k] for k in key])


def _connect(workspace: Workspace, fake: FakeAmazonSP, store_id: int, **account: str) -> None:
    connect_with_refresh_token(
        workspace,
        store_id,
        app_key=fake.client_id,
        app_secret=fake.client_secret,
        refresh_token=fake.grant(SELLER),
        account={"seller_id": SELLER, **account},
        api_base=fake.url,
        auth_base=fake.url,
    )


def test_orders_by_api_are_the_all_orders_facts(workspace: Workspace) -> None:
    file_store = add_store(workspace, "amazon", "US", "file")
    api_store = add_store(workspace, "amazon", "US", "api")
    import_file(workspace, DATA / "amazon_all_orders.txt", file_store)
    fake = FakeAmazonSP(limits=published_limits(SCALE), orders={SELLER: sp_api_orders()})
    with fake.running():
        _connect(workspace, fake, api_store)
        [result] = sync_store(workspace, api_store, SINCE, streams=["orders"], options=FAST)
        # The same orders synced into the store that imported the file change nothing.
        _connect(workspace, fake, file_store)
        [again] = sync_store(workspace, file_store, SINCE, streams=["orders"], options=FAST)
    assert result.status == "succeeded", result.as_json()
    assert result.streams[0].records == 4
    assert fake.count("getOrders") * 2 == 4 * 2 // 2 * 2  # 2 pages of 2 orders, per sync
    assert fake.violations == 0
    assert _rows(workspace, "orders", api_store) == _rows(workspace, "orders", file_store)
    assert _rows(workspace, "order_lines", api_store) == _rows(workspace, "order_lines", file_store)
    lines = {r["line_id"]: r for r in _rows(workspace, "order_lines", api_store)}
    assert lines["10000000000001"]["promotion_discount"] == Decimal("5.0000")
    assert lines["10000000000002"]["promotion_discount"] == Decimal("4.9900")
    assert lines["10000000000004"]["item_price"] is None  # pending: not priced yet
    stats = again.streams[0].tables
    assert stats["orders"].unchanged == 4 and stats["orders"].new == 0
    assert stats["order_lines"].unchanged == 5 and stats["order_lines"].updated == 0


def test_token_expiry_mid_sync_and_throttling(workspace: Workspace) -> None:
    store = add_store(workspace, "amazon", "US", "api")
    fake = FakeAmazonSP(limits=published_limits(SCALE), orders={SELLER: sp_api_orders()})
    with fake.running():
        _connect(workspace, fake, store)
        fake.expire_tokens_after(3)  # the 4th data call finds its token expired
        fake.throttle_next(1, retry_after=1)
        started = dt.datetime.now()
        [result] = sync_store(workspace, store, SINCE, streams=["orders"], options=FAST)
        elapsed = (dt.datetime.now() - started).total_seconds()
    assert result.status == "succeeded", result.as_json()
    assert fake.token_expiries == 1 and result.token_refreshes == 1
    assert result.throttled == 1 and elapsed >= 1.0  # waited out Retry-After: 1
    assert len(_rows(workspace, "order_lines", store)) == 5
    [status] = sync_status(workspace, store)
    assert status["status"] == "active"
    [orders] = status["streams"]
    assert orders["last_error"] is None and orders["lag_seconds"] < 600


def test_revoked_grant_is_shown_and_stops_sync(workspace: Workspace) -> None:
    store = add_store(workspace, "amazon", "US", "api")
    fake = FakeAmazonSP(limits=published_limits(SCALE), orders={SELLER: sp_api_orders()})
    with fake.running():
        _connect(workspace, fake, store)
        fake.revoke()
        [result] = sync_store(workspace, store, SINCE, streams=["orders"], options=FAST)
        [again] = sync_store(workspace, store, SINCE, streams=["orders"], options=FAST)
    assert result.status == "revoked"
    assert again.status == "revoked" and again.streams == []
    [status] = sync_status(workspace, store)
    assert status["status"] == "revoked" and "invalid_grant" in status["status_reason"]


def test_authorisation_code_flow(workspace: Workspace) -> None:
    store = add_store(workspace, "amazon", "US", "api")
    fake = FakeAmazonSP(limits=published_limits(SCALE))
    with fake.running():
        url = start_authorisation(
            workspace,
            store,
            app_key=fake.client_id,
            app_secret=fake.client_secret,
            api_base=fake.url,
            auth_base=fake.url,
            redirect_uri="https://app.example/cb",
        )
        assert url.startswith("https://sellercentral.amazon.com/apps/authorize/consent?")
        state = url.split("state=")[1].split("&")[0]
        fake.codes["code-123"] = SELLER
        with pytest.raises(ValueError, match="state"):
            complete_authorisation(
                workspace, store, {"spapi_oauth_code": "code-123", "state": "forged"}
            )
        view = complete_authorisation(
            workspace,
            store,
            {"spapi_oauth_code": "code-123", "state": state, "selling_partner_id": SELLER},
            redirect_uri="https://app.example/cb",
        )
    assert view["status"] == "active" and view["account"]["seller_id"] == SELLER
    # A callback more than an hour after the authorisation began is refused.
    url = start_authorisation(
        workspace, store, app_key=fake.client_id, app_secret=fake.client_secret
    )
    state = url.split("state=")[1].split("&")[0]
    later = time.time() + sync_module.AUTHORISATION_TTL_SECONDS + 60
    with (
        pytest.MonkeyPatch.context() as patch,
        pytest.raises(ValueError, match="more than 60 minutes ago"),
    ):
        patch.setattr(sync_module.time, "time", lambda: later)
        complete_authorisation(workspace, store, {"spapi_oauth_code": "c", "state": state})
    with workspace.session() as session:
        from lianxing.db.models_connectors import StoreConnection

        conn = session.query(StoreConnection).one()
        # Encrypted at rest: neither secret nor token appears in the row.
        assert "lwa-secret" not in conn.app_secret_enc
        assert conn.refresh_token_enc is not None and "rt-" not in conn.refresh_token_enc
        assert workspace.cipher.decrypt(conn.refresh_token_enc.encode()).decode().startswith("rt-")


# -- money, traffic and report streams -------------------------------------------------------
# "Now" is frozen for these syncs so that their windows, and the marketplace-local days the
# streams ask for one at a time, are the few days the test data covers (US store: Pacific).

FINANCES_ACCOUNT = {"money_stream": "finances"}


def _freeze_now(monkeypatch: pytest.MonkeyPatch, moment: dt.datetime) -> None:
    monkeypatch.setattr("lianxing.ingest.sync.utcnow", lambda: moment)


def _facts(workspace: Workspace, table: str, store_id: int) -> list[dict[str, Any]]:
    """The store's rows of ``table`` without bookkeeping columns, in key order."""
    t = workspace.warehouse.table(table)
    rows = t.filter(t.store_id == store_id).drop("store_id", "source", "batch_id").to_pyarrow()
    key = [c for c in FACT_TABLES[table].key if c != "store_id"]
    return sorted(rows.to_pylist(), key=lambda r: [str(r[k]) for k in key])


def _without(rows: list[dict[str, Any]], column: str) -> list[dict[str, Any]]:
    found = [{k: v for k, v in r.items() if k != column} for r in rows]
    return sorted(found, key=lambda r: [str(v) for v in r.values()])


def _fake_with_money() -> FakeAmazonSP:
    fake = FakeAmazonSP(
        limits=published_limits(SCALE),
        financial_events=json.loads((DATA / "amazon_financial_events.json").read_text()),
        empty_pages=True,
    )
    fake.add_settlement(
        "9001", "2026-10-16T03:00:00+00:00", (DATA / "amazon_settlement_v2.txt").read_bytes()
    )
    return fake


def test_finances_and_settlements_carry_the_same_money_one_at_a_time(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    by_settlement = add_store(workspace, "amazon", "US", "settlements")
    by_finances = add_store(workspace, "amazon", "US", "finances")
    by_file = add_store(workspace, "amazon", "US", "file")
    import_file(workspace, DATA / "amazon_settlement_v2.txt", by_file)
    both = ["settlements", "finances"]
    fake = _fake_with_money()
    with fake.running():
        _connect(workspace, fake, by_settlement)  # the default: settlements
        _freeze_now(monkeypatch, dt.datetime(2026, 10, 17, 12, 0))  # the report is of 10-16
        [settled] = sync_store(
            workspace, by_settlement, dt.date(2026, 10, 15), streams=both, options=FAST
        )
        assert fake.count("getReports") == 1 and fake.count("listFinancialEvents") == 0
        _connect(workspace, fake, by_finances, **FINANCES_ACCOUNT)
        fake.throttle_next(1, retry_after=0.2)
        _freeze_now(monkeypatch, dt.datetime(2026, 10, 4, 12, 0))
        [financed] = sync_store(
            workspace, by_finances, dt.date(2026, 10, 1), streams=both, options=FAST
        )
    assert settled.status == "succeeded" and financed.status == "succeeded", financed.as_json()
    # Each connection read one of the two and left the other alone (not even run).
    assert fake.count("getReports") == 1
    assert [(s.stream, s.pages) for s in settled.streams] == [("settlements", 1)]
    assert [(s.stream, s.pages) for s in financed.streams] == [("finances", 5)]
    # Pacific days 09-30 .. 10-04, each asked for alone: 5 queries, each opened by an empty
    # page; then 1 page on 10-01 (1 event), 2 on 10-02 (3), 2 on 10-03 (4), 1 on each of
    # the 2 days without events; plus the one answered 429.
    assert fake.count("listFinancialEvents") == 5 + 1 + 2 + 2 + 2 + 1
    assert financed.throttled == 1 and fake.violations == 0
    # 2 shipments, 1 refund, 1 chargeback, 4 service fee events
    assert financed.streams[0].records == 8

    # The settlements stream gives the uploaded settlement file's facts, keys included.
    for table in ("refunds", "fees"):
        assert _facts(workspace, table, by_settlement) == _facts(workspace, table, by_file)

    usd = "USD"
    refunds = _facts(workspace, "refunds", by_finances)
    assert refunds == [
        {
            "refund_id": "fin:111-0000001-0000001|50000000000001|SKU-A|2026-10-02T20:30:00",
            "order_id": "111-0000001-0000001",
            "sku": "SKU-A",
            "refund_ts": dt.datetime(2026, 10, 2, 20, 30),
            "amount": Decimal("19.9900"),  # Principal only; the 1.60 tax refund is not a sale
            "currency": usd,
            "reason": None,
        }
    ]
    fees = {r["fee_id"]: (r["posted_ts"], r["fee_type"], r["amount"]) for r in
            _facts(workspace, "fees", by_finances)}  # fmt: skip
    e1, e2 = "2026-10-01T18:00:00", "2026-10-02T09:15:00"
    sold1 = f"fin:sale|111-0000001-0000001|10000000000001|{e1}|"
    sold2 = f"fin:sale|111-0000002-0000002|10000000000003|{e2}|"
    refund = "fin:refund|111-0000001-0000001|50000000000001|2026-10-02T20:30:00|"
    chargeback = "fin:chargeback|111-0000002-0000002|50000000000002|2026-10-03T18:00:00|"
    oct2, oct3 = dt.datetime(2026, 10, 2, 7), dt.datetime(2026, 10, 3, 7)  # Pacific midnights
    inbound = "fin:service|||2026-10-03|FBAInboundTransportationFee|FBAInboundTransportationFee"
    assert fees == {
        # Zero components (FixedClosingFee, VariableClosingFee 0.00) are not fees.
        sold1 + "FBAPerUnitFulfillmentFee": (
            dt.datetime(2026, 10, 1, 18),
            "FBAPerUnitFulfillmentFee",
            Decimal("7.3400"),
        ),
        sold1 + "Commission": (dt.datetime(2026, 10, 1, 18), "Commission", Decimal("6.0000")),
        sold2 + "Commission": (dt.datetime(2026, 10, 2, 9, 15), "Commission", Decimal("2.2500")),
        sold2 + "FBAPerUnitFulfillmentFee": (
            dt.datetime(2026, 10, 2, 9, 15),
            "FBAPerUnitFulfillmentFee",
            Decimal("3.2200"),
        ),
        # The refund gives 3.00 commission back and charges a 0.60 refund commission.
        refund + "Commission": (dt.datetime(2026, 10, 2, 20, 30), "Commission", Decimal("-3.0000")),
        refund + "RefundCommission": (
            dt.datetime(2026, 10, 2, 20, 30),
            "RefundCommission",
            Decimal("0.6000"),
        ),
        # A chargeback's fees count, its principal is no refund (as in the settlement).
        chargeback + "Commission": (dt.datetime(2026, 10, 3, 18), "Commission", Decimal("-2.2500")),
        chargeback + "RefundCommission": (
            dt.datetime(2026, 10, 3, 18),
            "RefundCommission",
            Decimal("0.4500"),
        ),
        # Service fees have no PostedDate: dated at the Pacific midnight of the day asked for;
        # two identical ones on one day are both kept; Cost of Advertising is ad spend.
        "fin:service|||2026-10-02|Subscription|Subscription": (
            oct2,
            "Subscription",
            Decimal("39.9900"),
        ),
        inbound: (oct3, "FBAInboundTransportationFee", Decimal("12.5000")),
        inbound + "#2": (oct3, "FBAInboundTransportationFee", Decimal("12.5000")),
    }

    # The same refund and order fees as the settlement report, under other keys.
    assert _without(refunds, "refund_id") == _without(
        _facts(workspace, "refunds", by_settlement), "refund_id"
    )

    def order_fees(store: int) -> list[dict[str, Any]]:
        rows = _facts(workspace, "fees", store)
        return _without([r for r in rows if r["order_id"] is not None], "fee_id")

    assert order_fees(by_finances) == order_fees(by_settlement)
    assert len(order_fees(by_settlement)) == 8


def test_money_stream_is_settlements_or_finances_never_both() -> None:
    def streams(**account: str) -> list[str]:
        creds = Credentials(app_key="client", app_secret="secret", account=account)
        return [s.name for s in AmazonSellingPartner(creds).list_streams()]

    assert "settlements" in streams() and "finances" not in streams()
    chosen = streams(money_stream="finances")
    assert "finances" in chosen and "settlements" not in chosen
    with pytest.raises(ApiError, match="money_stream='both'"):
        streams(money_stream="both")


def test_sales_traffic_per_sku_and_day_as_the_business_report(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    api_store = add_store(workspace, "amazon", "US", "api")
    file_store = add_store(workspace, "amazon", "US", "file")
    import_file(
        workspace,
        DATA / "amazon_business_report_2026-10-01.csv",
        file_store,
        options=ImportOptions(period_from=dt.date(2026, 10, 1), period_to=dt.date(2026, 10, 1)),
    )
    _freeze_now(monkeypatch, dt.datetime(2026, 10, 3, 12, 0))
    fake = FakeAmazonSP(
        limits=published_limits(SCALE),
        sales_traffic=json.loads((DATA / "amazon_sales_traffic.json").read_text()),
    )
    with fake.running():
        _connect(workspace, fake, api_store)
        [result] = sync_store(
            workspace, api_store, dt.date(2026, 10, 1), streams=["sales_traffic"], options=FAST
        )
    assert result.status == "succeeded", result.as_json()
    # One report a Pacific day the window touches (10-01 00:00 UTC is 09-30 in Los Angeles).
    asked = [(b["dataStartTime"], b["dataEndTime"], b["reportOptions"]) for b in fake.created]
    days = ["2026-09-30", "2026-10-01", "2026-10-02", "2026-10-03"]
    options = {"dateGranularity": "DAY", "asinGranularity": "SKU"}
    assert asked == [(f"{d}T00:00:00Z", f"{d}T23:59:59Z", options) for d in days]
    assert fake.violations == 0 and result.streams[0].records == 5
    traffic = [(r["date"], r["sku"], r["sessions"], r["page_views"]) for r in
               _facts(workspace, "traffic_daily", api_store)]  # fmt: skip
    oct1, oct2 = dt.date(2026, 10, 1), dt.date(2026, 10, 2)
    assert traffic == [
        (oct1, "SKU-A", 120, 180),
        (oct1, "SKU-B", 45, 60),
        (oct2, "SKU-A", 98, 150),
        (oct2, "SKU-B", 52, 70),
        (oct2, "SKU-C", 7, 9),
    ]
    # The uploaded Business Report of 10-01 gives the same rows (its Total row dropped).
    from_file = _facts(workspace, "traffic_daily", file_store)
    assert from_file == [
        r for r in _facts(workspace, "traffic_daily", api_store) if r["date"] == oct1
    ]


def test_returns_listings_and_account_health_reports(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = add_store(workspace, "amazon", "US", "api")
    _freeze_now(monkeypatch, dt.datetime(2026, 10, 4, 5, 0))  # 22:00 PDT on 10-03
    fake = FakeAmazonSP(
        limits=published_limits(SCALE),
        report_contents={
            "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA": (
                DATA / "amazon_fba_returns.txt"
            ).read_bytes(),
            "GET_MERCHANT_LISTINGS_ALL_DATA": (DATA / "amazon_listings.txt").read_bytes(),
            "GET_V2_SELLER_PERFORMANCE_REPORT": (DATA / "amazon_account_health.json").read_bytes(),
        },
    )
    streams = ["returns", "listings", "account_health"]
    with fake.running():
        _connect(workspace, fake, store)
        [result] = sync_store(workspace, store, dt.date(2026, 10, 1), streams=streams, options=FAST)
    assert result.status == "succeeded", result.as_json()
    assert [s.stream for s in result.streams] == streams
    assert [b["reportType"] for b in fake.created] == [
        "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA",
        "GET_MERCHANT_LISTINGS_ALL_DATA",
        "GET_V2_SELLER_PERFORMANCE_REPORT",
    ]
    assert all(b["marketplaceIds"] == ["ATVPDKIKX0DER"] for b in fake.created)
    assert fake.count("getReport") == 6 and fake.violations == 0  # each polled twice

    returns = [
        (r["return_id"], r["return_ts"], r["quantity"], r["reason"], r["disposition"])
        for r in _facts(workspace, "returns", store)
    ]
    assert returns == [
        (
            "fba:111-0000001-0000001|SKU-A|LPNRR0000000001|2026-10-01T16:20:00.000000",
            dt.datetime(2026, 10, 1, 16, 20),
            1,
            "UNWANTED_ITEM",
            "SELLABLE",
        ),
        (
            "fba:111-0000002-0000002|SKU-B|LPNRR0000000002|2026-10-02T21:05:00.000000",
            dt.datetime(2026, 10, 2, 21, 5),
            1,
            "DAMAGED_BY_CARRIER",
            "CUSTOMER_DAMAGED",
        ),
        (
            "fba:111-0000002-0000002|SKU-B|LPNRR0000000003|2026-10-02T21:05:00.000000",
            dt.datetime(2026, 10, 2, 21, 5),
            1,
            "DAMAGED_BY_CARRIER",
            "SELLABLE",
        ),
    ]

    listings = [
        (r["sku"], r["snapshot_date"], r["status"], r["platform_item_id"], r["price"])
        for r in _facts(workspace, "listings", store)
    ]
    # The store's day when the window ends: 04:58 UTC on 10-04 is 21:58 PDT on 10-03.
    snapshot = dt.date(2026, 10, 3)
    assert listings == [
        ("SKU-A", snapshot, "active", "B000000001", Decimal("19.9900")),
        ("SKU-B", snapshot, "inactive", "B000000002", Decimal("14.9900")),
        ("SKU-C", snapshot, "suppressed", "B000000003", Decimal("17.5000")),
    ]
    [sku_c] = [r for r in _facts(workspace, "listings", store) if r["sku"] == "SKU-C"]
    assert sku_c["created_ts"] == dt.datetime(2026, 9, 20, 15, 0)  # 08:00 PDT

    [health] = _facts(workspace, "account_health", store)
    # The US entry (the CA one comes first): ODR = (2 + 2) defects / (600 + 200) orders.
    assert health == {
        "snapshot_date": dt.date(2026, 10, 1),  # end of the ODR reporting window
        "order_defect_rate": pytest.approx(0.005),
        "late_shipment_rate": pytest.approx(0.012),
        "pre_fulfillment_cancel_rate": pytest.approx(0.004),
        "valid_tracking_rate": pytest.approx(0.985),
        "ahr_score": None,
        "status": "GREAT",
    }


def test_a_store_reading_finances_takes_no_settlement_file(workspace: Workspace) -> None:
    store = add_store(workspace, "amazon", "US", "finances")
    fake = _fake_with_money()
    with fake.running():
        _connect(workspace, fake, store, **FINANCES_ACCOUNT)
        with pytest.raises(ImportInputError, match="count that money twice"):
            import_file(workspace, DATA / "amazon_settlement_v2.txt", store)
        assert fact_counts(workspace, "refunds", store) == (0, 0)
        assert fact_counts(workspace, "fees", store) == (0, 0)
        # With the settlements stream (the default) the file is welcome.
        _connect(workspace, fake, store, money_stream="settlements")
        result = import_file(workspace, DATA / "amazon_settlement_v2.txt", store)
    assert result.tables["fees"].new > 0 and fact_counts(workspace, "fees", store)[0] > 0
