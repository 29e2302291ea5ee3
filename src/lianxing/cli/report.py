"""``lianxing report``: review reports (复盘) as HTML, PDF or XLSX; ``verify`` and ``diff``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from lianxing.cli.app import app
from lianxing.cli.common import emit_json, fail, parse_date, workspace
from lianxing.reports.compute import ReportInputError, ReportRequest
from lianxing.reports.model import KpiChange
from lianxing.reports.sending import SendError, send_report
from lianxing.reports.service import FORMATS, diff_snapshot, generate_report, verify_file

report_app = typer.Typer(
    help="Review reports / 复盘报告: "
    "lianxing report --store ID --period 2026-10 --format pdf -o FILE",
    invoke_without_command=True,
)
app.add_typer(report_app, name="report")


def _store_list(text: str | None) -> tuple[int, ...]:
    if text is None:
        return ()
    ids = []
    for part in text.split(","):
        try:
            ids.append(int(part.strip()))
        except ValueError:
            fail(f"--stores: {part.strip()!r} is not a store id; expected ids like 1,2")
    return tuple(ids)


def _print_changes(changes: list[KpiChange], since: str) -> None:
    if not changes:
        typer.echo(f"no KPI changed since {since} / 与上次快照相比无变化")
        return
    typer.echo(f"KPIs changed since {since} / 与上次快照相比有变化:")
    for change in changes:
        note = " (definition changed / 定义已变)" if change.definition_changed else ""
        typer.echo(f"  {change.kpi_id}: {change.before} -> {change.after}{note}")


@report_app.callback()
def report(
    ctx: typer.Context,
    store: int | None = typer.Option(None, "--store", help="one store id"),
    stores: str | None = typer.Option(None, "--stores", help="portfolio of store ids: 1,2"),
    platform: str | None = typer.Option(
        None, "--platform", help="portfolio of a platform's stores"
    ),
    period: str | None = typer.Option(None, "--period", help="2026-10, 2026-W43 or 2026-Q4"),
    fmt: str = typer.Option("pdf", "--format", help="html, pdf or xlsx"),
    output: Path | None = typer.Option(None, "-o", "--output", help="file to write"),  # noqa: B008
    lang: str = typer.Option("zh", "--lang", help="zh or en"),
    commentary: Path | None = typer.Option(None, "--commentary", help="text file with commentary"),  # noqa: B008
    email: list[str] = typer.Option([], "--email", help="also mail the file to this address"),  # noqa: B008
    as_of: str | None = typer.Option(None, "--as-of", help="count data before this date"),
    json_out: bool = typer.Option(False, "--json", help="print the snapshot as JSON"),
) -> None:
    """Generate a review report and freeze it as a snapshot (sha256 in the audit log)."""
    if ctx.invoked_subcommand is not None:
        return
    if period is None:
        fail("--period: required (2026-10, 2026-W43 or 2026-Q4)")
    if output is None:
        fail("-o/--output: required (the file to write)")
    if fmt not in FORMATS:
        fail(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
    if output.parent and not output.parent.exists():
        fail(f"-o: folder {output.parent} does not exist")
    text: str | None = None
    if commentary is not None:
        try:
            text = commentary.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"--commentary {commentary}: cannot read as UTF-8 text ({exc})")
    today = parse_date(as_of, "--as-of")
    request = ReportRequest(period, store=store, stores=_store_list(stores), platform=platform)
    ws = workspace()
    try:
        generated = generate_report(
            ws, request, fmt=fmt, lang=lang, output=output, commentary=text, today=today
        )
        if email:
            send_report(
                generated.report,
                generated.content,
                fmt=fmt,
                file_name=output.name,
                recipients=email,
                lang=lang,
                sha256=generated.snapshot.sha256,
            )
    except ReportInputError as exc:
        fail(str(exc))
    except SendError as exc:
        fail(f"--email: {exc} (the report was written and frozen)")
    finally:
        ws.close()
    snapshot = generated.snapshot
    if json_out:
        emit_json(
            {
                "snapshot": snapshot.as_json(),
                "file": str(output),
                "previous_snapshot": generated.previous.id if generated.previous else None,
                "changes": [c.to_json() for c in generated.changes],
                "emailed": list(email),
            }
        )
        return
    typer.echo(
        f"wrote {output} ({fmt}, {snapshot.size_bytes} bytes); snapshot {snapshot.id}, "
        f"sha256 {snapshot.sha256}"
    )
    if generated.previous is not None:
        _print_changes(generated.changes, f"snapshot {generated.previous.id}")


@report_app.command("verify")
def report_verify(
    file: Path = typer.Argument(..., help="a report file"),  # noqa: B008
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Say whether FILE is exactly a report Lianxing produced, and when (exit 1 if not)."""
    try:
        content = file.read_bytes()
    except OSError as exc:
        fail(f"{file}: cannot read ({exc.strerror or exc})")
    ws = workspace()
    try:
        with ws.session() as session:
            result = verify_file(session, content)
    finally:
        ws.close()
    if json_out:
        emit_json(result.as_json())
    else:
        typer.echo(result.message)
    if not result.ok:
        raise typer.Exit(1)


@report_app.command("diff")
def report_diff(
    snapshot_id: int = typer.Argument(..., help="a snapshot id (printed when the report was made)"),
    as_of: str | None = typer.Option(None, "--as-of", help="count data before this date"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Recompute a snapshot's KPIs from today's data and show what moved."""
    today: dt.date | None = parse_date(as_of, "--as-of")
    ws = workspace()
    try:
        snapshot, changes = diff_snapshot(ws, snapshot_id, today=today)
    except ReportInputError as exc:
        fail(str(exc))
    finally:
        ws.close()
    if json_out:
        emit_json({"snapshot": snapshot.as_json(), "changes": [c.to_json() for c in changes]})
        return
    _print_changes(changes, f"snapshot {snapshot.id} ({snapshot.scope} {snapshot.period})")
