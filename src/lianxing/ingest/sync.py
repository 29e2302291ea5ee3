"""Store authorisation and scheduled API sync: the entry points the CLI, web app and jobs use.

Authorisation (``start_authorisation`` → the seller opens the URL → ``complete_authorisation``
with the code from the callback; or ``connect_with_refresh_token`` when the seller already
holds one) stores the app secret and tokens encrypted with the workspace key. A refreshed
token is saved the moment it is issued (platforms invalidate the old refresh token).
``disconnect`` forgets a connection (secret, tokens, sync state); the facts stay.

A store has one connection per connector (an Amazon store: SP-API and Ads side by side),
each with its own tokens and status. ``sync_store(workspace, store_id, since=None)`` syncs
every connection of the store (or the one named by ``connector``); ``sync_connection``
reads every stream of one connection incrementally, each stream's state kept per
(store, connector, stream):

* the window is ``[cursor - overlap, now - settle)`` (``since`` overrides the start; a
  first run starts ``lookback`` ago). Re-read rows merge by natural key, so the overlap
  never duplicates;
* each page is written in its own warehouse batch transaction, *then* the position after
  it is saved as the stream's checkpoint. A crash between the two re-reads that page
  (merged again, unchanged); a crash anywhere else resumes after the last saved page with
  the same window, so there is no gap and no duplicate. The cursor moves only when the
  whole window is read;
* a rejected grant marks that connection ``expired``/``revoked`` (shown by ``sync status``)
  and stops its sync, not the store's other connections; other errors are recorded on
  the stream (``last_error``) and the next stream still runs.

Each stream run is one ``ImportBatch`` (source ``api:<connector>``) with an audit entry,
as a file import is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import threading
import time
import urllib.parse
import uuid
from collections.abc import Collection, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from lianxing.db.audit import record
from lianxing.db.models import ImportBatch, Store
from lianxing.db.models_connectors import StoreConnection, SyncState
from lianxing.domain.accounts import ImportStatus
from lianxing.domain.time import utcnow
from lianxing.ingest.api.base import (
    AuthorisationError,
    Connector,
    Credentials,
    TokenSet,
    Window,
    connectors_for_platform,
    get_connector,
)
from lianxing.ingest.buyers import buyer_salt
from lianxing.ingest.files.base import ImportContext
from lianxing.warehouse import WriteStats
from lianxing.workspace import Workspace

DEFAULT_REDIRECT_URI = "http://127.0.0.1:8000/connect/callback"

# One batch writer at a time per warehouse connection: its staging tables are per connection.
_WRITE_LOCKS: dict[int, threading.Lock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


# A stream chosen by name (every connector's stream of that name) or by (connector, name):
# Amazon SP-API and Shopee both have a "returns" stream.
StreamChoice = str | tuple[str, str]


class SyncInputError(ValueError):
    """The request cannot start: unknown store, no connection, unknown connector."""


class AuthorisationRefused(SyncInputError):
    """A callback refused for its state, and audited: ``reason`` is ``no_state``,
    ``unknown`` (never started here, or already used), ``other_starter`` or ``expired``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


# A connection that was never authorised has no token to try; sync reports it, not fails it.
PENDING = "pending"


@dataclass
class ConnectorOptions:
    """How connectors are built: hosts come from the connection; these tune the client.

    ``limit_scale`` multiplies every published rate (1.0 in production; loopback tests and
    the benchmark run the fake platforms at a scaled limit and the client at the same one).
    """

    limit_scale: float = 1.0
    http: dict[str, Any] = field(default_factory=dict)
    poll_interval: float | None = None


@dataclass
class StreamResult:
    stream: str
    status: str  # succeeded | failed | skipped
    window_start: dt.datetime | None = None
    window_end: dt.datetime | None = None
    records: int = 0
    pages: int = 0
    resumed: bool = False
    batch_id: str | None = None
    tables: dict[str, WriteStats] = field(default_factory=dict)
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "stream": self.stream,
            "status": self.status,
            "window": [
                self.window_start.isoformat() if self.window_start else None,
                self.window_end.isoformat() if self.window_end else None,
            ],
            "records": self.records,
            "pages": self.pages,
            "resumed": self.resumed,
            "batch_id": self.batch_id,
            "tables": {k: v.as_dict() for k, v in self.tables.items()},
            "error": self.error,
        }


@dataclass
class SyncResult:
    store_id: int
    connector: str
    status: str  # succeeded | partial | failed | expired | revoked | pending
    streams: list[StreamResult] = field(default_factory=list)
    requests: int = 0
    throttled: int = 0
    token_refreshes: int = 0
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "store": self.store_id,
            "connector": self.connector,
            "status": self.status,
            "streams": [s.as_json() for s in self.streams],
            "requests": self.requests,
            "throttled": self.throttled,
            "token_refreshes": self.token_refreshes,
            "error": self.error,
        }


