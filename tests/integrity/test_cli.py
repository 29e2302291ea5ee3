"""``lianxing integrity``, ``integrity review`` and ``provenance`` end to end, on a
SQLite + DuckDB workspace and on PostgreSQL; reviews audited; confirmed orders for contracts."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from lianxing.cli import app
from lianxing.db.audit import verify
from lianxing.db.models import AuditEntry
from lianxing.db.models_integrity import IntegrityFlag, IntegrityReview
from lianxing.integrity import confirmed_flagged_orders
from lianxing.stores import create_store
from lianxing.workspace import Workspace

runner = CliRunner()
BASE = dt.datetime(2026, 10, 10, 2, 0)  # 10:00 in Kuala Lumpur


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _facts(store_id: int) -> dict[str, list[dict[str, Any]]]:
    orders, lines = [], []

    def add(order_id: str, at: dt.datetime, buyer: str) -> None:
        orders.append(
            {
                "store_id": store_id,
                "order_id": order_id,
                "purchase_ts": at,
                "status": "shipped",
                "currency": "MYR",
                "buyer_ref": buyer,
                "ship_postal_code": order_id,
            }
        )
        lines.append(
            {
                "store_id": store_id,
                "order_id": order_id,
                "line_id": "1",
                "sku": "N",
                "quantity": 1,
                "item_price": Decimal("20.00"),
                "currency": "MYR",
            }
        )

    for i in range(40):  # one order every three hours from different buyers
        add(f"N{i}", BASE + dt.timedelta(hours=3 * i), f"buyer{i}")
    for i in range(6):  # one buyer, six orders in half an hour
        add(f"B{i}", BASE + dt.timedelta(minutes=6 * i), "brusher")
    return {"orders": orders, "order_lines": lines}


@pytest.fixture
def store_id(workspace: Workspace) -> int:
    with workspace.session() as session:
        store = create_store(session, platform="shopee", site="MY", name="Test MY")
    with workspace.warehouse.batch("api-1", source="api:shopee") as batch:
        for name, data in _facts(store.id).items():
            batch.append(name, data)
    return store.id


def test_integrity_finds_reviews_and_excludes_confirmed_orders(
    workspace: Workspace, store_id: int
) -> None:
    code, out, err = _run("integrity", "--store", str(store_id), "--period", "2026-10", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["period"] == {
        "start": "2026-10-01",
        "end": "2026-11-01",
        "timezone": "Asia/Kuala_Lumpur",
    }
    assert report["gmv"] == 920.0  # 46 orders of 20.00
    (finding,) = report["findings"]
    assert finding["rule"] == "order_concentration"
    assert finding["status"] == "open"
    # the burst and the other order of that hour (Shopee's shop-hour rule): 7 x 20.00
    assert finding["orders"] == ["B0", "B1", "B2", "B3", "B4", "B5", "N0"]
    assert finding["gmv"] == 140.0
    assert finding["gmv_share"] == pytest.approx(140 / 920)
    assert report["flagged_share"] == pytest.approx(140 / 920)
    assert report["confirmed_share"] == 0.0
    assert "买家 brusher" in finding["explanation"]["zh"]
    flag_id = finding["id"]

    # a second run finds the same flag again instead of a new one
    code, out, _ = _run("integrity", "--store", str(store_id), "--period", "2026-10", "--json")
    assert [f["id"] for f in json.loads(out)["findings"]] == [flag_id]

    code, out, err = _run(
        "integrity", "review", str(flag_id), "--confirm", "--reason", "同一买家刷单", "--json"
    )
    assert code == 0, err
    reviewed = json.loads(out)
    assert reviewed["status"] == "confirmed"
    assert reviewed["reviews"][0]["reason"] == "同一买家刷单"

    with workspace.session() as session:
        assert confirmed_flagged_orders(
            session, store_id, dt.date(2026, 10, 1), dt.date(2026, 11, 1)
        ) == {"B0", "B1", "B2", "B3", "B4", "B5", "N0"}
        # purchase days are local: the burst is on 10 October, so 11 October on has none
        assert (
            confirmed_flagged_orders(session, store_id, dt.date(2026, 10, 11), dt.date(2026, 11, 1))
            == set()
        )
        # datetimes are UTC instants: 02:00-02:13 UTC holds B0, B1, B2 and N0
        assert confirmed_flagged_orders(
            session, store_id, BASE, BASE + dt.timedelta(minutes=13)
        ) == {"B0", "B1", "B2", "N0"}
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.entity == "integrity_flag")
        ).all()
        assert [e.action for e in entries] == ["integrity.flag", "integrity.confirmed"]
        assert entries[1].data["reason"] == "同一买家刷单"
        assert entries[1].data["from"] == "open"
        assert verify(session)[1] is None

    code, out, _ = _run("integrity", "--store", str(store_id), "--period", "2026-10", "--json")
    again = json.loads(out)
    assert again["findings"][0]["status"] == "confirmed"  # re-detection keeps the review
    assert again["confirmed_share"] == pytest.approx(140 / 920)

    code, _, err = _run("integrity", "review", str(flag_id), "--dismiss", "--reason", "团购订单")
    assert code == 0, err
    code, out, _ = _run("integrity", "--store", str(store_id), "--period", "2026-10", "--json")
    dismissed = json.loads(out)
    assert dismissed["findings"][0]["status"] == "dismissed"
    assert dismissed["flagged_share"] == 0.0  # dismissed flags no longer count
    with workspace.session() as session:
        flag = session.get(IntegrityFlag, flag_id)
        assert flag is not None
        assert [(r.decision, r.reason) for r in flag.reviews] == [
            ("confirmed", "同一买家刷单"),
            ("dismissed", "团购订单"),
        ]
        assert (
            confirmed_flagged_orders(session, store_id, dt.date(2026, 10, 1), dt.date(2026, 11, 1))
            == set()
        )

    code, out, err = _run("integrity", "--store", str(store_id), "--period", "2026-10")
    assert code == 0, err
    assert "dismissed" in out and "buyer brusher placed 6 orders within 30 minutes" in out


def test_bad_input_exits_2_and_writes_nothing(workspace: Workspace, store_id: int) -> None:
    code, _, err = _run("integrity", "--store", str(store_id), "--period", "2026-13")
    assert code == 2 and "--period" in err and "2026-13" in err
    code, _, err = _run("integrity", "--store", "999", "--period", "2026-10")
    assert code == 2 and "no store with id 999" in err
    code, _, err = _run("integrity", "review", "1", "--confirm", "--dismiss", "--reason", "x")
    assert code == 2 and "exactly one of --confirm or --dismiss" in err
    code, _, err = _run("integrity", "review", "77", "--confirm", "--reason", "x")
    assert code == 2 and "no integrity flag with id 77" in err
    code, _, err = _run("integrity", "review", "77", "--confirm", "--reason", "  ")
    assert code == 2 and "needs a reason" in err
    code, _, err = _run("provenance", "--store", str(store_id), "--period", "2026-10", "--kpi", "x")
    assert code == 2 and "provenance knows no KPI 'x'" in err
    with workspace.session() as session:
        assert session.scalars(select(IntegrityFlag)).all() == []
        assert session.scalars(select(IntegrityReview)).all() == []


def test_provenance_shares_and_rows(workspace: Workspace, store_id: int) -> None:
    # an agency types one order line in by hand
    with workspace.warehouse.batch("manual-1", source="manual") as batch:
        batch.append(
            "order_lines",
            [
                {
                    "store_id": store_id,
                    "order_id": "N3",
                    "line_id": "1",
                    "sku": "N",
                    "quantity": 1,
                    "item_price": Decimal("100.00"),
                    "currency": "MYR",
                }
            ],
        )
    code, out, err = _run(
        "provenance",
        "--store",
        str(store_id),
        "--period",
        "2026-10-01..2026-10-15",
        "--kpi",
        "gmv",
        "--rows",
        "3",
        "--json",
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["period"]["end"] == "2026-10-16"
    (component,) = result["components"]
    # 45 API lines of 20.00 (N3 replaced) = 900 and the manual 100.00: 1,000
    assert component["total"] == 1000.0 and component["rows"] == 46
    assert [
        (s["source"], s["batch_id"], s["share"], s["manual"]) for s in component["by_source"]
    ] == [
        ("api:shopee", "api-1", 0.9, False),
        ("manual", "manual-1", 0.1, True),
    ]
    assert component["manual_rows"] == 1
    assert component["drilldown"][0]["order_id"] == "N3"
    assert component["drilldown"][0]["manual"] is True
    assert len(component["drilldown"]) == 3

    code, out, err = _run(
        "provenance", "--store", str(store_id), "--period", "2026-W41", "--kpi", "gmv"
    )
    assert code == 0, err
    assert "MANUAL" in out and "api:shopee" in out and "N3" in out
