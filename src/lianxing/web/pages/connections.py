"""A store's "Connections / 数据连接" page: each connector of its platform, the connection's
status and per-stream sync status, and the connect / sync now / disconnect actions.

Connecting is a plain form: the answer is a short page that sends the browser on to the
platform (a form may only submit to this site, ``form-action 'self'``, and Chromium applies
that to the redirect after the POST too). The platform sends the seller back to
``/connect/callback``, the one redirect URI to register with each platform app; it finishes
only an authorisation that this browser's login session started (the session cookie is
SameSite=Lax, so it comes along on the platform's redirect).
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from lianxing.accounts.service import access_to
from lianxing.domain.access import Access
from lianxing.ingest.sync import parse_callback
from lianxing.web.api.common import StoreId, store_or_404
from lianxing.web.api.connections import (
    CALLBACK_PATH,
    ConnectionRefused,
    ConnectorId,
    callback_target,
    connections_json,
    default_redirect_uri,
    finish_connection,
    queue_sync,
    remove_connection,
    start_connection,
)
from lianxing.web.deps import PageCaller, check_csrf, transaction
from lianxing.web.templating import render

router = APIRouter()

MESSAGES = ("connected", "sync_queued", "sync_running", "disconnected")


def _page(store_id: int, *, message: str | None = None, error: str | None = None) -> Response:
    query = f"message={message}" if message else f"error={quote(error or '')}"
    return RedirectResponse(f"/stores/{store_id}/connections?{query}", status_code=303)


def lag_text(seconds: int | None, language: str) -> str:
    """How far behind now the stream's cursor is, in hours and minutes."""
    if seconds is None:
        return "—"
    hours, minutes = divmod(max(seconds, 0) // 60, 60)
    if language == "zh":
        return f"{hours} 小时 {minutes} 分" if hours else f"{minutes} 分钟"
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


@router.get("/stores/{store_id}/connections")
def connections_page(
    request: Request,
    store_id: StoreId,
    caller: PageCaller,
    message: str | None = Query(None, max_length=40),
    error: str | None = Query(None, max_length=500),
) -> Response:
    with transaction(request) as session:
        store = store_or_404(session, caller, store_id)
        _, access = access_to(session, caller.principal, store_id)
    view = connections_json(request, store)
    for connection in view["connections"]:
        for stream in connection["streams"]:
            stream["lag_text"] = lag_text(stream["lag_seconds"], caller.language)
    return render(
        request,
        "connections.html",
        {
            "store": store,
            "connections": view["connections"],
            "can_manage": access >= Access.MANAGE,
            "can_operate": access >= Access.OPERATE,
            "redirect_uri": default_redirect_uri(request),
            "message": message if message in MESSAGES else None,
            "error": error,
        },
        caller=caller,
    )


def _account_lines(text: str) -> dict[str, str]:
    """``KEY=VALUE`` per line (blank lines skipped), as ``lianxing connect --account``."""
    account: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ConnectionRefused(
                422, f"account ids: {line.strip()!r} is not KEY=VALUE / 账号 ID 应为 KEY=VALUE"
            )
        account[key.strip()] = value.strip()
    return account


@router.post("/stores/{store_id}/connections/start")
def start_form(
    request: Request,
    store_id: StoreId,
    caller: PageCaller,
    connector: str = Form("", max_length=32),
    app_key: str = Form("", max_length=200),
    app_secret: str = Form("", max_length=500),
    account: str = Form("", max_length=4000),
    redirect_uri: str = Form("", max_length=500),
    api_base: str = Form("", max_length=500),
    auth_base: str = Form("", max_length=500),
    csrf_token: str = Form(""),
) -> Response:
    check_csrf(caller, csrf_token, request)
    with transaction(request) as session:  # 404/403 before anything is checked or stored
        store_or_404(session, caller, store_id, Access.MANAGE)
    try:
        started = start_connection(
            request,
            caller,
            store_id,
            connector_id=connector or None,
            app_key=app_key,
            app_secret=app_secret,
            account=_account_lines(account),
            redirect_uri=redirect_uri or None,
            api_base=api_base or None,
            auth_base=auth_base or None,
        )
    except ConnectionRefused as exc:
        return _page(store_id, error=exc.message)
    return render(
        request,
        "connections_authorise.html",
        {
            "store_id": store_id,
            "connector": started.connector,
            "authorisation_url": started.authorisation_url,
        },
        caller=caller,
    )


@router.get(CALLBACK_PATH)
def callback_page(request: Request, caller: PageCaller) -> Response:
    """Where the platform sends the seller back: a state that matches no authorisation in
    flight, was used already, is over an hour old (400) or was started by another user or
    login session (403) is refused, and audited, before anything else happens."""
    params = parse_callback(request.url.query)
    try:
        target = callback_target(request, caller, params.get("state"))
    except ConnectionRefused as exc:
        return render(
            request,
            "error.html",
            {"status": exc.status, "detail": exc.message},
            caller=caller,
            status_code=exc.status,
        )
    # The redirect URI is this very address; LWA wants it again with the code.
    here = urlsplit(str(request.url))
    redirect_uri = urlunsplit((here.scheme, here.netloc, here.path, "", ""))
    store_id = target[0]
    try:
        finish_connection(request, caller, params, target, redirect_uri=redirect_uri)
    except ConnectionRefused as exc:
        return _page(store_id, error=exc.message)
    return _page(store_id, message="connected")


@router.post("/stores/{store_id}/connections/{connector_id}/sync")
def sync_form(
    request: Request,
    store_id: StoreId,
    connector_id: ConnectorId,
    caller: PageCaller,
    csrf_token: str = Form(""),
) -> Response:
    check_csrf(caller, csrf_token, request)
    _, created = queue_sync(request, caller, store_id, connector_id, None)
    return _page(store_id, message="sync_queued" if created else "sync_running")


@router.post("/stores/{store_id}/connections/{connector_id}/disconnect")
def disconnect_form(
    request: Request,
    store_id: StoreId,
    connector_id: ConnectorId,
    caller: PageCaller,
    csrf_token: str = Form(""),
) -> Response:
    check_csrf(caller, csrf_token, request)
    remove_connection(request, caller, store_id, connector_id)
    return _page(store_id, message="disconnected")
