"""``lianxing import FILE --store ID [--format ID | --mapping FILE] [--dry-run] [--json]``."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn
from rich.table import Table

from lianxing.alerts.service import evaluate
from lianxing.cli.common import (
    EXIT_BAD_INPUT,
    command_workspace,
    emit_json,
    fail,
    fail_all,
    parse_date,
)
from lianxing.cli.root import app
from lianxing.ingest.files.base import ReportFormat
from lianxing.ingest.files.mapping import MappingError, load_format
from lianxing.ingest.files.problems import ImportRejected
from lianxing.ingest.files.registry import formats
from lianxing.ingest.service import ImportInputError, ImportOptions, ImportResult, import_file

# Show a progress bar for files at least this big even when stderr is not a terminal.
LARGE_FILE_BYTES = 256 * 1024 * 1024


@contextmanager
def _progress(path: Path) -> Iterator[Callable[[int, int], None] | None]:
    size = path.stat().st_size
    if not (sys.stderr.isatty() or size >= LARGE_FILE_BYTES):
        yield None
        return
    console = Console(stderr=True)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(f"导入 / importing {path.name}", total=size)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _print_result(result: ImportResult) -> None:
    console = Console()
    title = "试运行 / dry run (nothing written)" if result.dry_run else "导入完成 / imported"
    table = Table("表 Table", "新增 New", "更新 Updated", "未变 Unchanged", title=title)
    for name, stats in result.tables.items():
        table.add_row(name, str(stats.new), str(stats.updated), str(stats.unchanged))
    console.print(table)
    console.print(
        f"{result.format_id}, {result.rows_read} rows read / 读取行数, batch {result.batch_id}"
    )


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="report file (CSV, TSV, XLSX, JSON, .gz)")],
    store: int | None = typer.Option(None, "--store", help="store id / 店铺 ID"),
    format_id: str | None = typer.Option(
        None, "--format", help="report format id; detected from the file when omitted"
    ),
    mapping: Annotated[
        Path | None,
        typer.Option(
            "--mapping",
            help="column-mapping YAML to read the file with (docs/import-mappings.md) / 列映射文件",
        ),
    ] = None,
    date_from: str | None = typer.Option(
        None, "--from", help="first day the report covers (reports without dates), YYYY-MM-DD"
    ),
    date_to: str | None = typer.Option(None, "--to", help="last day the report covers"),
    dry_run: bool = typer.Option(False, "--dry-run", help="validate and count, write nothing"),
    as_json: bool = typer.Option(False, "--json", help="print the result as one JSON object"),
    list_formats: bool = typer.Option(False, "--list-formats", help="list formats and exit"),
) -> None:
    """Import a report file. 导入报表文件

    Bad input rejects the whole file: one line per problem (file, line, column, value,
    what was expected), exit code 2, nothing written.
    """
    if list_formats:
        for known in formats().values():
            print(f"{known.id}\t{known.name_zh} / {known.name_en}")
        return
    period_from = parse_date(date_from, "--from")
    period_to = parse_date(date_to, "--to")
    fmt: str | ReportFormat | None = format_id
    if mapping is not None:
        if format_id is not None:
            fail("give either --format or --mapping, not both / --format 与 --mapping 只能选一个")
        try:
            fmt = load_format(mapping)
        except MappingError as exc:
            _fail_lines(str(exc))
    with command_workspace() as ws:
        try:
            with _progress(file) if file.is_file() else _no_progress() as progress:
                result = import_file(
                    ws,
                    file,
                    store,
                    format_id=fmt,
                    dry_run=dry_run,
                    options=ImportOptions(
                        period_from=period_from, period_to=period_to, progress=progress
                    ),
                )
            # Rules evaluate after every import, as the upload job does for the web app.
            alerts = None if dry_run else evaluate(ws, store_id=store, actor="cli:import")
        except ImportInputError as exc:
            _fail_lines(str(exc))
        except ImportRejected as exc:
            lines = exc.problems.lines()
            print(
                f"error: {file.name} rejected, nothing imported / 文件有误，未导入 "
                f"({exc.problems.count} problem(s)):",
                file=sys.stderr,
            )
            for line in lines:
                print(f"  {line}", file=sys.stderr)
            raise typer.Exit(EXIT_BAD_INPUT) from None
    if as_json:
        emit_json({**result.as_json(), "alerts": alerts.as_json() if alerts else None})
    else:
        _print_result(result)


@contextmanager
def _no_progress() -> Iterator[None]:
    yield None


def _fail_lines(message: str) -> NoReturn:
    """``fail`` for a message of several problems: one ``error:`` line each, exit 2."""
    fail_all(message.splitlines() or [message])
