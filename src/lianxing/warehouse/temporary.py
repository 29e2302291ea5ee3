"""Temporary tables on an Ibis backend, with the planner statistics PostgreSQL needs.

Queries that read an intermediate result more than once store it in a temporary table.
On PostgreSQL such a table has no statistics until someone runs ``ANALYZE`` (autovacuum
never visits temporary tables), and without them the planner treats it as a handful of
rows and joins it to millions of facts by nested loops. Every temporary table of the
engine is therefore made here, analysed on creation.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import ibis.expr.types as ir
from ibis.backends import BaseBackend


def run(backend: BaseBackend, sql: str) -> None:
    """Execute one statement, discarding any result."""
    result = backend.raw_sql(sql)
    if backend.name == "postgres":  # a cursor there (on DuckDB: the connection itself)
        result.close()


def compiled(backend: BaseBackend, expr: ir.Table) -> str:
    """The SQL of ``expr``, with its in-memory tables registered first (as Ibis does before
    executing an expression), so the SQL can run on its own, e.g. inside a transaction."""
    backend._run_pre_execute_hooks(expr)
    return str(backend.compile(expr))


def create_temp_table(backend: BaseBackend, name: str, query: str | ir.Table) -> ir.Table:
    """``CREATE TEMP TABLE name AS query`` (replacing one of that name), analysed on
    PostgreSQL; the new table as an Ibis expression."""
    select = query if isinstance(query, str) else compiled(backend, query)
    run(backend, f'DROP TABLE IF EXISTS "{name}"')
    run(backend, f'CREATE TEMP TABLE "{name}" AS {select}')
    if backend.name == "postgres":
        run(backend, f'ANALYZE "{name}"')
    return backend.table(name)


def drop_table(backend: BaseBackend, name: str) -> None:
    # Backend.drop_table mis-renders temporary tables on DuckDB 2; plain SQL works on all.
    run(backend, f'DROP TABLE IF EXISTS "{name}"')


@contextmanager
def temporary_table(
    backend: BaseBackend, query: str | ir.Table, prefix: str = "lx_tmp"
) -> Iterator[ir.Table]:
    """A temporary table of ``query`` under a fresh name, dropped on leaving."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        yield create_temp_table(backend, name, query)
    finally:
        drop_table(backend, name)
