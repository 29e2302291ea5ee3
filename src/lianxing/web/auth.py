"""Login sessions (cookies), API tokens (bearer) and login rate limiting.

* A login gives the browser a random session token in an HttpOnly, SameSite=Lax cookie
  (Secure when served over HTTPS); the database keeps only its SHA-256.
* Forms and cookie-authenticated API writes carry the session's CSRF token (hidden field
  ``csrf_token`` or header ``X-CSRF-Token``). The login form itself uses a double-submit
  cookie, since there is no session yet.
* Scripts use ``Authorization: Bearer lx_...`` tokens; they need no CSRF token because a
  browser never sends them on its own.
* Failed logins are counted per e-mail and per address; past the limit the login answers
  429 with Retry-After, whether or not the password is right.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lianxing.db.audit import record
from lianxing.db.models_web import ApiToken, LoginAttempt, LoginSession
from lianxing.domain.time import utcnow

SESSION_COOKIE = "lx_session"
LOGIN_CSRF_COOKIE = "lx_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SESSION_LIFETIME = timedelta(days=7)
TOKEN_PREFIX = "lx_"

RATE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_EMAIL = 5
MAX_FAILURES_PER_IP = 30


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def same_secret(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


# ---------------------------------------------------------------------------------------
# Sessions
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionInfo:
    user_id: int
    csrf_token: str
    session_id: int | None  # None: authenticated by API token


def start_session(
    session: Session, user_id: int, *, ip: str | None, user_agent: str | None
) -> tuple[str, str]:
    """A new login session; returns (cookie token, CSRF token)."""
    token, csrf = new_secret(), new_secret()
    now = utcnow()
    row = LoginSession(
        token_sha256=sha256(token),
        user_id=user_id,
        csrf_token=csrf,
        created_at=now,
        expires_at=now + SESSION_LIFETIME,
        last_seen_at=now,
        ip=ip,
        user_agent=(user_agent or "")[:300] or None,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor=f"user:{user_id}",
        action="session.start",
        entity="user",
        entity_id=user_id,
        data={"session_id": row.id, "ip": ip},
    )
    return token, csrf


def session_for(session: Session, token: str | None) -> SessionInfo | None:
    if not token:
        return None
    row = session.scalars(
        select(LoginSession).where(LoginSession.token_sha256 == sha256(token))
    ).first()
    now = utcnow()
    if row is None or row.ended_at is not None or row.expires_at <= now:
        return None
    if now - row.last_seen_at > timedelta(minutes=5):
        row.last_seen_at = now
    return SessionInfo(row.user_id, row.csrf_token, row.id)


def end_session(session: Session, token: str | None) -> None:
    if not token:
        return
    row = session.scalars(
        select(LoginSession).where(LoginSession.token_sha256 == sha256(token))
    ).first()
    if row is not None and row.ended_at is None:
        row.ended_at = utcnow()
        record(
            session,
            actor=f"user:{row.user_id}",
            action="session.end",
            entity="user",
            entity_id=row.user_id,
            data={"session_id": row.id},
        )


# ---------------------------------------------------------------------------------------
# API tokens
# ---------------------------------------------------------------------------------------


def create_api_token(
    session: Session, user_id: int, name: str, *, expires_at: datetime | None, actor: str
) -> tuple[ApiToken, str]:
    """A new token; the secret is returned once and never stored."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        token_sha256=sha256(secret),
        prefix=secret[:9],
        user_id=user_id,
        name=name.strip()[:100] or "token",
        created_at=utcnow(),
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor=actor,
        action="api_token.create",
        entity="api_token",
        entity_id=row.id,
        data={"user_id": user_id, "name": row.name, "prefix": row.prefix},
    )
    return row, secret


def user_for_token(session: Session, secret: str) -> int | None:
    row = session.scalars(select(ApiToken).where(ApiToken.token_sha256 == sha256(secret))).first()
    now = utcnow()
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= now:
        return None
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=5):
        row.last_used_at = now
    return row.user_id


def list_api_tokens(session: Session, user_id: int) -> list[ApiToken]:
    return list(
        session.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id))
    )


def revoke_api_token(session: Session, user_id: int, token_id: int, *, actor: str) -> bool:
    """Revoke one of the user's own tokens; False if they have no such token."""
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user_id:
        return False
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        record(
            session, actor=actor, action="api_token.revoke", entity="api_token", entity_id=row.id
        )
    return True


# ---------------------------------------------------------------------------------------
# Rate limiting
# ---------------------------------------------------------------------------------------


def login_blocked_for(session: Session, email: str, ip: str) -> int:
    """Seconds until the next login attempt is allowed; 0 if allowed now.

    An e-mail's failures count from its last successful login on (so the owner is not
    locked out by their own earlier typos); an address's failures all count.
    """
    now = utcnow()
    since = now - RATE_WINDOW
    last_success = session.scalar(
        select(func.max(LoginAttempt.at)).where(
            LoginAttempt.email == email, LoginAttempt.succeeded.is_(True)
        )
    )
    email_since = max(since, last_success) if last_success is not None else since
    waits = []
    for column, value, after, limit in (
        (LoginAttempt.email, email, email_since, MAX_FAILURES_PER_EMAIL),
        (LoginAttempt.ip, ip, since, MAX_FAILURES_PER_IP),
    ):
        count, oldest = session.execute(
            select(func.count(), func.min(LoginAttempt.at)).where(
                column == value, LoginAttempt.at > after, LoginAttempt.succeeded.is_(False)
            )
        ).one()
        if count >= limit and oldest is not None:
            waits.append(int((oldest + RATE_WINDOW - now).total_seconds()) + 1)
    return max(waits, default=0)


def note_login_attempt(session: Session, email: str, ip: str, succeeded: bool) -> None:
    session.add(LoginAttempt(email=email[:320], ip=ip[:64], at=utcnow(), succeeded=succeeded))
