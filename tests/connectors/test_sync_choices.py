"""Choosing streams by (connector, stream), and the buyer salt shared with file imports."""

from __future__ import annotations

import datetime as dt

from fake_platforms.shopee import FakeShopee, make_orders
from helpers import add_store

from lianxing.ingest.buyers import buyer_salt
from lianxing.ingest.sync import ConnectorOptions, connect_with_refresh_token, sync_stores
from lianxing.workspace import Workspace


def test_buyer_salt_comes_from_the_workspace_key(workspace: Workspace) -> None:
    salt = buyer_salt(workspace)
    assert salt is not None and len(salt) == 32
    assert buyer_salt(workspace) == salt  # stable: the same buyer always gets one buyer_ref
    key_file = workspace.settings.key_file
    original = key_file.read_bytes()
    try:
        key_file.write_bytes(b"another-key")
        assert buyer_salt(workspace) != salt  # another workspace's key, another salt
    finally:
        key_file.write_bytes(original)


def test_streams_chosen_by_connector_and_name(workspace: Workspace) -> None:
    store = add_store(workspace, "shopee", "MY", "shopee my")
    fake = FakeShopee(limits={"*": (50.0, 10)}, orders={"42": make_orders("42", 3, 1790000000)})
    with fake.running():
        connect_with_refresh_token(
            workspace,
            store,
            app_key=fake.partner_id,
            app_secret=fake.partner_key,
            refresh_token=fake.grant("42"),
            account={"shop_id": "42"},
            api_base=fake.url,
            auth_base=fake.url,
        )
        options = ConnectorOptions(limit_scale=5.0)
        # Amazon's "returns" is not Shopee's: only Shopee's orders run here.
        [only_orders] = sync_stores(
            workspace,
            [store],
            dt.date(2026, 9, 20),
            streams=iter([("amazon_sp", "returns"), ("shopee", "orders")]),
            options=options,
        )
        # A bare name chooses that stream of every connector.
        [returns] = sync_stores(
            workspace, [store], dt.date(2026, 9, 20), streams=["returns"], options=options
        )
    assert [s.stream for s in only_orders.streams] == ["orders"]
    assert [s.stream for s in returns.streams] == ["returns"]
