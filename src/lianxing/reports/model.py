"""The computed review report: one result object that every renderer only iterates.

Like mis-builder's ``KpiMatrix``: the numbers are computed once (``reports.compute``) into
these plain dataclasses; HTML, PDF and XLSX read them and never query anything, so the three
formats cannot disagree. Pure: no database, no warehouse.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Bilingual:
    zh: str
    en: str

    def get(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True, slots=True)
class StoreLine:
    id: int
    name: str
    platform: str
    site: str
    currency: str
    timezone: str
    launch_date: dt.date | None


@dataclass(frozen=True, slots=True)
class TargetLine:
    """A target evaluated for the report's period (from ``metrics.targets``)."""

    target_id: int
    kpi_id: str
    comparator: str
    value: float  # as set
    effective: float | None  # scaled by the cold-start ramp; None: no cap yet
    ramp_factor: float
    ramp: str | None  # the ramp spec, "linear:90d"
    actual: float | None
    achievement: float | None  # 1.0 = 100 %
    status: str  # good | warning | bad | unknown
    pace: float | None  # projected value at period end
    pace_method: str | None
    projected_status: str | None
    options: Mapping[str, Any]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class KpiLine:
    kpi_id: str
    name: Bilingual
    unit: str  # "USD", "ratio", "count", "hours", "score"
    unit_kind: str  # domain.kpi.Unit value
    direction: str
    definition: str  # content hash
    value: float | None
    reason: str | None
    previous: float | None
    previous_change: float | None  # relative, 0.1 = +10 %
    last_year: float | None
    last_year_change: float | None
    target: TargetLine | None = None


@dataclass(frozen=True, slots=True)
class Trend:
    kpi_id: str
    name: Bilingual
    unit: str
    unit_kind: str
    labels: tuple[str, ...]
    values: tuple[float | None, ...]


@dataclass(frozen=True, slots=True)
class LaunchStage:
    name: Bilingual
    done: int
    total: int
    complete: bool


@dataclass(frozen=True, slots=True)
class LaunchProgress:
    store_id: int
    store_name: str
    launch_date: dt.date | None
    current_stage: Bilingual | None
    complete: bool
    stages: tuple[LaunchStage, ...]
    blocked_by: tuple[str, ...]
    overdue: tuple[Bilingual, ...]
    expiring_documents: int


@dataclass(frozen=True, slots=True)
class ClauseLine:
    kind: str  # milestone | exit
    id: str
    kpi: str
    outcome: str
    met_on: dt.date | None
    explanation: Bilingual
    fake_orders: Bilingual | None = None  # confirmed fake orders its KPI left out, and why


@dataclass(frozen=True, slots=True)
class SettledAmount:
    """A fee's amount in the contract's settlement currency and the rate it was converted at."""

    amount: float
    currency: str
    rate: float  # settlement-currency units per unit of the fee's currency
    rate_date: dt.date | None  # None: already in the settlement currency
    estimate: bool  # not due yet: converted at the rate of the day evaluated


@dataclass(frozen=True, slots=True)
class FakeOrdersLeftOut:
    """What a commission did not pay on orders the integrity review confirmed as fake."""

    amount: float  # in the fee's currency
    reason: Bilingual


@dataclass(frozen=True, slots=True)
class SettlementLine:
    fee: str  # the fee id (a refund: the exit clause id)
    name: str
    type: str  # the fee type, or "refund"
    status: str
    amount: float | None
    currency: str
    due_date: dt.date | None
    settled: SettledAmount | None = None  # None: not priced or never due
    left_out: FakeOrdersLeftOut | None = None


@dataclass(frozen=True, slots=True)
class SettlementTotals:
    """The statement's totals in the settlement currency (sums of the settled amounts)."""

    currency: str
    due: float
    not_yet_due: float
    pending_milestone: float
    refunds_owed: float


@dataclass(frozen=True, slots=True)
class ContractStatus:
    number: str
    title: str
    agency: str
    clauses: tuple[ClauseLine, ...]
    settlement: tuple[SettlementLine, ...]  # the fees, then the refunds owed
    problem: str | None = None  # why it could not be evaluated
    settlement_total: SettlementTotals | None = None
    as_of: dt.date | None = None  # the last complete day the statement counts


@dataclass(frozen=True, slots=True)
class Breach:
    ticket_id: int
    title: str
    severity: str
    kind: str  # first_response | resolution
    due_at: dt.datetime
    fulfilled_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class TicketSla:
    opened: int
    resolved: int
    open_at_end: int
    responded: int
    responded_in_time: int
    breaches: tuple[Breach, ...]


