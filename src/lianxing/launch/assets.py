"""Account-asset ledger services: record, verify, list, check and reveal a store's assets.

Identifiers (login e-mails, phone numbers, account numbers) are encrypted with the
workspace key wherever they are stored: the asset row, its history and nothing in the
audit log but their masked form. Views show the masked form only; ``reveal_identifier``
decrypts one and records the read in the audit log, as reading a vault document does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lianxing.db.audit import record
from lianxing.db.models import Store
from lianxing.db.models_launch import AccountAsset, AccountAssetEvent
from lianxing.domain.assets import (
    DEFAULT_STALE_AFTER_DAYS,
    AssetChange,
    AssetError,
    AssetKind,
    AssetSnapshot,
    Finding,
    HolderKind,
    check_assets,
    mask_identifier,
)
from lianxing.domain.time import utcnow
from lianxing.security import Cipher, SecretError

MAX_IDENTIFIER_LENGTH = 300


def _encrypt(cipher: Cipher, identifier: str) -> str:
    return cipher.encrypt(identifier.encode()).decode()


def _decrypt(cipher: Cipher, asset_id: int, token: str) -> str:
    try:
        return cipher.decrypt(token.encode()).decode()
    except SecretError as exc:
        raise AssetError(f"asset {asset_id}: identifier unreadable: {exc} / 标识无法解密") from exc


def _snapshot(cipher: Cipher, asset: AccountAsset) -> AssetSnapshot:
    """The asset with its identifier decrypted: for the ledger's own comparisons only."""
    return AssetSnapshot(
        kind=AssetKind(asset.kind),
        label=asset.label,
        identifier=_decrypt(cipher, asset.id, asset.identifier_enc),
        holder_kind=HolderKind(asset.holder_kind),
        holder_name=asset.holder_name,
        last_verified_at=asset.last_verified_at,
    )


def _masked(plain: dict[str, Any]) -> dict[str, Any]:
    return {**plain, "identifier": mask_identifier(plain["identifier"])}


def _stored(cipher: Cipher, plain: dict[str, Any]) -> dict[str, Any]:
    """A history record as stored: the identifier encrypted (its own key name says so)."""
    stored = {k: v for k, v in plain.items() if k != "identifier"}
    return stored | {"identifier_enc": _encrypt(cipher, plain["identifier"])}


def _plain(cipher: Cipher, asset_id: int, stored: dict[str, Any]) -> dict[str, Any]:
    plain = {k: v for k, v in stored.items() if k != "identifier_enc"}
    return plain | {"identifier": _decrypt(cipher, asset_id, stored["identifier_enc"])}


@dataclass(frozen=True, slots=True)
class AssetView:
    """An asset as lists, pages and ``--json`` show it: the identifier masked."""

    id: int
    store_id: int
    snapshot: AssetSnapshot
    updated_at: dt.datetime
    history: tuple[dict[str, Any], ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "store_id": self.store_id,
            **self.snapshot.as_record(),
            "updated_at": self.updated_at.isoformat(timespec="seconds"),
            "history": list(self.history),
        }


def _store(session: Session, store_id: int) -> Store:
    store = session.get(Store, store_id)
    if store is None:
        raise AssetError(f"--store: no store with id {store_id}")
    return store


