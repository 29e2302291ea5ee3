"""Scheduled review reports: a store's weekly or monthly review, mailed as an attachment.

A schedule names the store, the period length (``week`` | ``month``), the recipients, the
file format and language, and the e-mail alert channel whose SMTP settings send it. The
report due at a moment is the store's last complete period in its marketplace timezone
(on Monday the past ISO week, on the 1st the past month). The job scheduler
(``lianxing.jobs``) asks :func:`due_reports` on every pass and submits one job per
schedule and period (idempotency key), and :func:`send_scheduled` records each send
(unique per schedule and period), so a period is mailed once however often the scheduler
or the job runs.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lianxing.alerts.service import AlertInputError, email_channel, email_settings
from lianxing.db.audit import record
from lianxing.db.models import Store
from lianxing.db.models_report_schedules import ReportSchedule, ReportScheduleRun
from lianxing.domain.periods import Period, month_period, week_period_containing, zone
from lianxing.domain.time import utcnow
from lianxing.reports.compute import ReportRequest
from lianxing.reports.sending import send_report
from lianxing.reports.service import FORMATS, generate_report
from lianxing.reports.text import LANGS
from lianxing.workspace import Workspace

EVERY = ("week", "month")
_ADDRESS = re.compile(r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$")


class ScheduleInputError(ValueError):
    """A schedule that cannot be made; one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class ScheduleView:
    id: int
    store_id: int
    every: str
    recipients: list[str]
    format: str
    lang: str
    channel_id: int
    enabled: bool
    last_period: str | None
    last_sent_at: dt.datetime | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "store": self.store_id,
            "every": self.every,
            "to": self.recipients,
            "format": self.format,
            "lang": self.lang,
            "channel": self.channel_id,
            "enabled": self.enabled,
            "last_period": self.last_period,
            "last_sent_at": None if self.last_sent_at is None else self.last_sent_at.isoformat(),
        }


def _view(session: Session, row: ReportSchedule) -> ScheduleView:
    last = session.scalars(
        select(ReportScheduleRun)
        .where(ReportScheduleRun.schedule_id == row.id)
        .order_by(ReportScheduleRun.sent_at.desc(), ReportScheduleRun.id.desc())
        .limit(1)
    ).first()
    return ScheduleView(
        row.id,
        row.store_id,
        row.every,
        list(row.recipients),
        row.format,
        row.lang,
        row.channel_id,
        row.enabled,
        None if last is None else last.period,
        None if last is None else last.sent_at,
    )


def add_schedule(
    session: Session,
    *,
    store_id: int,
    every: str,
    recipients: Sequence[str],
    fmt: str = "pdf",
    lang: str = "zh",
    channel: int | str | None = None,
    actor: str = "cli",
) -> ScheduleView:
    """Validate and create a schedule; :class:`ScheduleInputError` lists every problem."""
    problems: list[str] = []
    if session.get(Store, store_id) is None:
        problems.append(f"--store: no store with id {store_id}")
    if every not in EVERY:
        problems.append(f"--every: {every!r}; expected week or month")
    addresses = [a.strip() for a in recipients if a.strip()]
    if not addresses:
        problems.append("--to: required (an e-mail address)")
    problems += [
        f"--to: {a!r} is not an e-mail address (name@example.com)"
        for a in addresses
        if not _ADDRESS.match(a)
    ]
    if fmt not in FORMATS:
        problems.append(f"--format: {fmt!r}; expected one of {', '.join(FORMATS)}")
    if lang not in LANGS:
        problems.append(f"--lang: {lang!r}; expected one of {', '.join(LANGS)}")
    channel_id: int | None = None
    try:
        channel_id = email_channel(session, channel).id
    except AlertInputError as exc:
        problems += exc.problems
    if problems or channel_id is None:
        raise ScheduleInputError(problems)
    row = ReportSchedule(
        store_id=store_id,
        every=every,
        recipients=addresses,
        format=fmt,
        lang=lang,
        channel_id=channel_id,
        enabled=True,
        created_by=actor,
    )
    session.add(row)
    session.flush()
    view = _view(session, row)
    record(
        session,
        actor=actor,
        action="report_schedule.create",
        entity="report_schedule",
        entity_id=row.id,
        data=view.as_json(),
    )
    return view


def list_schedules(session: Session) -> list[ScheduleView]:
    rows = session.scalars(select(ReportSchedule).order_by(ReportSchedule.id))
    return [_view(session, row) for row in rows]


