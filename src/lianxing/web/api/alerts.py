"""The alerts inbox: list by state, severity and store; one alert with its history and
deliveries; acknowledge; silence until a time. Thin over ``lianxing.alerts.service``.

A caller sees the alerts of the stores they may see. An alert of no store (a target or a
document of a whole seller organisation) is shown only to members of that organisation,
when its rule is scoped to it; every other store-less alert stays with the CLI.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from lianxing.accounts.service import access_to, visible_stores
from lianxing.alerts.service import (
    AlertDetail,
    AlertInputError,
    AlertView,
    ack_alert,
    get_alert,
    list_alerts,
    silence_alert,
)
from lianxing.db.models_alerts import AlertRule
from lianxing.domain.access import Access
from lianxing.domain.alerts import AlertState, Severity
from lianxing.domain.time import utcnow
from lianxing.web.deps import ApiCaller, Caller, transaction

router = APIRouter(tags=["alerts"])

AlertId = Annotated[int, Path(ge=1, le=2**31 - 1, description="alert id / 预警 ID")]
STATE_CHOICES = ("open", "all", *(s.value for s in AlertState))
OPEN_STATES = (AlertState.PENDING.value, AlertState.FIRING.value)


def _team_of(session: Session, rule_ids: set[int]) -> dict[int, int | None]:
    """Rule id -> the seller organisation it is scoped to (None for other scopes)."""
    if not rule_ids:
        return {}
    rows = session.execute(
        select(AlertRule.id, AlertRule.scope_kind, AlertRule.scope_ref).where(
            AlertRule.id.in_(sorted(rule_ids))
        )
    )
    return {
        rule_id: int(ref) if kind == "team" and ref.isdigit() else None
        for rule_id, kind, ref in rows
    }


def alerts_for(
    session: Session,
    caller: Caller,
    *,
    state: str = "open",
    severity: str | None = None,
    store_id: int | None = None,
) -> list[AlertView]:
    """The caller's inbox, filtered; unknown filter values are a 422."""
    if state not in STATE_CHOICES:
        raise HTTPException(422, f"state: {state!r}; expected one of {', '.join(STATE_CHOICES)}")
    if severity not in (None, *(s.value for s in Severity)):
        raise HTTPException(422, f"severity: {severity!r}; expected info, warning or critical")
    visible = {s.id for s, _ in visible_stores(session, caller.principal)}
    states = OPEN_STATES if state == "open" else None if state == "all" else (state,)
    rows = list_alerts(session, states=states, store_ids=sorted(visible))
    teams = _team_of(session, {a.rule_id for a in rows if a.store_id is None})
    own = set(caller.principal.seller_org_ids)
    return [
        a
        for a in rows
        if (a.store_id in visible if a.store_id is not None else teams.get(a.rule_id) in own)
        and (severity is None or a.severity.value == severity)
        and (store_id is None or a.store_id == store_id)
    ]


def alert_or_404(
    session: Session, caller: Caller, alert_id: int, need: Access = Access.READ
) -> AlertDetail:
    """One alert the caller may see (404 otherwise, as if it did not exist), 403 if too weak."""
    missing = HTTPException(404, f"no alert with id {alert_id} / 预警不存在")
    try:
        detail = get_alert(session, alert_id)
    except AlertInputError:
        raise missing from None
    alert = detail.alert
    if alert.store_id is not None:
        _, level = access_to(session, caller.principal, alert.store_id)
    else:
        team = _team_of(session, {alert.rule_id}).get(alert.rule_id)
        if team is None or team not in caller.principal.seller_org_ids:
            level = Access.NONE
        else:
            level = Access.MANAGE if caller.principal.administers(team) else Access.READ
    if level is Access.NONE:
        raise missing
    if level < need:
        raise HTTPException(
            403,
            f"alert {alert_id}: your access is {level.name.lower()}, this needs "
            f"{need.name.lower()} / 权限不足",
        )
    return detail


class AckIn(BaseModel):
    note: str | None = Field(default=None, max_length=500)


class SilenceIn(BaseModel):
    until: dt.datetime | None = Field(
        description="silence notifications until (UTC); null lifts the silence / 静默至"
    )
    note: str | None = Field(default=None, max_length=500)


def naive_utc(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def do_ack(session: Session, caller: Caller, alert_id: int, note: str | None) -> AlertView:
    alert_or_404(session, caller, alert_id, Access.OPERATE)
    try:
        return ack_alert(session, alert_id, actor=caller.principal.actor, note=note or None)
    except AlertInputError as exc:
        raise HTTPException(422, "; ".join(exc.problems)) from None


def do_silence(
    session: Session,
    caller: Caller,
    alert_id: int,
    until: dt.datetime | None,
    note: str | None,
) -> AlertView:
    alert_or_404(session, caller, alert_id, Access.OPERATE)
    try:
        return silence_alert(
            session,
            alert_id,
            until=naive_utc(until),
            actor=caller.principal.actor,
            note=note or None,
        )
    except AlertInputError as exc:
        raise HTTPException(422, "; ".join(exc.problems)) from None


@router.get("/alerts", summary="The alerts inbox / 预警收件箱")
def list_inbox(
    request: Request,
    caller: ApiCaller,
    state: str = Query("open", max_length=16, description="open, all, ok, pending, firing, …"),
    severity: str | None = Query(None, max_length=16),
    store: int | None = Query(None, ge=1, le=2**31 - 1),
) -> dict[str, Any]:
    with transaction(request) as session:
        rows = alerts_for(session, caller, state=state, severity=severity, store_id=store)
        return {"alerts": [a.as_json() for a in rows], "now": utcnow().isoformat()}


@router.get("/alerts/{alert_id}", summary="One alert: history and deliveries / 预警详情")
def show_alert(alert_id: AlertId, request: Request, caller: ApiCaller) -> dict[str, Any]:
    with transaction(request) as session:
        return alert_or_404(session, caller, alert_id).as_json()


@router.post("/alerts/{alert_id}/ack", summary="Acknowledge / 确认")
def acknowledge(
    alert_id: AlertId, body: AckIn, request: Request, caller: ApiCaller
) -> dict[str, Any]:
    with transaction(request) as session:
        return do_ack(session, caller, alert_id, body.note).as_json()


@router.post("/alerts/{alert_id}/silence", summary="Silence until a time / 静默")
def silence(
    alert_id: AlertId, body: SilenceIn, request: Request, caller: ApiCaller
) -> dict[str, Any]:
    with transaction(request) as session:
        return do_silence(session, caller, alert_id, body.until, body.note).as_json()
