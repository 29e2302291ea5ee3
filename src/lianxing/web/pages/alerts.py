"""The alerts inbox page and one alert (history, deliveries, acknowledge, silence)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from lianxing.accounts.service import visible_stores
from lianxing.domain.access import Access
from lianxing.domain.alerts import AlertState, Severity
from lianxing.domain.time import utcnow
from lianxing.web.api.alerts import (
    STATE_CHOICES,
    AlertId,
    alert_or_404,
    alerts_for,
    do_ack,
    do_silence,
)
from lianxing.web.api.common import parse_instant
from lianxing.web.deps import PageCaller, check_csrf, transaction
from lianxing.web.templating import render

router = APIRouter()


@router.get("/alerts")
def alerts_page(
    request: Request,
    caller: PageCaller,
    state: str = Query("open", max_length=16),
    severity: str = Query("", max_length=16),
    store: str = Query("", max_length=12),
) -> Response:
    store_id = int(store) if store.isdigit() else None
    with transaction(request) as session:
        stores = visible_stores(session, caller.principal)
        rows = alerts_for(
            session, caller, state=state, severity=severity or None, store_id=store_id
        )
    return render(
        request,
        "alerts.html",
        {
            "alerts": rows,
            "stores": [s for s, _ in stores],
            "store_names": {s.id: s.name for s, _ in stores},
            "state": state,
            "severity": severity,
            "store_id": store_id,
            "states": STATE_CHOICES,
            "severities": [s.value for s in Severity],
            "now": utcnow(),
        },
        caller=caller,
    )


@router.get("/alerts/{alert_id}")
def alert_page(
    request: Request,
    alert_id: AlertId,
    caller: PageCaller,
    message: str | None = Query(None, max_length=200),
    error: str | None = Query(None, max_length=500),
) -> Response:
    with transaction(request) as session:
        detail = alert_or_404(session, caller, alert_id)
        can_act = True
        try:
            alert_or_404(session, caller, alert_id, Access.OPERATE)
        except HTTPException:
            can_act = False
        store_name = None
        if detail.alert.store_id is not None:
            store_name = {s.id: s.name for s, _ in visible_stores(session, caller.principal)}.get(
                detail.alert.store_id
            )
    open_states = (AlertState.PENDING, AlertState.FIRING)
    return render(
        request,
        "alert.html",
        {
            "detail": detail,
            "a": detail.alert,
            "store_name": store_name,
            "can_act": can_act,
            "can_ack": can_act and detail.alert.state in open_states and not detail.alert.acked_at,
            "now": utcnow(),
            "message": message,
            "error": error,
        },
        caller=caller,
    )


def _back(alert_id: int, *, message: str | None = None, error: str | None = None) -> Response:
    query = f"?message={quote(message)}" if message else f"?error={quote(error or '')}"
    return RedirectResponse(f"/alerts/{alert_id}{query}", status_code=303)


@router.post("/alerts/{alert_id}/ack")
def ack_form(
    request: Request,
    alert_id: AlertId,
    caller: PageCaller,
    note: str = Form("", max_length=500),
    csrf_token: str = Form(""),
) -> Response:
    check_csrf(caller, csrf_token, request)
    try:
        with transaction(request) as session:
            do_ack(session, caller, alert_id, note)
    except HTTPException as exc:
        if exc.status_code == 404:
            raise
        return _back(alert_id, error=str(exc.detail))
    return _back(alert_id, message="acknowledged")


@router.post("/alerts/{alert_id}/silence")
def silence_form(
    request: Request,
    alert_id: AlertId,
    caller: PageCaller,
    until: str = Form("", max_length=40),
    lift: bool = Form(False),
    note: str = Form("", max_length=500),
    csrf_token: str = Form(""),
) -> Response:
    check_csrf(caller, csrf_token, request)
    try:
        moment = None if lift else parse_instant(until, "until")
        if moment is None and not lift:
            raise HTTPException(
                422, "until: empty; expected a date-time (UTC) / 请填写静默截止时间"
            )
        with transaction(request) as session:
            do_silence(session, caller, alert_id, moment, note)
    except HTTPException as exc:
        if exc.status_code == 404:
            raise
        return _back(alert_id, error=str(exc.detail))
    return _back(alert_id, message="unsilenced" if lift else "silenced")
