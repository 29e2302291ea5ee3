"""Alert rules evaluated end to end: facts in the warehouse, rules and channels in the app
database (SQLite and PostgreSQL), notifications through real loopback servers."""

from __future__ import annotations

import datetime as dt
import json
from email import message_from_bytes, policy
from typing import Any

import pytest
from alert_sinks import HttpSink, SmtpSink
from sqlalchemy import select

from lianxing.alerts.service import (
    AlertInputError,
    ack_alert,
    add_channel,
    add_rule,
    deliver_due,
    evaluate,
    get_alert,
    list_alerts,
    silence_alert,
)
from lianxing.db.models import AuditEntry, Store
from lianxing.db.models_alerts import AlertChannel, AlertDelivery
from lianxing.db.models_contracts import Contract, ServiceTicket
from lianxing.db.models_integrity import IntegrityFlag
from lianxing.db.models_launch import VaultDocument
from lianxing.domain.alerts import RetryPolicy
from lianxing.stores.service import create_store
from lianxing.workspace import Workspace

T0 = dt.datetime(2026, 11, 2, 8, 0)  # evaluations in November look at October (period 2026-10)


def write_orders(ws: Workspace, store_id: int, batch: str, amounts: dict[str, float]) -> None:
    """Shipped October orders, one line each (purchase at 18:00 UTC = 11:00 in Los Angeles)."""
    orders, lines = [], []
    for i, (order_id, amount) in enumerate(amounts.items()):
        ts = dt.datetime(2026, 10, 5 + i, 18, 0)
        orders.append(
            {
                "store_id": store_id,
                "order_id": order_id,
                "purchase_ts": ts,
                "status": "shipped",
                "currency": "USD",
            }
        )
        lines.append(
            {
                "store_id": store_id,
                "order_id": order_id,
                "line_id": "1",
                "sku": "SKU-1",
                "quantity": 1,
                "item_price": amount,
                "currency": "USD",
            }
        )
    with ws.warehouse.batch(batch, "manual") as b:
        b.append("orders", orders)
        b.append("order_lines", lines)


@pytest.fixture
def store_id(workspace: Workspace) -> int:
    with workspace.session() as session:
        return create_store(
            session, platform="amazon", site="US", name="Acme US", launch_date=dt.date(2026, 6, 1)
        ).id


def channel(
    ws: Workspace,
    name: str,
    kind: str,
    locale: str,
    secrets: dict[str, str],
    config: dict[str, Any] | None = None,
) -> int:
    with ws.session() as session:
        return add_channel(
            session,
            ws.cipher,
            name=name,
            kind=kind,
            locale=locale,
            config=config or {},
            secrets=secrets,
            actor="test",
        ).id


