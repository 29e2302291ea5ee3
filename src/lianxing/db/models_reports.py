"""The ``report_snapshots`` table: every review report Lianxing produced, frozen.

A snapshot keeps what is needed to recognise the file later (its sha256) and to show what
moved when the report is regenerated (the KPI values with their definition hashes, and a
digest of every input). The file itself is the user's; the database never needs it again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from lianxing.db.models import Base
from lianxing.domain.time import utcnow


class ReportSnapshot(Base):
    __tablename__ = "report_snapshots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(200), index=True)  # "store:1", "platform:amazon"
    period: Mapped[str] = mapped_column(String(64))  # "2026-10", "2026-W43"
    format: Mapped[str] = mapped_column(String(8))  # html | pdf | xlsx
    lang: Mapped[str] = mapped_column(String(8))
    sha256: Mapped[str] = mapped_column(String(64), index=True)  # of the file's bytes
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    inputs_digest: Mapped[str] = mapped_column(String(64))  # of the computed report's data
    # {kpi_id: {"value": float | None, "definition": content hash, "unit": "USD", ...}}
    kpis: Mapped[dict[str, Any]] = mapped_column(JSON)
    file_name: Mapped[str | None] = mapped_column(String(500))
    audit_seq: Mapped[int | None] = mapped_column(Integer)  # the audit entry naming the sha256
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
