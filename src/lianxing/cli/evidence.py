"""`lianxing evidence --contract ID -o FILE.zip` and `lianxing evidence verify FILE.zip`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from lianxing.cli.common import command_workspace, emit_json, fail, parse_date
from lianxing.cli.root import app
from lianxing.contracts.evidence import build_pack, recorded_pack, verify_pack
from lianxing.contracts.service import ContractError
from lianxing.workspace import WorkspaceError, open_workspace

evidence_app = typer.Typer(
    help="Dispute evidence pack / 争议证据包", invoke_without_command=True, no_args_is_help=True
)
app.add_typer(evidence_app, name="evidence")

EXIT_VERIFY_FAILED = 1


@evidence_app.callback()
def evidence(
    ctx: typer.Context,
    contract: int | None = typer.Option(None, "--contract", help="contract id"),
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="the zip file to write")
    ] = None,
    as_of: str | None = typer.Option(
        None, "--as-of", help="settlement as of YYYY-MM-DD (default: yesterday)"
    ),
    by: str = typer.Option("cli", "--by", help="who makes the pack"),
    as_json: bool = typer.Option(False, "--json", help="print the manifest as JSON"),
) -> None:
    """Gather a contract's evidence into one zip with a sha256 manifest. 生成证据包"""
    if ctx.invoked_subcommand is not None:
        return
    if contract is None or output is None:
        fail("--contract and -o are required, e.g. `lianxing evidence --contract 1 -o pack.zip`")
    if output.suffix.lower() != ".zip":
        fail(f"-o: {str(output)!r} does not end in .zip; expected FILE.zip")
    day = parse_date(as_of, "--as-of") or (dt.date.today() - dt.timedelta(days=1))
    with command_workspace(ContractError) as ws:
        manifest = build_pack(ws, contract, output, as_of=day, actor=by)
    if as_json:
        emit_json(manifest)
        return
    console = Console()
    console.print(
        f"证据包已生成 / evidence pack written: {output} — {len(manifest['files'])} files"
    )
    for entry in manifest["files"]:
        console.print(f"  {entry['sha256'][:16]}  {entry['path']}", markup=False)
    console.print(f"manifest sha256 {manifest['sha256']} (recorded in the audit log)")


@evidence_app.command("verify")
def evidence_verify(
    file: Annotated[Path, typer.Argument(help="the evidence pack (.zip)")],
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Check every file of a pack against its manifest (exit 1 if anything differs). 校验"""
    if not file.is_file():
        fail(f"{file}: no such file")
    result = verify_pack(file)
    recorded: int | None = None
    if result.manifest_sha256:
        try:
            ws = open_workspace()
        except WorkspaceError:
            ws = None  # a pack is checkable anywhere; the workspace only adds its record
        if ws is not None:
            try:
                with ws.session() as session:
                    recorded = recorded_pack(session, result.manifest_sha256)
            finally:
                ws.close()
    if as_json:
        emit_json({**result.as_json(), "recorded_audit_seq": recorded})
    else:
        for problem in result.problems:
            print(f"FAIL {problem}")
        if result.ok:
            print(
                f"证据包完整 / pack intact: {result.files_checked} files, "
                f"{result.audit_entries_checked} audit entries, manifest {result.manifest_sha256}"
            )
            if recorded is not None:
                print(
                    f"本工作区审计日志 #{recorded} 记录了此包 / recorded in audit entry {recorded}"
                )
    if not result.ok:
        raise typer.Exit(EXIT_VERIFY_FAILED)
