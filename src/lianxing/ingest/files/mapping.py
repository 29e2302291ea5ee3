"""Tabular files read through a YAML column mapping (docs/import-mappings.md).

One engine serves two uses:

* the seller-centre order exports of Shopee, Lazada, TikTok Shop and AliExpress, whose
  column lists are not confirmed from a primary source: each is a mapping file shipped in
  ``mappings/`` (accepted header names in English and Chinese, status value maps), so a
  changed header is fixed by editing YAML, not code;
* any other platform or ERP: the user writes a mapping and imports with ``--mapping``.

A mapping names the target fact table(s), for each canonical column the accepted headers,
and the reading rules (time zone, date formats, decimal comma, value maps, constants).
``load_mapping`` validates it against ``FACT_TABLES`` and says exactly what is wrong;
``MappedFormat`` is then an ordinary ``TabularFormat`` (header binding by name, chunked
reading, problems per line and column all come from ``base.py``).

Derived values, so that an export with one row per order line fills both tables:
``item_price`` etc. marked ``per_unit`` are multiplied by ``quantity``; ``line_id``, when
not mapped, is the SKU (then the platform item id), numbered ``#2``, ``#3`` when an order
repeats it; ``buyer_ref`` columns are hashed; ``currency`` defaults to the store's. When
such an export gives each line its own status (Lazada: one row per unit, each with the
item's status), the order's status is the lines' combined like the API importers do
(``marketplace.overall_status``: cancelled only if every line is, else the least
advanced), across the whole file, not the status of whichever row came last.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyarrow as pa
import pyarrow.compute as pc
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from lianxing.domain.facts import FACT_TABLES, META_COLUMNS, ColumnType, ListingStatus, OrderStatus
from lianxing.ingest.files import values
from lianxing.ingest.files.base import (
    FactChunk,
    ImportContext,
    Kind,
    Rows,
    TabularFormat,
    col,
    fact_table,
)
from lianxing.ingest.files.marketplace import RANKED_STATUS
from lianxing.ingest.files.reading import Source

SHIPPED_DIR = Path(__file__).parent / "mappings"

# Canonical columns whose values must come from a closed vocabulary.
VOCABULARIES: dict[tuple[str, str], tuple[str, ...]] = {
    ("orders", "status"): tuple(OrderStatus),
    ("listings", "status"): tuple(ListingStatus),
}

_KINDS: dict[ColumnType, Kind] = {
    ColumnType.STRING: Kind.TEXT,
    ColumnType.INT: Kind.INT,
    ColumnType.FLOAT: Kind.NUMBER,
    ColumnType.MONEY: Kind.MONEY,
    ColumnType.BOOL: Kind.BOOL,
    ColumnType.DATE: Kind.DATE,
    ColumnType.TIMESTAMP: Kind.TIMESTAMP,
}

# Filled in when not mapped: by rule (line_id, currency) or not needed (store_id).
_DERIVABLE = {"line_id", "currency", "store_id"}


class MappingError(Exception):
    """The mapping file itself is wrong (one line per problem, naming the file and key)."""


class ColumnRule(BaseModel):
    """How one canonical column is read."""

    model_config = ConfigDict(extra="forbid")

    headers: list[str] = Field(min_length=1)
    values: dict[str, str] | None = None  # file value -> canonical value (case-insensitive)
    per_unit: bool = False  # money per unit: multiplied by quantity into a line total
    required: bool = True  # the column must be in the file (else: optional, NULL if absent)

    @field_validator("headers", mode="before")
    @classmethod
    def _one_header(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("values", mode="before")
    @classmethod
    def _values_as_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
        return value


class MappingSpec(BaseModel):
    """A mapping file. See docs/import-mappings.md for every key with an example."""

    model_config = ConfigDict(extra="forbid")

    format: str = Field(pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
    name_zh: str
    name_en: str
    platform: str = "generic"
    verified: bool = False
    source: str | None = None
    tables: list[str] = Field(min_length=1)
    timezone: str = "store"  # "store" = the store's time zone; or an IANA name
    date_formats: list[str] = []  # strptime formats tried first, e.g. "%d/%m/%Y %H:%M"
    day_first: bool | None = None
    decimal: Literal["point", "comma"] | None = None
    constants: dict[str, str | int | float | bool] = {}
    columns: dict[str, ColumnRule]

    @field_validator("columns", mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: {"headers": v} if isinstance(v, str | list) else v for k, v in value.items()}
        return value


def _check(spec: MappingSpec) -> list[str]:
    """Problems a valid-looking mapping can still have, against the fact tables."""
    problems: list[str] = []
    unknown_tables = [t for t in spec.tables if t not in FACT_TABLES]
    if unknown_tables:
        return [f"tables: unknown {unknown_tables}; expected some of {sorted(FACT_TABLES)}"]
    if len(spec.tables) > 1 and set(spec.tables) != {"orders", "order_lines"}:
        problems.append("tables: more than one table is only supported for [orders, order_lines]")
    known = {c for t in spec.tables for c in FACT_TABLES[t].column_names} - set(META_COLUMNS)
    for name in [*spec.columns, *spec.constants]:
        if name not in known:
            problems.append(
                f"columns.{name}: not a column of {spec.tables}; expected one of "
                f"{sorted(known - {'store_id'})}"
            )
    for name in set(spec.columns) & set(spec.constants):
        problems.append(f"{name}: given both as a column and as a constant")
    for table in spec.tables:
        for column in FACT_TABLES[table].columns:
            name = column.name
            given = name in spec.columns or name in spec.constants
            if column.nullable or given or name in META_COLUMNS or name in _DERIVABLE:
                continue
            problems.append(
                f"columns.{name}: {table}.{name} must be filled; map a column or give a constant"
            )
        if (
            "order_lines" in spec.tables
            and "line_id" not in spec.columns
            and not ({"sku", "platform_item_id"} & set(spec.columns))
        ):
            problems.append("columns.line_id: map line_id, sku or platform_item_id")
    for name, rule in spec.columns.items():
        types = {
            FACT_TABLES[t].column(name).type
            for t in spec.tables
            if name in FACT_TABLES[t].column_names
        }
        if rule.per_unit and types != {ColumnType.MONEY}:
            problems.append(f"columns.{name}.per_unit: only money columns are per unit")
        if rule.per_unit and "quantity" not in spec.columns and "quantity" not in spec.constants:
            problems.append(f"columns.{name}.per_unit: needs a quantity column")
        if rule.values is not None and types != {ColumnType.STRING}:
            problems.append(f"columns.{name}.values: value maps are for text columns")
        for table in spec.tables:
            vocabulary = VOCABULARIES.get((table, name))
            if vocabulary and rule.values:
                wrong = sorted({v for v in rule.values.values() if v not in vocabulary})
                if wrong:
                    problems.append(f"columns.{name}.values: {wrong} not in {list(vocabulary)}")
    if spec.timezone != "store":
        try:
            ZoneInfo(spec.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(
                f"timezone: {spec.timezone!r} is not an IANA time zone "
                "(e.g. Asia/Kuala_Lumpur) or 'store'"
            )
    for fmt in spec.date_formats:
        if "%" not in fmt:
            problems.append(
                f"date_formats: {fmt!r} is not a strptime format such as %Y-%m-%d %H:%M"
            )
    return problems


def load_mapping(path: Path) -> MappingSpec:
    """Read and validate a mapping file; ``MappingError`` lists every problem found."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise MappingError(f"{path}: cannot read the mapping file ({exc})") from exc
    if not isinstance(data, dict):
        raise MappingError(f"{path}: a mapping file is a YAML object (key: value)")
    try:
        spec = MappingSpec.model_validate(data)
    except ValidationError as exc:
        lines = [
            f"{path}: {'.'.join(str(p) for p in error['loc']) or '(top)'}: {error['msg']}"
            for error in exc.errors()
        ]
        raise MappingError("\n".join(lines)) from exc
    problems = _check(spec)
    if problems:
        raise MappingError("\n".join(f"{path}: {p}" for p in problems))
    return spec


