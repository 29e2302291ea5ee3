"""Document vault and account-asset ledger end to end through the CLI."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.fernet import Fernet
from launch_helpers import add_store, count, run, run_json
from sqlalchemy import select

from lianxing.db.models import AuditEntry
from lianxing.db.models_launch import AccountAssetEvent, VaultDocument
from lianxing.security import Cipher, SecretError
from lianxing.workspace import Workspace

PLAINTEXT = "营业执照 Business licence No. 91440300MA5XXXXX — secret".encode() * 50


def test_documents_are_encrypted_and_reads_are_audited(workspace: Workspace, tmp_path) -> None:
    store = add_store("amazon", "US")
    src = tmp_path / "licence.pdf"
    src.write_bytes(PLAINTEXT)
    soon = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    doc = run_json(
        "doc",
        "add",
        str(src),
        "--type",
        "business_licence",
        "--store",
        str(store),
        "--issued",
        "2020-01-01",
        "--expires",
        soon,
        "--json",
    )
    assert doc["sha256"] and doc["size_bytes"] == len(PLAINTEXT) and doc["expiry"] == "expiring"
    with workspace.session() as session:
        stored = session.scalars(select(VaultDocument)).one()
        vault_file = workspace.settings.vault_dir / stored.vault_name
    token = vault_file.read_bytes()
    assert b"Business licence" not in token and PLAINTEXT[:30] not in token
    assert oct(vault_file.stat().st_mode & 0o777) == "0o600"
    with pytest.raises(SecretError):
        Cipher(Fernet.generate_key()).decrypt(token)

    reads_before = count_reads(workspace)
    out = tmp_path / "copy.pdf"
    code, _, err = run("doc", "get", str(doc["id"]), "-o", str(out))
    assert code == 0, err
    assert out.read_bytes() == PLAINTEXT
    assert count_reads(workspace) == reads_before + 1

    listed = run_json("doc", "list", "--json")["documents"]
    assert [d["id"] for d in listed] == [doc["id"]]
    run_json("launch", "plan", "--store", str(store), "--json")
    status = run_json("launch", "status", "--store", str(store), "--json")
    assert [d["id"] for d in status["expiring_documents"]] == [doc["id"]]
    code, _, err = run(
        "launch", "done", "doc.business_licence", "--store", str(store), "--doc", str(doc["id"])
    )
    assert code == 0, err
    status = run_json("launch", "status", "--store", str(store), "--json")
    item = next(
        i for s in status["stages"] for i in s["items"] if i["key"] == "doc.business_licence"
    )
    assert item["status"] == "done" and item["evidence"] == [
        {"kind": "document", "value": doc["id"]}
    ]


def count_reads(ws: Workspace) -> int:
    with ws.session() as session:
        return len(
            session.scalars(select(AuditEntry).where(AuditEntry.action == "document.read")).all()
        )


def test_vault_bad_input_writes_nothing(workspace: Workspace, tmp_path) -> None:
    src = tmp_path / "id.png"
    src.write_bytes(b"png bytes")
    code, _, err = run("doc", "add", str(src), "--type", "selfie")
    assert code == 2 and "--type: value 'selfie'; expected one of business_licence" in err
    code, _, err = run("doc", "add", str(src), "--type", "passport", "--expires", "2020-13-01")
    assert code == 2 and err.count("\n") == 1
    code, _, err = run(
        "doc",
        "add",
        str(src),
        "--type",
        "legal_rep_id",
        "--issued",
        "2025-01-02",
        "--expires",
        "2025-01-01",
    )
    assert code == 2 and "before --issued" in err
    code, _, err = run("doc", "add", str(tmp_path / "missing.pdf"), "--type", "other")
    assert code == 2 and "no such file" in err
    assert count(workspace, VaultDocument) == 0
    assert list(workspace.settings.vault_dir.iterdir()) == []
    code, _, err = run("doc", "get", "7")
    assert code == 2 and "no document with id 7" in err


def _findings(store: int) -> list[dict]:
    return run_json("assets", "check", "--store", str(store), "--json")["findings"]


def test_payout_held_by_agency_is_high_and_verifying_as_seller_clears_it(
    workspace: Workspace,
) -> None:
    store = add_store("amazon", "US")
    code, _, err = run(
        "assets",
        "set",
        "--store",
        str(store),
        "--kind",
        "payout_account",
        "--id",
        "PingPong ****1234",
        "--holder",
        "agency",
        "--holder-name",
        "某某代运营",
        "--note",
        "opened by the agency during registration",
    )
    assert code == 0, err
    payout = [f for f in _findings(store) if f["asset"] == "payout_account"]
    assert {(f["code"], f["severity"]) for f in payout} == {
        ("ASSET_AGENCY_HOLDS_CRITICAL", "high"),
        ("ASSET_NEVER_VERIFIED", "high"),
    }
    code, _, err = run(
        "assets",
        "set",
        "--store",
        str(store),
        "--kind",
        "payout_account",
        "--holder",
        "seller",
        "--verified",
        "--note",
        "moved to the seller's own account",
    )
    assert code == 0, err
    findings = _findings(store)
    assert [f for f in findings if f["asset"] == "payout_account"] == []
    assert all(f["severity"] != "high" for f in findings)
    # The other critical assets are not in the ledger yet.
    assert {f["asset"] for f in findings if f["code"] == "ASSET_MISSING"} == {
        "login_email",
        "phone",
        "two_factor",
        "brand_registry",
    }
    listed = run_json("assets", "list", "--store", str(store), "--json")["assets"]
    assert [h["action"] for h in listed[0]["history"]] == ["create", "change"]
    assert listed[0]["holder_kind"] == "seller" and listed[0]["holder_name"] is None


def test_change_without_record_and_out_of_band_edit_are_flagged(workspace: Workspace) -> None:
    store = add_store("shopee", "MY")
    run_json(
        "assets",
        "set",
        "--store",
        str(store),
        "--kind",
        "login_email",
        "--id",
        "a@seller.cn",
        "--holder",
        "seller",
        "--verified",
        "--json",
    )
    run_json(
        "assets",
        "set",
        "--store",
        str(store),
        "--kind",
        "login_email",
        "--id",
        "b@agency.cn",
        "--json",
    )
    codes = {f["code"] for f in _findings(store) if f["asset"] == "login_email"}
    assert codes == {"ASSET_CHANGE_UNRECORDED"}
    # Someone edits the row behind the ledger's back.
    with workspace.session() as session:
        from lianxing.db.models_launch import AccountAsset

        asset = session.scalars(select(AccountAsset)).one()
        asset.identifier_enc = workspace.cipher.encrypt(b"c@elsewhere.cn").decode()
    codes = {(f["code"], f["severity"]) for f in _findings(store) if f["asset"] == "login_email"}
    assert ("ASSET_HISTORY_MISMATCH", "high") in codes
    events = count(workspace, AccountAssetEvent)
    code, _, err = run(
        "assets",
        "set",
        "--store",
        str(store),
        "--kind",
        "wallet",
        "--id",
        "x",
        "--holder",
        "seller",
    )
    assert code == 2 and "--kind: value 'wallet'" in err
    code, _, err = run(
        "assets",
        "set",
        "--store",
        str(store),
        "--kind",
        "phone",
        "--id",
        "+86 138****0000",
        "--holder",
        "person",
    )
    assert code == 2 and "--holder-name" in err
    code, _, err = run("assets", "check", "--store", "42")
    assert code == 2 and "no store with id 42" in err
    assert count(workspace, AccountAssetEvent) == events
