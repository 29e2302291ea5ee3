"""Migration 0002 creates exactly the ``Target`` model's table, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect

import lianxing.db.models_targets  # registers the table on Base.metadata for the check
from lianxing.db import migrate
from lianxing.db.session import normalise_url


def _columns(url: str) -> list[str]:
    engine = create_engine(normalise_url(url))
    try:
        return [c["name"] for c in inspect(engine).get_columns("targets")]
    finally:
        engine.dispose()


def test_targets_migration_matches_the_model_and_downgrades(database_url: str) -> None:
    migrate.upgrade(database_url)
    assert _columns(database_url) == [
        c.name for c in lianxing.db.models_targets.Target.__table__.columns
    ]
    migrate.check(database_url)  # no drift between 0002 and the model
    migrate.downgrade(database_url, "0001")
    engine = create_engine(normalise_url(database_url))
    try:
        assert not inspect(engine).has_table("targets")
    finally:
        engine.dispose()
    migrate.upgrade(database_url)
    migrate.check(database_url)
