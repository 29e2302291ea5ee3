"""Document-expiry, SLA-breach and integrity-flag rules on rows made by the owning services
(the vault, a signed contract's tickets, the integrity detectors), not by hand: each alert
fires from the real state and clears when that service's own action resolves it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import select

from lianxing.alerts.service import add_rule, evaluate, get_alert, list_alerts
from lianxing.contracts.service import add_contract, workspace_catalog
from lianxing.contracts.tickets import open_ticket, reply
from lianxing.db.models_contracts import SlaBreach
from lianxing.db.models_integrity import IntegrityFlag
from lianxing.domain.launch import DocumentType
from lianxing.domain.periods import parse_period
from lianxing.integrity.service import FlagStatus, review_flag, run_integrity
from lianxing.launch.vault import add_document
from lianxing.stores import create_store
from lianxing.workspace import Workspace

CONTRACT = Path(__file__).parent.parent / "contracts" / "fixtures" / "roas_milestone.yaml"
NOW = dt.datetime(2026, 11, 2, 8, 0)
BURST = dt.datetime(2026, 10, 10, 18, 0)  # 11:00 in Los Angeles


def _burst_orders(ws: Workspace, store_id: int) -> None:
    """40 ordinary orders and one buyer's six orders within 30 minutes (order concentration)."""
    orders: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    for i in range(40):
        at = BURST - dt.timedelta(days=5) + dt.timedelta(hours=3 * i)
        orders.append(
            {"store_id": store_id, "order_id": f"N{i}", "purchase_ts": at, "status": "delivered",
             "delivered_ts": at + dt.timedelta(days=2), "currency": "USD",
             "buyer_ref": f"buyer{i}", "ship_postal_code": f"9{i:04d}"}
        )  # fmt: skip
        lines.append(
            {"store_id": store_id, "order_id": f"N{i}", "line_id": "1", "sku": "N",
             "quantity": 1, "item_price": 20, "currency": "USD"}
        )  # fmt: skip
    for i in range(6):
        orders.append(
            {"store_id": store_id, "order_id": f"B{i}", "status": "shipped", "currency": "USD",
             "purchase_ts": BURST + dt.timedelta(minutes=6 * i), "buyer_ref": "brusher",
             "ship_postal_code": "99999"}
        )  # fmt: skip
        lines.append(
            {"store_id": store_id, "order_id": f"B{i}", "line_id": "1", "sku": "N",
             "quantity": 1, "item_price": 20, "currency": "USD"}
        )  # fmt: skip
    with ws.warehouse.batch("orders-1", "api:amazon") as batch:
        batch.append("orders", orders)
        batch.append("order_lines", lines)


def test_rules_read_the_owning_services(workspace: Workspace) -> None:
    ws = workspace
    with ws.session() as session:
        store = create_store(
            session, platform="amazon", site="US", name="Xinghe US", launch_date=dt.date(2026, 1, 1)
        )
        assert store.id == 1  # the contract fixture covers store 1
        licence = add_document(
            session, ws.cipher, ws.settings.vault_dir, content=b"licence 2025",
            file_name="licence.pdf", doc_type=DocumentType.BUSINESS_LICENCE, store_id=store.id,
            expires_on=dt.date(2026, 11, 20), today=NOW.date(),
        )  # fmt: skip
        add_document(  # far from expiry: no alert
            session, ws.cipher, ws.settings.vault_dir, content=b"trademark",
            file_name="tm.pdf", doc_type=DocumentType.TRADEMARK, store_id=store.id,
            expires_on=dt.date(2027, 6, 1), today=NOW.date(),
        )  # fmt: skip
        contract, _ = add_contract(session, workspace_catalog(ws), CONTRACT)
        # SLA "high": first response within 4 hours, resolution within 24.
        ticket = open_ticket(
            session, contract_id=contract.id, severity="high", title="Listing suppressed",
            body="ASIN B0X suppressed", author="seller", at=NOW - dt.timedelta(hours=10),
            store_id=store.id,
        )  # fmt: skip
    _burst_orders(ws, store.id)
    with ws.session() as session:
        found = run_integrity(
            session, ws.warehouse, store.id, parse_period("2026-10"), actor="test"
        )
        flagged = {f.id: f.score for f in found.flags}
        assert any(f.rule == "order_concentration" for f in found.flags)
        rules = {
            kind: add_rule(
                session, name=kind, kind=kind, scope_kind="store", scope_ref=store.id,
                params=params,
            ).id
            for kind, params in (
                ("document_expiry", {"days_before": 30}),
                ("sla_breach", {}),
                ("integrity_flag", {"min_score": 0.5}),
            )
        }  # fmt: skip

    first = evaluate(ws, now=NOW)
    fired = {(t["rule"], t["key"], t["value"]) for t in first.transitions if t["to"] == "firing"}
    assert fired == {
        (rules["document_expiry"], f"document:{licence.id}", 18.0),  # Nov 2 -> Nov 20
        (rules["sla_breach"], f"ticket:{ticket.id}:first_response", 6.0),  # due 4 h after
        *((rules["integrity_flag"], f"flag:{i}", s) for i, s in flagged.items() if s >= 0.5),
    }
    with ws.session() as session:
        # sla_breaches recorded the passed deadline, as the contracts feature expects.
        [breach] = session.scalars(select(SlaBreach)).all()
        assert (breach.ticket_id, breach.kind, breach.fulfilled_at) == (
            ticket.id, "first_response", None
        )  # fmt: skip
        flag_ids = [
            int(a.dedup_key.removeprefix("flag:"))
            for a in list_alerts(session)
            if a.kind == "integrity_flag"
        ]
        assert sorted(flag_ids) == sorted(i for i, s in flagged.items() if s >= 0.5)

    # Each owning service resolves its subject: a renewed licence, the agency's (late)
    # answer, the flags reviewed.
    later = NOW + dt.timedelta(hours=2)
    with ws.session() as session:
        add_document(
            session, ws.cipher, ws.settings.vault_dir, content=b"licence 2026",
            file_name="licence-2026.pdf", doc_type=DocumentType.BUSINESS_LICENCE,
            store_id=store.id, expires_on=dt.date(2027, 11, 20), today=later.date(),
        )  # fmt: skip
        reply(
            session, ticket.id, body="looking into it", author="agency", side="agency",
            at=NOW + dt.timedelta(hours=1),
        )  # fmt: skip
        for flag_id in flag_ids:
            review_flag(
                session, flag_id, decision=FlagStatus.DISMISSED, reason="known buyer", actor="t"
            )
    second = evaluate(ws, now=later)
    assert sorted((t["key"], t["to"]) for t in second.transitions) == sorted(
        [
            (f"document:{licence.id}", "resolved"),
            (f"ticket:{ticket.id}:first_response", "resolved"),
            *((f"flag:{i}", "resolved") for i in flag_ids),
        ]
    )
    with ws.session() as session:
        [breach] = session.scalars(select(SlaBreach)).all()
        assert breach.fulfilled_at == NOW + dt.timedelta(hours=1)
        assert {f.status for f in session.scalars(select(IntegrityFlag))} == {"dismissed"}
        sla_alert = next(a for a in list_alerts(session, states=None) if a.kind == "sla_breach")
        assert get_alert(session, sla_alert.id).alert.value == 7.0  # answered 7 h after due