def test_gmv_rule_grace_dedup_resolution_and_notifications(
    workspace: Workspace, store_id: int, http_sink: HttpSink, smtp_sink: SmtpSink
) -> None:
    ws = workspace
    hook = channel(
        ws,
        "ops webhook",
        "webhook",
        "en",
        {"url": http_sink.url + "/hook?token=t0p", "secret": "hook-secret"},
    )
    mail = channel(
        ws,
        "老板邮箱",
        "email",
        "zh",
        {},
        {
            "host": smtp_sink.host,
            "port": smtp_sink.port,
            "sender": "alerts@lx.test",
            "recipients": "boss@seller.test",
        },
    )
    with ws.session() as session:
        rule = add_rule(
            session,
            name="GMV 过低 / GMV low",
            kind="kpi_threshold",
            scope_kind="store",
            scope_ref=store_id,
            severity="critical",
            params={"kpi": "gmv", "op": "<", "threshold": 1000, "period": "2026-10"},
            grace_seconds=3600,
            channel_ids=[hook, mail],
        )
    write_orders(ws, store_id, "b1", {"A1": 250.0, "A2": 350.0})  # October GMV 600

    first = evaluate(ws, now=T0)
    assert first.errors == []
    assert [(t["from"], t["to"], t["value"]) for t in first.transitions] == [
        ("ok", "pending", 600.0)
    ]
    assert first.deliveries_queued == 0 and http_sink.requests == []

    assert evaluate(ws, now=T0 + dt.timedelta(minutes=30)).transitions == []  # still in grace
    fired = evaluate(ws, now=T0 + dt.timedelta(hours=1))
    assert [(t["from"], t["to"]) for t in fired.transitions] == [("pending", "firing")]
    assert fired.delivery is not None and fired.delivery.sent == 2

    (req,) = http_sink.requests
    body = req.json
    assert body["title"] == "[FIRING][critical] GMV 过低 / GMV low"
    assert body["store_id"] == store_id and body["value"] == 600.0
    assert "Observed: GMV 2026-10 = 600 USD, condition < 1000" in body["text"]
    (m,) = smtp_sink.messages
    assert m.recipients == ["boss@seller.test"]
    text = message_from_bytes(m.content, policy=policy.default).get_content()
    assert "情况: 销售额 2026-10 = 600 USD, 条件 < 1000" in text

    # Still below: one alert, no second notification.
    again = evaluate(ws, now=T0 + dt.timedelta(hours=2))
    assert again.transitions == [] and again.deliveries_queued == 0
    assert len(http_sink.requests) == 1

    with ws.session() as session:
        (alert,) = list_alerts(session)
        assert alert.state.value == "firing" and alert.delivery_status == "sent"
        assert alert.dedup_key == f"store:{store_id}" and alert.rule_id == rule.id

    write_orders(ws, store_id, "b2", {"A3": 500.0})  # October GMV 1100
    resolved = evaluate(ws, now=T0 + dt.timedelta(hours=3), store_id=store_id)
    assert [(t["from"], t["to"], t["value"]) for t in resolved.transitions] == [
        ("firing", "resolved", 1100.0)
    ]
    assert http_sink.requests[-1].json["event"] == "resolved"
    assert len(smtp_sink.messages) == 2

    with ws.session() as session:
        detail = get_alert(session, alert.id)
        assert [(h["kind"], h["from"], h["to"]) for h in detail.history] == [
            ("transition", "ok", "pending"),
            ("transition", "pending", "firing"),
            ("transition", "firing", "resolved"),
        ]
        assert sorted((d["event"], d["status"]) for d in detail.deliveries) == [
            ("firing", "sent"),
            ("firing", "sent"),
            ("resolved", "sent"),
            ("resolved", "sent"),
        ]
        assert list_alerts(session) == []  # the inbox shows pending and firing only
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.entity.in_(["alert", "alert_delivery"]))
        ).all()
        assert actions.count("alert.transition") == 3
        assert actions.count("alert.delivery.sent") == 4
        # Secrets are encrypted at rest: neither the token URL nor the signing secret is stored.
        tokens = session.scalars(select(AlertChannel.secret_token)).all()
        assert all("t0p" not in t and "hook-secret" not in t for t in tokens)


def test_failed_delivery_is_retried_with_backoff_then_visible(
    workspace: Workspace, store_id: int, http_sink: HttpSink
) -> None:
    ws = workspace
    flaky = channel(ws, "flaky", "webhook", "zh", {"url": http_sink.url + "/flaky"})
    with ws.session() as session:
        add_rule(
            session,
            name="GMV low",
            kind="kpi_threshold",
            scope_kind="all",
            scope_ref=None,
            params={"kpi": "gmv", "op": "<", "threshold": 1000, "period": "2026-10"},
            channel_ids=[flaky],
        )
    write_orders(ws, store_id, "b1", {"A1": 100.0})
    policy = RetryPolicy(max_attempts=3, base=dt.timedelta(seconds=30), factor=2)
    http_sink.replies.extend([(500, b"oops"), (503, b"busy"), (502, b"bad gateway")])
    result = evaluate(ws, now=T0, deliver=False)
    assert result.deliveries_queued == 1
    assert deliver_due(ws, now=T0, policy=policy).retrying == 1
    # Not yet due: the backoff after attempt 1 is 30 s.
    assert deliver_due(ws, now=T0 + dt.timedelta(seconds=29), policy=policy).as_json() == {
        "sent": 0,
        "retrying": 0,
        "failed": 0,
    }
    assert deliver_due(ws, now=T0 + dt.timedelta(seconds=30), policy=policy).retrying == 1
    # After attempt 2 the wait is 60 s; attempt 3 is the last.
    assert deliver_due(ws, now=T0 + dt.timedelta(seconds=90), policy=policy).failed == 1
    assert len(http_sink.requests) == 3
    with ws.session() as session:
        (alert,) = list_alerts(session)
        assert alert.state.value == "firing" and alert.delivery_status == "failed"
        (delivery,) = get_alert(session, alert.id).deliveries
        assert delivery["status"] == "failed" and delivery["attempts"] == 3
        assert delivery["last_error"] == f"HTTP 502 from {http_sink.url}"
        assert delivery["response_status"] == 502


