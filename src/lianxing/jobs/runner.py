"""Running jobs: the embedded runner (inside ``lianxing serve``) and the queue worker.

Both run the same job functions through ``store.execute``. The embedded runner polls the
jobs table from a thread; the worker consumes the Dramatiq queue. Both also run the
schedule: alert evaluation, delivery retries and the look for due scheduled reports every
few minutes, submitted with an idempotency key per time slot, so that several runners never
do a slot twice (and each scheduled report once per period, keyed by schedule and period).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lianxing.config import Settings, get_settings
from lianxing.domain.time import utcnow
from lianxing.jobs.queue import JobQueue
from lianxing.jobs.registry import load_modules
from lianxing.jobs.store import (
    JobStatus,
    JobView,
    due_jobs,
    execute,
    record_job,
    requeue_running,
)
from lianxing.workspace import Workspace, open_workspace

log = logging.getLogger(__name__)

_queues: dict[str, JobQueue] = {}
_queues_lock = threading.Lock()


def _queue_for(settings: Settings) -> JobQueue | None:
    if not settings.queue_url:
        return None
    with _queues_lock:
        queue = _queues.get(settings.queue_url)
        if queue is None:
            queue = _queues[settings.queue_url] = JobQueue(settings.queue_url, settings)
        return queue


def submit(
    ws: Workspace,
    kind: str,
    args: dict[str, Any] | None = None,
    *,
    idempotency_key: str | None = None,
    max_attempts: int = 3,
    actor: str = "system",
) -> JobView:
    """Record a job (once per key) and hand it to the queue, or leave it to the embedded runner.

    Submitting a key that exists returns the existing job and runs nothing again.
    """
    job, created = record_job(
        ws, kind, args, idempotency_key=idempotency_key, max_attempts=max_attempts, actor=actor
    )
    queue = _queue_for(ws.settings)
    if created and queue is not None:
        queue.publish(job.id)
    return job


@dataclass(frozen=True, slots=True)
class Schedule:
    """Periodic jobs; None switches one off."""

    evaluate_every: dt.timedelta | None = dt.timedelta(minutes=15)
    deliver_every: dt.timedelta | None = dt.timedelta(minutes=1)
    # Looks for scheduled reports that are due (``reports.submit_due``).
    reports_every: dt.timedelta | None = dt.timedelta(minutes=15)


def slot_key(kind: str, every: dt.timedelta, now: dt.datetime) -> str:
    """The idempotency key of the time slot ``now`` falls in, e.g. alerts.evaluate@…T10:15."""
    seconds = int(every.total_seconds())
    epoch = int(now.replace(tzinfo=dt.UTC).timestamp())
    start = dt.datetime.fromtimestamp(epoch - epoch % seconds, dt.UTC).replace(tzinfo=None)
    return f"{kind}@{start.isoformat()}"


def run_schedule(ws: Workspace, schedule: Schedule, now: dt.datetime | None = None) -> list[str]:
    """Submit this slot's periodic jobs (a no-op for slots already submitted)."""
    now = now or utcnow()
    submitted = []
    for kind, every in (
        ("alerts.evaluate", schedule.evaluate_every),
        ("alerts.deliver", schedule.deliver_every),
        ("reports.submit_due", schedule.reports_every),
    ):
        if every is None:
            continue
        # The report look-up is told the slot's time: what is due follows from it alone.
        args = {"at": now.isoformat(timespec="seconds")} if kind == "reports.submit_due" else {}
        job = submit(ws, kind, args, idempotency_key=slot_key(kind, every, now), actor="scheduler")
        submitted.append(job.id)
    return submitted


class EmbeddedRunner:
    """Runs jobs in a background thread of the current process (the default, no queue).

    The web app starts it in its lifespan::

        runner = EmbeddedRunner(settings)
        runner.start()
        ...
        runner.stop()

    ``run_pending()`` runs what is due once, synchronously (tests, ``lianxing worker`` without
    a queue).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        poll_seconds: float = 1.0,
        schedule: Schedule | None = Schedule(),
    ) -> None:
        self.settings = settings or get_settings()
        self.poll_seconds = poll_seconds
        self.schedule = schedule
        self.name = f"embedded:{socket.gethostname()}:{os.getpid()}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._workspace: Workspace | None = None

    @property
    def workspace(self) -> Workspace:
        if self._workspace is None:
            self._workspace = open_workspace(self.settings)
        return self._workspace

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        load_modules()
        # Jobs this process's predecessor left running died with it.
        requeue_running(self.workspace, older_than=utcnow())
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="lianxing-jobs", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._workspace is not None:
            self._workspace.close()
            self._workspace = None

    def run_pending(self) -> int:
        """Run every due job once; the number run."""
        count = 0
        for job_id in due_jobs(self.workspace):
            execute(self.workspace, job_id, worker=self.name)
            count += 1
        return count

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                if self.schedule is not None:
                    run_schedule(self.workspace, self.schedule)
                ran = self.run_pending()
            except Exception:
                log.exception("embedded job runner pass failed")
                ran = 0
            if not ran:
                self._stop.wait(self.poll_seconds)


class QueueWorker:
    """``lianxing worker``: consumes the Dramatiq queue, sweeps lost jobs, runs the schedule."""

    def __init__(
        self,
        settings: Settings,
        *,
        threads: int = 2,
        modules: Sequence[str] = (),
        schedule: Schedule | None = Schedule(),
        sweep_after: dt.timedelta = dt.timedelta(minutes=1),
    ) -> None:
        if not settings.queue_url:
            raise ValueError("QueueWorker needs LIANXING_QUEUE_URL")
        load_modules(list(modules))
        self.settings = settings
        self.queue = _queue_for(settings)
        assert self.queue is not None
        self.threads = threads
        self.schedule = schedule
        self.sweep_after = sweep_after
        self._stop = threading.Event()

    def run(self) -> None:
        """Block until :meth:`stop` (or SIGINT/SIGTERM handled by the caller)."""
        from dramatiq import Worker

        assert self.queue is not None
        worker = Worker(self.queue.broker, worker_threads=self.threads, worker_timeout=500)
        worker.start()
        ws = open_workspace(self.settings)
        try:
            while not self._stop.is_set():
                try:
                    if self.schedule is not None:
                        run_schedule(ws, self.schedule)
                    self._sweep(ws)
                except Exception:
                    log.exception("worker schedule pass failed")
                self._stop.wait(5.0)
        finally:
            worker.stop()
            ws.close()

    def _sweep(self, ws: Workspace) -> None:
        """Republish jobs queued long ago whose message was lost (e.g. Redis flushed)."""
        assert self.queue is not None
        for job_id in due_jobs(ws, now=utcnow() - self.sweep_after):
            self.queue.publish(job_id)

    def stop(self) -> None:
        self._stop.set()


__all__ = ["EmbeddedRunner", "JobStatus", "QueueWorker", "Schedule", "run_schedule", "submit"]
