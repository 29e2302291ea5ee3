"""Amazon Ads connector end to end against a loopback fake: LWA consent and code exchange,
the store's profile, async v3 reports (create → poll → gzipped JSON) mapped by the Ads
importer, 429 + Retry-After per profile, token expiry mid-sync, 425 duplicates, and a
crash (SIGKILL) while polling resumed on the same report."""

from __future__ import annotations

import datetime as dt
import math
import os
import signal
import subprocess
import sys
import urllib.parse
import zoneinfo
from decimal import Decimal
from typing import Any

from fake_platforms.amazon_ads import FakeAmazonAds
from helpers import add_store, fact_counts

from lianxing.ingest.api.amazon_ads import REPORTS, AmazonAds
from lianxing.ingest.sync import (
    ConnectorOptions,
    SyncResult,
    build_connector,
    complete_authorisation,
    start_authorisation,
    sync_status,
    sync_store,
)
from lianxing.workspace import Workspace

OWNER = "ADV1"
SINCE = dt.date(2026, 10, 15)
SCALE = 20.0
OPTIONS = ConnectorOptions(limit_scale=SCALE, http={"backoff_base": 0.01}, poll_interval=0.01)
PACIFIC = zoneinfo.ZoneInfo("America/Los_Angeles")


def _profile(pid: int, country: str, marketplace: str, kind: str) -> dict[str, Any]:
    return {
        "profileId": pid,
        "countryCode": country,
        "currencyCode": "CAD" if country == "CA" else "USD",
        "dailyBudget": 100,
        "timezone": "America/Los_Angeles",
        "accountInfo": {"marketplaceStringId": marketplace, "id": "A1", "type": kind, "name": "x"},
    }


def _fake() -> FakeAmazonAds:
    limits = {"createReport": (1.0 * SCALE, 5), "getReport": (5.0 * SCALE, 10)}
    return FakeAmazonAds(
        limits=limits,
        profiles={
            OWNER: [
                _profile(3001, "US", "ATVPDKIKX0DER", "seller"),
                _profile(3002, "CA", "A2EUQ1WTGCTBG2", "seller"),
                _profile(3003, "US", "ATVPDKIKX0DER", "vendor"),
            ]
        },
    )


def _authorise(workspace: Workspace, fake: FakeAmazonAds, store: int) -> None:
    url = start_authorisation(
        workspace,
        store,
        app_key=fake.client_id,
        app_secret=fake.client_secret,
        connector_id="amazon_ads",
        api_base=fake.url,
        auth_base=fake.url,
        redirect_uri="https://app.example/ads",
    )
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    assert (parts.netloc, parts.path) == ("www.amazon.com", "/ap/oa")
    assert query["scope"] == "advertising::campaign_management"
    assert query["client_id"] == fake.client_id
    fake.codes["ads-code"] = OWNER
    view = complete_authorisation(
        workspace,
        store,
        {"code": "ads-code", "state": query["state"]},
        redirect_uri="https://app.example/ads",
    )
    # The US seller profile, not the CA one nor the US vendor one.
    assert view["account"]["profile_id"] == "3001"
    assert view["account"]["timezone"] == "America/Los_Angeles"


def _slices(result: SyncResult) -> int:
    """31-day reports the first stream's window needed, in the profile's local days."""
    stream = result.streams[0]
    assert stream.window_start is not None and stream.window_end is not None
    first, last = (
        m.replace(tzinfo=dt.UTC).astimezone(PACIFIC).date()
        for m in (stream.window_start, stream.window_end - dt.timedelta(seconds=1))
    )
    return math.ceil(((last - first).days + 1) / 31)


def test_default_amazon_connector_is_sp_api(workspace: Workspace) -> None:
    store = add_store(workspace, "amazon", "US", "amazon us")
    url = start_authorisation(workspace, store, app_key="k", app_secret="s")
    assert url.startswith("https://sellercentral.amazon.com/apps/authorize/consent?")


