"""Opening report files: encoding, container (gzip, XLSX, JSON), delimiter and header line.

Everything about *bytes → cells* lives here, once, for every format:

* ``FileHead`` is the first 64 KiB of a file, decoded and split into rows, which is all a
  format needs to recognise itself (``ReportFormat.sniff``) and to find its header line
  (Amazon's Date Range report puts quoted note lines above the header). For JSON it holds
  the decoded text and every key path seen in it (``data.orders.line_items.sku_id``),
  so API payloads with the same envelope (Lazada, TikTok Shop) are told apart by what is
  inside.
* ``Source.read_chunks`` streams the rows below the header as ``pyarrow`` tables of
  strings, a few MB at a time, so a 1 GB file is read in bounded memory. Values are left as
  text; turning text into numbers, dates and codes is ``values.py``'s job.

Encodings: UTF-8 with or without BOM, then GB18030 (a superset of GBK, what Chinese Excel
writes), then Windows-1252 (older EU Seller Central downloads). Containers: plain text,
gzip (detected by its magic bytes, whatever the file is called), XLSX/XLS (first sheet,
via python-calamine), JSON.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import gzip
import io
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal, cast

import pyarrow as pa
import pyarrow.csv as pacsv

HEAD_BYTES = 64 * 1024
HEAD_ROWS = 60
CHUNK_BYTES = 2 * 1024 * 1024  # per block; the threaded reader keeps dozens in flight

Container = Literal["text", "xlsx", "json"]

_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls


class UnreadableFile(Exception):
    """The file cannot be read at all (not a report file, wrong encoding, corrupt)."""


def normalise_header(name: str) -> str:
    """Header names compare case- and whitespace-insensitively ("Order ID" = "order id")."""
    return " ".join(name.replace("\ufeff", "").strip().strip('"').lower().split())


def detect_encoding(head: bytes) -> str:
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    for encoding in ("utf-8", "gb18030"):
        try:
            # The head may end inside a multi-byte character: decode incrementally.
            decoder = codecs.getincrementaldecoder(encoding)()
            decoder.decode(head, final=False)
            return encoding
        except UnicodeDecodeError:
            continue
    return "cp1252"


def _cell_text(value: Any) -> str:
    """A spreadsheet cell as the text a CSV export of it would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.10f}".rstrip("0").rstrip(".")
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat()
    return str(value)


@dataclass
class FileHead:
    """What formats look at to recognise a file: its first bytes, rows and JSON keys."""

    name: str
    container: Container
    gzipped: bool
    encoding: str = "utf-8"
    delimiter: str = ","
    rows: list[list[str]] = field(default_factory=list)
    json_keys: frozenset[str] = frozenset()
    json_top: Literal["array", "object", ""] = ""
    # Key paths of the JSON head, arrays see-through: {"data": {"orders": [{"id": 1}]}}
    # gives "data", "data.orders", "data.orders.id" (also for a head cut off mid-file).
    json_paths: frozenset[str] = frozenset()
    text: str = ""  # the decoded head (JSON heads; tabular heads are in ``rows``)

    def normalised_row(self, index: int) -> list[str]:
        return [normalise_header(c) for c in self.rows[index]] if index < len(self.rows) else []

    def find_header(self, required: Sequence[str], *, any_of: Sequence[str] = ()) -> int | None:
        """Index of the first row holding every name in ``required`` (and one of ``any_of``)."""
        wanted = {normalise_header(n) for n in required}
        alternatives = {normalise_header(n) for n in any_of}
        for index in range(len(self.rows)):
            cells = set(self.normalised_row(index))
            if wanted <= cells and (not alternatives or cells & alternatives):
                return index
        return None


def _open_binary(path: Path, gzipped: bool) -> BinaryIO:
    if gzipped:
        return cast(BinaryIO, gzip.open(path, "rb"))
    return open(path, "rb")


def _best_delimiter(text: str) -> str:
    best, best_width = ",", 0
    lines = text.splitlines()[:HEAD_ROWS]
    for delimiter in ("\t", ",", ";"):
        reader = csv.reader(
            lines, delimiter=delimiter, quotechar=None if delimiter == "\t" else '"'
        )
        width = max((len(r) for r in reader), default=0)
        if width > best_width:
            best, best_width = delimiter, width
    return best


