"""Alert rules and the alert state machine: pure logic, no database, no network.

An alert *rule* watches something (a KPI, a target, a document's expiry, ...) over a scope of
stores. Each evaluation turns the rule into *observations*, one per subject (a store, a
target, a document, a ticket, a flag), each saying whether the condition holds now. Every
subject has one alert *instance* per rule, found again by its dedup key, so a condition that
stays true never makes a second alert.

An instance moves through the states below (:func:`step`); each arrow is a transition that is
kept in the history, and the ones marked * notify the rule's channels::

    ok ──breached──▶ pending ──breached for the grace period──▶ firing* ──clear──▶ resolved*
     ▲                  │                                          │ ▲                 │
     └──────clear───────┘                     (repeat, not acked)* └─┘    breached ──▶ pending

A rule with grace period 0 fires at once. Acknowledging a firing alert stops the repeat
reminders; silencing it until a time suppresses every notification until then (transitions are
still recorded). Operators come from a table (never ``eval``), as in Superset's alerts.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, assert_never


class AlertRuleError(ValueError):
    """A rule definition that cannot work; the message names the field and what was expected."""


class RuleKind(StrEnum):
    KPI_THRESHOLD = "kpi_threshold"  # a KPI value against a threshold
    TARGET_STATUS = "target_status"  # a target's status is warning / bad
    PACE = "pace"  # the pace projection misses the period target
    CHANGE = "change"  # % change of a KPI against the previous period
    ACCOUNT_HEALTH = "account_health"  # the latest account-health snapshot metric
    DOCUMENT_EXPIRY = "document_expiry"  # a vault document expires within N days
    SLA_BREACH = "sla_breach"  # a service ticket is past its response/resolution due time
    INTEGRITY_FLAG = "integrity_flag"  # an open data-integrity flag


RULE_KIND_NAMES: dict[RuleKind, tuple[str, str]] = {
    RuleKind.KPI_THRESHOLD: ("KPI 阈值", "KPI threshold"),
    RuleKind.TARGET_STATUS: ("目标状态", "Target status"),
    RuleKind.PACE: ("进度预测未达标", "Pace projection misses target"),
    RuleKind.CHANGE: ("环比变化", "Change vs previous period"),
    RuleKind.ACCOUNT_HEALTH: ("账号健康", "Account health"),
    RuleKind.DOCUMENT_EXPIRY: ("证件到期", "Document expiry"),
    RuleKind.SLA_BREACH: ("SLA 超时", "SLA breach"),
    RuleKind.INTEGRITY_FLAG: ("数据真实性标记", "Data-integrity flag"),
}


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def label(self) -> str:
        return {"info": "提示 / info", "warning": "警告 / warning", "critical": "严重 / critical"}[
            self.value
        ]


class ScopeKind(StrEnum):
    STORE = "store"  # ref: store id
    PLATFORM = "platform"  # ref: platform id ("amazon")
    TEAM = "team"  # ref: organisation id: its own stores, or the stores granted to an agency
    ALL = "all"  # ref: ""


class AlertState(StrEnum):
    OK = "ok"
    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


STATE_LABELS = {
    AlertState.OK: ("正常", "ok"),
    AlertState.PENDING: ("待定", "pending"),
    AlertState.FIRING: ("告警中", "firing"),
    AlertState.RESOLVED: ("已恢复", "resolved"),
}


class Locale(StrEnum):
    ZH = "zh"
    EN = "en"


# ---------------------------------------------------------------------------------------
# Conditions
# ---------------------------------------------------------------------------------------

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}


def check_operator(op: str) -> str:
    if op not in OPERATORS:
        raise AlertRuleError(f"op {op!r}: expected one of {', '.join(OPERATORS)}")
    return op


def breaches(op: str, value: float | None, threshold: float) -> bool:
    """True when ``value op threshold`` holds; an undefined value never breaches."""
    if value is None:
        return False
    return OPERATORS[check_operator(op)](value, threshold)


def change_pct(current: float | None, previous: float | None) -> float | None:
    """Change in percent against the previous period; None when there is no base."""
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) / abs(previous) * 100.0


# Parameters each rule kind needs, with a check per parameter; shared by CLI, API and tests.
_REQUIRED: dict[RuleKind, tuple[str, ...]] = {
    RuleKind.KPI_THRESHOLD: ("kpi", "op", "threshold"),
    RuleKind.TARGET_STATUS: (),
    RuleKind.PACE: (),
    RuleKind.CHANGE: ("kpi", "op", "threshold"),
    RuleKind.ACCOUNT_HEALTH: ("metric", "op", "threshold"),
    RuleKind.DOCUMENT_EXPIRY: (),
    RuleKind.SLA_BREACH: (),
    RuleKind.INTEGRITY_FLAG: (),
}
ACCOUNT_HEALTH_METRICS = (
    "order_defect_rate",
    "late_shipment_rate",
    "pre_fulfillment_cancel_rate",
    "valid_tracking_rate",
    "ahr_score",
)
TARGET_STATUSES = ("warning", "bad")


def check_params(kind: RuleKind, params: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and complete a rule's parameters; every problem in one error, one per line."""
    problems: list[str] = []
    out: dict[str, Any] = dict(params)
    for name in _REQUIRED[kind]:
        if name not in params or params[name] in (None, ""):
            problems.append(f"param {name}: required for a {kind.value} rule")
    if "op" in params and params["op"] not in OPERATORS:
        problems.append(f"param op={params['op']!r}: expected one of {', '.join(OPERATORS)}")
    if "threshold" in params and params["threshold"] not in (None, ""):
        try:
            out["threshold"] = float(params["threshold"])
        except (TypeError, ValueError):
            problems.append(f"param threshold={params['threshold']!r}: expected a number")
    if kind in (RuleKind.KPI_THRESHOLD, RuleKind.CHANGE):
        out.setdefault("period", "month")
    if kind is RuleKind.ACCOUNT_HEALTH and params.get("metric") not in (
        None,
        "",
        *ACCOUNT_HEALTH_METRICS,
    ):
        expected = ", ".join(ACCOUNT_HEALTH_METRICS)
        problems.append(f"param metric={params['metric']!r}: expected one of {expected}")
    if kind in (RuleKind.TARGET_STATUS, RuleKind.PACE):
        statuses = params.get("statuses", ["bad"] if kind is RuleKind.PACE else ["warning", "bad"])
        if isinstance(statuses, str):
            statuses = [s.strip() for s in statuses.split(",") if s.strip()]
        bad = [s for s in statuses if s not in TARGET_STATUSES]
        if bad or not statuses:
            problems.append(
                f"param statuses={','.join(map(str, statuses))!r}: expected warning and/or bad"
            )
        out["statuses"] = list(statuses)
    if kind is RuleKind.DOCUMENT_EXPIRY:
        out["days_before"] = _int_param(params, "days_before", 30, problems)
    if kind is RuleKind.INTEGRITY_FLAG:
        try:
            out["min_score"] = float(params.get("min_score", 0))
        except (TypeError, ValueError):
            problems.append(f"param min_score={params.get('min_score')!r}: expected a number")
    if problems:
        raise AlertRuleError("\n".join(problems))
    return out


