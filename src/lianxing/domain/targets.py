"""KPI targets: comparators, achievement, status bands, cold-start ramps (pure; DESIGN "Targets").

A target says "KPI, for this scope, over this period, must be <comparator> value". This
module holds the rules that need no database:

* **Comparators** (``>= <= > < ==``) are looked up in an operator table, never ``eval``-ed.
  ``>=``/``>`` mean "higher is better", ``<=``/``<`` "lower is better", ``==`` "as close as
  possible".
* **Achievement** (a fraction; 1.0 = exactly on target):

  - higher is better (and ``==``): ``actual / target``;
  - lower is better: ``target / actual`` (spending 80 against a cap of 100 is 125 %).

  It is ``None`` ("not defined") when the actual is missing, when the denominator is 0, or
  when the target is negative (a ratio of signed numbers would read the wrong way round).
* **Gap**: how far the actual is from the target *in the bad direction*, relative to the
  target's size: ``(target − actual) / |target|`` for higher-is-better, ``(actual − target) /
  |target|`` for lower-is-better, ``|actual − target| / |target|`` for ``==``; 0 when the
  comparator is satisfied. The gap, not the achievement, decides the status, so that "5 %
  off" means the same distance on both sides (105 against a cap of 100 is 5 % off).
* **Status** with configurable bands (default 5 % and 20 %): gap ≤ 5 % → good, ≤ 20 % →
  warning, above → bad; boundaries belong to the better status. A target of 0 has no
  relative scale: good if met, bad otherwise. No actual → unknown.
* **Ramps** scale the target of a young store: see :class:`Ramp`.
* **Target periods**: a relative calendar period (``day``, ``week``, ``month``,
  ``quarter`` — the one containing the last complete day), or anything
  :func:`lianxing.domain.periods.parse_period` accepts (a fixed month, ``rolling:28``,
  ``launch:1-30`` for stage targets such as "50 SKUs live within 30 days of launch").
"""

from __future__ import annotations

import datetime as dt
import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from lianxing.domain.periods import (
    Period,
    PeriodError,
    PeriodKind,
    day_period,
    month_period,
    parse_period,
    quarter_period,
    rolling_period,
    week_period_containing,
)


class TargetError(ValueError):
    """Input that cannot make a target; the message names the value and what was expected."""


# Float arithmetic makes 1 − 95/100 = 0.05000000000000004; a band edge must still count as
# inside the band, so comparisons against band edges allow this much slack.
_EDGE_TOLERANCE = 1e-9


# ---------------------------------------------------------------------------------------
# Comparators
# ---------------------------------------------------------------------------------------


class Comparator(StrEnum):
    GE = ">="
    LE = "<="
    GT = ">"
    LT = "<"
    EQ = "=="

    @property
    def higher_is_better(self) -> bool:
        return self in (Comparator.GE, Comparator.GT)

    @property
    def lower_is_better(self) -> bool:
        return self in (Comparator.LE, Comparator.LT)

    def holds(self, actual: float, target: float) -> bool:
        """Whether ``actual <comparator> target``; ``==`` tolerates float rounding."""
        if self is Comparator.EQ:
            return math.isclose(actual, target, rel_tol=1e-9, abs_tol=1e-9)
        return _OPERATORS[self](actual, target)


_OPERATORS: dict[Comparator, Callable[[float, float], bool]] = {
    Comparator.GE: operator.ge,
    Comparator.LE: operator.le,
    Comparator.GT: operator.gt,
    Comparator.LT: operator.lt,
    Comparator.EQ: operator.eq,
}

_COMPARATOR_ALIASES = {"=": Comparator.EQ, "≥": Comparator.GE, "≤": Comparator.LE}


def parse_comparator(text: str) -> Comparator:
    value = text.strip()
    if value in _COMPARATOR_ALIASES:
        return _COMPARATOR_ALIASES[value]
    try:
        return Comparator(value)
    except ValueError:
        raise TargetError(
            f"comparator {text!r} not understood; expected one of >=, <=, >, <, =="
        ) from None


def default_comparator(direction: str) -> Comparator:
    """The comparator a KPI's direction ("higher"/"lower" is better) implies."""
    return Comparator.LE if direction == "lower" else Comparator.GE


# ---------------------------------------------------------------------------------------
# Achievement, gap, status
# ---------------------------------------------------------------------------------------


