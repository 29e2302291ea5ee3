"""``lianxing launch plan|status|done|waive|set``: the store launch workflow (开店)."""

from __future__ import annotations

from typing import Any, NoReturn

import typer
from rich.console import Console

from lianxing.cli.common import command_session, command_workspace, emit_json, fail, parse_date
from lianxing.cli.root import app
from lianxing.domain.launch import ItemStatus, LaunchError
from lianxing.domain.time import utcnow
from lianxing.launch.plans import (
    Evidence,
    PlanParams,
    create_plan,
    parse_amount,
    plan_status,
    update_item,
)
from lianxing.launch.templates import TemplateError

launch_app = typer.Typer(help="Store launch workflow / 开店流程", no_args_is_help=True)
app.add_typer(launch_app, name="launch")

_STATUS_MARK = {"done": "✔", "waived": "≈", "todo": "·", "missed": "✘"}


def _fail_first_line(error: Exception) -> NoReturn:
    """``fail`` with the error's first line only (a template error lists every problem)."""
    fail(str(error).splitlines()[0])


@launch_app.command("plan")
def launch_plan(
    store: int = typer.Option(..., help="store id"),
    category: str | None = typer.Option(None, help="main category / 主营类目"),
    budget: str | None = typer.Option(None, help="budget, free text / 预算"),
    first_month_gmv: str | None = typer.Option(
        None, help="first-month GMV target in the store currency / 首月销售额目标"
    ),
    as_json: bool = typer.Option(False, "--json", help="print the new plan's status as JSON"),
) -> None:
    """Create the store's launch plan from its platform and site template. 创建开店计划"""
    with command_workspace(LaunchError, TemplateError, show=_fail_first_line) as ws:
        params = PlanParams(category, budget, parse_amount(first_month_gmv, "--first-month-gmv"))
        with ws.session() as session:
            create_plan(session, store_id=store, params=params)
        with ws.session() as session:
            status = plan_status(
                session, store_id=store, warehouse=ws.warehouse, today=utcnow().date()
            )
    if as_json:
        emit_json(status)
        return
    total = sum(len(s["items"]) for s in status["stages"])
    Console().print(
        f"[green]开店计划已创建 / launch plan created:[/] store #{store} "
        f"({status['plan']['platform']} {status['plan']['site']}), {total} items"
    )


@launch_app.command("status")
def launch_status(
    store: int = typer.Option(..., help="store id"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Stages, items, and what blocks the next stage. 开店进度"""
    with command_workspace(LaunchError) as ws, ws.session() as session:
        status = plan_status(session, store_id=store, warehouse=ws.warehouse, today=utcnow().date())
    if as_json:
        emit_json(status)
    else:
        _print_status(status)


def _print_status(status: dict[str, Any]) -> None:
    console = Console()
    plan = status["plan"]
    console.print(
        f"[bold]店铺 / store #{status['store']}[/] {plan['platform']} {plan['site']} · "
        f"当前阶段 / current stage: {status['current_stage'] or '全部完成 / all complete'}"
    )
    for stage in status["stages"]:
        mark = "✔" if stage["complete"] else "…"
        console.print(
            f"\n{mark} [bold]{stage['name']['zh']} / {stage['name']['en']}[/] "
            f"({stage['done']}/{stage['total']})"
        )
        for item in stage["items"]:
            flags = []
            if not item["required"]:
                flags.append("可选/optional")
            if item["unverified"]:
                flags.append("未核实/unverified")
            if item["overdue"]:
                flags.append("逾期/overdue")
            extra = f" [dim]({', '.join(flags)})[/]" if flags else ""
            due = f" due {item['due_date']}" if item["due_date"] else ""
            console.print(
                f"  {_STATUS_MARK[item['status']]} [{item['id']}] {item['key']}: "
                f"{item['title']['zh']} / {item['title']['en']} — {item['owner'] or '-'}"
                f"{due}{extra}"
            )
            if item["measure"]:
                console.print(f"      {item['measure']['explanation']}")
        if stage["open_required"]:
            console.print(f"  [yellow]阻塞 / blocking:[/] {', '.join(stage['open_required'])}")
    for doc in status["expiring_documents"]:
        console.print(
            f"[red]证件即将到期 / document expiring:[/] #{doc['id']} {doc['title']} "
            f"({doc['type']}) expires {doc['expires_on']}"
        )
    for risk in status["risks"]:
        console.print(
            f"[magenta]风险 / risk ({risk['severity']}):[/] {risk['title_zh']} / {risk['title_en']}"
        )


def _change(
    item: str,
    store: int | None,
    status: ItemStatus | None,
    *,
    reason: str | None = None,
    doc: int | None = None,
    note: str | None = None,
    link: str | None = None,
    owner: str | None = None,
    due: str | None = None,
) -> None:
    due_date = parse_date(due, "--due")
    with command_session(LaunchError) as session:
        changed = update_item(
            session,
            ref=item,
            store_id=store,
            status=status,
            reason=reason,
            evidence=Evidence(doc, note, link),
            owner=owner,
            due_date=due_date,
        )
        key, new_status = changed.key, changed.status
    Console().print(f"[green]已更新 / updated:[/] {key} → {new_status}")


@launch_app.command("done")
def launch_done(
    item: str = typer.Argument(..., help="item id, or item key with --store"),
    store: int | None = typer.Option(None, help="store id (needed with an item key)"),
    doc: int | None = typer.Option(None, help="evidence: vault document id"),
    note: str | None = typer.Option(None, help="evidence: a note"),
    link: str | None = typer.Option(None, help="evidence: a link"),
) -> None:
    """Mark an item done (with evidence). 标记完成"""
    _change(item, store, ItemStatus.DONE, doc=doc, note=note, link=link)


@launch_app.command("waive")
def launch_waive(
    item: str = typer.Argument(..., help="item id, or item key with --store"),
    reason: str | None = typer.Option(None, help="why the item is waived (required) / 豁免原因"),
    store: int | None = typer.Option(None, help="store id (needed with an item key)"),
) -> None:
    """Waive an item with a written reason. 豁免（须写明原因）"""
    _change(item, store, ItemStatus.WAIVED, reason=reason)


@launch_app.command("set")
def launch_set(
    item: str = typer.Argument(..., help="item id, or item key with --store"),
    store: int | None = typer.Option(None, help="store id (needed with an item key)"),
    owner: str | None = typer.Option(None, help="owner / 负责人"),
    due: str | None = typer.Option(None, help="due date YYYY-MM-DD / 截止日期"),
    doc: int | None = typer.Option(None, help="evidence: vault document id"),
    note: str | None = typer.Option(None, help="evidence: a note"),
    link: str | None = typer.Option(None, help="evidence: a link"),
) -> None:
    """Set an item's owner, due date or evidence. 设置负责人、截止日期、证据"""
    if owner is None and due is None and doc is None and note is None and link is None:
        fail("nothing to set: give --owner, --due, --doc, --note or --link")
    _change(item, store, None, owner=owner, due=due, doc=doc, note=note, link=link)
