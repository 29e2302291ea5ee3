"""Service tickets (问题清单): the seller raises an issue, the agency answers, SLA clocks run.

The whole exchange is kept as messages; every change is audited. Breaches are recorded
once per ticket and kind (first response, resolution), either when the late answer
arrives or when :func:`sla_breaches` sees a deadline pass with no answer — the alerts
feature calls that function on its schedule.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lianxing.contracts.service import ContractError, get_contract_row, stored_contract
from lianxing.db.audit import record
from lianxing.db.models import Store
from lianxing.db.models_contracts import ServiceTicket, SlaBreach, TicketMessage
from lianxing.domain.contracts import Severity
from lianxing.domain.tickets import (
    BreachKind,
    Deadlines,
    Side,
    TicketStatus,
    breaches,
    deadlines,
)
from lianxing.domain.time import utcnow


class TicketError(ValueError):
    """Bad ticket input; the message says what was expected."""


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


@dataclass(frozen=True, slots=True)
class BreachView:
    ticket_id: int
    contract_id: int
    severity: str
    title: str
    kind: str
    due_at: dt.datetime
    detected_at: dt.datetime
    fulfilled_at: dt.datetime | None

    def as_json(self) -> dict[str, Any]:
        return {
            "ticket": self.ticket_id,
            "contract": self.contract_id,
            "severity": self.severity,
            "title": self.title,
            "kind": self.kind,
            "due_at": _iso(self.due_at),
            "detected_at": _iso(self.detected_at),
            "fulfilled_at": _iso(self.fulfilled_at),
        }


@dataclass(frozen=True, slots=True)
class TicketView:
    id: int
    contract_id: int
    store_id: int | None
    severity: str
    title: str
    status: str
    opened_at: dt.datetime
    opened_by: str
    response_due_at: dt.datetime | None
    resolution_due_at: dt.datetime | None
    first_response_at: dt.datetime | None
    resolved_at: dt.datetime | None
    breaches: list[str]
    messages: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "contract": self.contract_id,
            "store": self.store_id,
            "severity": self.severity,
            "title": self.title,
            "status": self.status,
            "opened_at": _iso(self.opened_at),
            "opened_by": self.opened_by,
            "response_due_at": _iso(self.response_due_at),
            "resolution_due_at": _iso(self.resolution_due_at),
            "first_response_at": _iso(self.first_response_at),
            "resolved_at": _iso(self.resolved_at),
            "breaches": self.breaches,
            "messages": self.messages,
        }


def _view(session: Session, ticket: ServiceTicket) -> TicketView:
    messages = session.scalars(
        select(TicketMessage).where(TicketMessage.ticket_id == ticket.id).order_by(TicketMessage.id)
    ).all()
    kinds = session.scalars(
        select(SlaBreach.kind).where(SlaBreach.ticket_id == ticket.id).order_by(SlaBreach.id)
    ).all()
    return TicketView(
        id=ticket.id,
        contract_id=ticket.contract_id,
        store_id=ticket.store_id,
        severity=ticket.severity,
        title=ticket.title,
        status=ticket.status,
        opened_at=ticket.opened_at,
        opened_by=ticket.opened_by,
        response_due_at=ticket.response_due_at,
        resolution_due_at=ticket.resolution_due_at,
        first_response_at=ticket.first_response_at,
        resolved_at=ticket.resolved_at,
        breaches=list(kinds),
        messages=[
            {"at": _iso(m.at), "author": m.author, "side": m.side, "kind": m.kind, "body": m.body}
            for m in messages
        ],
    )


def _text(value: str, option: str) -> str:
    text = value.strip()
    if not text:
        raise TicketError(f"{option}: empty; expected text")
    return text


def open_ticket(
    session: Session,
    *,
    contract_id: int,
    severity: str,
    title: str,
    body: str,
    author: str,
    at: dt.datetime | None = None,
    store_id: int | None = None,
) -> TicketView:
    """The seller raises an issue; deadlines come from the contract's SLA for the severity."""
    try:
        level = Severity(severity)
    except ValueError:
        raise TicketError(
            f"--severity: {severity!r} is not allowed; expected one of high, medium, low"
        ) from None
    try:
        row = get_contract_row(session, contract_id)
    except ContractError as exc:
        raise TicketError(str(exc)) from None
    if store_id is not None and (store_id not in row.store_ids or not session.get(Store, store_id)):
        raise TicketError(
            f"--store: store {store_id} is not covered by contract {contract_id} "
            f"(its stores: {', '.join(map(str, row.store_ids))})"
        )
    opened = at or utcnow()
    due = deadlines(opened, stored_contract(row).sla.get(level))
    ticket = ServiceTicket(
        contract_id=contract_id,
        store_id=store_id,
        severity=level.value,
        title=_text(title, "--title"),
        status=TicketStatus.OPEN.value,
        opened_at=opened,
        opened_by=author,
        response_due_at=due.first_response,
        resolution_due_at=due.resolution,
    )
    session.add(ticket)
    session.flush()
    session.add(
        TicketMessage(
            ticket_id=ticket.id,
            at=opened,
            author=author,
            side=Side.SELLER.value,
            kind="open",
            body=_text(body, "--body"),
        )
    )
    record(
        session,
        actor=author,
        action="ticket.open",
        entity="service_ticket",
        entity_id=ticket.id,
        data={"contract": contract_id, "severity": level.value, "title": ticket.title},
    )
    session.flush()
    return _view(session, ticket)


def _ticket(session: Session, ticket_id: int) -> ServiceTicket:
    ticket = session.get(ServiceTicket, ticket_id)
    if ticket is None:
        raise TicketError(f"no ticket with id {ticket_id}")
    return ticket


