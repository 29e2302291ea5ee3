"""Alert services: channels, rules, evaluation, delivery, and the inbox (list / ack / silence).

The CLI, the web app and the jobs call these functions and nothing below them.

Evaluation (:func:`evaluate`) reads every enabled rule's observations first, then applies the
state machine to the rule's instances in one transaction, recording each transition in the
instance history and the audit log, and queueing one delivery per channel for each
notification. Deliveries are sent afterwards (:func:`deliver_due`), outside any database
transaction; a failed one is retried with exponential backoff and, once out of attempts,
stays in the delivery log as ``failed`` and marks its alert ``delivery_status = "failed"``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from lianxing.alerts.channels import ChannelConfigError, DeliveryError, channel_class
from lianxing.alerts.channels.email import SmtpConfig
from lianxing.alerts.sources import ReadContext, RuleSpec, SourceError, observe, store_label
from lianxing.db.audit import record
from lianxing.db.models import Organisation, Store
from lianxing.db.models_alerts import (
    AlertChannel,
    AlertDelivery,
    AlertEvent,
    AlertInstance,
    AlertRule,
)
from lianxing.domain.alerts import (
    DEFAULT_RETRY,
    AlertMessage,
    AlertRuleError,
    AlertState,
    InstanceState,
    Locale,
    Notify,
    Observation,
    RetryPolicy,
    RuleKind,
    ScopeKind,
    Severity,
    check_params,
    compose_message,
    step,
)
from lianxing.domain.time import utcnow
from lianxing.platforms.catalog import load_catalog
from lianxing.security import Cipher
from lianxing.workspace import Workspace

log = logging.getLogger(__name__)

# A claimed delivery is retried by someone else if its sender died this long ago.
DELIVERY_LEASE = dt.timedelta(minutes=5)


class AlertInputError(ValueError):
    """Input that cannot make a channel or rule, or names an unknown alert; one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


# ---------------------------------------------------------------------------------------
# Channels
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChannelView:
    id: int
    name: str
    kind: str
    locale: str
    config: dict[str, Any]
    secret_fields: tuple[str, ...]  # which secrets are set (never their values)
    enabled: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "locale": self.locale,
            "config": self.config,
            "secrets_set": list(self.secret_fields),
            "enabled": self.enabled,
        }


def _secrets(cipher: Cipher, row: AlertChannel) -> dict[str, str]:
    data: dict[str, str] = json.loads(cipher.decrypt(row.secret_token.encode()))
    return data


def _channel_view(row: AlertChannel, cipher: Cipher | None = None) -> ChannelView:
    secret_names: tuple[str, ...] = ()
    if cipher is not None:
        secret_names = tuple(sorted(k for k, v in _secrets(cipher, row).items() if v))
    return ChannelView(
        row.id, row.name, row.kind, row.locale, dict(row.config), secret_names, row.enabled
    )


def add_channel(
    session: Session,
    cipher: Cipher,
    *,
    name: str,
    kind: str,
    locale: str,
    config: Mapping[str, Any],
    secrets: Mapping[str, str],
    actor: str,
) -> ChannelView:
    """Create a channel; secret settings are encrypted with the workspace key before storing."""
    problems: list[str] = []
    try:
        cls = channel_class(kind)
        problems += cls.check_settings(config, secrets)
    except ChannelConfigError as exc:
        problems.append(str(exc))
    if locale not in {loc.value for loc in Locale}:
        problems.append(f"locale {locale!r}: expected zh or en")
    if not name.strip():
        problems.append("name: must not be empty")
    elif session.scalar(select(AlertChannel.id).where(AlertChannel.name == name)) is not None:
        problems.append(f"name {name!r}: a channel with this name exists")
    if problems:
        raise AlertInputError(problems)
    token = cipher.encrypt(json.dumps(dict(secrets)).encode()).decode()
    row = AlertChannel(
        name=name,
        kind=kind,
        locale=locale,
        config=dict(config),
        secret_token=token,
        enabled=True,
        created_by=actor,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor=actor,
        action="alert_channel.create",
        entity="alert_channel",
        entity_id=row.id,
        data={
            "name": name,
            "kind": kind,
            "locale": locale,
            "config": dict(config),
            "secrets_set": sorted(k for k, v in secrets.items() if v),
        },
    )
    return _channel_view(row, cipher)


