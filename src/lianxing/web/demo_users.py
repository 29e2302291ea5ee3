"""Demo logins for ``lianxing demo``: a seller owner, and an agency operator who was granted
some (not all) of the seller's stores, so that both sides of access control can be tried."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from lianxing.accounts.service import add_grant, add_user, create_org
from lianxing.db.models import AccessGrant, Organisation, Store
from lianxing.domain.accounts import GrantScope, OrgKind, Role
from lianxing.domain.time import utcnow
from lianxing.workspace import Workspace

SELLER_OWNER = ("owner@demo.lianxing.dev", "demo-owner-2026", Role.OWNER)
AGENCY_OPERATOR = ("ops@agency.lianxing.dev", "demo-agency-2026", Role.OPS)
AGENCY_NAME = "星火代运营 / Xinghuo Agency (demo)"
GRANT_DAYS = 90
GRANTED_STORES = 2  # the agency runs the first two demo stores, not the third


def ensure_demo_users(workspace: Workspace) -> list[tuple[str, str, str]]:
    """Create (or reuse) the demo users and the agency's grants; (email, password, role).

    The seller is the organisation owning the workspace's first store; call this after the
    demo stores exist.
    """
    actor = "demo"
    with workspace.session() as session:
        stores = list(session.scalars(select(Store).order_by(Store.id)))
        if stores:
            seller = session.get(Organisation, stores[0].org_id)
        else:
            seller = session.scalars(
                select(Organisation).where(Organisation.kind == OrgKind.SELLER.value)
            ).first()
        assert seller is not None, "the workspace has no seller organisation; run lianxing init"
        agency = session.scalars(
            select(Organisation).where(Organisation.name == AGENCY_NAME)
        ).first() or create_org(session, name=AGENCY_NAME, kind=OrgKind.AGENCY.value, actor=actor)
        owner_email, owner_password, owner_role = SELLER_OWNER
        add_user(
            session,
            email=owner_email,
            password=owner_password,
            org_id=seller.id,
            role=owner_role.value,
            actor=actor,
            display_name="演示卖家 Demo Seller",
        )
        agent_email, agent_password, agent_role = AGENCY_OPERATOR
        add_user(
            session,
            email=agent_email,
            password=agent_password,
            org_id=agency.id,
            role=agent_role.value,
            actor=actor,
            display_name="演示运营 Demo Operator",
        )
        now = utcnow()
        for store in [s for s in stores if s.org_id == seller.id][:GRANTED_STORES]:
            active = [
                g
                for g in session.scalars(
                    select(AccessGrant).where(
                        AccessGrant.agency_org_id == agency.id, AccessGrant.store_id == store.id
                    )
                )
                if g.is_valid(now)
            ]
            if not active:
                add_grant(
                    session,
                    agency_org_id=agency.id,
                    store_id=store.id,
                    scope=GrantScope.OPERATE.value,
                    expires_at=now + timedelta(days=GRANT_DAYS),
                    actor=actor,
                )
    return [
        (owner_email, owner_password, "seller owner / 卖家所有者"),
        (agent_email, agent_password, "agency operator / 服务商运营"),
    ]
