"""``lianxing kpi --store ID --period 2026-10 [--kpi gmv,roas] [--json]``. KPI 查询"""

from __future__ import annotations

import datetime as dt

import typer
from rich.console import Console
from rich.table import Table

from lianxing.cli.common import command_workspace, emit_json, fail, parse_date
from lianxing.cli.root import app
from lianxing.domain.kpi import KpiMatrix, OptionValue, Scope
from lianxing.domain.periods import PeriodError, parse_period
from lianxing.metrics.engine import FxRateMissing, KpiRequestError
from lianxing.metrics.service import (
    catalog_for,
    compute_matrix,
    kpi_json,
    platform_store_ids,
    store_infos,
)


def _options(pairs: list[str]) -> dict[str, OptionValue]:
    options: dict[str, OptionValue] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            fail(f"--option {pair!r}: expected NAME=VALUE, e.g. refunds=net")
        options[name.strip()] = {"true": True, "false": False}.get(
            value.strip().lower(), value.strip()
        )
    return options


def _ids(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        fail(f"--stores {text!r}: expected store ids separated by commas, e.g. 1,2,3")


@app.command("kpi")
def kpi(
    store: int | None = typer.Option(None, "--store", help="store id"),
    stores: str | None = typer.Option(None, "--stores", help="several store ids together: 1,2,3"),
    platform: str | None = typer.Option(
        None, "--platform", help="every store of a platform together"
    ),
    period: str = typer.Option(
        ...,
        "--period",
        help="2026-10, 2026-W43, 2026-Q4, 2026-10-05, "
        "2026-10-01..2026-10-15, rolling:28, launch:1-30",
    ),
    kpi_ids: str | None = typer.Option(
        None, "--kpi", help="comma-separated KPI ids (default: all)"
    ),
    option: list[str] | None = typer.Option(  # noqa: B008 - Typer declares options this way
        [], "--option", help="NAME=VALUE, e.g. refunds=net (repeatable)"
    ),
    as_of: str | None = typer.Option(
        None, "--as-of", help="YYYY-MM-DD: rolling periods end the day before"
    ),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """KPIs of a store or several stores for a period. 店铺 KPI"""
    if sum(x is not None for x in (store, stores, platform)) != 1:
        fail("give exactly one of --store ID, --stores 1,2,3 or --platform NAME")
    try:
        parsed = parse_period(period, as_of=parse_date(as_of, "--as-of") or dt.date.today())
    except PeriodError as exc:
        fail(str(exc))
    options = _options(option or [])
    selected = [k.strip() for k in kpi_ids.split(",") if k.strip()] if kpi_ids else None
    with command_workspace() as ws:
        with ws.session() as session:
            infos = store_infos(session)
            if platform is not None:
                ids = platform_store_ids(session, platform)
                if not ids:
                    fail(f"--platform {platform!r}: no store on that platform")
                scope = Scope(f"portfolio:{platform}", tuple(ids), platform)
            elif stores is not None:
                ids = _ids(stores)
                scope = Scope(
                    f"portfolio:{','.join(map(str, ids))}", tuple(ids), f"stores {stores}"
                )
            else:
                assert store is not None
                scope = Scope.store(store)
        known = {s.store_id for s in infos}
        unknown = [sid for sid in scope.store_ids if sid not in known]
        if unknown:
            fail(
                f"--store: no store with id {', '.join(map(str, unknown))} "
                "(see `lianxing store list`)"
            )
        catalog = catalog_for(ws.settings.home_dir)
        if catalog.issues:
            fail(f"invalid KPI definition: {catalog.issues[0]} (run `lianxing metrics validate`)")
        try:
            matrix = compute_matrix(
                ws.warehouse,
                catalog,
                infos,
                scopes=[scope],
                periods=[parsed],
                kpis=selected,
                options=options,
            )
        except (KpiRequestError, FxRateMissing, PeriodError) as exc:
            fail(str(exc))
    if as_json:
        emit_json(kpi_json(matrix, parsed.label, scope))
    else:
        _print(matrix, parsed.label, scope)


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "ratio":
        return f"{value:.2%}"
    return f"{value:,.2f}" if abs(value) < 1e15 else str(value)


def _print(matrix: KpiMatrix, period: str, scope: Scope) -> None:
    resolved = matrix.resolved.get((period, scope.key))
    title = f"{scope.label} · {period}"
    if resolved:
        last = dt.date.fromisoformat(resolved.end) - dt.timedelta(days=1)
        title += f" ({resolved.start} – {last.isoformat()}, {resolved.timezone})"
    table = Table(
        "KPI",
        "值 Value",
        "单位 Unit",
        "上期 Previous",
        "去年同期 Last year",
        "版本 Version",
        title=title,
    )
    for definition in matrix.iter_kpis():
        cell = matrix.cell(definition.id, period, scope.key)
        unit = matrix.unit_label(definition)
        shown = _number(cell.value.value, definition.unit.value)
        if cell.value.reason:
            shown = f"— ({cell.value.reason})"
        table.add_row(
            definition.name.both(),
            shown,
            unit,
            _number(cell.previous.value if cell.previous else None, definition.unit.value),
            _number(cell.last_year.value if cell.last_year else None, definition.unit.value),
            definition.short_hash,
        )
    console = Console()
    console.print(table)
    notes = {
        note for d in matrix.iter_kpis() for note in matrix.cell(d.id, period, scope.key).notes
    }
    for note in sorted(notes):
        console.print(f"[yellow]注意 / note:[/] {note}")