def reply(
    session: Session,
    ticket_id: int,
    *,
    body: str,
    author: str,
    side: str,
    at: dt.datetime | None = None,
) -> TicketView:
    """A message from either side; the agency's first one is the first response."""
    ticket = _ticket(session, ticket_id)
    try:
        who = Side(side)
    except ValueError:
        raise TicketError(f"--side: {side!r} is not allowed; expected seller or agency") from None
    if ticket.status == TicketStatus.RESOLVED.value:
        raise TicketError(f"ticket {ticket_id} is resolved; open a new ticket")
    when = at or utcnow()
    if when < ticket.opened_at:
        raise TicketError(f"--at: {when.isoformat()} is before the ticket was opened")
    session.add(
        TicketMessage(
            ticket_id=ticket.id,
            at=when,
            author=author,
            side=who.value,
            kind="reply",
            body=_text(body, "--body"),
        )
    )
    if who is Side.AGENCY and ticket.first_response_at is None:
        ticket.first_response_at = when
        ticket.status = TicketStatus.RESPONDED.value
    record(
        session,
        actor=author,
        action="ticket.reply",
        entity="service_ticket",
        entity_id=ticket.id,
        data={"side": who.value, "at": when.isoformat()},
    )
    _record_breaches(session, ticket, when)
    session.flush()
    return _view(session, ticket)


def resolve(
    session: Session,
    ticket_id: int,
    *,
    body: str,
    author: str,
    at: dt.datetime | None = None,
) -> TicketView:
    """The agency resolves the issue (a resolution is also a response)."""
    ticket = _ticket(session, ticket_id)
    if ticket.status == TicketStatus.RESOLVED.value:
        raise TicketError(f"ticket {ticket_id} is already resolved")
    when = at or utcnow()
    if when < ticket.opened_at:
        raise TicketError(f"--at: {when.isoformat()} is before the ticket was opened")
    session.add(
        TicketMessage(
            ticket_id=ticket.id,
            at=when,
            author=author,
            side=Side.AGENCY.value,
            kind="resolve",
            body=_text(body, "--body"),
        )
    )
    ticket.first_response_at = ticket.first_response_at or when
    ticket.resolved_at = when
    ticket.status = TicketStatus.RESOLVED.value
    record(
        session,
        actor=author,
        action="ticket.resolve",
        entity="service_ticket",
        entity_id=ticket.id,
        data={"at": when.isoformat()},
    )
    _record_breaches(session, ticket, when)
    session.flush()
    return _view(session, ticket)


def _record_breaches(session: Session, ticket: ServiceTicket, now: dt.datetime) -> list[SlaBreach]:
    found = breaches(
        Deadlines(ticket.response_due_at, ticket.resolution_due_at),
        first_response_at=ticket.first_response_at,
        resolved_at=ticket.resolved_at,
        now=now,
    )
    existing = {
        b.kind: b
        for b in session.scalars(select(SlaBreach).where(SlaBreach.ticket_id == ticket.id)).all()
    }
    new: list[SlaBreach] = []
    for breach in found:
        row = existing.get(breach.kind.value)
        if row is None:
            row = SlaBreach(
                ticket_id=ticket.id,
                kind=breach.kind.value,
                due_at=breach.due_at,
                detected_at=now,
                fulfilled_at=breach.fulfilled_at,
            )
            session.add(row)
            new.append(row)
            record(
                session,
                actor="system",
                action="ticket.sla_breach",
                entity="service_ticket",
                entity_id=ticket.id,
                data={"kind": breach.kind.value, "due_at": breach.due_at.isoformat()},
            )
        elif row.fulfilled_at is None and breach.fulfilled_at is not None:
            row.fulfilled_at = breach.fulfilled_at  # the late answer finally came
    return new


def sla_breaches(
    session: Session, *, now: dt.datetime | None = None, contract_id: int | None = None
) -> list[BreachView]:
    """Record every deadline passed by ``now`` and return all breaches (for alerts and lists)."""
    moment = now or utcnow()
    query = select(ServiceTicket).order_by(ServiceTicket.id)
    if contract_id is not None:
        query = query.where(ServiceTicket.contract_id == contract_id)
    tickets = session.scalars(query).all()
    for ticket in tickets:
        _record_breaches(session, ticket, moment)
    session.flush()
    by_id = {t.id: t for t in tickets}
    rows = session.scalars(
        select(SlaBreach)
        .where(SlaBreach.ticket_id.in_(list(by_id)))
        .order_by(SlaBreach.ticket_id, SlaBreach.id)
    ).all()
    return [
        BreachView(
            ticket_id=r.ticket_id,
            contract_id=by_id[r.ticket_id].contract_id,
            severity=by_id[r.ticket_id].severity,
            title=by_id[r.ticket_id].title,
            kind=BreachKind(r.kind).value,
            due_at=r.due_at,
            detected_at=r.detected_at,
            fulfilled_at=r.fulfilled_at,
        )
        for r in rows
    ]


def list_tickets(
    session: Session,
    *,
    contract_id: int | None = None,
    open_only: bool = False,
    now: dt.datetime | None = None,
) -> list[TicketView]:
    sla_breaches(session, now=now, contract_id=contract_id)
    query = select(ServiceTicket).order_by(ServiceTicket.id)
    if contract_id is not None:
        query = query.where(ServiceTicket.contract_id == contract_id)
    if open_only:
        query = query.where(ServiceTicket.status != TicketStatus.RESOLVED.value)
    return [_view(session, t) for t in session.scalars(query).all()]


def show_ticket(session: Session, ticket_id: int) -> TicketView:
    return _view(session, _ticket(session, ticket_id))