def list_channels(session: Session, cipher: Cipher | None = None) -> list[ChannelView]:
    rows = session.scalars(select(AlertChannel).order_by(AlertChannel.id))
    return [_channel_view(row, cipher) for row in rows]


# ---------------------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleView:
    id: int
    name: str
    kind: RuleKind
    scope_kind: ScopeKind
    scope_ref: str
    severity: Severity
    params: dict[str, Any]
    grace_seconds: int
    repeat_seconds: int | None
    channel_ids: list[int]
    enabled: bool

    @classmethod
    def of(cls, row: AlertRule) -> RuleView:
        return cls(
            id=row.id,
            name=row.name,
            kind=RuleKind(row.kind),
            scope_kind=ScopeKind(row.scope_kind),
            scope_ref=row.scope_ref,
            severity=Severity(row.severity),
            params=dict(row.params),
            grace_seconds=row.grace_seconds,
            repeat_seconds=row.repeat_seconds,
            channel_ids=list(row.channel_ids),
            enabled=row.enabled,
        )

    @property
    def scope_label(self) -> str:
        return "all" if self.scope_kind is ScopeKind.ALL else f"{self.scope_kind}:{self.scope_ref}"

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind.value,
            "scope": {"kind": self.scope_kind.value, "ref": self.scope_ref},
            "severity": self.severity.value,
            "params": self.params,
            "grace_seconds": self.grace_seconds,
            "repeat_seconds": self.repeat_seconds,
            "channels": self.channel_ids,
            "enabled": self.enabled,
        }


def add_rule(
    session: Session,
    *,
    name: str,
    kind: str,
    scope_kind: str,
    scope_ref: str | int | None,
    severity: str = "warning",
    params: Mapping[str, Any] | None = None,
    grace_seconds: int = 0,
    repeat_seconds: int | None = None,
    channel_ids: Sequence[int] = (),
    actor: str = "cli",
) -> RuleView:
    """Validate and create a rule; :class:`AlertInputError` lists every problem."""
    problems: list[str] = []
    kinds = {k.value for k in RuleKind}
    if kind not in kinds:
        problems.append(f"kind {kind!r}: expected one of {', '.join(sorted(kinds))}")
    if severity not in {s.value for s in Severity}:
        problems.append(f"severity {severity!r}: expected info, warning or critical")
    ref = "" if scope_ref is None else str(scope_ref).strip()
    problems += _check_scope(session, scope_kind, ref)
    if grace_seconds < 0:
        problems.append(f"grace {grace_seconds}s: expected 0 or more")
    if repeat_seconds is not None and repeat_seconds <= 0:
        problems.append(f"repeat {repeat_seconds}s: expected more than 0")
    for channel_id in channel_ids:
        if session.get(AlertChannel, channel_id) is None:
            problems.append(f"channel {channel_id}: no such channel")
    checked: dict[str, Any] = {}
    if kind in kinds:
        try:
            checked = check_params(RuleKind(kind), params or {})
        except AlertRuleError as exc:
            problems += str(exc).splitlines()
    if problems:
        raise AlertInputError(problems)
    row = AlertRule(
        name=name,
        kind=kind,
        scope_kind=scope_kind,
        scope_ref="" if scope_kind == ScopeKind.ALL.value else ref,
        severity=severity,
        params=checked,
        grace_seconds=grace_seconds,
        repeat_seconds=repeat_seconds,
        channel_ids=list(channel_ids),
        enabled=True,
        created_by=actor,
    )
    session.add(row)
    session.flush()
    view = RuleView.of(row)
    record(
        session,
        actor=actor,
        action="alert_rule.create",
        entity="alert_rule",
        entity_id=row.id,
        data=view.as_json(),
    )
    return view


