"""The order cube: one row per order with its line sums, kept next to the facts.

Counting orders and summing their lines needs ``order_lines`` joined to ``orders``; on
millions of lines that join (and any distinct count over lines) dominates a KPI matrix.
The cube does that join once and keeps the result as a derived table in the warehouse
(``kpi_order_facts``, in the facts' schema): store, order, purchase instant, currency, a
cancelled flag, the sums of item price, item tax, shipping price and shipping tax, units,
and whether a line has no price yet (a pending order). Every order-based daily cube of the
engine is then ONE group-by over this table, and orders are counted once per order.

The cube is kept in step with the facts by import batch: the writer stamps every new or
changed row with its ``batch_id`` and never deletes otherwise, so the row count per
``batch_id`` of ``orders`` and ``order_lines`` is a fingerprint of their content
(``kpi_order_facts_batches``). When batches appear that the cube has not seen, only the
orders they touch are recomputed; any other change (rows gone, a known batch grown) is
rebuilt from scratch. Changes made outside the batch writer that keep every count (an
``UPDATE`` by hand) are not noticed: rebuild with :meth:`OrderCube.rebuild`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from lianxing.metrics.compiler import CANCELLED, TableSource
from lianxing.warehouse.temporary import compiled, create_temp_table, drop_table, run
from lianxing.warehouse.writer import BATCH_ROWS_TABLE, LEDGER_COMPLETE

CUBE_TABLE = "kpi_order_facts"
STATE_TABLE = "kpi_order_facts_batches"
# The daily cube (``daily_cube``) built on this one: its rows, the zone each store's rows
# were cut in, and the stores and purchase instants of orders changed since (written here).
DAILY_TABLE = "kpi_order_days"
DAILY_REFUNDS_TABLE = "kpi_order_refund_days"  # refunds and returns by their order's day
DAILY_ZONES_TABLE = "kpi_order_days_zones"
DAILY_DIRTY_TABLE = "kpi_order_days_dirty"
DIRTY_COLUMNS = "store_id BIGINT, first_ts TIMESTAMP, last_ts TIMESTAMP"
# DuckDB's share of memory while the cube is built from scratch (it spills beyond it):
# the join of every line with its order would otherwise take most of the machine.
DUCKDB_BUILD_MEMORY = "768MB"
LAYOUT = "4"  # bump when the cube's columns change: a stored cube of another layout is rebuilt
_LAYOUT_FACT = "__layout__"
_ORPHANS_FACT = "__orphans__"  # "1": some lines have no order row (yet)
_META_FACTS = (_LAYOUT_FACT, _ORPHANS_FACT)
_KEY = ("store_id", "order_id")
_ORDER_FACTS = ("orders", "order_lines")
# Followed too, though they change no row of the cube: the days of their orders change.
_REFUND_FACTS = ("refunds", "returns")
CUBE_FACTS = (*_ORDER_FACTS, *_REFUND_FACTS)  # the fact tables the cubes follow
_DERIVED = (DAILY_TABLE, DAILY_REFUNDS_TABLE, DAILY_ZONES_TABLE, DAILY_DIRTY_TABLE)
_MONEY = ("item_price", "item_tax", "shipping_price", "shipping_tax")


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What :meth:`OrderCube.sync` did: ``unchanged``, ``appended`` (new orders with their
    lines), ``incremental`` (touched orders recomputed), ``followed`` (refunds or returns
    noted), ``rebuilt``, or ``stale`` (left for the next computation to rebuild)."""

    action: str
    orders: int = 0  # orders recomputed (incremental) or in the cube (rebuilt)