class Status(StrEnum):
    GOOD = "good"
    WARNING = "warning"
    BAD = "bad"
    UNKNOWN = "unknown"  # no actual (no data, or a ratio with a zero denominator)

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    Status.GOOD: "达标 / good",
    Status.WARNING: "预警 / warning",
    Status.BAD: "未达标 / bad",
    Status.UNKNOWN: "无数据 / unknown",
}


@dataclass(frozen=True, slots=True)
class StatusBands:
    """Gap limits: up to ``good`` is good, up to ``warning`` is a warning, beyond is bad."""

    good: float = 0.05
    warning: float = 0.20

    def __post_init__(self) -> None:
        if not 0 <= self.good <= self.warning:
            raise TargetError(
                f"status bands good={self.good}, warning={self.warning}: "
                "expected 0 <= good <= warning"
            )


DEFAULT_BANDS = StatusBands()


def achievement(actual: float | None, target: float, comparator: Comparator) -> float | None:
    """Achievement as a fraction (see the module docstring for the formulas)."""
    if actual is None or target < 0:
        return None
    if comparator.lower_is_better:
        return None if actual == 0 else target / actual
    return None if target == 0 else actual / target


def gap(actual: float | None, target: float, comparator: Comparator) -> float | None:
    """Relative distance from the target in the bad direction; 0 when the target is met."""
    if actual is None:
        return None
    if comparator.holds(actual, target):
        return 0.0
    if target == 0:
        return None
    if comparator.higher_is_better:
        distance = target - actual
    elif comparator.lower_is_better:
        distance = actual - target
    else:
        distance = abs(actual - target)
    return max(distance, 0.0) / abs(target)


def status(
    actual: float | None,
    target: float,
    comparator: Comparator,
    bands: StatusBands = DEFAULT_BANDS,
) -> Status:
    if actual is None:
        return Status.UNKNOWN
    off = gap(actual, target, comparator)
    if off is None:  # target 0 and not met: no relative scale to be "nearly" there
        return Status.BAD
    if off <= bands.good + _EDGE_TOLERANCE:
        return Status.GOOD
    if off <= bands.warning + _EDGE_TOLERANCE:
        return Status.WARNING
    return Status.BAD


# ---------------------------------------------------------------------------------------
# Cold-start ramps
# ---------------------------------------------------------------------------------------


class RampKind(StrEnum):
    LINEAR = "linear"
    SCURVE = "scurve"
    LIST = "list"


class RampUnit(StrEnum):
    DAYS = "days"  # ordinal = day number since launch (1 = launch day)
    PERIODS = "periods"  # ordinal = target period number since launch (1 = launch's period)


DEFAULT_STEEPNESS = 10.0


