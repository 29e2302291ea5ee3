"""Users, organisations, memberships and agency grants; who may see which store.

The rules are in ``lianxing.domain.access``; this module loads the facts they need from the
application database. Every change is written with an audit entry in the same transaction.
The CLI (``lianxing user``, ``lianxing grant``) and the web app call these functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from lianxing.agencies.freeze import frozen_grant_ids
from lianxing.db.audit import record
from lianxing.db.models import AccessGrant, Membership, Organisation, Store, User
from lianxing.domain.access import (
    Access,
    GrantFacts,
    MemberOf,
    can_administer_org,
    grant_status,
    may_assign_role,
    store_access,
)
from lianxing.domain.accounts import GrantScope, OrgKind, Role
from lianxing.domain.time import utcnow
from lianxing.security import hash_password, verify_password

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 10


class AccountError(ValueError):
    """Input that cannot make a user, organisation or grant; the message says why."""


class StoreNotFound(LookupError):
    """No such store, or one the caller may not see (the two are told apart to nobody)."""


class NotAllowed(PermissionError):
    """The caller sees the thing but may not do this with it."""


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: a user and their memberships."""

    user_id: int
    email: str
    display_name: str
    locale: str
    memberships: tuple[MemberOf, ...]
    org_names: dict[int, str]

    @property
    def actor(self) -> str:
        return f"user:{self.email}"

    @property
    def seller_org_ids(self) -> list[int]:
        return [m.org_id for m in self.memberships if m.org_kind is OrgKind.SELLER]

    @property
    def is_agency(self) -> bool:
        return any(m.org_kind is OrgKind.AGENCY for m in self.memberships)

    def administers(self, org_id: int) -> bool:
        return can_administer_org(self.memberships, org_id)

    @property
    def admin_org_ids(self) -> list[int]:
        return sorted({m.org_id for m in self.memberships if self.administers(m.org_id)})

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.user_id,
            "email": self.email,
            "display_name": self.display_name,
            "locale": self.locale,
            "memberships": [
                {
                    "org_id": m.org_id,
                    "org_name": self.org_names.get(m.org_id, ""),
                    "org_kind": m.org_kind.value,
                    "role": m.role.value,
                }
                for m in self.memberships
            ],
        }


def load_principal(session: Session, user_id: int) -> Principal | None:
    """The active user with their memberships; None for unknown or deactivated users."""
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        return None
    rows = session.execute(
        select(Membership.org_id, Organisation.kind, Membership.role, Organisation.name)
        .join(Organisation, Organisation.id == Membership.org_id)
        .where(Membership.user_id == user_id)
        .order_by(Membership.org_id, Membership.role)
    ).all()
    return Principal(
        user_id=user.id,
        email=user.email,
        display_name=user.display_name,
        locale=user.locale,
        memberships=tuple(MemberOf(r[0], OrgKind(r[1]), Role(r[2])) for r in rows),
        org_names={r[0]: r[3] for r in rows},
    )


def authenticate(session: Session, email: str, password: str) -> User | None:
    user = session.scalars(select(User).where(User.email == normalise_email(email))).first()
    if user is None or not user.is_active or user.password_hash is None:
        # Hash anyway so that a wrong e-mail takes as long as a wrong password.
        verify_password(_DUMMY_HASH, password)
        return None
    return user if verify_password(user.password_hash, password) else None


_DUMMY_HASH = hash_password("lianxing-timing-equaliser")


# ---------------------------------------------------------------------------------------
# Store access
# ---------------------------------------------------------------------------------------


def _grant_facts(grant: AccessGrant) -> GrantFacts:
    return GrantFacts(
        agency_org_id=grant.agency_org_id,
        store_id=grant.store_id,
        scope=GrantScope(grant.scope),
        expires_at=grant.expires_at,
        revoked_at=grant.revoked_at,
    )