def test_a_retry_that_succeeds(workspace: Workspace, store_id: int, http_sink: HttpSink) -> None:
    ws = workspace
    hook = channel(ws, "hook", "webhook", "zh", {"url": http_sink.url + "/h"})
    with ws.session() as session:
        add_rule(
            session,
            name="GMV low",
            kind="kpi_threshold",
            scope_kind="platform",
            scope_ref="amazon",
            params={"kpi": "gmv", "op": "<", "threshold": 1000, "period": "2026-10"},
            channel_ids=[hook],
        )
    write_orders(ws, store_id, "b1", {"A1": 100.0})
    http_sink.replies.append((503, b"busy"))
    evaluate(ws, now=T0)
    later = deliver_due(ws, now=T0 + dt.timedelta(minutes=5))
    assert later.sent == 1
    with ws.session() as session:
        (delivery,) = session.scalars(select(AlertDelivery)).all()
        assert (delivery.status, delivery.attempts, delivery.sent_at) == (
            "sent",
            2,
            T0 + dt.timedelta(minutes=5),
        )
        (alert,) = list_alerts(session)
        assert alert.delivery_status == "sent"
    # Both attempts carried the same delivery id, so the receiver can drop a repeat.
    assert {r.headers["X-Lianxing-Delivery"] for r in http_sink.requests} == {str(delivery.id)}


def test_ack_and_silence(workspace: Workspace, store_id: int, http_sink: HttpSink) -> None:
    ws = workspace
    hook = channel(ws, "hook", "webhook", "en", {"url": http_sink.url + "/h"})
    with ws.session() as session:
        add_rule(
            session,
            name="GMV low",
            kind="kpi_threshold",
            scope_kind="store",
            scope_ref=store_id,
            params={"kpi": "gmv", "op": "<", "threshold": 1000, "period": "2026-10"},
            repeat_seconds=3600,
            channel_ids=[hook],
        )
    write_orders(ws, store_id, "b1", {"A1": 100.0})
    evaluate(ws, now=T0)
    assert [r.json["event"] for r in http_sink.requests] == ["firing"]
    evaluate(ws, now=T0 + dt.timedelta(hours=1))
    assert [r.json["event"] for r in http_sink.requests] == ["firing", "repeat"]
    with ws.session() as session:
        (alert,) = list_alerts(session)
        ack_alert(session, alert.id, actor="lin@agency", now=T0 + dt.timedelta(hours=1, minutes=5))
    evaluate(ws, now=T0 + dt.timedelta(hours=3))
    assert len(http_sink.requests) == 2  # acknowledged: no more reminders

    with ws.session() as session:
        silence_alert(
            session,
            alert.id,
            until=T0 + dt.timedelta(days=1),
            actor="lin@agency",
            now=T0 + dt.timedelta(hours=3),
        )
        with pytest.raises(AlertInputError, match="must be in the future"):
            silence_alert(session, alert.id, until=T0, actor="x", now=T0 + dt.timedelta(hours=3))
    write_orders(ws, store_id, "b2", {"A2": 2000.0})
    evaluate(ws, now=T0 + dt.timedelta(hours=4))  # resolved while silenced: no message
    assert len(http_sink.requests) == 2
    with ws.session() as session:
        detail = get_alert(session, alert.id)
        assert detail.alert.state.value == "resolved"
        assert [h["kind"] for h in detail.history] == [
            "transition",
            "ack",
            "silence",
            "transition",
            "suppressed",
        ]
        assert detail.history[1]["actor"] == "lin@agency"
        with pytest.raises(AlertInputError, match="only pending or firing"):
            ack_alert(session, alert.id, actor="x")


