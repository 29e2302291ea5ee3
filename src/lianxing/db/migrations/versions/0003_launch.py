"""launch: plans and checklist items, document vault metadata, account-asset ledger

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-29 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "launch_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("site", sa.String(length=16), nullable=False),
        sa.Column("template_hash", sa.String(length=64), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("risks", sa.JSON(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_launch_plans_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_launch_plans")),
        sa.UniqueConstraint("store_id", name=op.f("uq_launch_plans_store_id")),
    )
    op.create_table(
        "launch_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title_zh", sa.String(length=300), nullable=False),
        sa.Column("title_en", sa.String(length=300), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("document_type", sa.String(length=64), nullable=True),
        sa.Column("measure", sa.JSON(), nullable=True),
        sa.Column("source_ids", sa.JSON(), nullable=False),
        sa.Column("unverified", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("waive_reason", sa.Text(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["launch_plans.id"],
            name=op.f("fk_launch_items_plan_id_launch_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_launch_items")),
        sa.UniqueConstraint("plan_id", "key", name=op.f("uq_launch_items_plan_id")),
    )
    with op.batch_alter_table("launch_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_launch_items_plan_id"), ["plan_id"], unique=False)

    op.create_table(
        "vault_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=True),
        sa.Column("doc_type", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("file_name", sa.String(length=500), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("vault_name", sa.String(length=100), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_vault_documents_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_vault_documents_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vault_documents")),
        sa.UniqueConstraint("vault_name", name=op.f("uq_vault_documents_vault_name")),
    )
    with op.batch_alter_table("vault_documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vault_documents_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_vault_documents_sha256"), ["sha256"], unique=False)
        batch_op.create_index(batch_op.f("ix_vault_documents_store_id"), ["store_id"], unique=False)

    op.create_table(
        "account_assets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("identifier", sa.String(length=300), nullable=False),
        sa.Column("holder_kind", sa.String(length=16), nullable=False),
        sa.Column("holder_name", sa.String(length=200), nullable=True),
        sa.Column("last_verified_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_account_assets_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_assets")),
        sa.UniqueConstraint("store_id", "kind", "label", name=op.f("uq_account_assets_store_id")),
    )
    with op.batch_alter_table("account_assets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_assets_store_id"), ["store_id"], unique=False)

    op.create_table(
        "account_asset_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["account_assets.id"],
            name=op.f("fk_account_asset_events_asset_id_account_assets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_asset_events")),
    )
    with op.batch_alter_table("account_asset_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_account_asset_events_asset_id"), ["asset_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("account_asset_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_asset_events_asset_id"))
    op.drop_table("account_asset_events")
    with op.batch_alter_table("account_assets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_assets_store_id"))
    op.drop_table("account_assets")
    with op.batch_alter_table("vault_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vault_documents_store_id"))
        batch_op.drop_index(batch_op.f("ix_vault_documents_sha256"))
        batch_op.drop_index(batch_op.f("ix_vault_documents_org_id"))
    op.drop_table("vault_documents")
    with op.batch_alter_table("launch_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_launch_items_plan_id"))
    op.drop_table("launch_items")
    op.drop_table("launch_plans")
