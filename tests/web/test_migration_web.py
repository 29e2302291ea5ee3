"""Migration 0006 creates exactly the tables of models_web, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, inspect

from lianxing.db import migrate
from lianxing.db.session import normalise_url

WEB_TABLES = {"web_sessions", "api_tokens", "login_attempts"}


def _check(url: str) -> None:
    migrate.upgrade(url)
    migrate.check(url)  # raises if the models and the migrations differ
    engine = create_engine(normalise_url(url))
    try:
        assert set(inspect(engine).get_table_names()) >= WEB_TABLES
        uniques = {u["name"] for u in inspect(engine).get_unique_constraints("api_tokens")}
        assert "uq_api_tokens_token_sha256" in uniques
    finally:
        engine.dispose()


def test_migration_on_sqlite(tmp_path: Path) -> None:
    _check(f"sqlite:///{tmp_path / 'app.sqlite3'}")


def test_migration_on_postgres(pg_database: str) -> None:
    _check(pg_database)
