"""Remediation plans (整改计划) kept in the database, and the seller's notice on a lapse.

:func:`sync_remediation` evaluates the contract, opens a row for every plan the evaluation
finds (audited), records each change of status, and when a plan lapses writes the notice
to the seller — that the exit clauses on the KPI may now be exercised — with the evidence
(the missed period, the periods measured during the cure, the exit clause's result).
The rules live in ``lianxing.domain.remediation``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lianxing.contracts.evaluation import evaluate_contract
from lianxing.db.audit import record
from lianxing.db.models_agency import RemediationPlan
from lianxing.domain.remediation import PlanStatus
from lianxing.domain.time import utcnow
from lianxing.workspace import Workspace


@dataclass(frozen=True, slots=True)
class PlanView:
    id: int
    contract_id: int
    clause: str
    status: str
    opened_on: dt.date
    cure_deadline: dt.date
    closed_on: dt.date | None
    actions: list[dict[str, Any]]
    notice: dict[str, Any] | None

    @classmethod
    def of(cls, row: RemediationPlan) -> PlanView:
        return cls(
            row.id,
            row.contract_id,
            row.clause,
            row.status,
            row.opened_on,
            row.cure_deadline,
            row.closed_on,
            list(row.actions),
            row.notice,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "contract": self.contract_id,
            "clause": self.clause,
            "status": self.status,
            "opened_on": self.opened_on.isoformat(),
            "cure_deadline": self.cure_deadline.isoformat(),
            "closed_on": self.closed_on.isoformat() if self.closed_on else None,
            "actions": self.actions,
            "notice": self.notice,
        }


def sync_remediation(
    ws: Workspace,
    contract_id: int,
    as_of: dt.date,
    *,
    actor: str = "system",
    flagged_batches: Collection[str] = (),
) -> list[PlanView]:
    """Bring the stored plans of a contract up to ``as_of``; every plan, oldest first."""
    statement = evaluate_contract(ws, contract_id, as_of, flagged_batches=flagged_batches)
    body = statement.to_json()
    exits = {c["id"]: c for c in body["clauses"] if c["kind"] == "exit"}
    with ws.session() as session:
        for plan in statement.remediation or ():
            evidence = plan.to_json()
            row = session.scalar(
                select(RemediationPlan).where(
                    RemediationPlan.contract_id == contract_id,
                    RemediationPlan.clause == plan.clause,
                    RemediationPlan.missed_start == plan.missed.window.start,
                )
            )
            if row is None:
                row = RemediationPlan(
                    contract_id=contract_id,
                    clause=plan.clause,
                    missed_start=plan.missed.window.start,
                    missed_last_day=plan.missed.window.last_day,
                    missed_value=plan.missed.value,
                    opened_on=plan.opened_on,
                    cure_deadline=plan.deadline,
                    actions=evidence["actions"],
                    status=PlanStatus.OPEN.value,
                    closed_on=None,
                    evidence=evidence,
                )
                session.add(row)
                session.flush()
                record(
                    session,
                    actor=actor,
                    action="remediation.open",
                    entity="remediation_plan",
                    entity_id=row.id,
                    data={
                        "contract": contract_id,
                        "clause": plan.clause,
                        "missed": evidence["missed"],
                        "cure_deadline": evidence["cure_deadline"],
                        "actions": evidence["actions"],
                    },
                )
            if row.status != plan.status.value:
                row.status = plan.status.value
                row.closed_on = plan.closed_on
                row.evidence = evidence
                row.updated_at = utcnow()
                record(
                    session,
                    actor=actor,
                    action=f"remediation.{plan.status.value}",
                    entity="remediation_plan",
                    entity_id=row.id,
                    data={"closed_on": evidence["closed_on"], "checked": evidence["checked"]},
                )
            if plan.status is PlanStatus.LAPSED and row.notice is None:
                _notify_seller(session, row, body["contract"], exits, evidence, actor)
        rows = session.scalars(
            select(RemediationPlan)
            .where(RemediationPlan.contract_id == contract_id)
            .order_by(RemediationPlan.opened_on, RemediationPlan.id)
        ).all()
        return [PlanView.of(r) for r in rows]


def _notify_seller(
    session: Session,
    row: RemediationPlan,
    number: str,
    exits: dict[str, dict[str, Any]],
    evidence: dict[str, Any],
    actor: str,
) -> None:
    opened = [e for e in exits.values() if e["kpi_clause"] == row.clause and e["outcome"] == "met"]
    names = ", ".join(e["id"] for e in opened) or "(none)"
    start = row.closed_on.isoformat() if row.closed_on else "?"
    row.notice = {
        "message": {
            "zh": f"合同 {number}：KPI 条款 {row.clause} 的整改期已于 "
            f"{row.cure_deadline.isoformat()} 届满，KPI 仍未达成；退出条款 {names} 自 {start} "
            "起可行使。证据见附件。",
            "en": f"contract {number}: the cure period of KPI clause {row.clause} ended "
            f"{row.cure_deadline.isoformat()} with the KPI still missed; exit clause(s) {names} "
            f"may be exercised from {start}. The evidence is attached.",
        },
        "exits": opened,
        "plan": evidence,
    }
    row.notified_at = utcnow()
    record(
        session,
        actor=actor,
        action="remediation.exit_exercisable",
        entity="remediation_plan",
        entity_id=row.id,
        data={"contract": row.contract_id, "exits": [e["id"] for e in opened], "from": start},
    )


def list_plans(session: Session, contract_id: int) -> list[PlanView]:
    rows = session.scalars(
        select(RemediationPlan)
        .where(RemediationPlan.contract_id == contract_id)
        .order_by(RemediationPlan.opened_on, RemediationPlan.id)
    ).all()
    return [PlanView.of(r) for r in rows]


def pending_notices(session: Session) -> list[PlanView]:
    """Plans whose exit notice exists (for channels that deliver it to the seller)."""
    rows = session.scalars(
        select(RemediationPlan)
        .where(RemediationPlan.notified_at.is_not(None))
        .order_by(RemediationPlan.notified_at)
    ).all()
    return [PlanView.of(r) for r in rows]
