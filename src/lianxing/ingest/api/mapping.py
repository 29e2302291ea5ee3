"""API payloads → canonical facts, through the file importers' own formats.

A connector does not map fields itself where an importer already does: it hands the raw
payloads (or a downloaded report document) to the same ``ReportFormat`` a user's file
would go through, so facts from the API and from files are the same facts. The payloads
are written to a private temporary file and parsed exactly like an uploaded one.

A format that finds a bad value does not raise; the problems are collected and turned
into ``MappingError`` here, naming the connector's call instead of a file.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lianxing.ingest.files.base import FactChunk, ImportContext, ReportFormat
from lianxing.ingest.files.problems import ProblemLog
from lianxing.ingest.files.reading import Source
from lianxing.ingest.files.registry import get_format


class MappingError(Exception):
    """The platform's payload does not have the documented shape."""


def page_context(template: ImportContext, label: str) -> ImportContext:
    """A fresh context for one page (own problem log and format state)."""
    return dataclasses.replace(template, file=label, problems=ProblemLog(), rows_read=0, state={})


def map_document(
    fmt: ReportFormat | str, data: bytes, name: str, template: ImportContext
) -> tuple[list[FactChunk], int]:
    """Facts from one document (report file bytes, gzipped or not); (chunks, rows read)."""
    report = get_format(fmt) if isinstance(fmt, str) else fmt
    ctx = page_context(template, name)
    with tempfile.TemporaryDirectory(prefix="lianxing-api-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        chunks = list(report.parse(Source(path), ctx))
    if ctx.problems:
        raise MappingError("\n".join(ctx.problems.lines()))
    return chunks, ctx.rows_read


def map_payloads(
    fmt: ReportFormat | str, payloads: Sequence[Any], name: str, template: ImportContext
) -> tuple[list[FactChunk], int]:
    """Facts from API response bodies (a JSON array of envelopes, as a saved file holds)."""
    data = json.dumps(list(payloads), ensure_ascii=False).encode()
    return map_document(fmt, data, name if name.endswith(".json") else f"{name}.json", template)
