"""Period parsing, calendar arithmetic and UTC bounds (pure)."""

from __future__ import annotations

import datetime as dt

import pytest

from lianxing.domain.periods import (
    PeriodError,
    PeriodKind,
    local_midnight_utc,
    offset_segments,
    parse_period,
    utc_bounds,
)

D, T = dt.date, dt.datetime


@pytest.mark.parametrize(
    ("text", "kind", "start", "end"),
    [
        ("2026-10", PeriodKind.MONTH, D(2026, 10, 1), D(2026, 11, 1)),
        ("2026-12", PeriodKind.MONTH, D(2026, 12, 1), D(2027, 1, 1)),
        ("2026-W43", PeriodKind.WEEK, D(2026, 10, 19), D(2026, 10, 26)),
        ("2026-W01", PeriodKind.WEEK, D(2025, 12, 29), D(2026, 1, 5)),
        ("2026-Q4", PeriodKind.QUARTER, D(2026, 10, 1), D(2027, 1, 1)),
        ("2026-10-05", PeriodKind.DAY, D(2026, 10, 5), D(2026, 10, 6)),
        ("2026-10-01..2026-10-15", PeriodKind.RANGE, D(2026, 10, 1), D(2026, 10, 16)),
    ],
)
def test_parse(text: str, kind: PeriodKind, start: dt.date, end: dt.date) -> None:
    period = parse_period(text)
    assert (period.kind, period.start, period.end, period.label) == (kind, start, end, text)


def test_rolling_ends_the_day_before_as_of() -> None:
    period = parse_period("rolling:28", as_of=D(2026, 11, 1))
    assert (period.start, period.last_day) == (D(2026, 10, 4), D(2026, 10, 31))


def test_launch_stage_is_resolved_per_store() -> None:
    stage = parse_period("launch:1-30")
    resolved = stage.for_launch_date(D(2026, 10, 5))
    assert resolved is not None and (resolved.start, resolved.last_day) == (
        D(2026, 10, 5),
        D(2026, 11, 3),
    )
    assert stage.for_launch_date(None) is None
    second = parse_period("launch:31-60").previous()
    assert second.launch_days == (1, 30)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-13", "month 13"),
        ("2026-W54", "no ISO week 54"),
        ("2026-Q5", "quarter 5"),
        ("2026-02-30", "2026-02-30"),
        ("2026-10-15..2026-10-01", "before the start"),
        ("launch:0-30", "1 <= first"),
        ("october", "not understood"),
    ],
)
def test_bad_periods_say_what_was_expected(text: str, message: str) -> None:
    with pytest.raises(PeriodError, match=message):
        parse_period(text)


def test_previous_and_last_year() -> None:
    assert parse_period("2026-01").previous().label == "2025-12"
    assert parse_period("2026-Q1").previous().label == "2025-Q4"
    assert parse_period("2026-W01").previous().label == "2025-W52"
    assert parse_period("2026-10").last_year().label == "2025-10"
    assert parse_period("2026-W53").last_year().label == "2025-W52"  # 2025 has 52 ISO weeks
    rng = parse_period("2026-10-01..2026-10-10")
    assert (rng.previous().start, rng.previous().last_day) == (D(2026, 9, 21), D(2026, 9, 30))
    leap = parse_period("2028-02-29").last_year()
    assert leap.start == D(2027, 2, 28)


def test_month_in_marketplace_time_as_utc_bounds() -> None:
    bounds = utc_bounds(parse_period("2026-10"), "America/Los_Angeles")
    assert bounds.start == T(2026, 10, 1, 7)  # PDT, UTC-7
    assert bounds.end == T(2026, 11, 1, 7)  # still PDT at midnight on 11-01
    assert local_midnight_utc(D(2026, 11, 2), "America/Los_Angeles") == T(2026, 11, 2, 8)  # PST


def test_offset_segments_find_dst_changes_to_the_minute() -> None:
    segments = offset_segments("Europe/Berlin", T(2026, 10, 1), T(2026, 11, 1))
    assert [(s.start_utc, s.offset_minutes) for s in segments] == [
        (T(2026, 10, 1), 120),
        (T(2026, 10, 25, 1), 60),
    ]
    assert [
        s.offset_minutes for s in offset_segments("Asia/Kolkata", T(2026, 1, 1), T(2026, 12, 31))
    ] == [330]


def test_unknown_timezone() -> None:
    with pytest.raises(PeriodError, match="unknown timezone 'Mars/Olympus'"):
        utc_bounds(parse_period("2026-10"), "Mars/Olympus")
