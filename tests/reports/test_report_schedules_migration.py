"""Migration 0011 creates exactly the report-schedule models' tables, on SQLite and
PostgreSQL, and drops them on downgrade."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect

from lianxing.db import migrate
from lianxing.db.models_report_schedules import ReportSchedule, ReportScheduleRun
from lianxing.db.session import normalise_url


def _columns(url: str) -> dict[str, list[str]]:
    engine = create_engine(normalise_url(url))
    try:
        inspector = inspect(engine)
        return {
            name: [c["name"] for c in inspector.get_columns(name)]
            for name in ("report_schedules", "report_schedule_runs", "report_snapshots")
            if inspector.has_table(name)
        }
    finally:
        engine.dispose()


def test_schedule_migration_matches_the_models_and_downgrades(database_url: str) -> None:
    migrate.upgrade(database_url)
    tables = _columns(database_url)
    assert tables["report_schedules"] == [c.name for c in ReportSchedule.__table__.columns]
    assert tables["report_schedule_runs"] == [c.name for c in ReportScheduleRun.__table__.columns]
    migrate.check(database_url)  # no drift between 0011 and the models
    migrate.downgrade(database_url, "0010")
    assert not {"report_schedules", "report_schedule_runs"} & set(_columns(database_url))
    migrate.upgrade(database_url)
    migrate.check(database_url)