def _check_scope(session: Session, scope_kind: str, ref: str) -> list[str]:
    kinds = [k.value for k in ScopeKind]
    if scope_kind not in kinds:
        return [f"scope {scope_kind!r}: expected one of {', '.join(kinds)}"]
    match ScopeKind(scope_kind):
        case ScopeKind.ALL:
            return []
        case ScopeKind.STORE:
            if not ref.isdigit() or session.get(Store, int(ref)) is None:
                return [f"store {ref!r}: no such store"]
        case ScopeKind.TEAM:
            if not ref.isdigit() or session.get(Organisation, int(ref)) is None:
                return [f"team {ref!r}: no such organisation"]
        case ScopeKind.PLATFORM:
            platforms = sorted(p.id for p in load_catalog().platforms)
            if ref not in platforms:
                return [f"platform {ref!r}: expected one of {', '.join(platforms)}"]
    return []


def list_rules(session: Session) -> list[RuleView]:
    return [RuleView.of(r) for r in session.scalars(select(AlertRule).order_by(AlertRule.id))]


def set_rule_enabled(session: Session, rule_id: int, enabled: bool, *, actor: str) -> RuleView:
    row = session.get(AlertRule, rule_id)
    if row is None:
        raise AlertInputError([f"rule {rule_id}: no such rule"])
    row.enabled = enabled
    record(
        session,
        actor=actor,
        action="alert_rule.enable" if enabled else "alert_rule.disable",
        entity="alert_rule",
        entity_id=rule_id,
        data={"enabled": enabled},
    )
    return RuleView.of(row)


# ---------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class EvaluationResult:
    rules: int = 0
    observations: int = 0
    transitions: list[dict[str, Any]] = field(default_factory=list)
    deliveries_queued: int = 0
    suppressed: int = 0
    errors: list[str] = field(default_factory=list)
    delivery: DeliveryRun | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "rules": self.rules,
            "observations": self.observations,
            "transitions": self.transitions,
            "deliveries_queued": self.deliveries_queued,
            "suppressed": self.suppressed,
            "errors": self.errors,
            "delivery": None if self.delivery is None else self.delivery.as_json(),
        }


def _instance_state(row: AlertInstance) -> InstanceState:
    return InstanceState(
        state=AlertState(row.state),
        pending_since=row.pending_since,
        fired_at=row.fired_at,
        last_notified_at=row.last_notified_at,
        acked=row.acked_at is not None,
        silenced_until=row.silenced_until,
    )


def evaluate(
    ws: Workspace,
    *,
    now: dt.datetime | None = None,
    store_id: int | None = None,
    rule_ids: Sequence[int] | None = None,
    actor: str = "scheduler",
    deliver: bool = True,
) -> EvaluationResult:
    """Run the rules now (or those given), optionally for one store only; then deliver.

    With ``store_id``, only that store's subjects are looked at and changed; alerts of
    other stores keep their state.
    """
    now = now or utcnow()
    result = EvaluationResult()
    observed: list[tuple[RuleView, list[Observation]]] = []
    with ws.session() as session:
        rules = [r for r in list_rules(session) if r.enabled]
        if rule_ids is not None:
            rules = [r for r in rules if r.id in set(rule_ids)]
        ctx = ReadContext(ws, session, now)
        for rule in rules:
            spec = RuleSpec(rule.id, rule.kind, rule.scope_kind, rule.scope_ref, rule.params)
            try:
                observations = observe(ctx, spec)
            except SourceError as exc:
                result.errors.append(str(exc))
                log.warning("alert rule %s not evaluated: %s", rule.id, exc)
                continue
            if store_id is not None:
                observations = [o for o in observations if o.store_id == store_id]
            observed.append((rule, observations))
    result.rules = len(observed)
    with ws.session() as session:
        for rule, observations in observed:
            result.observations += len(observations)
            _apply(session, ws, rule, observations, now, store_id, actor, result)
    if deliver:
        result.delivery = deliver_due(ws, now=now)
    return result


