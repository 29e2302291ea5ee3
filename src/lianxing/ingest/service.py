"""Importing a report file into the warehouse: the one entry point the CLI, web and jobs use.

``import_file`` reads the whole file through its format, staging facts in the warehouse's
batch writer as it goes; only when the file had no problem at all does the batch merge
(one transaction, by natural key). A bad file raises ``ImportRejected`` listing its
problems and leaves the warehouse untouched, as does a crash or a killed process.

Every import, accepted, rejected or dry-run, is recorded as an ``ImportBatch`` (store,
format, file sha256, row counts, status, times, error) with an audit entry.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from lianxing.db.audit import record
from lianxing.db.models import ImportBatch, Store
from lianxing.db.models_connectors import StoreConnection
from lianxing.domain.accounts import ImportStatus
from lianxing.domain.facts import FACT_TABLES
from lianxing.domain.time import utcnow
from lianxing.ingest.buyers import buyer_salt
from lianxing.ingest.files.base import ImportContext, ReportFormat
from lianxing.ingest.files.mapping import MappingError
from lianxing.ingest.files.problems import ImportRejected
from lianxing.ingest.files.reading import Source, UnreadableFile
from lianxing.ingest.files.registry import FormatError, detect, get_format, workspace_formats
from lianxing.warehouse import BatchWriter, Warehouse, WriteStats
from lianxing.workspace import Workspace

# Sites whose Seller Central downloads write 1.234,56 (decimal comma).
_DECIMAL_COMMA_SITES = frozenset(
    {"DE", "FR", "IT", "ES", "NL", "SE", "PL", "BE", "TR", "BR", "AT", "PT", "ID", "VN"}
)
# Sites that write dates month first (09/04/2026 = 4 September).
_MONTH_FIRST_SITES = frozenset({"US", "CA", "PH"})


DUCKDB_IMPORT_MEMORY = "384MB"
# Fact chunks are handed to the writer in batches of at least this many rows: the file is
# read in small blocks (bounded memory), but every append is a statement in the warehouse.
STAGE_ROWS = 256 * 1024


class _Coalescer:
    """Collects a table's fact chunks until ``STAGE_ROWS``, then appends them as one."""

    def __init__(self, writer: BatchWriter) -> None:
        self.writer = writer
        self.pending: dict[str, list[pa.Table]] = {}
        self.rows: dict[str, int] = {}

    def add(self, table_name: str, data: pa.Table) -> None:
        self.pending.setdefault(table_name, []).append(data)
        self.rows[table_name] = self.rows.get(table_name, 0) + data.num_rows
        if self.rows[table_name] >= STAGE_ROWS:
            self.flush(table_name)

    def flush(self, table_name: str | None = None) -> None:
        for name in [table_name] if table_name else list(self.pending):
            chunks = self.pending.pop(name, [])
            self.rows.pop(name, None)
            if chunks:
                self.writer.append(name, pa.concat_tables(chunks).combine_chunks())
                del chunks
                # mimalloc/jemalloc keep freed blocks: give them back (peak RSS, not time).
                pa.default_memory_pool().release_unused()


class ImportInputError(ValueError):
    """The import cannot start: unknown store, unreadable file, unknown/unclear format."""


@dataclass
class ImportOptions:
    period_from: date | None = None  # --from/--to for reports without dates
    period_to: date | None = None
    actor: str = "cli"
    progress: Callable[[int, int], None] | None = None  # (bytes read, file size)


@dataclass
class ImportResult:
    batch_id: str
    format_id: str
    store_id: int | None
    dry_run: bool
    file_sha256: str
    rows_read: int
    tables: dict[str, WriteStats] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "format": self.format_id,
            "store": self.store_id,
            "dry_run": self.dry_run,
            "file_sha256": self.file_sha256,
            "tables": {name: stats.as_dict() for name, stats in self.tables.items()},
            "rows_read": self.rows_read,
        }


class _FileHasher(threading.Thread):
    """sha256 of the file on a second core while the import reads it."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.digest = ""

    def run(self) -> None:
        sha = hashlib.sha256()
        with open(self.path, "rb") as fh:
            while block := fh.read(4 * 1024 * 1024):
                sha.update(block)
        self.digest = sha.hexdigest()


def _writes_store_facts(fmt: ReportFormat) -> bool:
    return any("store_id" in FACT_TABLES[t].column_names for t in fmt.tables)


def mappings_dir(workspace: Workspace) -> Path:
    """The workspace's own mapping files: ``<LIANXING_HOME>/mappings/<format id>.yaml``."""
    return workspace.settings.home_dir / "mappings"


