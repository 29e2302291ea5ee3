"""Contract pages: the list with the agencies' freeze action, one contract's clauses with
their evidence, settlement statement, SLA clocks and tickets (open, reply, resolve)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from lianxing.db.models import AccessGrant, Organisation, Store
from lianxing.domain.accounts import OrgKind
from lianxing.web.api.common import parse_day
from lianxing.web.api.contracts import (
    ContractId,
    FreezeId,
    FreezeIn,
    TicketId,
    TicketIn,
    contract_detail,
    default_as_of,
    do_freeze,
    do_lift,
    do_open,
    do_reply,
    do_resolve,
    seller_freezes,
    ticket_or_404,
    visible_contracts,
)
from lianxing.web.deps import PageCaller, check_csrf, state, transaction
from lianxing.web.templating import render

router = APIRouter()


def _go(path: str, *, message: str | None = None, error: str | None = None) -> Response:
    query = f"?message={quote(message)}" if message else f"?error={quote(error or '')}"
    return RedirectResponse(path + query, status_code=303)


@router.get("/contracts")
def contracts_page(
    request: Request,
    caller: PageCaller,
    message: str | None = Query(None, max_length=40),
    error: str | None = Query(None, max_length=500),
) -> Response:
    principal = caller.principal
    mine = [o for o in principal.seller_org_ids if principal.administers(o)]
    with transaction(request) as session:
        rows = visible_contracts(session, caller)
        freezes = seller_freezes(session, caller) if mine else []
        # Agencies that hold grants on the caller's stores: the ones a freeze can reach.
        agencies = (
            list(
                session.scalars(
                    select(Organisation)
                    .join(AccessGrant, AccessGrant.agency_org_id == Organisation.id)
                    .join(Store, Store.id == AccessGrant.store_id)
                    .where(Store.org_id.in_(mine), Organisation.kind == OrgKind.AGENCY.value)
                    .distinct()
                    .order_by(Organisation.id)
                )
            )
            if mine
            else []
        )
        names = {a.id: a.name for a in agencies}
    return render(
        request,
        "contracts.html",
        {
            "contracts": rows,
            "freezes": freezes,
            "agencies": agencies,
            "agency_names": names,
            "can_freeze": bool(mine),
            "message": message,
            "error": error,
        },
        caller=caller,
    )


@router.get("/contracts/{contract_id}")
def contract_page(
    request: Request,
    contract_id: ContractId,
    caller: PageCaller,
    as_of: str = Query("", max_length=10),
    message: str | None = Query(None, max_length=40),
    error: str | None = Query(None, max_length=500),
) -> Response:
    day = parse_day(as_of, "as_of") or default_as_of()
    web = state(request)
    with web.warehouse_lock, transaction(request) as session:
        detail = contract_detail(session, caller, web.workspace, contract_id, day)
    return render(
        request,
        "contract.html",
        {"c": detail, "message": message, "error": error},
        caller=caller,
    )


@router.post("/contracts/{contract_id}/tickets")
def open_form(
    request: Request,
    contract_id: ContractId,
    caller: PageCaller,
    severity: str = Form("medium", max_length=8),
    title: str = Form("", max_length=300),
    body: str = Form("", max_length=5000),
    csrf_token: str = Form(""),
) -> Response:
    check_csrf(caller, csrf_token, request)
    back = f"/contracts/{contract_id}"
    try:
        with transaction(request) as session:
            do_open(
                session, caller, contract_id, TicketIn(severity=severity, title=title, body=body)
            )
    except HTTPException as exc:
        if exc.status_code == 404:
            raise
        return _go(back, error=str(exc.detail))
    return _go(back, message="opened")


@router.post("/tickets/{ticket_id}/{action}")
def ticket_form(
    request: Request,
    ticket_id: TicketId,
    action: str,
    caller: PageCaller,
    body: str = Form("", max_length=5000),
    csrf_token: str = Form(""),
) -> Response:
    check_csrf(caller, csrf_token, request)
    if action not in ("reply", "resolve"):
        raise HTTPException(404, "no such action")
    with transaction(request) as session:
        ticket, _ = ticket_or_404(session, caller, ticket_id)
        back = f"/contracts/{ticket.contract_id}"
    try:
        with transaction(request) as session:
            (do_reply if action == "reply" else do_resolve)(session, caller, ticket_id, body)
    except HTTPException as exc:
        return _go(back, error=str(exc.detail))
    return _go(back, message="replied" if action == "reply" else "resolved")


@router.post("/freezes")
def freeze_form(
    request: Request,
    caller: PageCaller,
    agency: int = Form(..., ge=1, le=2**31 - 1),
    reason: str = Form("", max_length=2000),
    csrf_token: str = Form(""),
) -> Response:
    check_csrf(caller, csrf_token, request)
    try:
        with transaction(request) as session:
            do_freeze(session, caller, FreezeIn(agency_org_id=agency, reason=reason))
    except HTTPException as exc:
        return _go("/contracts", error=str(exc.detail))
    return _go("/contracts", message="frozen")


@router.post("/freezes/{freeze_id}/lift")
def lift_form(
    request: Request,
    freeze_id: FreezeId,
    caller: PageCaller,
    reason: str = Form("", max_length=2000),
    csrf_token: str = Form(""),
) -> Response:
    check_csrf(caller, csrf_token, request)
    try:
        with transaction(request) as session:
            do_lift(session, caller, freeze_id, reason)
    except HTTPException as exc:
        return _go("/contracts", error=str(exc.detail))
    return _go("/contracts", message="lifted")
