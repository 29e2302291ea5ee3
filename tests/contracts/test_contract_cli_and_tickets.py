"""Signing, listing and evaluating through the CLI; locked definitions; tickets and SLA breaches."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from lianxing.cli import app
from lianxing.contracts.tickets import sla_breaches
from lianxing.db.models_contracts import Contract, SlaBreach
from lianxing.domain.contracts import SlaTerms
from lianxing.domain.tickets import BreachKind, Deadlines, breaches, deadlines
from lianxing.stores import create_store
from lianxing.workspace import Workspace

FIXTURES = Path(__file__).parent / "fixtures"
runner = CliRunner()
JAN1 = dt.date(2026, 1, 1)


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def _store(ws: Workspace) -> None:
    with ws.session() as session:
        create_store(session, platform="amazon", site="US", name="Xinghe US", launch_date=JAN1)


def test_add_locks_definitions_and_a_later_catalog_change_cannot_alter_evaluation(
    workspace: Workspace, tmp_path: Path
) -> None:
    _store(workspace)
    # A workspace KPI: ad sales per ad spend under another id, edited after signing.
    kpis = workspace.settings.home_dir / "kpis"
    kpis.mkdir()
    source = (Path(__file__).parents[2] / "src/lianxing/metrics/definitions/roas.yaml").read_text()
    (kpis / "ad_return.yaml").write_text(source.replace("id: roas", "id: ad_return"))
    contract = (
        (FIXTURES / "roas_milestone.yaml")
        .read_text()
        .replace("kpi: roas\n    options", "kpi: ad_return\n    options")
    )
    path = tmp_path / "contract.yaml"
    path.write_text(contract)
    with workspace.warehouse.batch("b1", "api:amazon") as batch:
        batch.append(
            "ad_daily",
            [
                {
                    "store_id": 1,
                    "date": JAN1 + dt.timedelta(days=i),
                    "campaign_id": "c",
                    "ad_type": "sp",
                    "cost": 100,
                    "attributed_sales": 300,
                    "currency": "USD",
                }
                for i in range(30)
            ],
        )
    code, out, err = _run("contract", "add", str(path), "--json")
    assert code == 0, err
    added = json.loads(out)
    assert added["id"] == 1 and added["number"] == "LX-TEST-001"
    locked = added["definitions"]["roas"]
    assert len(locked) == 64 and added["findings"] == []

    def evaluate() -> dict[str, object]:
        code, out, err = _run(
            "contract", "evaluate", "--contract", "1", "--as-of", "2026-01-30", "--json"
        )
        assert code == 0, err
        return dict(json.loads(out))

    first = evaluate()
    milestone = next(c for c in first["clauses"] if c["id"] == "roas_2_5")  # type: ignore[attr-defined]
    assert (milestone["outcome"], milestone["met_on"]) == ("met", "2026-01-30")
    assert milestone["evidence"][-1]["value"] == pytest.approx(3.0)
    assert milestone["definition"] == locked
    # Turn the workspace definition upside down: the signed contract still means ROAS.
    (kpis / "ad_return.yaml").write_text(
        source.replace("id: roas", "id: ad_return").replace(
            "ad_sales / ad_spend", "ad_spend / ad_sales"
        )
    )
    assert evaluate() == first

    code, out, _ = _run("contract", "list", "--json")
    assert [c["number"] for c in json.loads(out)["contracts"]] == ["LX-TEST-001"]
    # The same number cannot be signed twice; nothing is written.
    code, _, err = _run("contract", "add", str(path))
    assert code == 2
    assert f"{path}:3: number: a contract numbered 'LX-TEST-001' already exists" in err
    with workspace.session() as session:
        assert session.scalar(select(func.count()).select_from(Contract)) == 1


def test_add_refuses_unknown_stores_and_kpis_with_one_line_each(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "c.yaml"
    shutil.copy(FIXTURES / "roas_milestone.yaml", path)
    path.write_text(
        path.read_text().replace("kpi: roas\n    options", "kpi: roas_magic\n    options")
    )
    code, _, err = _run("contract", "add", str(path))
    assert code == 2
    lines = err.strip().splitlines()
    assert lines[0] == f"error: {path}:12: stores[0]: no store with id 1"
    assert lines[1].startswith(
        f"error: {path}:20: kpis[0].kpi: KPI 'roas_magic' is not in the catalog"
    )
    assert len(lines) == 2


def test_sla_clock_rules() -> None:
    opened = dt.datetime(2026, 3, 2, 9, 0)
    due = deadlines(opened, SlaTerms(4, 24))
    assert due == Deadlines(dt.datetime(2026, 3, 2, 13, 0), dt.datetime(2026, 3, 3, 9, 0))
    late = breaches(
        due,
        first_response_at=dt.datetime(2026, 3, 2, 13, 1),
        resolved_at=None,
        now=dt.datetime(2026, 3, 2, 20, 0),
    )
    assert [(b.kind, b.fulfilled_at) for b in late] == [
        (BreachKind.FIRST_RESPONSE, dt.datetime(2026, 3, 2, 13, 1))
    ]
    on_time = breaches(
        due,
        first_response_at=dt.datetime(2026, 3, 2, 13, 0),
        resolved_at=None,
        now=dt.datetime(2026, 3, 3, 9, 0),
    )
    assert on_time == []  # exactly at the deadline is in time
    overdue = breaches(
        due, first_response_at=None, resolved_at=None, now=dt.datetime(2026, 3, 3, 10, 0)
    )
    assert [b.kind for b in overdue] == [BreachKind.FIRST_RESPONSE, BreachKind.RESOLUTION]
    assert overdue[1].late_hours(dt.datetime(2026, 3, 3, 10, 0)) == 1.0


def test_ticket_exchange_deadlines_and_recorded_breaches(workspace: Workspace) -> None:
    _store(workspace)
    code, _, err = _run("contract", "add", str(FIXTURES / "roas_milestone.yaml"))
    assert code == 0, err
    code, out, err = _run(
        "ticket",
        "open",
        "--contract",
        "1",
        "--severity",
        "high",
        "--title",
        "Listing suppressed",
        "--body",
        "主图被下架 / main image suppressed",
        "--store",
        "1",
        "--at",
        "2026-03-02T09:00",
        "--json",
    )
    assert code == 0, err
    ticket = json.loads(out)
    assert (ticket["response_due_at"], ticket["resolution_due_at"]) == (
        "2026-03-02T13:00:00",
        "2026-03-03T09:00:00",  # high: 4 h and 24 h
    )
    # The seller's own follow-up does not stop the clock; the agency's late reply does.
    assert (
        _run(
            "ticket",
            "reply",
            "1",
            "--side",
            "seller",
            "--by",
            "seller",
            "--body",
            "still down",
            "--at",
            "2026-03-02T12:00",
        )[0]
        == 0
    )
    code, out, _ = _run(
        "ticket", "reply", "1", "--body", "looking into it", "--at", "2026-03-02T14:30", "--json"
    )
    replied = json.loads(out)
    assert replied["first_response_at"] == "2026-03-02T14:30:00"
    assert replied["breaches"] == ["first_response"]
    code, out, _ = _run(
        "ticket",
        "resolve",
        "1",
        "--body",
        "image replaced, listing active",
        "--at",
        "2026-03-03T08:00",
        "--json",
    )
    resolved = json.loads(out)
    assert resolved["status"] == "resolved" and resolved["breaches"] == ["first_response"]
    assert [(m["side"], m["kind"]) for m in resolved["messages"]] == [
        ("seller", "open"),
        ("seller", "reply"),
        ("agency", "reply"),
        ("agency", "resolve"),
    ]
    # A low ticket nobody answers: its breaches appear once its deadlines pass, recorded once.
    _run(
        "ticket",
        "open",
        "--contract",
        "1",
        "--severity",
        "low",
        "--title",
        "Report format",
        "--body",
        "weekly report misses TACoS",
        "--at",
        "2026-03-02T09:00",
    )
    with workspace.session() as session:
        assert [b.ticket_id for b in sla_breaches(session, now=dt.datetime(2026, 3, 3, 9, 0))] == [
            1
        ]
    with workspace.session() as session:
        found = sla_breaches(session, now=dt.datetime(2026, 3, 9, 10, 0))
        assert [(b.ticket_id, b.kind, b.due_at) for b in found] == [
            (1, "first_response", dt.datetime(2026, 3, 2, 13, 0)),
            (2, "first_response", dt.datetime(2026, 3, 3, 9, 0)),  # low: 24 h
            (2, "resolution", dt.datetime(2026, 3, 9, 9, 0)),  # low: 168 h
        ]
    with workspace.session() as session:
        sla_breaches(session, now=dt.datetime(2026, 3, 10, 0, 0))
        assert session.scalar(select(func.count()).select_from(SlaBreach)) == 3
    code, out, _ = _run("ticket", "list", "--open", "--json")
    assert [t["id"] for t in json.loads(out)["tickets"]] == [2]
    # Bad input: one line, exit 2.
    code, _, err = _run(
        "ticket", "open", "--contract", "1", "--severity", "urgent", "--title", "x", "--body", "y"
    )
    assert code == 2
    assert (
        err.strip()
        == "error: --severity: 'urgent' is not allowed; expected one of high, medium, low"
    )
    code, _, err = _run("ticket", "reply", "1", "--body", "again")
    assert (code, err.strip()) == (2, "error: ticket 1 is resolved; open a new ticket")
