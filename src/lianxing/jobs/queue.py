"""The distributed queue: Dramatiq on Redis or RabbitMQ, chosen by ``LIANXING_QUEUE_URL``.

A message carries only the job id; the job itself (kind, arguments, attempts, result) is in
the jobs table, so the queue can lose or repeat messages without harm:

* repeat: ``execute`` skips a job that is already done (idempotency key, one completion);
* killed worker: Redis keeps an unacknowledged message in the dead worker's set and the
  broker's maintenance requeues it once the worker's heartbeat is older than
  ``heartbeat_timeout``; RabbitMQ redelivers it when the connection drops;
* lost message: the worker's sweeper republishes jobs queued for longer than a minute.

URL forms: ``redis://127.0.0.1:6379/0?namespace=lianxing&heartbeat_timeout=60000`` and
``amqp://guest:guest@127.0.0.1:5672/%2F?queue=lianxing``. The Redis ``namespace`` (key
prefix) and the queue name keep several workspaces apart on one server.
"""

from __future__ import annotations

import logging
import threading
import urllib.parse
from dataclasses import dataclass

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker

from lianxing.config import Settings
from lianxing.jobs.store import Outcome, execute
from lianxing.workspace import Workspace, open_workspace

log = logging.getLogger(__name__)

ACTOR_NAME = "lianxing_run_job"
TIME_LIMIT_MS = 6 * 3600 * 1000  # a large import may take long; the job table tracks it


class QueueConfigError(ValueError):
    """``LIANXING_QUEUE_URL`` cannot be used; the message says what is expected."""


@dataclass(frozen=True, slots=True)
class QueueSpec:
    broker_url: str  # without our own query parameters
    kind: str  # redis | rabbitmq
    queue_name: str
    namespace: str
    heartbeat_timeout_ms: int


def parse_queue_url(url: str) -> QueueSpec:
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    own = {k: query.pop(k) for k in ("namespace", "queue", "heartbeat_timeout") if k in query}
    rest = parts._replace(query=urllib.parse.urlencode(query)).geturl()
    if parts.scheme in ("redis", "rediss"):
        kind = "redis"
    elif parts.scheme in ("amqp", "amqps"):
        kind = "rabbitmq"
    else:
        raise QueueConfigError(
            f"LIANXING_QUEUE_URL {parts.scheme}://…: expected redis://host:port/db or "
            "amqp://user:password@host:port/vhost"
        )
    try:
        heartbeat = int(own.get("heartbeat_timeout", "60000"))
    except ValueError:
        raise QueueConfigError(
            f"LIANXING_QUEUE_URL heartbeat_timeout={own['heartbeat_timeout']!r}: "
            "expected milliseconds"
        ) from None
    return QueueSpec(
        broker_url=rest,
        kind=kind,
        queue_name=own.get("queue", "lianxing"),
        namespace=own.get("namespace", "lianxing"),
        heartbeat_timeout_ms=heartbeat,
    )


class JobQueue:
    """A broker plus the one actor that runs jobs by id."""

    def __init__(self, url: str, settings: Settings | None = None) -> None:
        self.spec = parse_queue_url(url)
        self.settings = settings
        if self.spec.kind == "redis":
            self.broker: dramatiq.Broker = RedisBroker(  # type: ignore[no-untyped-call]
                url=self.spec.broker_url,
                namespace=self.spec.namespace,
                heartbeat_timeout=self.spec.heartbeat_timeout_ms,
                # Maintenance (requeueing dead workers' messages) on every tenth fetch.
                maintenance_chance=100_000,
            )
        else:
            self.broker = RabbitmqBroker(url=self.spec.broker_url)
        self._local = threading.local()
        self.actor = dramatiq.Actor(
            self._run,
            broker=self.broker,
            actor_name=ACTOR_NAME,
            queue_name=self.spec.queue_name,
            priority=0,
            options={"max_retries": 0, "time_limit": TIME_LIMIT_MS},
        )

    def _workspace(self) -> Workspace:
        # One workspace (engine, warehouse connection) per worker thread.
        ws: Workspace | None = getattr(self._local, "workspace", None)
        if ws is None:
            ws = open_workspace(self.settings)
            self._local.workspace = ws
        return ws

    def _run(self, job_id: str) -> None:
        outcome, delay = execute(self._workspace(), job_id, worker=f"dramatiq:{self.spec.kind}")
        if outcome is Outcome.RETRY:
            self.publish(job_id, delay_seconds=delay)

    def publish(self, job_id: str, *, delay_seconds: float = 0.0) -> None:
        delay = int(delay_seconds * 1000) or None
        self.actor.send_with_options(args=(job_id,), delay=delay)

    def close(self) -> None:
        self.broker.close()
