"""``/me``, users, organisations, agency grants and API tokens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from lianxing.accounts import service as accounts
from lianxing.db.models import Organisation, Store
from lianxing.domain.accounts import GrantScope, OrgKind, Role
from lianxing.domain.time import utcnow
from lianxing.web import auth
from lianxing.web.api.common import parse_instant
from lianxing.web.deps import ApiCaller, transaction

router = APIRouter(tags=["accounts"])


@router.get("/me", summary="The caller / 当前用户")
def me(caller: ApiCaller) -> dict[str, Any]:
    return caller.principal.as_json()


class UserIn(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(min_length=1, max_length=200)
    org_id: int = Field(ge=1, le=2**31 - 1)
    role: Role
    display_name: str | None = Field(default=None, max_length=200)


@router.get("/users", summary="Members of the organisations you administer / 用户")
def list_users(request: Request, caller: ApiCaller) -> dict[str, Any]:
    with transaction(request) as session:
        return {"users": accounts.list_members(session, caller.principal)}


@router.post("/users", status_code=201, summary="Add a user to an organisation / 添加用户")
def add_user(body: UserIn, request: Request, caller: ApiCaller) -> dict[str, Any]:
    try:
        with transaction(request) as session:
            user = accounts.add_user_as(
                session,
                caller.principal,
                email=body.email,
                password=body.password,
                org_id=body.org_id,
                role=body.role.value,
                display_name=body.display_name,
            )
            return {"id": user.id, "email": user.email, "org_id": body.org_id, "role": body.role}
    except accounts.NotAllowed as exc:
        raise HTTPException(403, str(exc)) from None
    except accounts.AccountError as exc:
        raise HTTPException(422, str(exc)) from None


@router.get("/organisations", summary="Your organisations, and agencies you can grant to")
def list_orgs(request: Request, caller: ApiCaller) -> dict[str, Any]:
    mine = set(caller.principal.org_names)
    with transaction(request) as session:
        rows = session.scalars(
            select(Organisation)
            .where((Organisation.id.in_(mine)) | (Organisation.kind == OrgKind.AGENCY.value))
            .order_by(Organisation.id)
        )
        return {
            "organisations": [
                {"id": o.id, "name": o.name, "kind": o.kind, "member": o.id in mine} for o in rows
            ]
        }


class GrantIn(BaseModel):
    agency_org_id: int = Field(ge=1, le=2**31 - 1)
    store_id: int = Field(ge=1, le=2**31 - 1)
    scope: GrantScope = GrantScope.READ
    expires_at: str | None = Field(default=None, description="ISO date-time (UTC), or none")


class RevokeIn(BaseModel):
    reason: str | None = Field(default=None, max_length=500)


def _grants_json(request: Request, caller: ApiCaller) -> list[dict[str, Any]]:
    now = utcnow()
    with transaction(request) as session:
        out = []
        for grant in accounts.visible_grants(session, caller.principal):
            store = session.get(Store, grant.store_id)
            agency = session.get(Organisation, grant.agency_org_id)
            assert store is not None and agency is not None
            out.append(accounts.grant_json(grant, store, agency, now))
        return out


@router.get("/grants", summary="Agency access grants / 服务商授权")
def list_grants(request: Request, caller: ApiCaller) -> dict[str, Any]:
    return {"grants": _grants_json(request, caller)}


@router.post("/grants", status_code=201, summary="Grant an agency access to a store / 授权")
def add_grant(body: GrantIn, request: Request, caller: ApiCaller) -> dict[str, Any]:
    expires = parse_instant(body.expires_at, "expires_at")
    try:
        with transaction(request) as session:
            grant = accounts.add_grant_as(
                session,
                caller.principal,
                agency_org_id=body.agency_org_id,
                store_id=body.store_id,
                scope=body.scope.value,
                expires_at=expires,
            )
            grant_id = grant.id
    except accounts.StoreNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except accounts.NotAllowed as exc:
        raise HTTPException(403, str(exc)) from None
    except accounts.AccountError as exc:
        raise HTTPException(422, str(exc)) from None
    return next(g for g in _grants_json(request, caller) if g["id"] == grant_id)


@router.post("/grants/{grant_id}/revoke", summary="Revoke a grant / 撤销授权")
def revoke_grant(
    grant_id: int, body: RevokeIn, request: Request, caller: ApiCaller
) -> dict[str, Any]:
    try:
        with transaction(request) as session:
            accounts.revoke_grant_as(session, caller.principal, grant_id, body.reason)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from None
    except accounts.NotAllowed as exc:
        raise HTTPException(403, str(exc)) from None
    return next(g for g in _grants_json(request, caller) if g["id"] == grant_id)


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    expires_at: str | None = Field(default=None, description="ISO date-time (UTC), or none")


def _token_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "prefix": row.prefix,
        "created_at": row.created_at.isoformat(),
        "expires_at": row.expires_at.isoformat() if row.expires_at else None,
        "last_used_at": row.last_used_at.isoformat() if row.last_used_at else None,
        "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
    }


@router.get("/tokens", summary="Your API tokens / API 令牌")
def list_tokens(request: Request, caller: ApiCaller) -> dict[str, Any]:
    with transaction(request) as session:
        rows = auth.list_api_tokens(session, caller.principal.user_id)
        return {"tokens": [_token_json(r) for r in rows]}


@router.post("/tokens", status_code=201, summary="Create an API token (shown once) / 创建令牌")
def create_token(body: TokenIn, request: Request, caller: ApiCaller) -> dict[str, Any]:
    expires = parse_instant(body.expires_at, "expires_at")
    if expires is not None and expires <= utcnow():
        raise HTTPException(422, "expires_at: must be in the future / 到期时间已过")
    with transaction(request) as session:
        row, secret = auth.create_api_token(
            session,
            caller.principal.user_id,
            body.name,
            expires_at=expires,
            actor=caller.principal.actor,
        )
        return {**_token_json(row), "token": secret}


@router.delete("/tokens/{token_id}", summary="Revoke one of your API tokens / 撤销令牌")
def revoke_token(token_id: int, request: Request, caller: ApiCaller) -> dict[str, Any]:
    with transaction(request) as session:
        if not auth.revoke_api_token(
            session, caller.principal.user_id, token_id, actor=caller.principal.actor
        ):
            raise HTTPException(404, f"no token with id {token_id}")
    return {"id": token_id, "revoked": True}
