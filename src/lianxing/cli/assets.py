"""``lianxing assets set|list|check``: who holds each account asset of a store."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lianxing.cli.common import command_workspace, emit_json
from lianxing.cli.root import app
from lianxing.domain.assets import ASSET_NAMES, AssetError, parse_holder, parse_kind
from lianxing.launch.assets import check_store_assets, list_assets, reveal_identifier, set_asset
from lianxing.security import SecretError

assets_app = typer.Typer(help="Account-asset ledger / 账号资产台账", no_args_is_help=True)
app.add_typer(assets_app, name="assets")


@assets_app.command("set")
def assets_set(
    store: int = typer.Option(..., help="store id"),
    kind: str = typer.Option(..., help="login_email, phone, two_factor, payout_account, ..."),
    label: str = typer.Option("", help="tells apart several assets of a kind (e.g. the ERP)"),
    identifier: str | None = typer.Option(
        None,
        "--id",
        help="e-mail, phone, account number, app name (stored encrypted, no passwords)",
    ),
    holder: str | None = typer.Option(None, help="seller, agency or person / 持有方"),
    holder_name: str | None = typer.Option(None, help="the person's or company's name"),
    verified: bool = typer.Option(False, "--verified", help="record that it was checked now"),
    note: str | None = typer.Option(None, help="why it changed / 变更说明"),
    as_json: bool = typer.Option(False, "--json", help="print the asset as JSON"),
) -> None:
    """Record or change an asset (every change is kept). 登记/变更账号资产"""
    with command_workspace(AssetError, SecretError) as ws:
        asset_kind = parse_kind(kind)
        holder_kind = parse_holder(holder) if holder is not None else None
        with ws.session() as session:
            view = set_asset(
                session,
                ws.cipher,
                store_id=store,
                kind=asset_kind,
                label=label,
                identifier=identifier,
                holder_kind=holder_kind,
                holder_name=holder_name,
                verified=verified,
                note=note,
            )
    if as_json:
        emit_json(view.as_json())
    else:
        Console().print(f"[green]已登记 / recorded:[/] {view.snapshot.kind.value} #{view.id}")


@assets_app.command("list")
def assets_list(
    store: int = typer.Option(..., help="store id"),
    as_json: bool = typer.Option(False, "--json", help='print {"assets": [...]}'),
) -> None:
    """List a store's assets with their history. 资产列表"""
    with command_workspace(AssetError, SecretError) as ws, ws.session() as session:
        views = list_assets(session, ws.cipher, store_id=store)
    if as_json:
        emit_json({"store": store, "assets": [v.as_json() for v in views]})
        return
    table = Table(
        "ID", "资产 Asset", "标识 Identifier", "持有 Holder", "核验 Verified", "变更 Changes"
    )
    for v in views:
        s = v.snapshot
        zh, en = ASSET_NAMES[s.kind]
        table.add_row(
            str(v.id),
            f"{zh} / {en}" + (f" ({s.label})" if s.label else ""),
            s.identifier,
            s.holder_kind.value + (f": {s.holder_name}" if s.holder_name else ""),
            s.last_verified_at.date().isoformat() if s.last_verified_at else "—",
            str(len(v.history)),
        )
    Console().print(table)


@assets_app.command("check")
def assets_check(
    store: int = typer.Option(..., help="store id"),
    as_json: bool = typer.Option(False, "--json", help='print {"findings": [...]}'),
) -> None:
    """Flag risks: critical assets held by the agency, never verified, changed without a record."""
    with command_workspace(AssetError, SecretError) as ws, ws.session() as session:
        findings = check_store_assets(session, ws.cipher, store_id=store)
    if as_json:
        emit_json({"store": store, "findings": [f.as_json() for f in findings]})
        return
    console = Console()
    if not findings:
        console.print("[green]未发现风险 / no findings[/]")
    for f in findings:
        console.print(escape(f"[{f.severity.value}] {f.code}: {f.message}"))


@assets_app.command("reveal")
def assets_reveal(
    asset: int = typer.Argument(..., help="asset id (see `assets list`)"),
    as_json: bool = typer.Option(False, "--json", help="print the asset with its full identifier"),
) -> None:
    """Show an asset's full identifier (the read is audited). 显示完整标识（记入审计日志）"""
    with command_workspace(AssetError, SecretError) as ws, ws.session() as session:
        view, identifier = reveal_identifier(session, ws.cipher, asset)
    if as_json:
        emit_json({**view.as_json(), "identifier": identifier})
    else:
        typer.echo(identifier)
