"""The alert state machine on scripted series, conditions, messages and retry backoff."""

from __future__ import annotations

import datetime as dt

import pytest

from lianxing.domain.alerts import (
    AlertRuleError,
    AlertState,
    InstanceState,
    Locale,
    Notify,
    RetryPolicy,
    RuleKind,
    Severity,
    breaches,
    change_pct,
    check_params,
    compose_message,
    step,
)

T0 = dt.datetime(2026, 11, 2, 8, 0)
HOUR = dt.timedelta(hours=1)


def run_series(
    values: list[float | None],
    *,
    op: str = "<",
    threshold: float = 2.5,
    grace: dt.timedelta = 2 * HOUR,
    repeat: dt.timedelta | None = None,
    every: dt.timedelta = HOUR,
    silenced_until: dt.datetime | None = None,
) -> list[tuple[AlertState, Notify | None, bool]]:
    """Evaluate one subject hourly; (state, notification, suppressed) after each value."""
    state = InstanceState(silenced_until=silenced_until)
    out = []
    for i, value in enumerate(values):
        result = step(
            state, breaches(op, value, threshold), T0 + i * every, grace=grace, repeat=repeat
        )
        state = result.state
        out.append((result.state.state, result.notify, result.suppressed))
    return out


def test_grace_period_dedup_and_resolution_on_a_roas_series() -> None:
    # ROAS hourly; alert when < 2.5 for 2 hours.
    series = [3.0, 2.4, 2.0, 2.6, 2.3, 2.2, 2.1, 1.9, 1.5, 2.8, 3.1]
    states = run_series(series)
    assert [s for s, _, _ in states] == [
        AlertState.OK,  # 3.0
        AlertState.PENDING,  # 2.4 breach starts at 09:00
        AlertState.PENDING,  # 2.0 only 1 h in grace
        AlertState.OK,  # 2.6 clears before the grace ends: nothing was sent
        AlertState.PENDING,  # 2.3 at 12:00
        AlertState.PENDING,  # 2.2 at 13:00
        AlertState.FIRING,  # 2.1 at 14:00: 2 h of breach
        AlertState.FIRING,  # 1.9 still firing: deduplicated, no second notification
        AlertState.FIRING,  # 1.5
        AlertState.RESOLVED,  # 2.8
        AlertState.RESOLVED,  # 3.1 stays resolved
    ]
    notifications = [(i, n) for i, (_, n, _) in enumerate(states) if n is not None]
    assert notifications == [(6, Notify.FIRING), (9, Notify.RESOLVED)]


def test_zero_grace_fires_at_once_and_refires_after_resolution() -> None:
    states = run_series([2.0, 3.0, 2.0], grace=dt.timedelta(0))
    assert states == [
        (AlertState.FIRING, Notify.FIRING, False),
        (AlertState.RESOLVED, Notify.RESOLVED, False),
        (AlertState.FIRING, Notify.FIRING, False),
    ]


def test_undefined_value_never_breaches() -> None:
    # A ratio with a zero denominator is None: no data is not a breach.
    assert run_series([None, None], grace=dt.timedelta(0)) == [
        (AlertState.OK, None, False),
        (AlertState.OK, None, False),
    ]


def test_repeat_reminders_stop_when_acknowledged() -> None:
    state = InstanceState()
    grace, repeat = dt.timedelta(0), 3 * HOUR
    sent = []
    for i in range(8):
        if i == 5:  # someone acknowledges at 13:00
            state = InstanceState(
                state=state.state,
                pending_since=state.pending_since,
                fired_at=state.fired_at,
                last_notified_at=state.last_notified_at,
                acked=True,
            )
        result = step(state, True, T0 + i * HOUR, grace=grace, repeat=repeat)
        state = result.state
        sent.append(result.notify)
    # fires at 08:00, reminds at 11:00 (3 h later); acked at 13:00, so no reminder at 14:00
    assert sent == [Notify.FIRING, None, None, Notify.REPEAT, None, None, None, None]


