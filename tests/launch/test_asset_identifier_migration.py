"""Migration 0012 encrypts existing account-asset identifiers and decrypts them on the way
down, on SQLite and PostgreSQL, leaving no plaintext in the database files; without the
workspace key it refuses and changes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.orm import Session

from lianxing.db import migrate
from lianxing.db.session import normalise_url
from lianxing.domain.assets import AssetKind
from lianxing.launch.assets import check_store_assets, list_assets, reveal_identifier
from lianxing.security import Cipher, SecretError, create_key_file, load_key

PLAIN = "launch.owner.secret@example.com"
BEFORE_CHANGE = "old.owner.secret@example.com"


def _engine(url: str) -> Engine:
    return create_engine(normalise_url(url))


def _seed_plaintext_ledger(url: str) -> None:
    """A store with a login e-mail recorded (created, then changed) as 0011 stored it."""
    after = {
        "kind": "login_email",
        "label": "",
        "identifier": PLAIN,
        "holder_kind": "seller",
        "holder_name": None,
        "last_verified_at": None,
    }
    engine = _engine(url)
    try:
        with engine.begin() as c:
            c.execute(
                text(
                    "INSERT INTO organisations (name, kind, created_at) "
                    "VALUES ('Seller', 'seller', CURRENT_TIMESTAMP)"
                )
            )
            c.execute(
                text(
                    "INSERT INTO stores (org_id, platform, site, name, currency, timezone, "
                    "status, created_at) VALUES (1, 'amazon', 'US', 'S', 'USD', "
                    "'America/Los_Angeles', 'planning', CURRENT_TIMESTAMP)"
                )
            )
            c.execute(
                text(
                    "INSERT INTO account_assets (store_id, kind, label, identifier, holder_kind, "
                    "updated_at, updated_by) VALUES (1, 'login_email', '', :plain, 'seller', "
                    "CURRENT_TIMESTAMP, 'cli')"
                ),
                {"plain": PLAIN},
            )
            for before, record in (
                (None, after | {"identifier": BEFORE_CHANGE}),
                (after | {"identifier": BEFORE_CHANGE}, after),
            ):
                c.execute(
                    text(
                        "INSERT INTO account_asset_events "
                        '(asset_id, at, actor, action, note, "before", "after") '
                        "VALUES (1, CURRENT_TIMESTAMP, 'cli', :action, 'why', :before, :after)"
                    ),
                    {
                        "action": "create" if before is None else "change",
                        "before": None if before is None else json.dumps(before),
                        "after": json.dumps(record),
                    },
                )
    finally:
        engine.dispose()


def _rows(url: str) -> tuple[list[dict[str, Any]], list[tuple[Any, Any]]]:
    engine = _engine(url)
    try:
        with engine.connect() as c:
            assets = [dict(r._mapping) for r in c.execute(text("SELECT * FROM account_assets"))]
            events = [
                (_json(b), _json(a))
                for b, a in c.execute(
                    text('SELECT "before", "after" FROM account_asset_events ORDER BY id')
                )
            ]
        return assets, events
    finally:
        engine.dispose()


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _stored_bytes(url: str, tmp_path: Path) -> bytes:
    """What the database holds on disk for the ledger's tables (SQLite: every file of the
    database; PostgreSQL: the tables' relation files after a checkpoint)."""
    if url.startswith("sqlite"):
        return b"".join(p.read_bytes() for p in tmp_path.glob("app.sqlite3*"))
    engine = _engine(url)
    try:
        with engine.connect() as c:
            c.execute(text("CHECKPOINT"))
            return b"".join(
                c.execute(
                    text("SELECT pg_read_binary_file(pg_relation_filepath(:t))"), {"t": table}
                ).scalar_one()
                for table in ("account_assets", "account_asset_events")
            )
    finally:
        engine.dispose()


def _columns(url: str) -> set[str]:
    engine = _engine(url)
    try:
        return {c["name"] for c in inspect(engine).get_columns("account_assets")}
    finally:
        engine.dispose()


def _version(url: str) -> str:
    engine = _engine(url)
    try:
        with engine.connect() as c:
            return str(c.execute(text("SELECT version_num FROM alembic_version")).scalar_one())
    finally:
        engine.dispose()


