"""Pace projections computed by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from lianxing.domain.pace import (
    FLAT_PROFILE,
    PaceMethod,
    project_additive,
    project_ratio,
    weekday_profile,
)
from lianxing.domain.periods import parse_period

WEEK_43 = parse_period("2026-W43")  # Monday 19 to Sunday 25 October 2026
THURSDAY = dt.date(2026, 10, 22)


def _history(weeks: int, weekday: float, weekend: float) -> dict[dt.date, float]:
    """``weeks`` full weeks ending Sunday 18 October: weekdays and weekend days."""
    first = dt.date(2026, 10, 19) - dt.timedelta(weeks=weeks)
    days = [first + dt.timedelta(days=i) for i in range(7 * weeks)]
    return {d: (weekend if d.weekday() >= 5 else weekday) for d in days}


def test_weekday_profile_weekend_half_of_weekdays() -> None:
    profile = weekday_profile(_history(4, 100.0, 50.0))
    assert profile.method is PaceMethod.WEEKDAY and profile.history_days == 28
    # Means: five days of 100, two of 50 → mean of means 600/7; weights 7/6 and 7/12.
    assert profile.weights[0] == pytest.approx(7 / 6)
    assert profile.weights[6] == pytest.approx(7 / 12)


def test_pace_with_a_weekday_profile_by_hand() -> None:
    profile = weekday_profile(_history(4, 100.0, 50.0))
    actuals = {
        dt.date(2026, 10, 19): 90.0,
        dt.date(2026, 10, 20): 110.0,
        dt.date(2026, 10, 21): 100.0,
    }
    projection = project_additive(WEEK_43.iter_days(), actuals, THURSDAY, profile)
    # Weights in units of a weekend day: weekdays 2, weekend 1. Elapsed Mon–Wed weigh 6 for
    # 300, so 50 per unit; the rest weighs Thu 2 + Fri 2 + Sat 1 + Sun 1 = 6 → 300 more.
    assert projection.value == pytest.approx(600.0)
    assert (projection.method, projection.elapsed_days, projection.remaining_days) == (
        PaceMethod.WEEKDAY,
        3,
        4,
    )
    # At a flat rate the same week would end at 300 / 3 × 7 = 700.
    flat = project_additive(WEEK_43.iter_days(), actuals, THURSDAY, FLAT_PROFILE)
    assert flat.value == pytest.approx(700.0) and flat.method is PaceMethod.FLAT


def test_short_or_empty_history_falls_back_to_the_flat_rate() -> None:
    assert weekday_profile(_history(1, 100.0, 50.0)) is FLAT_PROFILE  # one week < 2
    assert weekday_profile(_history(4, 0.0, 0.0)) is FLAT_PROFILE  # no activity at all
    assert weekday_profile({}) is FLAT_PROFILE
    assert weekday_profile(_history(1, 100.0, 50.0), min_weeks=1).method is PaceMethod.WEEKDAY


def test_missing_days_count_as_zero_and_edges_of_the_period() -> None:
    days = WEEK_43.iter_days()
    # Monday 70, Tuesday missing (0): 70 over 2 days, flat → 35 a day × 7 = 245.
    projection = project_additive(days, {dt.date(2026, 10, 19): 70.0}, dt.date(2026, 10, 21))
    assert projection.value == pytest.approx(245.0)
    not_started = project_additive(days, {}, dt.date(2026, 10, 19))
    assert not_started.value is None and not_started.remaining_days == 7
    finished = project_additive(days, {d: 10.0 for d in days}, dt.date(2026, 10, 30))
    assert (finished.value, finished.method) == (70.0, PaceMethod.FINAL)


def test_only_zero_weight_days_elapsed_uses_the_flat_rate() -> None:
    # A store closed on Mondays in history: Monday weighs 0.
    history = {d: (0.0 if d.weekday() == 0 else 60.0) for d in _history(3, 0, 0)}
    profile = weekday_profile(history)
    assert profile.weights[0] == 0.0
    projection = project_additive(
        WEEK_43.iter_days(), {dt.date(2026, 10, 19): 20.0}, dt.date(2026, 10, 20), profile
    )
    assert projection.method is PaceMethod.FLAT and projection.value == pytest.approx(140.0)


def test_ratio_projects_numerator_and_denominator() -> None:
    days = WEEK_43.iter_days()
    profile = weekday_profile(_history(4, 100.0, 50.0))
    sales = {
        dt.date(2026, 10, 19): 300.0,
        dt.date(2026, 10, 20): 300.0,
        dt.date(2026, 10, 21): 300.0,
    }
    spend = {
        dt.date(2026, 10, 19): 100.0,
        dt.date(2026, 10, 20): 100.0,
        dt.date(2026, 10, 21): 200.0,
    }
    sales_projection = project_additive(days, sales, THURSDAY, profile)  # 900 × 2 = 1800
    spend_projection = project_additive(days, spend, THURSDAY, FLAT_PROFILE)  # 400/3 × 7
    roas = project_ratio(sales_projection, spend_projection)
    assert roas.value == pytest.approx(1800 / (400 / 3 * 7))
    assert roas.method is PaceMethod.MIXED
    no_spend = project_ratio(sales_projection, project_additive(days, {}, THURSDAY))
    assert no_spend.value is None
