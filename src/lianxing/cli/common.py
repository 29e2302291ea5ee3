"""Helpers every command uses: errors, JSON output, the workspace."""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import Any, NoReturn

import typer

from lianxing.workspace import Workspace, WorkspaceError, open_workspace

EXIT_BAD_INPUT = 2


def fail(message: str) -> NoReturn:
    """One clear line on stderr and exit code 2: the contract for bad input."""
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(EXIT_BAD_INPUT)


def emit_json(obj: Any) -> None:
    """Print one JSON object on stdout (dates as ISO strings, non-ASCII kept)."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def workspace() -> Workspace:
    try:
        return open_workspace()
    except WorkspaceError as exc:
        fail(str(exc))


def parse_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option}: {value!r} is not a date; expected YYYY-MM-DD")