def resolve_format(
    source: Source,
    fmt: str | ReportFormat | None,
    mappings: Path | None = None,
) -> ReportFormat:
    """``fmt`` itself when it is a format object (``--mapping``: no detection), the format
    with that id, or the one detected from the file; among the shipped formats with the
    mapping files in ``mappings`` applied.
    """
    if isinstance(fmt, ReportFormat):
        return fmt
    try:
        available = workspace_formats(mappings) if mappings is not None else None
        return get_format(fmt, available) if fmt else detect(source.head, available)
    except (FormatError, MappingError) as exc:
        raise ImportInputError(str(exc)) from exc


def import_file(
    workspace: Workspace,
    path: Path,
    store_id: int | None,
    format_id: str | ReportFormat | None = None,
    dry_run: bool = False,
    options: ImportOptions | None = None,
) -> ImportResult:
    """Validate and import ``path`` for ``store_id``; see the module docstring.

    ``format_id`` is a format id, a format object (e.g. ``mapping.load_format(path)`` for
    ``--mapping``), or None to detect it.

    :raises ImportInputError: the import could not start (nothing recorded).
    :raises ImportRejected: the file has problems (batch recorded as failed, no facts).
    """
    options = options or ImportOptions()
    if not path.is_file():
        raise ImportInputError(f"{path}: no such file / 文件不存在")
    try:
        source = Source(path)
    except UnreadableFile as exc:
        raise ImportInputError(str(exc)) from exc
    fmt = resolve_format(source, format_id, mappings_dir(workspace))
    if fmt.needs_period and (options.period_from is None or options.period_to is None):
        raise ImportInputError(
            f"{path.name}: {fmt.id} has no dates in it; give the period it covers with "
            "--from YYYY-MM-DD --to YYYY-MM-DD / 该报表不含日期，请用 --from/--to 指定期间"
        )
    if options.period_from and options.period_to and options.period_from > options.period_to:
        raise ImportInputError("--from must not be after --to / 开始日期不能晚于结束日期")

    with workspace.session() as session:
        store = session.get(Store, store_id) if store_id is not None else None
        if store_id is not None and store is None:
            raise ImportInputError(f"--store: no store with id {store_id} / 店铺不存在")
        if store is None and _writes_store_facts(fmt):
            raise ImportInputError(f"--store is required for {fmt.id} / 请用 --store 指定店铺")
        if store is not None and fmt.id in _SETTLEMENT_FORMATS:
            _refuse_money_twice(session, store.id, path.name, fmt.id)
        site = store.site.upper() if store else ""
        ctx = ImportContext(
            file=path.name,
            store_id=store.id if store else 0,
            timezone=store.timezone if store else "UTC",
            currency=store.currency if store else "USD",
            site=site or None,
            decimal_comma=site in _DECIMAL_COMMA_SITES,
            day_first=site not in _MONTH_FIRST_SITES,
            period_from=options.period_from,
            period_to=options.period_to,
            buyer_salt=buyer_salt(workspace),
            marketplace_id=store.marketplace_id if store else None,
        )

    batch_id = str(uuid.uuid4())
    source_label = f"file:{fmt.id}"
    with workspace.session() as session:
        session.add(
            ImportBatch(
                id=batch_id,
                store_id=store_id,
                source=source_label,
                file_name=path.name,
                status=ImportStatus.RUNNING.value,
                started_at=utcnow(),
            )
        )

    hasher = _FileHasher(path)
    hasher.start()
    if options.progress is not None:
        report = options.progress
        source.on_progress = lambda done: report(done, source.size)
    try:
        with (
            _import_settings(workspace.warehouse),
            workspace.warehouse.batch(batch_id, source_label, dry_run=dry_run) as writer,
        ):
            staging = _Coalescer(writer)
            for table_name, data in fmt.parse(source, ctx):
                if not ctx.problems:  # keep validating, stop staging
                    staging.add(table_name, data)
            if ctx.problems:
                raise ImportRejected(ctx.problems)
            staging.flush()
    except BaseException as exc:
        hasher.join()
        _finish(workspace, batch_id, hasher.digest, ctx.rows_read, {}, exc, options.actor, fmt)
        raise
    hasher.join()
    result = ImportResult(
        batch_id=batch_id,
        format_id=fmt.id,
        store_id=store_id,
        dry_run=dry_run,
        file_sha256=hasher.digest,
        rows_read=ctx.rows_read,
        tables={name: writer.stats.get(name, WriteStats()) for name in fmt.tables},
    )
    _finish(
        workspace,
        batch_id,
        hasher.digest,
        ctx.rows_read,
        result.tables,
        None,
        options.actor,
        fmt,
        dry_run=dry_run,
    )
    if not dry_run and store_id is not None:
        # Here, not at the top: the KPI engine is a heavy import most imports never need.
        from lianxing.metrics.compiler import StoreInfo
        from lianxing.metrics.service import keep_cubes_in_step

        keep_cubes_in_step(
            workspace.warehouse,
            [StoreInfo(store_id, ctx.timezone, ctx.currency)],
            result.tables,
        )
    return result


