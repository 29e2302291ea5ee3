"""All report formats, and picking one for a file.

Formats are found, not listed: every module in a sub-package of ``lianxing.ingest.files``
(``amazon/``, ``generic/``, ``shopee/`` ...) that defines ``FORMATS = (...)`` contributes
them. Adding a platform is adding a package; nothing here changes.

A workspace may hold its own mapping files, ``<LIANXING_HOME>/mappings/<format id>.yaml``
(``workspace_formats``): one with the id of a shipped mapping replaces it, one with a new
id adds a format; both take part in detection like the shipped ones.

Detection asks every format how sure it is (``sniff``) and takes the best one, provided it
is sure enough and clearly ahead of the runner-up; otherwise it names the candidates and
asks for ``--format``.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from lianxing.ingest.files.base import ReportFormat
from lianxing.ingest.files.mapping import MappedFormat, MappingError, load_format
from lianxing.ingest.files.reading import FileHead

MIN_CONFIDENCE = 0.6
MIN_LEAD = 0.05


class FormatError(Exception):
    """No format, or more than one, fits the file; or an unknown ``--format``."""


@cache
def formats() -> dict[str, ReportFormat]:
    import lianxing.ingest.files as package

    found: dict[str, ReportFormat] = {}
    for sub in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if not sub.ispkg:
            continue
        subpackage = importlib.import_module(f"{package.__name__}.{sub.name}")
        for info in sorted(pkgutil.iter_modules(subpackage.__path__), key=lambda m: m.name):
            module = importlib.import_module(f"{subpackage.__name__}.{info.name}")
            for fmt in getattr(module, "FORMATS", ()):
                if fmt.id in found:
                    raise RuntimeError(f"report format id {fmt.id!r} is defined twice")
                found[fmt.id] = fmt
    return dict(sorted(found.items()))


def workspace_formats(folder: Path) -> dict[str, ReportFormat]:
    """The shipped formats with the workspace's mapping files (``folder/<id>.yaml``) applied.

    :raises MappingError: a file in ``folder`` is wrong (one line per problem); a broken
        override is never skipped silently, or imports would fall back to the shipped one.
    """
    found: dict[str, ReportFormat] = dict(formats())
    if not folder.is_dir():
        return found
    problems: list[str] = []
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        try:
            fmt = load_format(path)
        except MappingError as exc:
            problems.extend(str(exc).splitlines())
            continue
        if fmt.id != path.stem:
            problems.append(
                f"{path}: format: {fmt.id!r} differs from the file name; name the file "
                f"{fmt.id}.yaml / 文件名须与 format 相同"
            )
            continue
        shipped = found.get(fmt.id)
        if shipped is not None and not isinstance(shipped, MappedFormat):
            problems.append(
                f"{path}: format: {fmt.id!r} is a built-in importer, not a mapping, and cannot "
                "be replaced by one; choose another id / 内置导入器不能被映射文件替换"
            )
            continue
        found[fmt.id] = fmt
    if problems:
        raise MappingError("\n".join(problems))
    return dict(sorted(found.items()))


def get_format(format_id: str, available: Mapping[str, ReportFormat] | None = None) -> ReportFormat:
    """The format called ``format_id`` among ``available`` (default: the shipped ones)."""
    available = formats() if available is None else available
    try:
        return available[format_id]
    except KeyError:
        known = ", ".join(available)
        raise FormatError(f"unknown format {format_id!r}; known formats: {known}") from None


def detect(head: FileHead, available: Mapping[str, ReportFormat] | None = None) -> ReportFormat:
    """The one format among ``available`` (default: shipped) that clearly fits ``head``."""
    available = formats() if available is None else available
    scored = sorted(
        ((fmt.sniff(head), fmt) for fmt in available.values()), key=lambda s: s[0], reverse=True
    )
    candidates = [(score, fmt) for score, fmt in scored if score > 0]
    if not candidates or candidates[0][0] < MIN_CONFIDENCE:
        maybe = [fmt.id for _, fmt in candidates]
        hint = (
            f"possible: {', '.join(maybe)}" if maybe else f"known formats: {', '.join(available)}"
        )
        raise FormatError(
            f"{head.name}: cannot tell which report this is; name it with --format "
            f"({hint}) / 无法识别报表格式，请用 --format 指定"
        )
    best_score, best = candidates[0]
    close = [fmt for score, fmt in candidates[1:] if best_score - score < MIN_LEAD]
    if close:
        names = ", ".join(fmt.id for fmt in [best, *close])
        raise FormatError(
            f"{head.name}: could be any of {names}; choose one with --format "
            "/ 可能是多种格式，请用 --format 指定"
        )
    return best
