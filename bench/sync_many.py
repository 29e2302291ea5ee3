"""Sync N simulated stores against the loopback fake platforms; stores/minute and limits.

Stores rotate over four platforms: Shopee shops (200 orders each: order list + detail,
escrow, returns), Amazon sellers (40 orders each: getOrders + getOrderItems, settlement
listing), Lazada sellers (200 orders: GetOrders + GetMultipleOrderItems) and TikTok shops
(200 orders: Search Orders + Get Order Detail). Every store is its own seller account, so
per-account buckets run side by side; the fakes enforce the limits (published for Amazon,
assumed 10 req/s per account for the others) times ``--scale`` and count every request
beyond them as a violation. The client runs the same limits times the same scale.

    .venv/bin/python bench/sync_many.py --stores 20 --workers 4 [--scale 20]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "connectors"))

from fake_platforms.amazon_sp import FakeAmazonSP, published_limits
from fake_platforms.lazada import FakeLazada
from fake_platforms.lazada import make_orders as lazada_orders
from fake_platforms.shopee import FakeShopee, make_orders
from fake_platforms.tiktok import FakeTikTok
from fake_platforms.tiktok import make_orders as tiktok_orders

from lianxing.config import Settings
from lianxing.ingest.sync import (
    ConnectorOptions,
    connect_with_refresh_token,
    sync_stores,
)
from lianxing.stores import create_store
from lianxing.workspace import init_workspace, open_workspace

# Chosen by (connector, stream): Amazon's requested reports (its "returns" among them)
# poll for minutes at published rates, so Amazon runs orders and settlements only, while
# Shopee's "returns" (a plain listing) is read.
BENCH_STREAMS = (
    ("amazon_sp", "orders"),
    ("amazon_sp", "settlements"),
    ("shopee", "orders"),
    ("shopee", "finances"),
    ("shopee", "returns"),
    ("lazada", "orders"),
    ("tiktok", "orders"),
)
PLATFORMS = (("shopee", "MY"), ("amazon", "US"), ("lazada", "MY"), ("tiktok", "US"))


def amazon_orders(seller: str, count: int) -> list[dict[str, object]]:
    base = dt.datetime(2026, 11, 1)
    orders = []
    for n in range(count):
        when = (base + dt.timedelta(hours=n)).isoformat() + "Z"
        money = {"CurrencyCode": "USD", "Amount": "19.99"}
        orders.append(
            {
                "AmazonOrderId": f"{seller}-{n:07d}",
                "PurchaseDate": when,
                "LastUpdateDate": when,
                "OrderStatus": "Shipped",
                "FulfillmentChannel": "AFN",
                "OrderTotal": money,
                "_items": [
                    {
                        "ASIN": "B0BENCH",
                        "SellerSKU": "SKU-1",
                        "OrderItemId": f"{n}1",
                        "QuantityOrdered": 1,
                        "ItemPrice": money,
                    }
                ],
            }
        )
    return orders


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stores", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--scale", type=float, default=20.0)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="lianxing-bench-sync-"))
    settings = Settings(home=home)
    init_workspace(settings)
    ws = open_workspace(settings)
    shopee = FakeShopee(limits={"*": (10.0 * args.scale, 10)}, page_size=50)
    amazon = FakeAmazonSP(limits=published_limits(args.scale), page_size=20)
    lazada = FakeLazada(limits={"*": (10.0 * args.scale, 10)}, page_size=50)
    tiktok = FakeTikTok(limits={"*": (10.0 * args.scale, 10)}, page_size=50)
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    options = ConnectorOptions(limit_scale=args.scale)
    with shopee.running(), amazon.running(), lazada.running(), tiktok.running():
        ids = []
        for n in range(args.stores):
            with ws.session() as session:
                platform, site = PLATFORMS[n % len(PLATFORMS)]
                store = create_store(session, platform=platform, site=site, name=f"bench {n}").id
            ids.append(store)
            if platform == "shopee":
                shop = str(500000 + n)
                shopee.orders[shop] = make_orders(
                    shop, 200, int(dt.datetime(2026, 11, 1, tzinfo=dt.UTC).timestamp())
                )
                connect_with_refresh_token(
                    ws,
                    store,
                    app_key=shopee.partner_id,
                    app_secret=shopee.partner_key,
                    refresh_token=shopee.grant(shop),
                    account={"shop_id": shop},
                    api_base=shopee.url,
                    auth_base=shopee.url,
                )
            elif platform == "lazada":
                seller = f"MY{n:07d}"
                lazada.orders[seller] = lazada_orders(seller, 200, start)
                connect_with_refresh_token(
                    ws,
                    store,
                    app_key=lazada.app_key,
                    app_secret=lazada.app_secret,
                    refresh_token=lazada.grant(seller),
                    api_base=lazada.url,
                    auth_base=lazada.url,
                )
            elif platform == "tiktok":
                shop = {"id": str(900 + n), "name": f"tt {n}", "region": "US", "cipher": f"C{n}"}
                tiktok.shops.append(shop)
                tiktok.orders[shop["id"]] = tiktok_orders(200, start)
                connect_with_refresh_token(
                    ws,
                    store,
                    app_key=tiktok.app_key,
                    app_secret=tiktok.app_secret,
                    refresh_token=tiktok.grant(f"open-{n}"),
                    account={"shop_id": shop["id"]},
                    api_base=tiktok.url,
                    auth_base=tiktok.url,
                )
            else:
                seller = f"A{n:06d}"
                amazon.orders[seller] = amazon_orders(seller, 40)
                connect_with_refresh_token(
                    ws,
                    store,
                    app_key=amazon.client_id,
                    app_secret=amazon.client_secret,
                    refresh_token=amazon.grant(seller),
                    account={"seller_id": seller},
                    api_base=amazon.url,
                    auth_base=amazon.url,
                )
        started = time.perf_counter()
        results = sync_stores(
            ws,
            ids,
            dt.date(2026, 10, 31),
            workers=args.workers,
            options=options,
            streams=BENCH_STREAMS,
        )
        elapsed = time.perf_counter() - started
    failed = [r.as_json() for r in results if r.status != "succeeded"]
    requests = sum(r.requests for r in results)
    rows = sum(
        int(ws.warehouse.execute(f"SELECT count(*) FROM {t}")[0][0])
        for t in ("orders", "order_lines", "fees", "refunds", "returns")
    )
    print(
        f"stores: {args.stores} ({args.stores - len(failed)} succeeded), "
        f"workers: {args.workers}, limit scale: {args.scale}"
    )
    print(f"elapsed: {elapsed:.1f} s, stores/minute: {args.stores / elapsed * 60:.1f}")
    print(f"requests: {requests} ({requests / elapsed:.0f}/s), fact rows: {rows}")
    fakes = {"shopee": shopee, "amazon": amazon, "lazada": lazada, "tiktok": tiktok}
    print(
        "limit violations: "
        + ", ".join(f"{name} {fake.violations}" for name, fake in fakes.items())
        + "; bad signatures: "
        + ", ".join(f"{name} {fake.bad_signatures}" for name, fake in fakes.items())
    )
    if failed:
        print("failed:", failed[:2])
    ws.close()


if __name__ == "__main__":
    main()