@dataclass(frozen=True, slots=True)
class Ramp:
    """How much of the full target a store is held to, by its age.

    With ``x`` the ordinal (a day number, 1 = launch day, or a period number, 1 = the
    period containing the launch date), ``N`` the length and ``s`` the start fraction:

    * linear: ``f(x) = s + (1 − s) · min(x, N) / N`` — full from ordinal ``N`` on
      (``linear:30`` from 0 gives 1/3 on day 10);
    * S-curve (logistic): with ``g(u) = 1 / (1 + exp(−k · (u − ½)))`` and ``u = min(x, N) / N``,
      ``f(x) = s + (1 − s) · (g(u) − g(0)) / (g(1) − g(0))``; the rescaling makes
      ``f = s`` at launch and exactly 1 at ``N``, and the symmetry of ``g`` makes the
      midpoint ``x = N/2`` exactly halfway (0.5 when ``s = 0``). ``k`` is the steepness
      (default 10);
    * list: ``f(x) = factors[x − 1]`` for the first ``len(factors)`` periods, then 1.

    Before launch (``x ≤ 0``) the factor is the start. Every ramp is non-decreasing in
    ``x`` and stays within ``[s, 1]``.

    For a day-based ramp the factor of a period is the mean of its days' factors counting
    only days on or after launch, so a monthly target ramps exactly as the sum of daily
    ramped targets would.
    """

    kind: RampKind
    length: int
    start: float = 0.0
    unit: RampUnit = RampUnit.DAYS
    steepness: float = DEFAULT_STEEPNESS
    factors: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.length < 1:
            raise TargetError(f"ramp length {self.length}: expected at least 1")
        if not 0 <= self.start <= 1:
            raise TargetError(f"ramp start {self.start}: expected a fraction from 0 to 1")
        if self.kind is RampKind.SCURVE and not self.steepness > 0:
            raise TargetError(f"S-curve steepness {self.steepness}: expected a positive number")
        if self.kind is RampKind.LIST:
            if len(self.factors) != self.length or self.unit is not RampUnit.PERIODS:
                raise TargetError("a list ramp has one factor per period")
            if any(not 0 < f <= 1 for f in self.factors):
                raise TargetError(
                    f"ramp factors {list(self.factors)}: expected fractions above 0 and at most 1"
                )
            if any(b < a for a, b in zip(self.factors, self.factors[1:], strict=False)):
                raise TargetError(
                    f"ramp factors {list(self.factors)}: expected them not to decrease"
                )
            if self.start != self.factors[0]:
                raise TargetError("a list ramp starts at its first factor")

    @staticmethod
    def linear(length: int, start: float = 0.0, unit: RampUnit = RampUnit.DAYS) -> Ramp:
        return Ramp(RampKind.LINEAR, length, start, unit)

    @staticmethod
    def scurve(
        length: int,
        start: float = 0.0,
        unit: RampUnit = RampUnit.DAYS,
        steepness: float = DEFAULT_STEEPNESS,
    ) -> Ramp:
        return Ramp(RampKind.SCURVE, length, start, unit, steepness)

    @staticmethod
    def of_list(factors: Sequence[float]) -> Ramp:
        if not factors:
            raise TargetError("a list ramp needs at least one factor")
        values = tuple(float(f) for f in factors)
        return Ramp(RampKind.LIST, len(values), values[0], RampUnit.PERIODS, factors=values)

    def factor_at(self, ordinal: int) -> float:
        """The factor for a day or period number (1 = launch day / launch's period)."""
        if ordinal <= 0:
            return self.start
        if self.kind is RampKind.LIST:
            return self.factors[ordinal - 1] if ordinal <= self.length else 1.0
        progress = min(ordinal, self.length) / self.length
        if self.kind is RampKind.SCURVE:
            progress = _normalised_logistic(progress, self.steepness)
        return self.start + (1.0 - self.start) * progress

    def period_factor(self, period: Period, launch_date: dt.date) -> float:
        """The factor of a (store-resolved) period for a store launched on ``launch_date``."""
        if self.unit is RampUnit.PERIODS:
            return self.factor_at(period_ordinal(period, launch_date))
        open_days = [d for d in period.iter_days() if d >= launch_date]
        if not open_days:
            return self.start
        total = math.fsum(self.factor_at((d - launch_date).days + 1) for d in open_days)
        return total / len(open_days)

    def spec(self) -> str:
        """The text :func:`parse_ramp` reads back into this ramp."""
        if self.kind is RampKind.LIST:
            return "list:" + ",".join(f"{f:g}" for f in self.factors)
        length = f"{self.length}{'p' if self.unit is RampUnit.PERIODS else ''}"
        text = f"{self.kind.value}:{length}:{self.start:g}"
        if self.kind is RampKind.SCURVE and self.steepness != DEFAULT_STEEPNESS:
            text += f":{self.steepness:g}"
        return text

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": self.kind.value,
            "length": self.length,
            "start": self.start,
            "unit": self.unit.value,
        }
        if self.kind is RampKind.SCURVE:
            body["steepness"] = self.steepness
        if self.kind is RampKind.LIST:
            body["factors"] = list(self.factors)
        return body

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> Ramp:
        kind = RampKind(data["kind"])
        if kind is RampKind.LIST:
            return Ramp.of_list([float(f) for f in data["factors"]])
        return Ramp(
            kind,
            int(data["length"]),
            float(data["start"]),
            RampUnit(data.get("unit", RampUnit.DAYS.value)),
            float(data.get("steepness", DEFAULT_STEEPNESS)),
        )


def _logistic(u: float, steepness: float) -> float:
    return 1.0 / (1.0 + math.exp(-steepness * (u - 0.5)))


def _normalised_logistic(u: float, steepness: float) -> float:
    low, high = _logistic(0.0, steepness), _logistic(1.0, steepness)
    value = (_logistic(u, steepness) - low) / (high - low)
    return min(max(value, 0.0), 1.0)  # rounding must not leave [0, 1]


RAMP_SYNTAX = "linear:N[p][:START], scurve:N[p][:START[:STEEPNESS]] or list:F1,F2,..."
_RAMP = re.compile(r"^(linear|scurve):(\d+)(p|d)?(?::([^:]+))?(?::([^:]+))?$")