# -- connections --------------------------------------------------------------------------


def _enc(workspace: Workspace, value: str | None) -> str | None:
    return None if value is None else workspace.cipher.encrypt(value.encode()).decode()


def _dec(workspace: Workspace, value: str | None) -> str | None:
    return None if value is None else workspace.cipher.decrypt(value.encode()).decode()


def _store(session: Session, store_id: int) -> Store:
    store = session.get(Store, store_id)
    if store is None:
        raise SyncInputError(f"--store: no store with id {store_id} / 店铺不存在")
    return store


def _connections(
    session: Session, store_id: int, connector_id: str | None = None
) -> list[StoreConnection]:
    """The store's connections (that of ``connector_id`` only, when given); never empty."""
    query = select(StoreConnection).where(StoreConnection.store_id == store_id)
    if connector_id is not None:
        query = query.where(StoreConnection.connector == connector_id)
    found = list(session.scalars(query.order_by(StoreConnection.connector)))
    if not found:
        which = f"{connector_id} " if connector_id else ""
        option = f" --connector {connector_id}" if connector_id else ""
        raise SyncInputError(
            f"store {store_id} has no {which}API connection; run "
            f"`lianxing connect --store {store_id}{option}` / 店铺尚未授权该 API"
        )
    return found


def _connection(
    session: Session, store_id: int, connector_id: str | None = None
) -> StoreConnection:
    """The store's connection of ``connector_id``, or its only connection when not named."""
    found = _connections(session, store_id, connector_id)
    if len(found) > 1:
        names = ", ".join(c.connector for c in found)
        raise SyncInputError(
            f"store {store_id} has {len(found)} connections ({names}); name one with "
            "--connector / 店铺有多个连接，请用 --connector 指定"
        )
    return found[0]


def _connector_class(platform: str, connector_id: str | None) -> type[Connector]:
    if connector_id:
        try:
            found = get_connector(connector_id)
        except KeyError as exc:
            raise SyncInputError(str(exc.args[0])) from None
        if found.platform != platform:
            raise SyncInputError(
                f"--connector {connector_id} serves {found.platform} stores, not {platform}"
            )
        return found
    candidates = connectors_for_platform(platform)
    if not candidates:
        raise SyncInputError(f"no API connector for platform {platform!r} / 该平台暂无 API 连接器")
    return sorted(candidates, key=lambda c: (not c.primary, c.id))[0]


def _credentials(workspace: Workspace, conn: StoreConnection, store: Store) -> Credentials:
    account = dict(conn.account or {})
    if store.marketplace_id and "marketplace_id" not in account:
        account["marketplace_id"] = store.marketplace_id
    account.setdefault("site", store.site.upper())  # picks regional hosts (Lazada ventures)
    return Credentials(
        app_key=conn.app_key,
        app_secret=_dec(workspace, conn.app_secret_enc) or "",
        access_token=_dec(workspace, conn.access_token_enc),
        refresh_token=_dec(workspace, conn.refresh_token_enc),
        access_expires_at=conn.access_expires_at,
        refresh_expires_at=conn.refresh_expires_at,
        account=account,
    )


def _save_tokens(
    workspace: Workspace, session: Session, conn: StoreConnection, tokens: TokenSet, actor: str
) -> None:
    conn.access_token_enc = _enc(workspace, tokens.access_token)
    if tokens.refresh_token:
        conn.refresh_token_enc = _enc(workspace, tokens.refresh_token)
    conn.access_expires_at = tokens.access_expires_at
    if tokens.refresh_expires_at:
        conn.refresh_expires_at = tokens.refresh_expires_at
    conn.account = {**(conn.account or {}), **tokens.account}
    if tokens.scopes:
        conn.scopes = list(tokens.scopes)
    conn.status = "active"
    conn.status_reason = None
    conn.oauth_state = None
    conn.oauth_started_by = None
    conn.updated_at = utcnow()
    record(
        session,
        actor=actor,
        action="connection.tokens",
        entity="store_connection",
        entity_id=conn.id,
        # Never the tokens themselves: a fingerprint tells refreshes apart.
        data={
            "store_id": conn.store_id,
            "connector": conn.connector,
            "access_token_sha256": hashlib.sha256(tokens.access_token.encode()).hexdigest()[:16],
            "access_expires_at": tokens.access_expires_at.isoformat()
            if tokens.access_expires_at
            else None,
        },
    )


