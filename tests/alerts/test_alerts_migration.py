"""Migration 0007 creates exactly the alert and job tables of ``models_alerts``, on SQLite and
PostgreSQL, and removes them again."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect

from lianxing.db import migrate, models_alerts
from lianxing.db.session import normalise_url

TABLES = [
    models_alerts.AlertChannel,
    models_alerts.AlertRule,
    models_alerts.AlertInstance,
    models_alerts.AlertEvent,
    models_alerts.AlertDelivery,
    models_alerts.Job,
]


def test_alerts_migration_matches_the_models_and_downgrades(database_url: str) -> None:
    migrate.upgrade(database_url)
    engine = create_engine(normalise_url(database_url))
    try:
        inspector = inspect(engine)
        for model in TABLES:
            table = model.__table__
            assert [c["name"] for c in inspector.get_columns(table.name)] == [
                c.name for c in table.columns
            ]
        uniques = inspector.get_unique_constraints("alert_instances")
        assert [(u["name"], u["column_names"]) for u in uniques] == [
            ("uq_alert_instances_rule_id", ["rule_id", "dedup_key"])
        ]
    finally:
        engine.dispose()
    migrate.check(database_url)
    migrate.downgrade(database_url, "0001")
    engine = create_engine(normalise_url(database_url))
    try:
        remaining = set(inspect(engine).get_table_names())
        assert not {m.__table__.name for m in TABLES} & remaining
    finally:
        engine.dispose()
