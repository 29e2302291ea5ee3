"""All report formats, and picking one for a file.

Formats are found, not listed: every module in a sub-package of ``lianxing.ingest.files``
(``amazon/``, ``generic/``, ``shopee/`` ...) that defines ``FORMATS = (...)`` contributes
them. Adding a platform is adding a package; nothing here changes.

Detection asks every format how sure it is (``sniff``) and takes the best one, provided it
is sure enough and clearly ahead of the runner-up; otherwise it names the candidates and
asks for ``--format``.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from lianxing.ingest.files.base import ReportFormat
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


def get_format(format_id: str) -> ReportFormat:
    try:
        return formats()[format_id]
    except KeyError:
        known = ", ".join(formats())
        raise FormatError(f"unknown format {format_id!r}; known formats: {known}") from None


def detect(head: FileHead) -> ReportFormat:
    scored = sorted(
        ((fmt.sniff(head), fmt) for fmt in formats().values()), key=lambda s: s[0], reverse=True
    )
    candidates = [(score, fmt) for score, fmt in scored if score > 0]
    if not candidates or candidates[0][0] < MIN_CONFIDENCE:
        raise FormatError(
            f"{head.name}: cannot tell which report this is; name it with --format "
            f"(known formats: {', '.join(formats())}) / 无法识别报表格式，请用 --format 指定"
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
