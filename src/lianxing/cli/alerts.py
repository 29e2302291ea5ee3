"""``lianxing alert ...``: channels, rules, the alert inbox (list / show / ack / silence),
and ``alert evaluate`` to run the rules now."""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from lianxing.alerts.service import (
    AlertInputError,
    ack_alert,
    add_channel,
    add_rule,
    evaluate,
    get_alert,
    list_alerts,
    list_channels,
    list_rules,
    silence_alert,
)
from lianxing.cli.common import (
    command_session,
    command_workspace,
    emit_json,
    fail,
    fail_with_problems,
)
from lianxing.cli.root import app
from lianxing.domain.alerts import RULE_KIND_NAMES, STATE_LABELS, AlertState
from lianxing.domain.time import utcnow

alert_app = typer.Typer(help="Alerts and notifications / 告警与通知", no_args_is_help=True)
rule_app = typer.Typer(help="Alert rules / 告警规则", no_args_is_help=True)
channel_app = typer.Typer(help="Notification channels / 通知渠道", no_args_is_help=True)
alert_app.add_typer(rule_app, name="rule")
alert_app.add_typer(channel_app, name="channel")
app.add_typer(alert_app, name="alert")

_DURATION = re.compile(r"^(\d+)\s*([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str, option: str) -> int:
    """Seconds in ``30s``, ``15m``, ``4h``, ``2d`` (or a bare number of seconds)."""
    value = text.strip().lower()
    if value.isdigit():
        return int(value)
    match = _DURATION.match(value)
    if not match:
        fail(f"{option} {text!r}: expected a duration such as 30s, 15m, 4h or 2d")
    return int(match.group(1)) * _UNITS[match.group(2)]


def _pairs(pairs: list[str], option: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name.strip():
            fail(f"{option} {pair!r}: expected NAME=VALUE")
        value: Any = raw.strip()
        if option == "--param" and value.startswith(("{", "[")):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                fail(f"{option} {pair!r}: the value looks like JSON but is not valid JSON")
        out[name.strip()] = value
    return out


# -- channels ---------------------------------------------------------------------------


@channel_app.command("add")
def channel_add(
    name: str = typer.Option(..., help="a name, e.g. 运营群 / ops group"),
    kind: str = typer.Option(..., help="email, webhook, feishu, dingtalk, wecom or slack"),
    locale: str = typer.Option("zh", help="language of the messages: zh or en"),
    setting: list[str] = typer.Option(  # noqa: B008
        [],
        "--set",
        help="plain setting NAME=VALUE (e-mail: host, port, security, username, "
        "sender, recipients)",
    ),
    secret: list[str] = typer.Option(  # noqa: B008
        [], "--secret", help="secret setting NAME=VALUE, stored encrypted (url, secret, password)"
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Add a notification channel / 添加通知渠道."""
    with command_workspace(AlertInputError, show=fail_with_problems) as ws, ws.session() as session:
        view = add_channel(
            session,
            ws.cipher,
            name=name,
            kind=kind,
            locale=locale,
            config=_pairs(setting, "--set"),
            secrets={k: str(v) for k, v in _pairs(secret, "--secret").items()},
            actor="cli",
        )
    if as_json:
        emit_json(view.as_json())
    else:
        print(f"channel {view.id} added: {view.name} ({view.kind}, {view.locale})")


@channel_app.command("list")
def channel_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """List notification channels (secrets are never shown) / 列出通知渠道."""
    with command_workspace() as ws, ws.session() as session:
        channels = list_channels(session, ws.cipher)
    if as_json:
        emit_json({"channels": [c.as_json() for c in channels]})
        return
    table = Table("id", "名称 / name", "kind", "locale", "secrets set")
    for c in channels:
        table.add_row(str(c.id), c.name, c.kind, c.locale, ", ".join(c.secret_fields))
    Console().print(table)


# -- rules ------------------------------------------------------------------------------


@rule_app.command("add")
def rule_add(
    name: str = typer.Option(..., help="a name people recognise, e.g. ROAS 过低 / ROAS too low"),
    kind: str = typer.Option(..., help=", ".join(k.value for k in RULE_KIND_NAMES)),
    store: int | None = typer.Option(None, help="scope: one store"),
    platform: str | None = typer.Option(None, help="scope: every store on a platform"),
    team: int | None = typer.Option(None, help="scope: an organisation's (or agency's) stores"),
    all_stores: bool = typer.Option(False, "--all", help="scope: all stores"),
    severity: str = typer.Option("warning", help="info, warning or critical"),
    param: list[str] = typer.Option(  # noqa: B008
        [],
        help="NAME=VALUE, e.g. kpi=roas op='<' threshold=2.5 period=month; "
        "metric=order_defect_rate; days_before=30; statuses=warning,bad; min_score=0.5",
    ),
    grace: str = typer.Option("0s", help="how long the condition must hold before firing"),
    repeat: str | None = typer.Option(None, help="remind every … while firing and not acked"),
    channel: list[int] = typer.Option([], help="channel id to notify (repeatable)"),  # noqa: B008
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Add an alert rule / 添加告警规则."""
    given = [
        (kind_, str(ref))
        for kind_, ref in (("store", store), ("platform", platform), ("team", team))
        if ref is not None
    ] + ([("all", "")] if all_stores else [])
    if len(given) != 1:
        fail("scope: give exactly one of --store ID, --platform ID, --team ORG_ID or --all")
    scope_kind, scope_ref = given[0]
    params = _pairs(param, "--param")
    grace_seconds = parse_duration(grace, "--grace")
    repeat_seconds = parse_duration(repeat, "--repeat") if repeat else None
    with command_session(AlertInputError, show=fail_with_problems) as session:
        view = add_rule(
            session,
            name=name,
            kind=kind,
            scope_kind=scope_kind,
            scope_ref=scope_ref,
            severity=severity,
            params=params,
            grace_seconds=grace_seconds,
            repeat_seconds=repeat_seconds,
            channel_ids=channel,
            actor="cli",
        )
    if as_json:
        emit_json(view.as_json())
    else:
        print(f"rule {view.id} added: {view.name} ({view.kind.value}, {view.scope_label})")


@rule_app.command("list")
def rule_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """List alert rules / 列出告警规则."""
    with command_session() as session:
        rules = list_rules(session)
    if as_json:
        emit_json({"rules": [r.as_json() for r in rules]})
        return
    table = Table("id", "名称 / name", "类型 / kind", "scope", "severity", "grace", "channels")
    for r in rules:
        zh, en = RULE_KIND_NAMES[r.kind]
        table.add_row(
            str(r.id),
            r.name,
            f"{zh} / {en}",
            r.scope_label,
            r.severity.value,
            f"{r.grace_seconds}s",
            ",".join(map(str, r.channel_ids)),
        )
    Console().print(table)


# -- the inbox --------------------------------------------------------------------------


@alert_app.command("list")
def alert_list(
    state: list[str] = typer.Option(  # noqa: B008
        [], help="pending, firing, resolved, ok (repeatable; default pending and firing)"
    ),
    all_states: bool = typer.Option(False, "--all", help="every state"),
    store: int | None = typer.Option(None, help="only this store's alerts"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The alert inbox / 告警列表."""
    known = [s.value for s in AlertState]
    for s in state:
        if s not in known:
            fail(f"--state {s!r}: expected one of {', '.join(known)}")
    states = None if all_states else (state or ["pending", "firing"])
    with command_session() as session:
        alerts = list_alerts(
            session, states=states, store_ids=[store] if store is not None else None
        )
    if store is not None:
        alerts = [a for a in alerts if a.store_id == store]
    if as_json:
        emit_json({"alerts": [a.as_json() for a in alerts]})
        return
    now = utcnow()
    table = Table("id", "状态 / state", "severity", "规则 / rule", "情况 / observed", "delivery")
    for a in alerts:
        zh, en = STATE_LABELS[a.state]
        flags = (" ✓ack" if a.acked_at else "") + (" 🔇" if a.is_silenced(now) else "")
        table.add_row(
            str(a.id),
            f"{zh} / {en}{flags}",
            a.severity.value,
            a.rule_name,
            a.summary_zh,
            a.delivery_status,
        )
    Console().print(table)


@alert_app.command("show")
def alert_show(alert_id: int, as_json: bool = typer.Option(False, "--json")) -> None:
    """One alert with its history and delivery log / 告警详情、历史与投递记录."""
    with command_session(AlertInputError, show=fail_with_problems) as session:
        detail = get_alert(session, alert_id)
    if as_json:
        emit_json(detail.as_json())
        return
    a = detail.alert
    print(f"#{a.id} {a.rule_name} [{a.state.value}] {a.summary_zh} / {a.summary_en}")
    for event in detail.history:
        print(
            f"  {event['at']} {event['kind']} {event['from'] or ''}→{event['to'] or ''} "
            f"{event['actor']} {event['note'] or ''}"
        )
    for d in detail.deliveries:
        print(
            f"  delivery {d['id']} channel {d['channel']} {d['event']}: {d['status']} "
            f"after {d['attempts']} attempt(s) {d['last_error'] or ''}"
        )


@alert_app.command("ack")
def alert_ack(
    alert_id: int,
    note: str | None = typer.Option(None, help="what is being done about it"),
    actor: str = typer.Option("cli", help="who acknowledges"),
) -> None:
    """Acknowledge an alert / 确认告警."""
    with command_session(AlertInputError, show=fail_with_problems) as session:
        view = ack_alert(session, alert_id, actor=actor, note=note)
    print(f"alert {view.id} acknowledged by {view.acked_by} / 已确认")


@alert_app.command("silence")
def alert_silence(
    alert_id: int,
    until: str | None = typer.Option(None, help="UTC time YYYY-MM-DDTHH:MM"),
    duration: str | None = typer.Option(None, "--for", help="e.g. 2h, 3d"),
    lift: bool = typer.Option(False, "--lift", help="end the silence now"),
    note: str | None = typer.Option(None),
    actor: str = typer.Option("cli"),
) -> None:
    """Silence an alert's notifications until a time / 静默告警至某时."""
    if [until is not None, duration is not None, lift].count(True) != 1:
        fail("give exactly one of --until TIME, --for DURATION or --lift")
    end: dt.datetime | None = None
    if until is not None:
        try:
            end = dt.datetime.fromisoformat(until)
        except ValueError:
            fail(f"--until {until!r}: expected a UTC time YYYY-MM-DDTHH:MM")
        if end.tzinfo is not None:
            end = end.astimezone(dt.UTC).replace(tzinfo=None)
    elif duration is not None:
        end = utcnow() + dt.timedelta(seconds=parse_duration(duration, "--for"))
    with command_session(AlertInputError, show=fail_with_problems) as session:
        view = silence_alert(session, alert_id, until=end, actor=actor, note=note)
    if view.silenced_until is None:
        print(f"alert {view.id}: silence lifted / 已取消静默")
    else:
        print(f"alert {view.id} silenced until {view.silenced_until.isoformat()} UTC / 已静默")


@alert_app.command("evaluate")
def alert_evaluate(
    store: int | None = typer.Option(None, help="only this store's alerts"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Run the alert rules now and send notifications / 立即评估告警规则."""
    with command_workspace() as ws:
        result = evaluate(ws, store_id=store, actor="cli")
    if as_json:
        emit_json(result.as_json())
        return
    print(
        f"{result.rules} rule(s), {result.observations} observation(s), "
        f"{len(result.transitions)} transition(s), {result.deliveries_queued} notification(s)"
    )
    for t in result.transitions:
        print(f"  alert {t['alert']} ({t['key']}): {t['from']} → {t['to']}")
    if result.delivery is not None:
        d = result.delivery
        print(f"delivery: {d.sent} sent, {d.retrying} to retry, {d.failed} failed")
    for error in result.errors:
        print(f"warning: {error}", file=sys.stderr)