def build_connector(
    workspace: Workspace,
    store_id: int,
    connector_id: str | None = None,
    *,
    options: ConnectorOptions | None = None,
    actor: str = "sync",
) -> Connector:
    """The connector of one of the store's connections (its only one when
    ``connector_id`` is not given), with a listener that saves refreshed tokens at once."""
    options = options or ConnectorOptions()
    with workspace.session() as session:
        store = _store(session, store_id)
        conn = _connection(session, store_id, connector_id)
        cls = get_connector(conn.connector)
        creds = _credentials(workspace, conn, store)
        api_base, auth_base = conn.api_base_url, conn.auth_base_url

    def persist(tokens: TokenSet) -> None:
        with workspace.session() as session:
            conn = _connection(session, store_id, cls.id)
            _save_tokens(workspace, session, conn, tokens, actor)

    connector = cls(
        creds,
        api_base=api_base,
        auth_base=auth_base,
        on_tokens=persist,
        limit_scale=options.limit_scale,
        http_options=options.http,
    )
    if options.poll_interval is not None and hasattr(connector, "poll_interval"):
        connector.poll_interval = options.poll_interval
    return connector


def _upsert_connection(
    workspace: Workspace,
    session: Session,
    store: Store,
    cls: type[Connector],
    *,
    app_key: str,
    app_secret: str,
    account: Mapping[str, Any] | None,
    api_base: str | None,
    auth_base: str | None,
) -> StoreConnection:
    # Keyed by (store, connector): connecting Ads leaves the store's SP-API connection alone.
    conn = session.scalar(
        select(StoreConnection).where(
            StoreConnection.store_id == store.id, StoreConnection.connector == cls.id
        )
    )
    if conn is None:
        conn = StoreConnection(store_id=store.id, connector=cls.id, scopes=[], account={})
        session.add(conn)
    conn.app_key = app_key
    conn.app_secret_enc = _enc(workspace, app_secret) or ""
    conn.account = {**(conn.account or {}), **dict(account or {})}
    conn.api_base_url = api_base
    conn.auth_base_url = auth_base
    conn.updated_at = utcnow()
    return conn


# An authorisation left unfinished this long is void: platforms' codes live minutes, and a
# state that never expires could complete a grant long after the seller walked away.
AUTHORISATION_TTL_SECONDS = 3600


def _new_state() -> str:
    """A random OAuth state that carries when it was issued (epoch seconds)."""
    return f"{int(time.time())}.{secrets.token_urlsafe(24)}"


def _state_expired(state: str) -> bool:
    issued, sep, _ = state.partition(".")
    if not sep or not issued.isdigit():  # issued before states carried a time
        return False
    return time.time() - int(issued) > AUTHORISATION_TTL_SECONDS


def start_authorisation(
    workspace: Workspace,
    store_id: int,
    *,
    app_key: str,
    app_secret: str,
    connector_id: str | None = None,
    account: Mapping[str, Any] | None = None,
    redirect_uri: str = DEFAULT_REDIRECT_URI,
    api_base: str | None = None,
    auth_base: str | None = None,
    actor: str = "cli",
    started_by: str | None = None,
) -> str:
    """Record a pending connection and return the URL the seller must open.

    ``started_by`` names who may finish it (the web app: a hash of the user and login
    session); None, the command line's: such an authorisation is finished there only."""
    state = _new_state()
    with workspace.session() as session:
        store = _store(session, store_id)
        cls = _connector_class(store.platform, connector_id)
        conn = _upsert_connection(
            workspace,
            session,
            store,
            cls,
            app_key=app_key,
            app_secret=app_secret,
            account=account,
            api_base=api_base,
            auth_base=auth_base,
        )
        if conn.access_token_enc is None:
            conn.status = "pending"
        conn.oauth_state = state
        conn.oauth_started_by = started_by
        session.flush()
        record(
            session,
            actor=actor,
            action="connection.authorise_start",
            entity="store_connection",
            entity_id=conn.id,
            data={"store_id": store_id, "connector": cls.id, "redirect_uri": redirect_uri},
        )
        creds = _credentials(workspace, conn, store)
    connector = cls(creds, api_base=api_base, auth_base=auth_base)
    try:
        return connector.authorisation_url(redirect_uri=redirect_uri, state=state)
    finally:
        connector.close()


def parse_callback(callback: str) -> dict[str, str]:
    """The query parameters of a pasted callback URL (or of a bare ``a=1&b=2`` string)."""
    query = urllib.parse.urlsplit(callback).query if "?" in callback else callback
    return {k: v[-1] for k, v in urllib.parse.parse_qs(query).items()}


def _authorising(
    session: Session, store_id: int, connector_id: str | None, state: str | None
) -> StoreConnection:
    """The connection a callback answers: the named one, else the one whose authorisation
    carries the callback's ``state``, else the one authorisation in flight."""
    if connector_id is not None:
        return _connection(session, store_id, connector_id)
    found = _connections(session, store_id)
    by_state = [c for c in found if state is not None and c.oauth_state == state]
    in_flight = [c for c in found if c.oauth_state]
    for candidates in (by_state, in_flight if state is None else [], found):
        if len(candidates) == 1:
            return candidates[0]
    if state is not None:
        raise SyncInputError(
            "the callback's state matches no authorisation started here "
            "/ 回调 state 不匹配，请重新发起授权"
        )
    return _connection(session, store_id)  # several: asks for --connector


