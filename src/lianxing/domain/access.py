"""Who may see and do what with a store (pure rules; ``lianxing.accounts`` applies them).

A store belongs to a seller organisation. Members of that organisation reach every store of
it, as far as their role allows. An agency reaches a store only through an access grant that
is valid at the moment of the request (not expired, not revoked), and then no further than
both the grant's scope and the member's role allow. Nobody else reaches the store at all:
callers must answer "not found", so an outsider cannot even learn that the store exists.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

from lianxing.domain.accounts import GrantScope, OrgKind, Role


class Access(IntEnum):
    """Levels of access to a store; each includes the ones below it."""

    NONE = 0
    READ = 1  # KPIs, reports, targets, imports history, contracts
    OPERATE = 2  # also imports, targets, launch checklists, documents
    MANAGE = 3  # also contracts, grants and the store's settings


# What a member's role allows, before any grant narrows it.
ROLE_CEILING: Mapping[Role, Access] = {
    Role.OWNER: Access.MANAGE,
    Role.ADMIN: Access.MANAGE,
    Role.OPS: Access.OPERATE,
    Role.ADS: Access.OPERATE,
    Role.CS: Access.OPERATE,
    Role.LOGISTICS: Access.OPERATE,
    Role.VIEWER: Access.READ,
}

GRANT_LEVEL: Mapping[GrantScope, Access] = {
    GrantScope.READ: Access.READ,
    GrantScope.OPERATE: Access.OPERATE,
    GrantScope.MANAGE: Access.MANAGE,
}

# Roles that may manage an organisation's users, grants and API tokens of others.
ORG_ADMIN_ROLES = frozenset({Role.OWNER, Role.ADMIN})


@dataclass(frozen=True, slots=True)
class MemberOf:
    """One membership of the caller: an organisation (and its kind) with a role."""

    org_id: int
    org_kind: OrgKind
    role: Role


@dataclass(frozen=True, slots=True)
class GrantFacts:
    """The parts of an access grant the rules look at."""

    agency_org_id: int
    store_id: int
    scope: GrantScope
    expires_at: datetime | None
    revoked_at: datetime | None

    def valid_at(self, at: datetime) -> bool:
        if self.revoked_at is not None and self.revoked_at <= at:
            return False
        return self.expires_at is None or at < self.expires_at


def grant_status(grant: GrantFacts, at: datetime) -> str:
    """ "active", "expired" or "revoked" at ``at`` (revocation wins: it was a decision)."""
    if grant.revoked_at is not None and grant.revoked_at <= at:
        return "revoked"
    if grant.expires_at is not None and at >= grant.expires_at:
        return "expired"
    return "active"


def store_access(
    memberships: Iterable[MemberOf],
    store_id: int,
    store_org_id: int,
    grants: Iterable[GrantFacts],
    at: datetime,
) -> Access:
    """The highest access any of the caller's memberships gives to one store at ``at``."""
    grants = list(grants)
    best = Access.NONE
    for member in memberships:
        ceiling = ROLE_CEILING[member.role]
        if member.org_kind is OrgKind.SELLER:
            if member.org_id == store_org_id:
                best = max(best, ceiling)
            continue
        for grant in grants:
            if (
                grant.agency_org_id == member.org_id
                and grant.store_id == store_id
                and grant.valid_at(at)
            ):
                best = max(best, min(ceiling, GRANT_LEVEL[grant.scope]))
    return best


def can_administer_org(memberships: Iterable[MemberOf], org_id: int) -> bool:
    """May the caller add users to ``org_id``, grant its stores and see its members?"""
    return any(m.org_id == org_id and m.role in ORG_ADMIN_ROLES for m in memberships)


def may_assign_role(memberships: Iterable[MemberOf], org_id: int, role: Role) -> bool:
    """Admins add any role but owner; only an owner makes another owner."""
    roles = {m.role for m in memberships if m.org_id == org_id}
    if Role.OWNER in roles:
        return True
    return Role.ADMIN in roles and role is not Role.OWNER
