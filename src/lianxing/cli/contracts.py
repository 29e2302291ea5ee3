"""Command groups `lianxing contract ...` (check, add, list, evaluate) and `lianxing ticket ...`."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from lianxing.agencies.service import case_statuses
from lianxing.cli.common import (
    EXIT_BAD_INPUT,
    command_session,
    command_workspace,
    emit_json,
    fail,
    parse_date,
)
from lianxing.cli.root import app
from lianxing.contracts.document import DocumentError
from lianxing.contracts.evaluation import evaluate_contract
from lianxing.contracts.service import (
    ContractError,
    add_contract,
    check_contract,
    list_contracts,
    workspace_catalog,
)
from lianxing.contracts.tickets import (
    TicketError,
    TicketView,
    list_tickets,
    open_ticket,
    reply,
    resolve,
    show_ticket,
)
from lianxing.domain.contract_audit import Finding
from lianxing.workspace import WorkspaceError, open_workspace

contract_app = typer.Typer(help="Service contracts / 服务合同", no_args_is_help=True)
ticket_app = typer.Typer(help="Service tickets / 问题清单", no_args_is_help=True)
app.add_typer(contract_app, name="contract")
app.add_typer(ticket_app, name="ticket")

EXIT_HIGH_RISK = 1


def _fail_lines(lines: list[str]) -> NoReturn:
    for line in lines:
        print(f"error: {line}", file=sys.stderr)
    raise typer.Exit(EXIT_BAD_INPUT)


def _print_findings(findings: list[Finding], lines: list[int], file: str) -> None:
    if not findings:
        print("未发现风险 / no findings")
        return
    for finding, line in zip(findings, lines, strict=True):
        print(f"{finding.severity.value.upper():6} {finding.code}  {file}:{line} {finding.path}")
        print(f"       {finding.message_zh}")
        print(f"       {finding.message_en}")


@contract_app.command("check")
def contract_check(
    file: Annotated[Path, typer.Argument(help="contract YAML (see docs/contracts.md)")],
    as_json: bool = typer.Option(False, "--json", help="print the findings as JSON"),
) -> None:
    """Risk audit before signing. 签约前风险检查 (exit 1 if a high-severity finding exists)"""
    try:
        ws = open_workspace()
    except WorkspaceError:
        ws = None  # checking a file needs no workspace; its own KPIs are added when there is one
    try:
        cases = None
        if ws is not None:
            with ws.session() as session:
                cases = case_statuses(session)
        report = check_contract(file, workspace_catalog(ws), cases, ws)
    except DocumentError as exc:
        _fail_lines(exc.lines)
    finally:
        if ws is not None:
            ws.close()
    if as_json:
        emit_json(report.to_json())
    else:
        _print_findings(report.findings, report.lines, report.file)
    if report.high:
        raise typer.Exit(EXIT_HIGH_RISK)


@contract_app.command("add")
def contract_add(
    file: Annotated[Path, typer.Argument(help="contract YAML naming workspace store ids")],
    signed_by: str = typer.Option("cli", "--by", help="who signs / 签署人"),
    as_json: bool = typer.Option(False, "--json", help="print the stored contract as JSON"),
) -> None:
    """Store and sign a contract, locking each KPI clause to its definition hash. 签约入库"""
    with command_workspace(ContractError) as ws:
        try:
            catalog = workspace_catalog(ws)
            with ws.session() as session:
                view, findings = add_contract(session, catalog, file, actor=signed_by)
        except DocumentError as exc:
            _fail_lines(exc.lines)
    if as_json:
        emit_json({**view.as_json(), "findings": [f.to_json() for f in findings]})
        return
    console = Console()
    console.print(f"[green]合同已签署 / contract signed:[/] #{view.id} {view.number}")
    for clause, digest in view.definitions.items():
        console.print(f"  {clause}: definition {digest[:12]}")
    high = sum(1 for f in findings if f.severity.value == "high")
    if high:
        console.print(
            f"[red]{high} 项高风险 / high-severity findings[/] — `lianxing contract check {file}`"
        )


@contract_app.command("list")
def contract_list(
    as_json: bool = typer.Option(False, "--json", help='print {"contracts": [...]}'),
) -> None:
    """List signed contracts. 合同列表"""
    with command_session() as session:
        contracts = list_contracts(session)
    if as_json:
        emit_json({"contracts": [c.as_json() for c in contracts]})
        return
    table = Table(
        "ID",
        "编号 Number",
        "卖家 Seller",
        "服务商 Agency",
        "套餐 Package",
        "开始 Start",
        "月 Months",
        "店铺 Stores",
        "状态 Status",
    )
    for c in contracts:
        table.add_row(
            str(c.id),
            c.number,
            c.seller,
            c.agency,
            c.package,
            c.term_start,
            str(c.term_months),
            ",".join(map(str, c.store_ids)),
            c.status,
        )
    Console().print(table)


@contract_app.command("evaluate")
def contract_evaluate(
    contract: int = typer.Option(..., "--contract", help="contract id (see `contract list`)"),
    as_of: str | None = typer.Option(
        None, "--as-of", help="YYYY-MM-DD, the last complete day counted (default: yesterday)"
    ),
    flagged_batch: Annotated[
        list[str] | None,
        typer.Option("--flagged-batch", help="import batch whose data must not count (repeatable)"),
    ] = None,
    as_json: bool = typer.Option(False, "--json", help="print the statement as JSON"),
) -> None:
    """Milestones, exit clauses and the settlement statement. 里程碑、退出条款与结算"""
    day = parse_date(as_of, "--as-of") or (dt.date.today() - dt.timedelta(days=1))
    with command_workspace(ContractError) as ws:
        statement = evaluate_contract(ws, contract, day, flagged_batches=flagged_batch or ())
    body = statement.to_json()
    if as_json:
        emit_json(body)
        return
    console = Console()
    console.print(
        f"合同 / contract {body['contract']} — as of {body['as_of']}, "
        f"launch {body['launch_date'] or '—'}"
    )
    clauses = Table("条款 Clause", "结果 Outcome", "日期 Date", "依据 Evidence", "定义 Definition")
    for clause in body["clauses"]:
        evidence = "; ".join(
            f"{e['start']}..{e['last_day']} = {e['value']}" for e in clause["evidence"]
        )
        fake = clause["confirmed_fake_orders"]
        left_out = f"\n{fake['reason']['zh']}\n{fake['reason']['en']}" if fake else ""
        clauses.add_row(
            f"{clause['kind']} {clause['id']}",
            clause["outcome"],
            clause["met_on"] or "—",
            f"{clause['explanation']['zh']}\n{clause['explanation']['en']}\n{evidence}{left_out}",
            clause["definition"][:12],
        )
    console.print(clauses)
    settlement = body["settlement"]
    lines = Table(
        "费用 Fee",
        "状态 Status",
        "到期 Due",
        "金额 Amount",
        f"结算 Settlement ({settlement['settlement_currency']})",
        "依据 Basis",
    )
    for line in settlement["lines"]:
        lines.add_row(
            line["name"],
            line["status"],
            line["due_date"] or "—",
            f"{line['amount'] or '—'} {line['currency']}",
            _converted_text(line["converted"]),
            _basis_text(line),
        )
    for refund in settlement["refunds"]:
        lines.add_row(
            f"退款 refund ({refund['exit']})",
            "refund_owed",
            refund["owed_from"],
            f"{refund['amount']} {refund['currency']}",
            _converted_text(refund["converted"]),
            refund["basis"],
        )
    console.print(lines)
    for currency, totals in settlement["totals"].items():
        console.print(_totals_text(currency, totals))
    console.print(
        _totals_text(
            f"结算 settlement {settlement['settlement_currency']}", settlement["converted_totals"]
        )
    )
    console.print(f"[dim]statement {body['statement_hash']}[/]")


def _totals_text(label: str, totals: dict[str, str]) -> str:
    return (
        f"{label}: 应付 due {totals['due']} · 未到期 not yet due {totals['not_yet_due']} · "
        f"待里程碑 pending milestone {totals['pending_milestone']} · "
        f"应退 refunds owed {totals['refunds_owed']}"
    )


def _converted_text(converted: dict[str, Any] | None) -> str:
    """The settlement amount with the rate and the day of the rate, so it can be checked."""
    if converted is None:
        return "—"
    amount = f"{converted['amount']} {converted['currency']}"
    if converted["rate_rule"] == "same_currency":
        return amount
    estimate = " 估算 estimate" if converted["rate_rule"] == "as_of_estimate" else ""
    return f"{amount}\n× {converted['rate']} ({converted['rate_date']}{estimate})"


def _basis_text(line: dict[str, Any]) -> str:
    fake = line.get("confirmed_fake_orders")
    if not fake:
        return str(line["basis"])
    return (
        f"{line['basis']}\n{fake['reason']['zh']}：少计 {fake['amount_left_out']} "
        f"{line['currency']}\n{fake['reason']['en']}: {fake['amount_left_out']} "
        f"{line['currency']} less"
    )


# ---------------------------------------------------------------------------------------
# Tickets
# ---------------------------------------------------------------------------------------


def _parse_at(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        fail(f"--at: {value!r} is not a time; expected YYYY-MM-DDTHH:MM (UTC)")
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def _show(view: TicketView, as_json: bool) -> None:
    if as_json:
        emit_json(view.as_json())
        return
    console = Console()
    console.print(
        f"#{view.id} [{view.severity}] {view.title} — {view.status}; "
        f"首响截止 response due {view.response_due_at or '—'}, "
        f"解决截止 resolution due {view.resolution_due_at or '—'}"
        + (f"; [red]超时 breached: {', '.join(view.breaches)}[/]" if view.breaches else "")
    )
    for message in view.messages:
        console.print(
            f"  {message['at']} {message['side']}/{message['author']} {message['kind']}: ",
            end="",
        )
        console.print(message["body"], markup=False)


@ticket_app.command("open")
def ticket_open(
    contract: int = typer.Option(..., "--contract", help="contract id"),
    severity: str = typer.Option(..., help="high, medium or low / 严重程度"),
    title: str = typer.Option(..., help="short title / 标题"),
    body: str = typer.Option(..., help="what is wrong / 问题描述"),
    by: str = typer.Option("seller", "--by", help="who raises it"),
    store: int | None = typer.Option(None, "--store", help="store id the issue is about"),
    at: str | None = typer.Option(None, "--at", help="when (UTC ISO time; default now)"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The seller raises an issue to the agency. 卖家提出问题"""
    moment = _parse_at(at)
    with command_session(TicketError) as session:
        view = open_ticket(
            session,
            contract_id=contract,
            severity=severity,
            title=title,
            body=body,
            author=by,
            at=moment,
            store_id=store,
        )
    _show(view, as_json)


