"""Integrity flags (``integrity_flags``), the orders behind them and their reviews.

A flag is a detector finding kept for review: it is found again (not duplicated) on every
run by its fingerprint, and a person confirms or dismisses it with a reason. Every state
change is in the audit log as well; ``integrity_reviews`` keeps the decisions in order.
Rules live in ``lianxing.domain.integrity``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lianxing.db.models import Base
from lianxing.domain.time import utcnow


class IntegrityFlag(Base):
    __tablename__ = "integrity_flags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(32), unique=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    rule: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(200))
    window_start: Mapped[datetime] = mapped_column(DateTime)  # naive UTC
    window_end: Mapped[datetime] = mapped_column(DateTime)
    score: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))  # open | confirmed | dismissed
    explanation_zh: Mapped[str] = mapped_column(Text)
    explanation_en: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    orders: Mapped[list[IntegrityFlagOrder]] = relationship(
        back_populates="flag", cascade="all, delete-orphan"
    )
    reviews: Mapped[list[IntegrityReview]] = relationship(
        back_populates="flag", cascade="all, delete-orphan", order_by="IntegrityReview.id"
    )


class IntegrityFlagOrder(Base):
    """One order a flag names, with its purchase time so contracts can cut by period."""

    __tablename__ = "integrity_flag_orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flag_id: Mapped[int] = mapped_column(
        ForeignKey("integrity_flags.id", ondelete="CASCADE"), index=True
    )
    store_id: Mapped[int] = mapped_column(Integer, index=True)
    order_id: Mapped[str] = mapped_column(String(100))
    purchase_ts: Mapped[datetime | None] = mapped_column(DateTime)  # naive UTC
    purchase_day: Mapped[date | None] = mapped_column(Date)  # marketplace-local day

    flag: Mapped[IntegrityFlag] = relationship(back_populates="orders")


class IntegrityReview(Base):
    __tablename__ = "integrity_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flag_id: Mapped[int] = mapped_column(
        ForeignKey("integrity_flags.id", ondelete="CASCADE"), index=True
    )
    decision: Mapped[str] = mapped_column(String(16))  # confirmed | dismissed
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    flag: Mapped[IntegrityFlag] = relationship(back_populates="reviews")