class MappedFormat(TabularFormat):
    """A ``TabularFormat`` whose columns and rules come from a ``MappingSpec``."""

    spec: ClassVar[MappingSpec]
    mapping_file: ClassVar[Path]

    def facts(self, rows: Rows, ctx: ImportContext) -> Iterator[FactChunk]:
        spec = self.spec
        n = len(rows)
        typed: dict[str, Any] = {}
        for name, rule in spec.columns.items():
            typed[name] = self._column(rows, name, rule, ctx)
        for name, constant in spec.constants.items():
            typed[name] = _constant(name, constant, spec.tables)
        if ctx.problems:
            return
        if "currency" in typed:
            typed["currency"] = pc.utf8_upper(pc.cast(typed["currency"], pa.string()))
        else:
            typed["currency"] = ctx.currency
        if "order_lines" in spec.tables:
            for name, rule in spec.columns.items():
                if rule.per_unit:
                    typed[name] = _times(typed[name], typed["quantity"], n)
            if "line_id" not in typed:
                typed["line_id"] = _line_ids(typed, n)
        if "buyer_ref" in typed:
            typed["buyer_ref"] = ctx.hash_buyer(typed["buyer_ref"])
        if {"orders", "order_lines"} <= set(spec.tables) and isinstance(
            typed.get("status"), pa.Array
        ):
            typed["status"] = _order_status(typed["order_id"], typed["status"], ctx)
        for table in spec.tables:
            names = set(FACT_TABLES[table].column_names)
            yield table, fact_table(table, ctx, n, **{k: v for k, v in typed.items() if k in names})

    def parse(self, source: Source, ctx: ImportContext) -> Iterator[FactChunk]:
        self._apply_reading_rules(ctx)
        yield from super().parse(source, ctx)

    def _apply_reading_rules(self, ctx: ImportContext) -> None:
        # The mapping's explicit choices win over the store's defaults.
        spec = self.spec
        if spec.timezone != "store":
            ctx.timezone = spec.timezone
        if spec.day_first is not None:
            ctx.day_first = spec.day_first
        if spec.decimal is not None:
            ctx.decimal_comma = spec.decimal == "comma"

    def _column(self, rows: Rows, name: str, rule: ColumnRule, ctx: ImportContext) -> Any:
        if rule.values is not None:
            parsed = values.code(rows[name], rule.values)
            if parsed.bad is not None:
                shown = ", ".join(repr(k) for k in rule.values)
                rows.reject(parsed.bad, name, f"one of {shown} (see {self.mapping_file.name})")
            return parsed.values
        vocabulary = next(
            (VOCABULARIES[(t, name)] for t in self.spec.tables if (t, name) in VOCABULARIES), None
        )
        if vocabulary is not None:
            parsed = values.code(rows[name], {v: v for v in vocabulary})
            if parsed.bad is not None:
                rows.reject(
                    parsed.bad,
                    name,
                    "one of " + ", ".join(vocabulary) + " (or add a 'values' map to the mapping)",
                )
            return parsed.values
        if _kind_of(self.spec, name) is Kind.TIMESTAMP and self.spec.date_formats:
            return _timestamps(rows, name, self.spec, ctx)
        return rows[name]


