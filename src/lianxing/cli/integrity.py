"""``lianxing integrity`` (findings), ``lianxing integrity review`` and ``lianxing provenance``."""

from __future__ import annotations

import getpass

import typer
from rich.console import Console
from rich.table import Table

from lianxing.cli.common import command_session, command_workspace, emit_json, fail
from lianxing.cli.root import app
from lianxing.domain.integrity import SOURCE_KIND_LABELS
from lianxing.domain.periods import Period, PeriodError, parse_period
from lianxing.integrity.provenance import ProvenanceError, kpi_provenance
from lianxing.integrity.service import (
    FlagStatus,
    IntegrityError,
    IntegrityReport,
    get_store,
    review_flag,
    run_integrity,
    store_scope,
)

integrity_app = typer.Typer(
    help="Data integrity: suspicious orders and data / 数据可信度：可疑订单与数据",
    invoke_without_command=True,
)
app.add_typer(integrity_app, name="integrity")


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in a bare container
        return "cli"


def _period(text: str) -> Period:
    try:
        return parse_period(text)
    except PeriodError as exc:
        fail(f"--period: {exc}")


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.2%}"


def _print_report(report: IntegrityReport) -> None:
    console = Console()
    title = (
        f"数据可信度 / Integrity — store {report.store_id}, {report.period.label} "
        f"({report.timezone})"
    )
    table = Table(
        "ID", "规则 Rule", "分数 Score", "状态 Status", "订单 Orders", "GMV占比 Share", title=title
    )
    for flag in report.flags:
        table.add_row(
            str(flag.id),
            flag.rule_name,
            f"{flag.score:.2f}",
            flag.status,
            str(len(flag.order_ids)),
            _share(flag.gmv_share),
        )
    console.print(table)
    for flag in report.flags:
        console.print(f"#{flag.id} {flag.explanation_zh}", soft_wrap=True)
        console.print(f"    {flag.explanation_en}", soft_wrap=True)
    if not report.flags:
        console.print("未发现可疑模式 / no suspicious pattern found")
    console.print(
        f"销售额 / GMV {report.gmv:,.2f} {report.currency}; "
        f"被标记 / flagged {report.flagged_gmv:,.2f} ({_share(report.flagged_share)}), "
        f"已确认 / confirmed {report.confirmed_gmv:,.2f} ({_share(report.confirmed_share)})",
        soft_wrap=True,
    )


@integrity_app.callback()
def integrity(
    ctx: typer.Context,
    store: int | None = typer.Option(None, "--store", help="store id / 店铺 ID"),
    period: str | None = typer.Option(
        None, "--period", help="2026-10, 2026-W43 or 2026-10-01..2026-10-15"
    ),
    as_json: bool = typer.Option(False, "--json", help="print the findings as one JSON object"),
) -> None:
    """Run every integrity rule on a store and period. 检测可疑订单与数据

    Findings are kept as flags (found again, not duplicated, on the next run) with their
    rule, score, affected orders and those orders' share of GMV.
    """
    if ctx.invoked_subcommand is not None:
        return
    if store is None or period is None:
        fail("lianxing integrity needs --store ID and --period (e.g. --period 2026-10)")
    parsed = _period(period)
    with command_workspace(IntegrityError) as ws, ws.session() as session:
        report = run_integrity(session, ws.warehouse, store, parsed, actor=_actor())
    if as_json:
        emit_json(report.as_dict())
    else:
        _print_report(report)


@integrity_app.command("review")
def review(
    flag_id: int = typer.Argument(..., help="flag id from `lianxing integrity`"),
    confirm: bool = typer.Option(False, "--confirm", help="the pattern is real / 确认"),
    dismiss: bool = typer.Option(False, "--dismiss", help="the pattern is explained / 排除"),
    reason: str = typer.Option(..., "--reason", help="why (kept in the audit log) / 理由"),
    as_json: bool = typer.Option(False, "--json", help="print the flag as one JSON object"),
) -> None:
    """Confirm or dismiss a flag with a reason (audited). 复核标记"""
    if confirm == dismiss:
        fail("give exactly one of --confirm or --dismiss")
    decision = FlagStatus.CONFIRMED if confirm else FlagStatus.DISMISSED
    with command_session(IntegrityError) as session:
        flag = review_flag(session, flag_id, decision=decision, reason=reason, actor=_actor())
        result = {
            "id": flag.id,
            "store": flag.store_id,
            "rule": flag.rule,
            "status": flag.status,
            "reviews": [
                {"decision": r.decision, "reason": r.reason, "actor": r.actor} for r in flag.reviews
            ],
        }
    if as_json:
        emit_json(result)
    else:
        label = "已确认 / confirmed" if decision == FlagStatus.CONFIRMED else "已排除 / dismissed"
        Console().print(f"flag {flag_id}: {label} — {reason.strip()}")


@app.command("provenance")
def provenance(
    store: int = typer.Option(..., "--store", help="store id / 店铺 ID"),
    period: str = typer.Option(..., "--period", help="2026-10, 2026-W43 or a..b range"),
    kpi: str = typer.Option("gmv", "--kpi", help="KPI id, e.g. gmv, roas, sessions"),
    row_limit: int = typer.Option(20, "--rows", help="rows to list per component"),
    as_json: bool = typer.Option(False, "--json", help="print as one JSON object"),
) -> None:
    """Where a KPI value comes from: shares by source and batch, and the rows. 数据来源"""
    parsed = _period(period)
    with command_workspace(IntegrityError, ProvenanceError) as ws:
        with ws.session() as session:
            scope = store_scope(get_store(session, store), parsed)
        report = kpi_provenance(ws.warehouse, scope, kpi, row_limit=row_limit)
    if as_json:
        emit_json(report.as_dict())
        return
    console = Console()
    for component in report.components:
        table = Table(
            "来源 Source",
            "类型 Kind",
            "批次 Batch",
            "行数 Rows",
            "数值 Value",
            "占比 Share",
            title=f"{kpi}: {component.name} — store {store}, {parsed.label}",
        )
        for s in component.shares:
            kind = SOURCE_KIND_LABELS[s.kind] + (" ⚠" if s.manual else "")
            table.add_row(
                s.source, kind, s.batch_id, str(s.rows), f"{s.value:,.2f}", _share(s.share)
            )
        console.print(table)
        if component.manual_rows:
            console.print(
                f"⚠ {component.manual_rows} 行为手工录入或编辑 / rows entered or edited by hand"
            )
        if component.rows:
            keys = [k for k in component.rows[0] if k not in ("source", "batch_id", "manual")]
            rows_table = Table(*keys, "来源 Source", "标注 Label", title="明细 / rows")
            for row in component.rows:
                rows_table.add_row(
                    *[str(row[k]) for k in keys],
                    f"{row['source']} {row['batch_id']}",
                    "MANUAL" if row["manual"] else "",
                )
            console.print(rows_table)
            console.print("MANUAL = 手工录入或编辑 / entered or edited by hand")