def _int_param(params: Mapping[str, Any], name: str, default: int, problems: list[str]) -> int:
    raw = params.get(name, default)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        problems.append(f"param {name}={raw!r}: expected a whole number of days")
        return default
    if value < 0:
        problems.append(f"param {name}={raw!r}: expected 0 or more")
    return value


# ---------------------------------------------------------------------------------------
# Observations and the state machine
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Observation:
    """One subject of a rule at one evaluation: is the condition true, and why."""

    dedup_key: str  # stable per subject: "store:3", "target:7", "document:12"
    store_id: int | None
    breached: bool
    value: float | None
    summary_zh: str  # what is observed, in words, e.g. "ROAS 1.8 < 2.5"
    summary_en: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class InstanceState:
    """What the state machine needs to know about an existing alert instance."""

    state: AlertState = AlertState.OK
    pending_since: dt.datetime | None = None
    fired_at: dt.datetime | None = None
    last_notified_at: dt.datetime | None = None
    acked: bool = False
    silenced_until: dt.datetime | None = None


class Notify(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"
    REPEAT = "repeat"  # still firing, reminder


@dataclass(frozen=True, slots=True)
class Step:
    """The outcome of one evaluation for one instance."""

    state: InstanceState
    transition: tuple[AlertState, AlertState] | None  # (from, to) when the state changed
    notify: Notify | None  # what to send (None: nothing)
    suppressed: bool = False  # a notification was due but the alert is silenced


def step(
    current: InstanceState,
    breached: bool,
    now: dt.datetime,
    *,
    grace: dt.timedelta,
    repeat: dt.timedelta | None = None,
) -> Step:
    """Advance one instance by one observation (see the module docstring for the diagram)."""
    state = current.state
    match state:
        case AlertState.OK | AlertState.RESOLVED:
            if not breached:
                return Step(current, None, None)
            if grace <= dt.timedelta(0):
                return _fire(current, now, since=now)
            pending = InstanceState(
                state=AlertState.PENDING,
                pending_since=now,
                last_notified_at=current.last_notified_at,
                silenced_until=current.silenced_until,
            )
            return Step(pending, (state, AlertState.PENDING), None)
        case AlertState.PENDING:
            if not breached:
                back = InstanceState(
                    state=AlertState.OK,
                    last_notified_at=current.last_notified_at,
                    silenced_until=current.silenced_until,
                )
                return Step(back, (state, AlertState.OK), None)
            since = current.pending_since or now
            if now - since >= grace:
                return _fire(current, now, since=since)
            return Step(current, None, None)
        case AlertState.FIRING:
            if not breached:
                resolved = InstanceState(
                    state=AlertState.RESOLVED,
                    fired_at=current.fired_at,
                    last_notified_at=current.last_notified_at,
                    silenced_until=current.silenced_until,
                )
                return _notified(resolved, (state, AlertState.RESOLVED), Notify.RESOLVED, now)
            due = (
                repeat is not None
                and not current.acked
                and current.last_notified_at is not None
                and now - current.last_notified_at >= repeat
            )
            if due:
                return _notified(current, None, Notify.REPEAT, now)
            return Step(current, None, None)
        case _:
            assert_never(state)


def _fire(current: InstanceState, now: dt.datetime, *, since: dt.datetime) -> Step:
    firing = InstanceState(
        state=AlertState.FIRING,
        pending_since=since,
        fired_at=now,
        last_notified_at=current.last_notified_at,
        acked=False,  # a new occurrence needs a new acknowledgement
        silenced_until=current.silenced_until,
    )
    return _notified(firing, (current.state, AlertState.FIRING), Notify.FIRING, now)


def _notified(
    state: InstanceState,
    transition: tuple[AlertState, AlertState] | None,
    notify: Notify,
    now: dt.datetime,
) -> Step:
    if is_silenced(state, now):
        return Step(state, transition, None, suppressed=True)
    return Step(_with_notified(state, now), transition, notify)


def _with_notified(state: InstanceState, now: dt.datetime) -> InstanceState:
    return InstanceState(
        state=state.state,
        pending_since=state.pending_since,
        fired_at=state.fired_at,
        last_notified_at=now,
        acked=state.acked,
        silenced_until=state.silenced_until,
    )


def is_silenced(state: InstanceState, now: dt.datetime) -> bool:
    return state.silenced_until is not None and now < state.silenced_until


# ---------------------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlertMessage:
    """What a channel sends, already in the recipient's language."""

    title: str
    lines: tuple[str, ...]
    severity: Severity
    event: Notify
    locale: Locale
    alert_id: int
    rule_id: int
    dedup_key: str
    store_id: int | None
    value: float | None
    at: dt.datetime

    @property
    def text(self) -> str:
        return "\n".join((self.title, *self.lines))

    def as_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "text": "\n".join(self.lines),
            "severity": self.severity.value,
            "event": self.event.value,
            "locale": self.locale.value,
            "alert_id": self.alert_id,
            "rule_id": self.rule_id,
            "dedup_key": self.dedup_key,
            "store_id": self.store_id,
            "value": self.value,
            "at": self.at.isoformat() + "Z",
        }