def set_schedule_enabled(
    session: Session, schedule_id: int, enabled: bool, *, actor: str
) -> ScheduleView:
    row = session.get(ReportSchedule, schedule_id)
    if row is None:
        raise ScheduleInputError([f"SCHEDULE_ID: no report schedule with id {schedule_id}"])
    row.enabled = enabled
    record(
        session,
        actor=actor,
        action="report_schedule.enable" if enabled else "report_schedule.disable",
        entity="report_schedule",
        entity_id=row.id,
        data={"enabled": enabled},
    )
    return _view(session, row)


def local_today(timezone: str, now: dt.datetime) -> dt.date:
    """The marketplace's calendar day at ``now`` (naive UTC)."""
    return now.replace(tzinfo=dt.UTC).astimezone(zone(timezone)).date()


def due_period(every: str, today: dt.date) -> Period:
    """The last complete week (ISO) or month before ``today``."""
    if every == "week":
        return week_period_containing(today).previous()
    return month_period(today.year, today.month).previous()


def due_reports(ws: Workspace, now: dt.datetime | None = None) -> list[tuple[int, str]]:
    """(schedule id, period label) of every enabled schedule whose due period is not sent."""
    now = now or utcnow()
    due = []
    with ws.session() as session:
        rows = session.execute(
            select(ReportSchedule, Store.timezone)
            .join(Store, Store.id == ReportSchedule.store_id)
            .where(ReportSchedule.enabled.is_(True))
            .order_by(ReportSchedule.id)
        )
        sent = {(run.schedule_id, run.period) for run in session.scalars(select(ReportScheduleRun))}
        for schedule, timezone in rows:
            period = due_period(schedule.every, local_today(timezone, now)).label
            if (schedule.id, period) not in sent:
                due.append((schedule.id, period))
    return due


def send_scheduled(
    ws: Workspace,
    schedule_id: int,
    period: str,
    *,
    actor: str = "scheduler",
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Generate, freeze and mail one period's report of a schedule, unless already sent."""
    now = now or utcnow()
    with ws.session() as session:
        schedule = session.get(ReportSchedule, schedule_id)
        if schedule is None:
            raise ScheduleInputError([f"no report schedule with id {schedule_id}"])
        done = session.scalars(
            select(ReportScheduleRun).where(
                ReportScheduleRun.schedule_id == schedule_id, ReportScheduleRun.period == period
            )
        ).first()
        if done is not None:
            return {
                "schedule": schedule_id,
                "period": period,
                "skipped": "already sent",
                "snapshot": done.snapshot_id,
                "sha256": done.sha256,
            }
        store = session.get(Store, schedule.store_id)
        assert store is not None
        store_id, fmt, lang = schedule.store_id, schedule.format, schedule.lang
        recipients = list(schedule.recipients)
        smtp = email_settings(session, ws.cipher, schedule.channel_id)
        today = local_today(store.timezone, now)
    generated = generate_report(
        ws, ReportRequest(period, store=store_id), fmt=fmt, lang=lang, actor=actor, today=today
    )
    file_name = f"lianxing-review-store{store_id}-{period}.{fmt}"
    message = send_report(
        generated.report,
        generated.content,
        fmt=fmt,
        file_name=file_name,
        recipients=recipients,
        smtp=smtp,
        lang=lang,
        sha256=generated.snapshot.sha256,
    )
    with ws.session() as session:
        run = ReportScheduleRun(
            schedule_id=schedule_id,
            period=period,
            snapshot_id=generated.snapshot.id,
            sha256=generated.snapshot.sha256,
            recipients=recipients,
            message_id=str(message["Message-ID"]),
            details={"file_name": file_name, "size_bytes": generated.snapshot.size_bytes},
            sent_at=utcnow(),
        )
        session.add(run)
        session.flush()
        record(
            session,
            actor=actor,
            action="report_schedule.send",
            entity="report_schedule",
            entity_id=schedule_id,
            data={
                "period": period,
                "snapshot": generated.snapshot.id,
                "sha256": generated.snapshot.sha256,
                "to": recipients,
            },
        )
    return {
        "schedule": schedule_id,
        "period": period,
        "snapshot": generated.snapshot.id,
        "sha256": generated.snapshot.sha256,
        "file_name": file_name,
        "to": recipients,
    }