def test_documents_tickets_and_integrity_flags(workspace: Workspace, store_id: int) -> None:
    ws = workspace
    now = T0
    with ws.session() as session:
        store = session.get(Store, store_id)
        assert store is not None
        old = VaultDocument(
            org_id=store.org_id,
            store_id=store_id,
            doc_type="business_license",
            title="营业执照 2025",
            file_name="a.pdf",
            size_bytes=1,
            sha256="a" * 64,
            vault_name="v1",
            expires_on=dt.date(2026, 11, 20),
            uploaded_by="t",
        )
        trademark = VaultDocument(
            org_id=store.org_id,
            store_id=store_id,
            doc_type="trademark",
            title="商标注册证",
            file_name="t.pdf",
            size_bytes=1,
            sha256="b" * 64,
            vault_name="v2",
            expires_on=dt.date(2027, 6, 1),
            uploaded_by="t",
        )
        contract = Contract(
            number="C-1",
            title="陪跑",
            seller_name="S",
            agency_name="A",
            package="kpi",
            term_start=dt.date(2026, 10, 1),
            term_months=6,
            store_ids=[store_id],
            document={},
            source_text="",
            definitions={},
            content_hash="0" * 64,
            signed_by="t",
        )
        session.add_all([old, trademark, contract])
        session.flush()
        late = ServiceTicket(
            contract_id=contract.id,
            store_id=store_id,
            severity="P1",
            title="Listing suppressed",
            status="open",
            opened_at=now - dt.timedelta(hours=30),
            opened_by="seller",
            response_due_at=now - dt.timedelta(hours=6),
            resolution_due_at=now + dt.timedelta(hours=18),
        )
        flag = IntegrityFlag(
            fingerprint="f" * 32,
            store_id=store_id,
            rule="quick_full_refunds",
            subject="SKU-1",
            window_start=now,
            window_end=now,
            score=0.9,
            status="open",
            explanation_zh="快速全额退款",
            explanation_en="quick full refunds",
            evidence={},
        )
        session.add_all([late, flag])
        session.flush()
        ids = {}
        for kind, params in (
            ("document_expiry", {"days_before": 30}),
            ("sla_breach", {}),
            ("integrity_flag", {"min_score": 0.5}),
        ):
            ids[kind] = add_rule(
                session,
                name=kind,
                kind=kind,
                scope_kind="team",
                scope_ref=store.org_id,
                params=params,
            ).id
        ticket_id, flag_id, old_id = late.id, flag.id, old.id

    result = evaluate(ws, now=now)
    fired = {(t["rule"], t["key"]) for t in result.transitions if t["to"] == "firing"}
    assert fired == {
        (ids["document_expiry"], f"document:{old_id}"),  # 18 days left <= 30
        (ids["sla_breach"], f"ticket:{ticket_id}:first_response"),  # 6 h overdue
        (ids["integrity_flag"], f"flag:{flag_id}"),
    }
    with ws.session() as session:
        by_key = {a.dedup_key: a for a in list_alerts(session)}
        assert by_key[f"document:{old_id}"].value == 18.0
        assert by_key[f"ticket:{ticket_id}:first_response"].value == 6.0
        # A renewed licence replaces the old one; the agency answers; the flag is dismissed.
        session.add(
            VaultDocument(
                org_id=session.get(VaultDocument, old_id).org_id,  # type: ignore[union-attr]
                store_id=store_id,
                doc_type="business_license",
                title="营业执照 2026",
                file_name="b.pdf",
                size_bytes=1,
                sha256="c" * 64,
                vault_name="v3",
                expires_on=dt.date(2027, 11, 20),
                uploaded_by="t",
            )
        )
        session.get(ServiceTicket, ticket_id).first_response_at = now  # type: ignore[union-attr]
        session.get(IntegrityFlag, flag_id).status = "dismissed"  # type: ignore[union-attr]
    later = evaluate(ws, now=now + dt.timedelta(hours=1))
    assert sorted((t["key"], t["to"]) for t in later.transitions) == sorted(
        [
            (f"document:{old_id}", "resolved"),
            (f"ticket:{ticket_id}:first_response", "resolved"),
            (f"flag:{flag_id}", "resolved"),
        ]
    )


def test_rule_input_problems(workspace: Workspace, store_id: int) -> None:
    with workspace.session() as session, pytest.raises(AlertInputError) as err:
        add_rule(
            session,
            name="x",
            kind="kpi_threshold",
            scope_kind="store",
            scope_ref=999,
            severity="urgent",
            params={"kpi": "gmv", "op": "<<"},
            channel_ids=[42],
        )
    assert err.value.problems == [
        "severity 'urgent': expected info, warning or critical",
        "store '999': no such store",
        "channel 42: no such channel",
        "param threshold: required for a kpi_threshold rule",
        "param op='<<': expected one of >, >=, <, <=, ==, !=",
    ]


def test_a_rule_that_cannot_be_computed_changes_nothing(
    workspace: Workspace, store_id: int
) -> None:
    with workspace.session() as session:
        add_rule(
            session,
            name="unknown kpi",
            kind="kpi_threshold",
            scope_kind="all",
            scope_ref=None,
            params={"kpi": "nope", "op": "<", "threshold": 1},
        )
    result = evaluate(workspace, now=T0)
    assert result.transitions == []
    assert len(result.errors) == 1 and "unknown KPI nope" in result.errors[0]
    assert json.dumps(result.as_json())  # JSON-able for the job result