def read_head(path: Path) -> FileHead:
    """Read the first 64 KiB of ``path`` and work out how to read the rest."""
    try:
        with open(path, "rb") as f:
            magic = f.read(8)
        gzipped = magic.startswith(_GZIP_MAGIC)
        with _open_binary(path, gzipped) as f:
            raw = f.read(HEAD_BYTES)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise UnreadableFile(f"{path.name}: cannot read the file ({exc})") from exc
    if raw.startswith((_ZIP_MAGIC, _OLE_MAGIC)):
        if gzipped:
            raise UnreadableFile(f"{path.name}: a gzipped spreadsheet is not supported")
        rows = list(_spreadsheet_rows(path, limit=HEAD_ROWS))
        return FileHead(path.name, "xlsx", False, rows=rows)
    encoding = detect_encoding(raw)
    text = raw.decode(encoding, errors="ignore")
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith(("[", "{")):
        keys, top = _json_head_keys(stripped)
        return FileHead(
            path.name,
            "json",
            gzipped,
            encoding,
            json_keys=keys,
            json_top=top,
            json_paths=json_key_paths(stripped),
            text=stripped,
        )
    delimiter = _best_delimiter(text)
    lines = text.splitlines()
    if len(raw) == HEAD_BYTES and lines:
        lines = lines[:-1]  # the last line may be cut in half
    quote = None if delimiter == "\t" else '"'
    rows = [r for r in csv.reader(lines[:HEAD_ROWS], delimiter=delimiter, quotechar=quote)]
    return FileHead(path.name, "text", gzipped, encoding, delimiter, rows=rows)


def _json_head_keys(text: str) -> tuple[frozenset[str], Literal["array", "object", ""]]:
    """Keys of the first JSON object in the head, even if the head is cut off mid-file."""
    decoder = json.JSONDecoder()
    if text.startswith("{"):
        try:
            obj, _ = decoder.raw_decode(text)
        except json.JSONDecodeError:
            return _keys_by_scanning(text), "object"
        return (frozenset(obj) if isinstance(obj, dict) else frozenset()), "object"
    # An array: decode its first element only.
    body = text[1:].lstrip()
    try:
        first, _ = decoder.raw_decode(body)
    except json.JSONDecodeError:
        return _keys_by_scanning(body), "array"
    return (frozenset(first) if isinstance(first, dict) else frozenset()), "array"


def _keys_by_scanning(text: str) -> frozenset[str]:
    return frozenset(re.findall(r'"([A-Za-z0-9_]+)"\s*:', text))


_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:]')


def json_key_paths(text: str) -> frozenset[str]:
    """Every object key path in (possibly truncated) JSON text, arrays see-through.

    A token scan, not a parse, so a head cut off inside a value still yields the paths
    before the cut.
    """
    stack: list[str | None] = []  # per open container: the object's current key, or None
    paths: set[str] = set()
    pending: str | None = None  # the last string seen, a key if a ':' follows
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token == ":":
            if pending is not None and stack:
                stack[-1] = pending
                paths.add(".".join(k for k in stack if k is not None))
            pending = None
        elif token in "{[":
            # An array keeps its parent's key in the path; an object adds its own keys.
            stack.append(None)
            pending = None
        elif token in "}]":
            if stack:
                stack.pop()
            pending = None
        else:
            pending = token[1:-1]
    return frozenset(paths)


def _spreadsheet_rows(path: Path, *, limit: int | None = None) -> Iterator[list[str]]:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0)
        for index, row in enumerate(sheet.to_python(skip_empty_area=False)):
            if limit is not None and index >= limit:
                return
            yield [_cell_text(v) for v in row]
    except Exception as exc:  # calamine raises its own error types for corrupt files
        raise UnreadableFile(f"{path.name}: not a readable spreadsheet ({exc})") from exc


@dataclass
class InvalidRow:
    """A row whose number of fields differs from the header's (line resolved afterwards)."""

    text: str
    found: int
    expected: int
    line: int | None = None


@dataclass(frozen=True)
class RawChunk:
    """Rows of text below the header: ``table`` has one string column per header name."""

    table: pa.Table
    first_line: int  # physical line (or spreadsheet row) number of the chunk's first row


