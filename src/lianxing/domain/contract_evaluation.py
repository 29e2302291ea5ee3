"""Evaluating a signed contract: milestones, exit clauses and the settlement statement (pure).

Evaluation is two steps so that this module never touches data:

1. :func:`plan` lists the KPI windows the contract needs as of a day (each milestone's
   N-day windows, each exit clause's and percent fee's calendar periods);
2. the caller computes those windows with the definition locked at signing and hands back a
   :class:`WindowValue` for each; :func:`evaluate` turns them into the statement.

``as_of`` is the last *complete* day counted: a milestone met on day D is reported met (and
its fee due on D) when evaluated as of D or later, and pending before. The statement is a
pure function of the contract, the launch date, ``as_of``, the window values and the
exchange rates, and carries a hash of its own canonical JSON so two runs can be compared at
a glance.

Every fee keeps its own amount and currency; the statement also converts each one to the
contract's settlement currency (:class:`SettlementRates`): an amount due by ``as_of`` at the
``fx_rates`` rate of its due date, one not due yet (or pending a milestone) at the rate of
``as_of``, marked as an estimate. A missing rate is an error, never a rate of 1.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from lianxing.domain.contracts import (
    Contract,
    ExitClause,
    Fee,
    FeeType,
    KpiClause,
    Milestone,
    PeriodUnit,
    Target,
    add_months,
)
from lianxing.domain.kpi_windows import (
    ConfirmedOrder,
    Window,
    WindowValue,
    meets,
    rounded_value,
)
from lianxing.domain.remediation import PlanState, PlanStatus, remediation_plans

# re-exported: callers import them from here
__all__ = ["ConfirmedOrder", "Window", "WindowValue", "meets"]

CENT = Decimal("0.01")
RATE_STEP = Decimal("1e-10")  # the cross rate shown, and multiplied by, to 10 decimals


class Outcome(StrEnum):
    MET = "met"
    NOT_MET = "not_met"
    PENDING = "pending"


class LineStatus(StrEnum):
    DUE = "due"
    NOT_YET_DUE = "not_yet_due"
    PENDING_MILESTONE = "pending_milestone"
    NOT_EARNED = "not_earned"  # the milestone was not met: the fee is never due
    UNPRICED = "unpriced"


@dataclass(frozen=True, slots=True)
class SeriesRequest:
    """KPI values a clause needs over ``windows``, with the data policy that applies."""

    key: str  # "milestone:<id>", "exit:<id>", "fee:<id>"
    clause: str  # KPI clause id
    windows: tuple[Window, ...]
    accept_manual: bool
    accept_flagged: bool
    currency: str | None  # reporting currency override (percent fees are paid in theirs)
    # Orders the integrity review confirmed as fake count only when this is true.
    accept_confirmed_orders: bool = True


# ---------------------------------------------------------------------------------------
# Planning
# ---------------------------------------------------------------------------------------


def applies_from(contract: Contract, clause: KpiClause, launch: dt.date | None) -> dt.date:
    """The first day a clause's target applies: ``from_day`` days into launch (or the term)."""
    base = launch or contract.term.start
    return base + dt.timedelta(days=clause.from_day - 1)


def milestone_windows(milestone: Milestone, launch: dt.date, as_of: dt.date) -> list[Window]:
    """Every N-day window inside the first M days after launch that has ended by ``as_of``."""
    n = milestone.consecutive_days
    last_end = launch + dt.timedelta(days=milestone.within_days_of_launch)  # excluded
    first_end = launch + dt.timedelta(days=n)
    stop = min(last_end, as_of + dt.timedelta(days=1))
    return [
        Window(end - dt.timedelta(days=n), end)
        for end in (first_end + dt.timedelta(days=i) for i in range((stop - first_end).days + 1))
        if end <= stop
    ]


def calendar_periods(unit: PeriodUnit, first: dt.date, stop: dt.date) -> list[Window]:
    """Whole calendar periods starting on or after ``first`` and ending by ``stop`` (excluded)."""
    start = _period_start_on_or_after(unit, first)
    periods: list[Window] = []
    while True:
        end = _period_end(unit, start)
        if end > stop:
            return periods
        periods.append(Window(start, end))
        start = end


def _period_start_on_or_after(unit: PeriodUnit, day: dt.date) -> dt.date:
    match unit:
        case PeriodUnit.WEEK:
            return day + dt.timedelta(days=(7 - day.weekday()) % 7)
        case PeriodUnit.MONTH:
            return day if day.day == 1 else add_months(day.replace(day=1), 1)
        case PeriodUnit.QUARTER:
            first_month = (day.month - 1) // 3 * 3 + 1
            start = dt.date(day.year, first_month, 1)
            return start if start == day else add_months(start, 3)