_EVENT_WORDS = {
    Notify.FIRING: ("告警", "FIRING"),
    Notify.RESOLVED: ("已恢复", "RESOLVED"),
    Notify.REPEAT: ("仍在告警", "STILL FIRING"),
}
_SEVERITY_WORDS = {
    Severity.INFO: ("提示", "info"),
    Severity.WARNING: ("警告", "warning"),
    Severity.CRITICAL: ("严重", "critical"),
}


def compose_message(
    *,
    locale: Locale,
    event: Notify,
    severity: Severity,
    rule_name: str,
    rule_kind: RuleKind,
    store_label: str | None,
    summary_zh: str,
    summary_en: str,
    alert_id: int,
    rule_id: int,
    dedup_key: str,
    store_id: int | None,
    value: float | None,
    at: dt.datetime,
) -> AlertMessage:
    """The notification text for one event, in one language."""
    zh = locale is Locale.ZH
    index = 0 if zh else 1
    event_word = _EVENT_WORDS[event][index]
    severity_word = _SEVERITY_WORDS[severity][index]
    kind_word = RULE_KIND_NAMES[rule_kind][index]
    title = f"[{event_word}][{severity_word}] {rule_name}"
    lines = [
        f"{'规则类型' if zh else 'Rule type'}: {kind_word}",
        f"{'店铺' if zh else 'Store'}: {store_label}" if store_label else "",
        f"{'情况' if zh else 'Observed'}: {summary_zh if zh else summary_en}",
        f"{'时间' if zh else 'Time'}: {at.strftime('%Y-%m-%d %H:%M')} UTC",
        f"{'告警编号' if zh else 'Alert'} #{alert_id}",
    ]
    return AlertMessage(
        title=title,
        lines=tuple(line for line in lines if line),
        severity=severity,
        event=event,
        locale=locale,
        alert_id=alert_id,
        rule_id=rule_id,
        dedup_key=dedup_key,
        store_id=store_id,
        value=value,
        at=at,
    )


# ---------------------------------------------------------------------------------------
# Delivery retries
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff: attempt n (1-based) failing waits base × factor^(n-1), capped."""

    max_attempts: int = 5
    base: dt.timedelta = dt.timedelta(seconds=30)
    factor: float = 4.0
    cap: dt.timedelta = dt.timedelta(hours=1)

    def delay_after(self, attempt: int) -> dt.timedelta:
        seconds = self.base.total_seconds() * self.factor ** max(attempt - 1, 0)
        return min(dt.timedelta(seconds=seconds), self.cap)

    def next_attempt(self, attempt: int, now: dt.datetime) -> dt.datetime | None:
        """When to try again after failed attempt ``attempt``; None when out of attempts."""
        if attempt >= self.max_attempts:
            return None
        return now + self.delay_after(attempt)


DEFAULT_RETRY = RetryPolicy()
