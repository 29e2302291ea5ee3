"""A job for the worker-restart test: slow on purpose, with an idempotent effect.

Loaded into ``lianxing worker`` with ``--module jobs_for_tests`` (PYTHONPATH=tests/jobs).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from lianxing.jobs.registry import JobContext, job


@job("test.write_once")
def write_once(ctx: JobContext, out_dir: str, release: str) -> dict[str, Any]:
    out = Path(out_dir)
    (out / f"attempt-{ctx.attempt}-pid-{os.getpid()}").touch()
    while not Path(release).exists():  # the test kills the worker while we wait here
        time.sleep(0.05)
    effect = out / "effect.log"
    # Idempotent: the effect is keyed by the job's idempotency key and written once.
    lines = effect.read_text().splitlines() if effect.exists() else []
    if ctx.idempotency_key not in lines:
        with effect.open("a") as fh:
            fh.write(ctx.idempotency_key + "\n")
    return {"attempt": ctx.attempt}