def _agency_grants(
    session: Session, principal: Principal, store_ids: list[int] | None = None
) -> list[GrantFacts]:
    agency_ids = [m.org_id for m in principal.memberships if m.org_kind is OrgKind.AGENCY]
    if not agency_ids:
        return []
    query = select(AccessGrant).where(AccessGrant.agency_org_id.in_(agency_ids))
    if store_ids is not None:
        query = query.where(AccessGrant.store_id.in_(store_ids))
    grants = list(session.scalars(query))
    # A grant suspended by a sensitive-operation freeze gives no access while it lasts.
    frozen = frozen_grant_ids(session, [g.id for g in grants])
    return [_grant_facts(g) for g in grants if g.id not in frozen]


def visible_stores(
    session: Session, principal: Principal, at: datetime | None = None
) -> list[tuple[Store, Access]]:
    """Every store the caller may see now, with the access they have, by store id."""
    at = at or utcnow()
    grants = _agency_grants(session, principal)
    granted_ids = {g.store_id for g in grants if g.valid_at(at)}
    query = select(Store).where(
        or_(Store.org_id.in_(principal.seller_org_ids), Store.id.in_(granted_ids))
    )
    result = []
    for store in session.scalars(query.order_by(Store.id)):
        level = store_access(principal.memberships, store.id, store.org_id, grants, at)
        if level > Access.NONE:
            result.append((store, level))
    return result


def access_to(
    session: Session, principal: Principal, store_id: int, at: datetime | None = None
) -> tuple[Store | None, Access]:
    store = session.get(Store, store_id)
    if store is None:
        return None, Access.NONE
    grants = _agency_grants(session, principal, [store_id])
    return store, store_access(
        principal.memberships, store.id, store.org_id, grants, at or utcnow()
    )


def require_store(
    session: Session,
    principal: Principal,
    store_id: int,
    need: Access = Access.READ,
    at: datetime | None = None,
) -> Store:
    """The store if the caller has ``need``; StoreNotFound if they cannot see it at all."""
    store, level = access_to(session, principal, store_id, at)
    if store is None or level is Access.NONE:
        raise StoreNotFound(f"no store with id {store_id} / 店铺不存在")
    if level < need:
        raise NotAllowed(
            f"store {store_id}: your access is {level.name.lower()}, this needs "
            f"{need.name.lower()} / 权限不足"
        )
    return store


# ---------------------------------------------------------------------------------------
# Organisations and users
# ---------------------------------------------------------------------------------------


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_org(session: Session, ref: str) -> Organisation | None:
    """An organisation by id ("3") or exact name."""
    ref = ref.strip()
    if ref.isdigit():
        return session.get(Organisation, int(ref))
    return session.scalars(select(Organisation).where(Organisation.name == ref)).first()


def create_org(session: Session, *, name: str, kind: str, actor: str) -> Organisation:
    name = name.strip()
    if not name:
        raise AccountError("--org: an organisation needs a name / 组织名称不能为空")
    kinds = [k.value for k in OrgKind]
    if kind not in kinds:
        raise AccountError(f"--org-kind: {kind!r} is not one of {', '.join(kinds)}")
    org = Organisation(name=name, kind=kind)
    session.add(org)
    session.flush()
    record(
        session,
        actor=actor,
        action="org.create",
        entity="organisation",
        entity_id=org.id,
        data={"name": name, "kind": kind},
    )
    return org


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            f"password: at least {MIN_PASSWORD_LENGTH} characters expected, got {len(password)} "
            f"/ 密码至少 {MIN_PASSWORD_LENGTH} 位"
        )


def parse_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise AccountError(
            f"--role: {role!r} is not one of {', '.join(r.value for r in Role)}"
        ) from None


