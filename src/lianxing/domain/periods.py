"""Reporting periods: parsing, calendar arithmetic and conversion to UTC bounds.

A period is a half-open range of *local* calendar days ``[start, end)`` in the
timezone the KPIs are cut in (the marketplace's by default). Keeping periods as local
dates makes every calendar period a sum of whole days, which is what lets the KPI
engine add up daily aggregates; the conversion to UTC instants happens per store, at
the edge, because stores of one portfolio may live in different timezones.

Syntax accepted by :func:`parse_period` (the CLI and API use it)::

    2026-10                   month
    2026-W43                  ISO week (Monday to Sunday)
    2026-Q4                   quarter
    2026-10-05                one day
    2026-10-01..2026-10-15    custom range, both ends included
    rolling:28                the 28 days ending yesterday (or ending on --as-of)
    launch:1-30               days 1 to 30 after the store's launch date (day 1 = launch day)
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class PeriodKind(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    RANGE = "range"
    ROLLING = "rolling"
    LAUNCH = "launch"


class PeriodError(ValueError):
    """The period text cannot be understood; the message says what was expected."""


@dataclass(frozen=True, slots=True)
class Period:
    """Local calendar days ``start`` (included) to ``end`` (excluded).

    ``launch_days`` is set for launch stages: the same stage means different dates for
    stores launched on different days, so it is resolved per store with
    :meth:`for_launch_date`.
    """

    kind: PeriodKind
    start: dt.date
    end: dt.date
    label: str
    launch_days: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise PeriodError(
                f"period {self.label!r}: end {self.end} is not after start {self.start}"
            )

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    def contains(self, day: dt.date) -> bool:
        return self.start <= day < self.end

    def iter_days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=i) for i in range(self.days)]

    def for_launch_date(self, launch_date: dt.date | None) -> Period | None:
        """The store-specific dates of a launch stage; None if the store has no launch date."""
        if self.launch_days is None:
            return self
        if launch_date is None:
            return None
        first, last = self.launch_days
        return replace(
            self,
            start=launch_date + dt.timedelta(days=first - 1),
            end=launch_date + dt.timedelta(days=last),
        )

    def previous(self) -> Period:
        """The period just before this one, of the same kind and length."""
        match self.kind:
            case PeriodKind.MONTH:
                start = _add_months(self.start, -1)
                return month_period(start.year, start.month)
            case PeriodKind.QUARTER:
                start = _add_months(self.start, -3)
                return quarter_period(start.year, (start.month - 1) // 3 + 1)
            case PeriodKind.WEEK:
                return week_period_containing(self.start - dt.timedelta(days=7))
            case PeriodKind.DAY:
                return day_period(self.start - dt.timedelta(days=1))
            case PeriodKind.LAUNCH:
                assert self.launch_days is not None
                first, last = self.launch_days
                length = last - first + 1
                if first - length < 1:
                    raise PeriodError(f"period {self.label!r} has no previous launch stage")
                return launch_period(first - length, first - 1)
            case PeriodKind.RANGE | PeriodKind.ROLLING:
                span = dt.timedelta(days=self.days)
                return replace(
                    self,
                    kind=PeriodKind.RANGE,
                    start=self.start - span,
                    end=self.start,
                    label=_range_label(self.start - span, self.start),
                )

    def last_year(self) -> Period:
        """The same period one year earlier (the same ISO week number for weeks)."""
        match self.kind:
            case PeriodKind.MONTH:
                return month_period(self.start.year - 1, self.start.month)
            case PeriodKind.QUARTER:
                return quarter_period(self.start.year - 1, (self.start.month - 1) // 3 + 1)
            case PeriodKind.WEEK:
                year, week, _ = self.start.isocalendar()
                try:
                    return week_period(year - 1, week)
                except PeriodError:  # week 53 in a 52-week year: the year's last week
                    return week_period(year - 1, 52)
            case PeriodKind.LAUNCH:
                raise PeriodError(f"period {self.label!r}: a launch stage has no last year")
            case PeriodKind.DAY | PeriodKind.RANGE | PeriodKind.ROLLING:
                start, end = _minus_year(self.start), _minus_year(self.end)
                if self.kind is PeriodKind.DAY:
                    return day_period(start)
                return replace(
                    self,
                    kind=PeriodKind.RANGE,
                    start=start,
                    end=end,
                    label=_range_label(start, end),
                )

    def to_json(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "label": self.label}


@dataclass(frozen=True, slots=True)
class UtcBounds:
    """A period converted to naive-UTC instants ``[start, end)`` for one timezone."""

    start: dt.datetime
    end: dt.datetime


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise PeriodError(
            f"unknown timezone {name!r} (expected an IANA name such as America/Los_Angeles)"
        ) from exc


def local_midnight_utc(day: dt.date, timezone: str) -> dt.datetime:
    """The naive-UTC instant at which ``day`` starts in ``timezone``."""
    local = dt.datetime.combine(day, dt.time(0), tzinfo=zone(timezone))
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def utc_bounds(period: Period, timezone: str) -> UtcBounds:
    return UtcBounds(
        local_midnight_utc(period.start, timezone), local_midnight_utc(period.end, timezone)
    )


@dataclass(frozen=True, slots=True)
class OffsetSegment:
    """From ``start_utc`` (naive UTC) on, local time is UTC + ``offset_minutes``."""

    start_utc: dt.datetime
    offset_minutes: int


def offset_segments(
    timezone: str, start_utc: dt.datetime, end_utc: dt.datetime
) -> list[OffsetSegment]:
    """The UTC offsets of ``timezone`` between two instants, one segment per change.

    The engine turns these into a CASE expression so that the database can compute each
    fact's local day without knowing about timezones (DuckDB and PostgreSQL disagree on
    session time zones; this keeps both exact).
    """
    tz = zone(timezone)
    start_utc = start_utc.replace(minute=0, second=0, microsecond=0)

    def offset_at(instant: dt.datetime) -> int:
        utc_offset = instant.replace(tzinfo=dt.UTC).astimezone(tz).utcoffset()
        assert utc_offset is not None
        return int(utc_offset.total_seconds() // 60)

    segments = [OffsetSegment(start_utc, offset_at(start_utc))]
    # Offsets change at most a few times a year and never twice within a day, so a daily
    # scan with bisection to the minute finds every change.
    step = dt.timedelta(days=1)
    cursor = start_utc
    while cursor < end_utc:
        following = min(cursor + step, end_utc)
        if offset_at(following) != segments[-1].offset_minutes:
            low, high = cursor, following
            while high - low > dt.timedelta(minutes=1):
                middle = low + (high - low) / 2
                middle = middle.replace(second=0, microsecond=0)
                if middle <= low:
                    break
                if offset_at(middle) == segments[-1].offset_minutes:
                    low = middle
                else:
                    high = middle
            segments.append(OffsetSegment(high, offset_at(high)))
        cursor = following
    return segments


def day_period(day: dt.date) -> Period:
    return Period(PeriodKind.DAY, day, day + dt.timedelta(days=1), day.isoformat())


def month_period(year: int, month: int) -> Period:
    start = dt.date(year, month, 1)
    return Period(PeriodKind.MONTH, start, _add_months(start, 1), f"{year:04d}-{month:02d}")


def quarter_period(year: int, quarter: int) -> Period:
    if not 1 <= quarter <= 4:
        raise PeriodError(f"quarter {quarter} is not 1 to 4")
    start = dt.date(year, 3 * quarter - 2, 1)
    return Period(PeriodKind.QUARTER, start, _add_months(start, 3), f"{year:04d}-Q{quarter}")


def week_period(year: int, week: int) -> Period:
    try:
        start = dt.date.fromisocalendar(year, week, 1)
    except ValueError as exc:
        raise PeriodError(f"{year} has no ISO week {week}") from exc
    return Period(PeriodKind.WEEK, start, start + dt.timedelta(days=7), f"{year:04d}-W{week:02d}")


def week_period_containing(day: dt.date) -> Period:
    year, week, _ = day.isocalendar()
    return week_period(year, week)


def range_period(first: dt.date, last: dt.date) -> Period:
    """Days ``first`` to ``last``, both included."""
    if last < first:
        raise PeriodError(f"range {first}..{last}: the end is before the start")
    end = last + dt.timedelta(days=1)
    return Period(PeriodKind.RANGE, first, end, _range_label(first, end))


def rolling_period(days: int, as_of: dt.date) -> Period:
    """The ``days`` days ending the day before ``as_of`` (today's data is incomplete)."""
    if days < 1:
        raise PeriodError(f"rolling:{days}: expected a positive number of days")
    return Period(PeriodKind.ROLLING, as_of - dt.timedelta(days=days), as_of, f"rolling:{days}")


def launch_period(first_day: int, last_day: int) -> Period:
    """Days ``first_day``..``last_day`` after launch; placeholder dates until resolved per store."""
    if first_day < 1 or last_day < first_day:
        raise PeriodError(f"launch:{first_day}-{last_day}: expected 1 <= first <= last")
    placeholder = dt.date(2000, 1, 1)
    return Period(
        PeriodKind.LAUNCH,
        placeholder + dt.timedelta(days=first_day - 1),
        placeholder + dt.timedelta(days=last_day),
        f"launch:{first_day}-{last_day}",
        launch_days=(first_day, last_day),
    )


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q(\d)$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")
_ROLLING = re.compile(r"^rolling:(\d+)$")
_LAUNCH = re.compile(r"^launch:(\d+)-(\d+)$")

PERIOD_SYNTAX = (
    "2026-10, 2026-W43, 2026-Q4, 2026-10-05, 2026-10-01..2026-10-15, rolling:28 or launch:1-30"
)


def parse_period(text: str, *, as_of: dt.date | None = None) -> Period:
    """Parse the period syntax of the module docstring; ``as_of`` anchors rolling periods."""
    value = text.strip()
    try:
        if match := _MONTH.match(value):
            month = int(match.group(2))
            if not 1 <= month <= 12:
                raise PeriodError(f"month {month} is not 01 to 12")
            return month_period(int(match.group(1)), month)
        if match := _WEEK.match(value):
            return week_period(int(match.group(1)), int(match.group(2)))
        if match := _QUARTER.match(value):
            return quarter_period(int(match.group(1)), int(match.group(2)))
        if _DAY.match(value):
            return day_period(dt.date.fromisoformat(value))
        if match := _RANGE.match(value):
            return range_period(
                dt.date.fromisoformat(match.group(1)), dt.date.fromisoformat(match.group(2))
            )
        if match := _ROLLING.match(value):
            return rolling_period(int(match.group(1)), as_of or dt.date.today())
        if match := _LAUNCH.match(value):
            return launch_period(int(match.group(1)), int(match.group(2)))
    except PeriodError as exc:
        raise PeriodError(f"period {text!r}: {exc}") from None
    except ValueError as exc:  # an impossible date such as 2026-02-30
        raise PeriodError(f"period {text!r}: {exc}") from None
    raise PeriodError(f"period {text!r} not understood; expected one of {PERIOD_SYNTAX}")


def months_between(first: dt.date, last: dt.date) -> list[Period]:
    """Every calendar month touching ``first``..``last`` (both included)."""
    periods = []
    cursor = dt.date(first.year, first.month, 1)
    while cursor <= last:
        periods.append(month_period(cursor.year, cursor.month))
        cursor = _add_months(cursor, 1)
    return periods


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _minus_year(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def _range_label(start: dt.date, end: dt.date) -> str:
    return f"{start.isoformat()}..{(end - dt.timedelta(days=1)).isoformat()}"
