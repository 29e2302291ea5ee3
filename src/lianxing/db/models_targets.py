"""The ``targets`` table: KPI targets with their scope, period, comparator and ramp.

Kept apart from ``models.py`` so the targets feature owns its schema; it shares ``Base`` (and
so the metadata Alembic compares against). Rules live in ``lianxing.domain.targets``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from lianxing.db.models import Base
from lianxing.domain.time import utcnow


class Target(Base):
    __tablename__ = "targets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope_kind: Mapped[str] = mapped_column(String(16))  # store | platform | seller
    # Store id, platform id ("amazon") or seller organisation id, as text.
    scope_ref: Mapped[str] = mapped_column(String(64), index=True)
    kpi_id: Mapped[str] = mapped_column(String(64))
    kpi_options: Mapped[dict[str, Any]] = mapped_column(JSON)
    period: Mapped[str] = mapped_column(String(64))  # "month", "2026-10", "launch:1-30", ...
    comparator: Mapped[str] = mapped_column(String(2))
    value: Mapped[Decimal] = mapped_column(Numeric(20, 6))
    currency: Mapped[str | None] = mapped_column(String(3))  # money KPIs only
    ramp: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    owner_role: Mapped[str | None] = mapped_column(String(32))
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
