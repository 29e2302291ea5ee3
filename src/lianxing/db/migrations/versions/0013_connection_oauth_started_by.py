"""store connections: who started the authorisation in flight

``store_connections.oauth_started_by`` keeps a SHA-256 naming the web user and login
session (or the user of an API token) that started an authorisation; a callback carrying
its state is accepted from that caller only (OAuth CSRF). An authorisation in flight when
this runs keeps NULL, which only the command line may finish: in the web app it is started
again.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("store_connections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("oauth_started_by", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("store_connections", schema=None) as batch_op:
        batch_op.drop_column("oauth_started_by")
