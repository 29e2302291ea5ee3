"""Hand-computed cases for comparators, achievement, status bands, ramps and target periods."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lianxing.domain.periods import PeriodKind, launch_period, month_period, parse_period
from lianxing.domain.targets import (
    Comparator,
    Ramp,
    RampUnit,
    Status,
    StatusBands,
    TargetError,
    achievement,
    check_target_period,
    gap,
    parse_comparator,
    parse_ramp,
    period_ordinal,
    ramp_factor,
    resolve_target_period,
    status,
)

# --- comparators --------------------------------------------------------------------------


def test_comparators_come_from_the_operator_table() -> None:
    assert Comparator.GE.holds(2.5, 2.5) and not Comparator.GT.holds(2.5, 2.5)
    assert Comparator.LE.holds(0.1, 0.2) and not Comparator.LT.holds(0.2, 0.2)
    assert Comparator.EQ.holds(0.1 + 0.2, 0.3)  # float rounding is not a miss
    assert parse_comparator(" >= ") is Comparator.GE
    assert parse_comparator("=") is Comparator.EQ
    assert parse_comparator("≤") is Comparator.LE


@pytest.mark.parametrize("text", ["=>", "__import__('os')", "", "!="])
def test_unknown_comparators_are_refused(text: str) -> None:
    with pytest.raises(TargetError, match="expected one of >=, <=, >, <, =="):
        parse_comparator(text)


# --- achievement and gap ------------------------------------------------------------------


def test_higher_is_better_achievement_is_actual_over_target() -> None:
    assert achievement(2.0, 2.5, Comparator.GE) == pytest.approx(0.8)
    assert achievement(3.0, 2.5, Comparator.GT) == pytest.approx(1.2)
    assert gap(2.0, 2.5, Comparator.GE) == pytest.approx(0.2)
    assert gap(3.0, 2.5, Comparator.GE) == 0.0


def test_lower_is_better_achievement_is_target_over_actual() -> None:
    # ACoS cap 0.30: 0.25 is better than the cap (120 %), 0.40 worse (75 %, 33 % off).
    assert achievement(0.25, 0.30, Comparator.LE) == pytest.approx(1.2)
    assert achievement(0.40, 0.30, Comparator.LE) == pytest.approx(0.75)
    assert gap(0.40, 0.30, Comparator.LE) == pytest.approx(1 / 3)
    assert gap(0.25, 0.30, Comparator.LE) == 0.0


def test_equal_to_measures_the_distance_either_way() -> None:
    assert gap(90.0, 100.0, Comparator.EQ) == pytest.approx(0.1)
    assert gap(110.0, 100.0, Comparator.EQ) == pytest.approx(0.1)
    assert achievement(110.0, 100.0, Comparator.EQ) == pytest.approx(1.1)


def test_undefined_achievement_is_none_never_an_error() -> None:
    assert achievement(None, 100.0, Comparator.GE) is None
    assert achievement(50.0, 0.0, Comparator.GE) is None  # x / 0
    assert achievement(0.0, 0.3, Comparator.LE) is None  # 0.3 / 0
    assert achievement(-50.0, -100.0, Comparator.GE) is None  # signed ratio would mislead
    assert achievement(0.0, 100.0, Comparator.GE) == 0.0
    assert gap(None, 1.0, Comparator.GE) is None


# --- status bands -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actual", "expected"),
    [
        (100.0, Status.GOOD),
        (95.0, Status.GOOD),  # exactly 5 % short: the boundary is good
        (94.99, Status.WARNING),
        (80.0, Status.WARNING),  # exactly 20 % short: the boundary is a warning
        (79.99, Status.BAD),
        (0.0, Status.BAD),
        (None, Status.UNKNOWN),
    ],
)
def test_default_bands_higher_is_better(actual: float | None, expected: Status) -> None:
    assert status(actual, 100.0, Comparator.GE) is expected


@pytest.mark.parametrize(
    ("actual", "expected"),
    [(0.20, Status.GOOD), (0.21, Status.GOOD), (0.24, Status.WARNING), (0.2401, Status.BAD)],
)
def test_default_bands_lower_is_better(actual: float, expected: Status) -> None:
    # Cap 0.20: 0.21 is exactly 5 % over, 0.24 exactly 20 % over.
    assert status(actual, 0.20, Comparator.LE) is expected


def test_configurable_bands_and_zero_targets() -> None:
    tight = StatusBands(good=0.0, warning=0.10)
    assert status(99.0, 100.0, Comparator.GE, tight) is Status.WARNING
    assert status(90.0, 100.0, Comparator.GE, tight) is Status.WARNING
    assert status(89.0, 100.0, Comparator.GE, tight) is Status.BAD
    # A target of 0 has no relative scale: met or not.
    assert status(0.0, 0.0, Comparator.LE) is Status.GOOD
    assert status(1.0, 0.0, Comparator.LE) is Status.BAD
    with pytest.raises(TargetError):
        StatusBands(good=0.3, warning=0.2)


# --- ramps --------------------------------------------------------------------------------


def test_linear_ramp_day_10_of_30() -> None:
    assert Ramp.linear(30).factor_at(10) == pytest.approx(10 / 30)
    # From 40 %: 0.4 + 0.6 · 10/30 = 0.6.
    ramp = parse_ramp("linear:30:0.4")
    assert ramp.factor_at(10) == pytest.approx(0.6)
    assert ramp.factor_at(0) == 0.4 and ramp.factor_at(30) == 1.0 and ramp.factor_at(31) == 1.0


def test_scurve_midpoint_is_half_and_ends_are_exact() -> None:
    ramp = parse_ramp("scurve:60")
    assert ramp.factor_at(30) == pytest.approx(0.5)
    assert ramp.factor_at(0) == 0.0
    assert ramp.factor_at(60) == pytest.approx(1.0)
    # Day 15 by the documented formula, k = 10: g(u) = 1 / (1 + e^(−10(u − ½))).
    g = [1 / (1 + math.exp(-10 * (u - 0.5))) for u in (0.0, 0.25, 1.0)]
    assert ramp.factor_at(15) == pytest.approx((g[1] - g[0]) / (g[2] - g[0]))
    assert ramp.factor_at(15) == pytest.approx(0.070104, abs=1e-6)
    # A start fraction lifts the whole curve: midpoint halfway between start and 1.
    assert parse_ramp("scurve:60:0.2").factor_at(30) == pytest.approx(0.6)


def test_explicit_list_by_month_since_launch() -> None:
    ramp = parse_ramp("list:0.3,0.5,0.8")
    launch = dt.date(2026, 8, 20)
    assert ramp.unit is RampUnit.PERIODS
    assert ramp_factor(ramp, month_period(2026, 8), launch) == 0.3  # launch month
    assert ramp_factor(ramp, month_period(2026, 9), launch) == 0.5
    assert ramp_factor(ramp, month_period(2026, 10), launch) == 0.8
    assert ramp_factor(ramp, month_period(2026, 11), launch) == 1.0
    assert ramp_factor(ramp, month_period(2026, 7), launch) == 0.3  # before launch: start
    assert ramp_factor(ramp, month_period(2026, 10), None) == 1.0  # no launch date: no ramp


def test_day_ramp_over_a_period_is_the_mean_of_its_open_days() -> None:
    ramp = Ramp.linear(30)
    launch = dt.date(2026, 10, 1)
    # October: days 1..30 ramp as d/30, day 31 is full → (Σ d/30 for d=1..30 + 1) / 31.
    expected = (sum(d / 30 for d in range(1, 31)) + 1) / 31
    assert ramp_factor(ramp, month_period(2026, 10), launch) == pytest.approx(expected)
    # Launch on the 22nd: only the 10 open days count → mean of 1/30..10/30 = 5.5/30.
    late = dt.date(2026, 10, 22)
    assert ramp_factor(ramp, month_period(2026, 10), late) == pytest.approx(5.5 / 30)


def test_launch_stage_periods() -> None:
    launch = dt.date(2026, 9, 10)
    stage = resolve_target_period("launch:1-30", dt.date(2026, 9, 20), launch)
    assert stage is not None
    assert (stage.start, stage.end) == (dt.date(2026, 9, 10), dt.date(2026, 10, 10))
    second = parse_period("launch:31-60").for_launch_date(launch)
    assert second is not None and period_ordinal(second, launch) == 2
    assert period_ordinal(stage, launch) == 1
    assert ramp_factor(parse_ramp("list:0.5,0.75"), second, launch) == 0.75
    assert resolve_target_period("launch:1-30", dt.date(2026, 9, 20), None) is None


def test_relative_periods_contain_the_last_complete_day() -> None:
    as_of = dt.date(2026, 11, 1)  # data through 31 October
    month = resolve_target_period("month", as_of, None)
    assert month == month_period(2026, 10)
    week = resolve_target_period("week", dt.date(2026, 10, 22), None)
    assert week is not None and (week.start, week.kind) == (dt.date(2026, 10, 19), PeriodKind.WEEK)
    quarter = resolve_target_period("quarter", dt.date(2026, 10, 2), None)
    assert quarter is not None and quarter.label == "2026-Q4"
    rolling = resolve_target_period("rolling:7", dt.date(2026, 10, 8), None)
    assert rolling is not None and (rolling.start, rolling.end) == (
        dt.date(2026, 10, 1),
        dt.date(2026, 10, 8),
    )
    assert check_target_period(" month ") == "month"
    with pytest.raises(TargetError, match="a target period is day, week, month"):
        check_target_period("monthly")


def test_week_ordinal_counts_iso_weeks() -> None:
    launch = dt.date(2026, 10, 25)  # a Sunday, ISO week 43
    week_44 = parse_period("2026-W44")
    assert period_ordinal(week_44, launch) == 2
    assert period_ordinal(launch_period(1, 7).for_launch_date(launch), launch) == 1  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("linear:0", "length 0"),
        ("linear:30:1.5", "start 1.5"),
        ("linear:30:0.4:3", "no steepness"),
        ("scurve:30:0:-1", "steepness"),
        ("list:0.5,0.3", "not to decrease"),
        ("list:0,0.5", "above 0"),
        ("list:a,b", "must be numbers"),
        ("exp:30", "not understood"),
    ],
)
def test_bad_ramps_say_what_was_expected(text: str, message: str) -> None:
    with pytest.raises(TargetError, match=message):
        parse_ramp(text)


def test_ramp_specs_and_json_round_trip() -> None:
    for text in ("linear:60:0.4", "scurve:60:0", "scurve:8p:0.2:6", "list:0.3,0.5,0.8"):
        ramp = parse_ramp(text)
        assert parse_ramp(ramp.spec()) == ramp
        assert Ramp.from_json(ramp.to_json()) == ramp


ramps = st.one_of(
    st.builds(
        Ramp.linear,
        st.integers(1, 400),
        st.floats(0, 1),
        st.sampled_from(list(RampUnit)),
    ),
    st.builds(
        Ramp.scurve,
        st.integers(1, 400),
        st.floats(0, 1),
        st.sampled_from(list(RampUnit)),
        st.floats(0.1, 40),
    ),
    st.lists(st.floats(0.01, 1), min_size=1, max_size=12).map(lambda fs: Ramp.of_list(sorted(fs))),
)


@given(ramps, st.integers(-5, 500), st.integers(0, 50))
def test_ramps_are_monotone_and_bounded(ramp: Ramp, ordinal: int, step: int) -> None:
    here, later = ramp.factor_at(ordinal), ramp.factor_at(ordinal + step)
    assert ramp.start <= here <= later <= 1.0
