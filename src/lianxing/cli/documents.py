"""``lianxing doc add|list|get``: the encrypted document vault."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from lianxing.cli.common import command_session, command_workspace, emit_json, fail, parse_date
from lianxing.cli.root import app
from lianxing.domain.time import utcnow
from lianxing.launch.vault import (
    VaultError,
    add_document,
    list_documents,
    parse_doc_type,
    read_document,
)
from lianxing.security import SecretError

doc_app = typer.Typer(help="Document vault / 资料库（加密存储）", no_args_is_help=True)
app.add_typer(doc_app, name="doc")


@doc_app.command("add")
def doc_add(
    file_arg: str = typer.Argument(..., metavar="FILE", help="the file to store"),
    doc_type: str = typer.Option(..., "--type", help="business_licence, legal_rep_id, ..."),
    store: int | None = typer.Option(None, help="store id (omit for the seller's own)"),
    title: str | None = typer.Option(None, help="title / 标题"),
    issued: str | None = typer.Option(None, help="issuing date YYYY-MM-DD / 签发日期"),
    expires: str | None = typer.Option(None, help="expiry date YYYY-MM-DD / 到期日期"),
    as_json: bool = typer.Option(False, "--json", help="print the document as JSON"),
) -> None:
    """Encrypt and store a document. 上传资料"""
    file = Path(file_arg)
    issued_on = parse_date(issued, "--issued")
    expires_on = parse_date(expires, "--expires")
    if not file.is_file():
        fail(f"{file}: no such file")
    content = file.read_bytes()
    with command_workspace(VaultError, SecretError) as ws:
        kind = parse_doc_type(doc_type)
        with ws.session() as session:
            view = add_document(
                session,
                ws.cipher,
                ws.settings.vault_dir,
                content=content,
                file_name=file.name,
                doc_type=kind,
                store_id=store,
                title=title,
                issued_on=issued_on,
                expires_on=expires_on,
            )
    if as_json:
        emit_json(view.as_json())
    else:
        Console().print(f"[green]已加密保存 / stored encrypted:[/] #{view.id} {view.title}")


@doc_app.command("list")
def doc_list(
    store: int | None = typer.Option(None, help="only this store's documents"),
    as_json: bool = typer.Option(False, "--json", help='print {"documents": [...]}'),
) -> None:
    """List documents (metadata only). 资料列表"""
    with command_session() as session:
        docs = list_documents(session, store_id=store, today=utcnow().date())
    if as_json:
        emit_json({"documents": [d.as_json() for d in docs]})
        return
    table = Table("ID", "类型 Type", "标题 Title", "店铺 Store", "到期 Expires", "状态 State")
    for d in docs:
        table.add_row(
            str(d.id),
            d.doc_type,
            d.title,
            str(d.store_id or "—"),
            d.expires_on.isoformat() if d.expires_on else "—",
            d.expiry or "—",
        )
    Console().print(table)


@doc_app.command("get")
def doc_get(
    document: int = typer.Argument(..., help="document id"),
    output: str | None = typer.Option(None, "-o", "--output", help="write here (else stdout)"),
) -> None:
    """Decrypt a document (the read is audited). 读取资料（记入审计日志）"""
    with command_workspace(VaultError, SecretError) as ws, ws.session() as session:
        _, content = read_document(session, ws.cipher, ws.settings.vault_dir, document)
    if output is None:
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
    else:
        Path(output).write_bytes(content)
