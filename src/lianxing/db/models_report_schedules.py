"""Scheduled review reports: which store's weekly/monthly review goes to whom, and the
sends done (one per schedule and period, which makes the scheduler idempotent)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lianxing.db.models import Base
from lianxing.domain.time import utcnow


class ReportSchedule(Base):
    __tablename__ = "report_schedules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    every: Mapped[str] = mapped_column(String(8))  # week | month
    recipients: Mapped[list[str]] = mapped_column(JSON)
    format: Mapped[str] = mapped_column(String(8))  # html | pdf | xlsx
    lang: Mapped[str] = mapped_column(String(8))  # zh | en
    # The e-mail alert channel whose SMTP settings send it (one SMTP configuration).
    channel_id: Mapped[int] = mapped_column(ForeignKey("alert_channels.id"))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))


class ReportScheduleRun(Base):
    """One period's report of a schedule, sent once."""

    __tablename__ = "report_schedule_runs"
    __table_args__ = (UniqueConstraint("schedule_id", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    schedule_id: Mapped[int] = mapped_column(
        ForeignKey("report_schedules.id", ondelete="CASCADE"), index=True
    )
    period: Mapped[str] = mapped_column(String(64))  # "2026-W44", "2026-10"
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("report_snapshots.id"))
    sha256: Mapped[str] = mapped_column(String(64))
    recipients: Mapped[list[str]] = mapped_column(JSON)
    message_id: Mapped[str] = mapped_column(String(300))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    sent_at: Mapped[datetime] = mapped_column(DateTime)
