"""The launch workflow end to end through the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from launch_helpers import add_store, count, run, run_json

from lianxing.db.models import AuditEntry
from lianxing.db.models_launch import LaunchItem, LaunchPlan
from lianxing.workspace import Workspace

AMAZON_DOCUMENTS = [
    "doc.business_licence",
    "doc.legal_rep_id",
    "doc.credit_card",
    "doc.bank_statement",
    "doc.payout_account",
    "doc.phone",
    "doc.email",
    "doc.address_proof",
    "doc.brand_registration",
    "doc.category_qualifications",
]


def _stage(status: dict, stage: str) -> dict:
    return next(s for s in status["stages"] if s["id"] == stage)


def test_amazon_us_plan_lists_the_documents_and_explains_blockers(workspace: Workspace) -> None:
    store = add_store("amazon", "US")
    status = run_json("launch", "plan", "--store", str(store), "--json")
    assert [s["id"] for s in status["stages"]] == [
        "requirements",
        "proposal",
        "documents",
        "registration",
        "kpi_hookup",
        "operations",
    ]
    docs = _stage(status, "documents")
    assert [i["key"] for i in docs["items"]] == AMAZON_DOCUMENTS
    assert docs["name"] == {"zh": "资料准备", "en": "Documents"}
    # Optional items never block; everything else in the stage does.
    assert docs["open_required"] == AMAZON_DOCUMENTS[:8]
    assert status["current_stage"] == "requirements"
    assert status["next_stage_blocked_by"] == ["req.platform_site", "req.category", "req.budget"]
    assert _stage(status, "proposal")["blocked_by"] == [
        "req.platform_site",
        "req.category",
        "req.budget",
    ]
    reg = _stage(status, "registration")
    assert "comp.us_sales_tax" in [i["key"] for i in reg["items"]]
    assert {r["code"] for r in status["risks"]} == {
        "REGISTRATION_BY_THIRD_PARTY",
        "ONE_ACCOUNT_MANY_STORES",
    }
    credit = next(i for i in docs["items"] if i["key"] == "doc.credit_card")
    assert credit["unverified"] is True and credit["owner"] == "seller"
    cited = {s["id"] for s in status["sources"]}
    assert {src for s in status["stages"] for i in s["items"] for src in i["sources"]} <= cited

    # Completing the requirements stage: two done, one waived with a reason.
    for key in ("req.platform_site", "req.category"):
        code, _, err = run("launch", "done", key, "--store", str(store), "--note", "agreed")
        assert code == 0, err
    code, _, err = run(
        "launch", "waive", "req.budget", "--store", str(store), "--reason", "seller pays as it goes"
    )
    assert code == 0, err
    status = run_json("launch", "status", "--store", str(store), "--json")
    assert _stage(status, "requirements")["complete"] is True
    assert status["current_stage"] == "proposal"
    assert status["next_stage_blocked_by"] == ["prop.service_package", "prop.kpis"]
    assert _stage(status, "proposal")["blocked_by"] == []
    budget = next(i for i in _stage(status, "requirements")["items"] if i["key"] == "req.budget")
    assert budget["status"] == "waived" and budget["waive_reason"] == "seller pays as it goes"
    with workspace.session() as session:
        actions = [a for (a,) in session.query(AuditEntry.action).order_by(AuditEntry.seq)]
    assert actions[-4:] == [
        "launch.plan.create",
        "launch.item.done",
        "launch.item.done",
        "launch.item.waived",
    ]


def test_shopee_my_gets_shopees_own_list(workspace: Workspace) -> None:
    store = add_store("shopee", "MY")
    status = run_json("launch", "plan", "--store", str(store), "--json")
    docs = [i["key"] for i in _stage(status, "documents")["items"]]
    assert docs == [
        "doc.business_licence",
        "doc.legal_rep_id",
        "doc.legal_rep_holding",
        "doc.store_history",
        "doc.address_proof",
        "doc.phone",
        "doc.payout_account",
        "doc.brand_registration",
        "doc.category_qualifications",
        "doc.licence_translation",
    ]
    assert "doc.credit_card" not in docs
    reg = [i["key"] for i in _stage(status, "registration")["items"]]
    assert "comp.my_regulated_products" in reg and "comp.us_sales_tax" not in reg


def test_bad_input_is_one_line_exit_2_nothing_written(workspace: Workspace) -> None:
    store = add_store("amazon", "US")
    code, _, err = run("launch", "plan", "--store", "999")
    assert code == 2 and err.count("\n") == 1 and "no store with id 999" in err
    code, _, err = run("launch", "plan", "--store", str(store), "--first-month-gmv", "lots")
    assert code == 2 and "'lots' is not a number" in err
    assert count(workspace, LaunchPlan) == 0
    run_json("launch", "plan", "--store", str(store), "--json")
    items = count(workspace, LaunchItem)
    audit = count(workspace, AuditEntry)
    code, _, err = run("launch", "waive", "req.budget", "--store", str(store))
    assert code == 2 and "--reason: a waiver needs a written reason" in err
    code, _, err = run("launch", "waive", "req.budget", "--store", str(store), "--reason", "   ")
    assert code == 2
    code, _, err = run("launch", "done", "ops.target.first_order", "--store", str(store))
    assert code == 2 and "measured from the warehouse" in err
    code, _, err = run("launch", "done", "nope.key", "--store", str(store))
    assert code == 2 and "has no item 'nope.key'" in err
    code, _, err = run("launch", "plan", "--store", str(store))
    assert code == 2 and "already has a launch plan" in err
    code, _, err = run("launch", "set", "req.budget", "--store", str(store), "--due", "tomorrow")
    assert code == 2 and "'tomorrow' is not a date" in err
    assert count(workspace, LaunchItem) == items and count(workspace, AuditEntry) == audit
    status = run_json("launch", "status", "--store", str(store), "--json")
    assert all(i["status"] == "todo" for s in status["stages"] for i in s["items"])


def test_launch_targets_are_measured_from_the_warehouse(workspace: Workspace) -> None:
    launch = dt.date(2026, 10, 1)
    store = add_store("amazon", "US", "--launch-date", launch.isoformat())
    run_json("launch", "plan", "--store", str(store), "--first-month-gmv", "100", "--json")
    wh = workspace.warehouse
    # 50 active SKUs first on day 20; 49 on day 10. First order 2026-10-05 06:00 UTC =
    # 2026-10-04 23:00 Los Angeles (day 4). A cancelled order on day 1 does not count.
    listings = [
        {
            "store_id": store,
            "sku": f"S{n}",
            "snapshot_date": dt.date(2026, 10, 10),
            "status": "active",
        }
        for n in range(49)
    ] + [
        {
            "store_id": store,
            "sku": f"S{n}",
            "snapshot_date": dt.date(2026, 10, 20),
            "status": "active",
        }
        for n in range(50)
    ]
    orders = [
        {
            "store_id": store,
            "order_id": "A",
            "purchase_ts": dt.datetime(2026, 10, 1, 12),
            "status": "cancelled",
            "currency": "USD",
        },
        {
            "store_id": store,
            "order_id": "B",
            "purchase_ts": dt.datetime(2026, 10, 5, 6),
            "status": "shipped",
            "currency": "USD",
        },
        {
            "store_id": store,
            "order_id": "C",
            "purchase_ts": dt.datetime(2026, 10, 31, 8),
            "status": "shipped",
            "currency": "USD",
        },
        # 2026-10-31 08:00 UTC is 01:00 local on day 31: outside the first month.
    ]
    lines = [
        {
            "store_id": store,
            "order_id": "A",
            "line_id": "1",
            "quantity": 1,
            "item_price": "500",
            "currency": "USD",
        },
        {
            "store_id": store,
            "order_id": "B",
            "line_id": "1",
            "quantity": 2,
            "item_price": "40.5",
            "currency": "USD",
        },
        {
            "store_id": store,
            "order_id": "B",
            "line_id": "2",
            "quantity": 1,
            "item_price": "19.5",
            "currency": "USD",
        },
        {
            "store_id": store,
            "order_id": "C",
            "line_id": "1",
            "quantity": 1,
            "item_price": "70",
            "currency": "USD",
        },
    ]
    with wh.batch("t1", "manual") as b:
        b.append("listings", listings)
        b.append("orders", orders)
        b.append("order_lines", lines)
    status = run_json("launch", "status", "--store", str(store), "--json")
    ops = {i["key"]: i for i in _stage(status, "operations")["items"]}
    skus = ops["ops.target.live_skus"]
    assert skus["status"] == "done" and skus["measure"]["value"] == "50"
    assert skus["measure"]["explanation"] == "达成 / met on 2026-10-20"
    first = ops["ops.target.first_order"]
    assert (
        first["status"] == "done" and first["measure"]["explanation"] == "达成 / met on 2026-10-04"
    )
    gmv = ops["ops.target.first_month_gmv"]
    # 40.5 + 19.5 = 60 < 100, and the month ended (day 30 = 2026-10-30) before today.
    assert gmv["measure"]["value"] == "60.0000" and gmv["status"] == "missed"
    assert gmv["required"] is True
    assert "ops.target.first_month_gmv" in _stage(status, "operations")["open_required"]
    code, _, err = run(
        "launch",
        "waive",
        "ops.target.first_month_gmv",
        "--store",
        str(store),
        "--reason",
        "target renegotiated",
    )
    assert code == 0, err
    status = run_json("launch", "status", "--store", str(store), "--json")
    assert "ops.target.first_month_gmv" not in _stage(status, "operations")["open_required"]