def _kind_of(spec: MappingSpec, name: str) -> Kind:
    for table in spec.tables:
        if name in FACT_TABLES[table].column_names:
            column = FACT_TABLES[table].column(name)
            if column.type is ColumnType.FLOAT and name.endswith("_rate"):
                return Kind.PERCENT
            return _KINDS[column.type]
    raise KeyError(name)


def _timestamps(rows: Rows, name: str, spec: MappingSpec, ctx: ImportContext) -> pa.Array:
    """The mapping's date formats first, then the tolerant parser; local times → UTC."""
    raw = rows.raw(name)
    found = pa.nulls(len(raw), values.TIMESTAMP)
    for fmt in spec.date_formats:
        parsed = pc.strptime(raw, format=fmt, unit="us", error_is_null=True)
        found = pc.coalesce(found, parsed)
    if ctx.timezone != "UTC":
        found = pc.cast(
            pc.assume_timezone(found, ctx.timezone, ambiguous="earliest", nonexistent="latest"),
            values.TIMESTAMP,
        )
    rest = pc.and_(pc.is_valid(raw), pc.is_null(found))
    if pc.any(rest).as_py():
        tolerant = values.timestamp(raw, timezone=ctx.timezone, day_first=ctx.day_first).values
        found = pc.coalesce(found, tolerant)
    bad = pc.and_(pc.is_valid(raw), pc.is_null(found))
    formats = " or ".join(spec.date_formats)
    rows.reject(bad, name, f"a date and time like {formats} / 日期时间")
    return found


def _constant(name: str, value: str | int | float | bool, tables: list[str]) -> Any:
    for table in tables:
        if name in FACT_TABLES[table].column_names:
            kind = FACT_TABLES[table].column(name).type
            if kind is ColumnType.MONEY:
                from decimal import Decimal

                return Decimal(str(value))
            if kind is ColumnType.DATE and isinstance(value, str):
                return dt.date.fromisoformat(value)
            return value
    return value


