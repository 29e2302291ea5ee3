"""`lianxing agency ...`: profiles, records, documents, case studies, freeze, buy vs build."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.console import Console
from rich.table import Table

from lianxing.agencies.freeze import FreezeError, freeze_agency, lift_freeze
from lianxing.agencies.service import (
    AgencyError,
    add_agency,
    add_agency_document,
    add_agency_record,
    add_case,
    agency_json,
    get_agency,
    verify_case,
)
from lianxing.cli.common import command_session, command_workspace, emit_json, fail, parse_date
from lianxing.cli.root import app
from lianxing.domain.buy_vs_build import CostInputError, Scope, agency, compare, parse_cost_book
from lianxing.launch.vault import VaultError

agency_app = typer.Typer(help="Agencies / 服务商", no_args_is_help=True)
app.add_typer(agency_app, name="agency")
DEFAULT_COSTS = Path(__file__).parents[1] / "agencies" / "data" / "team_costs.yaml"


@agency_app.command("add")
def agency_add(
    name: str = typer.Option(..., "--name", help="legal name / 企业名称"),
    credit_code: str = typer.Option(..., "--credit-code", help="统一社会信用代码 (18)"),
    scope: str = typer.Option(..., "--scope", help="business scope / 经营范围"),
    founded: str | None = typer.Option(None, "--founded", help="YYYY-MM-DD / 成立日期"),
    org: int | None = typer.Option(None, "--org", help="existing agency organisation id"),
    by: str = typer.Option("cli", "--by"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Add an agency profile (the credit code is checked per GB 32100-2015). 新增服务商"""
    founded_on = parse_date(founded, "--founded")
    with command_session(AgencyError) as session:
        profile = add_agency(
            session,
            legal_name=name,
            credit_code=credit_code,
            business_scope=scope,
            founded_on=founded_on,
            actor=by,
            org_id=org,
        )
        body = agency_json(session, profile)
    if as_json:
        emit_json(body)
    else:
        print(
            f"服务商已添加 / agency added: #{body['id']} {body['legal_name']} {body['credit_code']}"
        )


