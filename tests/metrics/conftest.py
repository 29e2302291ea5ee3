"""Fixtures of the KPI engine tests: the hand-made facts of kpi_facts.py on both backends."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from kpi_facts import FACTS, load_facts

from lianxing.warehouse import Warehouse, connect

PG_URL = os.environ.get("LIANXING_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _require_pg() -> None:
    try:
        with psycopg.connect(PG_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL unreachable at {PG_URL} under CI: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {PG_URL}: {exc}")


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Warehouse]:
    """The hand-made facts, on DuckDB and on PostgreSQL (the conformance suite).

    Module-scoped and read-only: loading once per backend keeps the suite fast. Tests that
    write use the function-scoped ``warehouse`` fixture instead.
    """
    if request.param == "duckdb":
        wh = connect(f"duckdb:///{tmp_path_factory.mktemp('kpi') / 'wh.duckdb'}")
        schema = None
    else:
        _require_pg()
        schema = f"lx_test_{uuid.uuid4().hex[:12]}"
        wh = connect(PG_URL, schema=schema)
    wh.ensure_schema()
    load_facts(wh, FACTS)
    try:
        yield wh
    finally:
        if schema is not None:
            wh.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        wh.close()
