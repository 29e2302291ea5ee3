"""``lianxing report``: review reports (复盘) as HTML, PDF or XLSX; ``verify`` and ``diff``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from lianxing.alerts.channels.email import SmtpConfig
from lianxing.alerts.service import AlertInputError, email_settings
from lianxing.cli.common import (
    command_session,
    command_workspace,
    emit_json,
    fail,
    fail_with_problems,
    parse_date,
)
from lianxing.cli.root import app
from lianxing.reports.compute import ReportInputError, ReportRequest
from lianxing.reports.model import KpiChange
from lianxing.reports.schedules import (
    ScheduleInputError,
    add_schedule,
    list_schedules,
    set_schedule_enabled,
)
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
    channel: str | None = typer.Option(
        None, "--channel", help="e-mail channel (id or name) whose SMTP settings --email uses"
    ),
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
    with command_workspace() as ws:
        smtp: SmtpConfig | None = None
        if email:
            # Checked before anything is written: a report that cannot be mailed is not made.
            try:
                with ws.session() as session:
                    smtp = email_settings(session, ws.cipher, channel)
            except AlertInputError as exc:
                fail(f"--email: {exc}")
        try:
            generated = generate_report(
                ws, request, fmt=fmt, lang=lang, output=output, commentary=text, today=today
            )
            if smtp is not None:
                send_report(
                    generated.report,
                    generated.content,
                    fmt=fmt,
                    file_name=output.name,
                    recipients=email,
                    smtp=smtp,
                    lang=lang,
                    sha256=generated.snapshot.sha256,
                )
        except ReportInputError as exc:
            fail(str(exc))
        except SendError as exc:
            fail(f"--email: {exc} (the report was written and frozen)")
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
    with command_session() as session:
        result = verify_file(session, content)
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
    with command_workspace(ReportInputError) as ws:
        snapshot, changes = diff_snapshot(ws, snapshot_id, today=today)
    if json_out:
        emit_json({"snapshot": snapshot.as_json(), "changes": [c.to_json() for c in changes]})
        return
    _print_changes(changes, f"snapshot {snapshot.id} ({snapshot.scope} {snapshot.period})")


# -- schedules ----------------------------------------------------------------------------

schedule_app = typer.Typer(
    help="Scheduled reports / 定期报告: a store's weekly or monthly review, mailed as a file"
)
report_app.add_typer(schedule_app, name="schedule")


@schedule_app.command("add")
def schedule_add(
    store: int = typer.Option(..., "--store", help="store id"),
    every: str = typer.Option(..., "--every", help="week or month"),
    to: list[str] = typer.Option(..., "--to", help="recipient address (repeat for several)"),  # noqa: B008
    fmt: str = typer.Option("pdf", "--format", help="html, pdf or xlsx"),
    lang: str = typer.Option("zh", "--lang", help="zh or en"),
    channel: str | None = typer.Option(
        None, "--channel", help="e-mail channel (id or name) whose SMTP settings send it"
    ),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Mail a store's review every week (Mondays, the past ISO week) or month (the 1st)."""
    with command_session(ScheduleInputError, show=fail_with_problems) as session:
        view = add_schedule(
            session,
            store_id=store,
            every=every,
            recipients=[a for item in to for a in item.split(",")],
            fmt=fmt,
            lang=lang,
            channel=channel,
            actor="cli",
        )
    if json_out:
        emit_json(view.as_json())
        return
    typer.echo(
        f"schedule {view.id}: store {view.store_id} every {view.every} -> "
        f"{', '.join(view.recipients)} ({view.format}, {view.lang}) / 已添加定期报告"
    )


@schedule_app.command("list")
def schedule_list(json_out: bool = typer.Option(False, "--json")) -> None:
    """List report schedules with the last period sent."""
    with command_session() as session:
        views = list_schedules(session)
    if json_out:
        emit_json({"schedules": [v.as_json() for v in views]})
        return
    if not views:
        typer.echo("no report schedule / 没有定期报告")
        return
    for v in views:
        state = "" if v.enabled else " (disabled / 已停用)"
        last = (
            f"{v.last_period} sent {v.last_sent_at:%Y-%m-%d %H:%M} UTC" if v.last_sent_at else "—"
        )
        typer.echo(
            f"{v.id}: store {v.store_id} every {v.every} -> {', '.join(v.recipients)} "
            f"({v.format}, {v.lang}, channel {v.channel_id}); last: {last}{state}"
        )


@schedule_app.command("disable")
def schedule_disable(
    schedule_id: int = typer.Argument(..., help="schedule id"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Stop a schedule (kept with its history)."""
    with command_session(ScheduleInputError, show=fail_with_problems) as session:
        view = set_schedule_enabled(session, schedule_id, False, actor="cli")
    if json_out:
        emit_json(view.as_json())
        return
    typer.echo(f"schedule {view.id} disabled / 已停用")