def _apply(
    session: Session,
    ws: Workspace,
    rule: RuleView,
    observations: list[Observation],
    now: dt.datetime,
    store_id: int | None,
    actor: str,
    result: EvaluationResult,
) -> None:
    existing = {
        row.dedup_key: row
        for row in session.scalars(select(AlertInstance).where(AlertInstance.rule_id == rule.id))
    }
    seen = {o.dedup_key for o in observations}
    # A subject no longer observed (document renewed, flag reviewed, ticket closed) is clear.
    for key, row in existing.items():
        if key in seen or row.state in (AlertState.OK, AlertState.RESOLVED):
            continue
        if store_id is not None and row.store_id != store_id:
            continue
        observations.append(
            Observation(key, row.store_id, False, None, row.summary_zh, row.summary_en, {})
        )
    grace = dt.timedelta(seconds=rule.grace_seconds)
    repeat = dt.timedelta(seconds=rule.repeat_seconds) if rule.repeat_seconds else None
    for obs in observations:
        found = existing.get(obs.dedup_key)
        current = _instance_state(found) if found is not None else InstanceState()
        outcome = step(current, obs.breached, now, grace=grace, repeat=repeat)
        if found is not None:
            row = found
        else:
            if outcome.transition is None:
                continue  # an ok subject that never alerted needs no row
            row = AlertInstance(
                rule_id=rule.id,
                dedup_key=obs.dedup_key,
                store_id=obs.store_id,
                state=AlertState.OK.value,
                summary_zh=obs.summary_zh,
                summary_en=obs.summary_en,
                details=obs.details,
                last_evaluated_at=now,
                delivery_status="none",
            )
            session.add(row)
            session.flush()
        new = outcome.state
        row.last_evaluated_at = now
        if obs.value is not None or obs.breached:
            row.value = obs.value
            row.summary_zh, row.summary_en, row.details = (
                obs.summary_zh,
                obs.summary_en,
                obs.details,
            )
        row.state = new.state.value
        row.pending_since = new.pending_since
        row.fired_at = new.fired_at
        row.last_notified_at = new.last_notified_at
        if outcome.transition is not None:
            before, after = outcome.transition
            if after is AlertState.FIRING:
                row.acked_at, row.acked_by, row.resolved_at = None, None, None
            if after is AlertState.RESOLVED:
                row.resolved_at = now
            session.add(
                AlertEvent(
                    instance_id=row.id,
                    at=now,
                    kind="transition",
                    from_state=before.value,
                    to_state=after.value,
                    actor=actor,
                    value=obs.value,
                    note=obs.summary_en,
                )
            )
            record(
                session,
                actor=actor,
                action="alert.transition",
                entity="alert",
                entity_id=row.id,
                data={
                    "rule": rule.id,
                    "key": row.dedup_key,
                    "from": before.value,
                    "to": after.value,
                    "value": obs.value,
                },
            )
            result.transitions.append(
                {
                    "alert": row.id,
                    "rule": rule.id,
                    "key": row.dedup_key,
                    "from": before.value,
                    "to": after.value,
                    "value": obs.value,
                }
            )
        if outcome.suppressed:
            result.suppressed += 1
            session.add(
                AlertEvent(
                    instance_id=row.id,
                    at=now,
                    kind="suppressed",
                    actor=actor,
                    value=obs.value,
                    note=f"notification suppressed: silenced until {row.silenced_until}",
                )
            )
        if outcome.notify is not None:
            result.deliveries_queued += _queue_deliveries(session, rule, row, outcome.notify, now)