class OrderCube:
    """The derived per-order table of one warehouse (see the module docstring)."""

    def __init__(self, backend: BaseBackend, table: TableSource) -> None:
        self.backend = backend
        self.fact_table = table
        sources = [table(name).op() for name in CUBE_FACTS]
        # Only plain fact tables have a stored cube. A filtered source (a contract leaving
        # out manual facts or flagged batches) gets the same rows as an expression instead.
        self.stored = all(isinstance(op, ops.DatabaseTable) for op in sources)
        namespace = getattr(sources[0], "namespace", None)
        self.database: str | None = namespace.database if namespace is not None else None
        self._synced = False
        self._orphans = False
        self._derived: dict[str, ir.Table] = {}
        # Bumped whenever the cube changed since this object last looked, so the daily
        # cube knows to look again.
        self.generation = 0
        self._seen: dict[tuple[str, str], int] | None = None  # the facts last seen in step

    # -- reading ---------------------------------------------------------------------
    def table(self) -> ir.Table:
        """The cube (in step with the facts once :meth:`sync` ran)."""
        if not self.stored:
            return self._orders_with_sums(
                self.fact_table("orders"), self._line_sums(self.fact_table("order_lines"))
            )
        return self.derived(CUBE_TABLE)

    def derived(self, name: str) -> ir.Table:
        """A derived table of the cube's family, looked up once (each lookup asks the
        backend for its schema; a rebuilt table keeps its columns)."""
        if name not in self._derived:
            self._derived[name] = self.backend.table(name, database=self.database)
        return self._derived[name]

    # -- keeping in step -------------------------------------------------------------
    def sync(self, *, force: bool = False, rebuild: bool = True) -> SyncResult:
        """Bring the cube in step with ``orders`` and ``order_lines`` (once per engine
        computation; ``force`` checks again, e.g. on refresh). With ``rebuild`` false, only
        changes that can be followed are (an import keeping an existing cube in step):
        where the cube would be built from scratch, ``stale`` is returned and the next
        computation builds it."""
        if not self.stored or (self._synced and not force):
            return SyncResult("unchanged")
        existing = self.existing(CUBE_TABLE, STATE_TABLE, BATCH_ROWS_TABLE)
        stored = self._stored_fingerprint(existing)
        if not rebuild and (stored is None or stored.get((_LAYOUT_FACT, LAYOUT)) is None):
            return SyncResult("stale")
        current = self._fingerprint(existing)
        self._orphans = bool(stored and stored.get((_ORPHANS_FACT, "1")) is not None)
        if stored is None or stored.get((_LAYOUT_FACT, LAYOUT)) is None:
            result = self.rebuild(current)
        elif {k: v for k, v in stored.items() if k[0] not in _META_FACTS} == current:
            result = SyncResult("unchanged")
        else:
            known = {k: n for k, n in stored.items() if k[0] not in _META_FACTS}
            new = {k for k in current if k not in known}
            known_grew = any(current.get(k, 0) > n for k, n in known.items())
            lost = sum(n - current.get(k, 0) for k, n in known.items())
            # Only new batches whose rows at most replaced rows of earlier ones: the orders
            # they touch are the only ones that changed. Anything else is rebuilt.
            if new and not known_grew and lost <= sum(current[k] for k in new):
                result = self._follow(new, current, known)
            elif not rebuild:
                return SyncResult("stale")
            else:
                result = self.rebuild(current)
        self._synced = True
        followed = {k: v for k, v in (stored or {}).items() if k[0] not in _META_FACTS}
        if result.action != "unchanged" or followed != self._seen:
            # Changed here, or by another process or object since this one last looked
            # (an import keeping the cube in step): the daily cube must look again.
            self.generation += 1
        self._seen = current
        return result

    def _follow(
        self,
        new: set[tuple[str, str]],
        current: dict[tuple[str, str], int],
        known: dict[tuple[str, str], int],
    ) -> SyncResult:
        """New batches only: orders first (appended, or recomputed where touched), then the
        order days of new refunds and returns are noted for the daily cube."""
        lost = {
            fact: sum(n - current.get(k, 0) for k, n in known.items() if k[0] == fact)
            for fact in CUBE_FACTS
        }
        result = SyncResult("unchanged")
        with self.transaction():
            if any(fact in _ORDER_FACTS for fact, _ in new):
                orders_lost = lost["orders"] + lost["order_lines"]
                appended = self._append(new) if orders_lost == 0 else None
                result = appended or self._update(new)
            refund_batches = {(f, b) for f, b in new if f in _REFUND_FACTS}
            if refund_batches:
                replaced = lost["refunds"] + lost["returns"] > 0
                self._log_refund_days(refund_batches, whole_stores=replaced)
                if result.action == "unchanged":
                    result = SyncResult("followed")
            self._write_fingerprint(current)
        return result

    def _log_refund_days(self, batches: set[tuple[str, str]], *, whole_stores: bool) -> None:
        """Note the purchase days of the orders that refunds and returns of ``batches``
        belong to. Where they replaced earlier rows (``whole_stores``), the order a replaced
        row belonged to is not known any more: every order day of their stores is noted."""
        parts = []
        for fact in _REFUND_FACTS:
            ids = sorted(batch for name, batch in batches if name == fact)
            if ids:
                t = self.fact_table(fact)
                parts.append(t.filter(t.batch_id.isin(ids)).select(*_KEY))
        keys = parts[0] if len(parts) == 1 else parts[0].union(parts[1])
        cube = self.derived(CUBE_TABLE)
        if whole_stores:
            orders = cube.semi_join(keys.select("store_id").distinct(), "store_id")
        else:
            orders = cube.semi_join(keys, list(_KEY))
        self._log_days(self.sql(orders.select("store_id", "purchase_ts")))

    def rebuild(self, fingerprint: dict[tuple[str, str], int] | None = None) -> SyncResult:
        """Compute the whole cube again from the facts (nothing to do for a filtered source)."""
        if not self.stored:
            return SyncResult("unchanged")
        fingerprint = fingerprint if fingerprint is not None else self._fingerprint()
        orders, lines = self.fact_table("orders"), self.fact_table("order_lines")
        # In purchase order: a refresh reads the newest days, which zone maps then find.
        cube = self._orders_with_sums(orders, self._line_sums(lines)).order_by("purchase_ts")
        orphans = lines.select(*_KEY).anti_join(orders, list(_KEY)).limit(1).count()
        with self.bounded_memory():  # the orphan check joins every line too
            self._orphans = bool(self.backend.execute(orphans))
        with self.bounded_memory(), self.transaction():
            self.execute(f"DROP TABLE IF EXISTS {self.name(CUBE_TABLE)}")
            self.execute(f"CREATE TABLE {self.name(CUBE_TABLE)} AS {self.sql(cube)}")
            for derived in _DERIVED:
                self.execute(f"DROP TABLE IF EXISTS {self.name(derived)}")
            self._write_fingerprint(fingerprint)
        if self.backend.name == "postgres":
            # A table made by CREATE TABLE AS has no statistics until autovacuum comes by;
            # without them the planner joins refunds to it by nested loops (minutes).
            self.execute(f"ANALYZE {self.name(CUBE_TABLE)}")
        self._synced = True
        self.generation += 1
        self._seen = fingerprint
        return SyncResult("rebuilt", self._count())

    @contextmanager
    def bounded_memory(self) -> Iterator[None]:
        """On DuckDB, work within ``DUCKDB_BUILD_MEMORY`` (spilling to disk beyond it); the
        connection is back on DuckDB's defaults afterwards (nothing in Lianxing sets the
        limit otherwise, and DuckDB shows only a rounded value that cannot be restored)."""
        if self.backend.name != "duckdb":
            yield
            return
        self.execute(f"SET memory_limit = '{DUCKDB_BUILD_MEMORY}'")
        try:
            yield
        finally:
            self.execute("RESET memory_limit")

    def _update(self, batches: set[tuple[str, str]]) -> SyncResult:
        orders, lines = self.fact_table("orders"), self.fact_table("order_lines")
        keys: list[ir.Table] = []
        for fact, table in (("orders", orders), ("order_lines", lines)):
            ids = sorted(batch for name, batch in batches if name == fact)
            if ids:
                keys.append(table.filter(table.batch_id.isin(ids)).select(*_KEY))
        touched = keys[0].union(keys[1], distinct=True) if len(keys) == 2 else keys[0].distinct()
        # Materialised once: read three times (delete, order rows, their lines).
        name = "lx_kpi_touched_orders"
        try:
            touched_table = create_temp_table(self.backend, name, touched)
            changed = self._orders_with_sums(
                orders.semi_join(touched_table, list(_KEY)),
                self._line_sums(lines.semi_join(touched_table, list(_KEY))),
            )
            orphans = (
                lines.semi_join(touched_table, list(_KEY))
                .select(*_KEY)
                .anti_join(orders, list(_KEY))
                .limit(1)
                .count()
            )
            self._orphans = self._orphans or bool(self.backend.execute(orphans))
            target = self.name(CUBE_TABLE)
            touched_rows = (
                f"FROM {target} WHERE EXISTS (SELECT 1 FROM {name} k WHERE "
                + " AND ".join(f"k.{c} = {target}.{c}" for c in _KEY)
                + ")"
            )
            # The days of a changed order before and after: both may change.
            self._log_days(f"SELECT store_id, purchase_ts {touched_rows}")
            self.execute(f"DELETE {touched_rows}")
            self.execute(f"INSERT INTO {target} {self.sql(changed)}")
            self._log_days(f"SELECT store_id, purchase_ts {touched_rows}")
            count = self.scalar(f"SELECT count(*) FROM {name}")
        finally:
            drop_table(self.backend, name)
        return SyncResult("incremental", count)

    def _append(self, batches: set[tuple[str, str]]) -> SyncResult | None:
        """New batches that only added rows, each new line with its new order: the new
        orders are appended with their lines' sums, nothing is read back. ``None`` where
        that does not hold (then :meth:`_update`)."""
        if self._orphans:  # a new order might have lines from earlier batches
            return None
        orders, lines = self.fact_table("orders"), self.fact_table("order_lines")
        order_ids = sorted(batch for fact, batch in batches if fact == "orders")
        line_ids = sorted(batch for fact, batch in batches if fact == "order_lines")
        new_orders = orders.filter(orders.batch_id.isin(order_ids or [""]))
        new_lines = lines.filter(lines.batch_id.isin(line_ids or [""]))
        # Each fact table is read once: the new lines' sums and the new cube rows are kept
        # in temporary tables for the checks, the insert and the log that follow.
        sums, rows = "lx_kpi_new_line_sums", "lx_kpi_new_orders"
        try:
            new_sums = create_temp_table(self.backend, sums, self._line_sums(new_lines))
            create_temp_table(self.backend, rows, self._orders_with_sums(new_orders, new_sums))
            strays = self.scalar(
                f"SELECT count(*) FROM {sums} s WHERE NOT EXISTS (SELECT 1 FROM {rows} o "
                "WHERE o.store_id = s.store_id AND o.order_id = s.order_id)"
            )
            if strays:  # lines added to earlier orders
                return None
            self.execute(f"INSERT INTO {self.name(CUBE_TABLE)} SELECT * FROM {rows}")
            self._log_days(f"SELECT store_id, purchase_ts FROM {rows}")
            return SyncResult("appended", self.scalar(f"SELECT count(*) FROM {rows}"))
        finally:
            for name in (sums, rows):
                drop_table(self.backend, name)

    def _log_days(self, orders_sql: str) -> None:
        """Note the stores and purchase instants of changed orders (``store_id``,
        ``purchase_ts`` in ``orders_sql``) for the daily cube."""
        dirty = self.name(DAILY_DIRTY_TABLE)
        self.execute(f"CREATE TABLE IF NOT EXISTS {dirty} ({DIRTY_COLUMNS})")
        self.execute(
            f"INSERT INTO {dirty} SELECT store_id, min(purchase_ts), max(purchase_ts) "
            f"FROM ({orders_sql}) AS changed WHERE purchase_ts IS NOT NULL GROUP BY store_id"
        )

    def tables_exist(self, *tables: str) -> bool:
        return self.existing(*tables) == set(tables)

    def existing(self, *tables: str) -> set[str]:
        """Which of ``tables`` exist in the facts' schema (one query)."""
        schema = quote(self.database) if self.database else "current_schema()"
        names = ", ".join(quote(t) for t in tables)
        found = self.rows(
            "SELECT table_name FROM information_schema.tables "
            f"WHERE table_schema = {schema} AND table_name IN ({names})"
        )
        return {str(name) for (name,) in found}

    # -- the cube's shape ------------------------------------------------------------
    @staticmethod
    def _line_sums(lines: ir.Table) -> ir.Table:
        return lines.group_by(*_KEY).aggregate(
            **{c: lines[c].sum().cast("decimal(18, 4)") for c in _MONEY},
            units=lines.quantity.sum().cast("int64"),
            unpriced=lines.item_price.isnull().ifelse(1, 0).max(),
        )

    @staticmethod
    def _orders_with_sums(orders: ir.Table, sums: ir.Table) -> ir.Table:
        joined = orders.left_join(sums, list(_KEY))
        return joined.select(
            orders.store_id,
            orders.order_id,
            orders.purchase_ts,
            orders.currency,
            cancelled=(orders.status == CANCELLED).ifelse(1, 0).cast("int32"),
            **{c: sums[c] for c in _MONEY},
            units=sums.units,
            unpriced=sums.unpriced.cast("int32").coalesce(0),
        )

    # -- fingerprint -----------------------------------------------------------------
    def _fingerprint(self, existing: set[str] | None = None) -> dict[tuple[str, str], int]:
        """Rows per batch of every followed fact table: from the writer's batch ledger where
        it is complete and accounts for every row the table has (a row count, which DuckDB
        keeps without a scan), else counted from the table."""
        facts = CUBE_FACTS
        fingerprint: dict[tuple[str, str], int] = {}
        unaccounted = set(facts)
        if existing is None:
            existing = self.existing(BATCH_ROWS_TABLE)
        if BATCH_ROWS_TABLE in existing:
            ledger = self.rows(
                f"SELECT fact, batch_id, row_count FROM {self.name(BATCH_ROWS_TABLE)} "
                f"WHERE fact IN ({', '.join(quote(f) for f in facts)})"
            )
            totals = dict(
                self.rows(
                    " UNION ALL ".join(
                        f"SELECT {quote(f)}, count(*) FROM {self.name(f)}" for f in facts
                    )
                )
            )
            complete = {str(f) for f, b, _ in ledger if b == LEDGER_COMPLETE}
            for fact in complete:
                counts = {
                    (fact, str(b)): int(n)
                    for f, b, n in ledger
                    if f == fact and b != LEDGER_COMPLETE and n
                }
                if sum(counts.values()) == totals[fact]:
                    fingerprint.update(counts)
                    unaccounted.discard(fact)
        if unaccounted:  # written outside the writer, or never written since the ledger
            parts = []
            for fact in sorted(unaccounted):
                t = self.fact_table(fact)
                parts.append(
                    t.group_by("batch_id").aggregate(rows=t.count()).mutate(fact=ibis.literal(fact))
                )
            result = self.backend.to_pyarrow(ibis.union(*parts) if len(parts) > 1 else parts[0])
            fingerprint.update(
                {
                    (str(f), str(b)): int(n)
                    for f, b, n in zip(
                        result.column("fact").to_pylist(),
                        result.column("batch_id").to_pylist(),
                        result.column("rows").to_pylist(),
                        strict=True,
                    )
                }
            )
        return fingerprint

    def _stored_fingerprint(self, existing: set[str]) -> dict[tuple[str, str], int] | None:
        if STATE_TABLE not in existing or CUBE_TABLE not in existing:
            return None
        rows = self.rows(f"SELECT fact, batch_id, row_count FROM {self.name(STATE_TABLE)}")
        return {(str(f), str(b)): int(n) for f, b, n in rows}

    def _write_fingerprint(self, fingerprint: dict[tuple[str, str], int]) -> None:
        state = self.name(STATE_TABLE)
        self.execute(
            f"CREATE TABLE IF NOT EXISTS {state} "
            "(fact VARCHAR(64), batch_id VARCHAR(256), row_count BIGINT)"
        )
        self.execute(f"DELETE FROM {state}")
        rows = [
            (_LAYOUT_FACT, LAYOUT, 0),
            *([(_ORPHANS_FACT, "1", 0)] if self._orphans else []),
            *((f, b, n) for (f, b), n in fingerprint.items()),
        ]
        values = ", ".join(f"({quote(f)}, {quote(b)}, {int(n)})" for f, b, n in rows)
        self.execute(f"INSERT INTO {state} VALUES {values}")

    # -- SQL plumbing ----------------------------------------------------------------
    def name(self, table: str) -> str:
        return f'"{self.database}"."{table}"' if self.database else f'"{table}"'

    def sql(self, expr: ir.Table) -> str:
        return compiled(self.backend, expr)

    def raw(self, sql: str) -> Any:
        return self.backend.raw_sql(sql)

    def execute(self, sql: str) -> None:
        run(self.backend, sql)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        result = self.raw(sql)
        try:
            return list(result.fetchall())
        finally:
            if self.backend.name == "postgres":
                result.close()

    def scalar(self, sql: str) -> int:
        return int(self.rows(sql)[0][0])

    def _count(self) -> int:
        return self.scalar(f"SELECT count(*) FROM {self.name(CUBE_TABLE)}")

    def transaction(self) -> _Transaction:
        return _Transaction(self)


class _Transaction:
    """BEGIN … COMMIT on the backend's connection (ROLLBACK on error)."""

    def __init__(self, cube: OrderCube) -> None:
        self.cube = cube

    def __enter__(self) -> None:
        self.cube.execute("BEGIN")

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        self.cube.execute("ROLLBACK" if kind is not None else "COMMIT")


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
