"""Helpers for the importer tests: parse a fixture through detection, collect facts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from lianxing.ingest.files.base import ImportContext
from lianxing.ingest.files.reading import Source
from lianxing.ingest.files.registry import detect, get_format

FIXTURES = Path(__file__).parent / "fixtures"


def parse_file(
    path: Path, format_id: str | None = None, **context: Any
) -> tuple[str, dict[str, list[dict[str, Any]]], ImportContext]:
    source = Source(path)
    fmt = get_format(format_id) if format_id else detect(source.head)
    ctx = ImportContext(file=path.name, store_id=7, **context)
    facts: dict[str, list[pa.Table]] = {}
    for table, data in fmt.parse(source, ctx):
        facts.setdefault(table, []).append(data)
    rows = {name: pa.concat_tables(parts).to_pylist() for name, parts in facts.items()}
    return fmt.id, rows, ctx