def test_silence_suppresses_notifications_but_not_transitions() -> None:
    until = T0 + 2 * HOUR + dt.timedelta(minutes=30)
    states = run_series([2.0, 2.0, 3.0, 2.0], grace=dt.timedelta(0), silenced_until=until)
    assert states == [
        (AlertState.FIRING, None, True),  # 08:00 silenced
        (AlertState.FIRING, None, False),  # no transition, nothing due
        (AlertState.RESOLVED, None, True),  # 10:00 silenced
        (AlertState.FIRING, Notify.FIRING, False),  # 11:00 the silence is over
    ]


def test_operators_and_change() -> None:
    assert breaches("<", 2.4, 2.5) and not breaches("<", 2.5, 2.5)
    assert breaches("<=", 2.5, 2.5) and breaches("!=", 1.0, 2.0) and not breaches("==", 1, 2)
    with pytest.raises(AlertRuleError, match="expected one of"):
        breaches("=>", 1.0, 1.0)
    assert change_pct(80.0, 100.0) == pytest.approx(-20.0)
    assert change_pct(150.0, -100.0) == pytest.approx(250.0)
    assert change_pct(5.0, 0.0) is None and change_pct(None, 5.0) is None


def test_check_params_names_every_problem() -> None:
    with pytest.raises(AlertRuleError) as err:
        check_params(RuleKind.KPI_THRESHOLD, {"op": "=>", "threshold": "abc"})
    lines = str(err.value).splitlines()
    assert lines == [
        "param kpi: required for a kpi_threshold rule",
        "param op='=>': expected one of >, >=, <, <=, ==, !=",
        "param threshold='abc': expected a number",
    ]
    assert check_params(RuleKind.KPI_THRESHOLD, {"kpi": "roas", "op": "<", "threshold": "2.5"}) == {
        "kpi": "roas",
        "op": "<",
        "threshold": 2.5,
        "period": "month",
    }
    assert check_params(RuleKind.PACE, {})["statuses"] == ["bad"]
    assert check_params(RuleKind.TARGET_STATUS, {"statuses": "warning"})["statuses"] == ["warning"]
    assert check_params(RuleKind.DOCUMENT_EXPIRY, {})["days_before"] == 30
    with pytest.raises(AlertRuleError, match="metric='odr'"):
        check_params(RuleKind.ACCOUNT_HEALTH, {"metric": "odr", "op": ">", "threshold": 0.01})


def test_messages_in_the_recipients_language() -> None:
    common = dict(
        event=Notify.FIRING,
        severity=Severity.CRITICAL,
        rule_name="ROAS 过低 / ROAS too low",
        rule_kind=RuleKind.KPI_THRESHOLD,
        store_label="Acme US (#1 amazon US)",
        summary_zh="广告投入产出比 2026-11 = 1.8, 条件 < 2.5",
        summary_en="ROAS 2026-11 = 1.8, condition < 2.5",
        alert_id=7,
        rule_id=3,
        dedup_key="store:1",
        store_id=1,
        value=1.8,
        at=T0,
    )
    zh = compose_message(locale=Locale.ZH, **common)  # type: ignore[arg-type]
    en = compose_message(locale=Locale.EN, **common)  # type: ignore[arg-type]
    assert zh.title == "[告警][严重] ROAS 过低 / ROAS too low"
    assert zh.lines == (
        "规则类型: KPI 阈值",
        "店铺: Acme US (#1 amazon US)",
        "情况: 广告投入产出比 2026-11 = 1.8, 条件 < 2.5",
        "时间: 2026-11-02 08:00 UTC",
        "告警编号 #7",
    )
    assert en.title == "[FIRING][critical] ROAS 过低 / ROAS too low"
    assert en.lines[2] == "Observed: ROAS 2026-11 = 1.8, condition < 2.5"
    assert en.as_json()["at"] == "2026-11-02T08:00:00Z"


def test_retry_backoff() -> None:
    policy = RetryPolicy(
        max_attempts=4, base=dt.timedelta(seconds=30), factor=4, cap=dt.timedelta(minutes=10)
    )
    assert [policy.delay_after(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 120, 480, 600]
    assert policy.next_attempt(1, T0) == T0 + dt.timedelta(seconds=30)
    assert policy.next_attempt(4, T0) is None