_REFUSALS = {
    "no_state": "the callback has no state; start the authorisation again "
    "/ 回调缺少 state，请重新发起授权",
    "unknown": "the callback's state matches no authorisation in flight here (never "
    "started, or already used); start the authorisation again "
    "/ 回调 state 不匹配进行中的授权（未发起或已使用），请重新发起授权",
    "other_starter": "this authorisation was started by another user or in another session; "
    "start it again yourself / 该授权由其他用户或在其他会话中发起，请自行重新发起授权",
    "expired": f"this authorisation was started more than {AUTHORISATION_TTL_SECONDS // 60} "
    "minutes ago; start it again "
    f"/ 授权发起已超过 {AUTHORISATION_TTL_SECONDS // 60} 分钟，请重新发起",
}


def _refusal(
    conn: StoreConnection, presented: str | None, starters: Collection[str]
) -> AuthorisationRefused | None:
    """Why a callback presenting ``presented``, from a caller holding ``starters`` (the
    keys ``started_by`` may take for it; none: the command line), may not finish ``conn``'s
    authorisation; None when it may."""
    expected = conn.oauth_state
    if presented is None:
        if starters:  # only the command line finishes without the state (``--code``)
            return AuthorisationRefused("no_state", _REFUSALS["no_state"])
    elif presented != expected:
        return AuthorisationRefused("unknown", _REFUSALS["unknown"])
    if expected is None:  # the command line's ``--code`` with nothing in flight
        return None
    started_by = conn.oauth_started_by
    allowed = started_by in starters if started_by is not None else not starters
    if not allowed:
        return AuthorisationRefused("other_starter", _REFUSALS["other_starter"])
    if _state_expired(expected):
        return AuthorisationRefused("expired", _REFUSALS["expired"])
    return None


def _record_refusal(
    session: Session,
    refusal: AuthorisationRefused,
    conn: StoreConnection | None,
    actor: str,
    store_id: int | None = None,
) -> None:
    record(
        session,
        actor=actor,
        action="connection.authorise_refused",
        entity="store_connection",
        entity_id=conn.id if conn is not None else "unknown",
        data={
            "store_id": conn.store_id if conn is not None else store_id,
            "connector": conn.connector if conn is not None else None,
            "reason": refusal.reason,
        },
    )


def authorisation_for_callback(
    workspace: Workspace,
    state: str | None,
    *,
    starters: Collection[str],
    actor: str,
    store_id: int | None = None,
) -> tuple[int, str]:
    """(store, connector) of the authorisation in flight whose state a callback carries
    (of ``store_id`` only, when given), if a caller holding ``starters`` may finish it;
    else ``AuthorisationRefused``, recorded in the audit log. Nothing is spent here:
    ``complete_authorisation`` checks again and spends the state."""
    with workspace.session() as session:
        conn = None
        if state:
            query = select(StoreConnection).where(StoreConnection.oauth_state == state)
            if store_id is not None:
                query = query.where(StoreConnection.store_id == store_id)
            conn = session.scalar(query)
        if conn is not None:
            refusal = _refusal(conn, state, starters)
        else:
            reason = "unknown" if state else "no_state"
            refusal = AuthorisationRefused(reason, _REFUSALS[reason])
        if refusal is None:
            assert conn is not None
            return conn.store_id, conn.connector
        _record_refusal(session, refusal, conn, actor, store_id)
    raise refusal


def _spend_state(session: Session, conn: StoreConnection) -> bool:
    """Clear the authorisation's state before its code is exchanged: of two callbacks
    racing with one state, the conditional update lets exactly one through."""
    spent = session.execute(
        update(StoreConnection)
        .where(StoreConnection.id == conn.id, StoreConnection.oauth_state == conn.oauth_state)
        .values(oauth_state=None, oauth_started_by=None)
        .execution_options(synchronize_session=False)
    )
    return cast("CursorResult[Any]", spent).rowcount == 1


def _record_exchange_failure(
    workspace: Workspace, store_id: int, conn_id: int, connector_id: str, exc: Exception, actor: str
) -> None:
    # The state was spent before the exchange failed: the seller starts again.
    reason = str(exc)[:500] if isinstance(exc, AuthorisationError) else type(exc).__name__
    with workspace.session() as session:
        record(
            session,
            actor=actor,
            action="connection.authorise_failed",
            entity="store_connection",
            entity_id=conn_id,
            data={"store_id": store_id, "connector": connector_id, "reason": reason},
        )


