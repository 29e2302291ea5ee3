"""A store's platform API connections: status, authorisation, sync now, disconnect.

The same service functions serve the JSON API here and the connections page. Who may do
what follows the store-access model (``lianxing.accounts``): anyone who sees the store sees
its connections; *connecting*, re-authorising and disconnecting need MANAGE (the seller's
owner/admin, or an agency with a valid manage grant — never an agency by default); "sync
now" needs OPERATE, like an import.

Authorisation is ``lianxing.ingest.sync``'s: ``start_authorisation`` records the pending
connection with the app secret encrypted, a random ``state`` and who started it (a hash of
the user and login session, or of the user of an API token); the platform sends the seller
back with a code and that state, and ``complete_authorisation`` exchanges the code. A
callback is accepted only when its ``state`` is that of an authorisation in flight, less
than an hour old, not used yet, *and started by the caller* (OAuth CSRF: nobody can make
another's browser finish a connection they started, binding their platform account to the
store), and the caller must hold MANAGE on that store. A refused callback is recorded in
the audit log and connects nothing. App secrets and tokens never leave the server: no
answer carries them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from lianxing.db.models import Store
from lianxing.db.models_alerts import Job
from lianxing.db.models_connectors import StoreConnection
from lianxing.domain.access import Access
from lianxing.ingest.api.base import AuthorisationError, Connector, connectors_for_platform
from lianxing.ingest.api.http import ApiError
from lianxing.ingest.sync import (
    AuthorisationRefused,
    SyncInputError,
    authorisation_for_callback,
    complete_authorisation,
    disconnect,
    start_authorisation,
    sync_status,
)
from lianxing.jobs.runner import submit
from lianxing.jobs.store import JobStatus, JobView
from lianxing.web import auth
from lianxing.web.api.common import StoreId, store_or_404
from lianxing.web.deps import ApiCaller, Caller, state, transaction

router = APIRouter(tags=["connections"])

# The one redirect URI registered with each platform app: the web app's callback page
# (``lianxing.ingest.sync.DEFAULT_REDIRECT_URI`` is this path on ``lianxing serve``'s port).
CALLBACK_PATH = "/connect/callback"
SYNC_JOB = "ingest.sync_store"
NOT_CONNECTED = "not_connected"
# A callback refused for its state answers 400 (none, unknown or used, expired); one that
# another user or session started, 403.
REFUSAL_STATUS = {"other_starter": 403}

ConnectorId = Annotated[
    str, PathParam(min_length=1, max_length=32, description="connector id / 连接器")
]


class ConnectionRefused(Exception):
    """A start or callback that cannot go ahead; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


# -- status ------------------------------------------------------------------------------


def store_connectors(platform: str) -> list[type[Connector]]:
    """The connectors a store of ``platform`` can use, its primary one first."""
    return sorted(connectors_for_platform(platform), key=lambda c: (not c.primary, c.id))


def _latest_sync_jobs(session: Session, store_id: int) -> dict[str | None, JobView]:
    """The newest sync job per connector (key None: a job for every connection)."""
    rows = session.scalars(
        select(Job).where(Job.kind == SYNC_JOB).order_by(Job.enqueued_at.desc()).limit(500)
    )
    latest: dict[str | None, JobView] = {}
    for row in rows:
        if row.args.get("store_id") == store_id:
            latest.setdefault(row.args.get("connector"), JobView.of(row))
    return latest


def _job_json(job: JobView | None) -> dict[str, Any] | None:
    if job is None:
        return None
    return {
        "id": job.id,
        "status": job.status.value,
        "enqueued_at": job.enqueued_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "error": job.error.splitlines()[0][:500] if job.error else None,
    }


def connections_json(request: Request, store: Store) -> dict[str, Any]:
    """Every connector of the store's platform with its connection (or none), per-stream
    sync status (last success, lag, last error) and the newest sync job."""
    ws = state(request).workspace
    connected = {row["connector"]: row for row in sync_status(ws, store.id)}
    with transaction(request) as session:
        jobs = _latest_sync_jobs(session, store.id)
    out = []
    for cls in store_connectors(store.platform):
        row = connected.get(cls.id)
        job = max(
            (j for j in (jobs.get(cls.id), jobs.get(None)) if j is not None),
            key=lambda j: j.enqueued_at,
            default=None,
        )
        out.append(
            {
                "connector": cls.id,
                "name": {"zh": cls.name_zh, "en": cls.name_en},
                "primary": cls.primary,
                "account_key": cls.account_key,
                "stream_names": [s.name for s in cls.streams],
                "status": row["status"] if row else NOT_CONNECTED,
                "status_reason": row["status_reason"] if row else None,
                "account": row["account"] if row else {},
                "access_expires_at": row["access_expires_at"] if row else None,
                "refresh_expires_at": row["refresh_expires_at"] if row else None,
                "streams": row["streams"] if row else [],
                "sync_job": _job_json(job),
            }
        )
    return {"store": store.id, "platform": store.platform, "connections": out}


