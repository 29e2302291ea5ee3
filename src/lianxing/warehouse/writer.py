"""Idempotent batch writes into the fact tables.

An import batch is staged first (temporary tables, one per fact table, outside any
transaction), then merged into the fact tables in ONE transaction:

1. duplicates inside the batch are collapsed by natural key, the row appended last wins;
2. rows identical to what is stored (every value column ``IS NOT DISTINCT FROM``) are
   left alone, so re-importing the same file changes nothing, not even ``batch_id``;
3. new and changed rows replace stored rows by key (delete + insert).

A failure anywhere, or a killed process, leaves the fact tables as they were: the merge
commits all tables at once or not at all.

In the same transaction the writer keeps the *batch ledger* (``lx_batch_rows``): how many
rows of each fact table each batch last wrote. Derived tables (the KPI engine's order
cube) compare it with what they were built from to learn what changed, without scanning
the facts. A table's ledger is complete once it holds the table's marker row; the first
write to a table without one counts the table's rows afresh.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

from lianxing.domain.facts import FACT_TABLES, META_COLUMNS, FactTable

if TYPE_CHECKING:
    from lianxing.warehouse.connection import Warehouse

_SEQ = "_lx_seq"
BATCH_ROWS_TABLE = "lx_batch_rows"
BATCH_ROWS_COLUMNS = "fact VARCHAR(64), batch_id VARCHAR(256), row_count BIGINT"
# Marker row of a fact table whose ledger counts every one of its rows.
LEDGER_COMPLETE = "__complete__"


@dataclass(frozen=True, slots=True)
class WriteStats:
    new: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.new + self.updated + self.unchanged

    def as_dict(self) -> dict[str, int]:
        return {"new": self.new, "updated": self.updated, "unchanged": self.unchanged}


class BatchWriter:
    """Collects rows for one batch; merges them on ``__exit__`` (see the module docstring)."""

    def __init__(self, warehouse: Warehouse, *, batch_id: str, source: str, dry_run: bool) -> None:
        self.warehouse = warehouse
        self.batch_id = batch_id
        self.source = source
        self.dry_run = dry_run
        self.stats: dict[str, WriteStats] = {}
        self._staged: dict[str, str] = {}  # fact table -> staging table name
        self._next_seq = 0
        self._closed = False

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self.stats = self._merge()
        finally:
            self._drop_staging()
            self._closed = True

    # -- staging ---------------------------------------------------------------------
    def append(
        self, table_name: str, data: pa.Table | pa.RecordBatch | Sequence[Mapping[str, Any]]
    ) -> int:
        """Stage rows for ``table_name``; returns how many were staged."""
        if self._closed:
            raise RuntimeError("this batch has already been written")
        table = FACT_TABLES.get(table_name)
        if table is None:
            raise ValueError(f"unknown fact table {table_name!r}")
        arrow = _to_arrow(table, data)
        if arrow.num_rows == 0:
            return 0
        stage = self._staged.get(table_name) or self._create_stage(table)
        # Number rows in append order, so that of two rows with one key the last one wins.
        start, self._next_seq = self._next_seq, self._next_seq + arrow.num_rows
        seq = pa.array(np.arange(start, self._next_seq, dtype=np.int64))
        self._load(stage, table, arrow.append_column(_SEQ, seq))
        return int(arrow.num_rows)

    def _create_stage(self, table: FactTable) -> str:
        wh = self.warehouse
        stage = f"_lx_stage_{table.name}"
        cols = [
            f"{c.name} {wh.sql_type(c.type)}" for c in table.columns if c.name not in META_COLUMNS
        ]
        cols.append(f"{_SEQ} BIGINT")
        wh.execute(f"DROP TABLE IF EXISTS {stage}")
        wh.execute(f"CREATE TEMP TABLE {stage} ({', '.join(cols)})")
        self._staged[table.name] = stage
        return stage

    def _load(self, stage: str, table: FactTable, arrow: pa.Table) -> None:
        wh = self.warehouse
        names = [*[c for c in table.column_names if c not in META_COLUMNS], _SEQ]
        if wh.dialect == "duckdb":
            view = f"{stage}_in"
            wh.raw.register(view, arrow)
            try:
                wh.execute(
                    f"INSERT INTO {stage} ({', '.join(names)}) "
                    f"SELECT {', '.join(names)} FROM {view}"
                )
            finally:
                wh.raw.unregister(view)
        else:
            # COPY in CSV, written by Arrow: no Python object per value. Arrow quotes every
            # string and leaves NULL as an unquoted empty field, which is NULL to COPY.
            buffer = io.BytesIO()
            pa_csv.write_csv(
                arrow.select(names),
                buffer,
                write_options=pa_csv.WriteOptions(include_header=False, quoting_style="needed"),
            )
            with (
                wh.raw.cursor() as cur,
                cur.copy(f"COPY {stage} ({', '.join(names)}) FROM STDIN (FORMAT csv)") as copy,
            ):
                copy.write(buffer.getbuffer())

    def _drop_staging(self) -> None:
        for stage in self._staged.values():
            # Cleanup must not hide the error that brought us here.
            with contextlib.suppress(Exception):
                self.warehouse.execute(f"DROP TABLE IF EXISTS {stage}")
        self._staged.clear()

    # -- merging ---------------------------------------------------------------------
    def _merge(self) -> dict[str, WriteStats]:
        wh = self.warehouse
        stats: dict[str, WriteStats] = {}
        if not self._staged:
            return stats
        wh.execute("BEGIN")
        try:
            for name, stage in self._staged.items():
                stats[name] = self._merge_table(FACT_TABLES[name], stage)
            if self.dry_run:
                wh.execute("ROLLBACK")
            else:
                wh.execute("COMMIT")
        except BaseException:
            wh.execute("ROLLBACK")
            raise
        if wh.dialect == "postgres" and not self.dry_run:
            # Statistics after a bulk load, as autovacuum would later: a table without them
            # is planned as if it had a handful of rows (nested loops over thousands).
            for name, written in stats.items():
                if written.new or written.updated:
                    wh.execute(f"ANALYZE {wh.qualified(name)}")
        return stats

    def _deduplicated(self, table: FactTable, stage: str, data_cols: list[str]) -> str:
        """The staged rows with one row per key (the last appended); a table name."""
        wh = self.warehouse
        key = ", ".join(table.key)
        ((duplicated,),) = wh.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM {stage} GROUP BY {key} HAVING count(*) > 1) d"
        )
        if not duplicated:
            return stage  # the common case: keys already unique, nothing to collapse
        dedup = f"{stage}_dedup"
        wh.execute(f"DROP TABLE IF EXISTS {dedup}")
        wh.execute(
            f"CREATE TEMP TABLE {dedup} AS {_dedup_sql(wh.dialect, table, stage, data_cols)}"
        )
        return dedup

    def _merge_table(self, table: FactTable, stage: str) -> WriteStats:
        wh = self.warehouse
        target = wh.qualified(table.name)
        data_cols = [c for c in table.column_names if c not in META_COLUMNS]
        dedup = self._deduplicated(table, stage, data_cols)
        changed = f"{stage}_changed"
        on = " AND ".join(f"s.{k} = t.{k}" for k in table.key)
        same = " AND ".join(f"s.{c} IS NOT DISTINCT FROM t.{c}" for c in table.value_columns)
        cols = ", ".join(data_cols)
        s_cols = ", ".join(f"s.{c}" for c in data_cols)
        ((total,),) = wh.execute(f"SELECT count(*) FROM {dedup}")
        # Stored rows this batch changes. Computed before the new rows go in, so that it
        # holds existing keys only; new keys need no comparison (most of a first import).
        wh.execute(f"DROP TABLE IF EXISTS {changed}")
        wh.execute(
            f"CREATE TEMP TABLE {changed} AS SELECT {s_cols} FROM {dedup} s "
            f"JOIN {target} t ON {on} WHERE " + (f"NOT ({same})" if same else "FALSE")
        )
        ((updated,),) = wh.execute(f"SELECT count(*) FROM {changed}")
        new = wh.execute_count(
            f"INSERT INTO {target} ({cols}, source, batch_id) SELECT {s_cols}, ?, ? "
            f"FROM {dedup} s WHERE NOT EXISTS (SELECT 1 FROM {target} t WHERE {on})",
            (self.source, self.batch_id),
        )
        replaced: list[tuple[Any, ...]] = []
        if updated:
            on_changed = " AND ".join(f"c.{k} = {target}.{k}" for k in table.key)
            on_ct = " AND ".join(f"c.{k} = t.{k}" for k in table.key)
            # The batches that wrote the rows about to be replaced lose them in the ledger.
            replaced = wh.execute(
                f"SELECT t.batch_id, count(*) FROM {changed} c JOIN {target} t ON {on_ct} "
                "GROUP BY t.batch_id"
            )
            wh.execute(
                f"DELETE FROM {target} WHERE EXISTS (SELECT 1 FROM {changed} c WHERE {on_changed})"
            )
            wh.execute(
                f"INSERT INTO {target} ({cols}, source, batch_id) SELECT {cols}, ?, ? "
                f"FROM {changed}",
                (self.source, self.batch_id),
            )
        wh.execute(f"DROP TABLE IF EXISTS {changed}")
        if dedup != stage:
            wh.execute(f"DROP TABLE IF EXISTS {dedup}")
        if new or updated:
            moved = {str(batch): -int(n) for batch, n in replaced}
            moved[self.batch_id] = moved.get(self.batch_id, 0) + new + int(updated)
            record_batch_rows(wh, table.name, moved)
        return WriteStats(new=new, updated=int(updated), unchanged=int(total) - new - int(updated))


def record_batch_rows(warehouse: Warehouse, fact: str, changes: Mapping[str, int]) -> None:
    """Add ``changes`` (batch -> rows gained or lost) to ``fact``'s ledger, or, where the
    ledger of ``fact`` is not complete, count the table's rows per batch afresh."""
    wh = warehouse
    ledger = _ledger(wh)
    ((complete,),) = wh.execute(
        f"SELECT count(*) FROM {ledger} WHERE fact = ? AND batch_id = ?", (fact, LEDGER_COMPLETE)
    )
    if not complete:
        recount_batch_rows(wh, fact)
        return
    for batch_id, delta in changes.items():
        if delta and not wh.execute_count(
            f"UPDATE {ledger} SET row_count = row_count + ? WHERE fact = ? AND batch_id = ?",
            (delta, fact, batch_id),
        ):
            wh.execute(f"INSERT INTO {ledger} VALUES (?, ?, ?)", (fact, batch_id, delta))
    wh.execute(
        f"DELETE FROM {ledger} WHERE fact = ? AND row_count = 0 AND batch_id <> ?",
        (fact, LEDGER_COMPLETE),
    )