def complete_authorisation(
    workspace: Workspace,
    store_id: int,
    params: Mapping[str, str],
    *,
    connector_id: str | None = None,
    redirect_uri: str = DEFAULT_REDIRECT_URI,
    actor: str = "cli",
    starters: Collection[str] = (),
) -> dict[str, Any]:
    """Exchange the callback's code for tokens; that connection becomes active.

    The callback's state must be that of the authorisation in flight, started less than
    ``AUTHORISATION_TTL_SECONDS`` ago by a caller whose key is in ``starters`` (none: the
    command line, which started it with ``started_by=None``); it is spent before the code
    is exchanged, so it finishes one authorisation at most. A refusal is audited."""
    code = params.get("code") or params.get("spapi_oauth_code")
    if not code:
        raise SyncInputError("the callback has no code / 回调中没有授权码 code")
    with workspace.session() as session:
        store = _store(session, store_id)
        conn = _authorising(session, store_id, connector_id, params.get("state"))
        refusal = _refusal(conn, params.get("state"), starters)
        if refusal is None and conn.oauth_state is not None and not _spend_state(session, conn):
            refusal = AuthorisationRefused("unknown", _REFUSALS["unknown"])  # used meanwhile
        if refusal is not None:
            _record_refusal(session, refusal, conn, actor)
        conn_id = conn.id
        cls = get_connector(conn.connector)
        creds = _credentials(workspace, conn, store)
        api_base, auth_base = conn.api_base_url, conn.auth_base_url
    if refusal is not None:
        raise refusal
    connector = cls(creds, api_base=api_base, auth_base=auth_base)
    try:
        tokens = connector.exchange_code(code, redirect_uri=redirect_uri, params=params)
    except Exception as exc:
        _record_exchange_failure(workspace, store_id, conn_id, cls.id, exc, actor)
        raise
    finally:
        connector.close()
    with workspace.session() as session:
        conn = _connection(session, store_id, cls.id)
        _save_tokens(workspace, session, conn, tokens, actor)
        return connection_view(conn)


def connect_with_refresh_token(
    workspace: Workspace,
    store_id: int,
    *,
    app_key: str,
    app_secret: str,
    refresh_token: str,
    connector_id: str | None = None,
    account: Mapping[str, Any] | None = None,
    api_base: str | None = None,
    auth_base: str | None = None,
    actor: str = "cli",
) -> dict[str, Any]:
    """Store a refresh token the seller already has; proven by refreshing it once."""
    with workspace.session() as session:
        store = _store(session, store_id)
        cls = _connector_class(store.platform, connector_id)
        conn = _upsert_connection(
            workspace,
            session,
            store,
            cls,
            app_key=app_key,
            app_secret=app_secret,
            account=account,
            api_base=api_base,
            auth_base=auth_base,
        )
        conn.refresh_token_enc = _enc(workspace, refresh_token)
        conn.access_token_enc = None
        conn.status = "pending"
        session.flush()
        creds = _credentials(workspace, conn, store)
    connector = cls(creds, api_base=api_base, auth_base=auth_base)
    try:
        tokens = connector.refresh_tokens()
    except AuthorisationError as exc:
        _mark(workspace, store_id, cls.id, exc, actor)
        raise
    finally:
        connector.close()
    with workspace.session() as session:
        conn = _connection(session, store_id, cls.id)
        _save_tokens(workspace, session, conn, tokens, actor)
        return connection_view(conn)


def connection_view(conn: StoreConnection) -> dict[str, Any]:
    return {
        "store": conn.store_id,
        "connector": conn.connector,
        "status": conn.status,
        "status_reason": conn.status_reason,
        "account": dict(conn.account or {}),
        "access_expires_at": conn.access_expires_at.isoformat() if conn.access_expires_at else None,
        "refresh_expires_at": conn.refresh_expires_at.isoformat()
        if conn.refresh_expires_at
        else None,
    }


def disconnect(
    workspace: Workspace, store_id: int, connector_id: str, *, actor: str = "cli"
) -> dict[str, Any]:
    """Forget one connection: its app secret, its tokens and its streams' sync state (the
    facts already read stay). The grant itself is withdrawn in the platform's seller centre;
    a later connection, perhaps of another account, starts its streams afresh."""
    with workspace.session() as session:
        _store(session, store_id)
        conn = _connection(session, store_id, connector_id)
        view = connection_view(conn)
        states = session.scalars(
            select(SyncState).where(
                SyncState.store_id == store_id, SyncState.connector == conn.connector
            )
        )
        for state in states:
            session.delete(state)
        record(
            session,
            actor=actor,
            action="connection.disconnect",
            entity="store_connection",
            entity_id=conn.id,
            data={"store_id": store_id, "connector": conn.connector, "status": conn.status},
        )
        session.delete(conn)
    return view