@agency_app.command("show")
def agency_show(
    agency_id: Annotated[int, typer.Argument(help="agency profile id")],
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Profile, records, documents, case studies and the measured service record. 服务商档案"""
    with command_session(AgencyError) as session:
        body = agency_json(session, get_agency(session, agency_id))
    if as_json:
        emit_json(body)
        return
    console = Console()
    console.print(f"#{body['id']} {body['legal_name']} — {body['credit_code']}", markup=False)
    console.print(f"经营范围 / scope: {body['business_scope']}", markup=False)
    record = body["service_record"]
    console.print(
        f"服务记录 / service record: {record['tickets']} 问题 tickets, SLA 守时 kept "
        f"{record['sla_kept']}, 超时 breached {record['sla_breached']}"
    )
    for entry in body["records"]:
        console.print(
            f"  {entry['recorded_on']} {entry['kind']}: {entry['summary']} ({entry['source']})",
            markup=False,
        )
    for case in body["case_studies"]:
        label = "已核实 verified" if case["status"] == "verified" else "自述 claimed"
        console.print(f"  案例 case #{case['id']} [{label}] {case['title']}", markup=False)


@agency_app.command("record")
def agency_record(
    agency_id: Annotated[int, typer.Argument(help="agency profile id")],
    kind: str = typer.Option(..., "--kind", help="complaint or litigation / 投诉或诉讼"),
    source: str = typer.Option(..., "--source", help="where it was found (URL, case number)"),
    date: str = typer.Option(..., "--date", help="the record's own date, YYYY-MM-DD"),
    summary: str = typer.Option(..., "--summary", help="what it says / 摘要"),
    by: str = typer.Option("cli", "--by"),
) -> None:
    """Enter a complaint or litigation record with its source and date. 投诉与诉讼记录"""
    day = parse_date(date, "--date")
    assert day is not None
    with command_session(AgencyError) as session:
        add_agency_record(
            session,
            agency_id,
            kind=kind,
            source=source,
            recorded_on=day,
            summary=summary,
            actor=by,
        )
    print("已记录 / recorded")


@agency_app.command("doc")
def agency_doc(
    agency_id: Annotated[int, typer.Argument(help="agency profile id")],
    file: Annotated[Path, typer.Argument(help="the licence or qualification file")],
    kind: str = typer.Option(..., "--kind", help="licence or qualification / 执照或资质"),
    title: str | None = typer.Option(None, "--title"),
    expires: str | None = typer.Option(None, "--expires", help="YYYY-MM-DD"),
    by: str = typer.Option("cli", "--by"),
) -> None:
    """Store a licence or qualification in the encrypted vault. 上传资质"""
    expires_on = parse_date(expires, "--expires")
    try:
        content = file.read_bytes()
    except OSError as exc:
        fail(f"{file}: cannot read ({exc.strerror})")
    with command_workspace(AgencyError, VaultError) as ws, ws.session() as session:
        link = add_agency_document(
            ws,
            session,
            agency_id,
            kind=kind,
            content=content,
            file_name=file.name,
            title=title,
            expires_on=expires_on,
            actor=by,
        )
        document_id = link.document_id
    print(f"已加密存入保险库 / stored in the vault: document #{document_id}")


case_app = typer.Typer(help="Case studies / 案例", no_args_is_help=True)
agency_app.add_typer(case_app, name="case")


@case_app.command("add")
def case_add(
    agency_id: Annotated[int, typer.Argument(help="agency profile id")],
    title: str = typer.Option(..., "--title"),
    claim: str = typer.Option(..., "--claim", help="what the agency says / 服务商的说法"),
    by: str = typer.Option("cli", "--by"),
) -> None:
    """Record a case study as the agency tells it ("claimed"). 新增案例（自述）"""
    with command_session(AgencyError) as session:
        case = add_case(session, agency_id, title=title, claim=claim, actor=by)
        case_id = case.id
    print(f"案例 #{case_id}：自述 / claimed")


@case_app.command("verify")
def case_verify(
    case_id: Annotated[int, typer.Argument(help="case study id")],
    store: int = typer.Option(..., "--store", help="the Lianxing store behind the case"),
    period: str = typer.Option(..., "--period", help="e.g. 2026-10 or 2026-Q3"),
    kpi: str = typer.Option("gmv,orders,roas", "--kpi", help="KPIs to freeze, comma-separated"),
    consent_by: str = typer.Option(..., "--consent-by", help="the seller who consents / 卖家"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The seller consents: freeze a KPI snapshot into the case ("verified"). 卖家同意后核实"""
    with command_workspace(AgencyError) as ws:
        body = verify_case(
            ws,
            case_id,
            store_id=store,
            period=period,
            kpis=[k.strip() for k in kpi.split(",") if k.strip()],
            consent_by=consent_by,
        )
    if as_json:
        emit_json(body)
    else:
        print(f"案例 #{case_id}：已核实 / verified, snapshot {body['snapshot_sha256']}")


@agency_app.command("freeze")
def agency_freeze(
    agency_org: int = typer.Option(..., "--agency-org", help="agency organisation id"),
    reason: str = typer.Option(..., "--reason", help="why / 原因"),
    seller_org: int | None = typer.Option(None, "--seller-org", help="only this seller's stores"),
    by: str = typer.Option("cli", "--by"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Suspend all of an agency's grants at once. 敏感操作冻结"""
    with command_session(FreezeError) as session:
        view = freeze_agency(
            session,
            agency_org_id=agency_org,
            reason=reason,
            actor=by,
            seller_org_id=seller_org,
        )
    if as_json:
        emit_json(view.as_json())
    else:
        print(f"已冻结 / frozen #{view.id}: grants {', '.join(map(str, view.grant_ids))}")


@agency_app.command("unfreeze")
def agency_unfreeze(
    freeze_id: Annotated[int, typer.Argument(help="freeze id")],
    reason: str = typer.Option(..., "--reason", help="why it is lifted / 解冻原因"),
    by: str = typer.Option("cli", "--by"),
) -> None:
    """Lift a freeze (recorded with its reason). 解除冻结"""
    with command_session(FreezeError) as session:
        view = lift_freeze(session, freeze_id, reason=reason, actor=by)
    print(f"已解冻 / lifted #{view.id}")


def _money(value: str, option: str) -> Decimal:
    try:
        amount = Decimal(value.replace(",", ""))
    except InvalidOperation:
        fail(f"{option}: {value!r} is not an amount; expected a number such as 8000")
    if not amount.is_finite() or amount < 0:
        fail(f"{option}: {value!r} is not an amount ≥ 0")
    return amount


@agency_app.command("buy-vs-build")
def buy_vs_build(
    platforms: int = typer.Option(1, "--platforms", min=1),
    sites: int = typer.Option(1, "--sites", min=1),
    skus: int = typer.Option(50, "--skus", min=0),
    managed: bool = typer.Option(False, "--managed/--not-managed", help="全托管 / managed scope"),
    months: int = typer.Option(12, "--months", min=1, help="contract term"),
    agency_one_time: str = typer.Option(..., "--agency-one-time", help="the quote's one-time"),
    agency_monthly: str = typer.Option(..., "--agency-monthly", help="the quote's monthly fees"),
    costs: Annotated[Path | None, typer.Option("--costs", help="your cost YAML")] = None,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Agency vs in-house team vs ERP + own time: totals and break-even month. 自建还是外包"""
    path = costs or DEFAULT_COSTS
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        fail(f"{path}: cannot read as YAML ({exc})")
    try:
        book = parse_cost_book(document)
    except CostInputError as exc:
        fail(f"{path}: {exc.problems[0]}" if len(exc.problems) == 1 else f"{path}: {exc}")
    option = agency(
        _money(agency_one_time, "--agency-one-time"), _money(agency_monthly, "--agency-monthly")
    )
    result = compare(book, Scope(platforms, sites, skus, managed, months), option)
    if as_json:
        emit_json(result)
        return
    table = Table("方案 Option", "一次性 One-time", "每月 Monthly", f"{months} 个月合计 Total")
    for entry in result["options"]:
        table.add_row(
            f"{entry['name']['zh']} / {entry['name']['en']}",
            entry["one_time"],
            entry["monthly"],
            entry["total"],
        )
    console = Console()
    console.print(table)
    for pair, month in result["break_even_month"].items():
        shown = f"第 {month} 个月 / month {month}" if month else "不会回本 / never (60 months)"
        console.print(f"回本月 / break-even month {pair}: {shown}")
    console.print(
        f"币种 / currency {result['currency']}; cheapest over the term: "
        f"{result['cheapest_over_term']}"
    )
