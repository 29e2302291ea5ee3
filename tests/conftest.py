"""Shared fixtures: real DuckDB and PostgreSQL, never mocks.

PostgreSQL is the server on 127.0.0.1:5432 (trust auth, user postgres, database ``test``;
override with ``LIANXING_TEST_PG_URL``). Each test gets its own schema or database and drops
it afterwards. Locally an unreachable server skips the PostgreSQL variants; under CI=true it
fails them, so CI can never pass without having run them.

Tests may run in parallel processes (pytest-xdist): nothing here is shared between tests but
the servers; database and schema names are random, files are under each test's tmp_path.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from lianxing.config import Settings
from lianxing.warehouse import Warehouse, connect
from lianxing.workspace import Workspace, init_workspace, open_workspace

PG_URL = os.environ.get("LIANXING_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_available() -> str | None:
    try:
        with psycopg.connect(PG_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None


_PG_PROBLEM = _pg_available()


def require_pg() -> None:
    if _PG_PROBLEM is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL unreachable at {PG_URL} under CI: {_PG_PROBLEM}")
    pytest.skip(f"PostgreSQL unreachable at {PG_URL}: {_PG_PROBLEM}")


@pytest.fixture
def pg_url() -> str:
    require_pg()
    return PG_URL


def _db_url(name: str) -> str:
    base, _, _ = PG_URL.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database; its URL."""
    require_pg()
    name = f"lx_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _db_url(name)
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Warehouse]:
    """A fresh warehouse with every fact table, on DuckDB and on PostgreSQL."""
    if request.param == "duckdb":
        wh = connect(f"duckdb:///{tmp_path / 'wh.duckdb'}")
        wh.ensure_schema()
        try:
            yield wh
        finally:
            wh.close()
        return
    require_pg()
    schema = f"lx_test_{uuid.uuid4().hex[:12]}"
    wh = connect(PG_URL, schema=schema)
    wh.ensure_schema()
    try:
        yield wh
    finally:
        wh.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        wh.close()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty application database, on SQLite and on PostgreSQL (migration tests)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'app.sqlite3'}"
    url: str = request.getfixturevalue("pg_database")
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def workspace_settings(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    """Settings of a not-yet-initialised workspace, exported to the environment as well,
    so CLI commands run in the test see the same workspace."""
    home = tmp_path / "ws"
    monkeypatch.setenv("LIANXING_HOME", str(home))
    for var in ("LIANXING_DATABASE_URL", "LIANXING_WAREHOUSE_URL", "LIANXING_QUEUE_URL"):
        monkeypatch.delenv(var, raising=False)
    if request.param == "sqlite":
        yield Settings(home=home)
        return
    dbs = request.getfixturevalue("pg_database")
    monkeypatch.setenv("LIANXING_DATABASE_URL", dbs)
    monkeypatch.setenv("LIANXING_WAREHOUSE_URL", dbs)
    yield Settings(home=home, database_url=dbs, warehouse_url=dbs)


@pytest.fixture(scope="session")
def initialised_sqlite_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The home of a workspace (SQLite + DuckDB) initialised once per test process."""
    home = tmp_path_factory.mktemp("initialised-sqlite") / "ws"
    init_workspace(Settings(home=home, database_url=None, warehouse_url=None, queue_url=None))
    return home


@pytest.fixture
def workspace(request: pytest.FixtureRequest, workspace_settings: Settings) -> Iterator[Workspace]:
    """An initialised workspace (SQLite + DuckDB, or PostgreSQL for both).

    On SQLite + DuckDB a copy of the files of one initialised for this test process:
    initialising runs every migration from nothing, most of its time in SQLite's DDL
    (0.25 s of each test's setup; the copy takes 0.06 s). On PostgreSQL each test initialises
    its own database: copying one (CREATE DATABASE ... TEMPLATE) measured no faster.
    `lianxing init` itself is tested in tests/foundation."""
    if workspace_settings.database_url is None:
        initialised = request.getfixturevalue("initialised_sqlite_workspace")
        shutil.copytree(initialised, workspace_settings.home_dir, dirs_exist_ok=True)
    else:
        init_workspace(workspace_settings)
    ws = open_workspace(workspace_settings)
    try:
        yield ws
    finally:
        ws.close()
