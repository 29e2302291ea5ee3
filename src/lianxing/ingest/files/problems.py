"""Problems found in an input file, and the exception that rejects the whole file.

An importer never stops at the first bad value: it records every problem it finds in a
``ProblemLog`` (which keeps the first ``limit`` in full and counts the rest) and the service
rejects the file at the end, so the user fixes everything in one round trip.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_SHOWN = 20


@dataclass(frozen=True, slots=True)
class ImportProblem:
    """One bad thing in one place: file, line, column, the value, what was expected.

    ``unit`` names what ``line`` counts: a text ``line``, a spreadsheet ``row`` (as Excel
    numbers it) or a JSON ``record`` (1-based position in the array).
    """

    file: str
    line: int | None
    column: str | None
    value: str | None
    expected: str
    unit: str = "line"

    def message(self) -> str:
        parts = [self.file if self.line is None else f"{self.file}, {self.unit} {self.line}"]
        if self.column is not None:
            parts.append(f"column {self.column!r}")
        if self.value is not None:
            shown = self.value if len(self.value) <= 60 else self.value[:57] + "..."
            parts.append(f"value {shown!r}")
        return ", ".join(parts) + f": expected {self.expected}"


@dataclass
class ProblemLog:
    """Collects problems; keeps the first ``limit`` and counts every one."""

    limit: int = MAX_SHOWN
    shown: list[ImportProblem] = field(default_factory=list)
    count: int = 0

    def add(self, problem: ImportProblem) -> None:
        self.count += 1
        if len(self.shown) < self.limit:
            self.shown.append(problem)

    @property
    def full(self) -> bool:
        """True once enough problems are kept that details of later ones are not needed."""
        return len(self.shown) >= self.limit

    def __bool__(self) -> bool:
        return self.count > 0

    def lines(self) -> list[str]:
        """The messages to print: the first ``limit`` problems, then how many more."""
        out = [p.message() for p in self.shown]
        if self.count > len(self.shown):
            out.append(
                f"... and {self.count - len(self.shown)} more problem(s) "
                f"/ 另有 {self.count - len(self.shown)} 个问题"
            )
        return out


class ImportRejected(Exception):
    """The file was rejected; nothing was written. ``problems`` says why."""

    def __init__(self, problems: ProblemLog) -> None:
        self.problems = problems
        super().__init__("\n".join(problems.lines()))
