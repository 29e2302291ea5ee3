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
class ConfirmedOrder:
    """An order the integrity review confirmed as fake, with the confirmed flags naming it."""

    store_id: int
    order_id: str
    flags: tuple[int, ...]

    def to_json(self) -> dict[str, Any]:
        return {"store": self.store_id, "order": self.order_id, "flags": list(self.flags)}


@dataclass(frozen=True, slots=True)
class WindowValue:
    """One KPI value over one window, and which data it came from."""

    window: Window
    value: float | None
    reason: str | None = None  # why value is None ("no data", "zero denominator")
    sources: Mapping[str, int] = field(default_factory=dict)  # rows counted, by source
    excluded: Mapping[str, int] = field(default_factory=dict)  # rows left out, by source
    # Confirmed fake orders whose rows were left out of this window, and the value the KPI
    # would have had with them (shown so the exclusion can be checked).
    confirmed_orders: tuple[ConfirmedOrder, ...] = ()
    value_with_confirmed: float | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {**self.window.to_json(), "value": rounded_value(self.value)}
        if self.reason:
            body["reason"] = self.reason
        body["sources"] = dict(sorted(self.sources.items()))
        if self.excluded:
            body["excluded"] = dict(sorted(self.excluded.items()))
        if self.confirmed_orders:
            body["confirmed_orders_excluded"] = {
                "orders": [o.to_json() for o in self.confirmed_orders],
                "value_with_them": rounded_value(self.value_with_confirmed),
            }
        return body


def rounded_value(value: float | None) -> float | None:
    """A KPI value as statements show it (6 decimals)."""
    return None if value is None else round(value, 6)


def meets(target: Target, value: float | None) -> bool:
    return value is not None and target.comparator.holds(value, target.value)