def _period_end(unit: PeriodUnit, start: dt.date) -> dt.date:
    match unit:
        case PeriodUnit.WEEK:
            return start + dt.timedelta(days=7)
        case PeriodUnit.MONTH:
            return add_months(start, 1)
        case PeriodUnit.QUARTER:
            return add_months(start, 3)


def clause_periods(
    contract: Contract, clause: KpiClause, launch: dt.date | None, as_of: dt.date
) -> list[Window]:
    """The clause's complete calendar periods inside the term, ended by ``as_of``."""
    assert clause.period is not None
    first = max(applies_from(contract, clause, launch), contract.term.start)
    stop = min(contract.term.end, as_of + dt.timedelta(days=1))
    return calendar_periods(clause.period, first, stop)


def plan(contract: Contract, launch: dt.date | None, as_of: dt.date) -> list[SeriesRequest]:
    requests: list[SeriesRequest] = []
    for milestone in contract.milestones:
        clause = contract.clause(milestone.kpi)
        windows = milestone_windows(milestone, launch, as_of) if launch else []
        requests.append(
            SeriesRequest(
                f"milestone:{milestone.id}",
                clause.id,
                tuple(windows),
                accept_manual=milestone.accept_manual_data or clause.source.value == "manual",
                accept_flagged=milestone.accept_flagged_data,
                currency=None,
                accept_confirmed_orders=milestone.accept_confirmed_flagged_orders,
            )
        )
    for exit_clause in contract.exits:
        clause = contract.clause(exit_clause.kpi)
        requests.append(
            SeriesRequest(
                f"exit:{exit_clause.id}",
                clause.id,
                tuple(clause_periods(contract, clause, launch, as_of)),
                accept_manual=clause.source.value == "manual",
                accept_flagged=False,
                currency=None,
                # Brushing must not keep the seller's exit shut: confirmed fake orders are
                # left out exactly as for milestones and percent fees.
                accept_confirmed_orders=False,
            )
        )
    for fee in contract.fees:
        if fee.type is FeeType.PERCENT_OF_KPI and fee.kpi is not None:
            clause = contract.clause(fee.kpi)
            requests.append(
                SeriesRequest(
                    f"fee:{fee.id}",
                    clause.id,
                    tuple(clause_periods(contract, clause, launch, as_of)),
                    accept_manual=clause.source.value == "manual",
                    accept_flagged=False,
                    currency=fee.currency,
                    # The agency is not paid a share of brushing: confirmed fake orders are
                    # left out exactly as for milestones.
                    accept_confirmed_orders=False,
                )
            )
    if contract.remediation is not None:
        for clause in remediated_clauses(contract):
            requests.append(
                SeriesRequest(
                    f"remediation:{clause.id}",
                    clause.id,
                    tuple(clause_periods(contract, clause, launch, as_of)),
                    accept_manual=clause.source.value == "manual",
                    accept_flagged=False,
                    currency=None,
                    # A lapsed plan opens the exit clauses: judged on the same data as they are.
                    accept_confirmed_orders=False,
                )
            )
    return requests


def remediated_clauses(contract: Contract) -> list[KpiClause]:
    """KPI clauses a miss of which opens a remediation plan: those with a period and target."""
    if contract.remediation is None:
        return []
    return [k for k in contract.kpis if k.period is not None and k.target is not None]


# ---------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClauseResult:
    kind: str  # milestone | exit
    id: str
    kpi_clause: str
    kpi: str
    definition: str  # content hash locked at signing
    outcome: Outcome
    met_on: dt.date | None  # milestone: the day it was met; exit: the day termination opens
    explanation_en: str
    explanation_zh: str
    evidence: tuple[WindowValue, ...]
    data_policy: Mapping[str, bool]
    fake_orders: ClauseFakeOrders | None = None  # confirmed fakes left out of the evidence

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "kpi_clause": self.kpi_clause,
            "kpi": self.kpi,
            "definition": self.definition,
            "outcome": self.outcome.value,
            "met_on": self.met_on.isoformat() if self.met_on else None,
            "explanation": {"zh": self.explanation_zh, "en": self.explanation_en},
            "data_policy": dict(self.data_policy),
            "evidence": [w.to_json() for w in self.evidence],
            "confirmed_fake_orders": None
            if self.fake_orders is None
            else self.fake_orders.to_json(),
        }


