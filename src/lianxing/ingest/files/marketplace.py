"""What the Shopee, Lazada, TikTok Shop and AliExpress importers share, written once.

* **JSON walking** — ``Node`` wraps one JSON object together with its path in the file.
  ``node.get("create_time")`` also finds ``createTime`` (keys compare without case and
  underscores, because SDKs and captured payloads re-case them), and the typed readers
  (``text``, ``money``, ``integer``, ``instant``) never raise on bad data: they record an
  ``ImportProblem`` naming the order, the JSON path, the value and what was expected.
* **Status tables** — each platform's documented order-status enum mapped to the five
  canonical statuses, and ``overall_status`` to combine per-item statuses into one.
* **``ApiPayloadFormat``** — a ``ReportFormat`` for files holding API responses exactly as
  the platform returns them: one response envelope, or a JSON array of them (several pages,
  or different calls about the same orders, e.g. Shopee order detail + escrow detail).
* **``FactRows``** — rows collected per fact table, turned into typed Arrow chunks at the
  end (buyer ids hashed there, never stored raw).

Money is read from the JSON text exactly (floats via their shortest repr, so ``19.9``
stays ``19.9``, never ``19.899999``); timestamps come out naive UTC.
"""

from __future__ import annotations

import copy
import datetime as dt
from abc import abstractmethod
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Self

import pyarrow as pa

from lianxing.domain.facts import FACT_TABLES, META_COLUMNS, OrderStatus
from lianxing.ingest.files import values
from lianxing.ingest.files.base import (
    ARROW_TYPES,
    FactChunk,
    ImportContext,
    ReportFormat,
    fact_table,
)
from lianxing.ingest.files.reading import FileHead, Source

# -- status tables ------------------------------------------------------------------------
# Keys are the platforms' API enum values (compared case-insensitively). Where a platform
# state sits between two canonical ones, the comment says which way it was decided.

P, U, S, D, C = (
    OrderStatus.PENDING,
    OrderStatus.UNSHIPPED,
    OrderStatus.SHIPPED,
    OrderStatus.DELIVERED,
    OrderStatus.CANCELLED,
)

# Shopee v2 order_status (platform-formats.md §5.2).
SHOPEE_ORDER_STATUS: dict[str, OrderStatus] = {
    "UNPAID": P, "PENDING": P, "INVOICE_PENDING": P,
    "READY_TO_SHIP": U, "PROCESSED": U, "RETRY_SHIP": U,
    "IN_CANCEL": U,  # buyer asked to cancel, seller has not agreed: still an order to ship
    "SHIPPED": S, "TO_CONFIRM_RECEIVE": S,
    "COMPLETED": D, "TO_RETURN": D,  # a return request follows delivery
    "CANCELLED": C,
}  # fmt: skip

# Lazada order "statuses[]" and item "status" (platform-formats.md §6.2).
LAZADA_STATUS: dict[str, OrderStatus] = {
    "unpaid": P, "topack": U, "pending": U, "packed": U, "repacked": U,
    "ready_to_ship": U, "ready_to_ship_pending": U, "confirmed": U,
    "shipped": S, "in_transit": S,
    "delivered": D, "returned": D,  # returned units are returns, the sale was delivered
    "canceled": C, "cancelled": C,
    # Never reached the buyer: the sale did not happen.
    "failed": C, "failed_delivery": C, "lost_by_3pl": C, "damaged_by_3pl": C,
    "shipped_back": C, "shipped_back_success": C, "shipped_back_failed": C,
    "package_scrapped": C,
}  # fmt: skip

# TikTok Shop 202309 order status (platform-formats.md §7.2).
TIKTOK_ORDER_STATUS: dict[str, OrderStatus] = {
    "UNPAID": P,
    "ON_HOLD": U,  # paid, in the buyer's cancellation window
    "AWAITING_SHIPMENT": U,
    "PARTIALLY_SHIPPING": U,  # not everything has left: late-shipment rules still apply
    "AWAITING_COLLECTION": U,  # label printed, carrier has not collected
    "IN_TRANSIT": S,
    "DELIVERED": D, "COMPLETED": D,
    "CANCELLED": C,
}  # fmt: skip

# AliExpress orderStatus (UNVERIFIED enum, platform-formats.md §9).
ALIEXPRESS_ORDER_STATUS: dict[str, OrderStatus] = {
    "PLACE_ORDER_SUCCESS": P, "RISK_CONTROL": P, "WAIT_SELLER_EXAMINE_MONEY": P,
    "WAIT_SELLER_SEND_GOODS": U, "SELLER_PART_SEND_GOODS": U, "IN_CANCEL": U,
    "WAIT_BUYER_ACCEPT_GOODS": S, "IN_ISSUE": S, "IN_FROZEN": S,
    "FUND_PROCESSING": D, "FINISH": D,
}  # fmt: skip