@dataclass(frozen=True, slots=True)
class FlagLine:
    rule_name: str
    subject: str
    score: float
    status: str
    orders: int
    gmv_share: float | None
    explanation: Bilingual


@dataclass(frozen=True, slots=True)
class IntegrityStatus:
    store_id: int
    store_name: str
    currency: str
    gmv: float
    flagged_share: float | None
    confirmed_share: float | None
    flags: tuple[FlagLine, ...]


@dataclass(frozen=True, slots=True)
class AlertLine:
    """One firing of an alert of the report's stores in the period (``alerts.service``)."""

    alert_id: int
    rule: str
    kind: str
    severity: str  # info | warning | critical
    store_id: int | None
    summary: Bilingual  # the latest observation's words
    value: float | None  # the observed value when it fired
    fired_at: dt.datetime  # naive UTC
    resolved_at: dt.datetime | None
    acked_at: dt.datetime | None
    acked_by: str | None
    delivery_status: str  # none | pending | sent | failed


@dataclass(frozen=True, slots=True)
class SourceLine:
    source: str
    tables: tuple[str, ...]
    rows: int
    batches: int
    last_refreshed: dt.datetime | None
    files: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ReviewReport:
    scope_key: str  # "store:1", "stores:1,2", "platform:amazon"
    scope_label: str
    stores: tuple[StoreLine, ...]
    period: str
    period_kind: str
    start: dt.date
    end: dt.date  # excluded
    timezone: str
    currency: str
    previous_period: str | None
    last_year_period: str | None
    as_of: dt.date  # data counted up to the day before
    generated_at: dt.datetime
    kpis: tuple[KpiLine, ...]
    trends: tuple[Trend, ...]
    launch: tuple[LaunchProgress, ...]
    contracts: tuple[ContractStatus, ...]
    tickets: TicketSla | None
    integrity: tuple[IntegrityStatus, ...]
    sources: tuple[SourceLine, ...]
    extra_targets: tuple[TargetLine, ...] = ()
    alerts: tuple[AlertLine, ...] = ()
    notes: tuple[Bilingual, ...] = ()
    commentary: str | None = None

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    def kpi(self, kpi_id: str) -> KpiLine:
        return next(k for k in self.kpis if k.kpi_id == kpi_id)

    def data(self) -> dict[str, Any]:
        """Everything the report shows, JSON-able, without the generation time."""
        body = _jsonable(asdict(self))
        body.pop("generated_at")
        return body  # type: ignore[no-any-return]

    def inputs_digest(self) -> str:
        canonical = json.dumps(
            self.data(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def kpi_values(self) -> dict[str, dict[str, Any]]:
        """What a snapshot keeps per KPI: the value and the definition it was computed by."""
        return {
            k.kpi_id: {
                "value": k.value,
                "unit": k.unit,
                "definition": k.definition,
                "reason": k.reason,
                "previous": k.previous,
                "last_year": k.last_year,
            }
            for k in self.kpis
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True, slots=True)
class KpiChange:
    kpi_id: str
    before: float | None
    after: float | None
    definition_before: str | None
    definition_after: str | None

    @property
    def definition_changed(self) -> bool:
        return self.definition_before != self.definition_after

    def to_json(self) -> dict[str, Any]:
        return {
            "kpi": self.kpi_id,
            "before": self.before,
            "after": self.after,
            "change": None
            if self.before is None or self.after is None
            else self.after - self.before,
            "definition_before": self.definition_before,
            "definition_after": self.definition_after,
        }


def kpi_changes(
    before: Mapping[str, Mapping[str, Any]], after: Mapping[str, Mapping[str, Any]]
) -> list[KpiChange]:
    """KPIs whose value (beyond float noise) or definition differs between two snapshots."""
    changes: list[KpiChange] = []
    for kpi_id in [*before, *(k for k in after if k not in before)]:
        old, new = before.get(kpi_id, {}), after.get(kpi_id, {})
        old_value, new_value = old.get("value"), new.get("value")
        same_value = (old_value is None and new_value is None) or (
            old_value is not None
            and new_value is not None
            and math.isclose(old_value, new_value, rel_tol=1e-9, abs_tol=1e-9)
        )
        if not same_value or old.get("definition") != new.get("definition"):
            changes.append(
                KpiChange(
                    kpi_id, old_value, new_value, old.get("definition"), new.get("definition")
                )
            )
    return changes
