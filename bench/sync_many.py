"""Sync N simulated stores against the loopback fake platforms; stores/minute and limits.

Half the stores are Shopee shops (200 orders each: order list + detail, escrow, returns),
half Amazon sellers (40 orders each: getOrders + getOrderItems). Every store is its own
seller account, so per-account buckets run side by side; the fakes enforce the published
limits (Shopee: the assumed 10 req/s per shop) times ``--scale`` and count every request
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
from fake_platforms.shopee import FakeShopee, make_orders

from lianxing.config import Settings
from lianxing.ingest.sync import (
    ConnectorOptions,
    connect_with_refresh_token,
    sync_stores,
)
from lianxing.stores import create_store
from lianxing.workspace import init_workspace, open_workspace

# Amazon's requested reports poll for minutes at published rates; the bench reads the
# order and settlement streams, Shopee its orders and escrow (finances).
BENCH_STREAMS = ("orders", "settlements", "finances")


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
    options = ConnectorOptions(limit_scale=args.scale)
    with shopee.running(), amazon.running():
        ids = []
        for n in range(args.stores):
            with ws.session() as session:
                platform, site = ("shopee", "MY") if n % 2 == 0 else ("amazon", "US")
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
        for t in ("orders", "order_lines", "fees", "refunds")
    )
    print(
        f"stores: {args.stores} ({args.stores - len(failed)} succeeded), "
        f"workers: {args.workers}, limit scale: {args.scale}"
    )
    print(f"elapsed: {elapsed:.1f} s, stores/minute: {args.stores / elapsed * 60:.1f}")
    print(f"requests: {requests} ({requests / elapsed:.0f}/s), fact rows: {rows}")
    print(
        f"limit violations: shopee {shopee.violations}, amazon {amazon.violations}; "
        f"bad signatures: {shopee.bad_signatures}"
    )
    if failed:
        print("failed:", failed[:2])
    ws.close()


if __name__ == "__main__":
    main()
