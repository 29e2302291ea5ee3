"""Agencies (服务商): profiles, their documents and public records, case studies, grant
freezes, and the remediation plans of contracts.

A profile is who the agency is (legal name, 统一社会信用代码, business scope); its service
record inside Lianxing is computed from tickets, never stored. A case study is "claimed"
until a seller consents to share a frozen KPI snapshot of a Lianxing store, which makes it
"verified". A freeze suspends a set of access grants at once; lifting it is recorded on
the same row, so the history stays whole.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from lianxing.db.models import Base
from lianxing.domain.time import utcnow


class AgencyProfile(Base):
    __tablename__ = "agency_profiles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), unique=True)
    legal_name: Mapped[str] = mapped_column(String(300))
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)  # validated GB 32100
    business_scope: Mapped[str] = mapped_column(Text)
    founded_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))


class AgencyDocument(Base):
    """A licence or qualification of the agency, kept encrypted in the vault."""

    __tablename__ = "agency_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency_profiles.id"), index=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("vault_documents.id"))
    kind: Mapped[str] = mapped_column(String(16))  # licence | qualification
    added_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AgencyRecord(Base):
    """A complaint or litigation record, entered with where it was found and its date."""

    __tablename__ = "agency_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency_profiles.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # complaint | litigation
    source: Mapped[str] = mapped_column(String(500))  # e.g. 中国裁判文书网 + case number, a URL
    recorded_on: Mapped[date] = mapped_column(Date)  # the date of the record itself
    summary: Mapped[str] = mapped_column(Text)
    entered_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    entered_by: Mapped[str] = mapped_column(String(200))


class CaseStudy(Base):
    __tablename__ = "agency_case_studies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency_profiles.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    claim: Mapped[str] = mapped_column(Text)  # what the agency says
    status: Mapped[str] = mapped_column(String(16))  # claimed | verified
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    consent_by: Mapped[str | None] = mapped_column(String(200))  # the seller who consented
    consented_at: Mapped[datetime | None] = mapped_column(DateTime)
    # {"period": {...}, "kpis": {kpi: {"value", "unit", "definition"}}}, frozen at consent
    snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    snapshot_sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class GrantFreeze(Base):
    """A sensitive-operation freeze: every listed grant of one agency suspended at once."""

    __tablename__ = "grant_freezes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    frozen_at: Mapped[datetime] = mapped_column(DateTime)
    frozen_by: Mapped[str] = mapped_column(String(200))
    lifted_at: Mapped[datetime | None] = mapped_column(DateTime)
    lifted_by: Mapped[str | None] = mapped_column(String(200))
    lift_reason: Mapped[str | None] = mapped_column(Text)


class GrantFreezeItem(Base):
    __tablename__ = "grant_freeze_items"
    __table_args__ = (UniqueConstraint("freeze_id", "grant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    freeze_id: Mapped[int] = mapped_column(ForeignKey("grant_freezes.id"), index=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("access_grants.id"), index=True)


class RemediationPlan(Base):
    """整改计划: opened when a contract KPI misses; cured or lapsed by its cure deadline."""

    __tablename__ = "remediation_plans"
    __table_args__ = (UniqueConstraint("contract_id", "clause", "missed_start"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    clause: Mapped[str] = mapped_column(String(64))  # KPI clause id
    missed_start: Mapped[date] = mapped_column(Date)
    missed_last_day: Mapped[date] = mapped_column(Date)
    missed_value: Mapped[float | None] = mapped_column(Float)
    opened_on: Mapped[date] = mapped_column(Date)
    cure_deadline: Mapped[date] = mapped_column(Date)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # action, owner, due
    status: Mapped[str] = mapped_column(String(16))  # open | cured | lapsed | unmeasured
    closed_on: Mapped[date | None] = mapped_column(Date)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)  # the plan as evaluated, whole
    # Set when the seller was told the exit clause became exercisable (with the evidence).
    notice: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    notified_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