@dataclass(frozen=True, slots=True)
class ClauseFakeOrders:
    """The confirmed fake orders a milestone or exit clause left out of the windows of its
    evidence, with the KPI value and the target's verdict had they counted."""

    kind: str  # milestone | exit
    kpi: str
    target: Target
    windows: tuple[WindowValue, ...]  # evidence windows that left confirmed fake orders out

    def to_json(self) -> dict[str, Any]:
        zh, en = self.reason()
        return {
            "orders": [o.to_json() for o in self.orders()],
            "windows": [
                {
                    **w.window.to_json(),
                    "value": rounded_value(w.value),
                    "value_with_them": rounded_value(w.value_with_confirmed),
                    "target_met": meets(self.target, w.value),
                    "target_met_with_them": meets(self.target, w.value_with_confirmed),
                }
                for w in self.windows
            ],
            "reason": {"zh": zh, "en": en},
        }

    def orders(self) -> list[ConfirmedOrder]:
        return sorted(
            {o for w in self.windows for o in w.confirmed_orders},
            key=lambda o: (o.store_id, o.order_id),
        )

    def reason(self) -> tuple[str, str]:
        """Which orders were left out, by which flags, and the KPI without and with them."""
        listed_zh, listed_en = _confirmed_fake_text(self.orders())
        where_zh = "里程碑" if self.kind == "milestone" else "退出条款"
        where_en = "the milestone's" if self.kind == "milestone" else "the exit clause's"
        values = [self._values_text(w) for w in self.windows]
        values_zh = "；".join(zh for zh, _ in values)
        values_en = "; ".join(en for _, en in values)
        return (
            f"{listed_zh}，不计入{where_zh}的 KPI：{values_zh}",
            f"{listed_en} and do not count towards {where_en} KPI: {values_en}",
        )

    def _values_text(self, window: WindowValue) -> tuple[str, str]:
        """The window's KPI without and with the fake orders, and the verdicts (zh, en)."""
        days = f"{self.kpi} {window.window.start.isoformat()}..{window.window.last_day.isoformat()}"
        without, with_them = window.value, window.value_with_confirmed
        return (
            f"{days} 不含刷单 {_shown(without, '无数值')}（{_verdict_zh(self.target, without)}），"
            f"含刷单 {_shown(with_them, '无数值')}（{_verdict_zh(self.target, with_them)}）",
            f"{days} is {_shown(without, 'no value')} without them "
            f"({_verdict_en(self.target, without)}), {_shown(with_them, 'no value')} with them "
            f"({_verdict_en(self.target, with_them)})",
        )


def _confirmed_fake_text(orders: Sequence[ConfirmedOrder]) -> tuple[str, str]:
    """Which orders the integrity review confirmed as fake, and by which flags (zh, en)."""
    flags = ", ".join(f"#{f}" for f in sorted({f for o in orders for f in o.flags}))
    listed = ", ".join(f"{o.order_id} (store {o.store_id})" for o in orders)
    return (
        f"订单 {listed} 经完整性审核确认为刷单（标记 {flags}）",
        f"orders {listed} were confirmed as fake by the integrity review (flag {flags})",
    )


def _shown(value: float | None, missing: str) -> str:
    return missing if value is None else f"{value:.2f}"


def _verdict_en(target: Target, value: float | None) -> str:
    return "target met" if meets(target, value) else "target missed"


def _verdict_zh(target: Target, value: float | None) -> str:
    return "达标" if meets(target, value) else "未达标"


# ---------------------------------------------------------------------------------------
# Settlement currency
# ---------------------------------------------------------------------------------------


class SettlementRateMissing(ValueError):
    """An amount cannot be converted to the settlement currency: no rate for a day."""

    def __init__(self, what: str, currency: str, day: dt.date, settlement: str) -> None:
        super().__init__(
            f"{what}: no exchange rate for {currency} on {day.isoformat()} in fx_rates "
            f"(needed to convert to the settlement currency {settlement}); import the rate "
            f"for that day / {what}：fx_rates 中没有 {currency} 在 {day.isoformat()} 的汇率"
            f"（换算为结算币种 {settlement} 需要），请导入该日汇率"
        )
        self.currency, self.day, self.settlement = currency, day, settlement


class RateRule(StrEnum):
    SAME_CURRENCY = "same_currency"  # already in the settlement currency: nothing converted
    DUE_DATE = "due_date"  # due by as_of: the rate of the day it fell due (final)
    AS_OF_ESTIMATE = "as_of_estimate"  # not due yet: the rate of as_of (an estimate)


@dataclass(frozen=True, slots=True)
class Conversion:
    """An amount in the settlement currency, with the rate and the day of the rate used."""

    currency: str
    amount: Decimal
    rate: Decimal  # settlement-currency units per unit of the original currency
    rate_date: dt.date | None  # None when nothing was converted
    rule: RateRule
    rates_to_usd: Mapping[str, Decimal]  # the fx_rates values the rate comes from

    def to_json(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "amount": str(self.amount),
            "rate": format(self.rate.normalize(), "f"),
            "rate_date": self.rate_date.isoformat() if self.rate_date else None,
            "rate_rule": self.rule.value,
            "rates_to_usd": {
                c: format(r.normalize(), "f") for c, r in sorted(self.rates_to_usd.items())
            },
        }