# Progress of an item; cancelled ranks after every live status, so that the minimum over
# an order's items is ``overall_status`` (also computed vectorised, see mapping.py).
STATUS_RANK: dict[OrderStatus, int] = {P: 0, U: 1, S: 2, D: 3, C: 4}
RANKED_STATUS: tuple[OrderStatus, ...] = tuple(sorted(STATUS_RANK, key=STATUS_RANK.__getitem__))


def overall_status(statuses: Iterable[OrderStatus]) -> OrderStatus | None:
    """One status for an order whose items move separately.

    Cancelled items do not count unless every item is cancelled; of the rest, the least
    advanced wins (an order is shipped only when every live item has shipped).
    """
    return min(statuses, key=STATUS_RANK.__getitem__, default=None)


def expected_statuses(table: Mapping[str, OrderStatus]) -> str:
    return "one of: " + ", ".join(table)


# -- JSON walking -------------------------------------------------------------------------


def _key(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


class Node:
    """One JSON object, where it is in the file, and typed reads that log bad values.

    ``order`` is the 1-based number of the order the object belongs to (for messages);
    ``path`` its JSON path, e.g. ``response.order_list[3].item_list[0]``.
    """

    def __init__(
        self, data: Mapping[str, Any], path: str, ctx: ImportContext, order: int | None
    ) -> None:
        self.data = data
        self.path = path
        self.ctx = ctx
        self.order = order
        self._keys = {_key(k): k for k in data}

    def at(self, order: int) -> Node:
        return Node(self.data, self.path, self.ctx, order)

    def find(self, names: Sequence[str]) -> tuple[str, Any]:
        for name in names:
            actual = self._keys.get(_key(name))
            if actual is not None and self.data[actual] is not None:
                return actual, self.data[actual]
        return names[0], None

    def _where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def problem(self, key: str, value: Any, expected: str) -> None:
        shown = None if value is None else (value if isinstance(value, str) else repr(value))
        self.ctx.problem(
            self.order,
            self._where(key),
            shown,
            expected,
            "order" if self.order is not None else "record",
        )

    def has(self, *names: str) -> bool:
        return self.find(names)[1] is not None

    def raw(self, *names: str) -> Any:
        return self.find(names)[1]

    def child(self, *names: str) -> Node | None:
        key, value = self.find(names)
        if isinstance(value, Mapping):
            return Node(value, self._where(key), self.ctx, self.order)
        if value is not None:
            self.problem(key, value, "a JSON object")
        return None

    def children(self, *names: str) -> list[Node]:
        """The objects of a list field; ``{"x_dto": [...]}`` wrappers (AliExpress) are opened."""
        key, value = self.find(names)
        if isinstance(value, Mapping) and len(value) == 1:
            ((inner_key, inner),) = value.items()
            if isinstance(inner, list):
                key, value = f"{key}.{inner_key}", inner
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(key, value, "a JSON array")
            return []
        found: list[Node] = []
        for index, item in enumerate(value):
            where = f"{self._where(key)}[{index}]"
            if isinstance(item, Mapping):
                found.append(Node(item, where, self.ctx, self.order))
            else:
                self.ctx.problem(self.order, where, repr(item), "a JSON object", "order")
        return found

    def text(self, *names: str, required: bool = False) -> str | None:
        key, value = self.find(names)
        if isinstance(value, dict) and "$numberLong" in value:  # MongoDB export of an id
            value = value["$numberLong"]
        if isinstance(value, bool | Mapping | list):
            self.problem(key, value, "text or a number")
            return None
        text = None if value is None else str(value).strip()
        if not text:
            if required:
                self.problem(key, None, "a value (must not be empty) / 不能为空")
            return None
        return text

    def money(self, *names: str, required: bool = False) -> Decimal | None:
        """An amount: JSON number, numeric string, or ``{"amount": "1.50", ...}``."""
        key, value = self.find(names)
        if isinstance(value, Mapping):
            inner = Node(value, self._where(key), self.ctx, self.order)
            return inner.money("amount", "value", required=required)
        if value is None or value == "":
            if required:
                self.problem(key, None, "an amount (must not be empty) / 金额不能为空")
            return None
        if isinstance(value, bool):
            self.problem(key, value, "an amount such as 12.50 / 金额")
            return None
        try:
            amount = (
                Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
            )
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite() or abs(amount) >= Decimal("1e14"):
            self.problem(key, value, "an amount such as 12.50 / 金额")
            return None
        return amount.quantize(Decimal("0.0001"))

    def integer(self, *names: str, required: bool = False) -> int | None:
        key, value = self.find(names)
        if value is None or value == "":
            if required:
                self.problem(key, None, "a whole number (must not be empty) / 整数")
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value.strip())
        self.problem(key, value, "a whole number / 整数")
        return None

    def instant(
        self, *names: str, timezone: str | None = None, required: bool = False
    ) -> dt.datetime | None:
        """A point in time as naive UTC.

        Unix seconds or milliseconds (numbers or digit strings; 0 means "not yet", as in
        Shopee's ``pickup_done_time``), or text: ISO 8601 / ``2024-02-10 16:00:00 +0800``
        with an offset, or local wall-clock time in ``timezone`` (the store's by default).
        """
        key, value = self.find(names)
        if value is None or value == "" or value == 0 or value == "0":
            if required:
                self.problem(key, None, "a date and time (must not be empty) / 日期时间不能为空")
            return None
        if isinstance(value, bool):
            self.problem(key, value, "a Unix timestamp or a date and time / 时间")
            return None
        if isinstance(value, int | float) or (isinstance(value, str) and value.strip().isdigit()):
            number = int(value) if not isinstance(value, float) else value
            seconds = number / 1000 if number >= 100_000_000_000 else number
            try:
                moment = dt.datetime.fromtimestamp(seconds, dt.UTC)
            except (OverflowError, OSError, ValueError):
                self.problem(key, value, "a Unix timestamp in seconds or milliseconds / 时间戳")
                return None
            return moment.replace(tzinfo=None)
        parsed = values.timestamp(
            pa.array([str(value).strip()], pa.string()),
            timezone=timezone or self.ctx.timezone,
            day_first=self.ctx.day_first,
        )
        moment = parsed.values[0].as_py()
        if moment is None:
            self.problem(key, value, "a date and time such as 2024-02-10 16:00:00 +0800 / 日期时间")
        return moment  # type: ignore[no-any-return]

    def status(
        self, table: Mapping[str, OrderStatus], *names: str, required: bool = True
    ) -> OrderStatus | None:
        key, value = self.find(names)
        if value is None or value == "":
            if required:
                self.problem(key, None, expected_statuses(table))
            return None
        lookup = {k.lower(): v for k, v in table.items()}
        found = lookup.get(str(value).strip().lower())
        if found is None:
            self.problem(key, value, expected_statuses(table))
        return found

    def statuses(self, table: Mapping[str, OrderStatus], *names: str) -> list[OrderStatus]:
        """A list of status codes (Lazada ``statuses[]``); empty or unknown ones are logged."""
        key, value = self.find(names)
        if not isinstance(value, list) or not value:
            self.problem(
                key, value, 'a non-empty list such as ["delivered"]; ' + expected_statuses(table)
            )
            return []
        found: list[OrderStatus] = []
        for index, code in enumerate(value):
            single = Node({f"{key}[{index}]": code}, self.path, self.ctx, self.order)
            status = single.status(table, f"{key}[{index}]")
            if status is not None:
                found.append(status)
        return found


