"""Time helpers shared by every layer: the project stores naive UTC timestamps."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current instant as a naive UTC datetime (the storage convention)."""
    return datetime.now(UTC).replace(tzinfo=None)
