"""Agency profiles: identity (GB 32100 credit code), documents in the vault, complaint and
litigation records with their source, the service record measured from tickets, and case
studies — "claimed" until a seller consents to share a frozen KPI snapshot of a store."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lianxing.contracts.tickets import sla_breaches
from lianxing.db.audit import record
from lianxing.db.models import Organisation, Store
from lianxing.db.models_agency import AgencyDocument, AgencyProfile, AgencyRecord, CaseStudy
from lianxing.db.models_contracts import Contract, ServiceTicket, SlaBreach
from lianxing.domain.accounts import OrgKind
from lianxing.domain.contract_audit import VERIFIED
from lianxing.domain.credit_code import check_credit_code
from lianxing.domain.kpi import Scope
from lianxing.domain.launch import DocumentType
from lianxing.domain.periods import PeriodError, parse_period
from lianxing.domain.time import utcnow
from lianxing.launch.vault import add_document
from lianxing.metrics.service import catalog_for, compute_matrix, kpi_json, store_infos
from lianxing.workspace import Workspace

RECORD_KINDS = ("complaint", "litigation")
DOCUMENT_KINDS = {"licence": DocumentType.BUSINESS_LICENCE, "qualification": DocumentType.OTHER}
CLAIMED = "claimed"


class AgencyError(ValueError):
    """Bad agency input; one line naming the option, the value and what was expected."""


def _text(value: str, option: str) -> str:
    text = value.strip()
    if not text:
        raise AgencyError(f"{option}: empty; expected text")
    return text


def add_agency(
    session: Session,
    *,
    legal_name: str,
    credit_code: str,
    business_scope: str,
    founded_on: dt.date | None,
    actor: str,
    org_id: int | None = None,
) -> AgencyProfile:
    check = check_credit_code(credit_code)
    if not check.valid:
        raise AgencyError(f"--credit-code: {check.problem_en} / {check.problem_zh}")
    if session.scalar(select(AgencyProfile.id).where(AgencyProfile.credit_code == check.code)):
        raise AgencyError(f"--credit-code: an agency with {check.code} already exists")
    if org_id is None:
        org = Organisation(
            name=_text(legal_name, "--name"), kind=OrgKind.AGENCY.value, registration_no=check.code
        )
        session.add(org)
        session.flush()
        org_id = org.id
    else:
        existing = session.get(Organisation, org_id)
        if existing is None or existing.kind != OrgKind.AGENCY.value:
            raise AgencyError(f"--org: no agency organisation with id {org_id}")
    profile = AgencyProfile(
        org_id=org_id,
        legal_name=_text(legal_name, "--name"),
        credit_code=check.code,
        business_scope=_text(business_scope, "--scope"),
        founded_on=founded_on,
        created_by=actor,
    )
    session.add(profile)
    session.flush()
    record(
        session,
        actor=actor,
        action="agency.add",
        entity="agency",
        entity_id=profile.id,
        data={
            "legal_name": profile.legal_name,
            "credit_code": profile.credit_code,
            "org_id": org_id,
        },
    )
    return profile


def get_agency(session: Session, agency_id: int) -> AgencyProfile:
    profile = session.get(AgencyProfile, agency_id)
    if profile is None:
        raise AgencyError(f"--agency: no agency profile with id {agency_id}")
    return profile


def add_agency_document(
    ws: Workspace,
    session: Session,
    agency_id: int,
    *,
    kind: str,
    content: bytes,
    file_name: str,
    title: str | None,
    expires_on: dt.date | None,
    actor: str,
) -> AgencyDocument:
    if kind not in DOCUMENT_KINDS:
        raise AgencyError(f"--kind: {kind!r} is not allowed; expected licence or qualification")
    profile = get_agency(session, agency_id)
    view = add_document(
        session,
        ws.cipher,
        ws.settings.vault_dir,
        content=content,
        file_name=file_name,
        doc_type=DOCUMENT_KINDS[kind],
        title=title,
        expires_on=expires_on,
        actor=actor,
        owner_org_id=profile.org_id,
    )
    link = AgencyDocument(agency_id=agency_id, document_id=view.id, kind=kind)
    session.add(link)
    session.flush()
    record(
        session,
        actor=actor,
        action="agency.document",
        entity="agency",
        entity_id=agency_id,
        data={"document": view.id, "kind": kind, "sha256": view.sha256},
    )
    return link


def add_agency_record(
    session: Session,
    agency_id: int,
    *,
    kind: str,
    source: str,
    recorded_on: dt.date,
    summary: str,
    actor: str,
) -> AgencyRecord:
    if kind not in RECORD_KINDS:
        raise AgencyError(f"--kind: {kind!r} is not allowed; expected complaint or litigation")
    get_agency(session, agency_id)
    row = AgencyRecord(
        agency_id=agency_id,
        kind=kind,
        source=_text(source, "--source"),
        recorded_on=recorded_on,
        summary=_text(summary, "--summary"),
        entered_by=actor,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor=actor,
        action="agency.record",
        entity="agency",
        entity_id=agency_id,
        data={"kind": kind, "source": row.source, "recorded_on": recorded_on.isoformat()},
    )
    return row


def service_record(session: Session, profile: AgencyProfile) -> dict[str, Any]:
    """SLA kept or breached on the tickets of contracts signed with this agency's code."""
    contract_ids = session.scalars(
        select(Contract.id).where(Contract.agency_registration == profile.credit_code)
    ).all()
    for contract_id in contract_ids:
        sla_breaches(session, contract_id=contract_id)  # record deadlines passed by now
    tickets = session.scalars(
        select(ServiceTicket).where(ServiceTicket.contract_id.in_(contract_ids))
    ).all()
    ids = [t.id for t in tickets]
    breaches = session.scalars(select(SlaBreach).where(SlaBreach.ticket_id.in_(ids))).all()
    breached = {b.ticket_id for b in breaches}
    judged = [t for t in tickets if t.response_due_at is not None]
    return {
        "contracts": len(contract_ids),
        "tickets": len(tickets),
        "with_sla": len(judged),
        "sla_kept": sum(1 for t in judged if t.id not in breached),
        "sla_breached": sum(1 for t in judged if t.id in breached),
        "breaches": {
            kind: sum(1 for b in breaches if b.kind == kind)
            for kind in ("first_response", "resolution")
        },
    }


