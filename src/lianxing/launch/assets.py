"""Account-asset ledger services: record, verify, list and check a store's assets."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
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
)
from lianxing.domain.time import utcnow


def _snapshot(asset: AccountAsset) -> AssetSnapshot:
    return AssetSnapshot(
        kind=AssetKind(asset.kind),
        label=asset.label,
        identifier=asset.identifier,
        holder_kind=HolderKind(asset.holder_kind),
        holder_name=asset.holder_name,
        last_verified_at=asset.last_verified_at,
    )


@dataclass(frozen=True, slots=True)
class AssetView:
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
    if asset is None:
        if not (identifier or "").strip():
            raise AssetError(
                "--id: a new asset needs an identifier (e-mail, masked number, app name)"
            )
        if holder_kind is None:
            raise AssetError("--holder: a new asset needs its holder (seller, agency, person)")
        asset = AccountAsset(
            store_id=store_id,
            kind=kind.value,
            label=label,
            identifier=(identifier or "").strip(),
            holder_kind=holder_kind.value,
            holder_name=(holder_name or "").strip() or None,
            last_verified_at=at if verified else None,
            updated_at=at,
            updated_by=actor,
        )
        session.add(asset)
        session.flush()
        before = None
        action = "create"
    else:
        before = _snapshot(asset).as_record()
        if identifier is not None and identifier.strip():
            asset.identifier = identifier.strip()
        if holder_kind is not None:
            asset.holder_kind = holder_kind.value
            if holder_kind is not HolderKind.PERSON and holder_name is None:
                asset.holder_name = None
        if holder_name is not None:
            asset.holder_name = holder_name.strip() or None
        if verified:
            asset.last_verified_at = at
        changed = {k: v for k, v in _snapshot(asset).as_record().items() if before.get(k) != v}
        changed.pop("last_verified_at", None)
        if not changed and not verified:
            raise AssetError("nothing to change: give a new value, --verified or both")
        action = "change" if changed else "verify"
        asset.updated_at = at
        asset.updated_by = actor
    after = _snapshot(asset).as_record()
    session.add(
        AccountAssetEvent(
            asset_id=asset.id,
            at=at,
            actor=actor,
            action=action,
            note=(note or "").strip() or None,
            before=before,
            after=after,
        )
    )
    session.flush()
    record(
        session,
        actor=actor,
        action=f"asset.{action}",
        entity="account_asset",
        entity_id=asset.id,
        data={"store_id": store_id, "before": before, "after": after, "note": note},
    )
    return _view(session, asset)


def _events(session: Session, asset_id: int) -> list[AccountAssetEvent]:
    return list(
        session.scalars(
            select(AccountAssetEvent)
            .where(AccountAssetEvent.asset_id == asset_id)
            .order_by(AccountAssetEvent.at, AccountAssetEvent.id)
        )
    )


def _view(session: Session, asset: AccountAsset) -> AssetView:
    history = tuple(
        {
            "at": e.at.isoformat(timespec="seconds"),
            "actor": e.actor,
            "action": e.action,
            "note": e.note,
            "after": e.after,
        }
        for e in _events(session, asset.id)
    )
    return AssetView(asset.id, asset.store_id, _snapshot(asset), asset.updated_at, history)


def list_assets(session: Session, *, store_id: int) -> list[AssetView]:
    _store(session, store_id)
    assets = session.scalars(
        select(AccountAsset)
        .where(AccountAsset.store_id == store_id)
        .order_by(AccountAsset.kind, AccountAsset.label)
    )
    return [_view(session, a) for a in assets]


def check_store_assets(
    session: Session,
    *,
    store_id: int,
    now: dt.datetime | None = None,
    stale_after_days: int = DEFAULT_STALE_AFTER_DAYS,
) -> list[Finding]:
    _store(session, store_id)
    pairs = []
    for asset in session.scalars(select(AccountAsset).where(AccountAsset.store_id == store_id)):
        history = [AssetChange(e.at, e.action, e.note, e.after) for e in _events(session, asset.id)]
        pairs.append((_snapshot(asset), history))
    return check_assets(pairs, now=now or utcnow(), stale_after_days=stale_after_days)
