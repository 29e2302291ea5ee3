"""Agency profiles through the CLI: the credit code decides, records keep their source,
the service record comes from tickets, and a case study is "claimed" until a seller's
consent freezes a KPI snapshot into it — which the contract audit then accepts."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from lianxing.cli import app
from lianxing.contracts.service import add_contract, workspace_catalog
from lianxing.contracts.tickets import open_ticket, reply, resolve
from lianxing.stores import create_store
from lianxing.workspace import Workspace

CONTRACTS = Path(__file__).parents[1] / "contracts" / "fixtures"
runner = CliRunner()


def _json(args: list[str]) -> dict[str, object]:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    body: dict[str, object] = json.loads(result.stdout)
    return body


def test_profile_records_service_record_and_case_studies(
    workspace: Workspace, tmp_path: Path
) -> None:
    bad = runner.invoke(
        app,
        ["agency", "add", "--name", "X", "--credit-code", "91110000802100433C", "--scope", "s"],
    )
    assert bad.exit_code == 2
    assert bad.stderr.strip().startswith(
        "error: --credit-code: '91110000802100433C': check character is 'C'; "
        "GB 32100-2015 gives 'B'"
    )
    profile = _json(
        [
            "agency",
            "add",
            "--name",
            "广州联跑电商服务有限公司",
            "--credit-code",
            "91110000802100433b",
            "--scope",
            "电子商务代运营 / e-commerce services",
            "--founded",
            "2019-05-20",
            "--json",
        ]
    )
    assert profile["credit_code"] == "91110000802100433B" and profile["credit_code_valid"]
    agency_id = str(profile["id"])
    result = runner.invoke(
        app,
        [
            "agency",
            "record",
            agency_id,
            "--kind",
            "litigation",
            "--source",
            "中国裁判文书网 (2025)粤0106民初1234号",
            "--date",
            "2025-08-01",
            "--summary",
            "服务合同纠纷 / service contract dispute",
        ],
    )
    assert result.exit_code == 0, result.output
    licence = tmp_path / "licence.pdf"
    licence.write_bytes(b"%PDF-1.4 licence")
    result = runner.invoke(app, ["agency", "doc", agency_id, str(licence), "--kind", "licence"])
    assert result.exit_code == 0, result.output

    with workspace.session() as session:
        create_store(
            session,
            platform="amazon",
            site="US",
            name="Xinghe US",
            launch_date=dt.date(2026, 1, 1),
        )
        view, _ = add_contract(
            session, workspace_catalog(workspace), CONTRACTS / "roas_milestone.yaml"
        )
        kept = open_ticket(
            session,
            contract_id=view.id,
            severity="low",
            title="a",
            body="b",
            author="seller",
            at=dt.datetime(2026, 2, 1, 8),
        )
        reply(
            session,
            kept.id,
            body="ok",
            author="agency",
            side="agency",
            at=dt.datetime(2026, 2, 1, 9),
        )
        resolve(session, kept.id, body="done", author="agency", at=dt.datetime(2026, 2, 1, 10))
        late = open_ticket(
            session,
            contract_id=view.id,
            severity="high",
            title="c",
            body="d",
            author="seller",
            at=dt.datetime(2026, 2, 2, 8),
        )
        reply(
            session,
            late.id,
            body="late",
            author="agency",
            side="agency",
            at=dt.datetime(2026, 2, 2, 20),
        )
    with workspace.warehouse.batch("b1", "api:amazon") as batch:
        batch.append(
            "orders",
            [
                {
                    "store_id": 1,
                    "order_id": "A1",
                    "currency": "USD",
                    "purchase_ts": dt.datetime(2026, 1, 15, 20),
                    "status": "shipped",
                }
            ],
        )
        batch.append(
            "order_lines",
            [
                {
                    "store_id": 1,
                    "order_id": "A1",
                    "line_id": "1",
                    "sku": "S",
                    "quantity": 2,
                    "item_price": 1234.5,
                    "currency": "USD",
                }
            ],
        )

    case = runner.invoke(
        app, ["agency", "case", "add", agency_id, "--title", "星河美国站", "--claim", "首月破千"]
    )
    assert case.exit_code == 0 and "claimed" in case.stdout
    # A proposal citing case 1 while it is only claimed:
    proposal = yaml.safe_load((CONTRACTS / "roas_milestone.yaml").read_text(encoding="utf-8"))
    proposal["cases"] = [1]
    cited = tmp_path / "proposal.yaml"
    cited.write_text(yaml.safe_dump(proposal, allow_unicode=True), encoding="utf-8")
    check = runner.invoke(app, ["contract", "check", str(cited), "--json"])
    assert [f["code"] for f in json.loads(check.stdout)["findings"]] == ["cases.unverified"]
    assert "only claimed" in json.loads(check.stdout)["findings"][0]["message"]["en"]

    verified = _json(
        [
            "agency",
            "case",
            "verify",
            "1",
            "--store",
            "1",
            "--period",
            "2026-01",
            "--kpi",
            "gmv,units",
            "--consent-by",
            "seller-owner",
            "--json",
        ]
    )
    assert verified["status"] == "verified"
    snapshot = verified["snapshot"]
    assert isinstance(snapshot, dict)
    assert snapshot["kpis"]["gmv"]["value"] == 1234.5
    assert snapshot["kpis"]["units"]["value"] == 2
    check = runner.invoke(app, ["contract", "check", str(cited), "--json"])
    assert json.loads(check.stdout)["findings"] == []

    shown = _json(["agency", "show", agency_id, "--json"])
    assert shown["service_record"] == {
        "contracts": 1,
        "tickets": 2,
        "with_sla": 2,
        "sla_kept": 1,
        "sla_breached": 1,
        # the high ticket: answered after 12 h (4 h due), and not resolved within 24 h
        "breaches": {"first_response": 1, "resolution": 1},
    }
    assert shown["records"] == [
        {
            "kind": "litigation",
            "source": "中国裁判文书网 (2025)粤0106民初1234号",
            "recorded_on": "2025-08-01",
            "summary": "服务合同纠纷 / service contract dispute",
        }
    ]
    assert shown["documents"] == [{"document": 1, "kind": "licence"}]