@dataclass(frozen=True, slots=True)
class SettlementRates:
    """The settlement currency and ``fx_rates`` (USD per unit, by currency and day; USD is 1).

    The cross rate is ``rate_to_usd(original) / rate_to_usd(settlement)`` on the rate day,
    as the KPI engine converts (original → USD → reporting), rounded to 10 decimals; the
    converted amount is the original amount times that rate, rounded half up to the cent.
    """

    currency: str
    to_usd: Mapping[tuple[str, dt.date], Decimal] = dataclasses.field(default_factory=dict)

    def convert(
        self, amount: Decimal, currency: str, due: dt.date | None, as_of: dt.date, what: str
    ) -> Conversion:
        if currency == self.currency:
            same = amount.quantize(CENT, ROUND_HALF_UP)
            return Conversion(self.currency, same, Decimal(1), None, RateRule.SAME_CURRENCY, {})
        if due is not None and due <= as_of:
            day, rule = due, RateRule.DUE_DATE
        else:
            day, rule = as_of, RateRule.AS_OF_ESTIMATE
        used = {c: self._rate_to_usd(c, day, what) for c in (currency, self.currency)}
        rate = (used[currency] / used[self.currency]).quantize(RATE_STEP, ROUND_HALF_UP)
        converted = (amount * rate).quantize(CENT, ROUND_HALF_UP)
        return Conversion(self.currency, converted, rate, day, rule, used)

    def _rate_to_usd(self, currency: str, day: dt.date, what: str) -> Decimal:
        if currency == "USD":
            return Decimal(1)
        rate = self.to_usd.get((currency, day))
        if rate is None:
            raise SettlementRateMissing(what, currency, day, self.currency)
        return rate


def foreign_currencies(contract: Contract, settlement: str) -> frozenset[str]:
    """The currencies whose ``fx_rates`` the statement needs (none when all are ``settlement``)."""
    used = {f.currency for f in contract.fees}
    used.update(e.refund.currency for e in contract.exits if e.refund.currency)
    if used <= {settlement}:
        return frozenset()
    return frozenset((used | {settlement}) - {"USD"})


@dataclass(frozen=True, slots=True)
class FakeOrderExclusion:
    """What a percent_of_kpi fee leaves out because confirmed fake orders do not count."""

    orders: tuple[ConfirmedOrder, ...]
    kpi_value: float | None  # the KPI the fee is computed on (fake orders left out)
    kpi_value_with_them: float | None
    amount_with_them: Decimal
    amount_left_out: Decimal

    def to_json(self) -> dict[str, Any]:
        left_out = (self.kpi_value_with_them or 0.0) - (self.kpi_value or 0.0)
        zh, en = self.reason()
        return {
            "orders": [o.to_json() for o in self.orders],
            "kpi_value_with_them": rounded_value(self.kpi_value_with_them),
            "kpi_value_left_out": rounded_value(left_out),
            "amount_with_them": str(self.amount_with_them),
            "amount_left_out": str(self.amount_left_out),
            "reason": {"zh": zh, "en": en},
        }

    def reason(self) -> tuple[str, str]:
        """Which orders the fee leaves out and why (zh, en)."""
        listed_zh, listed_en = _confirmed_fake_text(self.orders)
        return f"{listed_zh}，不计入提成基数", f"{listed_en} and do not count towards the fee"


@dataclass(frozen=True, slots=True)
class StatementLine:
    fee: str
    name: str
    type: str
    status: LineStatus
    amount: Decimal | None
    currency: str
    due_date: dt.date | None
    basis: str
    converted: Conversion | None = None  # None: not priced or never due
    kpi_value: WindowValue | None = None  # percent_of_kpi: the KPI window it is computed on
    fake_orders: FakeOrderExclusion | None = None  # percent_of_kpi: confirmed fakes left out

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "fee": self.fee,
            "name": self.name,
            "type": self.type,
            "status": self.status.value,
            "amount": None if self.amount is None else str(self.amount),
            "currency": self.currency,
            "due_date": self.due_date.isoformat() if self.due_date else None,
            "basis": self.basis,
            "converted": None if self.converted is None else self.converted.to_json(),
        }
        if self.kpi_value is not None:
            body["kpi_value"] = self.kpi_value.to_json()
            body["confirmed_fake_orders"] = (
                None if self.fake_orders is None else self.fake_orders.to_json()
            )
        return body


