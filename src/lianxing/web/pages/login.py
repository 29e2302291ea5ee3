"""Log in, log out, switch language."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from lianxing.accounts.service import authenticate, normalise_email
from lianxing.web import auth
from lianxing.web.deps import PageCaller, check_csrf, client_ip, state, transaction
from lianxing.web.i18n import LANGUAGE_COOKIE, LANGUAGES, translations
from lianxing.web.templating import render

router = APIRouter()


def cookie_secure(request: Request) -> bool:
    forced = state(request).secure_cookies
    return forced if forced is not None else request.url.scheme == "https"


def safe_next(target: str | None) -> str:
    """Only same-site paths: never redirect a login to another host."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _language(request: Request) -> str:
    return "en" if request.cookies.get(LANGUAGE_COOKIE) == "en" else "zh"


def _login_page(
    request: Request, next_path: str, error: str | None = None, status_code: int = 200
) -> Response:
    token = auth.new_secret()
    response = render(
        request,
        "login.html",
        {"csrf_token": token, "next": safe_next(next_path), "error": error},
        language=_language(request),
        status_code=status_code,
    )
    response.set_cookie(
        auth.LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=cookie_secure(request),
        path="/login",
    )
    return response


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    return _login_page(request, next)


@router.post("/login")
def login(
    request: Request,
    email: str = Form("", max_length=320),
    password: str = Form("", max_length=200),
    csrf_token: str = Form(""),
    next: str = Form("/", max_length=500),
) -> Response:
    _ = translations(_language(request)).gettext
    if not auth.same_secret(csrf_token, request.cookies.get(auth.LOGIN_CSRF_COOKIE)):
        return _login_page(request, next, _("The form expired; please try again."), 403)
    address = normalise_email(email)
    ip = client_ip(request)
    with transaction(request) as session:
        wait = auth.login_blocked_for(session, address, ip)
    if wait:
        response = _login_page(
            request,
            next,
            _("Too many failed logins; try again in %(minutes)d minutes.")
            % {"minutes": max(1, (wait + 59) // 60)},
            429,
        )
        response.headers["Retry-After"] = str(wait)
        return response
    with transaction(request) as session:
        user = authenticate(session, address, password)
        auth.note_login_attempt(session, address, ip, user is not None)
        if user is None:
            failed = True
        else:
            failed = False
            token, _csrf = auth.start_session(
                session, user.id, ip=ip, user_agent=request.headers.get("user-agent")
            )
    if failed:
        return _login_page(request, next, _("Wrong e-mail or password."), 401)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        auth.SESSION_COOKIE,
        token,
        max_age=int(auth.SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request),
    )
    response.delete_cookie(auth.LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, caller: PageCaller, csrf_token: str = Form("")) -> Response:
    check_csrf(caller, csrf_token, request)
    with transaction(request) as session:
        auth.end_session(session, request.cookies.get(auth.SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE)
    return response


@router.get("/lang/{code}")
def switch_language(request: Request, code: str, next: str = "/") -> Response:
    response = RedirectResponse(safe_next(next), status_code=303)
    if code in LANGUAGES:
        response.set_cookie(
            LANGUAGE_COOKIE,
            code,
            max_age=365 * 24 * 3600,
            samesite="lax",
            secure=cookie_secure(request),
        )
    return response
