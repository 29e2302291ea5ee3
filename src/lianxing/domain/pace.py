"""Pace: where a period will end at the current rate, weekday-aware (pure).

Sales are not flat over a week (weekends differ, by platform and market), so "month to date
÷ days elapsed × days in month" misleads early in a month that started on a weekend. The
projection therefore weights days by a **weekday profile** learned from recent history:

* profile: for each weekday, the mean daily value over the history (the caller passes the
  last 4–8 weeks, one value per day, 0 for days without activity); weights are those means
  divided by the mean of the seven means. Only the ratios between weights matter.
* When the history is short (fewer than ``min_weeks`` observations of some weekday) or has
  no activity at all, every day weighs 1: the flat rate.
* additive KPI: ``projected = actual_so_far + rate × Σ weight(remaining days)`` with
  ``rate = actual_so_far / Σ weight(elapsed days)``. With flat weights this is
  ``actual / elapsed × days``.
* ratio KPI: numerator and denominator are projected separately and divided (a ratio is
  never averaged); a zero projected denominator leaves the projection undefined.

A period with no elapsed day has no rate yet (``None``); a finished period projects to its
actual.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class PaceMethod(StrEnum):
    WEEKDAY = "weekday"  # weighted by the weekday profile of recent history
    FLAT = "flat"  # every day weighs the same
    FINAL = "final"  # the period is over: the projection is the actual
    MIXED = "mixed"  # a ratio whose parts were projected by different methods


@dataclass(frozen=True, slots=True)
class WeekdayProfile:
    """Relative weight of Monday (index 0) to Sunday (6)."""

    weights: tuple[float, ...]
    method: PaceMethod
    history_days: int = 0

    def weight(self, day: dt.date) -> float:
        return self.weights[day.weekday()]

    def to_json(self) -> dict[str, Any]:
        return {
            "weights": list(self.weights),
            "method": self.method.value,
            "history_days": self.history_days,
        }


FLAT_PROFILE = WeekdayProfile((1.0,) * 7, PaceMethod.FLAT)
DEFAULT_MIN_WEEKS = 2


def weekday_profile(
    history: Mapping[dt.date, float], *, min_weeks: int = DEFAULT_MIN_WEEKS
) -> WeekdayProfile:
    """The weekday profile of ``history`` (one value per day), or the flat profile."""
    by_weekday: list[list[float]] = [[] for _ in range(7)]
    for day, value in history.items():
        by_weekday[day.weekday()].append(value)
    if any(len(values) < min_weeks for values in by_weekday):
        return FLAT_PROFILE
    means = [math.fsum(values) / len(values) for values in by_weekday]
    overall = math.fsum(means) / 7
    if overall <= 0:
        return FLAT_PROFILE
    return WeekdayProfile(tuple(mean / overall for mean in means), PaceMethod.WEEKDAY, len(history))


@dataclass(frozen=True, slots=True)
class Projection:
    value: float | None
    method: PaceMethod
    elapsed_days: int
    remaining_days: int

    def to_json(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "method": self.method.value,
            "elapsed_days": self.elapsed_days,
            "remaining_days": self.remaining_days,
        }


def split_days(
    period_days: Sequence[dt.date], as_of: dt.date
) -> tuple[list[dt.date], list[dt.date]]:
    """Days before ``as_of`` (complete) and the rest of the period."""
    elapsed = [d for d in period_days if d < as_of]
    remaining = [d for d in period_days if d >= as_of]
    return elapsed, remaining


def project_additive(
    period_days: Sequence[dt.date],
    actuals: Mapping[dt.date, float],
    as_of: dt.date,
    profile: WeekdayProfile = FLAT_PROFILE,
) -> Projection:
    """Project an additive quantity (GMV, orders, ad spend...) to the period's end.

    ``actuals`` holds the daily values of the elapsed days; a missing day counts as 0.
    """
    elapsed, remaining = split_days(period_days, as_of)
    so_far = math.fsum(actuals.get(d, 0.0) for d in elapsed)
    if not remaining:
        return Projection(so_far, PaceMethod.FINAL, len(elapsed), 0)
    if not elapsed:
        return Projection(None, profile.method, 0, len(remaining))
    elapsed_weight = math.fsum(profile.weight(d) for d in elapsed)
    if elapsed_weight <= 0:
        # Only weekdays that were empty in history have passed: no weighted rate exists.
        profile = FLAT_PROFILE
        elapsed_weight = float(len(elapsed))
    rate = so_far / elapsed_weight
    remaining_weight = math.fsum(profile.weight(d) for d in remaining)
    return Projection(
        so_far + rate * remaining_weight, profile.method, len(elapsed), len(remaining)
    )


def project_ratio(numerator: Projection, denominator: Projection) -> Projection:
    """A ratio KPI's projection from its parts' projections (same period and days)."""
    method = numerator.method if numerator.method is denominator.method else PaceMethod.MIXED
    value: float | None = None
    if numerator.value is not None and denominator.value not in (None, 0.0):
        assert denominator.value is not None
        value = numerator.value / denominator.value
    return Projection(value, method, numerator.elapsed_days, numerator.remaining_days)