def _mark(
    workspace: Workspace, store_id: int, connector_id: str, exc: AuthorisationError, actor: str
) -> None:
    """That one connection is expired/revoked; the store's other connections keep theirs."""
    with workspace.session() as session:
        conn = _connection(session, store_id, connector_id)
        conn.status = exc.status
        conn.status_reason = str(exc)
        conn.updated_at = utcnow()
        record(
            session,
            actor=actor,
            action=f"connection.{exc.status}",
            entity="store_connection",
            entity_id=conn.id,
            data={"store_id": store_id, "connector": connector_id, "reason": str(exc)[:500]},
        )


# -- sync --------------------------------------------------------------------------------


def _write_lock(workspace: Workspace) -> threading.Lock:
    key = id(workspace.warehouse)
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(key, threading.Lock())


def _context(workspace: Workspace, store: Store) -> ImportContext:
    return ImportContext(
        file="api",
        store_id=store.id,
        timezone=store.timezone,
        currency=store.currency,
        site=store.site.upper(),
        buyer_salt=buyer_salt(workspace),
        marketplace_id=store.marketplace_id,
    )


def _state(session: Session, store_id: int, connector_id: str, stream: str) -> SyncState:
    found = session.scalar(
        select(SyncState).where(
            SyncState.store_id == store_id,
            SyncState.connector == connector_id,
            SyncState.stream == stream,
        )
    )
    if found is None:
        found = SyncState(store_id=store_id, connector=connector_id, stream=stream, rows_written=0)
        session.add(found)
        session.flush()
    return found


def _add(total: dict[str, WriteStats], more: Mapping[str, WriteStats]) -> None:
    for name, stats in more.items():
        old = total.get(name, WriteStats())
        total[name] = WriteStats(
            old.new + stats.new, old.updated + stats.updated, old.unchanged + stats.unchanged
        )


def _begin_stream(
    workspace: Workspace,
    store_id: int,
    connector: Connector,
    stream: str,
    since: dt.date | dt.datetime | None,
    now: dt.datetime,
) -> StreamResult:
    spec = connector.stream(stream)
    with workspace.session() as session:
        state = _state(session, store_id, connector.id, stream)
        checkpoint = state.checkpoint
        resumed = checkpoint is not None and since is None
        if resumed:
            assert checkpoint is not None
            start = dt.datetime.fromisoformat(checkpoint["window_start"])
            end = dt.datetime.fromisoformat(checkpoint["window_end"])
            batch_id = str(checkpoint["batch_id"])
        else:
            if since is not None:
                start = (
                    since
                    if isinstance(since, dt.datetime)
                    else dt.datetime.combine(since, dt.time())
                )
            elif state.cursor is not None:
                start = state.cursor - spec.overlap
            else:
                start = now - spec.lookback
            end = max(now - spec.settle, start)
            batch_id = str(uuid.uuid4())
            state.checkpoint = {
                "window_start": start.isoformat(),
                "window_end": end.isoformat(),
                "batch_id": batch_id,
                "position": None,
            }
        state.last_attempt_at = now
        if session.get(ImportBatch, batch_id) is None:
            session.add(
                ImportBatch(
                    id=batch_id,
                    store_id=store_id,
                    source=f"api:{connector.id}",
                    file_name=f"{stream} {start.isoformat()}..{end.isoformat()}",
                    status=ImportStatus.RUNNING.value,
                    started_at=now,
                )
            )
    return StreamResult(stream, "running", start, end, resumed=resumed, batch_id=batch_id)


def _sync_stream(
    workspace: Workspace,
    store: Store,
    connector: Connector,
    stream: str,
    since: dt.date | dt.datetime | None,
    now: dt.datetime,
    actor: str,
) -> StreamResult:
    result = _begin_stream(workspace, store.id, connector, stream, since, now)
    assert result.window_start is not None and result.window_end is not None
    assert result.batch_id is not None
    with workspace.session() as session:
        saved = _state(session, store.id, connector.id, stream).checkpoint or {}
    position = saved.get("position")
    ctx = _context(workspace, store)
    source = f"api:{connector.id}"
    lock = _write_lock(workspace)
    error: BaseException | None = None
    try:
        window = Window(result.window_start, result.window_end)
        for page in connector.read_stream(stream, window, position, ctx):
            if page.chunks:
                with lock, workspace.warehouse.batch(result.batch_id, source) as writer:
                    for table, data in page.chunks:
                        writer.append(table, data)
                _add(result.tables, writer.stats)
            result.records += page.records
            result.pages += 1
            with workspace.session() as session:
                state = _state(session, store.id, connector.id, stream)
                state.checkpoint = {**(state.checkpoint or {}), "position": page.position}
    except Exception as exc:
        error = exc
    _finish_stream(workspace, store.id, connector, result, error, actor)
    if result.tables:
        # The KPI engine's cubes follow what was written, as after a file import (a heavy
        # import, done here only when something was written).
        from lianxing.metrics.compiler import StoreInfo
        from lianxing.metrics.service import keep_cubes_in_step

        with lock:
            keep_cubes_in_step(
                workspace.warehouse, [StoreInfo(ctx.store_id, ctx.timezone)], result.tables
            )
    if isinstance(error, AuthorisationError):
        raise error
    return result


