"""Contracts: the list, one contract's milestones / exits with their evidence and the
settlement statement (``evaluate_contract``), SLA clocks and tickets with the whole exchange;
open / reply / resolve a ticket; and the seller's freeze of an agency's access. Thin over
``lianxing.contracts`` and ``lianxing.agencies.freeze`` (as ``lianxing contract``,
``lianxing ticket`` and ``lianxing agency freeze`` call them).

Access: a contract is visible to a caller who may read every store it covers. The seller's
members open tickets; a reply is written on the caller's side (seller or agency); the agency
resolves. Freezes are for the owners and admins of a seller organisation, on its stores.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from lianxing.accounts.service import access_to
from lianxing.agencies.freeze import FreezeError, freeze_agency, lift_freeze, list_freezes
from lianxing.contracts.evaluation import evaluate_contract
from lianxing.contracts.service import ContractError, ContractView, list_contracts
from lianxing.contracts.tickets import (
    TicketError,
    TicketView,
    list_tickets,
    open_ticket,
    reply,
    resolve,
    show_ticket,
)
from lianxing.db.models import AccessGrant, Store
from lianxing.db.models_contracts import Contract as ContractRow
from lianxing.db.models_contracts import ServiceTicket
from lianxing.domain.access import Access
from lianxing.domain.time import utcnow
from lianxing.web.api.common import parse_day
from lianxing.web.deps import ApiCaller, Caller, state, transaction
from lianxing.workspace import Workspace

router = APIRouter(tags=["contracts"])
log = logging.getLogger(__name__)

ContractId = Annotated[int, Path(ge=1, le=2**31 - 1, description="contract id / 合同 ID")]
TicketId = Annotated[int, Path(ge=1, le=2**31 - 1, description="ticket id / 问题 ID")]
FreezeId = Annotated[int, Path(ge=1, le=2**31 - 1, description="freeze id / 冻结 ID")]


def _level(session: Session, caller: Caller, store_ids: list[int]) -> Access:
    """The caller's weakest access over the stores (NONE if any is out of reach)."""
    if not store_ids:
        return Access.NONE
    return min(access_to(session, caller.principal, s)[1] for s in store_ids)


def _side(session: Session, caller: Caller, store_ids: list[int]) -> str:
    """ "seller" for members of the organisation that owns the stores, else "agency"."""
    owners = set(session.scalars(select(Store.org_id).where(Store.id.in_(store_ids))))
    return "seller" if owners <= set(caller.principal.seller_org_ids) else "agency"


def visible_contracts(session: Session, caller: Caller) -> list[ContractView]:
    return [
        c for c in list_contracts(session) if _level(session, caller, c.store_ids) > Access.NONE
    ]


def contract_or_404(session: Session, caller: Caller, contract_id: int) -> ContractRow:
    row = session.get(ContractRow, contract_id)
    if row is None or _level(session, caller, list(row.store_ids)) is Access.NONE:
        raise HTTPException(404, f"no contract with id {contract_id} / 合同不存在")
    return row


def ticket_or_404(session: Session, caller: Caller, ticket_id: int) -> tuple[ServiceTicket, str]:
    """The ticket and the caller's side; 404 unless its contract is visible."""
    ticket = session.get(ServiceTicket, ticket_id)
    if ticket is None:
        raise HTTPException(404, f"no ticket with id {ticket_id} / 问题不存在")
    try:
        contract = contract_or_404(session, caller, ticket.contract_id)
    except HTTPException:
        raise HTTPException(404, f"no ticket with id {ticket_id} / 问题不存在") from None
    return ticket, _side(session, caller, list(contract.store_ids))