@dataclass(frozen=True, slots=True)
class RefundLine:
    exit: str
    amount: Decimal
    currency: str
    owed_from: dt.date
    basis: str
    converted: Conversion | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "exit": self.exit,
            "amount": str(self.amount),
            "currency": self.currency,
            "owed_from": self.owed_from.isoformat(),
            "basis": self.basis,
            "converted": None if self.converted is None else self.converted.to_json(),
        }


@dataclass(frozen=True, slots=True)
class Statement:
    contract: str
    as_of: dt.date
    launch_date: dt.date | None
    clauses: tuple[ClauseResult, ...]
    lines: tuple[StatementLine, ...]
    refunds: tuple[RefundLine, ...]
    remediation: tuple[PlanState, ...] | None = None  # None: the contract has no remediation
    settlement_currency: str = "USD"

    def converted_totals(self) -> dict[str, str]:
        """The totals in the settlement currency: sums of the converted amounts."""
        bucket = _zero_totals()
        for line in self.lines:
            if line.converted is not None and line.status in _COUNTED:
                bucket[line.status.value] += line.converted.amount
        for refund in self.refunds:
            if refund.converted is not None:
                bucket["refunds_owed"] += refund.converted.amount
        return {k: str(v.quantize(CENT)) for k, v in bucket.items()}

    def totals(self) -> dict[str, dict[str, str]]:
        sums: dict[str, dict[str, Decimal]] = {}
        for line in self.lines:
            if line.amount is not None and line.status in _COUNTED:
                bucket = sums.setdefault(line.currency, _zero_totals())
                bucket[line.status.value] += line.amount
        for refund in self.refunds:
            sums.setdefault(refund.currency, _zero_totals())["refunds_owed"] += refund.amount
        return {
            currency: {k: str(v.quantize(CENT)) for k, v in bucket.items()}
            for currency, bucket in sorted(sums.items())
        }

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "contract": self.contract,
            "as_of": self.as_of.isoformat(),
            "launch_date": self.launch_date.isoformat() if self.launch_date else None,
            "clauses": [c.to_json() for c in self.clauses],
            "settlement": {
                "lines": [line.to_json() for line in self.lines],
                "refunds": [r.to_json() for r in self.refunds],
                "totals": self.totals(),
                "settlement_currency": self.settlement_currency,
                "converted_totals": self.converted_totals(),
            },
        }
        if self.remediation is not None:
            body["remediation"] = [p.to_json() for p in self.remediation]
        body["statement_hash"] = statement_hash(body)
        return body


# Statuses whose amounts are money owed (now, later, or once a milestone is met).
_COUNTED = (LineStatus.DUE, LineStatus.NOT_YET_DUE, LineStatus.PENDING_MILESTONE)


def _zero_totals() -> dict[str, Decimal]:
    return {
        "due": Decimal(0),
        "not_yet_due": Decimal(0),
        "pending_milestone": Decimal(0),
        "refunds_owed": Decimal(0),
    }


def statement_hash(body: Mapping[str, Any]) -> str:
    """sha256 of the statement's canonical JSON, without the hash itself."""
    content = {k: v for k, v in body.items() if k != "statement_hash"}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def evaluate(
    contract: Contract,
    *,
    launch: dt.date | None,
    as_of: dt.date,
    values: Mapping[str, Sequence[WindowValue]],
    definitions: Mapping[str, str],
    rates: SettlementRates,
) -> Statement:
    """The statement; ``values`` answers :func:`plan`'s requests by key, ``definitions``
    gives each KPI clause's locked definition hash, ``rates`` the settlement currency and
    the rates to convert to it (:class:`SettlementRateMissing` when one is missing)."""
    requests = {r.key: r for r in plan(contract, launch, as_of)}
    clauses: list[ClauseResult] = []
    for milestone in contract.milestones:
        key = f"milestone:{milestone.id}"
        result = _milestone(
            contract, milestone, launch, as_of, values.get(key, ()), definitions, requests[key]
        )
        clauses.append(_with_fake_orders(result, milestone.target))
    plans = _remediation(contract, as_of, values)
    for exit_clause in contract.exits:
        key = f"exit:{exit_clause.id}"
        result = _exit(
            contract, exit_clause, as_of, values.get(key, ()), definitions, requests[key]
        )
        target = contract.clause(exit_clause.kpi).target
        assert target is not None  # an exit clause's KPI clause has one (parse_contract)
        clauses.append(_with_fake_orders(_after_cure(result, plans or ()), target))
    lines = [
        _converted_line(line, rates, as_of) for line in _fee_lines(contract, as_of, clauses, values)
    ]
    refunds = tuple(
        dataclasses.replace(
            refund,
            converted=rates.convert(
                refund.amount,
                refund.currency,
                refund.owed_from,
                as_of,
                f"refund of exit clause {refund.exit!r}",
            ),
        )
        for refund in _refunds(contract, clauses, lines)
    )
    return Statement(
        contract.number,
        as_of,
        launch,
        tuple(clauses),
        tuple(lines),
        refunds,
        plans,
        rates.currency,
    )


