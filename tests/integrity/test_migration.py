"""Migration 0005 creates exactly the integrity models' tables, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect

from lianxing.db import load_all_models, migrate
from lianxing.db.session import normalise_url

load_all_models()


def test_integrity_tables_match_the_models(database_url: str) -> None:
    migrate.upgrade(database_url)
    engine = create_engine(normalise_url(database_url))
    try:
        tables = set(inspect(engine).get_table_names())
        columns = {c["name"] for c in inspect(engine).get_columns("integrity_flag_orders")}
    finally:
        engine.dispose()
    assert {"integrity_flags", "integrity_flag_orders", "integrity_reviews"} <= tables
    assert {"order_id", "purchase_ts", "purchase_day", "flag_id", "store_id"} <= columns
    migrate.check(database_url)  # no drift between models and migrations
