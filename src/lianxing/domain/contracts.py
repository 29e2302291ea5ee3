"""Service contracts between a seller and an agency: the model and its validation (pure).

A contract is read from a mapping (parsed YAML or the stored JSON) by :func:`parse_contract`,
which reports *every* structural problem at once, each with its path in the document
(``kpis[0].target.value``) so the caller can add the file and line. Semantic risks (an
unknown KPI, a missing exit clause, fees that are not priced, ...) are not errors here: the
risk audit (``lianxing.domain.contract_audit``) reports them, because a contract a seller is
asked to sign may well contain them.

Vocabulary (see docs/contracts.md):

* a **KPI clause** names a catalog KPI, the options that override its defaults, where its
  data comes from (``platform`` reports/APIs or typed in by hand: ``manual``), the period
  it is measured over and its target;
* a **fee** is ``fixed`` (once, at signing or on a date), ``monthly`` (each month of the
  term), ``milestone`` (released when a milestone is met) or ``percent_of_kpi`` (a rate
  times a KPI clause's value per period), each in its own currency; the statement converts
  them all to the **settlement currency** (``settlement_currency``; when not stated, the
  reporting currency of the KPI clauses, resolved with the locked definitions at evaluation);
* a **milestone** is a KPI condition over N consecutive days, to be met within M days of
  launch; it releases a fee;
* an **exit** clause lets the seller terminate when a KPI clause misses its target in N
  consecutive periods, with a stated refund;
* **remediation** (整改计划): when a KPI clause with a period misses its target, a plan with
  the listed actions and owners opens; if the cure period lapses with the KPI still missed,
  the exit clauses on that KPI become exercisable (``lianxing.domain.remediation``);
* **liability** (违约责任), **dispute_resolution** (争议解决) and the **cases** the proposal
  cites are read here and judged by the risk audit.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from lianxing.domain.targets import Comparator, TargetError, parse_comparator


class Package(StrEnum):
    OPEN_ONLY = "open_only"
    OPEN_PLUS_COACHING = "open_plus_coaching"
    FULL_MANAGED = "full_managed"


class FeeType(StrEnum):
    FIXED = "fixed"
    MONTHLY = "monthly"
    MILESTONE = "milestone"
    PERCENT_OF_KPI = "percent_of_kpi"


class DataSource(StrEnum):
    PLATFORM = "platform"
    MANUAL = "manual"


class Severity(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class PeriodUnit(StrEnum):
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"


SEVERITY_LEVELS = tuple(Severity)  # ticket severities, most urgent first
PARTY_ROLES = ("seller", "agency")


@dataclass(frozen=True, slots=True)
class Problem:
    """A structural problem at ``path`` (``fees[1].amount``); the caller adds file and line."""

    path: str
    message: str


class ContractInputError(ValueError):
    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in problems))
        self.problems = list(problems)


# ---------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Party:
    name: str
    registration_number: str | None


@dataclass(frozen=True, slots=True)
class StoreRef:
    """A store the contract covers: a workspace store id, or a description before it exists."""

    store_id: int | None
    platform: str | None = None
    site: str | None = None
    new: bool = True  # opened under this contract (cold start) unless stated otherwise


@dataclass(frozen=True, slots=True)
class Target:
    comparator: Comparator
    value: float


@dataclass(frozen=True, slots=True)
class KpiClause:
    id: str
    kpi: str  # catalog KPI id
    options: Mapping[str, str | bool]
    source: DataSource
    period: PeriodUnit | None  # calendar period it is judged over (exit clauses, fees)
    target: Target | None
    from_day: int  # the target applies from this day after launch (1 = launch day)


@dataclass(frozen=True, slots=True)
class Fee:
    id: str
    name: str
    type: FeeType
    amount: Decimal | None  # fixed, monthly, milestone
    rate: Decimal | None  # percent_of_kpi, as a fraction (0.03 = 3 %)
    currency: str
    due_date: dt.date | None  # fixed: a date (None: at signing = term start)
    due_day_of_month: int | None  # monthly: the day it falls due (None: each service month's start)
    kpi: str | None  # percent_of_kpi: the KPI clause id
    unpriced: str | None = None  # the text written instead of a price ("按实际", "TBD", missing)


@dataclass(frozen=True, slots=True)
class Milestone:
    id: str
    kpi: str  # KPI clause id
    target: Target  # defaults to the clause's target
    consecutive_days: int
    within_days_of_launch: int
    releases: str | None  # fee id
    accept_manual_data: bool
    accept_flagged_data: bool
    # Orders the integrity review *confirmed* as fake are left out unless this is true.
    accept_confirmed_flagged_orders: bool = False


@dataclass(frozen=True, slots=True)
class Refund:
    amount: Decimal | None
    currency: str | None
    percent: Decimal | None  # of the fees in ``of_fees`` due up to the exit
    of_fees: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ExitClause:
    id: str
    kpi: str  # KPI clause id (its period and target are used)
    consecutive_misses: int
    refund: Refund


@dataclass(frozen=True, slots=True)
class SlaTerms:
    first_response_hours: float
    resolution_hours: float


@dataclass(frozen=True, slots=True)
class Exclusivity:
    scope: str
    months: int


@dataclass(frozen=True, slots=True)
class DisputeResolution:
    method: str | None  # arbitration | litigation | negotiation (None: free text only)
    venue: str | None  # the arbitration commission or court
    text: str | None


@dataclass(frozen=True, slots=True)
class CaseRef:
    """A case study the proposal cites: a Lianxing case study id, or a description only."""

    case_id: int | None
    text: str | None


@dataclass(frozen=True, slots=True)
class RemediationAction:
    action: str
    owner: str  # agency | seller | a named person or role
    due_days: int | None  # days after the plan opens (None: by the cure deadline)


@dataclass(frozen=True, slots=True)
class Remediation:
    cure_days: int  # the deadline is the plan's opening day + cure_days
    actions: tuple[RemediationAction, ...]


DISPUTE_METHODS = ("arbitration", "litigation", "negotiation")
# The longest period of each unit minus one: the least cure time in which one whole period
# after the miss can be measured (a plan opens on the first day of the next period).
MIN_CURE_DAYS = {"week": 6, "month": 30, "quarter": 91}


@dataclass(frozen=True, slots=True)
class Term:
    start: dt.date
    months: int
    launch_date: dt.date | None  # when the stores are expected live; the stores' own date wins

    @property
    def end(self) -> dt.date:
        """The day after the term's last day."""
        return add_months(self.start, self.months)