def contract_detail(
    session: Session, caller: Caller, ws: Workspace, contract_id: int, as_of: dt.date
) -> dict[str, Any]:
    row = contract_or_404(session, caller, contract_id)
    view = ContractView.of(row)
    try:
        statement: dict[str, Any] | None = evaluate_contract(ws, contract_id, as_of).to_json()
        error = None
    except ContractError as exc:
        statement, error = None, str(exc)
    except Exception as exc:  # the tickets stay usable when the statement cannot be computed
        log.exception("contract %s: statement as of %s failed", contract_id, as_of)
        statement = None
        error = f"the statement could not be computed / 结算单无法计算: {type(exc).__name__}: {exc}"
    tickets = list_tickets(session, contract_id=contract_id)
    return {
        **view.as_json(),
        "side": _side(session, caller, view.store_ids),
        "as_of": as_of.isoformat(),
        "statement": statement,
        "statement_error": error,
        "tickets": [t.as_json() for t in tickets],
    }


def default_as_of() -> dt.date:
    return utcnow().date() - dt.timedelta(days=1)


class TicketIn(BaseModel):
    severity: str = Field(max_length=8, description="high, medium or low")
    title: str = Field(max_length=300)
    body: str = Field(max_length=5000)
    store_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class MessageIn(BaseModel):
    body: str = Field(max_length=5000)


def do_open(session: Session, caller: Caller, contract_id: int, body: TicketIn) -> TicketView:
    row = contract_or_404(session, caller, contract_id)
    if _side(session, caller, list(row.store_ids)) != "seller":
        raise HTTPException(403, "the seller opens tickets; reply to them instead / 由卖家提出")
    if body.store_id is not None and body.store_id not in row.store_ids:
        raise HTTPException(422, f"store_id: {body.store_id} is not a store of this contract")
    try:
        return open_ticket(
            session,
            contract_id=contract_id,
            severity=body.severity,
            title=body.title,
            body=body.body,
            author=caller.principal.actor,
            store_id=body.store_id,
        )
    except TicketError as exc:
        raise HTTPException(422, str(exc)) from None


def do_reply(session: Session, caller: Caller, ticket_id: int, text: str) -> TicketView:
    _, side = ticket_or_404(session, caller, ticket_id)
    try:
        return reply(session, ticket_id, body=text, author=caller.principal.actor, side=side)
    except TicketError as exc:
        raise HTTPException(422, str(exc)) from None


def do_resolve(session: Session, caller: Caller, ticket_id: int, text: str) -> TicketView:
    _, side = ticket_or_404(session, caller, ticket_id)
    if side != "agency":
        raise HTTPException(403, "the agency resolves a ticket; reply instead / 由服务商解决")
    try:
        return resolve(session, ticket_id, body=text, author=caller.principal.actor)
    except TicketError as exc:
        raise HTTPException(422, str(exc)) from None


# ---------------------------------------------------------------------------------------
# Freezes
# ---------------------------------------------------------------------------------------


def _freeze_stores(session: Session, grant_ids: list[int]) -> set[int]:
    if not grant_ids:
        return set()
    return set(
        session.scalars(
            select(Store.org_id)
            .join(AccessGrant, AccessGrant.store_id == Store.id)
            .where(AccessGrant.id.in_(grant_ids))
        )
    )


def seller_freezes(session: Session, caller: Caller) -> list[dict[str, Any]]:
    """Freezes on the stores of the seller organisations the caller administers."""
    mine = {o for o in caller.principal.seller_org_ids if caller.principal.administers(o)}
    return [
        f.as_json()
        for f in list_freezes(session)
        if (orgs := _freeze_stores(session, f.grant_ids)) and orgs <= mine
    ]


class FreezeIn(BaseModel):
    agency_org_id: int = Field(ge=1, le=2**31 - 1)
    reason: str = Field(max_length=2000)
    seller_org_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class ReasonIn(BaseModel):
    reason: str = Field(max_length=2000)


def do_freeze(session: Session, caller: Caller, body: FreezeIn) -> dict[str, Any]:
    mine = [o for o in caller.principal.seller_org_ids if caller.principal.administers(o)]
    seller = (
        body.seller_org_id
        if body.seller_org_id is not None
        else (mine[0] if len(mine) == 1 else None)
    )
    if seller is None or seller not in mine:
        raise HTTPException(
            403, "only an owner or admin of the seller organisation freezes access / 无权限"
        )
    try:
        view = freeze_agency(
            session,
            agency_org_id=body.agency_org_id,
            reason=body.reason,
            actor=caller.principal.actor,
            seller_org_id=seller,
        )
    except FreezeError as exc:
        raise HTTPException(422, str(exc)) from None
    return view.as_json()