def _converted_line(line: StatementLine, rates: SettlementRates, as_of: dt.date) -> StatementLine:
    """``line`` with its amount in the settlement currency, where it is money owed."""
    if line.amount is None or line.status not in _COUNTED:
        return line
    when = line.due_date.isoformat() if line.due_date else "when its milestone is met"
    what = f"fee {line.fee!r} ({line.amount} {line.currency} due {when})"
    converted = rates.convert(line.amount, line.currency, line.due_date, as_of, what)
    return dataclasses.replace(line, converted=converted)


def _remediation(
    contract: Contract, as_of: dt.date, values: Mapping[str, Sequence[WindowValue]]
) -> tuple[PlanState, ...] | None:
    if contract.remediation is None:
        return None
    plans: list[PlanState] = []
    for clause in remediated_clauses(contract):
        assert clause.target is not None
        plans.extend(
            remediation_plans(
                clause.id,
                clause.target,
                values.get(f"remediation:{clause.id}", ()),
                cure_days=contract.remediation.cure_days,
                actions=contract.remediation.actions,
                as_of=as_of,
            )
        )
    return tuple(sorted(plans, key=lambda p: (p.opened_on, p.clause)))


def _after_cure(result: ClauseResult, plans: Sequence[PlanState]) -> ClauseResult:
    """An exit clause also opens when a remediation plan on its KPI clause lapsed."""
    lapsed = [p for p in plans if p.clause == result.kpi_clause and p.status is PlanStatus.LAPSED]
    if not lapsed:
        return result
    plan = lapsed[0]
    opens = plan.exit_exercisable_from
    assert opens is not None
    if result.outcome is Outcome.MET and result.met_on is not None and result.met_on <= opens:
        return result
    evidence = (plan.missed, *plan.checked)
    return dataclasses.replace(
        result,
        outcome=Outcome.MET,
        met_on=opens,
        explanation_en=(
            f"exercisable: the KPI missed in {plan.missed.window.start.isoformat()}.."
            f"{plan.missed.window.last_day.isoformat()}, the remediation plan's cure period "
            f"ended {plan.deadline.isoformat()} with the KPI still missed; the seller may "
            f"terminate from {opens.isoformat()}"
        ),
        explanation_zh=(
            f"可行使：{plan.missed.window.start.isoformat()}..{plan.missed.window.last_day.isoformat()}"
            f" 未达成，整改期至 {plan.deadline.isoformat()} 届满仍未达成；卖家自 "
            f"{opens.isoformat()} 起可解约"
        ),
        evidence=evidence,
    )


def _policy(request: SeriesRequest) -> dict[str, bool]:
    return {
        "manual_data_counts": request.accept_manual,
        "flagged_data_counts": request.accept_flagged,
        "confirmed_fake_orders_count": request.accept_confirmed_orders,
    }


def _with_fake_orders(result: ClauseResult, target: Target) -> ClauseResult:
    """``result`` naming the confirmed fake orders its evidence left out, if any."""
    windows = tuple(w for w in result.evidence if w.confirmed_orders)
    if not windows:
        return result
    return dataclasses.replace(
        result, fake_orders=ClauseFakeOrders(result.kind, result.kpi, target, windows)
    )