# -- collecting facts -----------------------------------------------------------------------


class FactRows:
    """Rows per fact table, built one JSON object at a time, converted once at the end.

    ``buyer_ref`` is given the *raw* buyer identifier; it is hashed (salted) in ``chunks``.
    A later row with the same key replaces an earlier one (as the writer does), so a file
    holding two pages that overlap imports each order once.
    """

    def __init__(self) -> None:
        self._rows: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = defaultdict(dict)

    def add(self, table: str, **row: Any) -> None:
        spec = FACT_TABLES[table]
        unknown = set(row) - set(spec.column_names)
        if unknown:
            raise KeyError(f"{table} has no column(s) {sorted(unknown)}")
        key = tuple(row.get(k) for k in spec.key if k != "store_id")
        self._rows[table][key] = {**self._rows[table].get(key, {}), **row}

    def get(self, table: str, *key: Any) -> dict[str, Any] | None:
        return self._rows[table].get(tuple(key))

    def count(self, table: str) -> int:
        return len(self._rows[table])

    def rows(self, table: str) -> list[dict[str, Any]]:
        return list(self._rows[table].values())

    def chunks(self, ctx: ImportContext) -> Iterator[FactChunk]:
        for table, keyed in self._rows.items():
            if not keyed:
                continue
            rows = list(keyed.values())
            spec = FACT_TABLES[table]
            columns: dict[str, Any] = {}
            for column in spec.columns:
                if column.name in META_COLUMNS or column.name == "store_id":
                    continue
                if not any(column.name in r for r in rows):
                    continue
                data = [r.get(column.name) for r in rows]
                array = pa.array(data, ARROW_TYPES[column.type])
                if column.name == "buyer_ref":
                    array = ctx.hash_buyer(array)
                columns[column.name] = array
            yield table, fact_table(table, ctx, len(rows), **columns)


