"""The jobs table: submitting once per idempotency key, claiming, running, retrying.

``execute`` is the one place a job runs, for both runners:

1. claim: a ``queued`` job (or a ``running`` one whose worker died: the queue redelivered
   it) becomes ``running`` with ``attempts + 1``; a ``done`` or ``failed`` job is skipped,
   so a duplicate delivery never runs a finished job again;
2. run the job function outside any transaction;
3. record ``done`` with its result, or on an exception ``queued`` again after a backoff
   (``failed`` once out of attempts).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import traceback
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lianxing.db.audit import record
from lianxing.db.models_alerts import Job
from lianxing.domain.time import utcnow
from lianxing.jobs.registry import JobContext, UnknownJob, get_job
from lianxing.workspace import Workspace

log = logging.getLogger(__name__)

RETRY_BASE = dt.timedelta(seconds=10)


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Outcome(StrEnum):
    DONE = "done"
    RETRY = "retry"
    FAILED = "failed"
    SKIPPED = "skipped"  # already finished (a duplicate delivery) or not found


@dataclass(frozen=True, slots=True)
class JobView:
    id: str
    kind: str
    args: dict[str, Any]
    idempotency_key: str
    status: JobStatus
    attempts: int
    result: dict[str, Any] | None
    error: str | None
    run_after: dt.datetime
    enqueued_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None

    @classmethod
    def of(cls, row: Job) -> JobView:
        return cls(
            id=row.id,
            kind=row.kind,
            args=dict(row.args),
            idempotency_key=row.idempotency_key,
            status=JobStatus(row.status),
            attempts=row.attempts,
            result=row.result,
            error=row.error,
            run_after=row.run_after,
            enqueued_at=row.enqueued_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "args": self.args,
            "idempotency_key": self.idempotency_key,
            "status": self.status.value,
            "attempts": self.attempts,
            "result": self.result,
            "error": self.error,
        }


def record_job(
    ws: Workspace,
    kind: str,
    args: dict[str, Any] | None = None,
    *,
    idempotency_key: str | None = None,
    max_attempts: int = 3,
    actor: str = "system",
) -> tuple[JobView, bool]:
    """Insert a job unless one with the same key exists; (job, created)."""
    get_job(kind)  # fail early on a job nobody can run
    key = idempotency_key or f"{kind}:{uuid.uuid4()}"
    with ws.session() as session:
        existing = session.scalar(select(Job).where(Job.idempotency_key == key))
        if existing is not None:
            return JobView.of(existing), False
    try:
        with ws.session() as session:
            row = Job(
                id=str(uuid.uuid4()),
                kind=kind,
                args=dict(args or {}),
                idempotency_key=key,
                status=JobStatus.QUEUED.value,
                attempts=0,
                max_attempts=max_attempts,
                run_after=utcnow(),
            )
            session.add(row)
            session.flush()
            record(
                session,
                actor=actor,
                action="job.submit",
                entity="job",
                entity_id=row.id,
                data={"kind": kind, "key": key, "args": row.args},
            )
            return JobView.of(row), True
    except IntegrityError:  # another process submitted the same key at the same moment
        with ws.session() as session:
            row = session.scalars(select(Job).where(Job.idempotency_key == key)).one()
            return JobView.of(row), False


def get(session: Session, job_id: str) -> JobView | None:
    row = session.get(Job, job_id)
    return None if row is None else JobView.of(row)


def list_jobs(session: Session, *, status: str | None = None, limit: int = 100) -> list[JobView]:
    query = select(Job).order_by(Job.enqueued_at.desc()).limit(limit)
    if status is not None:
        query = query.where(Job.status == status)
    return [JobView.of(r) for r in session.scalars(query)]


def due_jobs(ws: Workspace, now: dt.datetime | None = None, limit: int = 20) -> list[str]:
    now = now or utcnow()
    with ws.session() as session:
        return list(
            session.scalars(
                select(Job.id)
                .where(Job.status == JobStatus.QUEUED.value, Job.run_after <= now)
                .order_by(Job.enqueued_at)
                .limit(limit)
            )
        )


def requeue_running(ws: Workspace, *, older_than: dt.datetime) -> int:
    """Jobs left ``running`` by a process that died (embedded runner start-up)."""
    with ws.session() as session:
        count: int = session.execute(
            update(Job)
            .where(Job.status == JobStatus.RUNNING.value, Job.started_at < older_than)
            .values(status=JobStatus.QUEUED.value)
        ).rowcount  # type: ignore[attr-defined]
        return count


def _claim(ws: Workspace, job_id: str, worker: str) -> tuple[Job, int] | None:
    with ws.session() as session:
        row = session.get(Job, job_id)
        if row is None or row.status in (JobStatus.DONE, JobStatus.FAILED):
            return None
        attempts = row.attempts
        # Compare-and-set on attempts: two deliveries of one message cannot both claim it.
        claimed = session.execute(
            update(Job)
            .where(
                Job.id == job_id,
                Job.attempts == attempts,
                Job.status.in_([JobStatus.QUEUED.value, JobStatus.RUNNING.value]),
            )
            .values(
                status=JobStatus.RUNNING.value,
                attempts=attempts + 1,
                started_at=utcnow(),
                worker=worker,
            )
        ).rowcount  # type: ignore[attr-defined]
        if claimed != 1:
            return None
        session.expunge(row)
        return row, attempts + 1


def execute(ws: Workspace, job_id: str, *, worker: str = "embedded") -> tuple[Outcome, float]:
    """Run a recorded job once; (outcome, seconds until a retry is due)."""
    claim = _claim(ws, job_id, worker)
    if claim is None:
        return Outcome.SKIPPED, 0.0
    row, attempt = claim
    ctx = JobContext(ws, row.id, row.kind, attempt, row.idempotency_key)
    try:
        fn = get_job(row.kind)
        # Round-trip through JSON: what is stored is exactly what a reader gets back.
        result = json.loads(json.dumps(fn(ctx, **row.args) or {}, default=str))
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        log.warning("job %s (%s) attempt %s failed: %s", job_id, row.kind, attempt, error)
        final = attempt >= row.max_attempts or isinstance(exc, UnknownJob)
        delay = RETRY_BASE * (3 ** (attempt - 1))
        with ws.session() as session:
            job = session.get(Job, job_id)
            assert job is not None
            job.error = error + "\n" + traceback.format_exc(limit=5)
            if final:
                job.status, job.finished_at = JobStatus.FAILED.value, utcnow()
                record(
                    session,
                    actor=worker,
                    action="job.failed",
                    entity="job",
                    entity_id=job_id,
                    data={"kind": row.kind, "error": error, "attempts": attempt},
                )
            else:
                job.status, job.run_after = JobStatus.QUEUED.value, utcnow() + delay
        return (Outcome.FAILED, 0.0) if final else (Outcome.RETRY, delay.total_seconds())
    with ws.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        job.status, job.result, job.error = JobStatus.DONE.value, result, None
        job.finished_at = utcnow()
        record(
            session,
            actor=worker,
            action="job.done",
            entity="job",
            entity_id=job_id,
            data={"kind": row.kind, "attempts": attempt},
        )
    return Outcome.DONE, 0.0