def test_upgrade_encrypts_existing_identifiers_and_downgrade_restores_them(
    database_url: str, tmp_path: Path
) -> None:
    key_file = tmp_path / "secret.key"
    create_key_file(key_file)
    cipher = Cipher(load_key(key_file))
    migrate.upgrade(database_url, "0011")
    _seed_plaintext_ledger(database_url)
    # The check below can see the plaintext where it is stored.
    assert PLAIN.encode() in _stored_bytes(database_url, tmp_path)

    # Without the key: refused before any change.
    with pytest.raises(RuntimeError, match="lianxing init"):
        migrate.upgrade(database_url)
    assert _version(database_url) == "0011" and "identifier" in _columns(database_url)

    migrate.upgrade(database_url, key_file=key_file)
    migrate.check(database_url)
    assert {"identifier_enc"} <= _columns(database_url)
    assert "identifier" not in _columns(database_url)
    assets, events = _rows(database_url)
    token = assets[0]["identifier_enc"]
    assert PLAIN not in json.dumps([assets, events], default=str)
    assert BEFORE_CHANGE not in json.dumps([assets, events], default=str)
    assert cipher.decrypt(token.encode()).decode() == PLAIN
    with pytest.raises(SecretError):
        Cipher(Fernet.generate_key()).decrypt(token.encode())
    # The history keeps every value, encrypted: after of the create, before/after of the change.
    assert [cipher.decrypt(a["identifier_enc"].encode()).decode() for _, a in events] == [
        BEFORE_CHANGE,
        PLAIN,
    ]
    assert cipher.decrypt(events[1][0]["identifier_enc"].encode()).decode() == BEFORE_CHANGE
    assert events[0][0] is None
    stored = _stored_bytes(database_url, tmp_path)
    assert PLAIN.encode() not in stored and BEFORE_CHANGE.encode() not in stored
    assert b"launch.owner" not in stored

    # The services read the migrated rows: masked, consistent with their history, revealed.
    engine = _engine(database_url)
    try:
        with Session(engine) as session, session.begin():
            [view] = list_assets(session, cipher, store_id=1)
            assert view.snapshot.identifier == "la***@example.com"
            assert [h["after"]["identifier"] for h in view.history] == [
                "ol***@example.com",
                "la***@example.com",
            ]
            codes = {f.code for f in check_store_assets(session, cipher, store_id=1)}
            assert "ASSET_HISTORY_MISMATCH" not in codes
            assert view.snapshot.kind is AssetKind.LOGIN_EMAIL
            assert reveal_identifier(session, cipher, view.id)[1] == PLAIN
    finally:
        engine.dispose()

    # Down again: the plaintext column and history records as 0011 had them.
    migrate.downgrade(database_url, "0012")  # the revision under test, below any later one
    with pytest.raises(RuntimeError, match="lianxing init"):
        migrate.downgrade(database_url, "0011")
    assert _version(database_url) == "0012"
    migrate.downgrade(database_url, "0011", key_file=key_file)
    assert "identifier_enc" not in _columns(database_url)
    assets, events = _rows(database_url)
    assert assets[0]["identifier"] == PLAIN
    assert [a["identifier"] for _, a in events] == [BEFORE_CHANGE, PLAIN]
    assert events[1][0]["identifier"] == BEFORE_CHANGE
    assert all("identifier_enc" not in a for _, a in events)

    # And up once more: the same rows encrypt again.
    migrate.upgrade(database_url, key_file=key_file)
    migrate.check(database_url)
    assets, _ = _rows(database_url)
    assert cipher.decrypt(assets[0]["identifier_enc"].encode()).decode() == PLAIN


def test_downgrade_with_another_key_fails_before_changing_anything(
    database_url: str, tmp_path: Path
) -> None:
    key_file, other_key = tmp_path / "secret.key", tmp_path / "other.key"
    create_key_file(key_file)
    create_key_file(other_key)
    migrate.upgrade(database_url, "0011")
    _seed_plaintext_ledger(database_url)
    migrate.upgrade(database_url, "0012", key_file=key_file)
    with pytest.raises(SecretError):
        migrate.downgrade(database_url, "0011", key_file=other_key)
    assert _version(database_url) == "0012"
    assert "identifier" not in _columns(database_url)
    migrate.upgrade(database_url, key_file=key_file)
    migrate.check(database_url)
