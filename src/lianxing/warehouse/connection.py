"""Connecting to the warehouse (DuckDB file or PostgreSQL schema) and creating its tables."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote, urlparse

import ibis

from lianxing.domain.facts import FACT_TABLES, ColumnType, FactTable

if TYPE_CHECKING:
    from ibis.backends import BaseBackend

    from lianxing.warehouse.writer import BatchWriter

Dialect = Literal["duckdb", "postgres"]

_SQL_TYPES: dict[Dialect, dict[ColumnType, str]] = {
    "duckdb": {
        ColumnType.STRING: "VARCHAR",
        ColumnType.INT: "BIGINT",
        ColumnType.FLOAT: "DOUBLE",
        ColumnType.MONEY: "DECIMAL(18, 4)",
        ColumnType.BOOL: "BOOLEAN",
        ColumnType.DATE: "DATE",
        ColumnType.TIMESTAMP: "TIMESTAMP",
    },
    "postgres": {
        ColumnType.STRING: "TEXT",
        ColumnType.INT: "BIGINT",
        ColumnType.FLOAT: "DOUBLE PRECISION",
        ColumnType.MONEY: "NUMERIC(18, 4)",
        ColumnType.BOOL: "BOOLEAN",
        ColumnType.DATE: "DATE",
        ColumnType.TIMESTAMP: "TIMESTAMP",
    },
}

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class WarehouseError(Exception):
    """The warehouse URL or its contents are not usable."""


def _check_identifier(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise WarehouseError(f"not a valid SQL identifier: {name!r}")
    return name


class Warehouse:
    """A connection to the fact store.

    Reads go through ``ibis`` (``table()``); writes go through ``batch()``, which merges a
    whole import batch by natural key in one transaction (see ``warehouse.writer``).
    """

    def __init__(self, backend: BaseBackend, dialect: Dialect, schema: str | None) -> None:
        self.ibis = backend
        self.dialect: Dialect = dialect
        self.schema = schema

    # -- reading ---------------------------------------------------------------------
    def table(self, name: str) -> ibis.Table:
        if name not in FACT_TABLES:
            raise WarehouseError(f"unknown fact table {name!r}")
        if self.schema is not None:
            return self.ibis.table(name, database=self.schema)
        return self.ibis.table(name)

    def qualified(self, name: str) -> str:
        """The SQL name of a fact table, schema-qualified where the backend has one."""
        _check_identifier(name)
        return f"{self.schema}.{name}" if self.schema else name

    @property
    def raw(self) -> Any:
        """The driver connection (duckdb.DuckDBPyConnection or psycopg.Connection)."""
        return self.ibis.con

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement (``?`` placeholders) on the driver connection; return its rows."""
        if self.dialect == "duckdb":
            cur = self.raw.execute(sql, list(params))
            return list(cur.fetchall()) if cur.description else []
        with self.raw.cursor() as cur:
            cur.execute(sql.replace("?", "%s") if params else sql, list(params) or None)
            return list(cur.fetchall()) if cur.description else []

    def execute_count(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one INSERT/UPDATE/DELETE (``?`` placeholders); return how many rows it touched."""
        if self.dialect == "duckdb":
            ((count,),) = self.raw.execute(sql, list(params)).fetchall()
            return int(count)
        with self.raw.cursor() as cur:
            cur.execute(sql.replace("?", "%s") if params else sql, list(params) or None)
            return int(cur.rowcount)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction on the driver connection (both drivers run in autocommit mode)."""
        self.execute("BEGIN")
        try:
            yield
        except BaseException:
            self.execute("ROLLBACK")
            raise
        self.execute("COMMIT")

    # -- schema ----------------------------------------------------------------------
    def create_table_sql(self, table: FactTable) -> str:
        types = _SQL_TYPES[self.dialect]
        cols = [
            f"{c.name} {types[c.type]}{'' if c.nullable else ' NOT NULL'}" for c in table.columns
        ]
        if self.dialect == "postgres":
            # PostgreSQL gets the natural key as primary key: it is the merge's index.
            # DuckDB does not: its ART index slows bulk loads, and the writer keeps keys unique.
            cols.append(f"PRIMARY KEY ({', '.join(table.key)})")
        return f"CREATE TABLE IF NOT EXISTS {self.qualified(table.name)} ({', '.join(cols)})"

    def sql_type(self, column_type: ColumnType) -> str:
        return _SQL_TYPES[self.dialect][column_type]

    def ensure_schema(self) -> None:
        """Create every fact table that does not exist yet (safe to run again), and the
        batch ledger (``writer``), complete from the start for tables still empty."""
        from lianxing.warehouse.writer import record_batch_rows

        with self.transaction():
            if self.schema is not None:
                self.execute(f"CREATE SCHEMA IF NOT EXISTS {_check_identifier(self.schema)}")
            for table in FACT_TABLES.values():
                self.execute(self.create_table_sql(table))
                ((empty,),) = self.execute(
                    f"SELECT count(*) = 0 FROM (SELECT 1 FROM {self.qualified(table.name)} "
                    "LIMIT 1) AS head"
                )
                if empty:
                    record_batch_rows(self, table.name, {})

    def batch(self, batch_id: str, source: str, dry_run: bool = False) -> BatchWriter:
        from lianxing.warehouse.writer import BatchWriter

        return BatchWriter(self, batch_id=batch_id, source=source, dry_run=dry_run)

    def close(self) -> None:
        self.ibis.disconnect()


def connect(url: str, *, schema: str | None = None) -> Warehouse:
    """Open the warehouse at ``url``: ``duckdb:///path``, ``duckdb://`` or ``postgresql://...``."""
    parsed = urlparse(url)
    scheme = parsed.scheme.split("+", 1)[0]
    if scheme == "duckdb":
        # As SQLAlchemy does: duckdb:///relative/path, duckdb:////absolute/path, duckdb:// = memory.
        path = unquote(url[len("duckdb://") :]).removeprefix("/")
        if path in ("", ":memory:"):
            backend = ibis.duckdb.connect()
        else:
            target = Path(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            backend = ibis.duckdb.connect(str(target))
        # Timestamps are naive UTC everywhere; pin the session zone so nothing shifts them.
        backend.con.execute("SET TimeZone = 'UTC'")
        return Warehouse(backend, "duckdb", None)
    if scheme in ("postgresql", "postgres"):
        schema = _check_identifier(schema or "facts")
        backend = ibis.postgres.connect(
            host=parsed.hostname or "localhost",
            port=parsed.port or 5432,
            user=unquote(parsed.username) if parsed.username else None,
            password=unquote(parsed.password) if parsed.password else None,
            database=(parsed.path or "/").lstrip("/") or None,
        )
        with backend.con.cursor() as cur:
            cur.execute("SET TIME ZONE 'UTC'")
        return Warehouse(backend, "postgres", schema)
    raise WarehouseError(
        f"unsupported warehouse URL {url!r}: expected duckdb:///path or postgresql://user@host/db"
    )
