"""``lianxing demo``: fill a workspace with realistic demo data."""

from __future__ import annotations

from datetime import date

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from lianxing.cli.common import emit_json, fail, parse_date
from lianxing.cli.root import app
from lianxing.cli.serve import run_server
from lianxing.demo.fill import fill_demo_workspace
from lianxing.web.demo_users import ensure_demo_users
from lianxing.workspace import WorkspaceError, init_workspace, open_workspace


@app.command()
def demo(
    no_serve: bool = typer.Option(
        False, "--no-serve", help="only fill the workspace (the web app is not started)"
    ),
    host: str = typer.Option("127.0.0.1", help="address the web app listens on"),
    port: int = typer.Option(8000, help="port the web app listens on"),
    today: str | None = typer.Option(
        None, help="pretend today is YYYY-MM-DD (data ends the day before)"
    ),
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Fill the workspace with six months of demo data for three stores and serve the web app
    with two demo logins (a seller owner, an agency operator). 生成演示数据并启动网页"""
    as_of = parse_date(today, "--today") or date.today()
    try:
        init_workspace()
        ws = open_workspace()
    except (WorkspaceError, OSError) as exc:
        fail(str(exc))
    err = Console(stderr=True)
    try:
        with Progress(
            TextColumn("[bold]演示数据 / demo data[/]"),
            BarColumn(),
            TextColumn("{task.fields[table]} · {task.completed:,.0f} rows"),
            TimeElapsedColumn(),
            console=err,
            disable=as_json or not err.is_terminal,
        ) as bar:
            task = bar.add_task("demo", total=None, table="")

            def progress(table: str, rows: int) -> None:
                bar.update(task, advance=rows, table=table)

            result = fill_demo_workspace(ws, today=as_of, progress=progress)
        logins = ensure_demo_users(ws)
    finally:
        ws.close()
    url = f"http://{host}:{port}/"
    if as_json:
        emit_json(
            {
                "batch_id": result.batch_id,
                "period": {"start": result.spec.start, "end": result.spec.end},
                "stores": [s.as_json() for s in result.stores],
                "tables": {name: s.as_dict() for name, s in result.stats.items()},
                "url": url,
                "logins": [
                    {"email": email, "password": password, "role": role}
                    for email, password, role in logins
                ],
            }
        )
        if not no_serve:
            run_server(host, port)
        return
    out = Console()
    out.print(
        "[green]演示工作区已就绪 / demo workspace ready[/] · "
        f"{result.spec.start} → {result.spec.end}"
    )
    stores = Table("ID", "店铺 Store", "平台 Platform", "站点 Site", "币种 Currency", "上线 Launch")
    for s in result.stores:
        stores.add_row(str(s.id), s.name, s.platform, s.site, s.currency, str(s.launch_date))
    out.print(stores)
    facts = Table("事实表 Fact table", "新增 New", "更新 Updated", "未变 Unchanged")
    for name, stat in result.stats.items():
        facts.add_row(name, f"{stat.new:,}", f"{stat.updated:,}", f"{stat.unchanged:,}")
    out.print(facts)
    out.print(
        f"KPI: [bold]lianxing kpi --store {result.stores[0].id} --period {result.spec.end:%Y-%m}[/]"
    )
    logins_table = Table("登录 Login", "密码 Password", "角色 Role")
    for email, password, role in logins:
        logins_table.add_row(email, password, role)
    out.print(logins_table)
    if no_serve:
        out.print(f"Web: [bold]lianxing serve[/] → {url}")
        return
    out.print(f"[bold green]网页 / Web app:[/] {url}  (Ctrl+C 停止 / to stop)")
    run_server(host, port)
