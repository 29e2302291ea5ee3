"""Launch workflow tables: plans and checklist items, the document vault, the asset ledger.

Rules live in ``lianxing.domain.launch`` and ``lianxing.domain.assets``; services in
``lianxing.launch``. Document contents are never stored here: only their metadata, the
encrypted bytes live in the workspace vault folder. Asset identifiers are stored encrypted.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
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


class LaunchPlan(Base):
    __tablename__ = "launch_plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), unique=True)
    platform: Mapped[str] = mapped_column(String(32))
    site: Mapped[str] = mapped_column(String(16))
    template_hash: Mapped[str] = mapped_column(String(64))  # the template the plan came from
    params: Mapped[dict[str, Any]] = mapped_column(JSON)  # category, budget, targets, ...
    risks: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))


class LaunchItem(Base):
    __tablename__ = "launch_items"
    __table_args__ = (UniqueConstraint("plan_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(
        ForeignKey("launch_plans.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(100))
    stage: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    title_zh: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300))
    required: Mapped[bool] = mapped_column(Boolean)
    document_type: Mapped[str | None] = mapped_column(String(64))
    measure: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    source_ids: Mapped[list[str]] = mapped_column(JSON)
    unverified: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(200))
    due_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    waive_reason: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(200))


class VaultDocument(Base):
    """Metadata of one encrypted document in the workspace vault."""

    __tablename__ = "vault_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"), index=True)
    doc_type: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    file_name: Mapped[str] = mapped_column(String(500))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)  # of the plaintext
    vault_name: Mapped[str] = mapped_column(String(100), unique=True)  # file in vault_dir
    issued_on: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    uploaded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    uploaded_by: Mapped[str] = mapped_column(String(200))


class AccountAsset(Base):
    __tablename__ = "account_assets"
    __table_args__ = (UniqueConstraint("store_id", "kind", "label"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(100))  # "" for the store's one asset of a kind
    # The e-mail, phone or account number, encrypted with the workspace key
    # (``workspace.cipher``): a Fernet token, never the plain identifier.
    identifier_enc: Mapped[str] = mapped_column(Text)
    holder_kind: Mapped[str] = mapped_column(String(16))
    holder_name: Mapped[str | None] = mapped_column(String(200))
    last_verified_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(200))


class AccountAssetEvent(Base):
    """History of an asset: every create, change and verification, with its after-state.

    ``before`` and ``after`` hold the identifier encrypted too (``identifier_enc``).
    """

    __tablename__ = "account_asset_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(
        ForeignKey("account_assets.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any]] = mapped_column(JSON)