# -- files of API responses -------------------------------------------------------------------


class ApiPayloadFormat(ReportFormat):
    """API responses saved to a file, exactly as the platform returned them.

    Subclasses name the envelope's top-level keys (``envelope_keys``: all must be present;
    ``absent_keys``: none may be) and read each response with ``read_payload``. Platforms
    whose envelopes look alike (Lazada's and TikTok Shop's are both ``code`` + ``data`` +
    ``request_id``) also name ``markers``: key paths inside the payload that only their
    responses have (``data.orders.line_items``; compared like ``Node`` keys, without case
    and underscores). Then the envelope alone is not enough to claim a file.

    State across the payloads of one file (``begin`` ... ``finish``) lives on a copy of
    the format made for that parse, never on the shared instance in the registry, so two
    imports in one process (the web app, the sync jobs) cannot mix their data.
    """

    envelope_keys: ClassVar[frozenset[str]]
    absent_keys: ClassVar[frozenset[str]] = frozenset()
    markers: ClassVar[frozenset[str]] = frozenset()
    _per_parse: bool = False

    def __setattr__(self, name: str, value: Any) -> None:
        # The registry's instance is shared by every import in the process: refuse state.
        if not self._per_parse:
            raise AttributeError(
                f"{type(self).__name__}.{name}: keep parse state in begin() "
                "(it runs on a per-parse copy), not on the shared format"
            )
        object.__setattr__(self, name, value)

    def sniff(self, head: FileHead) -> float:
        if head.container != "json":
            return 0.0
        keys = {_key(k) for k in head.json_keys}
        if not {_key(k) for k in self.envelope_keys} <= keys or keys & {
            _key(k) for k in self.absent_keys
        }:
            return 0.0
        if not self.markers:
            return 0.9
        paths = {".".join(_key(part) for part in p.split(".")) for p in head.json_paths}
        found = sum(1 for m in self.markers if ".".join(map(_key, m.split("."))) in paths)
        # The envelope alone is below the detection threshold: ask for --format.
        return min(0.9 + 0.01 * (found - 1), 0.95) if found else 0.55

    def parse(self, source: Source, ctx: ImportContext) -> Iterator[FactChunk]:
        data = source.load_json()
        payloads = data if isinstance(data, list) else [data]
        facts = FactRows()
        parser = self._for_one_parse()
        parser.begin(facts)
        counter = OrderCounter()
        for index, payload in enumerate(payloads):
            prefix = f"[{index}]" if isinstance(data, list) else ""
            if not isinstance(payload, Mapping):
                ctx.problem(
                    None, prefix or None, repr(payload)[:60], f"a {self.name_en} response object"
                )
                continue
            node = Node(payload, prefix, ctx, None)
            parser.read_payload(node, facts, counter)
        parser.finish(facts, ctx)
        if ctx.problems:
            return
        ctx.rows_read += counter.value
        yield from facts.chunks(ctx)

    def _for_one_parse(self) -> Self:
        parser = copy.copy(self)
        object.__setattr__(parser, "_per_parse", True)
        return parser

    def begin(self, facts: FactRows) -> None:
        """Called before the first payload, on this parse's own copy of the format: set
        the state shared between payloads here (``self._x = ...``)."""

    def finish(self, facts: FactRows, ctx: ImportContext) -> None:
        """Called after the last payload (to join data from different calls)."""

    @abstractmethod
    def read_payload(self, node: Node, facts: FactRows, counter: OrderCounter) -> None:
        """Read one response envelope into ``facts``; log problems on ``node``."""


class OrderCounter:
    """Numbers the orders of a file 1, 2, 3 ... across pages, for problem messages."""

    def __init__(self) -> None:
        self.value = 0

    def next(self) -> int:
        self.value += 1
        return self.value


def envelope_error(node: Node, *, error_keys: Sequence[str], ok: Sequence[Any]) -> bool:
    """True (and a problem logged) when the response reports an API error instead of data."""
    key, value = node.find(error_keys)
    if value is None or value in ok:
        return False
    message = node.text("message", "msg")
    node.problem(key, value, f"a successful response (the API answered with an error: {message})")
    return True


def line_total(unit: Decimal | None, quantity: int | None) -> Decimal | None:
    if unit is None or quantity is None:
        return None
    return (unit * quantity).quantize(Decimal("0.0001"))


def positive(amount: Decimal | None) -> Decimal | None:
    """Discounts and fees are stored positive whatever sign the platform used."""
    return None if amount is None else abs(amount)