@dataclass(frozen=True, slots=True)
class Contract:
    number: str
    title: str
    seller: Party
    agency: Party
    stores: tuple[StoreRef, ...]
    package: Package
    term: Term
    kpis: tuple[KpiClause, ...]
    fees: tuple[Fee, ...]
    milestones: tuple[Milestone, ...]
    sla: Mapping[Severity, SlaTerms]  # empty: no SLA stated
    exits: tuple[ExitClause, ...]
    data_ownership: str | None
    accounts_held_by: str | None
    exclusivity: Exclusivity | None
    clauses_text: str
    document: Mapping[str, Any] = field(repr=False, default_factory=dict)
    liability: str | None = None
    dispute_resolution: DisputeResolution | None = None
    cases: tuple[CaseRef, ...] = ()
    remediation: Remediation | None = None
    settlement_currency: str | None = None  # None: the KPIs' reporting currency (see above)

    def clause(self, clause_id: str) -> KpiClause:
        return next(k for k in self.kpis if k.id == clause_id)

    def fee(self, fee_id: str) -> Fee:
        return next(f for f in self.fees if f.id == fee_id)


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by whole months, clamped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last))


# ---------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------

TOP_KEYS = (
    "number",
    "title",
    "parties",
    "stores",
    "package",
    "term",
    "kpis",
    "fees",
    "milestones",
    "sla",
    "exit",
    "data_ownership",
    "accounts_held_by",
    "exclusivity",
    "clauses_text",
    "liability",
    "dispute_resolution",
    "cases",
    "remediation",
    "settlement_currency",
)
_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_NUMBER = re.compile(r"^\s*-?[\d,]+(?:\.\d+)?\s*$")
_PERCENT = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*%\s*$")


