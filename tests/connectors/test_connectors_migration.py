"""Migration 0009 matches the connector models on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from lianxing.db import migrate


def test_migration_matches_models_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    migrate.upgrade(url)
    migrate.check(url)  # raises when the models and the migrated schema differ


def test_migration_matches_models_on_postgres(pg_database: str) -> None:
    migrate.upgrade(pg_database)
    migrate.check(pg_database)