def set_asset(
    session: Session,
    cipher: Cipher,
    *,
    store_id: int,
    kind: AssetKind,
    label: str = "",
    identifier: str | None = None,
    holder_kind: HolderKind | None = None,
    holder_name: str | None = None,
    verified: bool = False,
    note: str | None = None,
    actor: str = "cli",
    now: dt.datetime | None = None,
) -> AssetView:
    """Create or change an asset; ``verified`` records that someone checked it now."""
    _store(session, store_id)
    at = now or utcnow()
    label = label.strip()
    asset = session.scalar(
        select(AccountAsset).where(
            AccountAsset.store_id == store_id,
            AccountAsset.kind == kind.value,
            AccountAsset.label == label,
        )
    )
    if holder_kind is HolderKind.PERSON and not (holder_name or "").strip():
        raise AssetError("--holder-name: a person holder needs a name / 个人持有须写明姓名")
    if len((identifier or "").strip()) > MAX_IDENTIFIER_LENGTH:
        raise AssetError(f"--id: longer than {MAX_IDENTIFIER_LENGTH} characters / 标识过长")
    if asset is None:
        if not (identifier or "").strip():
            raise AssetError(
                "--id: a new asset needs an identifier (e-mail, phone, account number, app name)"
            )
        if holder_kind is None:
            raise AssetError("--holder: a new asset needs its holder (seller, agency, person)")
        asset = AccountAsset(
            store_id=store_id,
            kind=kind.value,
            label=label,
            identifier_enc=_encrypt(cipher, (identifier or "").strip()),
            holder_kind=holder_kind.value,
            holder_name=(holder_name or "").strip() or None,
            last_verified_at=at if verified else None,
            updated_at=at,
            updated_by=actor,
        )
        session.add(asset)
        session.flush()
        before = None
    else:
        before = _snapshot(cipher, asset).as_record()
        new_identifier = (identifier or "").strip()
        if new_identifier and new_identifier != before["identifier"]:
            asset.identifier_enc = _encrypt(cipher, new_identifier)
        if holder_kind is not None:
            asset.holder_kind = holder_kind.value
            if holder_kind is not HolderKind.PERSON and holder_name is None:
                asset.holder_name = None
        if holder_name is not None:
            asset.holder_name = holder_name.strip() or None
        if verified:
            asset.last_verified_at = at
    after = _snapshot(cipher, asset).as_record()
    if before is None:
        action = "create"
    else:
        changed = {k: v for k, v in after.items() if before.get(k) != v}
        changed.pop("last_verified_at", None)
        if not changed and not verified:
            raise AssetError("nothing to change: give a new value, --verified or both")
        action = "change" if changed else "verify"
        asset.updated_at = at
        asset.updated_by = actor
    session.add(
        AccountAssetEvent(
            asset_id=asset.id,
            at=at,
            actor=actor,
            action=action,
            note=(note or "").strip() or None,
            before=None if before is None else _stored(cipher, before),
            after=_stored(cipher, after),
        )
    )
    session.flush()
    record(
        session,
        actor=actor,
        action=f"asset.{action}",
        entity="account_asset",
        entity_id=asset.id,
        data={
            "store_id": store_id,
            "before": None if before is None else _masked(before),
            "after": _masked(after),
            "note": note,
        },
    )
    return _view(session, cipher, asset)


def _events(session: Session, asset_id: int) -> list[AccountAssetEvent]:
    return list(
        session.scalars(
            select(AccountAssetEvent)
            .where(AccountAssetEvent.asset_id == asset_id)
            .order_by(AccountAssetEvent.at, AccountAssetEvent.id)
        )
    )


def _view(session: Session, cipher: Cipher, asset: AccountAsset) -> AssetView:
    history = tuple(
        {
            "at": e.at.isoformat(timespec="seconds"),
            "actor": e.actor,
            "action": e.action,
            "note": e.note,
            "after": _masked(_plain(cipher, asset.id, e.after)),
        }
        for e in _events(session, asset.id)
    )
    snapshot = _snapshot(cipher, asset)
    masked = replace(snapshot, identifier=mask_identifier(snapshot.identifier))
    return AssetView(asset.id, asset.store_id, masked, asset.updated_at, history)


def list_assets(session: Session, cipher: Cipher, *, store_id: int) -> list[AssetView]:
    _store(session, store_id)
    assets = session.scalars(
        select(AccountAsset)
        .where(AccountAsset.store_id == store_id)
        .order_by(AccountAsset.kind, AccountAsset.label)
    )
    return [_view(session, cipher, a) for a in assets]


def asset_store(session: Session, asset_id: int) -> int | None:
    """The store an asset belongs to (None: no such asset), for access checks."""
    return session.scalar(select(AccountAsset.store_id).where(AccountAsset.id == asset_id))


def reveal_identifier(
    session: Session, cipher: Cipher, asset_id: int, *, actor: str = "cli"
) -> tuple[AssetView, str]:
    """The asset's full identifier, for someone who asked for it: the read is audited."""
    asset = session.get(AccountAsset, asset_id)
    if asset is None:
        raise AssetError(f"ASSET: no asset with id {asset_id} / 资产不存在")
    identifier = _decrypt(cipher, asset.id, asset.identifier_enc)
    record(
        session,
        actor=actor,
        action="asset.reveal",
        entity="account_asset",
        entity_id=asset.id,
        data={
            "store_id": asset.store_id,
            "kind": asset.kind,
            "label": asset.label,
            "identifier": mask_identifier(identifier),
        },
    )
    return _view(session, cipher, asset), identifier


def check_store_assets(
    session: Session,
    cipher: Cipher,
    *,
    store_id: int,
    now: dt.datetime | None = None,
    stale_after_days: int = DEFAULT_STALE_AFTER_DAYS,
) -> list[Finding]:
    _store(session, store_id)
    pairs = []
    for asset in session.scalars(select(AccountAsset).where(AccountAsset.store_id == store_id)):
        history = [
            AssetChange(e.at, e.action, e.note, _plain(cipher, asset.id, e.after))
            for e in _events(session, asset.id)
        ]
        pairs.append((_snapshot(cipher, asset), history))
    return check_assets(pairs, now=now or utcnow(), stale_after_days=stale_after_days)
