"""Settings: users and roles, agency grants, API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from lianxing.accounts import service as accounts
from lianxing.db.models import Organisation, Store
from lianxing.domain.accounts import GrantScope, OrgKind, Role
from lianxing.domain.time import utcnow
from lianxing.web import auth
from lianxing.web.api.common import parse_instant
from lianxing.web.deps import PageCaller, check_csrf, transaction
from lianxing.web.i18n import translations
from lianxing.web.templating import render

router = APIRouter()


@router.get("/settings")
def settings_page(
    request: Request,
    caller: PageCaller,
    message: str | None = Query(None, max_length=300),
    error: str | None = Query(None, max_length=500),
    new_token: str | None = Query(None, max_length=100),
) -> Response:
    principal = caller.principal
    now = utcnow()
    with transaction(request) as session:
        members = accounts.list_members(session, principal)
        grants = []
        for grant in accounts.visible_grants(session, principal):
            store = session.get(Store, grant.store_id)
            agency = session.get(Organisation, grant.agency_org_id)
            assert store is not None and agency is not None
            row = accounts.grant_json(grant, store, agency, now)
            row["can_revoke"] = row["status"] == "active" and (
                principal.administers(store.org_id) or principal.administers(agency.id)
            )
            grants.append(row)
        grantable = [
            s
            for s, _ in accounts.visible_stores(session, principal)
            if principal.administers(s.org_id) and s.org_id in principal.seller_org_ids
        ]
        agencies = list(
            session.scalars(select(Organisation).where(Organisation.kind == OrgKind.AGENCY.value))
        )
        tokens = auth.list_api_tokens(session, principal.user_id)
    return render(
        request,
        "settings.html",
        {
            "members": members,
            "grants": grants,
            "grantable": grantable,
            "agencies": agencies,
            "tokens": tokens,
            "admin_orgs": [(o, principal.org_names[o]) for o in principal.admin_org_ids],
            "roles": [r.value for r in Role],
            "scopes": [s.value for s in GrantScope],
            "message": message,
            "error": error,
            "new_token": new_token,
        },
        caller=caller,
    )


def _back(message: str | None = None, error: str | None = None, **extra: str) -> Response:
    from urllib.parse import urlencode

    params = {k: v for k, v in {"message": message, "error": error, **extra}.items() if v}
    return RedirectResponse("/settings" + (f"?{urlencode(params)}" if params else ""), 303)


@router.post("/settings/users")
def add_user(
    request: Request,
    caller: PageCaller,
    email: str = Form(..., max_length=320),
    password: str = Form(..., max_length=200),
    org_id: int = Form(...),
    role: str = Form(..., max_length=20),
    csrf_token: str = Form(""),
) -> Response:
    check_csrf(caller, csrf_token, request)
    _ = translations(caller.language).gettext
    try:
        with transaction(request) as session:
            accounts.add_user_as(
                session, caller.principal, email=email, password=password, org_id=org_id, role=role
            )
    except (accounts.AccountError, accounts.NotAllowed) as exc:
        return _back(error=str(exc))
    return _back(message=_("User added."))


@router.post("/settings/grants")
def add_grant(
    request: Request,
    caller: PageCaller,
    agency_org_id: int = Form(...),
    store_id: int = Form(...),
    scope: str = Form("read", max_length=10),
    expires_at: str = Form("", max_length=30),
    csrf_token: str = Form(""),
) -> Response:
    check_csrf(caller, csrf_token, request)
    _ = translations(caller.language).gettext
    try:
        expires = parse_instant(expires_at, "expires_at")
        with transaction(request) as session:
            accounts.add_grant_as(
                session,
                caller.principal,
                agency_org_id=agency_org_id,
                store_id=store_id,
                scope=scope,
                expires_at=expires,
            )
    except (accounts.AccountError, accounts.NotAllowed, accounts.StoreNotFound) as exc:
        return _back(error=str(exc))
    except Exception as exc:  # parse_instant's HTTPException
        return _back(error=str(getattr(exc, "detail", exc)))
    return _back(message=_("Access granted."))


@router.post("/settings/grants/{grant_id}/revoke")
def revoke_grant(
    request: Request,
    caller: PageCaller,
    grant_id: int,
    reason: str = Form("", max_length=500),
    csrf_token: str = Form(""),
) -> Response:
    check_csrf(caller, csrf_token, request)
    _ = translations(caller.language).gettext
    try:
        with transaction(request) as session:
            accounts.revoke_grant_as(session, caller.principal, grant_id, reason or None)
    except (LookupError, accounts.NotAllowed) as exc:
        return _back(error=str(exc))
    return _back(message=_("Access revoked."))


@router.post("/settings/tokens")
def create_token(
    request: Request,
    caller: PageCaller,
    name: str = Form(..., max_length=100),
    csrf_token: str = Form(""),
) -> Response:
    check_csrf(caller, csrf_token, request)
    _ = translations(caller.language).gettext
    with transaction(request) as session:
        _row, secret = auth.create_api_token(
            session, caller.principal.user_id, name, expires_at=None, actor=caller.principal.actor
        )
    # Shown once, on this page only; the database keeps just its hash.
    return render(
        request,
        "_token_created.html",
        {"secret": secret, "name": name},
        caller=caller,
    )


@router.post("/settings/tokens/{token_id}/revoke")
def revoke_token(
    request: Request, caller: PageCaller, token_id: int, csrf_token: str = Form("")
) -> Response:
    check_csrf(caller, csrf_token, request)
    _ = translations(caller.language).gettext
    with transaction(request) as session:
        auth.revoke_api_token(
            session, caller.principal.user_id, token_id, actor=caller.principal.actor
        )
    return _back(message=_("Token revoked."))