def _finish_stream(
    workspace: Workspace,
    store_id: int,
    connector: Connector,
    result: StreamResult,
    error: BaseException | None,
    actor: str,
) -> None:
    finished = utcnow()
    result.status = "succeeded" if error is None else "failed"
    result.error = None if error is None else f"{type(error).__name__}: {error}"
    written = sum(s.new + s.updated for s in result.tables.values())
    with workspace.session() as session:
        state = _state(session, store_id, connector.id, result.stream)
        if error is None:
            state.cursor = result.window_end
            state.last_success_at = finished
            state.last_error = None
            state.checkpoint = None
            state.last_batch_id = result.batch_id
        else:
            state.last_error = result.error[:2000] if result.error else None
            state.last_error_at = finished
        state.rows_written = (state.rows_written or 0) + written
        batch = session.get(ImportBatch, result.batch_id)
        assert batch is not None
        batch.rows_read += result.records
        batch.rows_new += sum(s.new for s in result.tables.values())
        batch.rows_updated += sum(s.updated for s in result.tables.values())
        batch.rows_unchanged += sum(s.unchanged for s in result.tables.values())
        if error is None:
            batch.status = ImportStatus.SUCCEEDED.value
            batch.finished_at = finished
            batch.error = None
        else:
            batch.error = result.error  # stays "running" until a later run finishes the window
        record(
            session,
            actor=actor,
            action=f"sync.{result.status}",
            entity="import_batch",
            entity_id=str(result.batch_id),
            data={
                "store_id": store_id,
                "connector": connector.id,
                "stream": result.stream,
                "window": result.as_json()["window"],
                "records": result.records,
                "resumed": result.resumed,
                "tables": {k: v.as_dict() for k, v in result.tables.items()},
                "error": result.error.splitlines()[0][:500] if result.error else None,
            },
        )


def sync_connection(
    workspace: Workspace,
    store_id: int,
    connector_id: str,
    since: dt.date | dt.datetime | None = None,
    *,
    streams: Iterable[StreamChoice] | None = None,
    options: ConnectorOptions | None = None,
    actor: str = "sync",
) -> SyncResult:
    """Sync the streams of one connection (all, or those named in ``streams``; see the
    module docstring)."""
    with workspace.session() as session:
        store = _store(session, store_id)
        conn = _connection(session, store_id, connector_id)
        session.expunge(store)
        if conn.status in ("expired", "revoked"):
            return SyncResult(
                store_id,
                conn.connector,
                conn.status,
                error=f"authorisation {conn.status}: {conn.status_reason} / 授权已失效，请重新授权",
            )
        if conn.access_token_enc is None and conn.refresh_token_enc is None:
            return SyncResult(
                store_id,
                conn.connector,
                PENDING,
                error="authorisation not finished; complete `lianxing connect` / 授权尚未完成",
            )
    connector = build_connector(workspace, store_id, connector_id, options=options, actor=actor)
    now = utcnow()
    result = SyncResult(store_id, connector.id, "succeeded")
    choices = None if streams is None else tuple(streams)
    wanted = [s.name for s in connector.list_streams() if _chosen(connector.id, s.name, choices)]
    try:
        for stream in wanted:
            result.streams.append(
                _sync_stream(workspace, store, connector, stream, since, now, actor)
            )
    except AuthorisationError as exc:
        _mark(workspace, store_id, connector.id, exc, actor)
        result.status = exc.status
        result.error = str(exc)
    finally:
        stats = connector.http.stats
        result.requests, result.throttled = stats.requests, stats.throttled
        result.token_refreshes = stats.token_refreshes
        connector.close()
    if result.status == "succeeded" and any(s.status == "failed" for s in result.streams):
        ok = any(s.status == "succeeded" for s in result.streams)
        result.status = "partial" if ok else "failed"
    return result


