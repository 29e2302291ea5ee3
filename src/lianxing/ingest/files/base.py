"""The report-format interface, and the machinery shared by every tabular format.

A format is one small object (see ``amazon/all_orders.py`` for the model to copy):

``ReportFormat``
    ``id`` (``"amazon.all_orders"``), ``name_zh`` / ``name_en``, ``sniff(head) -> float``
    (how sure it is, 0..1, that a file is its kind, from the file's first rows or JSON
    keys) and ``parse(source, ctx)``, which yields ``(fact_table_name, pyarrow.Table)``
    chunks and records every bad value in ``ctx.problems`` instead of raising.

``TabularFormat``
    A ``ReportFormat`` for CSV/TSV/XLSX reports. It declares its columns as ``Field``\\ s
    (accepted header names + value kind) and implements only ``facts(rows, ctx)``:
    the base class finds the header line, binds columns *by name* (never by position),
    streams the file in chunks, converts every declared column with ``values.py``,
    drops blank rows, and turns unreadable cells into ``ImportProblem``\\ s that name the
    line, the column as written in the file, the value and what was expected.

``JsonRecordsFormat``
    The same for JSON arrays of records (Amazon Ads reports): keys instead of headers,
    record numbers instead of lines.

``fact_table(name, ctx, n, **columns)`` builds the arrow table for one fact table with the
warehouse's column types (``store_id`` filled in from the context).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lianxing.domain.facts import FACT_TABLES, META_COLUMNS, ColumnType
from lianxing.ingest.files import values
from lianxing.ingest.files.problems import ImportProblem, ProblemLog
from lianxing.ingest.files.reading import FileHead, RawChunk, Source, normalise_header

FactChunk = tuple[str, pa.Table]

ARROW_TYPES: dict[ColumnType, pa.DataType] = {
    ColumnType.STRING: pa.string(),
    ColumnType.INT: pa.int64(),
    ColumnType.FLOAT: pa.float64(),
    ColumnType.MONEY: values.MONEY,
    ColumnType.BOOL: pa.bool_(),
    ColumnType.DATE: pa.date32(),
    ColumnType.TIMESTAMP: values.TIMESTAMP,
}


class Kind(StrEnum):
    """How a column's text is read (see ``values.py``)."""

    TEXT = "text"
    INT = "int"
    MONEY = "money"
    NUMBER = "number"
    PERCENT = "percent"
    TIMESTAMP = "timestamp"
    DATE = "date"
    BOOL = "bool"


EXPECTED: dict[Kind, str] = {
    Kind.TEXT: "text",
    Kind.INT: "a whole number such as 12 or 1,200 / 整数",
    Kind.MONEY: "an amount such as 1234.56 or $1,234.56 / 金额",
    Kind.NUMBER: "a number such as 0.25 / 数字",
    Kind.PERCENT: "a percentage such as 12.5% / 百分比",
    Kind.TIMESTAMP: "a date and time such as 2026-09-04T08:05:07+00:00 / 日期时间",
    Kind.DATE: "a date such as 2026-09-04 / 日期",
    Kind.BOOL: "true or false / 是或否",
}


@dataclass(frozen=True, slots=True)
class Field:
    """A column a format reads: its key in the format's code and the header names it accepts.

    ``headers[0]`` is the name shown in messages; the others are variants seen in the wild
    (older layouts, UK spellings, translated downloads). ``required`` means the column must
    exist; ``not_empty`` that each data row must have a value in it.
    """

    key: str
    headers: tuple[str, ...]
    kind: Kind = Kind.TEXT
    required: bool = True
    not_empty: bool = False

    def matches(self, normalised: str) -> bool:
        return normalised in {normalise_header(h) for h in self.headers}


def col(
    key: str,
    *headers: str,
    kind: Kind = Kind.TEXT,
    required: bool = True,
    not_empty: bool = False,
) -> Field:
    return Field(key, headers or (key,), kind, required, not_empty)


