"""Load KPI definitions from YAML and validate them, reporting every problem at once.

Shipped definitions live next to this module in ``definitions/``; a workspace adds its own
in ``<LIANXING_HOME>/kpis/*.yaml``. Each problem is one :class:`Issue` naming the file,
the line and what was expected, so ``lianxing metrics validate`` can print them all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from lianxing.domain.kpi import (
    MEASURES,
    OPTIONS,
    BinOp,
    Direction,
    FormulaError,
    KpiDefinition,
    KpiKind,
    OptionValue,
    Ref,
    Rollup,
    Text,
    Unit,
    content_hash,
    formula_refs,
    is_linear_sum,
    parse_formula,
)

SHIPPED_DIR = Path(__file__).parent / "definitions"
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_E = TypeVar("_E", Unit, Direction, KpiKind)
_KEYS = ("id", "name", "description", "unit", "direction", "kind", "formula", "options")


@dataclass(frozen=True, slots=True)
class Issue:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class CatalogError(ValueError):
    def __init__(self, issues: list[Issue]) -> None:
        super().__init__("\n".join(str(i) for i in issues))
        self.issues = issues


@dataclass(slots=True)
class Catalog:
    definitions: dict[str, KpiDefinition] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)

    def require_valid(self) -> Catalog:
        if self.issues:
            raise CatalogError(self.issues)
        return self

    def measures_of(self, kpi_id: str) -> set[str]:
        """The measures a KPI depends on, through other KPIs."""
        found: set[str] = set()
        for name in formula_refs(self.definitions[kpi_id].formula):
            found |= {name} if name in MEASURES else self.measures_of(name)
        return found

    def dependency_order(self, kpi_ids: Iterable[str]) -> list[str]:
        """The KPIs and every KPI they reference, dependencies first."""
        ordered: list[str] = []

        def visit(kpi_id: str) -> None:
            if kpi_id in ordered:
                return
            for name in formula_refs(self.definitions[kpi_id].formula):
                if name in self.definitions:
                    visit(name)
            ordered.append(kpi_id)

        for kpi_id in kpi_ids:
            visit(kpi_id)
        return ordered


@dataclass(slots=True)
class _Parsed:
    path: str
    document: dict[str, Any]
    lines: dict[str, int]  # top-level key -> line
    option_lines: dict[str, int]


def load_catalog(extra_dirs: Iterable[Path] = ()) -> Catalog:
    """Shipped definitions plus those of ``extra_dirs``; invalid ones are left out, with issues."""
    files = sorted(SHIPPED_DIR.glob("*.yaml"))
    for directory in extra_dirs:
        if directory.is_dir():
            files.extend(sorted(directory.glob("*.yaml")))
    return load_files(files)


def load_files(files: Iterable[Path]) -> Catalog:
    catalog = Catalog()
    parsed: dict[str, _Parsed] = {}
    for path in files:
        entry = _read(path, catalog.issues)
        if entry is None:
            continue
        kpi_id = entry.document.get("id")
        if isinstance(kpi_id, str) and kpi_id in parsed:
            catalog.issues.append(
                Issue(
                    entry.path,
                    entry.lines.get("id", 1),
                    f"id {kpi_id!r} is already defined in {parsed[kpi_id].path}; "
                    "ids must be unique",
                )
            )
            continue
        if isinstance(kpi_id, str):
            parsed[kpi_id] = entry
    candidates: dict[str, KpiDefinition] = {}
    for kpi_id, entry in parsed.items():
        definition = _check_fields(entry, catalog.issues)
        if definition is not None:
            candidates[kpi_id] = definition
    _check_references(candidates, parsed, catalog.issues)
    bad_files = {issue.file for issue in catalog.issues}
    catalog.definitions = {k: d for k, d in candidates.items() if d.source not in bad_files}
    # A KPI that references one left out is itself unusable (its issue is already reported).
    changed = True
    while changed:
        changed = False
        for kpi_id, definition in list(catalog.definitions.items()):
            if any(
                r not in MEASURES and r not in catalog.definitions
                for r in formula_refs(definition.formula)
            ):
                del catalog.definitions[kpi_id]
                changed = True
    catalog.issues.sort(key=lambda i: (i.file, i.line))
    return catalog


def _read(path: Path, issues: list[Issue]) -> _Parsed | None:
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        document = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        issues.append(Issue(name, line, f"not valid YAML: {exc.problem}"))
        return None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        issues.append(Issue(name, 1, f"cannot read: {exc}"))
        return None
    if not isinstance(document, dict) or not isinstance(node, yaml.MappingNode):
        issues.append(Issue(name, 1, "expected a mapping with keys " + ", ".join(_KEYS)))
        return None
    lines: dict[str, int] = {}
    option_lines: dict[str, int] = {}
    for key_node, value_node in node.value:
        key = str(key_node.value)
        lines[key] = key_node.start_mark.line + 1
        if key == "options" and isinstance(value_node, yaml.MappingNode):
            for option_key, _ in value_node.value:
                option_lines[str(option_key.value)] = option_key.start_mark.line + 1
    return _Parsed(name, document, lines, option_lines)


def _check_fields(entry: _Parsed, issues: list[Issue]) -> KpiDefinition | None:
    document, path = entry.document, entry.path
    before = len(issues)

    def problem(key: str, message: str) -> None:
        issues.append(Issue(path, entry.lines.get(key, 1), message))

    for key in document:
        if key not in _KEYS:
            problem(str(key), f"unknown key {key!r}; expected only {', '.join(_KEYS)}")
    for key in _KEYS:
        if key not in document:
            problem(key, f"missing key {key!r}")

    kpi_id = document.get("id")
    if "id" in document and (not isinstance(kpi_id, str) or not _ID.match(kpi_id)):
        problem("id", f"id {kpi_id!r} is not lower_snake_case")
    elif isinstance(kpi_id, str):
        if kpi_id != Path(path).stem:
            problem(
                "id",
                f"id {kpi_id!r} differs from the file name {Path(path).name!r}; "
                f"expected {Path(path).stem!r}",
            )
        if kpi_id in MEASURES:
            problem("id", f"id {kpi_id!r} is the name of a measure; choose another id")

    texts = {
        key: _text(document.get(key), key, problem)
        for key in ("name", "description")
        if key in document
    }
    unit = _enum(Unit, document.get("unit"), "unit", problem) if "unit" in document else None
    direction = (
        _enum(Direction, document.get("direction"), "direction", problem)
        if "direction" in document
        else None
    )
    kind = _enum(KpiKind, document.get("kind"), "kind", problem) if "kind" in document else None

    formula = None
    raw_formula = document.get("formula")
    if "formula" in document:
        if not isinstance(raw_formula, str):
            problem("formula", f"formula {raw_formula!r} is not text")
        else:
            try:
                formula = parse_formula(raw_formula)
            except FormulaError as exc:
                problem("formula", f"formula {raw_formula!r}: {exc}")

    options: dict[str, OptionValue] = {}
    raw_options = document.get("options")
    if "options" in document:
        if not isinstance(raw_options, dict):
            problem(
                "options", "options must be a mapping of option name to default value ({} for none)"
            )
        else:
            for name, value in raw_options.items():
                line = entry.option_lines.get(str(name), entry.lines.get("options", 1))
                spec = OPTIONS.get(str(name))
                if spec is None:
                    issues.append(
                        Issue(
                            path,
                            line,
                            f"unknown option {name!r}; expected one of {', '.join(OPTIONS)}",
                        )
                    )
                    continue
                expected = spec.check(value)
                if expected is not None:
                    issues.append(
                        Issue(
                            path,
                            line,
                            f"option {name}: {value!r} is not allowed; expected {expected}",
                        )
                    )
                    continue
                options[str(name)] = value

    if len(issues) > before:
        return None
    assert isinstance(kpi_id, str) and unit and direction and kind and formula is not None
    return KpiDefinition(
        id=kpi_id,
        name=texts["name"],  # type: ignore[arg-type]
        description=texts["description"],  # type: ignore[arg-type]
        unit=unit,
        direction=direction,
        kind=kind,
        formula=formula,
        formula_source=str(raw_formula),
        options=options,
        content_hash=content_hash(document),
        source=path,
    )


def _text(value: object, key: str, problem: Any) -> Text | None:
    if not isinstance(value, dict) or set(value) != {"zh", "en"}:
        problem(key, f"{key} must have exactly the keys zh and en")
        return None
    if not all(isinstance(v, str) and v.strip() for v in value.values()):
        problem(key, f"{key}: zh and en must be non-empty text")
        return None
    return Text(zh=value["zh"].strip(), en=value["en"].strip())


def _enum(enum: type[_E], value: object, key: str, problem: Any) -> _E | None:
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return enum(value)
    except ValueError:
        problem(
            key,
            f"{key} {value!r} is not allowed; expected one of {', '.join(e.value for e in enum)}",
        )
        return None


def _check_references(
    definitions: Mapping[str, KpiDefinition], parsed: Mapping[str, _Parsed], issues: list[Issue]
) -> None:
    def line(kpi_id: str, key: str) -> int:
        return parsed[kpi_id].lines.get(key, 1)

    for kpi_id, definition in definitions.items():
        path = definition.source
        unknown = [
            r for r in formula_refs(definition.formula) if r not in MEASURES and r not in parsed
        ]
        for name in unknown:
            issues.append(
                Issue(
                    path,
                    line(kpi_id, "formula"),
                    f"formula refers to {name!r}, which is neither a measure nor a KPI "
                    f"(measures: {', '.join(MEASURES)})",
                )
            )
        if unknown:
            continue
        cycle = _cycle(kpi_id, definitions)
        if cycle:
            issues.append(
                Issue(
                    path, line(kpi_id, "formula"), "formula refers to itself: " + " -> ".join(cycle)
                )
            )
            continue
        if any(
            r not in MEASURES and r not in definitions for r in formula_refs(definition.formula)
        ):
            continue  # a referenced KPI is invalid; its own issue explains it
        _check_kind(definition, definitions, issues, line(kpi_id, "kind"))
        needed = _needed_options(kpi_id, definitions)
        for name in sorted(needed - set(definition.options)):
            issues.append(
                Issue(
                    path,
                    line(kpi_id, "options"),
                    f"option {name!r} changes this KPI's number "
                    "and must be declared with its default",
                )
            )
        for name in sorted(set(definition.options) - needed):
            issues.append(
                Issue(
                    path,
                    parsed[kpi_id].option_lines.get(name, line(kpi_id, "options")),
                    f"option {name!r} does not affect this KPI; remove it",
                )
            )


def _cycle(start: str, definitions: Mapping[str, KpiDefinition]) -> list[str]:
    def walk(kpi_id: str, trail: list[str]) -> list[str]:
        definition = definitions.get(kpi_id)
        if definition is None:
            return []
        for name in formula_refs(definition.formula):
            if name == start:
                return [*trail, name]
            if name in definitions and name not in trail:
                found = walk(name, [*trail, name])
                if found:
                    return found
        return []

    return walk(start, [start])


def _needed_options(kpi_id: str, definitions: Mapping[str, KpiDefinition]) -> set[str]:
    needed: set[str] = set()
    for name in formula_refs(definitions[kpi_id].formula):
        needed |= (
            set(MEASURES[name].options) if name in MEASURES else _needed_options(name, definitions)
        )
    return needed


def _is_additive(name: str, definitions: Mapping[str, KpiDefinition]) -> bool:
    if name in MEASURES:
        return MEASURES[name].rollup is Rollup.SUM
    return definitions[name].kind is KpiKind.ADDITIVE


def _check_kind(
    definition: KpiDefinition,
    definitions: Mapping[str, KpiDefinition],
    issues: list[Issue],
    line: int,
) -> None:
    formula, refs = definition.formula, formula_refs(definition.formula)

    def problem(message: str) -> None:
        issues.append(Issue(definition.source, line, f"kind {definition.kind.value}: {message}"))

    match definition.kind:
        case KpiKind.ADDITIVE:
            if not is_linear_sum(formula):
                problem("the formula may only add and subtract measures or KPIs")
            for name in refs:
                if not _is_additive(name, definitions):
                    problem(f"{name!r} does not add up over days and stores")
        case KpiKind.RATIO:
            if not (
                isinstance(formula, BinOp)
                and formula.op == "/"
                and isinstance(formula.left, Ref)
                and isinstance(formula.right, Ref)
            ):
                problem("the formula must be 'numerator / denominator'")
        case KpiKind.SNAPSHOT | KpiKind.MEDIAN:
            wanted = Rollup.LATEST if definition.kind is KpiKind.SNAPSHOT else Rollup.MEDIAN
            if not (
                isinstance(formula, Ref)
                and formula.name in MEASURES
                and MEASURES[formula.name].rollup is wanted
            ):
                names = ", ".join(m.id for m in MEASURES.values() if m.rollup is wanted)
                problem(f"the formula must be one measure of that kind ({names})")
        case KpiKind.DERIVED:
            pass
