"""``lianxing init``: create or upgrade the workspace."""

from __future__ import annotations

import typer
from rich.console import Console

from lianxing.cli.common import emit_json, fail
from lianxing.cli.root import app
from lianxing.workspace import WorkspaceError, init_workspace


@app.command()
def init(
    as_json: bool = typer.Option(False, "--json", help="print the result as one JSON object"),
) -> None:
    """Create or upgrade the workspace (runs migrations; safe to run twice). 初始化工作区"""
    try:
        result = init_workspace()
    except (WorkspaceError, OSError) as exc:
        fail(str(exc))
    if as_json:
        emit_json(
            {
                "home": result.home,
                "created_key": result.created_key,
                "database_url": result.database_url,
                "warehouse_url": result.warehouse_url,
            }
        )
        return
    console = Console()
    console.print(f"[green]工作区已就绪 / workspace ready:[/] {result.home}")
    if result.created_key:
        console.print("  新密钥文件 / new key file (mode 0600): secret.key — back it up / 请备份")
