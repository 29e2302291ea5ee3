"""Launch changes over the API and the store's launch page: document upload into the vault,
an item's owner and due date, account assets (identifiers shown masked, revealed on request
and audited). The seller's owner and an agency with an operate grant may make them; a viewer
may not; bad input is refused with the CLI's words and nothing is written."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from web_helpers import World, add_launch, api_client, login

from lianxing.db.models import AuditEntry
from lianxing.db.models_launch import AccountAsset, VaultDocument
from lianxing.web.app import create_app

# Not UTF-8, with NUL bytes and a repeated block: any re-encoding or truncation shows.
CONTENT = bytes(range(256)) * 3 + "营业执照 licence".encode()


def _documents(world: World) -> int:
    with world.ws.session() as s:
        return s.scalar(select(func.count()).select_from(VaultDocument)) or 0


def _vault_files(world: World) -> int:
    vault = world.ws.settings.vault_dir
    return len(list(vault.iterdir())) if vault.exists() else 0


def _actions(world: World, action: str) -> list[tuple[str, str]]:
    with world.ws.session() as s:
        rows = s.execute(
            select(AuditEntry.actor, AuditEntry.entity_id)
            .where(AuditEntry.action == action)
            .order_by(AuditEntry.seq)
        ).all()
    return [(actor, entity_id) for actor, entity_id in rows]


@pytest.mark.parametrize(
    ("user", "actor"),
    [("owner_a", "user:owner@seller-a.test"), ("agency_ops", "user:ops@agency.test")],
)
def test_an_uploaded_document_is_encrypted_audited_and_comes_back_identical(
    world: World, user: str, actor: str
) -> None:
    client = api_client(world, user)
    response = client.post(
        f"/api/v1/stores/{world.store_a1}/documents",
        data={
            "type": "business_licence",
            "title": "营业执照 2026",
            "issued": "2026-01-15",
            "expires": "2027-01-14",
        },
        files={"file": ("licence.pdf", CONTENT, "application/pdf")},
    )
    assert response.status_code == 201, response.text
    doc: dict[str, Any] = response.json()
    assert (doc["store_id"], doc["type"], doc["title"], doc["file_name"]) == (
        world.store_a1,
        "business_licence",
        "营业执照 2026",
        "licence.pdf",
    )
    assert (doc["issued_on"], doc["expires_on"], doc["size_bytes"]) == (
        "2026-01-15",
        "2027-01-14",
        len(CONTENT),
    )
    assert _actions(world, "document.add") == [(actor, str(doc["id"]))]
    with world.ws.session() as s:
        row = s.get(VaultDocument, doc["id"])
        assert row is not None
        stored = (world.ws.settings.vault_dir / row.vault_name).read_bytes()
    # Encrypted at rest: neither the whole file nor a recognisable piece of it is in the vault.
    assert CONTENT not in stored and b"licence" not in stored
    assert bytes(range(64)) not in stored
    downloaded = client.get(f"/api/v1/documents/{doc['id']}")
    assert downloaded.status_code == 200
    assert downloaded.content == CONTENT
    listed = client.get(f"/api/v1/stores/{world.store_a1}/launch").json()["documents"]
    assert [d["id"] for d in listed] == [doc["id"]]


@pytest.mark.parametrize(
    ("data", "file", "detail"),
    [
        (
            {"type": "passport"},
            ("a.pdf", b"x"),
            "--type: value 'passport'; expected one of business_licence, legal_rep_id,",
        ),
        (
            {"type": "business_licence", "issued": "2026-05-01", "expires": "2026-04-30"},
            ("a.pdf", b"x"),
            "--expires: 2026-04-30 is before --issued 2026-05-01; expected a later date",
        ),
        ({"type": "business_licence"}, ("empty.pdf", b""), "empty.pdf: the file is empty"),
        (
            {"type": "business_licence", "expires": "2026-13-01"},
            ("a.pdf", b"x"),
            "expires: '2026-13-01' is not a date; expected YYYY-MM-DD",
        ),
    ],
)
def test_bad_uploads_are_refused_with_the_cli_message_and_nothing_is_written(
    world: World, data: dict[str, str], file: tuple[str, bytes], detail: str
) -> None:
    response = api_client(world, "owner_a").post(
        f"/api/v1/stores/{world.store_a1}/documents", data=data, files={"file": file}
    )
    assert response.status_code == 422
    assert response.json()["detail"].startswith(detail)
    assert (_documents(world), _vault_files(world)) == (0, 0)
    assert _actions(world, "document.add") == []


def test_a_viewer_may_not_upload_set_items_or_assets(world: World) -> None:
    item = add_launch(world)["store_a1"]["item"]
    before = (_documents(world), _vault_files(world))
    viewer = api_client(world, "viewer_a")
    upload = viewer.post(
        f"/api/v1/stores/{world.store_a1}/documents",
        data={"type": "business_licence"},
        files={"file": ("a.pdf", b"x")},
    )
    assert upload.status_code == 403
    patch = viewer.patch(f"/api/v1/launch-items/{item}", json={"owner": "viewer"})
    assert patch.status_code == 403
    asset = viewer.post(
        f"/api/v1/stores/{world.store_a1}/assets",
        json={"kind": "phone", "identifier": "+86 138****0000", "holder": "seller"},
    )
    assert asset.status_code == 403
    assert (_documents(world), _vault_files(world)) == before
    assert _actions(world, "launch.item.update") == []


@pytest.mark.parametrize(
    ("user", "actor"),
    [("owner_a", "user:owner@seller-a.test"), ("agency_ops", "user:ops@agency.test")],
)
def test_set_an_items_owner_and_due_date(world: World, user: str, actor: str) -> None:
    item = add_launch(world)["store_a1"]["item"]
    client = api_client(world, user)
    response = client.patch(
        f"/api/v1/launch-items/{item}", json={"owner": " 王芳 ", "due_date": "2026-12-20"}
    )
    assert response.status_code == 200, response.text
    assert (response.json()["owner"], response.json()["due_date"]) == ("王芳", "2026-12-20")
    # Only the due date: the owner stays.
    later = client.patch(f"/api/v1/launch-items/{item}", json={"due_date": "2026-12-31"})
    assert (later.json()["owner"], later.json()["due_date"]) == ("王芳", "2026-12-31")
    plan = client.get(f"/api/v1/stores/{world.store_a1}/launch").json()["launch"]
    shown = [i for s in plan["stages"] for i in s["items"] if i["id"] == item]
    assert [(i["owner"], i["due_date"]) for i in shown] == [("王芳", "2026-12-31")]
    assert _actions(world, "launch.item.update") == [(actor, str(item))] * 2
    bad = client.patch(f"/api/v1/launch-items/{item}", json={"due_date": "31.12.2026"})
    assert bad.status_code == 422
    assert bad.json()["detail"] == "due_date: '31.12.2026' is not a date; expected YYYY-MM-DD"
    empty = client.patch(f"/api/v1/launch-items/{item}", json={})
    assert empty.status_code == 422 and empty.json()["detail"].startswith("nothing to set")
    assert len(_actions(world, "launch.item.update")) == 2


@pytest.mark.parametrize(
    ("user", "actor"),
    [("owner_a", "user:owner@seller-a.test"), ("agency_ops", "user:ops@agency.test")],
)
def test_record_and_verify_an_account_asset(world: World, user: str, actor: str) -> None:
    client = api_client(world, user)
    url = f"/api/v1/stores/{world.store_a1}/assets"
    created = client.post(
        url,
        json={
            "kind": "login_email",
            "identifier": "seller@a.test",
            "holder": "person",
            "holder_name": "李雷",
            "note": "开户",
        },
    )
    assert created.status_code == 200, created.text
    asset = created.json()
    assert (asset["kind"], asset["identifier"], asset["holder_kind"], asset["holder_name"]) == (
        "login_email",
        "se***@a.test",
        "person",
        "李雷",
    )
    assert "seller@a.test" not in created.text
    assert asset["last_verified_at"] is None
    verified = client.post(url, json={"kind": "login_email", "holder": "seller", "verified": True})
    assert verified.status_code == 200, verified.text
    after = verified.json()
    assert (after["id"], after["holder_kind"], after["holder_name"]) == (
        asset["id"],
        "seller",
        None,
    )
    assert after["last_verified_at"] is not None
    assert [h["action"] for h in after["history"]] == ["create", "change"]
    with world.ws.session() as s:
        events = s.execute(
            select(AuditEntry.actor, AuditEntry.entity)
            .where(AuditEntry.entity_id == str(asset["id"]), AuditEntry.entity == "account_asset")
            .order_by(AuditEntry.seq)
        ).all()
    assert [e.actor for e in events] == [actor, actor]
    # The full value on request: not cached, and the read is in the audit log.
    revealed = client.post(f"/api/v1/assets/{asset['id']}/reveal")
    assert revealed.status_code == 200, revealed.text
    assert revealed.headers["cache-control"] == "no-store"
    assert (revealed.json()["id"], revealed.json()["identifier"]) == (asset["id"], "seller@a.test")
    assert _actions(world, "asset.reveal") == [(actor, str(asset["id"]))]
    viewer = api_client(world, "viewer_a")
    assert (
        viewer.get(f"/api/v1/stores/{world.store_a1}/launch").json()["assets"][0]["identifier"]
        == "se***@a.test"
    )
    assert viewer.post(f"/api/v1/assets/{asset['id']}/reveal").status_code == 403
    assert client.post("/api/v1/assets/999999/reveal").status_code == 404
    assert len(_actions(world, "asset.reveal")) == 1
    # A new asset without its identifier: the CLI's message, nothing written.
    refused = client.post(url, json={"kind": "phone", "holder": "seller"})
    assert refused.status_code == 422
    assert refused.json()["detail"].startswith("--id: a new asset needs an identifier")
    unknown = client.post(url, json={"kind": "fax", "identifier": "x", "holder": "seller"})
    assert unknown.status_code == 422 and unknown.json()["detail"].startswith("--kind: value 'fax'")
    with world.ws.session() as s:
        assert s.scalar(select(func.count()).select_from(AccountAsset)) == 1


def test_launch_page_forms_upload_set_and_record(world: World) -> None:
    item = add_launch(world)["store_a1"]["item"]
    client = TestClient(create_app(workspace=world.ws))
    csrf = login(client, world.emails["owner_a"])
    page = client.get(f"/launch/{world.store_a1}")
    assert 'id="document-form"' in page.text and 'id="asset-form"' in page.text
    assert f'action="/launch/items/{item}/set"' in page.text
    uploaded = client.post(
        f"/launch/{world.store_a1}/documents",
        data={"type": "trademark", "title": "商标注册证", "csrf_token": csrf},
        files={"file": ("tm.pdf", CONTENT)},
    )
    assert uploaded.status_code == 200 and "资料已加密保存" in uploaded.text
    assert "商标注册证" in uploaded.text
    set_item = client.post(
        f"/launch/items/{item}/set",
        data={"owner": "韩梅梅", "due_date": "2026-12-01", "csrf_token": csrf},
    )
    assert "负责人和截止日期已保存" in set_item.text
    row = re.search(rf'<tr id="item-{item}".*?</tr>', set_item.text, re.S)
    assert row is not None and "韩梅梅" in row.group(0) and "2026-12-01" in row.group(0)
    asset = client.post(
        f"/launch/{world.store_a1}/assets",
        data={
            "kind": "phone",
            "identifier": "+86 138 0013 8000",
            "holder": "seller",
            "verified": "true",
            "csrf_token": csrf,
        },
    )
    assert "账号资产已登记" in asset.text and "****8000" in asset.text
    assert "+86 138" not in asset.text
    with world.ws.session() as s:
        phone = s.scalar(select(AccountAsset.id).where(AccountAsset.kind == "phone"))
    shown = client.post(
        f"/launch/{world.store_a1}/assets/{phone}/reveal", data={"csrf_token": csrf}
    )
    assert shown.status_code == 200 and shown.headers["cache-control"] == "no-store"
    assert f'id="revealed-{phone}">+86 138 0013 8000<' in shown.text
    assert "+86 138" not in client.get(f"/launch/{world.store_a1}").text
    assert (
        client.post(f"/launch/{world.store_a1}/assets/{phone}/reveal", data={}).status_code == 403
    )  # no CSRF token: nothing revealed
    assert _actions(world, "asset.reveal") == [("user:owner@seller-a.test", str(phone))]
    refused = client.post(
        f"/launch/{world.store_a1}/documents",
        data={"type": "passport", "csrf_token": csrf},
        files={"file": ("p.pdf", b"x")},
    )
    assert 'id="launch-error"' in refused.text
    assert "--type: value &#39;passport&#39;" in refused.text
    # Without the CSRF token nothing is written.
    forged = client.post(
        f"/launch/{world.store_a1}/documents",
        data={"type": "trademark"},
        files={"file": ("f.pdf", b"forged")},
    )
    assert forged.status_code == 403
    assert _documents(world) == 3  # two from add_launch, one uploaded here
    with world.ws.session() as s:
        ids = s.scalars(select(VaultDocument.id).where(VaultDocument.title == "商标注册证")).all()
    download = client.get(f"/api/v1/documents/{ids[0]}")
    assert download.content == CONTENT
    # Another seller's store: the forms answer 404, as the page does.
    other = client.post(
        f"/launch/{world.store_b}/assets",
        data={"kind": "phone", "identifier": "x", "holder": "seller", "csrf_token": csrf},
    )
    assert other.status_code == 404