@dataclass
class ImportContext:
    """What a format needs to know besides the file: the store and the user's choices."""

    file: str
    store_id: int
    timezone: str = "UTC"
    currency: str = "USD"
    site: str | None = None
    decimal_comma: bool = False  # EU Seller Central downloads write 1.234,56
    day_first: bool = True  # 04/09/2026 is 4 September except on US sites
    period_from: dt.date | None = None  # --from/--to, for reports without a date column
    period_to: dt.date | None = None
    buyer_salt: bytes | None = None
    marketplace_id: str | None = None
    problems: ProblemLog = field(default_factory=ProblemLog)
    rows_read: int = 0
    state: dict[str, Any] = field(default_factory=dict)  # a format's memory across chunks

    def problem(
        self,
        line: int | None,
        column: str | None,
        value: str | None,
        expected: str,
        unit: str = "line",
    ) -> None:
        self.problems.add(ImportProblem(self.file, line, column, value, expected, unit))

    def hash_buyer(self, identifiers: pa.Array) -> pa.Array:
        """sha256 (salted with the workspace's salt) of each identifier, once per distinct one."""
        lowered = pc.utf8_lower(pc.utf8_trim_whitespace(identifiers))
        encoded = pc.dictionary_encode(lowered)
        salt = self.buyer_salt or b""
        digests = [
            None if v is None else hashlib.sha256(salt + v.encode()).hexdigest()
            for v in encoded.dictionary.to_pylist()
        ]
        return pc.take(pa.array(digests, pa.string()), encoded.indices)


class Rows:
    """One chunk of a report with every declared column converted to its type.

    ``rows["sku"]`` is the typed array (all NULL if the optional column is absent),
    ``rows.lines`` the line (or record) number of each row, ``rows.reject(mask, key,
    expected)`` records a problem for each row where ``mask`` is true (for checks a format
    makes itself, such as an unknown status code).
    """

    def __init__(
        self,
        typed: dict[str, pa.Array],
        raw: dict[str, pa.Array],
        headers: dict[str, str],
        lines: pa.Array,
        fields: Mapping[str, Field],
        ctx: ImportContext,
        unit: str,
    ) -> None:
        self._typed = typed
        self._raw = raw
        self._headers = headers
        self.lines = lines
        self._fields = fields
        self._ctx = ctx
        self.unit = unit

    def __len__(self) -> int:
        return len(self.lines)

    def has(self, key: str) -> bool:
        return key in self._typed

    def __getitem__(self, key: str) -> pa.Array:
        if key in self._typed:
            return self._typed[key]
        spec = self._fields[key]  # KeyError: the format asked for a column it did not declare
        return pa.nulls(len(self), _KIND_TYPES[spec.kind])

    def raw(self, key: str) -> pa.Array:
        return self._raw.get(key, pa.nulls(len(self), pa.string()))

    def header(self, key: str) -> str:
        return self._headers.get(key, self._fields[key].headers[0])

    def reject(self, mask: pa.Array, key: str, expected: str) -> None:
        """Record a problem for every row where ``mask`` is true (NULL counts as false)."""
        mask = pc.fill_null(mask, False)
        count = pc.sum(mask).as_py() or 0
        if not count:
            return
        _report(
            self._ctx, mask, count, self.lines, self.header(key), self.raw(key), expected, self.unit
        )

    def filter(self, mask: pa.Array) -> Rows:
        mask = pc.fill_null(mask, False)
        return Rows(
            {k: pc.filter(v, mask) for k, v in self._typed.items()},
            {k: pc.filter(v, mask) for k, v in self._raw.items()},
            self._headers,
            pc.filter(self.lines, mask),
            self._fields,
            self._ctx,
            self.unit,
        )


_KIND_TYPES: dict[Kind, pa.DataType] = {
    Kind.TEXT: pa.string(),
    Kind.INT: pa.int64(),
    Kind.MONEY: values.MONEY,
    Kind.NUMBER: pa.float64(),
    Kind.PERCENT: pa.float64(),
    Kind.TIMESTAMP: values.TIMESTAMP,
    Kind.DATE: pa.date32(),
    Kind.BOOL: pa.bool_(),
}


def _report(
    ctx: ImportContext,
    mask: pa.Array,
    count: int,
    lines: pa.Array,
    column: str,
    raw: pa.Array,
    expected: str,
    unit: str,
) -> None:
    # Only the first few need details; the rest are counted.
    room = max(ctx.problems.limit - len(ctx.problems.shown), 0)
    if room:
        index = pc.indices_nonzero(mask)[:room]
        for line, value in zip(
            pc.take(lines, index).to_pylist(), pc.take(raw, index).to_pylist(), strict=True
        ):
            ctx.problem(line, column, value, expected, unit)
            count -= 1
    ctx.problems.count += count


