"""``lianxing target set|list|delete``: KPI targets with cold-start ramps, status and pace."""

from __future__ import annotations

import datetime as dt

import typer
from rich.console import Console
from rich.table import Table

from lianxing.cli.common import (
    command_session,
    command_workspace,
    emit_json,
    fail,
    fail_with_problems,
    parse_date,
)
from lianxing.cli.root import app
from lianxing.domain.kpi import OPTIONS, OptionValue
from lianxing.domain.targets import RAMP_SYNTAX, TARGET_PERIOD_SYNTAX, Status
from lianxing.metrics.targets import (
    TargetInputError,
    TargetResult,
    delete_target,
    evaluate_targets,
    kpi_catalog,
    set_target,
)

target_app = typer.Typer(help="KPI targets / KPI 目标", no_args_is_help=True)
app.add_typer(target_app, name="target")

_STATUS_STYLE = {
    Status.GOOD: "green",
    Status.WARNING: "yellow",
    Status.BAD: "red",
    Status.UNKNOWN: "dim",
}


def _scope(store: int | None, platform: str | None, seller: int | None) -> tuple[str, str]:
    given = [
        (kind, str(ref))
        for kind, ref in (("store", store), ("platform", platform), ("seller", seller))
        if ref is not None
    ]
    if len(given) != 1:
        fail("scope: give exactly one of --store ID, --platform ID or --seller ORG_ID")
    return given[0]


def _options(pairs: list[str]) -> dict[str, OptionValue]:
    options: dict[str, OptionValue] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            fail(f"--option {pair!r}: expected NAME=VALUE, e.g. refunds=net")
        spec = OPTIONS.get(name)
        value: OptionValue = raw.strip()
        if spec is not None and spec.choices and isinstance(spec.choices[0], bool):
            if raw.strip().lower() not in ("true", "false"):
                fail(f"--option {name}={raw!r}: expected true or false")
            value = raw.strip().lower() == "true"
        options[name] = value
    return options


@target_app.command("set")
def target_set(
    kpi: str = typer.Option(..., help="KPI id, e.g. gmv, roas, acos, live_skus"),
    value: str = typer.Option(..., help="target value, e.g. 2.5 or 1000"),
    period: str = typer.Option("month", help=TARGET_PERIOD_SYNTAX),
    comparator: str | None = typer.Option(
        None, help=">=, <=, >, < or == (default from the KPI: >= if higher is better, else <=)"
    ),
    store: int | None = typer.Option(None, help="scope: one store"),
    platform: str | None = typer.Option(None, help="scope: every store on a platform"),
    seller: int | None = typer.Option(None, help="scope: every store of a seller organisation"),
    currency: str | None = typer.Option(None, help="money KPIs: currency of the value (USD)"),
    ramp: str | None = typer.Option(None, help=f"cold-start ramp: {RAMP_SYNTAX}"),
    owner_role: str | None = typer.Option(None, help="owner role: ops, cs, logistics, ads, ..."),
    owner_user: int | None = typer.Option(None, help="owner user id"),
    option: list[str] = typer.Option([], help="KPI option NAME=VALUE (repeatable)"),  # noqa: B008
    as_json: bool = typer.Option(False, "--json", help="print the new target as JSON"),
) -> None:
    """Set a KPI target. 设定 KPI 目标"""
    scope_kind, scope_ref = _scope(store, platform, seller)
    kpi_options = _options(option)
    with command_workspace(TargetInputError, show=fail_with_problems) as ws:
        catalog = kpi_catalog(ws)
        with ws.session() as session:
            view = set_target(
                session,
                catalog,
                kpi=kpi,
                scope_kind=scope_kind,
                scope_ref=scope_ref,
                period=period,
                value=value,
                comparator=comparator,
                currency=currency,
                ramp=ramp,
                owner_role=owner_role,
                owner_user_id=owner_user,
                kpi_options=kpi_options,
            )
    if as_json:
        emit_json(view.as_json())
        return
    ramp_text = f", ramp {view.ramp.spec()}" if view.ramp else ""
    Console().print(
        f"[green]目标已设定 / target set:[/] #{view.id} {view.describe()} "
        f"({view.scope_label}, {view.period}{ramp_text})"
    )


@target_app.command("delete")
def target_delete(
    target_id: int = typer.Argument(..., help="target id"),
    as_json: bool = typer.Option(False, "--json", help="print the deleted target as JSON"),
) -> None:
    """Delete a KPI target. 删除 KPI 目标"""
    with command_session(TargetInputError, show=fail_with_problems) as session:
        view = delete_target(session, target_id)
    if as_json:
        emit_json({"deleted": view.as_json()})
    else:
        Console().print(f"目标已删除 / target deleted: #{view.id} {view.describe()}")


@target_app.command("list")
def target_list(
    store: int | None = typer.Option(None, help="only targets covering this store"),
    as_of: str | None = typer.Option(
        None, "--as-of", help="evaluate on this date (YYYY-MM-DD; data up to the day before)"
    ),
    as_json: bool = typer.Option(False, "--json", help='print {"as_of": ..., "targets": [...]}'),
) -> None:
    """List targets: actual, achievement, status, pace. 目标列表：实际、达成率、状态、预测"""
    day = parse_date(as_of, "--as-of") or dt.date.today()
    with command_workspace(TargetInputError, show=fail_with_problems) as ws:
        results = evaluate_targets(ws, day, store_id=store)
    if as_json:
        emit_json({"as_of": day.isoformat(), "targets": [r.as_json() for r in results]})
        return
    _print_table(results, day)


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    if unit == "ratio":
        return f"{value:,.4f}"  # rates such as 0.0123 need more than two places
    if unit == "count" and float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _print_table(results: list[TargetResult], day: dt.date) -> None:
    table = Table(
        "ID",
        "指标 KPI",
        "范围 Scope",
        "期间 Period",
        "目标 Target",
        "实际 Actual",
        "达成 Achv.",
        "状态 Status",
        "预测 Pace",
        "负责 Owner",
        title=f"KPI 目标 / targets as of {day.isoformat()}",
    )
    for r in results:
        t = r.target
        period = "—" if r.period is None else f"{r.period.start}..{r.period.last_day}"
        goal = f"{t.comparator.value} {_number(r.effective_target, r.unit)}"
        if r.ramp_factor < 1:
            goal += f" (×{r.ramp_factor:.2f} of {t.value:g})"
        pace = "—"
        if r.projection is not None and r.projection.value is not None:
            pace = _number(r.projection.value, r.unit)
            if r.projected_status is not None:
                style = _STATUS_STYLE[r.projected_status]
                pace += f" [{style}]{r.projected_status.value}[/]"
        owner = t.owner_role or (f"user {t.owner_user_id}" if t.owner_user_id else "—")
        table.add_row(
            str(t.id),
            t.kpi_id,
            t.scope_label,
            f"{t.period}\n{period}",
            goal,
            f"{_number(r.actual, r.unit)} {r.unit}",
            _percent(r.achievement),
            f"[{_STATUS_STYLE[r.status]}]{r.status.label}[/]",
            pace,
            owner,
        )
    console = Console()
    console.print(table)
    for r in results:
        for note in r.notes:
            console.print(f"  #{r.target.id}: {note}")
