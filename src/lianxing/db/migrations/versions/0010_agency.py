"""agency: profiles, documents, public records, case studies, grant freezes, remediation plans

Revision ID: 0010
Revises: 0001
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _index(table: str, column: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    op.create_table(
        "agency_profiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("legal_name", sa.String(length=300), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=False),
        sa.Column("business_scope", sa.Text(), nullable=False),
        sa.Column("founded_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        _fk("agency_profiles", "org_id", "organisations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agency_profiles")),
        sa.UniqueConstraint("credit_code", name=op.f("uq_agency_profiles_credit_code")),
        sa.UniqueConstraint("org_id", name=op.f("uq_agency_profiles_org_id")),
    )
    op.create_table(
        "agency_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        _fk("agency_documents", "agency_id", "agency_profiles"),
        _fk("agency_documents", "document_id", "vault_documents"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agency_documents")),
    )
    _index("agency_documents", "agency_id")
    op.create_table(
        "agency_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("recorded_on", sa.Date(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("entered_at", sa.DateTime(), nullable=False),
        sa.Column("entered_by", sa.String(length=200), nullable=False),
        _fk("agency_records", "agency_id", "agency_profiles"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agency_records")),
    )
    _index("agency_records", "agency_id")
    op.create_table(
        "agency_case_studies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("claim", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=True),
        sa.Column("consent_by", sa.String(length=200), nullable=True),
        sa.Column("consented_at", sa.DateTime(), nullable=True),
        sa.Column("snapshot", sa.JSON(), nullable=True),
        sa.Column("snapshot_sha256", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        _fk("agency_case_studies", "agency_id", "agency_profiles"),
        _fk("agency_case_studies", "store_id", "stores"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agency_case_studies")),
    )
    _index("agency_case_studies", "agency_id")
    op.create_table(
        "grant_freezes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_org_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("frozen_at", sa.DateTime(), nullable=False),
        sa.Column("frozen_by", sa.String(length=200), nullable=False),
        sa.Column("lifted_at", sa.DateTime(), nullable=True),
        sa.Column("lifted_by", sa.String(length=200), nullable=True),
        sa.Column("lift_reason", sa.Text(), nullable=True),
        _fk("grant_freezes", "agency_org_id", "organisations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grant_freezes")),
    )
    _index("grant_freezes", "agency_org_id")
    op.create_table(
        "grant_freeze_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("freeze_id", sa.Integer(), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=False),
        _fk("grant_freeze_items", "freeze_id", "grant_freezes"),
        _fk("grant_freeze_items", "grant_id", "access_grants"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grant_freeze_items")),
        sa.UniqueConstraint("freeze_id", "grant_id", name=op.f("uq_grant_freeze_items_freeze_id")),
    )
    _index("grant_freeze_items", "freeze_id")
    _index("grant_freeze_items", "grant_id")
    op.create_table(
        "remediation_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("clause", sa.String(length=64), nullable=False),
        sa.Column("missed_start", sa.Date(), nullable=False),
        sa.Column("missed_last_day", sa.Date(), nullable=False),
        sa.Column("missed_value", sa.Float(), nullable=True),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("cure_deadline", sa.Date(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("notice", sa.JSON(), nullable=True),
        sa.Column("notified_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        _fk("remediation_plans", "contract_id", "contracts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remediation_plans")),
        sa.UniqueConstraint(
            "contract_id", "clause", "missed_start", name=op.f("uq_remediation_plans_contract_id")
        ),
    )
    _index("remediation_plans", "contract_id")


def downgrade() -> None:
    for table, columns in (
        ("remediation_plans", ("contract_id",)),
        ("grant_freeze_items", ("grant_id", "freeze_id")),
        ("grant_freezes", ("agency_org_id",)),
        ("agency_case_studies", ("agency_id",)),
        ("agency_records", ("agency_id",)),
        ("agency_documents", ("agency_id",)),
        ("agency_profiles", ()),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.drop_index(batch_op.f(f"ix_{table}_{column}"))
        op.drop_table(table)
