"""``lianxing audit verify``: walk the hash chain of the audit log."""

from __future__ import annotations

import typer
from rich.console import Console

from lianxing.cli.common import command_session, emit_json
from lianxing.cli.root import app
from lianxing.db.audit import verify

audit_app = typer.Typer(help="Audit log / 审计日志", no_args_is_help=True)
app.add_typer(audit_app, name="audit")

EXIT_CHAIN_BROKEN = 1


@audit_app.command("verify")
def audit_verify(
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Verify the audit chain; exit 1 at the first broken link. 校验审计链"""
    with command_session() as session:
        checked, broken = verify(session)
    if as_json:
        emit_json(
            {
                "ok": broken is None,
                "entries_verified": checked,
                "broken_at": broken.seq if broken else None,
                "reason": broken.reason if broken else None,
            }
        )
    elif broken is None:
        Console().print(f"[green]审计链完整 / audit chain intact:[/] {checked} entries verified")
    else:
        Console(stderr=True).print(
            f"[red]审计链断裂 / audit chain broken at entry {broken.seq}:[/] {broken.reason} "
            f"({checked} entries before it verified)"
        )
    if broken is not None:
        raise typer.Exit(EXIT_CHAIN_BROKEN)
