"""``lianxing sync [--store ID] [--connector ID] [--since DATE] [--json]`` and
``lianxing sync status``: one row per (store, connector, stream)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from lianxing.cli.common import command_workspace, emit_json, parse_date
from lianxing.cli.root import app
from lianxing.ingest.sync import PENDING, SyncInputError, sync_status, sync_stores

sync_app = typer.Typer(
    help="Sync stores through their platform APIs / 通过平台 API 同步店铺数据",
    invoke_without_command=True,
)
app.add_typer(sync_app, name="sync")


@sync_app.callback()
def sync(
    ctx: typer.Context,
    store: Annotated[int | None, typer.Option("--store", help="One store (default: all)")] = None,
    connector: Annotated[
        str | None,
        typer.Option(help="Only this connector's connections (default: every one) / 仅此连接器"),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Re-read from this date YYYY-MM-DD / 从该日期起重读")
    ] = None,
    workers: Annotated[int, typer.Option(help="Stores synced at once")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout")] = False,
) -> None:
    """Sync every connection of the store(s) now / 立即同步店铺的所有连接."""
    if ctx.invoked_subcommand is not None:
        return
    start = parse_date(since, "--since")
    with command_workspace(SyncInputError) as ws:
        results = sync_stores(
            ws,
            [store] if store is not None else None,
            start,
            connector=connector,
            workers=workers,
        )
    if as_json:
        emit_json({"connections": [r.as_json() for r in results]})
    else:
        table = Table(
            "店铺 Store",
            "连接器 Connector",
            "流 Stream",
            "状态 Status",
            "记录 Records",
            "错误 Error",
        )
        for r in results:
            if not r.streams:
                table.add_row(str(r.store_id), r.connector, "-", r.status, "0", r.error or "")
            for s in r.streams:
                table.add_row(
                    str(r.store_id), r.connector, s.stream, s.status, str(s.records), s.error or ""
                )
        Console().print(table)
    # A connection whose authorisation is not finished is shown, not counted as a failure.
    if any(r.status not in ("succeeded", PENDING) for r in results):
        raise typer.Exit(1)


def _lag(seconds: Any) -> str:
    if seconds is None:
        return "-"
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours}h{rest // 60:02d}m"


@sync_app.command("status")
def status(
    store: Annotated[int | None, typer.Option("--store", help="One store (default: all)")] = None,
    connector: Annotated[str | None, typer.Option(help="Only this connector / 仅此连接器")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout")] = False,
) -> None:
    """Per (store, connector, stream): last success, lag, last error / 同步状态."""
    with command_workspace(SyncInputError) as ws:
        rows = sync_status(ws, store, connector)
    if as_json:
        emit_json({"connections": rows})
        return
    table = Table(
        "店铺 Store",
        "连接 Connection",
        "流 Stream",
        "上次成功 Last success",
        "延迟 Lag",
        "错误 Last error",
    )
    for row in rows:
        conn = f"{row['connector']} ({row['status']})"
        if not row["streams"]:
            table.add_row(str(row["store"]), conn, "-", "-", "-", row["status_reason"] or "")
        for s in row["streams"]:
            table.add_row(
                str(row["store"]),
                conn,
                s["stream"],
                s["last_success_at"] or "-",
                _lag(s["lag_seconds"]),
                (s["last_error"] or "").splitlines()[0][:80] if s["last_error"] else "",
            )
    Console().print(table)