class _Reader:
    """Collects every problem instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def mapping(self, value: object, path: str, keys: Sequence[str]) -> dict[str, Any] | None:
        if not isinstance(value, Mapping):
            self.problem(path, f"expected a mapping with keys {', '.join(keys)}")
            return None
        for key in value:
            if key not in keys:
                self.problem(
                    _join(path, str(key)), f"unknown key {key!r}; expected one of {', '.join(keys)}"
                )
        return {str(k): v for k, v in value.items()}

    def listing(self, value: object, path: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(path, "expected a list")
            return []
        return value

    def text(self, value: object, path: str, *, required: bool = True) -> str | None:
        if value is None:
            if required:
                self.problem(path, "missing; expected text")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.problem(path, f"{value!r} is not text")
            return None
        text = str(value).strip()
        if required and not text:
            self.problem(path, "is empty; expected text")
            return None
        return text or None

    def identifier(self, value: object, path: str) -> str | None:
        text = self.text(value, path)
        if text is not None and not _ID.match(text):
            self.problem(
                path, f"{text!r} is not an id (letters, digits, _ . -; starting with a letter)"
            )
            return None
        return text

    def integer(
        self, value: object, path: str, *, minimum: int, default: int | None = None
    ) -> int | None:
        if value is None:
            if default is None:
                self.problem(path, f"missing; expected a whole number ≥ {minimum}")
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.problem(path, f"{value!r} is not a whole number ≥ {minimum}")
            return None
        return value

    def number(self, value: object, path: str, *, allow_percent: bool = False) -> float | None:
        if isinstance(value, str) and allow_percent and (match := _PERCENT.match(value)):
            return float(match.group(1)) / 100
        if isinstance(value, bool) or not isinstance(value, int | float):
            expected = "a number (or a percentage such as '15%')" if allow_percent else "a number"
            self.problem(path, f"{value!r} is not {expected}")
            return None
        return float(value)

    def money(self, value: object, path: str) -> Decimal | None:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            self.problem(path, f"{value!r} is not an amount; expected a number such as 3000")
            return None
        try:
            amount = Decimal(str(value).replace(",", "").strip())
        except InvalidOperation:
            self.problem(path, f"{value!r} is not an amount; expected a number such as 3000")
            return None
        if not amount.is_finite() or amount < 0:
            self.problem(path, f"{value!r} is not an amount ≥ 0")
            return None
        return amount

    def rate(self, value: object, path: str) -> Decimal | None:
        if isinstance(value, str) and (match := _PERCENT.match(value)):
            return Decimal(match.group(1)) / 100
        amount = self.money(value, path)
        if amount is not None and amount > 1:
            self.problem(
                path, f"{value!r} is above 1; write a fraction (0.03) or a percentage ('3%')"
            )
            return None
        return amount

    def date(self, value: object, path: str) -> dt.date | None:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
        self.problem(path, f"{value!r} is not a date; expected YYYY-MM-DD")
        return None

    def choice(self, enum: type[Any], value: object, path: str) -> Any:
        try:
            return enum(value)
        except ValueError:
            self.problem(
                path,
                f"{value!r} is not allowed; expected one of {', '.join(e.value for e in enum)}",
            )
            return None

    def boolean(self, value: object, path: str, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.problem(path, f"{value!r} is not true or false")
            return default
        return value

    def currency(self, value: object, path: str) -> str | None:
        text = self.text(value, path)
        if text is not None and not _CURRENCY.match(text):
            self.problem(
                path, f"{text!r} is not a currency code; expected three capitals such as CNY"
            )
            return None
        return text

    def target(self, value: object, path: str) -> Target | None:
        body = self.mapping(value, path, ("comparator", "value"))
        if body is None:
            return None
        comparator = None
        try:
            comparator = parse_comparator(str(body.get("comparator", ">=")))
        except TargetError as exc:
            self.problem(_join(path, "comparator"), str(exc))
        number = self.number(body.get("value"), _join(path, "value"), allow_percent=True)
        if comparator is None or number is None:
            return None
        return Target(comparator, number)


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def parse_contract(document: object) -> Contract:
    """The contract in ``document``, or :class:`ContractInputError` listing every problem."""
    r = _Reader()
    top = r.mapping(document, "", TOP_KEYS)
    if top is None:
        raise ContractInputError(r.problems)
    number = r.text(top.get("number"), "number")
    title = r.text(top.get("title"), "title", required=False) or ""
    seller, agency = _parties(r, top.get("parties"))
    stores = _stores(r, top.get("stores"))
    package = r.choice(Package, top.get("package"), "package")
    term = _term(r, top.get("term"))
    kpis = _kpis(r, top.get("kpis"))
    fees = _fees(r, top.get("fees"))
    milestones = _milestones(r, top.get("milestones"), kpis)
    sla = _sla(r, top.get("sla"))
    exits = _exits(r, top.get("exit"))
    exclusivity = None
    if top.get("exclusivity") is not None:
        body = r.mapping(top["exclusivity"], "exclusivity", ("scope", "months"))
        if body is not None:
            scope = r.text(body.get("scope"), "exclusivity.scope")
            months = r.integer(body.get("months"), "exclusivity.months", minimum=0)
            if scope is not None and months is not None:
                exclusivity = Exclusivity(scope, months)
    data_ownership = r.text(top.get("data_ownership"), "data_ownership", required=False)
    accounts_held_by = r.text(top.get("accounts_held_by"), "accounts_held_by", required=False)
    clauses_text = r.text(top.get("clauses_text"), "clauses_text", required=False) or ""
    liability = r.text(top.get("liability"), "liability", required=False)
    dispute = _dispute(r, top.get("dispute_resolution"))
    cases = _cases(r, top.get("cases"))
    remediation = _remediation(r, top.get("remediation"), kpis)
    settlement_currency = (
        r.currency(top["settlement_currency"], "settlement_currency")
        if top.get("settlement_currency") is not None
        else None
    )
    _check_references(r, kpis, fees, milestones, exits)
    if r.problems:
        raise ContractInputError(r.problems)
    assert number and seller and agency and package and term
    return Contract(
        number=number,
        title=title,
        seller=seller,
        agency=agency,
        stores=tuple(stores),
        package=package,
        term=term,
        kpis=tuple(kpis),
        fees=tuple(fees),
        milestones=tuple(milestones),
        sla=sla,
        exits=tuple(exits),
        data_ownership=data_ownership,
        accounts_held_by=accounts_held_by,
        exclusivity=exclusivity,
        clauses_text=clauses_text,
        document=dict(top),
        liability=liability,
        dispute_resolution=dispute,
        cases=tuple(cases),
        remediation=remediation,
        settlement_currency=settlement_currency,
    )


def _dispute(r: _Reader, value: object) -> DisputeResolution | None:
    if value is None:
        return None
    if isinstance(value, str):
        text = r.text(value, "dispute_resolution", required=False)
        return DisputeResolution(None, None, text) if text else None
    body = r.mapping(value, "dispute_resolution", ("method", "venue", "text"))
    if body is None:
        return None
    method = r.text(body.get("method"), "dispute_resolution.method")
    if method is not None and method not in DISPUTE_METHODS:
        r.problem(
            "dispute_resolution.method",
            f"{method!r} is not allowed; expected one of {', '.join(DISPUTE_METHODS)}",
        )
        return None
    venue = r.text(body.get("venue"), "dispute_resolution.venue", required=method != "negotiation")
    text = r.text(body.get("text"), "dispute_resolution.text", required=False)
    return DisputeResolution(method, venue, text) if method else None


def _cases(r: _Reader, value: object) -> list[CaseRef]:
    cases: list[CaseRef] = []
    for i, item in enumerate(r.listing(value, "cases")):
        path = f"cases[{i}]"
        if isinstance(item, int) and not isinstance(item, bool):
            if item < 1:
                r.problem(path, f"{item} is not a case study id (a whole number ≥ 1)")
            else:
                cases.append(CaseRef(item, None))
            continue
        if isinstance(item, str):
            text = r.text(item, path)
            if text:
                cases.append(CaseRef(None, text))
            continue
        body = r.mapping(item, path, ("id", "text"))
        if body is None:
            continue
        case_id = r.integer(body["id"], f"{path}.id", minimum=1) if "id" in body else None
        text = r.text(body.get("text"), f"{path}.text", required=case_id is None)
        if case_id is not None or text:
            cases.append(CaseRef(case_id, text))
    return cases


def _remediation(r: _Reader, value: object, kpis: Sequence[KpiClause]) -> Remediation | None:
    if value is None:
        return None
    body = r.mapping(value, "remediation", ("cure_days", "actions"))
    if body is None:
        return None
    cure_days = r.integer(body.get("cure_days"), "remediation.cure_days", minimum=1)
    actions: list[RemediationAction] = []
    for i, item in enumerate(r.listing(body.get("actions"), "remediation.actions")):
        path = f"remediation.actions[{i}]"
        action = r.mapping(item, path, ("action", "owner", "due_days"))
        if action is None:
            continue
        what = r.text(action.get("action"), f"{path}.action")
        owner = r.text(action.get("owner"), f"{path}.owner")
        due = (
            r.integer(action["due_days"], f"{path}.due_days", minimum=1)
            if action.get("due_days") is not None
            else None
        )
        if due is not None and cure_days is not None and due > cure_days:
            r.problem(f"{path}.due_days", f"{due} is after the cure period of {cure_days} days")
        if what and owner:
            actions.append(RemediationAction(what, owner, due))
    if not actions and "actions" in body and isinstance(body.get("actions"), list):
        r.problem("remediation.actions", "empty; list at least one action with its owner")
    elif "actions" not in body:
        r.problem("remediation.actions", "missing; list the actions with their owners")
    if cure_days is None:
        return None
    for clause in kpis:
        if clause.period is None or clause.target is None:
            continue
        least = MIN_CURE_DAYS[clause.period.value]
        if cure_days < least:
            r.problem(
                "remediation.cure_days",
                f"{cure_days} days cannot hold one whole {clause.period.value} after a miss of "
                f"KPI clause {clause.id!r}; expected at least {least}",
            )
            return None
    return Remediation(cure_days, tuple(actions)) if actions else None


def _parties(r: _Reader, value: object) -> tuple[Party | None, Party | None]:
    body = r.mapping(value, "parties", PARTY_ROLES)
    if body is None:
        return None, None
    found: list[Party | None] = []
    for role in PARTY_ROLES:
        path = f"parties.{role}"
        party = r.mapping(body.get(role), path, ("name", "registration_number"))
        if party is None:
            found.append(None)
            continue
        name = r.text(party.get("name"), f"{path}.name")
        # A missing or malformed agency credit code is a risk the audit reports
        # (parties.agency_unverified), not a format error.
        number = r.text(
            party.get("registration_number"), f"{path}.registration_number", required=False
        )
        found.append(Party(name, number) if name else None)
    return found[0], found[1]


def _stores(r: _Reader, value: object) -> list[StoreRef]:
    stores: list[StoreRef] = []
    for i, item in enumerate(r.listing(value, "stores")):
        path = f"stores[{i}]"
        if isinstance(item, int) and not isinstance(item, bool):
            stores.append(StoreRef(item))
            continue
        body = r.mapping(item, path, ("id", "platform", "site", "new"))
        if body is None:
            continue
        store_id = r.integer(body["id"], f"{path}.id", minimum=1) if "id" in body else None
        platform = r.text(body.get("platform"), f"{path}.platform", required=store_id is None)
        site = r.text(body.get("site"), f"{path}.site", required=store_id is None)
        stores.append(
            StoreRef(store_id, platform, site, r.boolean(body.get("new"), f"{path}.new", True))
        )
    return stores


def _term(r: _Reader, value: object) -> Term | None:
    body = r.mapping(value, "term", ("start", "months", "launch_date"))
    if body is None:
        return None
    start = r.date(body.get("start"), "term.start")
    months = r.integer(body.get("months"), "term.months", minimum=1)
    launch = r.date(body["launch_date"], "term.launch_date") if body.get("launch_date") else None
    if start is None or months is None:
        return None
    return Term(start, months, launch)


_KPI_KEYS = ("id", "kpi", "options", "source", "period", "target", "from_day")


def _kpis(r: _Reader, value: object) -> list[KpiClause]:
    clauses: list[KpiClause] = []
    for i, item in enumerate(r.listing(value, "kpis")):
        path = f"kpis[{i}]"
        body = r.mapping(item, path, _KPI_KEYS)
        if body is None:
            continue
        kpi = r.text(body.get("kpi"), f"{path}.kpi")
        clause_id = r.identifier(body.get("id", kpi), f"{path}.id")
        options: dict[str, str | bool] = {}
        raw_options = body.get("options") or {}
        if not isinstance(raw_options, Mapping):
            r.problem(f"{path}.options", "expected a mapping of option name to value")
        else:
            for name, option in raw_options.items():
                if isinstance(option, bool | str):
                    options[str(name)] = option
                else:
                    r.problem(f"{path}.options.{name}", f"{option!r} is not text or true/false")
        source = r.choice(DataSource, body.get("source", "platform"), f"{path}.source")
        period = (
            r.choice(PeriodUnit, body["period"], f"{path}.period") if "period" in body else None
        )
        target = r.target(body["target"], f"{path}.target") if "target" in body else None
        from_day = r.integer(body.get("from_day"), f"{path}.from_day", minimum=1, default=1)
        if kpi and clause_id and source and from_day:
            clauses.append(KpiClause(clause_id, kpi, options, source, period, target, from_day))
    _unique(r, [c.id for c in clauses], "kpis")
    return clauses


_FEE_KEYS = ("id", "name", "type", "amount", "rate", "currency", "due", "kpi")


def _fees(r: _Reader, value: object) -> list[Fee]:
    fees: list[Fee] = []
    for i, item in enumerate(r.listing(value, "fees")):
        path = f"fees[{i}]"
        body = r.mapping(item, path, _FEE_KEYS)
        if body is None:
            continue
        fee_id = r.identifier(body.get("id"), f"{path}.id")
        name = r.text(body.get("name"), f"{path}.name")
        fee_type = r.choice(FeeType, body.get("type"), f"{path}.type")
        currency = r.currency(body.get("currency"), f"{path}.currency")
        amount = rate = None
        unpriced: str | None = None
        due_date, kpi = None, None
        day_of_month: int | None = None
        due = body.get("due")
        if fee_type is FeeType.PERCENT_OF_KPI:
            rate = r.rate(body.get("rate"), f"{path}.rate")
            kpi = r.identifier(body.get("kpi"), f"{path}.kpi")
        elif fee_type is not None:
            raw_amount = body.get("amount")
            if raw_amount is None or (
                isinstance(raw_amount, str) and not _NUMBER.match(raw_amount)
            ):
                # "按实际收取" is not a format error: it is a risk the audit reports.
                unpriced = str(raw_amount) if raw_amount is not None else "(no amount)"
            else:
                amount = r.money(raw_amount, f"{path}.amount")
        if fee_type is FeeType.FIXED and due not in (None, "signing"):
            due_date = r.date(due, f"{path}.due")
        elif fee_type is FeeType.MONTHLY and due is not None:
            due_body = r.mapping(due, f"{path}.due", ("day_of_month",))
            if due_body is not None:
                day_of_month = r.integer(
                    due_body.get("day_of_month"), f"{path}.due.day_of_month", minimum=1
                )
                if day_of_month is not None and day_of_month > 28:
                    r.problem(
                        f"{path}.due.day_of_month",
                        f"{day_of_month} is after 28; expected 1–28 so every month has it",
                    )
        elif fee_type in (FeeType.MILESTONE, FeeType.PERCENT_OF_KPI) and due is not None:
            r.problem(
                f"{path}.due",
                "a milestone fee is due when its milestone is met and a percent_of_kpi fee "
                "after each period; remove 'due'",
            )
        priced = amount is not None or rate is not None or unpriced is not None
        if fee_id and name and fee_type and currency and priced:
            fees.append(
                Fee(
                    fee_id,
                    name,
                    fee_type,
                    amount,
                    rate,
                    currency,
                    due_date,
                    day_of_month,
                    kpi,
                    unpriced,
                )
            )
    _unique(r, [f.id for f in fees], "fees")
    return fees


_MILESTONE_KEYS = (
    "id",
    "kpi",
    "target",
    "consecutive_days",
    "within_days_of_launch",
    "releases",
    "accept_manual_data",
    "accept_flagged_data",
    "accept_confirmed_flagged_orders",
)


def _milestones(r: _Reader, value: object, kpis: Sequence[KpiClause]) -> list[Milestone]:
    milestones: list[Milestone] = []
    for i, item in enumerate(r.listing(value, "milestones")):
        path = f"milestones[{i}]"
        body = r.mapping(item, path, _MILESTONE_KEYS)
        if body is None:
            continue
        milestone_id = r.identifier(body.get("id"), f"{path}.id")
        kpi = r.identifier(body.get("kpi"), f"{path}.kpi")
        clause = next((k for k in kpis if k.id == kpi), None)
        if kpi and clause is None:
            known = ", ".join(k.id for k in kpis) or "(none)"
            r.problem(f"{path}.kpi", f"{kpi!r} is not a KPI clause id; expected one of {known}")
        target = r.target(body["target"], f"{path}.target") if "target" in body else None
        if target is None and "target" not in body:
            if clause is not None and clause.target is None:
                r.problem(f"{path}.target", "missing, and KPI clause {kpi!r} has no target either")
            target = clause.target if clause else None
        days = r.integer(body.get("consecutive_days"), f"{path}.consecutive_days", minimum=1)
        within = r.integer(
            body.get("within_days_of_launch"), f"{path}.within_days_of_launch", minimum=1
        )
        if days and within and days > within:
            r.problem(
                f"{path}.consecutive_days",
                f"{days} consecutive days cannot fit within {within} days of launch",
            )
        releases = (
            r.identifier(body["releases"], f"{path}.releases") if body.get("releases") else None
        )
        manual = r.boolean(body.get("accept_manual_data"), f"{path}.accept_manual_data", False)
        flagged = r.boolean(body.get("accept_flagged_data"), f"{path}.accept_flagged_data", False)
        confirmed = r.boolean(
            body.get("accept_confirmed_flagged_orders"),
            f"{path}.accept_confirmed_flagged_orders",
            False,
        )
        if milestone_id and kpi and target and days and within:
            milestones.append(
                Milestone(
                    milestone_id, kpi, target, days, within, releases, manual, flagged, confirmed
                )
            )
    _unique(r, [m.id for m in milestones], "milestones")
    return milestones


def _sla(r: _Reader, value: object) -> dict[Severity, SlaTerms]:
    if value is None:
        return {}
    body = r.mapping(value, "sla", [s.value for s in Severity])
    terms: dict[Severity, SlaTerms] = {}
    if body is None:
        return terms
    for severity in Severity:
        path = f"sla.{severity.value}"
        if severity.value not in body:
            r.problem(path, "missing; the SLA must give hours for high, medium and low")
            continue
        hours = r.mapping(body[severity.value], path, ("first_response_hours", "resolution_hours"))
        if hours is None:
            continue
        first = r.number(hours.get("first_response_hours"), f"{path}.first_response_hours")
        resolution = r.number(hours.get("resolution_hours"), f"{path}.resolution_hours")
        if first is not None and resolution is not None:
            if first <= 0 or resolution < first:
                r.problem(
                    path,
                    f"expected 0 < first_response_hours ({first}) "
                    f"≤ resolution_hours ({resolution})",
                )
                continue
            terms[severity] = SlaTerms(first, resolution)
    return terms


def _exits(r: _Reader, value: object) -> list[ExitClause]:
    exits: list[ExitClause] = []
    for i, item in enumerate(r.listing(value, "exit")):
        path = f"exit[{i}]"
        body = r.mapping(item, path, ("id", "kpi", "consecutive_misses", "refund"))
        if body is None:
            continue
        exit_id = r.identifier(body.get("id"), f"{path}.id")
        kpi = r.identifier(body.get("kpi"), f"{path}.kpi")
        misses = r.integer(body.get("consecutive_misses"), f"{path}.consecutive_misses", minimum=1)
        refund = _refund(r, body.get("refund"), f"{path}.refund")
        if exit_id and kpi and misses and refund:
            exits.append(ExitClause(exit_id, kpi, misses, refund))
    _unique(r, [e.id for e in exits], "exit")
    return exits


def _refund(r: _Reader, value: object, path: str) -> Refund | None:
    body = r.mapping(value, path, ("amount", "currency", "percent", "of_fees"))
    if body is None:
        return None
    if "amount" in body:
        amount = r.money(body["amount"], f"{path}.amount")
        currency = r.currency(body.get("currency"), f"{path}.currency")
        return Refund(amount, currency, None, ()) if amount is not None and currency else None
    if "percent" in body:
        percent = r.money(body["percent"], f"{path}.percent")
        if percent is not None and percent > 100:
            r.problem(f"{path}.percent", f"{percent} is above 100")
            return None
        of_fees = [
            r.identifier(f, f"{path}.of_fees[{j}]")
            for j, f in enumerate(r.listing(body.get("of_fees"), f"{path}.of_fees"))
        ]
        if not of_fees:
            r.problem(f"{path}.of_fees", "missing; name the fees the percentage applies to")
        if percent is None or not of_fees or None in of_fees:
            return None
        return Refund(None, None, percent, tuple(f for f in of_fees if f))
    r.problem(path, "expected either amount + currency, or percent + of_fees")
    return None


def _unique(r: _Reader, ids: Sequence[str], section: str) -> None:
    seen: set[str] = set()
    for i, item in enumerate(ids):
        if item in seen:
            r.problem(f"{section}[{i}].id", f"id {item!r} is used twice in {section}")
        seen.add(item)


def _check_references(
    r: _Reader,
    kpis: Sequence[KpiClause],
    fees: Sequence[Fee],
    milestones: Sequence[Milestone],
    exits: Sequence[ExitClause],
) -> None:
    clause_ids = {k.id for k in kpis}
    known = ", ".join(sorted(clause_ids)) or "(none)"
    clause_periods = {k.id: k for k in kpis}
    fee_ids = {f.id: f for f in fees}
    for i, fee in enumerate(fees):
        if fee.type is FeeType.PERCENT_OF_KPI:
            clause = clause_periods.get(fee.kpi or "")
            if clause is None:
                r.problem(
                    f"fees[{i}].kpi",
                    f"{fee.kpi!r} is not a KPI clause id; expected one of {known}",
                )
            elif clause.period is None:
                r.problem(
                    f"fees[{i}].kpi",
                    f"KPI clause {clause.id!r} has no period; "
                    "a percent_of_kpi fee is paid per period",
                )
    released: dict[str, str] = {}
    for i, milestone in enumerate(milestones):
        if milestone.releases is not None:
            released_fee = fee_ids.get(milestone.releases)
            if released_fee is None:
                r.problem(f"milestones[{i}].releases", f"{milestone.releases!r} is not a fee id")
            elif released_fee.type is not FeeType.MILESTONE:
                r.problem(
                    f"milestones[{i}].releases",
                    f"fee {released_fee.id!r} is {released_fee.type.value}; "
                    "only a milestone fee can be released",
                )
            elif released_fee.id in released:
                r.problem(
                    f"milestones[{i}].releases",
                    f"fee {released_fee.id!r} is already released by milestone "
                    f"{released[released_fee.id]!r}",
                )
            released[milestone.releases] = milestone.id
    for i, fee in enumerate(fees):
        if fee.type is FeeType.MILESTONE and fee.id not in released:
            r.problem(f"fees[{i}]", f"milestone fee {fee.id!r} is released by no milestone")
    for i, exit_clause in enumerate(exits):
        kpi = clause_periods.get(exit_clause.kpi)
        if kpi is None:
            r.problem(f"exit[{i}].kpi", f"{exit_clause.kpi!r} is not a KPI clause id")
        elif kpi.period is None or kpi.target is None:
            r.problem(
                f"exit[{i}].kpi", f"KPI clause {kpi.id!r} needs a period and a target to be missed"
            )
        for fee_id in exit_clause.refund.of_fees:
            if fee_id not in fee_ids:
                r.problem(f"exit[{i}].refund.of_fees", f"{fee_id!r} is not a fee id")