def _queue_deliveries(
    session: Session, rule: RuleView, row: AlertInstance, event: Notify, now: dt.datetime
) -> int:
    channels = [
        c for c in (session.get(AlertChannel, cid) for cid in rule.channel_ids) if c and c.enabled
    ]
    label = store_label(session, row.store_id)
    for channel in channels:
        message = compose_message(
            locale=Locale(channel.locale),
            event=event,
            severity=rule.severity,
            rule_name=rule.name,
            rule_kind=rule.kind,
            store_label=label,
            summary_zh=row.summary_zh,
            summary_en=row.summary_en,
            alert_id=row.id,
            rule_id=rule.id,
            dedup_key=row.dedup_key,
            store_id=row.store_id,
            value=row.value,
            at=now,
        )
        session.add(
            AlertDelivery(
                instance_id=row.id,
                channel_id=channel.id,
                event=event.value,
                message={**message.as_json(), "lines": list(message.lines)},
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
    row.delivery_status = "pending" if channels else "none"
    return len(channels)


# ---------------------------------------------------------------------------------------
# Delivery
# ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class DeliveryRun:
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def as_json(self) -> dict[str, int]:
        return {"sent": self.sent, "retrying": self.retrying, "failed": self.failed}


def _message(data: Mapping[str, Any]) -> AlertMessage:
    return AlertMessage(
        title=data["title"],
        lines=tuple(data["lines"]),
        severity=Severity(data["severity"]),
        event=Notify(data["event"]),
        locale=Locale(data["locale"]),
        alert_id=int(data["alert_id"]),
        rule_id=int(data["rule_id"]),
        dedup_key=data["dedup_key"],
        store_id=data["store_id"],
        value=data["value"],
        at=dt.datetime.fromisoformat(data["at"].rstrip("Z")),
    )


def deliver_due(
    ws: Workspace, *, now: dt.datetime | None = None, policy: RetryPolicy = DEFAULT_RETRY
) -> DeliveryRun:
    """Send every pending delivery whose time has come; retry later or give up on failure."""
    now = now or utcnow()
    run = DeliveryRun()
    with ws.session() as session:
        due = list(
            session.execute(
                select(AlertDelivery.id, AlertDelivery.attempts)
                .where(AlertDelivery.status == "pending", AlertDelivery.next_attempt_at <= now)
                .order_by(AlertDelivery.id)
            )
        )
    for delivery_id, attempts in due:
        with ws.session() as session:
            # Claim it: only one sender wins; a dead sender's claim expires with the lease.
            claimed = session.execute(
                update(AlertDelivery)
                .where(
                    AlertDelivery.id == delivery_id,
                    AlertDelivery.attempts == attempts,
                    AlertDelivery.status == "pending",
                )
                .values(attempts=attempts + 1, next_attempt_at=now + DELIVERY_LEASE)
            ).rowcount  # type: ignore[attr-defined]
        if claimed != 1:
            continue
        _send_one(ws, delivery_id, attempts + 1, now, policy, run)
    return run


def _send_one(
    ws: Workspace,
    delivery_id: int,
    attempt: int,
    now: dt.datetime,
    policy: RetryPolicy,
    run: DeliveryRun,
) -> None:
    with ws.session() as session:
        delivery = session.get(AlertDelivery, delivery_id)
        assert delivery is not None
        channel = session.get(AlertChannel, delivery.channel_id)
        assert channel is not None
        message = _message(delivery.message)
        kind, config = channel.kind, dict(channel.config)
        secrets = _secrets(ws.cipher, channel)
    error: str | None = None
    status: int | None = None
    try:
        sender = channel_class(kind)(config, secrets)
        answer = sender.send(message, delivery_id=delivery_id, now_unix=int(_unix(now)))
        status = answer.status
    except DeliveryError as exc:
        error, status = str(exc), exc.status
    with ws.session() as session:
        delivery = session.get(AlertDelivery, delivery_id)
        assert delivery is not None
        delivery.response_status = status
        if error is None:
            delivery.status, delivery.sent_at, delivery.next_attempt_at = "sent", now, None
            delivery.last_error = None
            run.sent += 1
        else:
            delivery.last_error = error
            retry_at = policy.next_attempt(attempt, now)
            if retry_at is None:
                delivery.status, delivery.next_attempt_at = "failed", None
                run.failed += 1
            else:
                delivery.next_attempt_at = retry_at
                run.retrying += 1
        if delivery.status in ("sent", "failed"):
            record(
                session,
                actor="notifier",
                action=f"alert.delivery.{delivery.status}",
                entity="alert_delivery",
                entity_id=delivery.id,
                data={
                    "alert": delivery.instance_id,
                    "channel": delivery.channel_id,
                    "event": delivery.event,
                    "attempts": delivery.attempts,
                    "error": error,
                },
            )
        session.flush()
        _refresh_delivery_status(session, delivery.instance_id)


def _unix(moment: dt.datetime) -> float:
    return moment.replace(tzinfo=dt.UTC).timestamp()


def _refresh_delivery_status(session: Session, instance_id: int) -> None:
    """The inbox shows the fate of the latest notification: failed wins over pending."""
    instance = session.get(AlertInstance, instance_id)
    if instance is None:
        return
    latest = session.scalar(
        select(func.max(AlertDelivery.created_at)).where(AlertDelivery.instance_id == instance_id)
    )
    statuses = set(
        session.scalars(
            select(AlertDelivery.status).where(
                AlertDelivery.instance_id == instance_id, AlertDelivery.created_at == latest
            )
        )
    )
    for status in ("failed", "pending", "sent"):
        if status in statuses:
            instance.delivery_status = status
            return


# ---------------------------------------------------------------------------------------
# The inbox: list, show, acknowledge, silence
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlertView:
    id: int
    rule_id: int
    rule_name: str
    kind: RuleKind
    severity: Severity
    dedup_key: str
    store_id: int | None
    state: AlertState
    value: float | None
    summary_zh: str
    summary_en: str
    pending_since: dt.datetime | None
    fired_at: dt.datetime | None
    resolved_at: dt.datetime | None
    last_evaluated_at: dt.datetime
    acked_at: dt.datetime | None
    acked_by: str | None
    silenced_until: dt.datetime | None
    delivery_status: str

    def summary(self, locale: str = "zh") -> str:
        return self.summary_zh if locale == "zh" else self.summary_en

    def is_silenced(self, now: dt.datetime | None = None) -> bool:
        return self.silenced_until is not None and (now or utcnow()) < self.silenced_until

    def as_json(self) -> dict[str, Any]:
        def iso(value: dt.datetime | None) -> str | None:
            return None if value is None else value.isoformat()

        return {
            "id": self.id,
            "rule": {"id": self.rule_id, "name": self.rule_name, "kind": self.kind.value},
            "severity": self.severity.value,
            "key": self.dedup_key,
            "store": self.store_id,
            "state": self.state.value,
            "value": self.value,
            "summary": {"zh": self.summary_zh, "en": self.summary_en},
            "pending_since": iso(self.pending_since),
            "fired_at": iso(self.fired_at),
            "resolved_at": iso(self.resolved_at),
            "last_evaluated_at": iso(self.last_evaluated_at),
            "acked_at": iso(self.acked_at),
            "acked_by": self.acked_by,
            "silenced_until": iso(self.silenced_until),
            "delivery_status": self.delivery_status,
        }


def _alert_view(row: AlertInstance, rule: AlertRule) -> AlertView:
    return AlertView(
        id=row.id,
        rule_id=rule.id,
        rule_name=rule.name,
        kind=RuleKind(rule.kind),
        severity=Severity(rule.severity),
        dedup_key=row.dedup_key,
        store_id=row.store_id,
        state=AlertState(row.state),
        value=row.value,
        summary_zh=row.summary_zh,
        summary_en=row.summary_en,
        pending_since=row.pending_since,
        fired_at=row.fired_at,
        resolved_at=row.resolved_at,
        last_evaluated_at=row.last_evaluated_at,
        acked_at=row.acked_at,
        acked_by=row.acked_by,
        silenced_until=row.silenced_until,
        delivery_status=row.delivery_status,
    )


def list_alerts(
    session: Session,
    *,
    states: Sequence[str] | None = ("pending", "firing"),
    store_ids: Sequence[int] | None = None,
    limit: int = 500,
) -> list[AlertView]:
    """The inbox: alerts in ``states`` (None: every state), newest first; ``store_ids`` limits
    them to stores a user may see (alerts of no store are shown to everyone)."""
    query = select(AlertInstance, AlertRule).join(AlertRule, AlertRule.id == AlertInstance.rule_id)
    if states is not None:
        query = query.where(AlertInstance.state.in_(list(states)))
    if store_ids is not None:
        query = query.where(
            AlertInstance.store_id.in_(list(store_ids)) | AlertInstance.store_id.is_(None)
        )
    query = query.order_by(AlertInstance.last_evaluated_at.desc(), AlertInstance.id.desc())
    return [_alert_view(row, rule) for row, rule in session.execute(query.limit(limit))]


@dataclass(frozen=True, slots=True)
class AlertDetail:
    alert: AlertView
    history: list[dict[str, Any]]
    deliveries: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        return {**self.alert.as_json(), "history": self.history, "deliveries": self.deliveries}


def get_alert(session: Session, alert_id: int) -> AlertDetail:
    row = session.get(AlertInstance, alert_id)
    if row is None:
        raise AlertInputError([f"alert {alert_id}: no such alert"])
    rule = session.get(AlertRule, row.rule_id)
    assert rule is not None
    events = session.scalars(
        select(AlertEvent).where(AlertEvent.instance_id == alert_id).order_by(AlertEvent.id)
    )
    deliveries = session.scalars(
        select(AlertDelivery)
        .where(AlertDelivery.instance_id == alert_id)
        .order_by(AlertDelivery.id)
    )
    return AlertDetail(
        alert=_alert_view(row, rule),
        history=[
            {
                "at": e.at.isoformat(),
                "kind": e.kind,
                "from": e.from_state,
                "to": e.to_state,
                "actor": e.actor,
                "value": e.value,
                "note": e.note,
            }
            for e in events
        ],
        deliveries=[
            {
                "id": d.id,
                "channel": d.channel_id,
                "event": d.event,
                "status": d.status,
                "attempts": d.attempts,
                "last_error": d.last_error,
                "response_status": d.response_status,
                "next_attempt_at": None
                if d.next_attempt_at is None
                else d.next_attempt_at.isoformat(),
                "sent_at": None if d.sent_at is None else d.sent_at.isoformat(),
            }
            for d in deliveries
        ],
    )


def _instance(session: Session, alert_id: int) -> AlertInstance:
    row = session.get(AlertInstance, alert_id)
    if row is None:
        raise AlertInputError([f"alert {alert_id}: no such alert"])
    return row


def ack_alert(
    session: Session,
    alert_id: int,
    *,
    actor: str,
    now: dt.datetime | None = None,
    note: str | None = None,
) -> AlertView:
    """Acknowledge a pending or firing alert: someone is on it; reminders stop."""
    now = now or utcnow()
    row = _instance(session, alert_id)
    if row.state not in (AlertState.PENDING, AlertState.FIRING):
        raise AlertInputError(
            [f"alert {alert_id}: is {row.state}; only pending or firing alerts can be acknowledged"]
        )
    row.acked_at, row.acked_by = now, actor
    session.add(AlertEvent(instance_id=row.id, at=now, kind="ack", actor=actor, note=note))
    record(
        session,
        actor=actor,
        action="alert.ack",
        entity="alert",
        entity_id=row.id,
        data={"note": note},
    )
    rule = session.get(AlertRule, row.rule_id)
    assert rule is not None
    return _alert_view(row, rule)


def silence_alert(
    session: Session,
    alert_id: int,
    *,
    until: dt.datetime | None,
    actor: str,
    now: dt.datetime | None = None,
    note: str | None = None,
) -> AlertView:
    """Suppress this alert's notifications until ``until`` (naive UTC); None lifts a silence."""
    now = now or utcnow()
    row = _instance(session, alert_id)
    if until is not None and until <= now:
        raise AlertInputError([f"silence until {until.isoformat()}: must be in the future"])
    row.silenced_until = until
    row.silenced_by = actor if until is not None else None
    session.add(
        AlertEvent(
            instance_id=row.id,
            at=now,
            kind="silence" if until is not None else "unsilence",
            actor=actor,
            note=note
            if until is None
            else f"until {until.isoformat()}" + (f": {note}" if note else ""),
        )
    )
    record(
        session,
        actor=actor,
        action="alert.silence" if until else "alert.unsilence",
        entity="alert",
        entity_id=row.id,
        data={"until": None if until is None else until.isoformat(), "note": note},
    )
    rule = session.get(AlertRule, row.rule_id)
    assert rule is not None
    return _alert_view(row, rule)


# ---------------------------------------------------------------------------------------
# For other features: the e-mail channel's SMTP settings, alerts fired in a period
# ---------------------------------------------------------------------------------------


def email_channel(session: Session, channel: int | str | None = None) -> AlertChannel:
    """The e-mail channel named by id or name, or the only enabled one when None.

    Reports are mailed through an e-mail channel's SMTP settings, so Lianxing has one SMTP
    configuration (``lianxing alert channel add --kind email``).
    """
    rows = list(
        session.scalars(
            select(AlertChannel).where(AlertChannel.kind == "email").order_by(AlertChannel.id)
        )
    )
    if channel is None:
        enabled = [r for r in rows if r.enabled]
        if len(enabled) == 1:
            return enabled[0]
        if not enabled:
            raise AlertInputError(
                [
                    "e-mail: no enabled e-mail channel; add one with "
                    "lianxing alert channel add --kind email --set host=... --set sender=..."
                ]
            )
        names = ", ".join(repr(r.name) for r in enabled)
        raise AlertInputError([f"--channel: required, there are several e-mail channels ({names})"])
    for row in rows:
        if str(channel) in (str(row.id), row.name):
            if not row.enabled:
                raise AlertInputError([f"--channel {channel!r}: the e-mail channel is disabled"])
            return row
    raise AlertInputError([f"--channel {channel!r}: no e-mail channel with this id or name"])


def email_settings(
    session: Session, cipher: Cipher, channel: int | str | None = None
) -> SmtpConfig:
    """The SMTP settings (with the decrypted password) of an e-mail channel."""
    row = email_channel(session, channel)
    return SmtpConfig.of(row.config, _secrets(cipher, row))


@dataclass(frozen=True, slots=True)
class FiredAlert:
    """One firing of an alert: when it fired, whether and when it was resolved and acked,
    and what became of its notification."""

    alert_id: int
    rule_id: int
    rule_name: str
    kind: str
    severity: str
    store_id: int | None
    summary_zh: str
    summary_en: str  # the latest observation's words
    value: float | None  # the observed value when it fired
    fired_at: dt.datetime
    resolved_at: dt.datetime | None
    acked_at: dt.datetime | None
    acked_by: str | None
    delivery_status: str  # none | pending | sent | failed (of the firing notification)


def alerts_fired(
    session: Session, *, store_ids: Sequence[int], start: dt.datetime, end: dt.datetime
) -> list[FiredAlert]:
    """Every firing of the stores' alerts in ``[start, end)`` (naive UTC), oldest first.

    Read from each alert's history, so an alert that fired, resolved and fired again in the
    period is listed twice, each time with its own resolution and acknowledgement.
    """
    if not store_ids:
        return []
    instances = {
        row.id: (row, rule)
        for row, rule in session.execute(
            select(AlertInstance, AlertRule)
            .join(AlertRule, AlertRule.id == AlertInstance.rule_id)
            .where(AlertInstance.store_id.in_(list(store_ids)))
        )
    }
    if not instances:
        return []
    events: dict[int, list[AlertEvent]] = {}
    for event in session.scalars(
        select(AlertEvent)
        .where(AlertEvent.instance_id.in_(list(instances)))
        .order_by(AlertEvent.at, AlertEvent.id)
    ):
        events.setdefault(event.instance_id, []).append(event)
    deliveries: dict[tuple[int, dt.datetime], set[str]] = {}
    for delivery in session.scalars(
        select(AlertDelivery).where(
            AlertDelivery.instance_id.in_(list(instances)), AlertDelivery.event == "firing"
        )
    ):
        deliveries.setdefault((delivery.instance_id, delivery.created_at), set()).add(
            delivery.status
        )
    fired: list[FiredAlert] = []
    for instance_id, history in events.items():
        row, rule = instances[instance_id]
        for index, event in enumerate(history):
            if not (event.kind == "transition" and event.to_state == AlertState.FIRING.value):
                continue
            if not start <= event.at < end:
                continue
            later = history[index + 1 :]
            ends = next(
                (
                    e
                    for e in later
                    if e.kind == "transition" and e.to_state != AlertState.FIRING.value
                ),
                None,
            )
            episode = [e for e in later if ends is None or e.id < ends.id]
            ack = next((e for e in episode if e.kind == "ack"), None)
            statuses = deliveries.get((instance_id, event.at), set())
            status = next((s for s in ("failed", "pending", "sent") if s in statuses), "none")
            resolved = (
                ends.at if ends is not None and ends.to_state == AlertState.RESOLVED.value else None
            )
            fired.append(
                FiredAlert(
                    alert_id=row.id,
                    rule_id=rule.id,
                    rule_name=rule.name,
                    kind=rule.kind,
                    severity=rule.severity,
                    store_id=row.store_id,
                    summary_zh=row.summary_zh,
                    summary_en=row.summary_en,
                    value=event.value,
                    fired_at=event.at,
                    resolved_at=resolved,
                    acked_at=None if ack is None else ack.at,
                    acked_by=None if ack is None else ack.actor,
                    delivery_status=status,
                )
            )
    fired.sort(key=lambda f: (f.fired_at, f.alert_id))
    return fired
