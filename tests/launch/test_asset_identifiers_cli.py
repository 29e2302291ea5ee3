"""Account-asset identifiers: encrypted at rest, masked wherever they are listed, shown in
full only by ``assets reveal``, whose every read is in the audit log."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.fernet import Fernet
from launch_helpers import add_store, run, run_json
from sqlalchemy import select, text

from lianxing.db.audit import verify
from lianxing.db.models import AuditEntry
from lianxing.db.models_launch import AccountAsset
from lianxing.domain.assets import mask_identifier
from lianxing.security import Cipher, SecretError
from lianxing.workspace import Workspace

EMAIL = "seller.owner.private@example.com"
PAYOUT = "Payoneer 6222 0210 0033 1234"
HOLDER = "Li Lei Holdings"  # not a secret: stored as it is, so the file scan can see rows


@pytest.mark.parametrize(
    ("identifier", "masked"),
    [
        ("seller@example.com", "se***@example.com"),
        ("ab@x.cn", "a***@x.cn"),
        ("a@x.cn", "***@x.cn"),
        ("+86 138 0013 8000", "****8000"),
        ("6222021000331234", "****1234"),
        ("1234567", "****67"),
        ("12", "****"),
        ("@handle", "****le"),
        ("店小秘 ERP", "****RP"),
    ],
)
def test_mask_shows_at_most_the_edges(identifier: str, masked: str) -> None:
    assert mask_identifier(identifier) == masked


def _set(store: int, kind: str, identifier: str, *options: str) -> dict[str, Any]:
    """``assets set --json`` of one asset; its answer."""
    answer: dict[str, Any] = run_json(
        "assets",
        "set",
        "--store",
        str(store),
        "--kind",
        kind,
        "--id",
        identifier,
        "--json",
        *options,
    )
    return answer


def _record(store: int) -> tuple[int, int]:
    email = _set(store, "login_email", EMAIL, "--holder", "person", "--holder-name", HOLDER)
    payout = _set(store, "payout_account", PAYOUT, "--holder", "seller", "--verified")
    assert email["identifier"] == "se***@example.com"
    assert payout["identifier"] == "****1234"
    return int(email["id"]), int(payout["id"])


def _stored_text(ws: Workspace) -> str:
    """Every column of the ledger's rows and of the audit log, as the database returns them."""
    with ws.session() as session:
        return json.dumps(
            [
                [list(row) for row in session.execute(text(f"SELECT * FROM {table}"))]
                for table in ("account_assets", "account_asset_events", "audit_log")
            ],
            default=str,
            ensure_ascii=False,
        )


def test_identifiers_are_encrypted_at_rest(workspace: Workspace) -> None:
    store = add_store("amazon", "US")
    email_id, _ = _record(store)
    stored = _stored_text(workspace)
    assert HOLDER in stored
    assert EMAIL not in stored and PAYOUT not in stored and "0033 1234" not in stored
    if workspace.settings.database_url is None:  # SQLite: no file of the workspace has it
        files = [p for p in workspace.settings.home_dir.rglob("*") if p.is_file()]
        assert any(HOLDER.encode() in p.read_bytes() for p in files)
        assert [p.name for p in files if EMAIL.encode() in p.read_bytes()] == []
        assert [p.name for p in files if PAYOUT.encode() in p.read_bytes()] == []
    with workspace.session() as session:
        token = session.get(AccountAsset, email_id).identifier_enc  # type: ignore[union-attr]
    assert workspace.cipher.decrypt(token.encode()).decode() == EMAIL
    with pytest.raises(SecretError):
        Cipher(Fernet.generate_key()).decrypt(token.encode())
    # A workspace whose key file was replaced cannot read them either: a clear error.
    workspace.settings.key_file.write_bytes(Fernet.generate_key())
    code, out, err = run("assets", "list", "--store", str(store))
    assert code == 2 and "identifier unreadable" in err and EMAIL not in out


def test_lists_and_json_show_identifiers_masked(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # the table on one line per asset
    store = add_store("shopee", "MY")
    _record(store)
    changed = _set(
        store, "login_email", "new.owner@seller.cn", "--note", "moved to the company's own mailbox"
    )
    assert changed["identifier"] == "ne***@seller.cn"
    code, out, err = run("assets", "list", "--store", str(store), "--json")
    assert code == 0, err
    listed = json.loads(out)["assets"]
    assert [a["identifier"] for a in listed] == ["ne***@seller.cn", "****1234"]
    assert [h["after"]["identifier"] for h in listed[0]["history"]] == [
        "se***@example.com",
        "ne***@seller.cn",
    ]
    assert all("identifier_enc" not in h["after"] for a in listed for h in a["history"])
    code, table, err = run("assets", "list", "--store", str(store))
    assert code == 0, err
    assert "ne***@seller.cn" in table and "****1234" in table
    for shown in (out, table):
        assert EMAIL not in shown and "new.owner@" not in shown and PAYOUT not in shown
    # The audit log records the change in masked form too.
    with workspace.session() as session:
        changes = session.scalars(
            select(AuditEntry.data).where(AuditEntry.action == "asset.change")
        ).all()
    assert [(c["before"]["identifier"], c["after"]["identifier"]) for c in changes] == [
        ("se***@example.com", "ne***@seller.cn")
    ]


def _reveals(ws: Workspace) -> list[tuple[str, str, dict[str, object]]]:
    with ws.session() as session:
        rows = session.execute(
            select(AuditEntry.actor, AuditEntry.entity_id, AuditEntry.data)
            .where(AuditEntry.action == "asset.reveal")
            .order_by(AuditEntry.seq)
        ).all()
    return [(actor, entity_id, data) for actor, entity_id, data in rows]


def test_reveal_shows_the_full_value_and_is_audited(workspace: Workspace) -> None:
    store = add_store("amazon", "US")
    email_id, payout_id = _record(store)
    assert _reveals(workspace) == []
    code, out, err = run("assets", "reveal", str(payout_id))
    assert code == 0, err
    assert out == PAYOUT + "\n"
    revealed = run_json("assets", "reveal", str(email_id), "--json")
    assert (revealed["id"], revealed["store_id"], revealed["identifier"]) == (
        email_id,
        store,
        EMAIL,
    )
    assert _reveals(workspace) == [
        (
            "cli",
            str(payout_id),
            {"store_id": store, "kind": "payout_account", "label": "", "identifier": "****1234"},
        ),
        (
            "cli",
            str(email_id),
            {
                "store_id": store,
                "kind": "login_email",
                "label": "",
                "identifier": "se***@example.com",
            },
        ),
    ]
    code, _, err = run("assets", "reveal", "999")
    assert code == 2 and "no asset with id 999" in err
    assert len(_reveals(workspace)) == 2
    with workspace.session() as session:
        assert verify(session)[1] is None  # the reads are links of the hash chain