def agency_json(session: Session, profile: AgencyProfile) -> dict[str, Any]:
    docs = session.scalars(
        select(AgencyDocument).where(AgencyDocument.agency_id == profile.id)
    ).all()
    records = session.scalars(
        select(AgencyRecord)
        .where(AgencyRecord.agency_id == profile.id)
        .order_by(AgencyRecord.recorded_on, AgencyRecord.id)
    ).all()
    cases = session.scalars(
        select(CaseStudy).where(CaseStudy.agency_id == profile.id).order_by(CaseStudy.id)
    ).all()
    return {
        "id": profile.id,
        "org_id": profile.org_id,
        "legal_name": profile.legal_name,
        "credit_code": profile.credit_code,
        "credit_code_valid": check_credit_code(profile.credit_code).valid,
        "business_scope": profile.business_scope,
        "founded_on": profile.founded_on.isoformat() if profile.founded_on else None,
        "documents": [{"document": d.document_id, "kind": d.kind} for d in docs],
        "records": [
            {
                "kind": r.kind,
                "source": r.source,
                "recorded_on": r.recorded_on.isoformat(),
                "summary": r.summary,
            }
            for r in records
        ],
        "service_record": service_record(session, profile),
        "case_studies": [case_json(c) for c in cases],
    }


def case_json(case: CaseStudy) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": case.id,
        "title": case.title,
        "claim": case.claim,
        "status": case.status,
    }
    if case.status == VERIFIED:
        body.update(
            store=case.store_id,
            consent_by=case.consent_by,
            consented_at=case.consented_at.isoformat(timespec="seconds")
            if case.consented_at
            else None,
            snapshot=case.snapshot,
            snapshot_sha256=case.snapshot_sha256,
        )
    return body


def add_case(session: Session, agency_id: int, *, title: str, claim: str, actor: str) -> CaseStudy:
    get_agency(session, agency_id)
    case = CaseStudy(
        agency_id=agency_id,
        title=_text(title, "--title"),
        claim=_text(claim, "--claim"),
        status=CLAIMED,
    )
    session.add(case)
    session.flush()
    record(
        session,
        actor=actor,
        action="case.add",
        entity="case_study",
        entity_id=case.id,
        data={"agency": agency_id, "title": case.title, "status": CLAIMED},
    )
    return case


def verify_case(
    ws: Workspace,
    case_id: int,
    *,
    store_id: int,
    period: str,
    kpis: list[str],
    consent_by: str,
) -> dict[str, Any]:
    """The seller of ``store_id`` consents: freeze the KPIs of ``period`` into the case."""
    try:
        parsed = parse_period(period)
    except PeriodError as exc:
        raise AgencyError(f"--period: {exc}") from None
    with ws.session() as session:
        case = session.get(CaseStudy, case_id)
        if case is None:
            raise AgencyError(f"CASE: no case study with id {case_id}")
        if case.status == VERIFIED:
            raise AgencyError(f"case study {case_id} is already verified; its snapshot is frozen")
        if session.get(Store, store_id) is None:
            raise AgencyError(f"--store: no store with id {store_id}")
        infos = store_infos(session)
    catalog = catalog_for(ws.settings.home_dir)
    unknown = [k for k in kpis if k not in catalog.definitions]
    if unknown:
        raise AgencyError(f"--kpi: {', '.join(unknown)} not in the KPI catalog")
    scope = Scope.store(store_id)
    matrix = compute_matrix(
        ws.warehouse, catalog, infos, scopes=[scope], periods=[parsed], kpis=kpis
    )
    snapshot = kpi_json(matrix, parsed.label, scope)
    digest = hashlib.sha256(
        json.dumps(
            snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
        ).encode("utf-8")
    ).hexdigest()
    with ws.session() as session:
        case = session.get(CaseStudy, case_id)
        assert case is not None
        case.status = VERIFIED
        case.store_id = store_id
        case.consent_by = _text(consent_by, "--consent-by")
        case.consented_at = utcnow()
        case.snapshot = json.loads(json.dumps(snapshot, default=str))
        case.snapshot_sha256 = digest
        record(
            session,
            actor=case.consent_by,
            action="case.verify",
            entity="case_study",
            entity_id=case.id,
            data={"store": store_id, "period": parsed.label, "snapshot_sha256": digest},
        )
        return case_json(case)


def case_statuses(session: Session) -> dict[int, str]:
    """Every case study's status by id, for the contract risk audit (cases.unverified)."""
    return {c.id: c.status for c in session.scalars(select(CaseStudy))}
