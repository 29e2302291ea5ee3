"""The pure store-access rules (lianxing.domain.access)."""

from __future__ import annotations

from datetime import datetime, timedelta

from lianxing.domain.access import (
    Access,
    GrantFacts,
    MemberOf,
    grant_status,
    may_assign_role,
    store_access,
)
from lianxing.domain.accounts import GrantScope, OrgKind, Role

NOW = datetime(2026, 11, 1, 12, 0)
SELLER, OTHER_SELLER, AGENCY = 1, 2, 3
STORE = 10


def grant(scope: GrantScope = GrantScope.OPERATE, **kw: datetime | None) -> GrantFacts:
    return GrantFacts(AGENCY, STORE, scope, kw.get("expires_at"), kw.get("revoked_at"))


def test_seller_members_get_their_roles_ceiling_on_their_own_stores_only() -> None:
    owner = [MemberOf(SELLER, OrgKind.SELLER, Role.OWNER)]
    viewer = [MemberOf(SELLER, OrgKind.SELLER, Role.VIEWER)]
    ops = [MemberOf(SELLER, OrgKind.SELLER, Role.OPS)]
    assert store_access(owner, STORE, SELLER, [], NOW) is Access.MANAGE
    assert store_access(ops, STORE, SELLER, [], NOW) is Access.OPERATE
    assert store_access(viewer, STORE, SELLER, [], NOW) is Access.READ
    assert store_access(owner, STORE, OTHER_SELLER, [], NOW) is Access.NONE


def test_agency_access_is_the_lower_of_grant_scope_and_role() -> None:
    ops = [MemberOf(AGENCY, OrgKind.AGENCY, Role.OPS)]
    owner = [MemberOf(AGENCY, OrgKind.AGENCY, Role.OWNER)]
    viewer = [MemberOf(AGENCY, OrgKind.AGENCY, Role.VIEWER)]
    assert store_access(ops, STORE, SELLER, [grant(GrantScope.MANAGE)], NOW) is Access.OPERATE
    assert store_access(owner, STORE, SELLER, [grant(GrantScope.READ)], NOW) is Access.READ
    assert store_access(owner, STORE, SELLER, [grant(GrantScope.MANAGE)], NOW) is Access.MANAGE
    assert store_access(viewer, STORE, SELLER, [grant(GrantScope.OPERATE)], NOW) is Access.READ
    assert store_access(ops, STORE, SELLER, [], NOW) is Access.NONE


def test_a_grant_ends_at_its_expiry_instant_and_at_revocation() -> None:
    ops = [MemberOf(AGENCY, OrgKind.AGENCY, Role.OPS)]
    ends = NOW + timedelta(seconds=1)
    assert store_access(ops, STORE, SELLER, [grant(expires_at=ends)], NOW) is Access.OPERATE
    assert store_access(ops, STORE, SELLER, [grant(expires_at=NOW)], NOW) is Access.NONE
    assert store_access(ops, STORE, SELLER, [grant(revoked_at=NOW)], NOW) is Access.NONE
    # Revocation scheduled for later does not cut access yet.
    assert store_access(ops, STORE, SELLER, [grant(revoked_at=ends)], NOW) is Access.OPERATE
    assert grant_status(grant(expires_at=NOW, revoked_at=NOW), NOW) == "revoked"
    assert grant_status(grant(expires_at=NOW), NOW) == "expired"
    assert grant_status(grant(expires_at=ends), NOW) == "active"


def test_a_grant_to_another_agency_or_store_gives_nothing() -> None:
    ops = [MemberOf(AGENCY, OrgKind.AGENCY, Role.OPS)]
    other_agency = GrantFacts(99, STORE, GrantScope.MANAGE, None, None)
    other_store = GrantFacts(AGENCY, 11, GrantScope.MANAGE, None, None)
    assert store_access(ops, STORE, SELLER, [other_agency, other_store], NOW) is Access.NONE


def test_a_seller_org_id_equal_to_an_agency_id_is_not_confused() -> None:
    # An agency member whose org id happens to equal the store's org id gets nothing by it.
    ops = [MemberOf(SELLER, OrgKind.AGENCY, Role.OWNER)]
    assert store_access(ops, STORE, SELLER, [], NOW) is Access.NONE


def test_only_owners_make_owners() -> None:
    admin = [MemberOf(SELLER, OrgKind.SELLER, Role.ADMIN)]
    owner = [MemberOf(SELLER, OrgKind.SELLER, Role.OWNER)]
    assert may_assign_role(admin, SELLER, Role.OPS)
    assert not may_assign_role(admin, SELLER, Role.OWNER)
    assert may_assign_role(owner, SELLER, Role.OWNER)
    assert not may_assign_role(owner, OTHER_SELLER, Role.OPS)
