"""Migration 0010 creates exactly the agency models' tables, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect

from lianxing.db import migrate, models_agency
from lianxing.db.session import normalise_url

TABLES = {
    "agency_profiles": models_agency.AgencyProfile,
    "agency_documents": models_agency.AgencyDocument,
    "agency_records": models_agency.AgencyRecord,
    "agency_case_studies": models_agency.CaseStudy,
    "grant_freezes": models_agency.GrantFreeze,
    "grant_freeze_items": models_agency.GrantFreezeItem,
    "remediation_plans": models_agency.RemediationPlan,
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


def test_agency_migration_matches_the_models_and_downgrades(database_url: str) -> None:
    migrate.upgrade(database_url)
    assert _tables(database_url) == {
        name: [c.name for c in model.__table__.columns] for name, model in TABLES.items()
    }
    migrate.check(database_url)  # no drift between 0010 and the models
    migrate.downgrade(database_url, "0009")
    assert _tables(database_url) == {}
    migrate.upgrade(database_url)
    migrate.check(database_url)
