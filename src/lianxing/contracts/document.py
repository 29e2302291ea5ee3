"""Reading YAML documents (contracts, quote requests, price books) with the line of every path.

Problems are reported as ``FILE:LINE: PATH: message``, one line each; a path that is absent
(``exit`` when there is no exit clause) gets the line of its nearest parent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lianxing.domain.contracts import Contract, ContractInputError, Problem, parse_contract


class _TextDatesLoader(yaml.SafeLoader):
    """SafeLoader that leaves dates as text, so a bad date is a reported problem, not a crash."""


_TextDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class DocumentError(ValueError):
    """One line per problem, each naming the file, the line and the path."""

    def __init__(self, lines: Sequence[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = list(lines)


@dataclass(frozen=True, slots=True)
class YamlDocument:
    file: str
    text: str
    data: Any
    lines: Mapping[str, int]  # path -> 1-based line

    def line_of(self, path: str) -> int:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = _parent(path)
        return 1

    def locate(self, path: str, message: str) -> str:
        return f"{self.file}:{self.line_of(path)}: {path or '(document)'}: {message}"

    def errors(self, problems: Sequence[Problem]) -> DocumentError:
        ordered = sorted(problems, key=lambda p: (self.line_of(p.path), p.path))
        return DocumentError([self.locate(p.path, p.message) for p in ordered])


def _parent(path: str) -> str:
    cut = max(path.rfind("."), path.rfind("["))
    return path[:cut] if cut > 0 else ""


def read_yaml(path: Path, text: str | None = None) -> YamlDocument:
    name = str(path)
    try:
        source = path.read_text(encoding="utf-8") if text is None else text
    except (OSError, UnicodeDecodeError) as exc:
        raise DocumentError([f"{name}:1: cannot read: {exc}"]) from None
    try:
        node = yaml.compose(source, Loader=_TextDatesLoader)
        data = yaml.load(source, Loader=_TextDatesLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise DocumentError([f"{name}:{line}: not valid YAML: {exc.problem}"]) from None
    except yaml.YAMLError as exc:
        raise DocumentError([f"{name}:1: not valid YAML: {exc}"]) from None
    lines: dict[str, int] = {}
    if node is not None:
        _walk(node, "", lines)
    return YamlDocument(name, source, data, lines)


def _walk(node: yaml.Node, path: str, lines: dict[str, int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = f"{path}.{key.value}" if path else str(key.value)
            lines[child] = key.start_mark.line + 1
            _walk(value, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, f"{path}[{i}]", lines)


def jsonable(value: Any) -> Any:
    """YAML data as JSON (dates as ISO text), for storing and hashing."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def load_contract(path: Path) -> tuple[Contract, YamlDocument]:
    document = read_yaml(path)
    try:
        return parse_contract(jsonable(document.data)), document
    except ContractInputError as exc:
        raise document.errors(exc.problems) from None