def _milestone(
    contract: Contract,
    milestone: Milestone,
    launch: dt.date | None,
    as_of: dt.date,
    series: Sequence[WindowValue],
    definitions: Mapping[str, str],
    request: SeriesRequest,
) -> ClauseResult:
    clause = contract.clause(milestone.kpi)
    target = milestone.target
    condition = (
        f"{clause.kpi} {target.comparator.value} {target.value:g} over "
        f"{milestone.consecutive_days} consecutive days within "
        f"{milestone.within_days_of_launch} days of launch"
    )
    condition_zh = (
        f"上线后 {milestone.within_days_of_launch} 天内连续 {milestone.consecutive_days} 天 "
        f"{clause.kpi} {target.comparator.value} {target.value:g}"
    )

    def result(
        outcome: Outcome, met_on: dt.date | None, en: str, zh: str, evidence: Sequence[WindowValue]
    ) -> ClauseResult:
        return ClauseResult(
            "milestone",
            milestone.id,
            clause.id,
            clause.kpi,
            definitions.get(clause.id, ""),
            outcome,
            met_on,
            f"{condition}: {en}",
            f"{condition_zh}：{zh}",
            tuple(evidence),
            _policy(request),
        )

    if launch is None:
        return result(
            Outcome.PENDING, None, "the store has no launch date yet", "店铺尚无上线日期", []
        )
    ordered = sorted(series, key=lambda w: w.window.end)
    for i, window in enumerate(ordered):
        if meets(target, window.value):
            before = [ordered[i - 1]] if i else []
            return result(
                Outcome.MET,
                window.window.last_day,
                f"met on {window.window.last_day.isoformat()}",
                f"已于 {window.window.last_day.isoformat()} 达成",
                [*before, window],
            )
    deadline = launch + dt.timedelta(days=milestone.within_days_of_launch - 1)
    best = _best(ordered, target)
    evidence = [w for w in (best, ordered[-1] if ordered else None) if w is not None]
    if len(evidence) == 2 and evidence[0].window == evidence[1].window:
        evidence = evidence[:1]
    if as_of >= deadline:
        return result(
            Outcome.NOT_MET,
            None,
            f"not met by the deadline {deadline.isoformat()}",
            f"截至 {deadline.isoformat()} 未达成",
            evidence,
        )
    return result(
        Outcome.PENDING,
        None,
        f"not met yet; the deadline is {deadline.isoformat()}",
        f"尚未达成；截止日 {deadline.isoformat()}",
        evidence,
    )


def _best(series: Sequence[WindowValue], target: Target) -> WindowValue | None:
    defined = [w for w in series if w.value is not None]
    if not defined:
        return None
    lower = target.comparator.lower_is_better
    return (min if lower else max)(defined, key=lambda w: w.value or 0.0)


def _exit(
    contract: Contract,
    exit_clause: ExitClause,
    as_of: dt.date,
    series: Sequence[WindowValue],
    definitions: Mapping[str, str],
    request: SeriesRequest,
) -> ClauseResult:
    clause = contract.clause(exit_clause.kpi)
    assert clause.target is not None and clause.period is not None
    target = clause.target
    condition = (
        f"{clause.kpi} {target.comparator.value} {target.value:g} per {clause.period.value} "
        f"missed in {exit_clause.consecutive_misses} consecutive periods"
    )
    condition_zh = (
        f"{clause.kpi} {target.comparator.value} {target.value:g}（按{_PERIOD_ZH[clause.period]}）"
        f"连续 {exit_clause.consecutive_misses} 期未达成"
    )
    ordered = sorted(series, key=lambda w: w.window.start)
    run: list[WindowValue] = []
    outcome, opens_on = Outcome.PENDING, None
    for window in ordered:
        # A period without a defined value (no data) neither counts as a miss nor as a hit:
        # it breaks the run, so a termination right always rests on measured misses.
        if window.value is not None and not meets(target, window.value):
            run.append(window)
        else:
            run = []
        if len(run) == exit_clause.consecutive_misses:
            outcome, opens_on = Outcome.MET, window.window.end
            break
    if outcome is Outcome.MET:
        assert opens_on is not None
        en = f"triggered: the seller may terminate from {opens_on.isoformat()}"
        zh = f"已触发：卖家自 {opens_on.isoformat()} 起可解约"
        evidence = run
    else:
        evidence = ordered[-exit_clause.consecutive_misses :]
        if as_of + dt.timedelta(days=1) >= contract.term.end:
            outcome = Outcome.NOT_MET
            en, zh = "not triggered during the term", "合同期内未触发"
        else:
            en = f"not triggered so far ({len(run)} consecutive miss(es) now)"
            zh = f"目前未触发（当前连续未达成 {len(run)} 期）"
    return ClauseResult(
        "exit",
        exit_clause.id,
        clause.id,
        clause.kpi,
        definitions.get(clause.id, ""),
        outcome,
        opens_on,
        f"{condition}: {en}",
        f"{condition_zh}：{zh}",
        tuple(evidence),
        _policy(request),
    )


_PERIOD_ZH = {PeriodUnit.WEEK: "周", PeriodUnit.MONTH: "月", PeriodUnit.QUARTER: "季度"}