def do_lift(session: Session, caller: Caller, freeze_id: int, reason: str) -> dict[str, Any]:
    mine = {o for o in caller.principal.seller_org_ids if caller.principal.administers(o)}
    found = next((f for f in list_freezes(session) if f.id == freeze_id), None)
    if (
        found is None
        or not (orgs := _freeze_stores(session, found.grant_ids))
        or not (orgs <= mine)
    ):
        raise HTTPException(404, f"no freeze with id {freeze_id} / 冻结记录不存在")
    try:
        return lift_freeze(
            session, freeze_id, reason=reason, actor=caller.principal.actor
        ).as_json()
    except FreezeError as exc:
        raise HTTPException(422, str(exc)) from None


# ---------------------------------------------------------------------------------------
# Routes
# ---------------------------------------------------------------------------------------


@router.get("/contracts", summary="Contracts you may see / 合同列表")
def contracts(request: Request, caller: ApiCaller) -> dict[str, Any]:
    with transaction(request) as session:
        return {"contracts": [c.as_json() for c in visible_contracts(session, caller)]}


@router.get(
    "/contracts/{contract_id}",
    summary="Milestones, exits, settlement, SLA tickets / 里程碑、退出、结算与问题",
)
def contract(
    contract_id: ContractId,
    request: Request,
    caller: ApiCaller,
    as_of: str | None = Query(None, max_length=10, description="last day counted (YYYY-MM-DD)"),
) -> dict[str, Any]:
    day = parse_day(as_of, "as_of") or default_as_of()
    web = state(request)
    with web.warehouse_lock, transaction(request) as session:
        return contract_detail(session, caller, web.workspace, contract_id, day)


@router.post(
    "/contracts/{contract_id}/tickets", status_code=201, summary="Open a ticket / 提出问题"
)
def new_ticket(
    contract_id: ContractId, body: TicketIn, request: Request, caller: ApiCaller
) -> dict[str, Any]:
    with transaction(request) as session:
        return do_open(session, caller, contract_id, body).as_json()


@router.get("/tickets/{ticket_id}", summary="A ticket with its exchange / 问题详情")
def ticket(ticket_id: TicketId, request: Request, caller: ApiCaller) -> dict[str, Any]:
    with transaction(request) as session:
        ticket_or_404(session, caller, ticket_id)
        return show_ticket(session, ticket_id).as_json()


@router.post("/tickets/{ticket_id}/reply", summary="Reply / 回复")
def ticket_reply(
    ticket_id: TicketId, body: MessageIn, request: Request, caller: ApiCaller
) -> dict[str, Any]:
    with transaction(request) as session:
        return do_reply(session, caller, ticket_id, body.body).as_json()


@router.post("/tickets/{ticket_id}/resolve", summary="Resolve (agency) / 解决")
def ticket_resolve(
    ticket_id: TicketId, body: MessageIn, request: Request, caller: ApiCaller
) -> dict[str, Any]:
    with transaction(request) as session:
        return do_resolve(session, caller, ticket_id, body.body).as_json()


@router.get("/freezes", summary="Freezes of agencies' access to your stores / 授权冻结")
def freezes(request: Request, caller: ApiCaller) -> dict[str, Any]:
    with transaction(request) as session:
        return {"freezes": seller_freezes(session, caller)}


@router.post("/freezes", status_code=201, summary="Freeze an agency's access / 冻结服务商授权")
def freeze(body: FreezeIn, request: Request, caller: ApiCaller) -> dict[str, Any]:
    with transaction(request) as session:
        return do_freeze(session, caller, body)


@router.post("/freezes/{freeze_id}/lift", summary="Lift a freeze / 解除冻结")
def lift(freeze_id: FreezeId, body: ReasonIn, request: Request, caller: ApiCaller) -> Any:
    with transaction(request) as session:
        return do_lift(session, caller, freeze_id, body.reason)
