"""SLA clocks for service tickets (问题清单), pure.

Deadlines run in calendar hours from the moment a ticket is opened: the contract states
hours per severity, and a seller's problem does not wait for office hours unless the
contract says so in those hours. A deadline is breached when the answer came after it, or
when it has passed with no answer yet.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from lianxing.domain.contracts import SlaTerms


class BreachKind(StrEnum):
    FIRST_RESPONSE = "first_response"
    RESOLUTION = "resolution"


class TicketStatus(StrEnum):
    OPEN = "open"
    RESPONDED = "responded"
    RESOLVED = "resolved"


class Side(StrEnum):
    SELLER = "seller"
    AGENCY = "agency"


@dataclass(frozen=True, slots=True)
class Deadlines:
    first_response: dt.datetime | None
    resolution: dt.datetime | None


def deadlines(opened_at: dt.datetime, terms: SlaTerms | None) -> Deadlines:
    if terms is None:
        return Deadlines(None, None)
    return Deadlines(
        opened_at + dt.timedelta(hours=terms.first_response_hours),
        opened_at + dt.timedelta(hours=terms.resolution_hours),
    )


@dataclass(frozen=True, slots=True)
class Breach:
    kind: BreachKind
    due_at: dt.datetime
    fulfilled_at: dt.datetime | None  # the late answer; None while still outstanding

    def late_hours(self, now: dt.datetime) -> float:
        return ((self.fulfilled_at or now) - self.due_at).total_seconds() / 3600


def breaches(
    due: Deadlines,
    *,
    first_response_at: dt.datetime | None,
    resolved_at: dt.datetime | None,
    now: dt.datetime,
) -> list[Breach]:
    """The deadlines missed as of ``now``."""
    found: list[Breach] = []
    for kind, due_at, done in (
        (BreachKind.FIRST_RESPONSE, due.first_response, first_response_at),
        (BreachKind.RESOLUTION, due.resolution, resolved_at),
    ):
        if due_at is None:
            continue
        if (done is not None and done > due_at) or (done is None and now > due_at):
            found.append(Breach(kind, due_at, done))
    return found
