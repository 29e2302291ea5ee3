"""``lianxing worker``: run background jobs from the queue (``LIANXING_QUEUE_URL``), or, with
no queue configured, with the embedded runner in the foreground."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType

import typer

from lianxing.cli.common import fail, workspace
from lianxing.cli.root import app
from lianxing.config import get_settings
from lianxing.jobs.queue import QueueConfigError
from lianxing.jobs.registry import load_modules
from lianxing.jobs.runner import EmbeddedRunner, QueueWorker, Schedule


@app.command("worker")
def worker(
    threads: int = typer.Option(2, help="jobs run at the same time"),
    module: list[str] = typer.Option(  # noqa: B008
        [], help="extra Python module defining job functions (repeatable)"
    ),
    no_schedule: bool = typer.Option(
        False, "--no-schedule", help="do not submit the periodic alert jobs"
    ),
) -> None:
    """Run background jobs / 运行后台任务 (Dramatiq on Redis or RabbitMQ)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    workspace().close()  # a clear error now if the workspace is not initialised
    settings = get_settings()
    schedule = None if no_schedule else Schedule()
    try:
        load_modules(module)
    except ImportError as exc:
        fail(f"--module: {exc}")
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if settings.queue_url:
        try:
            runner = QueueWorker(settings, threads=threads, modules=module, schedule=schedule)
        except QueueConfigError as exc:
            fail(str(exc))
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda s, f: runner.stop())
        print(
            f"worker: consuming {runner.queue.spec.kind if runner.queue else ''} queue "
            f"{runner.queue.spec.queue_name if runner.queue else ''}",
            file=sys.stderr,
            flush=True,
        )
        runner.run()
        return
    embedded = EmbeddedRunner(settings, schedule=schedule)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    print("worker: no LIANXING_QUEUE_URL; running the embedded runner", file=sys.stderr, flush=True)
    embedded.start()
    stop.wait()
    embedded.stop()
