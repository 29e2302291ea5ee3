"""Contracts, service tickets (问题清单) and SLA breaches.

A signed contract keeps its full document *and* the KPI definitions it was signed with
(``definitions``: per KPI clause, the content hash and the definition documents of the KPI
and every KPI it depends on), so a later change to the catalog cannot alter its evaluation.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lianxing.db.models import Base
from lianxing.domain.time import utcnow


class Contract(Base):
    __tablename__ = "contracts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    seller_name: Mapped[str] = mapped_column(String(300))
    agency_name: Mapped[str] = mapped_column(String(300))
    agency_registration: Mapped[str | None] = mapped_column(String(64))
    package: Mapped[str] = mapped_column(String(32))
    term_start: Mapped[date] = mapped_column(Date)
    term_months: Mapped[int] = mapped_column(Integer)
    store_ids: Mapped[list[int]] = mapped_column(JSON)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)  # the parsed YAML, JSON-safe
    source_text: Mapped[str] = mapped_column(Text)  # the YAML exactly as signed
    source_file: Mapped[str | None] = mapped_column(String(500))
    definitions: Mapped[dict[str, Any]] = mapped_column(JSON)  # locked KPI definitions
    content_hash: Mapped[str] = mapped_column(String(64))  # of document + definitions
    status: Mapped[str] = mapped_column(String(16), default="active")
    signed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    signed_by: Mapped[str] = mapped_column(String(200))


class ServiceTicket(Base):
    """An issue the seller raises with the agency; deadlines come from the contract's SLA."""

    __tablename__ = "service_tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    severity: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16))  # open | responded | resolved
    opened_at: Mapped[datetime] = mapped_column(DateTime)
    opened_by: Mapped[str] = mapped_column(String(200))
    response_due_at: Mapped[datetime | None] = mapped_column(DateTime)  # None: no SLA
    resolution_due_at: Mapped[datetime | None] = mapped_column(DateTime)
    first_response_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)


class TicketMessage(Base):
    """One step of the exchange, kept whole: opening, replies from either side, resolution."""

    __tablename__ = "ticket_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("service_tickets.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    author: Mapped[str] = mapped_column(String(200))
    side: Mapped[str] = mapped_column(String(8))  # seller | agency
    kind: Mapped[str] = mapped_column(String(16))  # open | reply | resolve
    body: Mapped[str] = mapped_column(Text)


class SlaBreach(Base):
    """A missed first-response or resolution deadline, recorded once per ticket and kind."""

    __tablename__ = "sla_breaches"
    __table_args__ = (UniqueConstraint("ticket_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("service_tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # first_response | resolution
    due_at: Mapped[datetime] = mapped_column(DateTime)
    detected_at: Mapped[datetime] = mapped_column(DateTime)  # when the breach was seen
    fulfilled_at: Mapped[datetime | None] = mapped_column(DateTime)  # the late reply/resolution