def add_user(
    session: Session,
    *,
    email: str,
    password: str | None,
    org_id: int,
    role: str,
    actor: str,
    display_name: str | None = None,
    locale: str = "zh",
) -> User:
    """Create the user (or reuse one with this e-mail) and make them a member of ``org_id``."""
    address = normalise_email(email)
    if not _EMAIL.match(address):
        raise AccountError(f"--email: {email!r} is not an e-mail address")
    parsed_role = parse_role(role)
    org = session.get(Organisation, org_id)
    if org is None:
        raise AccountError(f"--org: no organisation with id {org_id}")
    user = session.scalars(select(User).where(User.email == address)).first()
    if user is None:
        if password is None:
            raise AccountError("a new user needs a password / 新用户需要密码")
        check_password(password)
        user = User(
            email=address,
            display_name=(display_name or address.split("@")[0]).strip(),
            password_hash=hash_password(password),
            locale=locale if locale in ("zh", "en") else "zh",
        )
        session.add(user)
        session.flush()
        record(
            session,
            actor=actor,
            action="user.create",
            entity="user",
            entity_id=user.id,
            data={"email": address, "display_name": user.display_name},
        )
    elif password is not None:
        check_password(password)
        user.password_hash = hash_password(password)
        record(session, actor=actor, action="user.password", entity="user", entity_id=user.id)
    exists = session.scalars(
        select(Membership).where(
            Membership.user_id == user.id,
            Membership.org_id == org.id,
            Membership.role == parsed_role.value,
        )
    ).first()
    if exists is None:
        session.add(Membership(user_id=user.id, org_id=org.id, role=parsed_role.value))
        session.flush()
        record(
            session,
            actor=actor,
            action="membership.create",
            entity="user",
            entity_id=user.id,
            data={"org_id": org.id, "role": parsed_role.value},
        )
    return user


def add_user_as(
    session: Session,
    principal: Principal,
    *,
    email: str,
    password: str | None,
    org_id: int,
    role: str,
    display_name: str | None = None,
) -> User:
    """``add_user`` for a caller: only an org's owner/admin adds to it (owners make owners)."""
    if not principal.administers(org_id):
        raise NotAllowed(f"organisation {org_id}: only its owner or admin adds users / 无权限")
    if not may_assign_role(principal.memberships, org_id, parse_role(role)):
        raise NotAllowed("only an owner can make another owner / 只有所有者可以添加所有者")
    return add_user(
        session,
        email=email,
        password=password,
        org_id=org_id,
        role=role,
        actor=principal.actor,
        display_name=display_name,
    )


def list_members(session: Session, principal: Principal) -> list[dict[str, Any]]:
    """Members of the organisations the caller administers (others see only themselves)."""
    org_ids = principal.admin_org_ids
    query = (
        select(User, Membership, Organisation)
        .join(Membership, Membership.user_id == User.id)
        .join(Organisation, Organisation.id == Membership.org_id)
        .where(or_(Membership.org_id.in_(org_ids), User.id == principal.user_id))
        .order_by(Organisation.id, User.email)
    )
    return [
        {
            "id": user.id,
            "email": user.email,
            "display_name": user.display_name,
            "is_active": user.is_active,
            "org_id": org.id,
            "org_name": org.name,
            "org_kind": org.kind,
            "role": membership.role,
        }
        for user, membership, org in session.execute(query)
    ]


# ---------------------------------------------------------------------------------------
# Agency grants
# ---------------------------------------------------------------------------------------


def grant_json(
    grant: AccessGrant, store: Store, agency: Organisation, at: datetime
) -> dict[str, Any]:
    return {
        "id": grant.id,
        "store_id": store.id,
        "store_name": store.name,
        "agency_org_id": agency.id,
        "agency_name": agency.name,
        "scope": grant.scope,
        "created_at": grant.created_at.isoformat(),
        "expires_at": grant.expires_at.isoformat() if grant.expires_at else None,
        "revoked_at": grant.revoked_at.isoformat() if grant.revoked_at else None,
        "revoked_reason": grant.revoked_reason,
        "status": grant_status(_grant_facts(grant), at),
    }


