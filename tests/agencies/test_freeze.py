"""Freezing an agency suspends all its grants at once, the access check honours it, and
lifting restores exactly what there was; both are audited with their reasons."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from lianxing.accounts.service import (
    access_to,
    add_grant,
    add_user,
    create_org,
    load_principal,
    revoke_grant,
)
from lianxing.agencies.freeze import (
    FreezeError,
    freeze_agency,
    is_grant_frozen,
    lift_freeze,
    list_freezes,
)
from lianxing.db.models import AuditEntry
from lianxing.domain.access import Access
from lianxing.stores import create_store
from lianxing.workspace import Workspace


def test_freeze_suspends_every_grant_and_lifting_restores_them(workspace: Workspace) -> None:
    with workspace.session() as session:
        seller = create_org(session, name="Xinghe", kind="seller", actor="t")
        agency = create_org(session, name="Lianpao", kind="agency", actor="t")
        other = create_org(session, name="Other agency", kind="agency", actor="t")
        stores = [
            create_store(session, platform="amazon", site=site, name=f"S {site}", org_id=seller.id)
            for site in ("US", "UK", "DE")
        ]
        user = add_user(
            session,
            email="ops@lianpao.example",
            password="Correct-horse-battery-9",
            org_id=agency.id,
            role="ops",
            actor="t",
        )
        grants = [
            add_grant(
                session,
                agency_org_id=agency.id,
                store_id=s.id,
                scope="operate",
                expires_at=None,
                actor="seller",
            )
            for s in stores
        ]
        revoke_grant(session, grants[2].id, reason="ended", actor="seller")
        outsider = add_grant(
            session,
            agency_org_id=other.id,
            store_id=stores[0].id,
            scope="read",
            expires_at=None,
            actor="seller",
        )
        ids = (
            seller.id,
            agency.id,
            user.id,
            [g.id for g in grants],
            outsider.id,
            [s.id for s in stores],
        )
    _, agency_id, user_id, grant_ids, outsider_id, store_ids = ids

    with workspace.session() as session:
        view = freeze_agency(
            session,
            agency_org_id=agency_id,
            reason="异常改价 / odd repricing",
            actor="seller-admin",
        )
        # The revoked grant is not part of it; the other agency's grant is untouched.
        assert view.grant_ids == grant_ids[:2]
        assert is_grant_frozen(session, grant_ids[0])
        assert not is_grant_frozen(session, outsider_id)
        principal = load_principal(session, user_id)
        assert principal is not None
        assert access_to(session, principal, store_ids[0])[1] is Access.NONE
        with pytest.raises(FreezeError, match="no active grant that is not already frozen"):
            freeze_agency(session, agency_org_id=agency_id, reason="again", actor="x")
        freeze_id = view.id

    with workspace.session() as session:
        lifted = lift_freeze(session, freeze_id, reason="核实无误 / checked", actor="seller-admin")
        assert lifted.lifted_by == "seller-admin"
        assert lifted.lifted_at is not None
        principal = load_principal(session, user_id)
        assert principal is not None
        assert access_to(session, principal, store_ids[0])[1] is Access.OPERATE
        # The freeze is still on record for the time it lasted.
        assert is_grant_frozen(session, grant_ids[1], lifted.frozen_at)
        assert not is_grant_frozen(
            session, grant_ids[1], lifted.frozen_at - dt.timedelta(seconds=1)
        )
        assert not is_grant_frozen(session, grant_ids[1], lifted.lifted_at)
        with pytest.raises(FreezeError, match="already lifted"):
            lift_freeze(session, freeze_id, reason="x", actor="x")
        assert [f.reason for f in list_freezes(session, agency_id)] == ["异常改价 / odd repricing"]
        audited = session.scalars(
            select(AuditEntry.data)
            .where(AuditEntry.entity == "grant_freeze")
            .order_by(AuditEntry.seq)
        ).all()
    assert [a["reason"] for a in audited] == ["异常改价 / odd repricing", "核实无误 / checked"]
    assert audited[0]["grants"] == grant_ids[:2]


def test_freezing_needs_an_agency_and_a_reason(workspace: Workspace) -> None:
    with workspace.session() as session:
        seller = create_org(session, name="Xinghe", kind="seller", actor="t")
        agency = create_org(session, name="Lianpao", kind="agency", actor="t")
        with pytest.raises(FreezeError, match="no agency organisation with id"):
            freeze_agency(session, agency_org_id=seller.id, reason="x", actor="t")
        with pytest.raises(FreezeError, match="--reason: empty"):
            freeze_agency(session, agency_org_id=agency.id, reason="  ", actor="t")
