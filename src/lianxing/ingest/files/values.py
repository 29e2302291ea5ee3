"""Tolerant, vectorised parsing of report values: text in, typed ``pyarrow`` arrays out.

Every function takes a string array (empty cells already NULL, see ``blank_to_null``) and
returns ``Parsed(values, bad)``: the typed array, and a boolean mask of the cells that held
text but could not be read (their value is NULL). The caller turns ``bad`` cells into
``ImportProblem``s naming the line, column and value; nothing here raises on bad data.

The common case runs entirely in Arrow compute kernels (no per-row Python), which is what
keeps a 10-million-line All Orders import near the speed of reading the CSV. Only rare
shapes (localised date text such as ``Sep 4, 2026 1:05:07 AM PDT``) fall back to Python,
once per *distinct* value.

What is accepted:

* money: ``1200``, ``1,200.00``, ``$1,200.00``, ``-$5``, ``($5.00)``, ``1.200,00 €``,
  ``EUR 12,5``, ``RM12.00``, ``1 200,00``; a separator followed by exactly three digits
  and nothing else (``1,200`` / ``1.200``) is read by the locale (``decimal_comma``);
* integers with thousands separators (``1,200``, ``1.200``, ``1 200``);
* percentages: ``12.34%`` → 0.1234; a bare number is taken as a fraction already;
* timestamps: ISO 8601 with offset or ``Z`` or `` UTC`` (converted to UTC), ISO without
  offset (local time of the store's time zone), and local text formats with a zone
  abbreviation (``Sep 4, 2026 1:05:07 AM PDT``, ``4 Sep 2026 01:05:07 BST``, ``GMT+01:00``);
* dates: ISO, ``dd/mm/yyyy`` or ``mm/dd/yyyy`` (``day_first``), ``dd.mm.yyyy``,
  ``yyyy/mm/dd``, ``Sep 4, 2026``, ``4 Sep 2026``, ``20260904``.

All timestamps come out naive UTC (``timestamp[us]``), as the warehouse stores them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc

MONEY = pa.decimal128(18, 4)
TIMESTAMP = pa.timestamp("us")

_WIDE = pa.decimal128(38, 10)


@dataclass(frozen=True, slots=True)
class Parsed:
    values: pa.Array
    bad: pa.Array | None  # boolean mask; None when nothing was bad


def _bad(raw: pa.Array, values: pa.Array) -> pa.Array | None:
    mask = pc.and_(pc.is_valid(raw), pc.is_null(values))
    return mask if pc.any(mask).as_py() else None


def blank_to_null(raw: pa.Array) -> pa.Array:
    """Trim whitespace; empty cells become NULL."""
    trimmed = pc.utf8_trim_whitespace(raw)
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)


def text(raw: pa.Array) -> Parsed:
    return Parsed(raw, None)


# -- numbers ---------------------------------------------------------------------------

# Shape of a money cell: optional sign/parenthesis, optional currency (letters or a symbol),
# digits with separators, optional trailing currency.
_MONEY_SHAPE = (
    r"^\(?[-+]?\s*(?:[A-Z]{1,3}\s?)?\p{Sc}?\s*[-+]?\s*"
    r"\d[\d.,'\x{00A0}\x{202F} ]*"
    r"\s*(?:\p{Sc}|[A-Z]{3})?\)?$"
)
_NUMBER = r"^\d{1,14}(\.\d+)?$"


def _normalise_separators(digits: pa.Array, decimal_comma: bool) -> pa.Array:
    """``digits`` holds only digits, '.' and ','; return a plain ``1234.56`` string."""
    comma_decimal = pc.or_(
        pc.match_substring_regex(digits, r",(\d{1,2}|\d{4,})$"),  # 12,5 / 12,50
        pc.match_substring_regex(digits, r"\.\d*,\d*$"),  # 1.200,50
    )
    dot_decimal = pc.or_(
        pc.match_substring_regex(digits, r"\.(\d{1,2}|\d{4,})$"),
        pc.match_substring_regex(digits, r",\d*\.\d*$"),
    )
    use_comma = pc.invert(dot_decimal) if decimal_comma else comma_decimal
    as_comma = pc.replace_substring(pc.replace_substring(digits, ".", ""), ",", ".")
    as_dot = pc.replace_substring(digits, ",", "")
    return pc.if_else(pc.fill_null(use_comma, False), as_comma, as_dot)


def _signed_plain(raw: pa.Array, decimal_comma: bool) -> tuple[pa.Array, pa.Array]:
    """(plain decimal text with sign, shape-ok mask) for money-like cells."""
    shape_ok = pc.match_substring_regex(raw, _MONEY_SHAPE)
    negative = pc.or_(
        pc.match_substring(raw, "-"),
        pc.and_(pc.starts_with(raw, "("), pc.ends_with(raw, ")")),
    )
    digits = pc.replace_substring_regex(raw, r"[^\d.,]", "")
    plain = _normalise_separators(digits, decimal_comma)
    valid = pc.and_(shape_ok, pc.match_substring_regex(plain, _NUMBER))
    signed = pc.if_else(negative, pc.binary_join_element_wise("-", plain, ""), plain)
    return signed, valid


def _strict_cast(raw: pa.Array, target: pa.DataType) -> pa.Array | None:
    """Arrow's own strict cast, the fast path for clean machine-written files; None if
    any cell needs the tolerant path (or is bad)."""
    try:
        return pc.cast(raw, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def money(raw: pa.Array, *, decimal_comma: bool = False) -> Parsed:
    """Exact DECIMAL(18, 4), rounded half-to-even beyond 4 decimals."""
    if len(raw) == 0:
        return Parsed(pa.array([], MONEY), None)
    if not decimal_comma and (fast := _strict_cast(raw, MONEY)) is not None:
        return Parsed(fast, None)
    signed, valid = _signed_plain(raw, decimal_comma)
    # At most 10 decimals survive into the wide decimal; the 5th and later only round.
    signed = pc.replace_substring_regex(signed, r"(\.\d{10})\d+$", r"\1")
    kept = pc.if_else(valid, signed, pa.scalar(None, pa.string()))
    wide = pc.cast(kept, _WIDE)
    values = pc.cast(pc.round(wide, 4), MONEY)
    return Parsed(values, _bad(raw, values))


def decimal_float(raw: pa.Array, *, decimal_comma: bool = False) -> Parsed:
    """A number that is not money (rates, scores) as float64; same tolerance as ``money``."""
    if len(raw) == 0:
        return Parsed(pa.array([], pa.float64()), None)
    signed, valid = _signed_plain(raw, decimal_comma)
    values = pc.cast(pc.if_else(valid, signed, pa.scalar(None, pa.string())), pa.float64())
    return Parsed(values, _bad(raw, values))


def integer(raw: pa.Array) -> Parsed:
    """Whole numbers; thousands may be grouped with ``,`` ``.`` space or apostrophe."""
    if len(raw) == 0:
        return Parsed(pa.array([], pa.int64()), None)
    if (fast := _strict_cast(raw, pa.int64())) is not None:
        return Parsed(fast, None)
    grouped = r"^[-+]?(\d{1,3}([,.'\x{00A0}\x{202F} ]\d{3})+|\d{1,18})$"
    valid = pc.match_substring_regex(raw, grouped)
    plain = pc.replace_substring_regex(raw, r"[,.'\x{00A0}\x{202F} +]", "")
    values = pc.cast(pc.if_else(valid, plain, pa.scalar(None, pa.string())), pa.int64())
    return Parsed(values, _bad(raw, values))


def percent(raw: pa.Array, *, decimal_comma: bool = False) -> Parsed:
    """``12.34%`` → 0.1234 (float); a number without ``%`` is already a fraction."""
    if len(raw) == 0:
        return Parsed(pa.array([], pa.float64()), None)
    has_sign = pc.match_substring(raw, "%")
    stripped = pc.utf8_trim_whitespace(pc.replace_substring(raw, "%", ""))
    number = decimal_float(stripped, decimal_comma=decimal_comma).values
    values = pc.if_else(has_sign, pc.divide(number, 100.0), number)
    return Parsed(values, _bad(raw, values))


_TRUE = ("true", "yes", "y", "1", "t", "是")
_FALSE = ("false", "no", "n", "0", "f", "否")


def boolean(raw: pa.Array) -> Parsed:
    lowered = pc.utf8_lower(raw)
    is_true = pc.is_in(lowered, pa.array(_TRUE))
    is_false = pc.is_in(lowered, pa.array(_FALSE))
    values = pc.if_else(is_true, True, pc.if_else(is_false, False, pa.scalar(None, pa.bool_())))
    return Parsed(values, _bad(raw, values))


def code(raw: pa.Array, mapping: Mapping[str, str]) -> Parsed:
    """Map platform codes to canonical ones, case-insensitively (``Shipped`` → ``shipped``)."""
    keys = pa.array([k.lower() for k in mapping], pa.string())
    targets = pa.array(list(mapping.values()), pa.string())
    index = pc.index_in(pc.utf8_lower(raw), value_set=keys)
    values = pc.take(targets, index)
    return Parsed(values, _bad(raw, values))


# -- dates and times ---------------------------------------------------------------------


# Zone abbreviations seen in Seller Central downloads; an explicit offset always wins.
ZONE_ABBREVIATIONS: dict[str, int] = {
    "UTC": 0, "GMT": 0, "Z": 0, "BST": 60, "IST": 60, "WET": 0, "WEST": 60,
    "CET": 60, "CEST": 120, "MEZ": 60, "MESZ": 120, "EET": 120, "EEST": 180,
    "PST": -480, "PDT": -420, "MST": -420, "MDT": -360, "CST": -360, "CDT": -300,
    "EST": -300, "EDT": -240, "AKST": -540, "AKDT": -480, "HST": -600,
    "JST": 540, "KST": 540, "SGT": 480, "AEST": 600, "AEDT": 660, "BRT": -180,
}  # fmt: skip

_TEXT_TIME_FORMATS = (
    "%b %d, %Y %I:%M:%S %p",  # Sep 4, 2026 1:05:07 AM
    "%b %d, %Y %H:%M:%S",
    "%d %b %Y %H:%M:%S",  # 4 Sep 2026 01:05:07 (UK)
    "%d %b %Y %I:%M:%S %p",
    "%d.%m.%Y %H:%M:%S",  # 04.09.2026 01:05:07 (DE)
    "%Y/%m/%d %H:%M:%S",  # 2026/09/04 01:05:07 (JP)
    "%Y/%m/%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
)
_DAY_FIRST_FORMATS = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%d-%m-%Y")
_MONTH_FIRST_FORMATS = ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M", "%m/%d/%Y")
_TEXT_DATE_FORMATS = (
    "%Y-%m-%d", "%d.%m.%Y", "%Y/%m/%d", "%b %d, %Y", "%B %d, %Y", "%d %b %Y", "%d %B %Y",
    "%Y%m%d", "%d-%b-%Y", "%Y年%m月%d日",
)  # fmt: skip

_ZONE_SUFFIX = re.compile(r"\s*(?:(?P<abbr>[A-Z]{1,5})?(?P<offset>[+-]\d{1,2}(?::?\d{2})?)?)$")


def _split_zone(value: str) -> tuple[str, dt.timedelta | None]:
    """``"Sep 4, 2026 1:05:07 AM PDT"`` → (``"Sep 4, 2026 1:05:07 AM"``, -7 h)."""
    match = _ZONE_SUFFIX.search(value)
    if match is None or not (match.group("abbr") or match.group("offset")):
        return value, None
    abbr, offset = match.group("abbr"), match.group("offset")
    if abbr in ("AM", "PM") and not offset:
        return value, None
    if abbr is not None and abbr not in ZONE_ABBREVIATIONS and abbr not in ("AM", "PM"):
        return value, None
    rest = value[: match.start()].strip()
    if abbr in ("AM", "PM"):  # "1:05 PM+01:00": the meridiem belongs to the time
        rest = f"{rest} {abbr}"
        abbr = None
    minutes = ZONE_ABBREVIATIONS.get(abbr or "UTC", 0)
    if offset:
        sign = -1 if offset.startswith("-") else 1
        digits = offset[1:].replace(":", "")
        hours, mins = (digits[:-2], digits[-2:]) if len(digits) > 2 else (digits, "0")
        minutes = sign * (int(hours) * 60 + int(mins))
    return rest, dt.timedelta(minutes=minutes)


def _parse_text_timestamp(value: str, zone: ZoneInfo, day_first: bool) -> dt.datetime | None:
    body, offset = _split_zone(value.strip())
    formats: tuple[str, ...] = (
        *_TEXT_TIME_FORMATS,
        *(_DAY_FIRST_FORMATS if day_first else _MONTH_FIRST_FORMATS),
        *_TEXT_DATE_FORMATS,
    )
    for fmt in formats:
        try:
            parsed = dt.datetime.strptime(body, fmt)
        except ValueError:
            continue
        if offset is not None:
            return parsed - offset
        aware = parsed.replace(tzinfo=zone)
        return aware.astimezone(dt.UTC).replace(tzinfo=None)
    return None


def _parse_text_date(value: str, day_first: bool) -> dt.date | None:
    body = value.strip()
    formats = _TEXT_DATE_FORMATS + (_DAY_FIRST_FORMATS if day_first else _MONTH_FIRST_FORMATS)
    for fmt in formats:
        try:
            return dt.datetime.strptime(body, fmt).date()
        except ValueError:
            continue
    # A timestamp in a date column: keep its calendar date as written.
    iso = re.match(r"^(\d{4}-\d{2}-\d{2})[T ]", body)
    return dt.date.fromisoformat(iso.group(1)) if iso else None


def _per_distinct_value(
    raw: pa.Array, parse: Callable[[str], object], out_type: pa.DataType
) -> pa.Array:
    """Apply a Python parser once per distinct value (dates repeat; localised files are small)."""
    encoded = pc.dictionary_encode(raw)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    parsed = pa.array([parse(v) for v in encoded.dictionary.to_pylist()], out_type)
    return pc.take(parsed, encoded.indices)


def _slice_int(strings: pa.Array, start: int, stop: int) -> pa.Array:
    digits = pc.utf8_slice_codeunits(strings, start, stop)
    only_digits = pc.match_substring_regex(digits, r"^\d+$")
    return pc.cast(pc.if_else(only_digits, digits, pa.scalar(None, pa.string())), pa.int64())


def _wall_clock(iso: pa.Array) -> pa.Array:
    """``YYYY-MM-DDTHH:MM:SS`` prefix as a naive timestamp; impossible dates become NULL.

    (Arrow's strptime rolls 30 February over into March; comparing the day of month
    back against the text catches that.)
    """
    body = pc.utf8_slice_codeunits(iso, 0, 19)
    parsed = pc.strptime(body, format="%Y-%m-%dT%H:%M:%S", unit="us", error_is_null=True)
    same_day = pc.equal(pc.day(parsed), _slice_int(iso, 8, 10))
    return pc.if_else(pc.fill_null(same_day, False), parsed, pa.scalar(None, TIMESTAMP))


def timestamp(raw: pa.Array, *, timezone: str, day_first: bool = False) -> Parsed:
    """Naive-UTC timestamps from platform text; times without a zone are in ``timezone``."""
    if len(raw) == 0:
        return Parsed(pa.array([], TIMESTAMP), None)
    # Flat files from the SP-API: ISO 8601 with an offset everywhere.
    if (fast := _strict_cast(raw, pa.timestamp("us", tz="UTC"))) is not None:
        return Parsed(pc.cast(fast, TIMESTAMP), None)
    # Bring ISO variants to one shape: "T" separator, seconds, no fraction, "+hh:mm".
    norm = pc.replace_substring_regex(raw, r"^(\d{4}-\d{2}-\d{2}) (\d)", r"\1T\2")
    norm = pc.replace_substring_regex(norm, r"(\d)\s*(?:Z|UTC|GMT)$", r"\1+00:00")
    norm = pc.replace_substring_regex(norm, r"(T[\d:.]+)\s*([+-]\d{2})(\d{2})$", r"\1\2:\3")
    norm = pc.replace_substring_regex(norm, r"(T\d{2}:\d{2}:\d{2})\.\d{1,9}", r"\1")
    norm = pc.replace_substring_regex(norm, r"(T\d{2}:\d{2})($|[+-])", r"\1:00\2")
    norm = pc.replace_substring_regex(norm, r"^(\d{4}-\d{2}-\d{2})$", r"\1T00:00:00")
    wall = _wall_clock(norm)
    suffix = pc.utf8_slice_codeunits(norm, 19, 26)
    has_offset = pc.match_substring_regex(suffix, r"^[+-]\d{2}:\d{2}$")
    no_suffix = pc.equal(pc.utf8_length(norm), 19)
    sign = pc.if_else(pc.starts_with(suffix, "-"), -1, 1)
    offset_minutes = pc.multiply(
        sign,
        pc.add(
            pc.multiply(_slice_int(suffix, 1, 3), 60),
            _slice_int(suffix, 4, 6),
        ),
    )
    shift = pc.cast(pc.multiply(offset_minutes, 60_000_000), pa.duration("us"))
    utc = pc.if_else(has_offset, pc.subtract(wall, shift), pa.scalar(None, TIMESTAMP))
    if timezone != "UTC":
        wall = pc.cast(
            pc.assume_timezone(wall, timezone, ambiguous="earliest", nonexistent="latest"),
            TIMESTAMP,
        )
    local = pc.if_else(no_suffix, wall, pa.scalar(None, TIMESTAMP))
    values = pc.coalesce(utc, local)
    null = pa.scalar(None, pa.string())

    rest = pc.and_(pc.is_valid(raw), pc.is_null(values))
    if pc.any(rest).as_py():
        zone = ZoneInfo(timezone)
        rest_text = pc.if_else(rest, raw, null)
        fallback = _per_distinct_value(
            rest_text,
            lambda v: None if v is None else _parse_text_timestamp(v, zone, day_first),
            TIMESTAMP,
        )
        values = pc.coalesce(values, fallback)
    return Parsed(values, _bad(raw, values))


def date(raw: pa.Array, *, day_first: bool = False) -> Parsed:
    """Calendar dates as written (no time-zone shift: report dates are marketplace-local)."""
    if len(raw) == 0:
        return Parsed(pa.array([], pa.date32()), None)
    if (fast := _strict_cast(raw, pa.date32())) is not None:
        return Parsed(fast, None)
    null = pa.scalar(None, pa.string())
    iso = pc.match_substring_regex(raw, r"^\d{4}-\d{2}-\d{2}$")
    as_time = pc.binary_join_element_wise(pc.if_else(iso, raw, null), "T00:00:00", "")
    values = pc.cast(_wall_clock(as_time), pa.date32())
    rest = pc.and_(pc.is_valid(raw), pc.is_null(values))
    if pc.any(rest).as_py():
        fallback = _per_distinct_value(
            pc.if_else(rest, raw, null),
            lambda v: None if v is None else _parse_text_date(v, day_first),
            pa.date32(),
        )
        values = pc.coalesce(values, fallback)
    return Parsed(values, _bad(raw, values))
