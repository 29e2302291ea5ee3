"""Generating, freezing, verifying and comparing review reports.

A generated file is frozen: its sha256, the digest of everything it shows and the KPI
values with their definition hashes are stored as a snapshot, and the sha256 goes into the
hash-chained audit log in the same transaction. The file is written only after that commit
(to a temporary name, then renamed), so a failure leaves neither a file nor a snapshot.
Later data changes cannot alter a frozen file; regenerating shows what moved.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lianxing.db.audit import record, verify
from lianxing.db.models import AuditEntry
from lianxing.db.models_reports import ReportSnapshot
from lianxing.reports.compute import ReportInputError, ReportRequest, compute_report
from lianxing.reports.html import render_html
from lianxing.reports.model import KpiChange, ReviewReport, kpi_changes
from lianxing.reports.pdf import render_pdf
from lianxing.reports.text import LANGS
from lianxing.reports.xlsx import render_xlsx
from lianxing.workspace import Workspace

RENDERERS: dict[str, Callable[[ReviewReport, str], bytes]] = {
    "html": lambda report, lang: render_html(report, lang).encode("utf-8"),
    "pdf": render_pdf,
    "xlsx": render_xlsx,
}
FORMATS = tuple(RENDERERS)


def render(report: ReviewReport, fmt: str, lang: str) -> bytes:
    if fmt not in RENDERERS:
        raise ReportInputError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
    if lang not in LANGS:
        raise ReportInputError(f"--lang: {lang!r} is not one of {', '.join(LANGS)}")
    return RENDERERS[fmt](report, lang)


@dataclass(frozen=True, slots=True)
class SnapshotView:
    id: int
    scope: str
    period: str
    format: str
    lang: str
    sha256: str
    size_bytes: int
    inputs_digest: str
    kpis: dict[str, Any]
    file_name: str | None
    audit_seq: int | None
    created_at: dt.datetime
    created_by: str

    @classmethod
    def of(cls, row: ReportSnapshot) -> SnapshotView:
        return cls(
            row.id,
            row.scope,
            row.period,
            row.format,
            row.lang,
            row.sha256,
            row.size_bytes,
            row.inputs_digest,
            dict(row.kpis),
            row.file_name,
            row.audit_seq,
            row.created_at,
            row.created_by,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "scope": self.scope,
            "period": self.period,
            "format": self.format,
            "lang": self.lang,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "inputs_digest": self.inputs_digest,
            "file_name": self.file_name,
            "audit_seq": self.audit_seq,
            "created_at": self.created_at.isoformat(timespec="seconds"),
            "created_by": self.created_by,
        }


@dataclass(frozen=True, slots=True)
class Generated:
    snapshot: SnapshotView
    report: ReviewReport
    content: bytes
    previous: SnapshotView | None  # the last snapshot of the same scope and period
    changes: list[KpiChange]  # KPIs that moved since ``previous``


def last_snapshot(session: Session, scope: str, period: str) -> ReportSnapshot | None:
    return session.scalars(
        select(ReportSnapshot)
        .where(ReportSnapshot.scope == scope, ReportSnapshot.period == period)
        .order_by(ReportSnapshot.id.desc())
        .limit(1)
    ).first()


def freeze(
    session: Session,
    report: ReviewReport,
    fmt: str,
    lang: str,
    content: bytes,
    *,
    file_name: str | None,
    actor: str,
) -> ReportSnapshot:
    """Store the snapshot and name its sha256 in the audit log (same transaction)."""
    sha256 = hashlib.sha256(content).hexdigest()
    row = ReportSnapshot(
        scope=report.scope_key,
        period=report.period,
        format=fmt,
        lang=lang,
        sha256=sha256,
        size_bytes=len(content),
        inputs_digest=report.inputs_digest(),
        kpis=report.kpi_values(),
        file_name=file_name,
        created_by=actor,
    )
    session.add(row)
    session.flush()
    entry = record(
        session,
        actor=actor,
        action="report.generate",
        entity="report_snapshot",
        entity_id=row.id,
        data={
            "sha256": sha256,
            "scope": row.scope,
            "period": row.period,
            "format": fmt,
            "lang": lang,
            "size_bytes": len(content),
            "inputs_digest": row.inputs_digest,
        },
    )
    row.audit_seq = entry.seq
    session.flush()
    return row


def generate_report(
    ws: Workspace,
    request: ReportRequest,
    *,
    fmt: str,
    lang: str = "zh",
    output: Path | None = None,
    commentary: str | None = None,
    actor: str = "cli",
    today: dt.date | None = None,
) -> Generated:
    """Compute, render, freeze and (with ``output``) write one report file."""
    report = compute_report(ws, request, today=today, commentary=commentary)
    content = render(report, fmt, lang)
    partial: Path | None = None
    if output is not None:
        partial = output.with_name(f".{output.name}.partial")
        partial.write_bytes(content)
    try:
        with ws.session() as session:
            before = last_snapshot(session, report.scope_key, report.period)
            previous = SnapshotView.of(before) if before is not None else None
            row = freeze(
                session,
                report,
                fmt,
                lang,
                content,
                file_name=output.name if output is not None else None,
                actor=actor,
            )
            snapshot = SnapshotView.of(row)
    except BaseException:
        if partial is not None:
            partial.unlink(missing_ok=True)
        raise
    if partial is not None and output is not None:
        os.replace(partial, output)
    changes = kpi_changes(previous.kpis, snapshot.kpis) if previous is not None else []
    return Generated(snapshot, report, content, previous, changes)


@dataclass(frozen=True, slots=True)
class Verification:
    ok: bool
    sha256: str
    snapshot: SnapshotView | None
    message: str

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "sha256": self.sha256,
            "snapshot": self.snapshot.as_json() if self.snapshot else None,
            "message": self.message,
        }


def verify_file(session: Session, content: bytes) -> Verification:
    """Is this exactly a file Lianxing produced? Its sha256 must be a snapshot's, and the
    audit entry naming it must be intact in an unbroken chain."""
    sha256 = hashlib.sha256(content).hexdigest()
    row = session.scalars(
        select(ReportSnapshot).where(ReportSnapshot.sha256 == sha256).order_by(ReportSnapshot.id)
    ).first()
    if row is None:
        return Verification(
            False,
            sha256,
            None,
            "不是联星生成的报告，或已被修改 / not a report Lianxing produced, or it was altered "
            f"(sha256 {sha256} is unknown)",
        )
    snapshot = SnapshotView.of(row)
    entry = session.get(AuditEntry, row.audit_seq) if row.audit_seq is not None else None
    if entry is None or entry.action != "report.generate" or entry.data.get("sha256") != sha256:
        return Verification(
            False,
            sha256,
            snapshot,
            f"snapshot {row.id} matches but its audit entry is missing "
            "or does not name this sha256",
        )
    checked, broken = verify(session)
    if broken is not None:
        return Verification(
            False, sha256, snapshot, f"the audit chain is broken at entry {broken.seq}"
        )
    return Verification(
        True,
        sha256,
        snapshot,
        f"联星生成的报告 / produced by Lianxing: snapshot {row.id}, {row.scope} {row.period} "
        f"{row.format}, {row.created_at.isoformat(timespec='seconds')} UTC by {row.created_by}; "
        f"audit entry {entry.seq} of {checked} verified",
    )


def get_snapshot(session: Session, snapshot_id: int) -> SnapshotView:
    row = session.get(ReportSnapshot, snapshot_id)
    if row is None:
        raise ReportInputError(f"SNAPSHOT_ID: no report snapshot with id {snapshot_id}")
    return SnapshotView.of(row)


def diff_snapshot(
    ws: Workspace, snapshot_id: int, *, today: dt.date | None = None
) -> tuple[SnapshotView, list[KpiChange]]:
    """What moved since a snapshot: the KPIs recomputed now against the frozen values."""
    with ws.session() as session:
        snapshot = get_snapshot(session, snapshot_id)
    request = ReportRequest.from_scope_key(snapshot.scope, snapshot.period)
    report = compute_report(ws, request, today=today)
    return snapshot, kpi_changes(snapshot.kpis, report.kpi_values())
