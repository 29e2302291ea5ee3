"""``lianxing store add|list``."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from lianxing.cli.common import command_session, emit_json, parse_date
from lianxing.cli.root import app
from lianxing.stores import StoreError, create_store, list_stores

store_app = typer.Typer(help="Stores / 店铺", no_args_is_help=True)
app.add_typer(store_app, name="store")


@store_app.command("add")
def store_add(
    platform: str = typer.Option(..., help="amazon, shopee, lazada, tiktok, aliexpress"),
    site: str = typer.Option(..., help="site code, e.g. US, MY, UK (see `lianxing platforms`)"),
    name: str = typer.Option(..., help="store name / 店铺名称"),
    launch_date: str | None = typer.Option(
        None, help="YYYY-MM-DD; stores without one are planning"
    ),
    status: str | None = typer.Option(None, help="planning/launching/live/suspended/closed"),
    org: int | None = typer.Option(None, help="owning seller organisation id"),
    as_json: bool = typer.Option(False, "--json", help="print the new store as JSON"),
) -> None:
    """Add a store. 添加店铺"""
    launch = parse_date(launch_date, "--launch-date")
    with command_session(StoreError) as session:
        view = create_store(
            session,
            platform=platform,
            site=site,
            name=name,
            launch_date=launch,
            status=status,
            org_id=org,
        )
    if as_json:
        emit_json(view.as_json())
    else:
        Console().print(
            f"[green]店铺已添加 / store added:[/] #{view.id} {view.name} "
            f"({view.platform} {view.site}, {view.currency}, {view.timezone})"
        )


@store_app.command("list")
def store_list(
    as_json: bool = typer.Option(False, "--json", help='print {"stores": [...]}'),
) -> None:
    """List stores. 店铺列表"""
    with command_session() as session:
        stores = list_stores(session)
    if as_json:
        emit_json({"stores": [s.as_json() for s in stores]})
        return
    table = Table(
        "ID",
        "名称 Name",
        "平台 Platform",
        "站点 Site",
        "币种 Currency",
        "时区 Timezone",
        "状态 Status",
        "上线 Launch",
    )
    for s in stores:
        table.add_row(
            str(s.id),
            s.name,
            s.platform,
            s.site,
            s.currency,
            s.timezone,
            s.status,
            s.launch_date.isoformat() if s.launch_date else "—",
        )
    Console().print(table)