def recount_batch_rows(warehouse: Warehouse, fact: str) -> None:
    """Count ``fact``'s rows per batch afresh into the ledger (after rows were changed
    outside the writer); run it inside a transaction."""
    wh = warehouse
    ledger = _ledger(wh)
    wh.execute(f"DELETE FROM {ledger} WHERE fact = ?", (fact,))
    wh.execute(
        f"INSERT INTO {ledger} SELECT ?, batch_id, count(*) FROM {wh.qualified(fact)} "
        "GROUP BY batch_id",
        (fact,),
    )
    wh.execute(f"INSERT INTO {ledger} VALUES (?, ?, 0)", (fact, LEDGER_COMPLETE))


def _ledger(warehouse: Warehouse) -> str:
    ledger = warehouse.qualified(BATCH_ROWS_TABLE)
    warehouse.execute(f"CREATE TABLE IF NOT EXISTS {ledger} ({BATCH_ROWS_COLUMNS})")
    return ledger


def _dedup_sql(dialect: str, table: FactTable, stage: str, data_cols: list[str]) -> str:
    key = ", ".join(table.key)
    if dialect == "duckdb":
        # A hash aggregate: far cheaper than DISTINCT ON's sort on millions of rows.
        # arg_max_null keeps a NULL when the last row's value is NULL.
        picks = ", ".join(
            f"arg_max_null({c}, {_SEQ}) AS {c}" for c in data_cols if c not in table.key
        )
        return f"SELECT {key}, {picks} FROM {stage} GROUP BY {key}"
    return (
        f"SELECT DISTINCT ON ({key}) {', '.join(data_cols)} "
        f"FROM {stage} ORDER BY {key}, {_SEQ} DESC"
    )


def _to_arrow(
    table: FactTable, data: pa.Table | pa.RecordBatch | Sequence[Mapping[str, Any]]
) -> pa.Table:
    """Select the table's columns in order; absent nullable columns become NULL."""
    if isinstance(data, pa.RecordBatch):
        data = pa.Table.from_batches([data])
    if not isinstance(data, pa.Table):
        rows = list(data)
        # from_pylist takes its columns from the first row only; use every row's keys.
        names = list(dict.fromkeys(k for row in rows for k in row))
        data = pa.Table.from_pydict({n: [row.get(n) for row in rows] for n in names})
    present = set(data.column_names)
    unknown = present - set(table.column_names)
    if unknown:
        raise ValueError(f"{table.name}: unknown columns {sorted(unknown)}")
    columns = []
    names = []
    for col in table.columns:
        if col.name in META_COLUMNS:
            continue
        if col.name in present:
            columns.append(data.column(col.name))
        elif col.nullable:
            columns.append(pa.nulls(data.num_rows))
        else:
            raise ValueError(f"{table.name}: required column {col.name!r} is missing")
        names.append(col.name)
    return pa.Table.from_arrays(columns, names=names)
