"""Job functions by name. A job function takes a :class:`JobContext` and JSON arguments and
returns a JSON-able result; it must be idempotent, because a job is delivered at least once
(a worker killed mid-job runs it again on restart)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lianxing.workspace import Workspace


@dataclass(frozen=True, slots=True)
class JobContext:
    workspace: Workspace
    job_id: str
    kind: str
    attempt: int  # 1 for the first run
    idempotency_key: str


JobFunction = Callable[..., dict[str, Any] | None]
JOBS: dict[str, JobFunction] = {}

# Modules that define the shipped jobs; imported before a job is looked up.
SHIPPED_MODULES = ("lianxing.jobs.functions", "lianxing.ingest.sync")


class UnknownJob(LookupError):
    """No job function has this name (a worker without the module that defines it)."""


def job(name: str) -> Callable[[JobFunction], JobFunction]:
    """Register a job function under ``name`` (e.g. ``"alerts.evaluate"``)."""

    def register(fn: JobFunction) -> JobFunction:
        JOBS[name] = fn
        return fn

    return register


def load_modules(extra: tuple[str, ...] | list[str] = ()) -> None:
    for module in (*SHIPPED_MODULES, *extra):
        importlib.import_module(module)


def get_job(name: str) -> JobFunction:
    load_modules()
    try:
        return JOBS[name]
    except KeyError:
        raise UnknownJob(f"job {name!r}: unknown; known jobs: {', '.join(sorted(JOBS))}") from None