# Amazon files carrying refunds and fees that the Finances API also delivers, under other keys.
_SETTLEMENT_FORMATS = frozenset(
    {"amazon.settlement_v2", "amazon.settlement_flat", "amazon.date_range"}
)


def _refuse_money_twice(session: Session, store_id: int, file: str, format_id: str) -> None:
    """A store whose SP-API connection reads refunds and fees from the Finances API
    (``money_stream=finances``) takes no settlement or Date Range file: the same money
    would be counted twice (the two carry different keys, so nothing would merge)."""
    connection = session.scalar(
        select(StoreConnection).where(
            StoreConnection.store_id == store_id, StoreConnection.connector == "amazon_sp"
        )
    )
    if connection is not None and (connection.account or {}).get("money_stream") == "finances":
        raise ImportInputError(
            f"{file}: store {store_id} reads refunds and fees from Amazon's Finances API "
            f"(money_stream=finances); importing {format_id} would count that money twice. "
            "Reconnect with --account money_stream=settlements to import settlement files "
            f"/ 店铺 {store_id} 已通过 Finances API 同步退款和费用，再导入结算文件会重复计算；"
            "如需导入，请改用 money_stream=settlements 重新连接"
        )


@contextmanager
def _import_settings(warehouse: Warehouse) -> Iterator[None]:
    """On DuckDB, bounded memory whatever the file size (staged rows spill to disk beyond
    ``DUCKDB_IMPORT_MEMORY``; the merge need not keep insertion order), for the import
    only: a long-lived connection (the web app's) is back on DuckDB's defaults afterwards
    (nothing in Lianxing sets them otherwise; DuckDB only shows a rounded memory_limit,
    so a value cannot be restored exactly).
    """
    if warehouse.dialect != "duckdb":
        yield
        return
    warehouse.execute(f"SET memory_limit = '{DUCKDB_IMPORT_MEMORY}'")
    warehouse.execute("SET preserve_insertion_order = false")
    try:
        yield
    finally:
        warehouse.execute("RESET memory_limit")
        warehouse.execute("RESET preserve_insertion_order")


def _finish(
    workspace: Workspace,
    batch_id: str,
    sha256: str,
    rows_read: int,
    tables: dict[str, WriteStats],
    error: BaseException | None,
    actor: str,
    fmt: ReportFormat,
    *,
    dry_run: bool = False,
) -> None:
    if isinstance(error, KeyboardInterrupt | SystemExit):
        return  # leave the batch "running": it was interrupted, not judged
    if error is None:
        status = ImportStatus.DRY_RUN if dry_run else ImportStatus.SUCCEEDED
    else:
        status = ImportStatus.FAILED
    message = None
    if error is not None:
        message = (
            str(error) if isinstance(error, ImportRejected) else f"{type(error).__name__}: {error}"
        )
    with workspace.session() as session:
        batch = session.get(ImportBatch, batch_id)
        assert batch is not None
        batch.file_sha256 = sha256 or None
        batch.rows_read = rows_read
        batch.rows_new = sum(s.new for s in tables.values())
        batch.rows_updated = sum(s.updated for s in tables.values())
        batch.rows_unchanged = sum(s.unchanged for s in tables.values())
        batch.status = status.value
        batch.finished_at = utcnow()
        batch.error = message
        record(
            session,
            actor=actor,
            action=f"import.{status.value}",
            entity="import_batch",
            entity_id=batch_id,
            data={
                "store_id": batch.store_id,
                "format": fmt.id,
                "file": batch.file_name,
                "file_sha256": sha256,
                "rows_read": rows_read,
                "tables": {name: s.as_dict() for name, s in tables.items()},
                "error": message.splitlines()[0] if message else None,
            },
        )
