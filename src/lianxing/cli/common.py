"""Helpers every command uses: errors, JSON output, the workspace."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, TypeVar

import typer

from lianxing.workspace import Workspace, WorkspaceError, open_workspace

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

EXIT_BAD_INPUT = 2

UserError = TypeVar("UserError", bound=Exception)


class ListsProblems(Protocol):
    """A domain error that names every problem of the input, one line each."""

    problems: list[str]


def fail(message: str) -> NoReturn:
    """One clear line on stderr and exit code 2: the contract for bad input."""
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(EXIT_BAD_INPUT)


def fail_all(problems: Sequence[str]) -> NoReturn:
    """One ``error:`` line per problem on stderr, then exit 2 (``fail`` prints the last)."""
    for problem in problems[:-1]:
        print(f"error: {problem}", file=sys.stderr)
    fail(problems[-1])


def fail_with_message(error: Exception) -> NoReturn:
    """``fail`` with the error's own message."""
    fail(str(error))


def fail_with_problems(error: ListsProblems) -> NoReturn:
    """``fail_all`` with each problem the error lists."""
    fail_all(error.problems)


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


@contextmanager
def command_workspace(
    *user_errors: type[UserError],
    show: Callable[[UserError], NoReturn] = fail_with_message,
) -> Iterator[Workspace]:
    """The workspace a command works in, closed however the command ends.

    ``user_errors`` are the domain errors the user can fix (an unknown id, bad input): they
    end the command with ``fail``'s ``error:`` line(s) and exit 2, worded by ``show``,
    instead of a traceback. A workspace that is missing or not initialised fails the same way.
    """
    ws = workspace()
    try:
        yield ws
    except user_errors as exc:
        show(exc)
    finally:
        ws.close()


@contextmanager
def command_session(
    *user_errors: type[UserError],
    show: Callable[[UserError], NoReturn] = fail_with_message,
) -> Iterator[Session]:
    """``command_workspace`` for a command that needs one transaction and nothing else of the
    workspace: it commits when the block succeeds and rolls back before the error is shown."""
    with command_workspace(*user_errors, show=show) as ws, ws.session() as session:
        yield session


def parse_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option}: {value!r} is not a date; expected YYYY-MM-DD")
