"""``lianxing export --all -o DIR``: everything the seller owns, in open formats."""

from __future__ import annotations

from pathlib import Path

import typer

from lianxing.cli.common import command_workspace, emit_json, fail
from lianxing.cli.root import app
from lianxing.export import ExportError, export_all


@app.command("export")
def export(
    everything: bool = typer.Option(False, "--all", help="export everything (required)"),
    output: Path | None = typer.Option(None, "-o", "--output", help="a new or empty folder"),  # noqa: B008
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Export stores, facts (Parquet), decrypted documents, contracts and the audit log,
    with a manifest of sha256 sums / 导出全部数据（无锁定）."""
    if not everything:
        fail("--all: required; the export always contains everything")
    if output is None:
        fail("-o/--output: required (a new or empty folder)")
    with command_workspace(ExportError) as ws:
        result = export_all(ws, output)
    if json_out:
        emit_json(result.as_json())
        return
    typer.echo(
        f"exported {len(result.files)} files to {output}: "
        f"{sum(result.fact_rows.values())} fact rows, {result.documents} documents; "
        f"manifest {output / 'manifest.json'}"
    )