# -- authorisation -------------------------------------------------------------------------


def _checked_url(value: str | None, field: str) -> str | None:
    """An http(s) URL without query or fragment (the platforms add their own), or None."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        parts = urllib.parse.urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConnectionRefused(
            422, f"{field}: {value!r} is not an http(s) URL / {field} 不是有效的 http(s) 地址"
        )
    if parts.query or parts.fragment:
        raise ConnectionRefused(
            422, f"{field}: no query string or fragment, please / {field} 不能带查询参数"
        )
    return value.rstrip("/") if field != "redirect_uri" else value


def default_redirect_uri(request: Request) -> str:
    return str(request.base_url).rstrip("/") + CALLBACK_PATH


def _starter_key(user_id: int, session_cookie: str | None) -> str:
    """What a pending authorisation keeps of who started it: a hash naming the user and,
    for a browser, the login session (by its cookie's hash, as ``login_sessions`` has it)."""
    session = auth.sha256(session_cookie) if session_cookie else "api-token"
    return hashlib.sha256(f"oauth-start|user:{user_id}|session:{session}".encode()).hexdigest()


def started_by(request: Request, caller: Caller) -> str:
    """The key of the caller starting an authorisation: its login session, else (API
    token) its user."""
    cookie = request.cookies.get(auth.SESSION_COOKIE) if caller.via == "session" else None
    return _starter_key(caller.principal.user_id, cookie)


def starters(request: Request, caller: Caller) -> tuple[str, ...]:
    """The keys of the authorisations the caller may finish: those it started itself and
    those its user started with an API token (a script starts, the user's browser comes
    back to ``/connect/callback``). Another user's, or another login session's, never."""
    return tuple(
        dict.fromkeys((started_by(request, caller), _starter_key(caller.principal.user_id, None)))
    )


@dataclass(frozen=True, slots=True)
class Started:
    connector: str
    authorisation_url: str
    redirect_uri: str

    def as_json(self) -> dict[str, Any]:
        return {
            "connector": self.connector,
            "status": "pending",
            "authorisation_url": self.authorisation_url,
            "redirect_uri": self.redirect_uri,
        }


def start_connection(
    request: Request,
    caller: Caller,
    store_id: int,
    *,
    connector_id: str | None,
    app_key: str,
    app_secret: str,
    account: Mapping[str, str],
    redirect_uri: str | None,
    api_base: str | None,
    auth_base: str | None,
) -> Started:
    """Record a pending connection (secret encrypted) and return where the seller goes."""
    with transaction(request) as session:
        store = store_or_404(session, caller, store_id, Access.MANAGE)
        choices = {c.id: c for c in store_connectors(store.platform)}
        cls = choices.get(connector_id) if connector_id else next(iter(choices.values()), None)
        if cls is None:
            known = ", ".join(choices) or "none"
            raise ConnectionRefused(
                422,
                f"connector: {connector_id!r} does not serve {store.platform} stores "
                f"(known: {known}) / 该平台没有此连接器",
            )
        existing = session.scalar(
            select(StoreConnection).where(
                StoreConnection.store_id == store_id, StoreConnection.connector == cls.id
            )
        )
        held_hosts = (
            (existing.api_base_url, existing.auth_base_url)
            if existing is not None and existing.access_token_enc is not None
            else None
        )
    if not app_key.strip() or not app_secret.strip():
        raise ConnectionRefused(422, "app key and app secret are required / 请填写应用 Key 和密钥")
    redirect = _checked_url(redirect_uri, "redirect_uri") or default_redirect_uri(request)
    hosts = (_checked_url(api_base, "api_base"), _checked_url(auth_base, "auth_base"))
    if held_hosts is not None and hosts != held_hosts:
        # The stored tokens would go to the new hosts at the next sync: only after a fresh start.
        raise ConnectionRefused(
            409,
            "this connection holds tokens for other API hosts; disconnect it first "
            "/ 该连接已授权于其他 API 地址，请先断开连接",
        )
    try:
        url = start_authorisation(
            state(request).workspace,
            store_id,
            app_key=app_key.strip(),
            app_secret=app_secret.strip(),
            connector_id=cls.id,
            account={k.strip(): v.strip() for k, v in account.items() if k.strip()},
            redirect_uri=redirect,
            api_base=hosts[0],
            auth_base=hosts[1],
            actor=caller.principal.actor,
            started_by=started_by(request, caller),
        )
    except SyncInputError as exc:
        raise ConnectionRefused(422, str(exc)) from None
    return Started(cls.id, url, redirect)


def _refused_callback(exc: AuthorisationRefused) -> ConnectionRefused:
    return ConnectionRefused(REFUSAL_STATUS.get(exc.reason, 400), str(exc))


def callback_target(
    request: Request, caller: Caller, callback_state: str | None, *, store_id: int | None = None
) -> tuple[int, str]:
    """(store, connector) of the authorisation a callback's state belongs to (of
    ``store_id`` only, when given), once the caller is known to have started it and to
    hold MANAGE on its store. A refusal for the state is audited before anything else."""
    try:
        target = authorisation_for_callback(
            state(request).workspace,
            callback_state,
            starters=starters(request, caller),
            actor=caller.principal.actor,
            store_id=store_id,
        )
    except AuthorisationRefused as exc:
        raise _refused_callback(exc) from None
    with transaction(request) as session:
        store_or_404(session, caller, target[0], Access.MANAGE)
    return target


def finish_connection(
    request: Request,
    caller: Caller,
    params: Mapping[str, str],
    target: tuple[int, str],
    *,
    redirect_uri: str,
) -> dict[str, Any]:
    """Exchange the callback's code for ``target``'s connection (from ``callback_target``;
    the state is checked again and spent); the connection's view."""
    store_id, connector_id = target
    try:
        return complete_authorisation(
            state(request).workspace,
            store_id,
            params,
            connector_id=connector_id,
            redirect_uri=redirect_uri,
            actor=caller.principal.actor,
            starters=starters(request, caller),
        )
    except AuthorisationRefused as exc:  # used or expired since callback_target looked
        raise _refused_callback(exc) from None
    except SyncInputError as exc:
        raise ConnectionRefused(400, str(exc)) from None
    except AuthorisationError as exc:
        message = f"the platform refused the code: {exc}; start the authorisation again "
        raise ConnectionRefused(400, message + "/ 平台拒绝授权码，请重新发起授权") from None
    except ApiError as exc:
        message = f"{exc}; start the authorisation again later "
        raise ConnectionRefused(502, message + "/ 平台接口出错，请稍后重新发起授权") from None


# -- sync and disconnect -------------------------------------------------------------------


def _existing(session: Session, store_id: int, connector_id: str) -> StoreConnection:
    conn = session.scalar(
        select(StoreConnection).where(
            StoreConnection.store_id == store_id, StoreConnection.connector == connector_id
        )
    )
    if conn is None:
        raise HTTPException(404, f"store {store_id} has no {connector_id} connection / 尚未连接")
    return conn


def queue_sync(
    request: Request, caller: Caller, store_id: int, connector_id: str, since: dt.date | None
) -> tuple[JobView, bool]:
    """Queue ``ingest.sync_store`` for one connection, as the scheduler would; a sync of it
    already queued or running is returned instead of a second one. (job, newly queued)."""
    with transaction(request) as session:
        store_or_404(session, caller, store_id, Access.OPERATE)
        _existing(session, store_id, connector_id)
        waiting = session.scalars(
            select(Job).where(
                Job.kind == SYNC_JOB,
                Job.status.in_((JobStatus.QUEUED.value, JobStatus.RUNNING.value)),
            )
        )
        for row in waiting:
            if row.args.get("store_id") == store_id and row.args.get("connector") in (
                connector_id,
                None,
            ):
                return JobView.of(row), False
    job = submit(
        state(request).workspace,
        SYNC_JOB,
        {
            "store_id": store_id,
            "connector": connector_id,
            "since": since.isoformat() if since else None,
        },
        actor=caller.principal.actor,
    )
    return job, True


def remove_connection(
    request: Request, caller: Caller, store_id: int, connector_id: str
) -> dict[str, Any]:
    with transaction(request) as session:
        store_or_404(session, caller, store_id, Access.MANAGE)
        _existing(session, store_id, connector_id)
    try:
        view = disconnect(
            state(request).workspace, store_id, connector_id, actor=caller.principal.actor
        )
    except SyncInputError as exc:  # disconnected by someone else in the meantime
        raise HTTPException(404, str(exc)) from None
    return {**view, "status": NOT_CONNECTED, "previous_status": view["status"]}


# -- routes ------------------------------------------------------------------------------


def _refused(exc: ConnectionRefused) -> JSONResponse:
    return JSONResponse({"detail": exc.message}, status_code=exc.status)


@router.get(
    "/stores/{store_id}/connections",
    summary="A store's API connections and sync status / 数据连接与同步状态",
)
def list_connections(store_id: StoreId, request: Request, caller: ApiCaller) -> dict[str, Any]:
    """One entry per connector of the store's platform: ``status`` is `not_connected`,
    `pending`, `active`, `expired` or `revoked`; per stream the last success, lag (seconds
    behind now of the cursor) and last error. Secrets and tokens are never included."""
    with transaction(request) as session:
        store = store_or_404(session, caller, store_id)
    return connections_json(request, store)


class ConnectIn(BaseModel):
    connector: str | None = Field(
        default=None, max_length=32, description="default: the platform's primary connector"
    )
    app_key: str = Field(min_length=1, max_length=200, description="app key / client id")
    app_secret: str = Field(min_length=1, max_length=500, description="stored encrypted")
    account: dict[str, Annotated[str, Field(max_length=200)]] = Field(
        default_factory=dict,
        max_length=20,
        description="account ids the platform needs, e.g. shop_id, profile_id, service_id",
    )
    redirect_uri: str | None = Field(
        default=None, max_length=500, description=f"default: this server's {CALLBACK_PATH}"
    )
    api_base: str | None = Field(default=None, max_length=500, description="sandbox/test host")
    auth_base: str | None = Field(default=None, max_length=500, description="sandbox/test host")


@router.post(
    "/stores/{store_id}/connections",
    status_code=201,
    summary="Start authorising a connection / 发起授权",
    responses={409: {"description": "the connection holds tokens for other API hosts"}},
)
def start(store_id: StoreId, body: ConnectIn, request: Request, caller: ApiCaller) -> Any:
    """Needs MANAGE on the store. Answers the platform's authorisation URL: send the seller
    there; the platform redirects back to `redirect_uri` with a code and the `state`."""
    try:
        started = start_connection(
            request,
            caller,
            store_id,
            connector_id=body.connector,
            app_key=body.app_key,
            app_secret=body.app_secret,
            account=body.account,
            redirect_uri=body.redirect_uri,
            api_base=body.api_base,
            auth_base=body.auth_base,
        )
    except ConnectionRefused as exc:
        return _refused(exc)
    return JSONResponse(started.as_json(), status_code=201)


@router.get(
    "/stores/{store_id}/connections/callback",
    summary="Finish an authorisation with the platform's callback / 完成授权",
)
def callback(store_id: StoreId, request: Request, caller: ApiCaller) -> Any:
    """Relay the query string the platform sent to the redirect URI (`code` or
    `spapi_oauth_code`, `state`, `shop_id`, `selling_partner_id` ...). Add `redirect_uri`
    when it was not this server's callback page. Needs MANAGE; the state must be that of an
    authorisation started on this store by the same caller (user of this API token, or this
    login session) less than an hour ago and not used yet: else 400 (403 when another user
    or session started it), audited, nothing connected."""
    params = dict(request.query_params)
    redirect = params.pop("redirect_uri", None)
    with transaction(request) as session:  # another tenant's store: 404, as everywhere
        store_or_404(session, caller, store_id, Access.READ)
    try:
        redirect_uri = _checked_url(redirect, "redirect_uri") or default_redirect_uri(request)
        target = callback_target(request, caller, params.get("state"), store_id=store_id)
        return finish_connection(request, caller, params, target, redirect_uri=redirect_uri)
    except ConnectionRefused as exc:
        return _refused(exc)


class SyncIn(BaseModel):
    since: dt.date | None = Field(default=None, description="re-read from this date")


@router.post(
    "/stores/{store_id}/connections/{connector_id}/sync",
    status_code=202,
    summary="Sync one connection now / 立即同步",
)
def sync_now(
    store_id: StoreId,
    connector_id: ConnectorId,
    request: Request,
    caller: ApiCaller,
    body: SyncIn | None = None,
) -> Any:
    """Needs OPERATE. Queues the `ingest.sync_store` job for this connection (or answers the
    one already queued or running); its outcome shows in the streams' status."""
    job, created = queue_sync(request, caller, store_id, connector_id, body.since if body else None)
    return JSONResponse(
        {"job": _job_json(job), "queued": created}, status_code=202 if created else 200
    )


@router.delete(
    "/stores/{store_id}/connections/{connector_id}",
    summary="Disconnect / 断开连接",
)
def delete_connection(
    store_id: StoreId, connector_id: ConnectorId, request: Request, caller: ApiCaller
) -> dict[str, Any]:
    """Needs MANAGE. Forgets the app secret, the tokens and the streams' sync state; the
    facts already read stay. Withdraw the app in the platform's seller centre as well."""
    return remove_connection(request, caller, store_id, connector_id)