def sync_store(
    workspace: Workspace,
    store_id: int,
    since: dt.date | dt.datetime | None = None,
    *,
    connector: str | None = None,
    streams: Iterable[StreamChoice] | None = None,
    options: ConnectorOptions | None = None,
    actor: str = "sync",
) -> list[SyncResult]:
    """Sync every connection of the store (only ``connector``'s, when named), one result
    per connection, in connector order. A plain function: jobs call it."""
    if connector is not None:
        _known_connector(connector)
    with workspace.session() as session:
        _store(session, store_id)
        connector_ids = [c.connector for c in _connections(session, store_id, connector)]
    choices = None if streams is None else tuple(streams)  # read once per connection
    return [
        sync_connection(
            workspace, store_id, c, since, streams=choices, options=options, actor=actor
        )
        for c in connector_ids
    ]


def _known_connector(connector_id: str) -> None:
    try:
        get_connector(connector_id)
    except KeyError as exc:
        raise SyncInputError(f"--connector: {exc.args[0]}") from None


def _chosen(connector_id: str, stream: str, streams: Iterable[StreamChoice] | None) -> bool:
    if streams is None:
        return True
    return any(c == stream or c == (connector_id, stream) for c in streams)


def connected_store_ids(workspace: Workspace, connector: str | None = None) -> list[int]:
    """Stores with at least one connection (one of ``connector``, when named)."""
    query = select(StoreConnection.store_id).distinct().order_by(StoreConnection.store_id)
    if connector is not None:
        query = query.where(StoreConnection.connector == connector)
    with workspace.session() as session:
        return list(session.scalars(query))


def sync_stores(
    workspace: Workspace,
    store_ids: Iterable[int] | None = None,
    since: dt.date | dt.datetime | None = None,
    *,
    connector: str | None = None,
    workers: int = 1,
    streams: Iterable[StreamChoice] | None = None,
    options: ConnectorOptions | None = None,
    actor: str = "sync",
) -> list[SyncResult]:
    """Sync several stores, ``workers`` at a time (rate limits are shared per account); one
    result per connection. Without ``store_ids``: every connected store (that has a
    ``connector`` connection, when named)."""
    if connector is not None:
        _known_connector(connector)
    ids = list(store_ids) if store_ids is not None else connected_store_ids(workspace, connector)
    streams = None if streams is None else tuple(streams)  # read once per store

    def one(store_id: int) -> list[SyncResult]:
        return sync_store(
            workspace,
            store_id,
            since,
            connector=connector,
            streams=streams,
            options=options,
            actor=actor,
        )

    if workers <= 1:
        return [r for i in ids for r in one(i)]
    workspace.warehouse  # noqa: B018 - connect once, before threads race to connect twice
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(one, i) for i in ids]
        return [r for f in futures for r in f.result()]


def _stream_view(state: SyncState, now: dt.datetime) -> dict[str, Any]:
    return {
        "stream": state.stream,
        "cursor": state.cursor.isoformat() if state.cursor else None,
        "last_success_at": state.last_success_at.isoformat() if state.last_success_at else None,
        "lag_seconds": int((now - state.cursor).total_seconds()) if state.cursor else None,
        "last_error": state.last_error,
        "last_error_at": state.last_error_at.isoformat() if state.last_error_at else None,
        "in_progress": state.checkpoint is not None,
        "rows_written": state.rows_written,
    }


def sync_status(
    workspace: Workspace, store_id: int | None = None, connector: str | None = None
) -> list[dict[str, Any]]:
    """Per connection (store, connector): its status and, per stream, cursor, lag, last
    success/error."""
    now = utcnow()
    with workspace.session() as session:
        query = select(StoreConnection).order_by(
            StoreConnection.store_id, StoreConnection.connector
        )
        if store_id is not None:
            _store(session, store_id)
            query = query.where(StoreConnection.store_id == store_id)
        if connector is not None:
            _known_connector(connector)
            query = query.where(StoreConnection.connector == connector)
        out: list[dict[str, Any]] = []
        for conn in session.scalars(query):
            states = session.scalars(
                select(SyncState)
                .where(SyncState.store_id == conn.store_id, SyncState.connector == conn.connector)
                .order_by(SyncState.stream)
            )
            streams = [_stream_view(state, now) for state in states]
            out.append({**connection_view(conn), "streams": streams})
        return out


def register_jobs() -> None:
    """Register ``ingest.sync_store`` with the job runner (embedded or Dramatiq)."""
    from lianxing.jobs.registry import JobContext, job

    @job("ingest.sync_store")
    def sync_store_job(
        ctx: JobContext, store_id: int, since: str | None = None, connector: str | None = None
    ) -> dict[str, Any]:
        """Every connection of the store (or ``connector``'s). Idempotent: a repeated
        delivery resumes from the checkpoint or re-reads the overlap window, merging by
        natural key."""
        start = dt.date.fromisoformat(since) if since else None
        results = sync_store(
            ctx.workspace, store_id, start, connector=connector, actor=f"job:{ctx.job_id}"
        )
        return {"store": store_id, "connections": [r.as_json() for r in results]}


register_jobs()
