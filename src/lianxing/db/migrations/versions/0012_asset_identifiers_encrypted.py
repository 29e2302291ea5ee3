"""account assets: identifiers encrypted with the workspace key

The plain ``account_assets.identifier`` becomes ``identifier_enc`` (a Fernet token, as
connector tokens are stored) and the history's ``before``/``after`` records carry
``identifier_enc`` instead of ``identifier``. Existing rows are encrypted here with the key
file ``lianxing.db.migrate`` passes (``lianxing init`` passes the workspace's ``secret.key``);
on a database with asset rows and no key the migration refuses before changing anything.

Old copies of the plaintext do not stay in the files: SQLite zeroes the pages it frees
(``secure_delete``); PostgreSQL rewrites both tables (``CLUSTER``), which keeps the old
versions of rows this transaction changed but writes the values of dropped columns as NULL,
so the history moves to new ``before``/``after`` columns and the old ones are dropped (an
UPDATE in place would leave the plaintext in those old versions until a VACUUM FULL).
Audit-log entries written before this migration keep what they recorded: the log is
hash-chained and is not rewritten.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 04:00:00
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import context, op

from lianxing.db.migrate import KEY_FILE_ATTRIBUTE
from lianxing.security import Cipher, load_key

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Record = dict[str, Any]

ASSETS = sa.table(
    "account_assets",
    sa.column("id", sa.Integer()),
    sa.column("identifier", sa.String(300)),
    sa.column("identifier_enc", sa.Text()),
)
EVENTS = sa.table(
    "account_asset_events",
    sa.column("id", sa.Integer()),
    sa.column("before", sa.JSON()),
    sa.column("after", sa.JSON()),
    sa.column("before_new", sa.JSON()),
    sa.column("after_new", sa.JSON()),
)
# (table, primary-key index) rewritten on PostgreSQL so no old row version keeps plaintext
REWRITTEN = (
    ("account_assets", "pk_account_assets"),
    ("account_asset_events", "pk_account_asset_events"),
)


def _cipher(direction: str) -> Cipher | None:
    """The workspace cipher when there are rows to convert; None when there are none."""
    bind = op.get_bind()
    rows = bind.scalar(sa.select(sa.func.count()).select_from(ASSETS))
    if not rows and not bind.scalar(sa.select(sa.func.count()).select_from(EVENTS)):
        return None
    key_file = context.config.attributes.get(KEY_FILE_ATTRIBUTE)
    if key_file is None:
        raise RuntimeError(
            f"migration 0012 ({direction}) must encrypt or decrypt {rows} account-asset "
            "identifiers with the workspace key but was given no key file: run "
            "`lianxing init` for this workspace (it passes secret.key) / "
            "迁移需要工作区密钥：请对该工作区运行 lianxing init"
        )
    return Cipher(load_key(Path(key_file)))


def _history(convert: Callable[[Record], Record], suffix: str) -> dict[int, Record]:
    """Each event's converted ``before``/``after`` (``before`` only where there is one), as
    values of the columns named ``before``/``after`` + ``suffix``."""
    rows = op.get_bind().execute(sa.select(EVENTS.c.id, EVENTS.c.before, EVENTS.c.after))
    return {
        event_id: {f"after{suffix}": convert(after)}
        | ({} if before is None else {f"before{suffix}": convert(before)})
        for event_id, before, after in rows
    }


def _write(table: sa.TableClause, values: dict[int, Record]) -> None:
    bind = op.get_bind()
    for row_id, changed in values.items():
        bind.execute(table.update().where(table.c.id == row_id).values(**changed))


def _renamed(record: Record, old: str, new: str, convert: Callable[[str], str]) -> Record:
    if old not in record:
        return record
    return {k: v for k, v in record.items() if k != old} | {new: convert(record[old])}


def _converted(
    convert: Callable[[str], str], old: str, new: str, history_suffix: str = ""
) -> tuple[dict[int, Record], dict[int, Record]]:
    """Each asset's ``new`` column (its ``old`` one converted), and each event's history
    records with ``old`` converted into ``new`` (see ``_history`` for the suffix)."""
    rows = op.get_bind().execute(sa.select(ASSETS.c.id, ASSETS.c[old]))
    assets = {asset_id: {new: convert(value)} for asset_id, value in rows}
    return assets, _history(lambda r: _renamed(r, old, new, convert), history_suffix)


def upgrade() -> None:
    # Everything is read and converted before the first change: a refusal or a failure
    # leaves the database as it was (SQLite runs DDL outside the transaction).
    cipher = _cipher("upgrade")
    assets, history = (
        ({}, {})
        if cipher is None
        else _converted(
            lambda text: cipher.encrypt(text.encode()).decode(),
            "identifier",
            "identifier_enc",
            history_suffix="_new",
        )
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA secure_delete = ON")  # this connection only; it ends with the run
    with op.batch_alter_table("account_assets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("identifier_enc", sa.Text(), nullable=True))
    with op.batch_alter_table("account_asset_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("before_new", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("after_new", sa.JSON(), nullable=True))
    _write(ASSETS, assets)
    _write(EVENTS, history)
    with op.batch_alter_table("account_assets", schema=None) as batch_op:
        batch_op.alter_column("identifier_enc", existing_type=sa.Text(), nullable=False)
        batch_op.drop_column("identifier")
    with op.batch_alter_table("account_asset_events", schema=None) as batch_op:
        batch_op.drop_column("before")
        batch_op.drop_column("after")
        batch_op.alter_column("before_new", new_column_name="before", existing_type=sa.JSON())
        batch_op.alter_column(
            "after_new", new_column_name="after", existing_type=sa.JSON(), nullable=False
        )
    if op.get_bind().dialect.name == "postgresql":
        for table, index in REWRITTEN:
            op.execute(f"CLUSTER {table} USING {index}")
            op.execute(f"ALTER TABLE {table} SET WITHOUT CLUSTER")


def downgrade() -> None:
    cipher = _cipher("downgrade")
    assets, history = (
        ({}, {})
        if cipher is None
        else _converted(
            lambda token: cipher.decrypt(token.encode()).decode(), "identifier_enc", "identifier"
        )
    )
    with op.batch_alter_table("account_assets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("identifier", sa.String(length=300), nullable=True))
    _write(ASSETS, assets)
    _write(EVENTS, history)
    with op.batch_alter_table("account_assets", schema=None) as batch_op:
        batch_op.alter_column("identifier", existing_type=sa.String(length=300), nullable=False)
        batch_op.drop_column("identifier_enc")
