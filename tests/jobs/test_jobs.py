"""The same jobs through the embedded runner and through Dramatiq on Redis and on RabbitMQ;
a worker killed mid-job finishes the job once after a restart."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from lianxing.alerts.service import add_rule
from lianxing.config import Settings
from lianxing.db.models_alerts import AlertInstance, Job
from lianxing.jobs.runner import EmbeddedRunner, Schedule, run_schedule, slot_key, submit
from lianxing.jobs.store import JobStatus, Outcome, execute, get, record_job
from lianxing.stores.service import create_store
from lianxing.workspace import Workspace

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
ORDERS_CSV = ROOT / "tests" / "ingest"  # real report fixtures are used by the import test


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def job_row(ws: Workspace, job_id: str) -> Job:
    with ws.session() as session:
        row = session.get(Job, job_id)
        assert row is not None
        session.expunge(row)
        return row


@pytest.fixture
def store_id(workspace: Workspace) -> int:
    with workspace.session() as session:
        store = create_store(session, platform="amazon", site="US", name="Acme US")
        add_rule(
            session,
            name="GMV low",
            kind="kpi_threshold",
            scope_kind="all",
            scope_ref=None,
            params={"kpi": "gmv", "op": "<", "threshold": 1000, "period": "2026-10"},
        )
        return store.id


def write_gmv(ws: Workspace, store_id: int, amount: float) -> None:
    with ws.warehouse.batch("b1", "manual") as b:
        b.append(
            "orders",
            [
                {
                    "store_id": store_id,
                    "order_id": "O1",
                    "status": "shipped",
                    "purchase_ts": dt.datetime(2026, 10, 5, 18),
                    "currency": "USD",
                }
            ],
        )
        b.append(
            "order_lines",
            [
                {
                    "store_id": store_id,
                    "order_id": "O1",
                    "line_id": "1",
                    "sku": "S",
                    "quantity": 1,
                    "item_price": amount,
                    "currency": "USD",
                }
            ],
        )


def test_idempotency_key_records_a_job_once(workspace: Workspace, store_id: int) -> None:
    first, created = record_job(workspace, "alerts.evaluate", {}, idempotency_key="k-1")
    again, created_again = record_job(
        workspace, "alerts.evaluate", {"store_id": 9}, idempotency_key="k-1"
    )
    assert created and not created_again and again.id == first.id and again.args == {}
    assert execute(workspace, first.id) == (Outcome.DONE, 0.0)
    assert execute(workspace, first.id) == (Outcome.SKIPPED, 0.0)  # a duplicate delivery
    assert job_row(workspace, first.id).attempts == 1


def test_embedded_runner_runs_the_alert_job(workspace: Workspace, store_id: int) -> None:
    write_gmv(workspace, store_id, 400.0)
    runner = EmbeddedRunner(workspace.settings, poll_seconds=0.1, schedule=None)
    runner.start()
    try:
        job = submit(workspace, "alerts.evaluate", {"store_id": store_id}, idempotency_key="eval-1")
        wait_for(lambda: job_row(workspace, job.id).status == "done", 60, "the job")
    finally:
        runner.stop()
    row = job_row(workspace, job.id)
    assert row.attempts == 1 and row.worker is not None and row.worker.startswith("embedded:")
    assert row.result is not None
    assert [(t["from"], t["to"], t["value"]) for t in row.result["transitions"]] == [
        ("ok", "firing", 400.0)
    ]
    with workspace.session() as session:
        assert session.scalar(select(func.count()).select_from(AlertInstance)) == 1


def test_failing_job_is_retried_then_failed(workspace: Workspace, store_id: int) -> None:
    job, _ = record_job(
        workspace,
        "ingest.import_file",
        {"path": "/nonexistent.csv", "store_id": store_id},
        max_attempts=2,
    )
    outcome, delay = execute(workspace, job.id)
    assert (outcome, delay) == (Outcome.RETRY, 10.0)
    row = job_row(workspace, job.id)
    assert row.status == "queued" and row.error is not None
    assert row.error.startswith("ImportInputError: /nonexistent.csv: no such file")
    assert execute(workspace, job.id)[0] is Outcome.FAILED
    assert job_row(workspace, job.id).status == "failed"


def test_schedule_submits_each_slot_once(workspace: Workspace) -> None:
    now = dt.datetime(2026, 11, 2, 10, 7, 30)
    assert slot_key("alerts.evaluate", dt.timedelta(minutes=15), now) == (
        "alerts.evaluate@2026-11-02T10:00:00"
    )
    schedule = Schedule(
        evaluate_every=dt.timedelta(minutes=15), deliver_every=None, reports_every=None
    )
    first = run_schedule(workspace, schedule, now)
    second = run_schedule(workspace, schedule, now + dt.timedelta(minutes=5))
    third = run_schedule(workspace, schedule, now + dt.timedelta(minutes=10))
    assert first == second and third != first
    with workspace.session() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 2


# -- the queue --------------------------------------------------------------------------


def _env(ws: Workspace, queue_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env["LIANXING_HOME"] = str(ws.settings.home)
    env["LIANXING_QUEUE_URL"] = queue_url
    for name, value in (
        ("LIANXING_DATABASE_URL", ws.settings.database_url),
        ("LIANXING_WAREHOUSE_URL", ws.settings.warehouse_url),
    ):
        if value:
            env[name] = value
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")])
    return env


@pytest.fixture
def start_worker() -> Iterator[Callable[[Workspace, str], subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(ws: Workspace, queue_url: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "lianxing",
                "worker",
                "--threads",
                "1",
                "--no-schedule",
                "--module",
                "jobs_for_tests",
            ],
            env=_env(ws, queue_url),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def queue_settings(ws: Workspace, queue_url: str) -> Workspace:
    settings = Settings(
        home=ws.settings.home,
        database_url=ws.settings.database_url,
        warehouse_url=ws.settings.warehouse_url,
        queue_url=queue_url,
    )
    return Workspace(settings)


def _alert_job_through_a_queue(
    workspace: Workspace,
    store_id: int,
    queue_url: str,
    start_worker: Callable[[Workspace, str], subprocess.Popen[bytes]],
    broker: str,
) -> None:
    write_gmv(workspace, store_id, 400.0)
    # An embedded DuckDB file is opened by one process at a time: hand it to the worker.
    workspace.close()
    ws = queue_settings(workspace, queue_url)
    try:
        job = submit(ws, "alerts.evaluate", {"store_id": store_id}, idempotency_key="q-eval-1")
        worker = start_worker(workspace, queue_url)
        try:
            wait_for(lambda: job_row(ws, job.id).status == "done", 90, "the queued job")
        except AssertionError as exc:
            worker.kill()
            stderr = worker.stderr.read().decode(errors="replace") if worker.stderr else ""
            status = job_row(ws, job.id).status
            raise AssertionError(f"{exc}; job {status}; worker: {stderr[-3000:]}") from exc
        row = job_row(ws, job.id)
        assert row.worker == f"dramatiq:{broker}" and row.attempts == 1
        assert row.result is not None
        assert [(t["from"], t["to"]) for t in row.result["transitions"]] == [("ok", "firing")]
        # Submitting the same key again neither records nor runs anything.
        assert submit(ws, "alerts.evaluate", {}, idempotency_key="q-eval-1").id == job.id
        time.sleep(1.0)
        assert job_row(ws, job.id).attempts == 1
        assert worker.poll() is None
    finally:
        ws.close()


def test_alert_job_through_the_redis_queue(
    workspace: Workspace,
    store_id: int,
    redis_queue_url: str,
    start_worker: Callable[[Workspace, str], subprocess.Popen[bytes]],
) -> None:
    _alert_job_through_a_queue(workspace, store_id, redis_queue_url, start_worker, "redis")


def test_alert_job_through_the_rabbitmq_queue(
    workspace: Workspace,
    store_id: int,
    rabbitmq_queue_url: str,
    start_worker: Callable[[Workspace, str], subprocess.Popen[bytes]],
) -> None:
    _alert_job_through_a_queue(workspace, store_id, rabbitmq_queue_url, start_worker, "rabbitmq")


def test_worker_killed_mid_job_finishes_it_once_on_restart(
    workspace: Workspace,
    tmp_path: Path,
    redis_queue_url: str,
    start_worker: Callable[[Workspace, str], subprocess.Popen[bytes]],
) -> None:
    out, release = tmp_path / "out", tmp_path / "release"
    out.mkdir()
    ws = queue_settings(workspace, redis_queue_url)
    try:
        first = start_worker(workspace, redis_queue_url)
        sys.path.insert(0, str(HERE))
        try:
            import jobs_for_tests  # noqa: F401 - registers test.write_once here too
        finally:
            sys.path.remove(str(HERE))
        job = submit(
            ws,
            "test.write_once",
            {"out_dir": str(out), "release": str(release)},
            idempotency_key="write-once-1",
        )
        wait_for(lambda: any(out.glob("attempt-1-*")), 90, "the first attempt to start")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        assert job_row(ws, job.id).status == "running"  # died mid-job
        release.touch()
        second = start_worker(workspace, redis_queue_url)
        wait_for(lambda: job_row(ws, job.id).status == "done", 90, "the job after restart")
        row = job_row(ws, job.id)
        assert row.attempts == 2 and row.result == {"attempt": 2}
        attempts = sorted(p.name.split("-pid-")[0] for p in out.glob("attempt-*"))
        assert attempts == ["attempt-1", "attempt-2"]
        assert {p.name.split("-pid-")[1] for p in out.glob("attempt-*")} == {
            str(first.pid),
            str(second.pid),
        }
        assert (out / "effect.log").read_text() == "write-once-1\n"  # the effect happened once
        # A stray duplicate message for the finished job is skipped.
        from lianxing.jobs.runner import _queue_for

        queue = _queue_for(ws.settings)
        assert queue is not None
        queue.publish(job.id)
        time.sleep(2.0)
        assert job_row(ws, job.id).attempts == 2
        with ws.session() as session:
            view = get(session, job.id)
            assert view is not None and view.status is JobStatus.DONE
    finally:
        ws.close()