def add_grant(
    session: Session,
    *,
    agency_org_id: int,
    store_id: int,
    scope: str,
    expires_at: datetime | None,
    actor: str,
    granted_by_user_id: int | None = None,
) -> AccessGrant:
    agency = session.get(Organisation, agency_org_id)
    if agency is None or agency.kind != OrgKind.AGENCY.value:
        raise AccountError(f"--agency: no agency organisation with id {agency_org_id}")
    store = session.get(Store, store_id)
    if store is None:
        raise AccountError(f"--store: no store with id {store_id} / 店铺不存在")
    scopes = [s.value for s in GrantScope]
    if scope not in scopes:
        raise AccountError(f"--scope: {scope!r} is not one of {', '.join(scopes)}")
    now = utcnow()
    if expires_at is not None and expires_at <= now:
        raise AccountError(f"--expires: {expires_at.isoformat()} is in the past / 到期时间已过")
    grant = AccessGrant(
        agency_org_id=agency.id,
        store_id=store.id,
        scope=scope,
        granted_by_user_id=granted_by_user_id,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(grant)
    session.flush()
    record(
        session,
        actor=actor,
        action="grant.create",
        entity="access_grant",
        entity_id=grant.id,
        data={
            "agency_org_id": agency.id,
            "store_id": store.id,
            "scope": scope,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return grant


def add_grant_as(
    session: Session,
    principal: Principal,
    *,
    agency_org_id: int,
    store_id: int,
    scope: str,
    expires_at: datetime | None,
) -> AccessGrant:
    """Only the seller's owner/admin grants an agency access to its store."""
    store = require_store(session, principal, store_id)
    if not principal.administers(store.org_id):
        raise NotAllowed(f"store {store_id}: only the seller's owner or admin grants access")
    return add_grant(
        session,
        agency_org_id=agency_org_id,
        store_id=store_id,
        scope=scope,
        expires_at=expires_at,
        actor=principal.actor,
        granted_by_user_id=principal.user_id,
    )


def revoke_grant(session: Session, grant_id: int, *, reason: str | None, actor: str) -> AccessGrant:
    grant = session.get(AccessGrant, grant_id)
    if grant is None:
        raise AccountError(f"no grant with id {grant_id}")
    if grant.revoked_at is None:
        grant.revoked_at = utcnow()
        grant.revoked_reason = reason
        record(
            session,
            actor=actor,
            action="grant.revoke",
            entity="access_grant",
            entity_id=grant.id,
            data={"reason": reason},
        )
    return grant


def visible_grants(
    session: Session, principal: Principal, at: datetime | None = None
) -> list[AccessGrant]:
    """Every grant on the caller's sellers' stores; of the grants given to the caller's
    agencies only those valid now (an agency whose grant ended learns nothing more)."""
    at = at or utcnow()
    agency_ids = [m.org_id for m in principal.memberships if m.org_kind is OrgKind.AGENCY]
    query = (
        select(AccessGrant, Store.org_id)
        .join(Store, Store.id == AccessGrant.store_id)
        .where(
            or_(
                Store.org_id.in_(principal.seller_org_ids),
                AccessGrant.agency_org_id.in_(agency_ids),
            )
        )
        .order_by(AccessGrant.id)
    )
    sellers = set(principal.seller_org_ids)
    return [
        grant
        for grant, store_org in session.execute(query)
        if store_org in sellers or grant.is_valid(at)
    ]


def revoke_grant_as(
    session: Session, principal: Principal, grant_id: int, reason: str | None
) -> AccessGrant:
    """The seller's owner/admin revokes; an agency's owner/admin may give a grant back."""
    grant = next((g for g in visible_grants(session, principal) if g.id == grant_id), None)
    if grant is None:
        raise LookupError(f"no grant with id {grant_id}")
    store = session.get(Store, grant.store_id)
    assert store is not None
    if not (principal.administers(store.org_id) or principal.administers(grant.agency_org_id)):
        raise NotAllowed(f"grant {grant_id}: only an owner or admin revokes a grant")
    return revoke_grant(session, grant_id, reason=reason, actor=principal.actor)