@ticket_app.command("reply")
def ticket_reply(
    ticket: int = typer.Argument(..., help="ticket id"),
    body: str = typer.Option(..., help="the message / 回复内容"),
    side: str = typer.Option("agency", help="seller or agency"),
    by: str = typer.Option("agency", "--by", help="who writes"),
    at: str | None = typer.Option(None, "--at", help="when (UTC ISO time; default now)"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Reply to a ticket; the agency's first reply stops the first-response clock. 回复"""
    moment = _parse_at(at)
    with command_session(TicketError) as session:
        view = reply(session, ticket, body=body, author=by, side=side, at=moment)
    _show(view, as_json)


@ticket_app.command("resolve")
def ticket_resolve(
    ticket: int = typer.Argument(..., help="ticket id"),
    body: str = typer.Option(..., help="how it was resolved / 解决说明"),
    by: str = typer.Option("agency", "--by", help="who resolves"),
    at: str | None = typer.Option(None, "--at", help="when (UTC ISO time; default now)"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Resolve a ticket. 解决"""
    moment = _parse_at(at)
    with command_session(TicketError) as session:
        view = resolve(session, ticket, body=body, author=by, at=moment)
    _show(view, as_json)


@ticket_app.command("show")
def ticket_show(
    ticket: int = typer.Argument(..., help="ticket id"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """A ticket with its whole exchange. 问题详情"""
    with command_session(TicketError) as session:
        view = show_ticket(session, ticket)
    _show(view, as_json)


@ticket_app.command("list")
def ticket_list(
    contract: int | None = typer.Option(None, "--contract", help="only this contract"),
    open_only: bool = typer.Option(False, "--open", help="only unresolved tickets"),
    at: str | None = typer.Option(None, "--at", help="judge deadlines at this UTC time"),
    as_json: bool = typer.Option(False, "--json", help='print {"tickets": [...]}'),
) -> None:
    """List tickets with their deadlines and SLA breaches (breaches are recorded). 问题清单"""
    moment = _parse_at(at)
    with command_session() as session:
        tickets = list_tickets(session, contract_id=contract, open_only=open_only, now=moment)
    if as_json:
        emit_json({"tickets": [t.as_json() for t in tickets]})
        return
    table = Table(
        "ID",
        "合同 Contract",
        "级别 Severity",
        "标题 Title",
        "状态 Status",
        "首响截止 Response due",
        "解决截止 Resolution due",
        "超时 Breaches",
    )
    for t in tickets:
        table.add_row(
            str(t.id),
            str(t.contract_id),
            t.severity,
            t.title,
            t.status,
            str(t.response_due_at or "—"),
            str(t.resolution_due_at or "—"),
            ", ".join(t.breaches) or "—",
        )
    Console().print(table)
