"""Dispute evidence pack (争议证据包): everything about one contract in one zip, checkable later.

The pack holds the signed contract (the YAML exactly as signed and its stored form), the KPI
definitions locked at signing, the frozen KPI snapshots of the contract's stores (review
reports), the settlement statement as of a day, the remediation plans, every ticket with the
whole exchange and its timestamps, the access grants of the stores with their revocations
and freezes, and the audit-log entries that cover all of these (hash-chained entries, each
recomputable). ``manifest.json`` lists every other file with its sha256 and size; the
manifest's own sha256 is written to the audit log when the pack is made.

:func:`verify_pack` checks that every listed file is there with its digest, that nothing
else is, and that every audit entry in the excerpt still hashes to its recorded hash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from lianxing.agencies.freeze import list_freezes
from lianxing.contracts.evaluation import evaluate_contract
from lianxing.contracts.remediation import list_plans
from lianxing.contracts.service import ContractView, get_contract_row
from lianxing.contracts.tickets import list_tickets
from lianxing.db.audit import record
from lianxing.db.models import AccessGrant, AuditEntry
from lianxing.db.models_reports import ReportSnapshot
from lianxing.domain.audit import entry_hash
from lianxing.domain.time import utcnow
from lianxing.workspace import Workspace

PACK_FORMAT = "lianxing-evidence/1"
MANIFEST = "manifest.json"


class EvidenceError(ValueError):
    """The pack cannot be built; the message says why."""


def _json(value: Any) -> bytes:
    text = json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=_default)
    return (text + "\n").encode("utf-8")


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def _audit_entry(entry: AuditEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "ts": entry.ts.isoformat(timespec="microseconds"),
        "actor": entry.actor,
        "action": entry.action,
        "entity": entry.entity,
        "entity_id": entry.entity_id,
        "data": entry.data,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


def build_pack(
    ws: Workspace, contract_id: int, out: Path, *, as_of: dt.date, actor: str = "cli"
) -> dict[str, Any]:
    """Write the pack to ``out``; returns the manifest (with its sha256 under ``sha256``)."""
    statement = evaluate_contract(ws, contract_id, as_of).to_json()
    files: dict[str, bytes] = {}
    with ws.session() as session:
        row = get_contract_row(session, contract_id)
        files["contract/signed.yaml"] = row.source_text.encode("utf-8")
        files["contract/contract.json"] = _json(
            {**ContractView.of(row).as_json(), "document": row.document}
        )
        files["kpi_definitions/locked.json"] = _json(row.definitions)
        store_ids = list(row.store_ids)
        snapshots = session.scalars(
            select(ReportSnapshot)
            .where(ReportSnapshot.scope.in_([f"store:{s}" for s in store_ids]))
            .order_by(ReportSnapshot.id)
        ).all()
        files["kpi_snapshots/report_snapshots.json"] = _json(
            [
                {
                    "id": s.id,
                    "scope": s.scope,
                    "period": s.period,
                    "format": s.format,
                    "sha256": s.sha256,
                    "inputs_digest": s.inputs_digest,
                    "kpis": s.kpis,
                    "audit_seq": s.audit_seq,
                    "created_at": _iso(s.created_at),
                    "created_by": s.created_by,
                }
                for s in snapshots
            ]
        )
        files[f"settlement/statement-{as_of.isoformat()}.json"] = _json(statement)
        plans = list_plans(session, contract_id)
        files["remediation/plans.json"] = _json([p.as_json() for p in plans])
        tickets = list_tickets(session, contract_id=contract_id)
        for ticket in tickets:
            files[f"tickets/ticket-{ticket.id}.json"] = _json(ticket.as_json())
        grants = session.scalars(
            select(AccessGrant).where(AccessGrant.store_id.in_(store_ids)).order_by(AccessGrant.id)
        ).all()
        grant_ids = {g.id for g in grants}
        freezes = [
            f
            for agency in sorted({g.agency_org_id for g in grants})
            for f in list_freezes(session, agency)
            if grant_ids.intersection(f.grant_ids)
        ]
        files["grants/grants.json"] = _json(
            {
                "grants": [
                    {
                        "id": g.id,
                        "agency_org_id": g.agency_org_id,
                        "store_id": g.store_id,
                        "scope": g.scope,
                        "created_at": _iso(g.created_at),
                        "expires_at": _iso(g.expires_at),
                        "revoked_at": _iso(g.revoked_at),
                        "revoked_reason": g.revoked_reason,
                    }
                    for g in grants
                ],
                "freezes": [f.as_json() for f in freezes],
            }
        )
        covered = [
            ("contract", [contract_id]),
            ("service_ticket", [t.id for t in tickets]),
            ("remediation_plan", [p.id for p in plans]),
            ("access_grant", sorted(grant_ids)),
            ("grant_freeze", [f.id for f in freezes]),
            ("report_snapshot", [s.id for s in snapshots]),
        ]
        conditions = [
            (AuditEntry.entity == entity) & AuditEntry.entity_id.in_([str(i) for i in ids])
            for entity, ids in covered
            if ids
        ]
        entries = session.scalars(
            select(AuditEntry).where(or_(*conditions)).order_by(AuditEntry.seq)
        ).all()
        snapshot_seqs = {s.audit_seq for s in snapshots if s.audit_seq is not None}
        extra = (
            session.scalars(
                select(AuditEntry).where(AuditEntry.seq.in_(sorted(snapshot_seqs)))
            ).all()
            if snapshot_seqs
            else []
        )
        by_seq = {e.seq: e for e in [*entries, *extra]}
        files["audit/excerpt.json"] = _json([_audit_entry(by_seq[s]) for s in sorted(by_seq)])
        manifest: dict[str, Any] = {
            "format": PACK_FORMAT,
            "contract": {"id": row.id, "number": row.number, "content_hash": row.content_hash},
            "as_of": as_of.isoformat(),
            "created_at": _iso(utcnow()),
            "created_by": actor,
            "files": [
                {"path": path, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
                for path, data in sorted(files.items())
            ],
        }
        manifest_bytes = _json(manifest)
        digest = hashlib.sha256(manifest_bytes).hexdigest()
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(out.name + ".partial")
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as pack:
            pack.writestr(MANIFEST, manifest_bytes)
            for path, data in sorted(files.items()):
                pack.writestr(path, data)
        partial.replace(out)
        record(
            session,
            actor=actor,
            action="evidence.pack",
            entity="contract",
            entity_id=contract_id,
            data={"manifest_sha256": digest, "file": out.name, "as_of": as_of.isoformat()},
        )
    return {**manifest, "sha256": digest}


@dataclass(slots=True)
class Verification:
    file: str
    manifest_sha256: str | None = None
    files_checked: int = 0
    audit_entries_checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "ok": self.ok,
            "manifest_sha256": self.manifest_sha256,
            "files_checked": self.files_checked,
            "audit_entries_checked": self.audit_entries_checked,
            "problems": self.problems,
        }


def verify_pack(path: Path) -> Verification:
    """Check a pack against its manifest; every problem is one line naming the file."""
    result = Verification(str(path))
    try:
        pack = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        result.problems.append(f"{path}: not a readable zip file ({exc})")
        return result
    with pack:
        names = set(pack.namelist())
        if MANIFEST not in names:
            result.problems.append(f"{path}: {MANIFEST} is missing")
            return result
        manifest_bytes = pack.read(MANIFEST)
        result.manifest_sha256 = hashlib.sha256(manifest_bytes).hexdigest()
        try:
            manifest = json.loads(manifest_bytes)
            listed = {f["path"]: f for f in manifest["files"]}
        except (ValueError, KeyError, TypeError) as exc:
            result.problems.append(f"{path}: {MANIFEST} is not a valid manifest ({exc})")
            return result
        if manifest.get("format") != PACK_FORMAT:
            result.problems.append(
                f"{path}: {MANIFEST}: format {manifest.get('format')!r}; expected {PACK_FORMAT!r}"
            )
        for name in sorted(names - set(listed) - {MANIFEST}):
            result.problems.append(f"{path}: {name}: not listed in the manifest")
        for name, entry in sorted(listed.items()):
            if name not in names:
                result.problems.append(f"{path}: {name}: listed in the manifest but missing")
                continue
            data = pack.read(name)
            digest = hashlib.sha256(data).hexdigest()
            result.files_checked += 1
            if digest != entry.get("sha256") or len(data) != entry.get("bytes"):
                result.problems.append(
                    f"{path}: {name}: sha256 {digest[:16]}… ({len(data)} bytes) does not match "
                    f"the manifest's {str(entry.get('sha256'))[:16]}… ({entry.get('bytes')} bytes)"
                )
        if "audit/excerpt.json" in names:
            _verify_audit(pack.read("audit/excerpt.json"), path, result)
    return result


def _verify_audit(data: bytes, path: Path, result: Verification) -> None:
    try:
        entries = json.loads(data)
    except ValueError as exc:
        result.problems.append(f"{path}: audit/excerpt.json: not JSON ({exc})")
        return
    for entry in entries:
        try:
            recomputed = entry_hash(
                seq=entry["seq"],
                ts=dt.datetime.fromisoformat(entry["ts"]),
                actor=entry["actor"],
                action=entry["action"],
                entity=entry["entity"],
                entity_id=entry["entity_id"],
                data=entry["data"],
                prev_hash=entry["prev_hash"],
            )
        except (KeyError, TypeError, ValueError) as exc:
            result.problems.append(f"{path}: audit/excerpt.json: malformed entry ({exc})")
            continue
        result.audit_entries_checked += 1
        if recomputed != entry["hash"]:
            result.problems.append(
                f"{path}: audit/excerpt.json: entry seq {entry['seq']} does not hash to its "
                "recorded hash (altered)"
            )


def recorded_pack(session: Session, manifest_sha256: str) -> int | None:
    """The audit seq that recorded a pack with this manifest digest, if this workspace made it."""
    for entry in session.scalars(
        select(AuditEntry).where(AuditEntry.action == "evidence.pack").order_by(AuditEntry.seq)
    ):
        if entry.data.get("manifest_sha256") == manifest_sha256:
            return entry.seq
    return None
