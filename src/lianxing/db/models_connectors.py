"""API connections of stores and the state of their scheduled sync.

``StoreConnection``: how Lianxing reaches one store's seller account through one
connector, keyed by (store, connector): an Amazon store holds an SP-API connection and an
Ads connection side by side, each with its own tokens and status. App credentials and
tokens are stored encrypted with the workspace key (``workspace.cipher``); the text
columns hold Fernet tokens, never plain secrets.
``status`` is ``pending`` (authorisation started), ``active``, ``expired`` (the refresh
token ran out: the seller must authorise again) or ``revoked`` (the platform refused the
grant), per connection.

``SyncState``: one row per store, connector and stream (``orders``, ``finances`` ...): the
cursor (everything updated before it has been read), the last success and error, and the
checkpoint of a run in progress, from which a crashed run resumes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from lianxing.db.models import Base
from lianxing.domain.time import utcnow


class StoreConnection(Base):
    __tablename__ = "store_connections"
    __table_args__ = (UniqueConstraint("store_id", "connector"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    connector: Mapped[str] = mapped_column(String(32))  # connector id: amazon_sp, shopee ...
    status: Mapped[str] = mapped_column(String(16), default="pending")
    status_reason: Mapped[str | None] = mapped_column(Text)
    app_key: Mapped[str] = mapped_column(String(200))  # client id / partner id / app key
    app_secret_enc: Mapped[str] = mapped_column(Text)
    access_token_enc: Mapped[str | None] = mapped_column(Text)
    refresh_token_enc: Mapped[str | None] = mapped_column(Text)
    access_expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    refresh_expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Platform account ids: shop_id, seller_id, marketplace_id, profile_id, shop_cipher ...
    account: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    api_base_url: Mapped[str | None] = mapped_column(String(500))  # None: the platform's
    auth_base_url: Mapped[str | None] = mapped_column(String(500))
    oauth_state: Mapped[str | None] = mapped_column(String(64))  # of an authorisation in flight
    # Who may finish that authorisation: a SHA-256 naming the web user and login session
    # (or the user of an API token) that started it; None: started on the command line.
    oauth_started_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SyncState(Base):
    __tablename__ = "sync_states"
    # Stream names repeat across connectors (SP-API and Shopee both have "returns").
    __table_args__ = (UniqueConstraint("store_id", "connector", "stream"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    connector: Mapped[str] = mapped_column(String(32))
    stream: Mapped[str] = mapped_column(String(64))
    cursor: Mapped[datetime | None] = mapped_column(DateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(DateTime)
    # {"window_from", "window_to", "batch_id", "position": {...}} while a run is in progress
    checkpoint: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    last_batch_id: Mapped[str | None] = mapped_column(String(36))
    rows_written: Mapped[int] = mapped_column(BigInteger, default=0)