def convert(
    table: pa.Table,
    lines: pa.Array,
    bindings: Mapping[str, str],
    fields: Mapping[str, Field],
    ctx: ImportContext,
    unit: str = "line",
) -> Rows:
    """Text cells → typed ``Rows``; blank rows are dropped, bad cells become problems.

    ``bindings`` maps field key → column name in ``table`` (the header as written).
    """
    raw = {
        key: values.blank_to_null(_as_array(table.column(name))) for key, name in bindings.items()
    }
    if raw:
        blank = None
        for array in raw.values():
            is_null = pc.is_null(array)
            blank = is_null if blank is None else pc.and_(blank, is_null)
        assert blank is not None
        if pc.any(blank).as_py():
            keep = pc.invert(blank)
            raw = {k: pc.filter(v, keep) for k, v in raw.items()}
            lines = pc.filter(lines, keep)
    found: list[
        tuple[int, int, str, str | None, str]
    ] = []  # (line, order, column, value, expected)
    typed: dict[str, pa.Array] = {}
    bad_total = 0
    for order, (key, array) in enumerate(raw.items()):
        spec = fields[key]
        parsed = _parse(array, spec.kind, ctx)
        typed[key] = parsed.values
        problem_masks: list[tuple[pa.Array, str]] = []
        if parsed.bad is not None:
            problem_masks.append((parsed.bad, EXPECTED[spec.kind]))
        if spec.not_empty:
            empty = pc.is_null(array)
            if pc.any(empty).as_py():
                problem_masks.append((empty, "a value (this column must not be empty) / 不能为空"))
        for mask, expected in problem_masks:
            count = pc.sum(mask).as_py() or 0
            bad_total += count
            index = pc.indices_nonzero(mask)[: ctx.problems.limit]
            for line, value in zip(
                pc.take(lines, index).to_pylist(), pc.take(array, index).to_pylist(), strict=True
            ):
                found.append((line, order, bindings[key], value, expected))
    if found:
        found.sort(key=lambda p: (p[0], p[1]))
        for line, _, column, value, expected in found[: ctx.problems.limit]:
            ctx.problem(line, column, value, expected, unit)
        ctx.problems.count += bad_total - min(len(found), ctx.problems.limit)
    ctx.rows_read += len(lines)
    return Rows(typed, raw, dict(bindings), lines, fields, ctx, unit)


