"""Migration 0008 creates exactly the ``ReportSnapshot`` model's table, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect

from lianxing.db import migrate
from lianxing.db.models_reports import ReportSnapshot
from lianxing.db.session import normalise_url


def _has_table(url: str) -> list[str] | None:
    engine = create_engine(normalise_url(url))
    try:
        inspector = inspect(engine)
        if not inspector.has_table("report_snapshots"):
            return None
        return [c["name"] for c in inspector.get_columns("report_snapshots")]
    finally:
        engine.dispose()


def test_reports_migration_matches_the_model_and_downgrades(database_url: str) -> None:
    migrate.upgrade(database_url)
    assert _has_table(database_url) == [c.name for c in ReportSnapshot.__table__.columns]
    migrate.check(database_url)  # no drift between 0008 and the model
    migrate.downgrade(database_url, "0007")
    assert _has_table(database_url) is None
    migrate.upgrade(database_url)
    migrate.check(database_url)
