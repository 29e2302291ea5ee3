"""Vectorised builders for Arrow columns of the canonical fact shapes.

Everything is built from numpy arrays without a per-row Python step: strings are laid
out as fixed-width ASCII matrices and handed to Arrow as buffers; money is written as the
raw 128-bit integers of ``decimal128(18, 4)``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from lianxing.domain.facts import FACT_TABLES, META_COLUMNS, ColumnType

MONEY_TYPE = pa.decimal128(18, 4)
MONEY_SCALE = 10_000  # raw units per currency unit
US_PER_SECOND = 1_000_000
SECONDS_PER_DAY = 86_400

ARROW_TYPES: dict[ColumnType, pa.DataType] = {
    ColumnType.STRING: pa.string(),
    ColumnType.INT: pa.int64(),
    ColumnType.FLOAT: pa.float64(),
    ColumnType.MONEY: MONEY_TYPE,
    ColumnType.BOOL: pa.bool_(),
    ColumnType.DATE: pa.date32(),
    ColumnType.TIMESTAMP: pa.timestamp("us"),
}

_BASE36 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_LETTERS = np.frombuffer(b"ABCDEFGHJKLMNPRSTUVWXY", dtype=np.uint8)  # no I, O, Q, Z


def arrow_schema(table_name: str) -> pa.Schema:
    """The Arrow schema of a fact table as the generator yields it (no source/batch_id)."""
    table = FACT_TABLES[table_name]
    return pa.schema(
        [
            pa.field(c.name, ARROW_TYPES[c.type], nullable=c.nullable)
            for c in table.columns
            if c.name not in META_COLUMNS
        ]
    )


def make_table(table_name: str, columns: dict[str, pa.Array]) -> pa.Table:
    schema = arrow_schema(table_name)
    missing = set(schema.names) - set(columns)
    extra = set(columns) - set(schema.names)
    assert not missing and not extra, f"{table_name}: missing {missing}, unexpected {extra}"
    return pa.Table.from_arrays([columns[name] for name in schema.names], schema=schema)


# --- fixed-width ASCII -----------------------------------------------------------------


def digits(values: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal digits of non-negative integers as an (n, width) uint8 matrix."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    result: np.ndarray = ((values.astype(np.int64)[:, None] // powers) % 10 + 48).astype(np.uint8)
    return result


def base36(values: np.ndarray, width: int) -> np.ndarray:
    powers = 36 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    result: np.ndarray = _BASE36[(values.astype(np.int64)[:, None] // powers) % 36]
    return result


def hex64(values: np.ndarray) -> np.ndarray:
    """16 lowercase hex characters per unsigned 64-bit value."""
    as_bytes = values.astype(">u8").view(np.uint8).reshape(-1, 8)
    nibbles = np.stack([as_bytes >> 4, as_bytes & 0xF], axis=2).reshape(-1, 16)
    result: np.ndarray = _HEX[nibbles]
    return result


def letters(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    result: np.ndarray = _LETTERS[rng.integers(0, len(_LETTERS), size=(n, width))]
    return result


def literal(text: str, n: int) -> np.ndarray:
    encoded = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    return np.broadcast_to(encoded, (n, len(encoded)))


def strings(*parts: np.ndarray) -> pa.Array:
    """Concatenate (n, w_i) ASCII matrices column-wise into one Arrow string array."""
    matrix = np.ascontiguousarray(np.hstack(parts).astype(np.uint8, copy=False))
    n, width = matrix.shape
    assert n * width < 2**31, "string column too large for one chunk"
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(matrix)]
    )


def pick(labels: pa.Array | list[str], codes: np.ndarray) -> pa.Array:
    """Strings chosen by index from a small array of labels."""
    label_array = labels if isinstance(labels, pa.Array) else pa.array(labels, pa.string())
    return label_array.take(pa.array(codes.astype(np.int64, copy=False)))


# --- primitive columns -------------------------------------------------------------------


def _validity(valid: np.ndarray | None, n: int) -> tuple[pa.Buffer | None, int]:
    if valid is None:
        return None, 0
    return pa.py_buffer(np.packbits(valid, bitorder="little")), n - int(valid.sum())


def _primitive(
    arrow_type: pa.DataType, values: np.ndarray, dtype: type, valid: np.ndarray | None
) -> pa.Array:
    n = len(values)
    data: np.ndarray = np.ascontiguousarray(values, dtype=dtype)
    if valid is not None:
        data = np.where(valid, data, 0).astype(dtype)
    validity, null_count = _validity(valid, n)
    return pa.Array.from_buffers(arrow_type, n, [validity, pa.py_buffer(data)], null_count)


def ints(values: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    return _primitive(pa.int64(), values, np.int64, valid)


def floats(values: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    return _primitive(pa.float64(), values, np.float64, valid)


def timestamps(micros: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Naive UTC timestamps from microseconds since the epoch."""
    return _primitive(pa.timestamp("us"), micros, np.int64, valid)


def dates(epoch_days: np.ndarray) -> pa.Array:
    return _primitive(pa.date32(), epoch_days, np.int32, None)


def bools(values: np.ndarray) -> pa.Array:
    return pa.array(values.astype(bool, copy=False), pa.bool_())


def money(raw: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """decimal128(18, 4) from int64 amounts in units of 0.0001."""
    n = len(raw)
    raw = raw.astype(np.int64, copy=False)
    if valid is not None:
        raw = np.where(valid, raw, 0)
    words = np.empty((n, 2), dtype=np.int64)
    words[:, 0] = raw
    words[:, 1] = raw >> 63  # sign extension into the high 64 bits
    validity, null_count = _validity(valid, n)
    return pa.Array.from_buffers(MONEY_TYPE, n, [validity, pa.py_buffer(words)], null_count)


def splitmix64(values: np.ndarray) -> np.ndarray:
    """A well-mixed 64-bit hash of integers (SplitMix64 finaliser)."""
    with np.errstate(over="ignore"):
        z = values.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        result: np.ndarray = z ^ (z >> np.uint64(31))
    return result
