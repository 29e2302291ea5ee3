"""``lianxing metrics list|validate|docs``: the KPI definitions. KPI 定义"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from lianxing.cli.common import EXIT_BAD_INPUT, emit_json
from lianxing.cli.root import app
from lianxing.config import Settings
from lianxing.metrics.docs import render_kpi_docs
from lianxing.metrics.loader import load_files
from lianxing.metrics.service import catalog_for

DEFAULT_DOCS = Path("docs/kpis.md")
metrics_app = typer.Typer(help="KPI 定义 / KPI definitions", no_args_is_help=True)
app.add_typer(metrics_app, name="metrics")


def _home() -> Path:
    return Settings().home_dir


@metrics_app.command("list")
def metrics_list(
    as_json: bool = typer.Option(False, "--json", help='print {"kpis": [...]}'),
) -> None:
    """List KPI definitions with their versions (hashes). 列出 KPI 定义及版本"""
    catalog = catalog_for(_home())
    if as_json:
        emit_json(
            {
                "kpis": [
                    {
                        "id": d.id,
                        "name": {"zh": d.name.zh, "en": d.name.en},
                        "unit": d.unit.value,
                        "direction": d.direction.value,
                        "kind": d.kind.value,
                        "formula": d.formula_source,
                        "options": dict(d.options),
                        "hash": d.content_hash,
                        "source": d.source,
                    }
                    for d in catalog.definitions.values()
                ],
                "issues": [str(i) for i in catalog.issues],
            }
        )
    else:
        table = Table("ID", "名称 Name", "单位 Unit", "版本 Version")
        for d in catalog.definitions.values():
            table.add_row(d.id, d.name.both(), d.unit.value, d.short_hash)
        Console().print(table)
    for issue in catalog.issues:
        print(f"error: {issue}", file=sys.stderr)
    if catalog.issues:
        raise typer.Exit(EXIT_BAD_INPUT)


@metrics_app.command("validate")
def metrics_validate(
    files: list[Path] | None = typer.Argument(  # noqa: B008 - Typer declares arguments this way
        None, help="definition files; default: shipped + workspace"
    ),
) -> None:
    """Check KPI definitions; print every problem with file and line. 校验 KPI 定义"""
    catalog = load_files(files) if files else catalog_for(_home())
    for issue in catalog.issues:
        print(f"error: {issue}", file=sys.stderr)
    if catalog.issues:
        raise typer.Exit(EXIT_BAD_INPUT)
    print(f"{len(catalog.definitions)} 个定义有效 / definitions valid")


@metrics_app.command("docs")
def metrics_docs(
    output: Path = typer.Option(  # noqa: B008 - a Path option
        DEFAULT_DOCS, "-o", "--output", help="file to write ('-' = stdout)"
    ),
) -> None:
    """Write docs/kpis.md from the shipped definitions. 生成 KPI 文档"""
    from lianxing.metrics.loader import load_catalog

    text = render_kpi_docs(load_catalog().require_valid())
    if str(output) == "-":
        sys.stdout.write(text)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    print(f"wrote {output}")
