"""integrity: flags found by the integrity detectors, their orders and reviews

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-29 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "integrity_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=32), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("window_end", sa.DateTime(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("explanation_zh", sa.Text(), nullable=False),
        sa.Column("explanation_en", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_integrity_flags_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integrity_flags")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_integrity_flags_fingerprint")),
    )
    with op.batch_alter_table("integrity_flags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_integrity_flags_store_id"), ["store_id"], unique=False)
    op.create_table(
        "integrity_flag_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flag_id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.String(length=100), nullable=False),
        sa.Column("purchase_ts", sa.DateTime(), nullable=True),
        sa.Column("purchase_day", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["flag_id"],
            ["integrity_flags.id"],
            name=op.f("fk_integrity_flag_orders_flag_id_integrity_flags"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integrity_flag_orders")),
    )
    with op.batch_alter_table("integrity_flag_orders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_integrity_flag_orders_flag_id"), ["flag_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_integrity_flag_orders_store_id"), ["store_id"], unique=False
        )
    op.create_table(
        "integrity_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flag_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["flag_id"],
            ["integrity_flags.id"],
            name=op.f("fk_integrity_reviews_flag_id_integrity_flags"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integrity_reviews")),
    )
    with op.batch_alter_table("integrity_reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_integrity_reviews_flag_id"), ["flag_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("integrity_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_integrity_reviews_flag_id"))
    op.drop_table("integrity_reviews")
    with op.batch_alter_table("integrity_flag_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_integrity_flag_orders_store_id"))
        batch_op.drop_index(batch_op.f("ix_integrity_flag_orders_flag_id"))
    op.drop_table("integrity_flag_orders")
    with op.batch_alter_table("integrity_flags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_integrity_flags_store_id"))
    op.drop_table("integrity_flags")