def test_sync_end_to_end(workspace: Workspace) -> None:
    store = add_store(workspace, "amazon", "US", "amazon us ads")
    fake = _fake()
    with fake.running():
        _authorise(workspace, fake, store)
        fake.throttle_next(2, retry_after=1)
        fake.expire_tokens_after(3)
        [result] = sync_store(workspace, store, SINCE, options=OPTIONS)
        created = len(fake.ad_reports)
        [again] = sync_store(workspace, store, options=OPTIONS)
    assert result.status == "succeeded", [s.error for s in result.streams]
    assert again.status == "succeeded", again.as_json()
    assert fake.bad_signatures == 0 and fake.violations == 0
    assert fake.throttled_on_purpose == 2 and result.throttled == 2
    assert fake.token_expiries == 1 and fake.refreshes == 1 and result.token_refreshes == 1
    reports = _slices(result)
    assert reports == 2  # Oct 14 .. today (local) is over 31 days
    # 3 ad products x the slices; each report polled twice (pending, completed).
    assert created == 3 * reports
    assert fake.downloads == 3 * reports + 3  # the second run: one report per product
    assert len(fake.ad_reports) == 3 * reports + 3
    # 20 active days: SP 2 campaigns, SB 1, SD 1; re-reads merged by key.
    assert fact_counts(workspace, "ad_daily", store) == (80, 80)
    ads = workspace.warehouse.table("ad_daily")
    mine = ads.filter(ads.store_id == store)
    totals = {
        r["ad_type"]: r
        for r in mine.group_by("ad_type")
        .aggregate(
            cost=mine.cost.sum(),
            sales=mine.attributed_sales.sum(),
            orders=mine.attributed_orders.sum(),
            days=mine.attribution_days.max(),
            currency=mine.currency.max(),
        )
        .to_pyarrow()
        .to_pylist()
    }
    sp = totals["sponsored_products"]
    assert (Decimal(sp["cost"]), Decimal(sp["sales"])) == (Decimal("750.00"), Decimal("3200.00"))
    assert (sp["orders"], sp["days"], sp["currency"]) == (120, 7, "USD")
    sb, sd = totals["sponsored_brands"], totals["sponsored_display"]
    assert (Decimal(sb["cost"]), Decimal(sb["sales"]), sb["days"]) == (
        Decimal("200.00"),
        Decimal("800.00"),
        14,
    )
    assert (Decimal(sd["cost"]), sd["orders"]) == (Decimal("100.00"), 20)
    [status] = sync_status(workspace, store)
    assert {s["stream"] for s in status["streams"]} == set(REPORTS)


def test_duplicate_request_polls_the_existing_report(workspace: Workspace) -> None:
    store = add_store(workspace, "amazon", "US", "amazon us ads")
    fake = _fake()
    with fake.running():
        _authorise(workspace, fake, store)
        connector = build_connector(workspace, store, options=OPTIONS)
        assert isinstance(connector, AmazonAds)
        try:
            report = REPORTS["sponsored_brands"]
            first = connector._create(report, dt.date(2026, 11, 1), dt.date(2026, 11, 7))
            second = connector._create(report, dt.date(2026, 11, 1), dt.date(2026, 11, 7))
        finally:
            connector.close()
    assert second == first and len(fake.ad_reports) == 1


CHILD = """
import datetime as dt, sys
from lianxing.ingest.sync import ConnectorOptions, sync_store
from lianxing.workspace import open_workspace
sync_store(open_workspace(), int(sys.argv[1]), dt.date(2026, 10, 15),
           streams=["sponsored_products"],
           options=ConnectorOptions(limit_scale=20.0, http={"backoff_base": 0.01},
                                    poll_interval=0.01))
"""


def test_crash_while_polling_resumes_on_the_same_report(workspace: Workspace) -> None:
    store = add_store(workspace, "amazon", "US", "amazon us ads")
    fake = _fake()
    with fake.running():
        _authorise(workspace, fake, store)
        fake.hang_after(1)  # the report is created; its first status poll hangs
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(store)], env=os.environ.copy())
        try:
            assert fake.hanging.wait(60), "the child never reached the hang"
            os.kill(child.pid, signal.SIGKILL)
        finally:
            child.wait(30)
        assert child.returncode == -signal.SIGKILL
        fake.hang_after(10_000)
        fake.release.set()
        assert len(fake.ad_reports) == 1
        [status] = sync_status(workspace, store)
        assert status["streams"][0]["in_progress"] is True
        [result] = sync_store(workspace, store, streams=["sponsored_products"], options=OPTIONS)
    assert result.status == "succeeded" and result.streams[0].resumed
    # The first slice's report was polled, not ordered again; the second slice ordered.
    assert len(fake.ad_reports) == _slices(result) == 2
    assert fact_counts(workspace, "ad_daily", store) == (40, 40)
