"""Remediation plans (整改计划) for missed KPI clauses, pure.

A KPI clause with a period and a target is judged period by period. When a measured period
misses the target, a plan opens on the first day after that period, with the contract's
actions and owners and a cure deadline ``cure_days`` later. The plan is

* **cured** when a whole period that starts on or after the opening day and ends by the
  deadline meets the target (on that period's last day);
* **lapsed** when the deadline has passed, at least one such period was measured, and none
  met the target: from the day after the deadline the exit clauses on that KPI clause may be
  exercised;
* **unmeasured** when the deadline passed with no measured period in the cure window (no
  data is not a miss: an exit right always rests on measured misses);
* **open** otherwise.

While a plan is open no second plan opens; after a cure, the next miss opens a new one;
after a lapse nothing more opens (the seller may now leave).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from lianxing.domain.contracts import RemediationAction, Target
from lianxing.domain.kpi_windows import WindowValue, meets


class PlanStatus(StrEnum):
    OPEN = "open"
    CURED = "cured"
    LAPSED = "lapsed"
    UNMEASURED = "unmeasured"


@dataclass(frozen=True, slots=True)
class PlanState:
    clause: str  # KPI clause id
    missed: WindowValue  # the period that missed and opened the plan
    opened_on: dt.date
    deadline: dt.date  # the last day to cure
    status: PlanStatus
    closed_on: dt.date | None  # cured: the recovering period's last day; lapsed: deadline + 1
    checked: tuple[WindowValue, ...]  # periods measured inside the cure window
    actions: tuple[RemediationAction, ...]

    @property
    def exit_exercisable_from(self) -> dt.date | None:
        return self.closed_on if self.status is PlanStatus.LAPSED else None

    def to_json(self) -> dict[str, Any]:
        return {
            "clause": self.clause,
            "missed": self.missed.to_json(),
            "opened_on": self.opened_on.isoformat(),
            "cure_deadline": self.deadline.isoformat(),
            "status": self.status.value,
            "closed_on": self.closed_on.isoformat() if self.closed_on else None,
            "checked": [w.to_json() for w in self.checked],
            "actions": [
                {
                    "action": a.action,
                    "owner": a.owner,
                    "due": (self.opened_on + dt.timedelta(days=a.due_days)).isoformat()
                    if a.due_days
                    else self.deadline.isoformat(),
                }
                for a in self.actions
            ],
        }


def remediation_plans(
    clause: str,
    target: Target,
    periods: Sequence[WindowValue],
    *,
    cure_days: int,
    actions: Sequence[RemediationAction],
    as_of: dt.date,
) -> list[PlanState]:
    """Every plan the clause's periods (complete by ``as_of``) have opened, oldest first."""
    ordered = sorted(periods, key=lambda w: w.window.start)
    plans: list[PlanState] = []
    i = 0
    while i < len(ordered):
        missed = ordered[i]
        i += 1
        if missed.value is None or meets(target, missed.value):
            continue
        opened = missed.window.end
        deadline = opened + dt.timedelta(days=cure_days)
        window = [w for w in ordered if w.window.start >= opened and w.window.last_day <= deadline]
        checked: list[WindowValue] = []
        status, closed = PlanStatus.OPEN, None
        for period in window:
            if period.value is None:
                continue
            checked.append(period)
            if meets(target, period.value):
                status, closed = PlanStatus.CURED, period.window.last_day
                break
        if status is PlanStatus.OPEN and as_of >= deadline:
            if checked:
                status, closed = PlanStatus.LAPSED, deadline + dt.timedelta(days=1)
            else:
                status, closed = PlanStatus.UNMEASURED, deadline + dt.timedelta(days=1)
        plans.append(
            PlanState(
                clause, missed, opened, deadline, status, closed, tuple(checked), tuple(actions)
            )
        )
        if status in (PlanStatus.OPEN, PlanStatus.LAPSED):
            break
        # Judging resumes after the recovering period (cured) or after the cure window.
        assert closed is not None
        resume = closed if status is PlanStatus.CURED else deadline
        while i < len(ordered) and ordered[i].window.last_day <= resume:
            i += 1
    return plans