def _fee_lines(
    contract: Contract,
    as_of: dt.date,
    clauses: Sequence[ClauseResult],
    values: Mapping[str, Sequence[WindowValue]],
) -> list[StatementLine]:
    lines: list[StatementLine] = []
    milestones = {c.id: c for c in clauses if c.kind == "milestone"}
    release = {m.releases: m.id for m in contract.milestones if m.releases}

    def dated(fee: Fee, amount: Decimal | None, due: dt.date, basis: str) -> StatementLine:
        status = LineStatus.DUE if due <= as_of else LineStatus.NOT_YET_DUE
        if amount is None:
            status = LineStatus.UNPRICED
        return StatementLine(
            fee.id, fee.name, fee.type.value, status, amount, fee.currency, due, basis
        )

    for fee in contract.fees:
        match fee.type:
            case FeeType.FIXED:
                due = fee.due_date or contract.term.start
                basis = "at signing" if fee.due_date is None else f"due {due.isoformat()}"
                lines.append(dated(fee, fee.amount, due, _basis(fee, basis)))
            case FeeType.MONTHLY:
                for k in range(contract.term.months):
                    month_start = add_months(contract.term.start, k)
                    due = (
                        month_start
                        if fee.due_day_of_month is None
                        else _on_or_after_day(month_start, fee.due_day_of_month)
                    )
                    basis = f"service month {k + 1} from {month_start.isoformat()}"
                    lines.append(dated(fee, fee.amount, due, _basis(fee, basis)))
            case FeeType.MILESTONE:
                result = milestones[release[fee.id]]
                status = {
                    Outcome.MET: LineStatus.DUE,
                    Outcome.NOT_MET: LineStatus.NOT_EARNED,
                    Outcome.PENDING: LineStatus.PENDING_MILESTONE,
                }[result.outcome]
                if fee.amount is None:
                    status = LineStatus.UNPRICED
                lines.append(
                    StatementLine(
                        fee.id,
                        fee.name,
                        fee.type.value,
                        status,
                        fee.amount,
                        fee.currency,
                        result.met_on,
                        _basis(fee, f"released by milestone {result.id} ({result.outcome.value})"),
                    )
                )
            case FeeType.PERCENT_OF_KPI:
                assert fee.rate is not None
                for window in sorted(values.get(f"fee:{fee.id}", ()), key=lambda w: w.window.start):
                    amount = _share(fee.rate, window.value)
                    shown = "no value" if window.value is None else f"{window.value:.2f}"
                    basis = (
                        f"{fee.rate} × {fee.kpi} {window.window.start.isoformat()}"
                        f"..{window.window.last_day.isoformat()} = {fee.rate} × {shown}"
                    )
                    fake = None
                    if window.confirmed_orders:
                        with_them = _share(fee.rate, window.value_with_confirmed)
                        fake = FakeOrderExclusion(
                            window.confirmed_orders,
                            window.value,
                            window.value_with_confirmed,
                            with_them,
                            with_them - amount,
                        )
                        basis += (
                            f" (confirmed fake orders left out: {with_them - amount} "
                            f"{fee.currency} less)"
                        )
                    line = dated(fee, amount, window.window.end, _basis(fee, basis))
                    lines.append(dataclasses.replace(line, kpi_value=window, fake_orders=fake))
    return lines


def _share(rate: Decimal, value: float | None) -> Decimal:
    """A percent_of_kpi fee on a KPI value (none without a value), to the cent."""
    if value is None:
        return Decimal(0)
    return (rate * Decimal(repr(value))).quantize(CENT, ROUND_HALF_UP)


def _basis(fee: Fee, text: str) -> str:
    return f"{text}; written as {fee.unpriced!r}, not a price" if fee.unpriced else text


def _on_or_after_day(start: dt.date, day_of_month: int) -> dt.date:
    if start.day <= day_of_month:
        return start.replace(day=day_of_month)
    return add_months(start.replace(day=1), 1).replace(day=day_of_month)


def _refunds(
    contract: Contract, clauses: Sequence[ClauseResult], lines: Sequence[StatementLine]
) -> tuple[RefundLine, ...]:
    refunds: list[RefundLine] = []
    for exit_clause in contract.exits:
        result = next(c for c in clauses if c.kind == "exit" and c.id == exit_clause.id)
        if result.outcome is not Outcome.MET or result.met_on is None:
            continue
        refund = exit_clause.refund
        if refund.amount is not None and refund.currency is not None:
            refunds.append(
                RefundLine(
                    exit_clause.id, refund.amount, refund.currency, result.met_on, "stated amount"
                )
            )
            continue
        assert refund.percent is not None
        by_currency: dict[str, Decimal] = {}
        for line in lines:
            if (
                line.fee in refund.of_fees
                and line.amount is not None
                and line.due_date is not None
                and line.due_date < result.met_on
                and line.status is LineStatus.DUE
            ):
                by_currency[line.currency] = (
                    by_currency.get(line.currency, Decimal(0)) + line.amount
                )
        for currency, paid in sorted(by_currency.items()):
            amount = (paid * refund.percent / 100).quantize(CENT, ROUND_HALF_UP)
            refunds.append(
                RefundLine(
                    exit_clause.id,
                    amount,
                    currency,
                    result.met_on,
                    f"{refund.percent}% of {', '.join(refund.of_fees)} due before "
                    f"{result.met_on.isoformat()} ({paid} {currency})",
                )
            )
    return tuple(refunds)
