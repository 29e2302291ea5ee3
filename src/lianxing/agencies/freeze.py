"""Sensitive-operation freeze (敏感操作冻结): suspend every grant of an agency at once.

A freeze lists the grants it suspended; a grant is frozen at a moment when a freeze that
lists it was made at or before that moment and not lifted by then. Freezing and lifting
are each one audited action with the reason; grants themselves are not changed, so lifting
restores exactly the access there was (grants that expired meanwhile stay expired).
The access check (``lianxing.accounts.service``) treats a frozen grant as invalid through
:func:`frozen_grant_ids`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from lianxing.db.audit import record
from lianxing.db.models import AccessGrant, Organisation, Store
from lianxing.db.models_agency import GrantFreeze, GrantFreezeItem
from lianxing.domain.accounts import OrgKind
from lianxing.domain.time import utcnow


class FreezeError(ValueError):
    """A freeze request that cannot be carried out; the message says why."""


@dataclass(frozen=True, slots=True)
class FreezeView:
    id: int
    agency_org_id: int
    reason: str
    frozen_at: dt.datetime
    frozen_by: str
    grant_ids: list[int]
    lifted_at: dt.datetime | None
    lifted_by: str | None
    lift_reason: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "agency_org_id": self.agency_org_id,
            "reason": self.reason,
            "frozen_at": self.frozen_at.isoformat(timespec="seconds"),
            "frozen_by": self.frozen_by,
            "grants": self.grant_ids,
            "lifted_at": self.lifted_at.isoformat(timespec="seconds") if self.lifted_at else None,
            "lifted_by": self.lifted_by,
            "lift_reason": self.lift_reason,
        }


def _view(session: Session, freeze: GrantFreeze) -> FreezeView:
    ids = session.scalars(
        select(GrantFreezeItem.grant_id)
        .where(GrantFreezeItem.freeze_id == freeze.id)
        .order_by(GrantFreezeItem.grant_id)
    ).all()
    return FreezeView(
        freeze.id,
        freeze.agency_org_id,
        freeze.reason,
        freeze.frozen_at,
        freeze.frozen_by,
        list(ids),
        freeze.lifted_at,
        freeze.lifted_by,
        freeze.lift_reason,
    )


def frozen_grant_ids(
    session: Session, grant_ids: Collection[int], at: dt.datetime | None = None
) -> set[int]:
    """The grants among ``grant_ids`` that a freeze suspends at ``at`` (default now)."""
    if not grant_ids:
        return set()
    moment = at or utcnow()
    query = (
        select(GrantFreezeItem.grant_id)
        .join(GrantFreeze, GrantFreeze.id == GrantFreezeItem.freeze_id)
        .where(
            GrantFreezeItem.grant_id.in_(sorted(grant_ids)),
            GrantFreeze.frozen_at <= moment,
            or_(GrantFreeze.lifted_at.is_(None), GrantFreeze.lifted_at > moment),
        )
    )
    return set(session.scalars(query))


def is_grant_frozen(session: Session, grant_id: int, at: dt.datetime | None = None) -> bool:
    return grant_id in frozen_grant_ids(session, [grant_id], at)


def freeze_agency(
    session: Session,
    *,
    agency_org_id: int,
    reason: str,
    actor: str,
    seller_org_id: int | None = None,
    at: dt.datetime | None = None,
) -> FreezeView:
    """Suspend every grant of the agency valid now (on ``seller_org_id``'s stores if given)."""
    agency = session.get(Organisation, agency_org_id)
    if agency is None or agency.kind != OrgKind.AGENCY.value:
        raise FreezeError(f"--agency: no agency organisation with id {agency_org_id}")
    text = reason.strip()
    if not text:
        raise FreezeError("--reason: empty; say why the agency's access is frozen")
    moment = at or utcnow()
    query = select(AccessGrant).where(AccessGrant.agency_org_id == agency_org_id)
    if seller_org_id is not None:
        query = query.join(Store, Store.id == AccessGrant.store_id).where(
            Store.org_id == seller_org_id
        )
    grants = [g for g in session.scalars(query.order_by(AccessGrant.id)) if g.is_valid(moment)]
    already = frozen_grant_ids(session, [g.id for g in grants], moment)
    grants = [g for g in grants if g.id not in already]
    if not grants:
        raise FreezeError(
            f"agency {agency_org_id} ({agency.name}) has no active grant that is not already frozen"
        )
    freeze = GrantFreeze(
        agency_org_id=agency_org_id, reason=text, frozen_at=moment, frozen_by=actor
    )
    session.add(freeze)
    session.flush()
    for grant in grants:
        session.add(GrantFreezeItem(freeze_id=freeze.id, grant_id=grant.id))
    session.flush()
    record(
        session,
        actor=actor,
        action="grant.freeze",
        entity="grant_freeze",
        entity_id=freeze.id,
        data={
            "agency_org_id": agency_org_id,
            "grants": [g.id for g in grants],
            "stores": sorted({g.store_id for g in grants}),
            "reason": text,
        },
    )
    return _view(session, freeze)


def lift_freeze(
    session: Session, freeze_id: int, *, reason: str, actor: str, at: dt.datetime | None = None
) -> FreezeView:
    freeze = session.get(GrantFreeze, freeze_id)
    if freeze is None:
        raise FreezeError(f"no freeze with id {freeze_id}")
    if freeze.lifted_at is not None:
        raise FreezeError(
            f"freeze {freeze_id} was already lifted at {freeze.lifted_at.isoformat()}"
        )
    text = reason.strip()
    if not text:
        raise FreezeError("--reason: empty; say why the freeze is lifted")
    freeze.lifted_at = at or utcnow()
    freeze.lifted_by = actor
    freeze.lift_reason = text
    record(
        session,
        actor=actor,
        action="grant.unfreeze",
        entity="grant_freeze",
        entity_id=freeze.id,
        data={"agency_org_id": freeze.agency_org_id, "reason": text},
    )
    return _view(session, freeze)


def list_freezes(session: Session, agency_org_id: int | None = None) -> list[FreezeView]:
    query = select(GrantFreeze).order_by(GrantFreeze.id)
    if agency_org_id is not None:
        query = query.where(GrantFreeze.agency_org_id == agency_org_id)
    return [_view(session, f) for f in session.scalars(query)]