def parse_ramp(text: str) -> Ramp:
    """``linear:60:0.4`` (60 days from 40 %), ``scurve:60``, ``linear:3p:0.5`` (3 periods),
    ``list:0.3,0.5,0.8`` (factors of the first periods after launch)."""
    value = text.strip()
    if value.startswith("list:"):
        items = [item.strip() for item in value[5:].split(",")]
        try:
            factors = [float(item) for item in items]
        except ValueError:
            raise TargetError(
                f"ramp {text!r}: factors must be numbers such as list:0.3,0.5,0.8"
            ) from None
        return Ramp.of_list(factors)
    match = _RAMP.match(value)
    if match is None:
        raise TargetError(f"ramp {text!r} not understood; expected {RAMP_SYNTAX}")
    kind, length, unit, start, steepness = match.groups()
    if kind == "linear" and steepness is not None:
        raise TargetError(f"ramp {text!r}: a linear ramp has no steepness")
    try:
        start_value = float(start) if start is not None else 0.0
        steepness_value = float(steepness) if steepness is not None else DEFAULT_STEEPNESS
    except ValueError:
        raise TargetError(f"ramp {text!r}: start and steepness must be numbers") from None
    try:
        return Ramp(
            RampKind(kind),
            int(length),
            start_value,
            RampUnit.PERIODS if unit == "p" else RampUnit.DAYS,
            steepness_value,
        )
    except TargetError as exc:
        raise TargetError(f"ramp {text!r}: {exc}") from None


# ---------------------------------------------------------------------------------------
# Target periods
# ---------------------------------------------------------------------------------------

RELATIVE_PERIODS = ("day", "week", "month", "quarter")
TARGET_PERIOD_SYNTAX = "day, week, month, quarter (the current one), or a period such as " + (
    "2026-10, 2026-W43, 2026-Q4, 2026-10-05, 2026-10-01..2026-10-15, rolling:28, launch:1-30"
)


def check_target_period(text: str) -> str:
    """The normalised period spec, or TargetError naming what is accepted."""
    value = text.strip()
    if value in RELATIVE_PERIODS:
        return value
    try:
        parse_period(value, as_of=dt.date(2000, 1, 1))
    except PeriodError as exc:
        raise TargetError(f"{exc}; a target period is {TARGET_PERIOD_SYNTAX}") from None
    return value


def last_complete_day(as_of: dt.date) -> dt.date:
    """Evaluating "as of" a date counts the days before it (that day's data is incomplete)."""
    return as_of - dt.timedelta(days=1)


def resolve_target_period(spec: str, as_of: dt.date, launch_date: dt.date | None) -> Period | None:
    """The concrete local days a target covers when evaluated on ``as_of``.

    None for a launch stage of a store without a launch date.
    """
    reference = last_complete_day(as_of)
    match spec:
        case "day":
            return day_period(reference)
        case "week":
            return week_period_containing(reference)
        case "month":
            return month_period(reference.year, reference.month)
        case "quarter":
            return quarter_period(reference.year, (reference.month - 1) // 3 + 1)
    period = parse_period(spec, as_of=as_of)
    if period.kind is PeriodKind.ROLLING:
        return rolling_period(period.days, as_of)
    return period.for_launch_date(launch_date)


def period_ordinal(period: Period, launch_date: dt.date) -> int:
    """Which period since launch this is: 1 for the one containing the launch date.

    Calendar periods count calendar steps (the month of launch is 1, the next month 2);
    other periods count steps of their own length from the launch date (``launch:31-60``
    is period 2 of a 30-day stage). Periods before launch get 0 or less.
    """
    match period.kind:
        case PeriodKind.MONTH | PeriodKind.QUARTER:
            months = 1 if period.kind is PeriodKind.MONTH else 3
            launch_index = (launch_date.year * 12 + launch_date.month - 1) // months
            index = (period.start.year * 12 + period.start.month - 1) // months
            return index - launch_index + 1
        case PeriodKind.WEEK:
            launch_week = week_period_containing(launch_date).start
            return (period.start - launch_week).days // 7 + 1
        case _:
            return (period.start - launch_date).days // period.days + 1


def ramp_factor(ramp: Ramp | None, period: Period, launch_date: dt.date | None) -> float:
    """1.0 without a ramp or without a launch date (nothing to measure the age from)."""
    if ramp is None or launch_date is None:
        return 1.0
    return ramp.period_factor(period, launch_date)
