"""The shipped job functions. Each is idempotent (see ``registry``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from lianxing.alerts.service import deliver_due, evaluate
from lianxing.domain.time import utcnow
from lianxing.ingest.service import ImportOptions, import_file
from lianxing.jobs.registry import JobContext, job
from lianxing.reports.schedules import due_reports, send_scheduled


@job("alerts.evaluate")
def evaluate_alerts(ctx: JobContext, store_id: int | None = None) -> dict[str, Any]:
    """Run the alert rules (for one store after its import), then send what is due.

    Running it twice is harmless: a second evaluation of unchanged data changes no state and
    notifies nobody (the state machine notifies on transitions only).
    """
    result = evaluate(ctx.workspace, store_id=store_id, actor=f"job:{ctx.job_id}")
    return result.as_json()


@job("alerts.deliver")
def deliver_notifications(ctx: JobContext) -> dict[str, Any]:
    """Retry the deliveries whose backoff has passed."""
    return deliver_due(ctx.workspace).as_json()


@job("ingest.import_file")
def import_uploaded_file(
    ctx: JobContext,
    path: str,
    store_id: int | None,
    format_id: str | None = None,
    period_from: str | None = None,
    period_to: str | None = None,
    actor: str = "upload",
) -> dict[str, Any]:
    """Import an uploaded file, then evaluate the alert rules for its store.

    Idempotent: the warehouse merges by natural key, so a repeated import writes the same
    facts again (all rows ``unchanged``).
    """
    options = ImportOptions(
        period_from=dt.date.fromisoformat(period_from) if period_from else None,
        period_to=dt.date.fromisoformat(period_to) if period_to else None,
        actor=actor,
    )
    result = import_file(ctx.workspace, Path(path), store_id, format_id, options=options)
    alerts = evaluate(ctx.workspace, store_id=store_id, actor=f"job:{ctx.job_id}")
    return {"import": result.as_json(), "alerts": alerts.as_json()}


@job("reports.submit_due")
def submit_due_reports(ctx: JobContext, at: str | None = None) -> dict[str, Any]:
    """Submit one ``reports.send_scheduled`` job per schedule whose period's report is due.

    The idempotency key names the schedule and the period, so running this any number of
    times (several runners, several slots) submits each period's report once.
    """
    from lianxing.jobs.runner import submit  # the runner imports this module's jobs

    now = dt.datetime.fromisoformat(at) if at else utcnow()
    submitted = []
    for schedule_id, period in due_reports(ctx.workspace, now):
        job = submit(
            ctx.workspace,
            "reports.send_scheduled",
            {"schedule_id": schedule_id, "period": period, "at": now.isoformat()},
            idempotency_key=f"reports.send_scheduled:{schedule_id}:{period}",
            actor=f"job:{ctx.job_id}",
        )
        submitted.append({"schedule": schedule_id, "period": period, "job": job.id})
    return {"submitted": submitted}


@job("reports.send_scheduled")
def send_scheduled_report(
    ctx: JobContext, schedule_id: int, period: str, at: str | None = None
) -> dict[str, Any]:
    """Generate a schedule's report for ``period`` (data as of ``at``, when it became due)
    and mail it as an attachment.

    Idempotent: a period already sent (recorded per schedule and period) is skipped.
    """
    now = dt.datetime.fromisoformat(at) if at else None
    return send_scheduled(ctx.workspace, schedule_id, period, actor=f"job:{ctx.job_id}", now=now)
