"""Migration 0004 creates exactly the contracts models' tables, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect

from lianxing.db import migrate, models_contracts
from lianxing.db.session import normalise_url

TABLES = {
    "contracts": models_contracts.Contract,
    "service_tickets": models_contracts.ServiceTicket,
    "ticket_messages": models_contracts.TicketMessage,
    "sla_breaches": models_contracts.SlaBreach,
}


def _tables(url: str) -> dict[str, list[str]]:
    engine = create_engine(normalise_url(url))
    try:
        inspector = inspect(engine)
        return {
            name: [c["name"] for c in inspector.get_columns(name)]
            for name in TABLES
            if inspector.has_table(name)
        }
    finally:
        engine.dispose()


def test_contracts_migration_matches_the_models_and_downgrades(database_url: str) -> None:
    migrate.upgrade(database_url)
    assert _tables(database_url) == {
        name: [c.name for c in model.__table__.columns] for name, model in TABLES.items()
    }
    migrate.check(database_url)  # no drift between 0004 and the models
    migrate.downgrade(database_url, "0003")
    assert _tables(database_url) == {}
    migrate.upgrade(database_url)
    migrate.check(database_url)
