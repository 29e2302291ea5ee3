"""What every handler needs: the workspace, the caller, and the store-access checks."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from lianxing.accounts.service import Principal, load_principal
from lianxing.web import auth
from lianxing.web.i18n import LANGUAGE_COOKIE, pick_language
from lianxing.workspace import Workspace

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True, slots=True)
class Caller:
    principal: Principal
    csrf_token: str
    via: str  # "session" or "token"
    language: str


class LoginRequired(Exception):
    """A page was asked for without a valid session."""


class WebState:
    """Per-app state: the workspace and a lock serialising warehouse use (one connection)."""

    def __init__(self, workspace: Workspace, secure_cookies: bool | None) -> None:
        self.workspace = workspace
        self.secure_cookies = secure_cookies
        self.warehouse_lock = threading.RLock()


def state(request: Request) -> WebState:
    web_state: WebState = request.app.state.web
    return web_state


@contextmanager
def transaction(request: Request) -> Iterator[Session]:
    with state(request).workspace.session() as session:
        yield session


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _authenticate(request: Request) -> tuple[Principal, str, str] | None:
    header = request.headers.get("authorization", "")
    with transaction(request) as session:
        if header.lower().startswith("bearer "):
            user_id = auth.user_for_token(session, header[7:].strip())
            if user_id is None:
                return None
            principal = load_principal(session, user_id)
            return (principal, "", "token") if principal else None
        info = auth.session_for(session, request.cookies.get(auth.SESSION_COOKIE))
        if info is None:
            return None
        principal = load_principal(session, info.user_id)
        return (principal, info.csrf_token, "session") if principal else None


def _caller(request: Request, found: tuple[Principal, str, str]) -> Caller:
    principal, csrf, via = found
    language = pick_language(request.cookies.get(LANGUAGE_COOKIE), principal.locale)
    return Caller(principal, csrf, via, language)


def api_caller(request: Request) -> Caller:
    """The API caller (bearer token or session cookie); cookie writes need the CSRF header."""
    found = _authenticate(request)
    if found is None:
        raise HTTPException(
            401,
            "not signed in: log in or send Authorization: Bearer <token> / 未登录",
            headers={"WWW-Authenticate": "Bearer"},
        )
    caller = _caller(request, found)
    if (
        caller.via == "session"
        and request.method in UNSAFE_METHODS
        and not auth.same_secret(request.headers.get(auth.CSRF_HEADER), caller.csrf_token)
    ):
        raise HTTPException(403, f"missing or wrong {auth.CSRF_HEADER} header / CSRF 校验失败")
    return caller


def page_caller(request: Request) -> Caller:
    """The signed-in browser user of a page; pages never take bearer tokens."""
    with transaction(request) as session:
        info = auth.session_for(session, request.cookies.get(auth.SESSION_COOKIE))
        principal = load_principal(session, info.user_id) if info else None
    if info is None or principal is None:
        raise LoginRequired
    return _caller(request, (principal, info.csrf_token, "session"))


def check_csrf(caller: Caller, token: str | None, request: Request) -> None:
    """Forms send the token as a field, htmx as a header; either must match the session's."""
    sent = token or request.headers.get(auth.CSRF_HEADER)
    if not auth.same_secret(sent, caller.csrf_token):
        raise HTTPException(403, "CSRF token missing or wrong; reload the page / 请刷新页面重试")


ApiCaller = Annotated[Caller, Depends(api_caller)]
PageCaller = Annotated[Caller, Depends(page_caller)]