class Source:
    """A report file being imported: its head, plus streaming access to the rest."""

    def __init__(self, path: Path, head: FileHead | None = None) -> None:
        self.path = path
        self.name = path.name
        self.head = head if head is not None else read_head(path)
        self.size = path.stat().st_size
        self.invalid_rows: list[InvalidRow] = []
        self.on_progress: Callable[[int], None] | None = None  # bytes of the file consumed

    # -- tabular -----------------------------------------------------------------------
    def read_chunks(self, header_index: int, columns: Sequence[str]) -> Iterator[RawChunk]:
        """Stream the rows below ``head.rows[header_index]``, keeping only ``columns``.

        Empty lines are kept as empty rows (the caller drops them), so a row's position
        in the stream is its line number; rows with a wrong number of fields are reported
        in ``invalid_rows`` (``locate_invalid_rows`` finds their lines afterwards).
        """
        if self.head.container == "xlsx":
            yield from self._read_spreadsheet(header_index, columns)
            return
        if self.head.container != "text":
            raise UnreadableFile(f"{self.name}: not a delimited text file")
        yield from self._read_text(header_index, columns)

    def _read_text(self, header_index: int, columns: Sequence[str]) -> Iterator[RawChunk]:
        head = self.head
        tab = head.delimiter == "\t"

        def on_invalid(row: pacsv.InvalidRow) -> str:
            text = row.text or ""
            if text.strip("\r\n\t ,;") == "":
                return "skip"  # a blank line padded with delimiters: nothing to report
            self.invalid_rows.append(InvalidRow(text, row.actual_columns, row.expected_columns))
            return "skip"

        read_options = pacsv.ReadOptions(
            skip_rows=header_index,
            block_size=CHUNK_BYTES,
            encoding="utf8" if head.encoding in ("utf-8", "utf-8-sig") else head.encoding,
            use_threads=True,
        )
        parse_options = pacsv.ParseOptions(
            delimiter=head.delimiter,
            # Amazon's tab-separated reports do not quote: a product name may hold '"'.
            quote_char=False if tab else '"',
            newlines_in_values=not tab,
            ignore_empty_lines=False,
            invalid_row_handler=on_invalid,
        )
        convert_options = pacsv.ConvertOptions(
            include_columns=list(columns),
            column_types=dict.fromkeys(columns, pa.string()),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )
        raw = pa.OSFile(str(self.path), "rb")
        stream: Any = pa.CompressedInputStream(raw, "gzip") if head.gzipped else raw
        first_line = header_index + 2
        try:
            reader = pacsv.open_csv(stream, read_options, parse_options, convert_options)
            for batch in reader:
                if batch.num_rows:
                    yield RawChunk(pa.Table.from_batches([batch]), first_line)
                    first_line += batch.num_rows
                if self.on_progress is not None:
                    self.on_progress(raw.tell())
        except pa.ArrowInvalid as exc:
            raise UnreadableFile(
                f"{self.name}: cannot be read as {head.encoding} text ({exc})"
            ) from exc
        finally:
            stream.close()

    def _read_spreadsheet(self, header_index: int, columns: Sequence[str]) -> Iterator[RawChunk]:
        rows = list(_spreadsheet_rows(self.path))
        header = rows[header_index]
        positions = {name: header.index(name) for name in columns}
        body = rows[header_index + 1 :]
        arrays = {
            name: pa.array([r[pos] if pos < len(r) else "" for r in body], pa.string())
            for name, pos in positions.items()
        }
        yield RawChunk(pa.table(arrays), header_index + 2)

    def locate_invalid_rows(self) -> None:
        """Find the line number of each ``invalid_rows`` entry (only when there are some)."""
        pending = [r for r in self.invalid_rows if r.line is None]
        if not pending:
            return
        with _open_binary(self.path, self.head.gzipped) as f:
            text = io.TextIOWrapper(f, encoding=self.head.encoding, errors="replace", newline="")
            for number, line in enumerate(text, start=1):
                stripped = line.rstrip("\r\n")
                for row in pending:
                    if row.line is None and row.text.rstrip("\r\n") == stripped:
                        row.line = number
                        break
                if all(r.line is not None for r in pending):
                    return

    # -- JSON --------------------------------------------------------------------------
    def load_json(self) -> Any:
        try:
            with _open_binary(self.path, self.head.gzipped) as f:
                return json.loads(f.read().decode(self.head.encoding))
        except (UnicodeDecodeError, json.JSONDecodeError, EOFError, OSError) as exc:
            raise UnreadableFile(f"{self.name}: not valid JSON ({exc})") from exc