def _times(money: pa.Array, quantity: Any, n: int) -> pa.Array:
    quantity_array = quantity if isinstance(quantity, pa.Array) else pa.repeat(quantity, n)
    wide = pc.multiply(pc.cast(money, values.MONEY), pc.cast(quantity_array, pa.decimal128(19, 0)))
    return pc.cast(wide, values.MONEY)


def _line_ids(typed: dict[str, Any], n: int) -> pa.Array:
    """SKU (else item id) per row; the 2nd row of an order with the same SKU gets ``#2``."""
    base = typed.get("sku")
    if base is None or not isinstance(base, pa.Array):
        base = typed["platform_item_id"]
    elif "platform_item_id" in typed and isinstance(typed["platform_item_id"], pa.Array):
        base = pc.coalesce(base, typed["platform_item_id"])
    orders = typed["order_id"].to_pylist()
    seen: dict[tuple[Any, Any], int] = {}
    out: list[str | None] = []
    for order, line in zip(orders, base.to_pylist(), strict=True):
        count = seen.get((order, line), 0) + 1
        seen[(order, line)] = count
        out.append(line if count == 1 or line is None else f"{line}#{count}")
    return pa.array(out, pa.string())


_STATUS_SEEN = "mapping.order_status"  # ctx.state key: (order_id, rank) of every order so far
_RANKED = pa.array([str(s) for s in RANKED_STATUS], pa.string())


def _order_status(order_ids: pa.Array, line_status: pa.Array, ctx: ImportContext) -> pa.Array:
    """Each row's status replaced by its order's combined status (``overall_status``).

    Statuses are ranked so that the minimum over an order's lines is the combined status;
    the minimum per order so far is kept in the parse's ``ctx.state``, so an order whose
    lines are spread over several chunks gets the status of all of them on its last row
    (the writer keeps the last row of a key).
    """
    rank = pc.index_in(line_status, value_set=_RANKED)
    chunk = pa.table({"order_id": order_ids, "rank": rank})
    seen: pa.Table | None = ctx.state.get(_STATUS_SEEN)
    if seen is not None:
        chunk = pa.concat_tables([seen, chunk])
    combined = chunk.group_by("order_id").aggregate([("rank", "min")])
    combined = pa.table(
        {"order_id": combined.column("order_id"), "rank": combined.column("rank_min")}
    )
    ctx.state[_STATUS_SEEN] = combined
    position = pc.index_in(order_ids, value_set=combined.column("order_id"))
    return pc.take(_RANKED, pc.take(combined.column("rank"), position))


def _must_have_value(spec: MappingSpec, name: str) -> bool:
    for table in spec.tables:
        fact = FACT_TABLES[table]
        if name in fact.column_names and (name in fact.key or not fact.column(name).nullable):
            return True
    return False


def build_format(spec: MappingSpec, mapping_file: Path) -> MappedFormat:
    """A format object for ``spec`` (its own subclass: formats declare fields on the class)."""
    fields = tuple(
        col(
            name,
            *rule.headers,
            kind=Kind.TEXT
            if rule.values is not None
            or (spec.date_formats and _kind_of(spec, name) is Kind.TIMESTAMP)
            else _kind_of(spec, name),
            required=rule.required,
            not_empty=_must_have_value(spec, name),
        )
        for name, rule in spec.columns.items()
    )
    attributes: dict[str, Any] = {
        "id": spec.format,
        "name_zh": spec.name_zh,
        "name_en": spec.name_en,
        "platform": spec.platform,
        "tables": tuple(spec.tables),
        "fields": fields,
        "spec": spec,
        "mapping_file": mapping_file,
    }
    cls = type(f"Mapped[{spec.format}]", (MappedFormat,), attributes)
    return cls()  # type: ignore[no-any-return]


def load_format(path: Path) -> MappedFormat:
    """A user's ``--mapping FILE`` as a format (``MappingError`` if the file is wrong)."""
    return build_format(load_mapping(path), path)


def shipped_format(file_name: str) -> MappedFormat:
    """A mapping shipped in ``mappings/`` (a broken shipped file is a bug: fail loudly)."""
    return load_format(SHIPPED_DIR / file_name)


__all__ = [
    "MappedFormat",
    "MappingError",
    "MappingSpec",
    "build_format",
    "load_format",
    "load_mapping",
    "shipped_format",
]