def _as_array(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        return column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    return column


def _parse(array: pa.Array, kind: Kind, ctx: ImportContext) -> values.Parsed:
    if kind is Kind.TEXT:
        return values.text(array)
    if kind is Kind.INT:
        return values.integer(array)
    if kind is Kind.MONEY:
        return values.money(array, decimal_comma=ctx.decimal_comma)
    if kind is Kind.NUMBER:
        return values.decimal_float(array, decimal_comma=ctx.decimal_comma)
    if kind is Kind.PERCENT:
        return values.percent(array, decimal_comma=ctx.decimal_comma)
    if kind is Kind.TIMESTAMP:
        return values.timestamp(array, timezone=ctx.timezone, day_first=ctx.day_first)
    if kind is Kind.DATE:
        return values.date(array, day_first=ctx.day_first)
    if kind is Kind.BOOL:
        return values.boolean(array)
    raise AssertionError(kind)


def fact_table(name: str, ctx: ImportContext, n: int, **columns: Any) -> pa.Table:
    """An arrow table for fact table ``name`` with the warehouse's column types.

    Each keyword is an array of length ``n`` or a scalar repeated ``n`` times; ``store_id``
    defaults to the context's store. Columns not given are left to the writer (NULL).
    """
    table = FACT_TABLES[name]
    unknown = set(columns) - set(table.column_names)
    if unknown:
        raise KeyError(f"{name} has no column(s) {sorted(unknown)}")
    if "store_id" in table.column_names:
        columns.setdefault("store_id", ctx.store_id)
    arrays: list[pa.Array] = []
    names: list[str] = []
    for column in table.columns:
        if column.name in META_COLUMNS or column.name not in columns:
            continue
        value = columns[column.name]
        arrow_type = ARROW_TYPES[column.type]
        if isinstance(value, pa.ChunkedArray):
            value = value.combine_chunks()
        if isinstance(value, pa.Array):
            array = value if value.type == arrow_type else pc.cast(value, arrow_type)
        else:
            array = pa.repeat(pa.scalar(value, arrow_type), n)
        arrays.append(array)
        names.append(column.name)
    return pa.Table.from_arrays(arrays, names=names)


class ReportFormat(ABC):
    """One kind of report file. Subclasses set the class attributes and the two methods."""

    id: ClassVar[str]
    name_zh: ClassVar[str]
    name_en: ClassVar[str]
    platform: ClassVar[str] = "generic"
    tables: ClassVar[tuple[str, ...]] = ()  # fact tables it writes, for docs and --help
    needs_period: ClassVar[bool] = False  # the file has no dates: --from/--to required

    @abstractmethod
    def sniff(self, head: FileHead) -> float:
        """Confidence 0..1 that ``head`` is this format (0: certainly not)."""

    @abstractmethod
    def parse(self, source: Source, ctx: ImportContext) -> Iterator[FactChunk]:
        """Yield fact chunks; record bad input in ``ctx.problems`` (never raise for it)."""

    @property
    def label(self) -> str:
        return f"{self.id} ({self.name_zh} / {self.name_en})"


class TabularFormat(ReportFormat):
    """A CSV/TSV/XLSX report read by header names (see the module docstring)."""

    fields: ClassVar[tuple[Field, ...]]
    containers: ClassVar[tuple[str, ...]] = ("text", "xlsx")

    @classmethod
    def field_map(cls) -> dict[str, Field]:
        return {f.key: f for f in cls.fields}

    def header_index(self, head: FileHead) -> int | None:
        """The row holding the header: the first one where every required field is named."""
        required = [f for f in self.fields if f.required]
        for index in range(len(head.rows)):
            cells = set(head.normalised_row(index))
            if all(any(f.matches(c) for c in cells) for f in required):
                return index
        return None

    def sniff(self, head: FileHead) -> float:
        if head.container not in self.containers:
            return 0.0
        index = self.header_index(head)
        if index is None:
            return 0.0
        cells = set(head.normalised_row(index))
        known = sum(1 for f in self.fields if any(f.matches(c) for c in cells))
        # All required columns are there; the more optional ones too, the surer.
        return 0.5 + 0.5 * known / len(self.fields)

    def bind(self, header: Sequence[str]) -> tuple[dict[str, str], list[Field]]:
        """Field key → header cell as written, and the required fields that are missing."""
        bindings: dict[str, str] = {}
        for spec in self.fields:
            for cell in header:
                if spec.matches(normalise_header(cell)):
                    bindings[spec.key] = cell
                    break
        missing = [f for f in self.fields if f.required and f.key not in bindings]
        return bindings, missing

    def parse(self, source: Source, ctx: ImportContext) -> Iterator[FactChunk]:
        head = source.head
        unit = "row" if head.container == "xlsx" else "line"
        index = self.header_index(head)
        if index is None:
            names = ", ".join(repr(f.headers[0]) for f in self.fields if f.required)
            ctx.problem(None, None, None, f"a header row with the columns {names} / 缺少表头")
            return
        bindings, missing = self.bind(head.rows[index])
        for spec in missing:
            also = f" (also accepted: {', '.join(spec.headers[1:])})" if spec.headers[1:] else ""
            ctx.problem(
                index + 1,
                spec.headers[0],
                None,
                f"a column named {spec.headers[0]!r}{also} / 缺少列",
                unit,
            )
        if missing:
            return
        fields = self.field_map()
        for chunk in source.read_chunks(index, list(dict.fromkeys(bindings.values()))):
            rows = convert(chunk.table, _lines(chunk), bindings, fields, ctx, unit)
            rows = self.keep(rows, ctx)
            if len(rows):
                yield from self.facts(rows, ctx)
        _report_invalid_rows(source, ctx, len(head.rows[index]))
        if not ctx.problems:
            yield from self.finish(ctx)

    def keep(self, rows: Rows, ctx: ImportContext) -> Rows:
        """Drop rows that are not data (total rows, summary rows); default: keep all."""
        return rows

    @abstractmethod
    def facts(self, rows: Rows, ctx: ImportContext) -> Iterator[FactChunk]:
        """Turn converted rows into fact chunks (vectorised; no per-row Python)."""

    def finish(self, ctx: ImportContext) -> Iterator[FactChunk]:
        """Fact chunks held back across chunks (``ctx.state``), after the last one."""
        return iter(())


def _lines(chunk: RawChunk) -> pa.Array:
    return pa.array(np.arange(chunk.first_line, chunk.first_line + chunk.table.num_rows))


def _report_invalid_rows(source: Source, ctx: ImportContext, width: int) -> None:
    if not source.invalid_rows:
        return
    source.locate_invalid_rows()
    separator = "tab" if source.head.delimiter == "\t" else repr(source.head.delimiter)
    for row in source.invalid_rows:
        ctx.problem(
            row.line,
            None,
            row.text,
            f"{width} fields separated by {separator}, found {row.found} / 列数不对",
        )


def json_text(value: Any) -> str | None:
    """A JSON value as the text a CSV would hold (numbers without exponent)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        from decimal import Decimal

        return format(Decimal(repr(value)), "f")
    if isinstance(value, int | str):
        return str(value)
    import json

    return json.dumps(value, ensure_ascii=False)


class JsonRecordsFormat(ReportFormat):
    """A JSON array of flat records (keys = columns), optionally gzipped."""

    fields: ClassVar[tuple[Field, ...]]

    @classmethod
    def field_map(cls) -> dict[str, Field]:
        return {f.key: f for f in cls.fields}

    def sniff(self, head: FileHead) -> float:
        if head.container != "json" or head.json_top != "array":
            return 0.0
        keys = {normalise_header(k) for k in head.json_keys}
        if not all(any(f.matches(k) for k in keys) for f in self.fields if f.required):
            return 0.0
        known = sum(1 for f in self.fields if any(f.matches(k) for k in keys))
        return 0.5 + 0.5 * known / len(self.fields)

    def parse(self, source: Source, ctx: ImportContext) -> Iterator[FactChunk]:
        data = source.load_json()
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            ctx.problem(None, None, None, "a JSON array of report rows (objects) / JSON 数组")
            return
        yield from self.parse_records(data, ctx)

    def parse_records(
        self, records: Sequence[Mapping[str, Any]], ctx: ImportContext
    ) -> Iterator[FactChunk]:
        keys = list(dict.fromkeys(k for r in records for k in r))
        bindings: dict[str, str] = {}
        for spec in self.fields:
            for key in keys:
                if spec.matches(normalise_header(key)):
                    bindings[spec.key] = key
                    break
        missing = [f for f in self.fields if f.required and f.key not in bindings]
        for spec in missing:
            ctx.problem(
                None, spec.headers[0], None, f"a field named {spec.headers[0]!r} in each record"
            )
        if missing or not records:
            return
        table = pa.table(
            {
                name: pa.array([json_text(r.get(name)) for r in records], pa.string())
                for name in dict.fromkeys(bindings.values())
            }
        )
        lines = pa.array(range(1, len(records) + 1), pa.int64())
        rows = convert(table, lines, bindings, self.field_map(), ctx, "record")
        if len(rows):
            yield from self.facts(rows, ctx)

    @abstractmethod
    def facts(self, rows: Rows, ctx: ImportContext) -> Iterator[FactChunk]:
        """Turn converted rows into fact chunks."""


def first_present(*arrays: pa.Array) -> pa.Array:
    """Element-wise first non-NULL (``coalesce``) of same-typed arrays."""
    return pc.coalesce(*arrays) if len(arrays) > 1 else arrays[0]


def concat_ids(*parts: pa.Array, sep: str = "|") -> pa.Array:
    """Join string arrays element-wise into an id; NULL parts become empty."""
    arrays = [pc.fill_null(pc.cast(p, pa.string()), "") for p in parts]
    return pc.binary_join_element_wise(*arrays, sep)
