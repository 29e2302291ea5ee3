"""A KPI value over a window of local days, and whether it meets a target (pure).

Shared by contract evaluation and remediation plans.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lianxing.domain.contracts import Target


@dataclass(frozen=True, slots=True)
class Window:
    """Local days ``[start, end)`` of the stores' timezone."""

    start: dt.date
    end: dt.date

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    def to_json(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "last_day": self.last_day.isoformat()}


@dataclass(frozen=True, slots=True)
class WindowValue:
    """One KPI value over one window, and which data it came from."""

    window: Window
    value: float | None
    reason: str | None = None  # why value is None ("no data", "zero denominator")
    sources: Mapping[str, int] = field(default_factory=dict)  # rows counted, by source
    excluded: Mapping[str, int] = field(default_factory=dict)  # rows left out, by source

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {**self.window.to_json(), "value": _round(self.value)}
        if self.reason:
            body["reason"] = self.reason
        body["sources"] = dict(sorted(self.sources.items()))
        if self.excluded:
            body["excluded"] = dict(sorted(self.excluded.items()))
        return body


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def meets(target: Target, value: float | None) -> bool:
    return value is not None and target.comparator.holds(value, target.value)
