"""KPI definitions, values and the result matrix (pure; DESIGN.md "KPI definitions").

A KPI is data: its formula is written in a closed vocabulary of *measures* (named
aggregates over canonical facts, listed in :data:`MEASURES`) and of other KPIs, joined by
``+ - * /`` and parentheses. Formulas are parsed here, never evaluated by Python's
``eval``. The engine (``lianxing.metrics``) computes measures per store and period; this
module turns measures into KPI values, so that a portfolio's ratio is always the ratio of
its summed parts and a zero denominator is a value ("not defined"), never an error.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, assert_never


class Unit(StrEnum):
    CURRENCY = "currency"
    COUNT = "count"
    RATIO = "ratio"
    HOURS = "hours"
    SCORE = "score"


class Direction(StrEnum):
    HIGHER = "higher"
    LOWER = "lower"


class KpiKind(StrEnum):
    ADDITIVE = "additive"  # + and - of additive measures/KPIs: days and stores add up
    RATIO = "ratio"  # numerator / denominator, recomputed from summed parts
    DERIVED = "derived"  # any arithmetic of measures and KPIs
    SNAPSHOT = "snapshot"  # the latest value in the period
    MEDIAN = "median"  # the median over the period's facts


class Rollup(StrEnum):
    """How a measure is aggregated over days and over stores."""

    SUM = "sum"  # additive over days and stores
    DISTINCT = "distinct"  # distinct count in the period; additive over stores only
    LATEST = "latest"  # latest snapshot in the period
    MEDIAN = "median"  # recomputed over all facts of the scope


# ---------------------------------------------------------------------------------------
# Options
# ---------------------------------------------------------------------------------------

OptionValue = str | bool


@dataclass(frozen=True, slots=True)
class OptionSpec:
    name: str
    choices: tuple[OptionValue, ...] | None  # None: free text checked by ``pattern``
    doc_en: str
    doc_zh: str
    pattern: str | None = None

    def check(self, value: object) -> str | None:
        """None if ``value`` is allowed, else what was expected."""
        if self.choices is not None:
            if (
                isinstance(value, bool) != isinstance(self.choices[0], bool)
                or value not in self.choices
            ):
                return "one of " + ", ".join(json.dumps(c) for c in self.choices)
            return None
        assert self.pattern is not None
        if not isinstance(value, str) or not re.fullmatch(self.pattern, value):
            return f"a value matching {self.pattern}"
        return None


OPTIONS: dict[str, OptionSpec] = {
    spec.name: spec
    for spec in (
        OptionSpec(
            "refunds",
            ("gross", "net"),
            "gross: refunds not deducted; net: refunds deducted",
            "gross：不扣退款；net：扣除退款",
        ),
        OptionSpec(
            "refund_attribution",
            ("refund_date", "order_date"),
            "refunds count in the period they were issued (refund_date) "
            "or of their order (order_date)",
            "退款计入退款发生的期间（refund_date）或原订单所在期间（order_date）",
        ),
        OptionSpec(
            "return_attribution",
            ("return_date", "order_date"),
            "returns count in the period they arrived (return_date) or of their order (order_date)",
            "退货计入退货发生的期间（return_date）或原订单所在期间（order_date）",
        ),
        OptionSpec(
            "cancelled",
            ("exclude", "include"),
            "whether cancelled orders count",
            "是否计入已取消订单",
        ),
        OptionSpec(
            "include_shipping",
            (False, True),
            "add the shipping charged to buyers",
            "是否计入买家支付的运费",
        ),
        OptionSpec(
            "include_tax",
            (True, False),
            "true: item prices as the platform reports them; "
            "false: item (and shipping) tax taken out "
            "(for marketplaces whose prices include VAT)",
            "true：按平台报告的价格；false：扣除商品（及运费）税费（适用于含增值税价格的站点）",
        ),
        OptionSpec(
            "currency",
            None,
            "reporting currency; money is converted at the rate of the day it is counted on",
            "报告币种；金额按计入当日的汇率换算",
            pattern=r"[A-Z]{3}",
        ),
        OptionSpec(
            "timezone",
            ("marketplace", "UTC"),
            "timezone the periods are cut in",
            "切分期间所用的时区（站点当地时间或 UTC）",
        ),
    )
}


# ---------------------------------------------------------------------------------------
# Measures: the closed vocabulary over canonical facts
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Measure:
    id: str
    rollup: Rollup
    unit: Unit
    facts: str  # the canonical facts it reads, for people
    doc_en: str
    doc_zh: str
    options: frozenset[str]
    across_stores: bool = True  # False: not defined for several stores together (a score)


_ORDER_OPTIONS = frozenset({"cancelled", "timezone"})
_MONEY_ORDER_OPTIONS = _ORDER_OPTIONS | {"include_shipping", "include_tax", "currency"}

MEASURES: dict[str, Measure] = {
    m.id: m
    for m in (
        Measure(
            "item_sales",
            Rollup.SUM,
            Unit.CURRENCY,
            "order_lines.item_price (+ shipping_price, − taxes) of orders by orders.purchase_ts",
            "line totals of orders purchased in the period; unpriced (pending) lines add nothing",
            "期间内下单订单的商品行金额；未定价（pending）订单行不计金额",
            _MONEY_ORDER_OPTIONS | {"refunds", "refund_attribution"},
        ),
        Measure(
            "order_count",
            Rollup.SUM,
            Unit.COUNT,
            "orders by purchase_ts",
            "orders purchased in the period (pending ones included)",
            "期间内下单的订单数（含 pending）",
            _ORDER_OPTIONS,
        ),
        Measure(
            "pending_order_count",
            Rollup.SUM,
            Unit.COUNT,
            "orders with an unpriced line, by purchase_ts",
            "orders whose price the platform has not reported yet",
            "平台尚未报告价格的订单数",
            _ORDER_OPTIONS,
        ),
        Measure(
            "all_order_count",
            Rollup.SUM,
            Unit.COUNT,
            "orders by purchase_ts",
            "all orders purchased in the period, cancelled ones included",
            "期间内全部订单数（含已取消）",
            frozenset({"timezone"}),
        ),
        Measure(
            "cancelled_order_count",
            Rollup.SUM,
            Unit.COUNT,
            "orders with status cancelled, by purchase_ts",
            "cancelled orders purchased in the period",
            "期间内下单且已取消的订单数",
            frozenset({"timezone"}),
        ),
        Measure(
            "unit_count",
            Rollup.SUM,
            Unit.COUNT,
            "order_lines.quantity by orders.purchase_ts",
            "units ordered in the period",
            "期间内下单的件数",
            _ORDER_OPTIONS,
        ),
        Measure(
            "refund_amount",
            Rollup.SUM,
            Unit.CURRENCY,
            "refunds.amount by refund_ts or by the order's purchase_ts",
            "money refunded to buyers",
            "退款金额",
            frozenset({"refund_attribution", "currency", "timezone"}),
        ),
        Measure(
            "returned_units",
            Rollup.SUM,
            Unit.COUNT,
            "returns.quantity by return_ts or by the order's purchase_ts",
            "units returned by buyers",
            "退货件数",
            frozenset({"return_attribution", "timezone"}),
        ),
        Measure(
            "due_order_count",
            Rollup.SUM,
            Unit.COUNT,
            "non-cancelled orders by promised_ship_by_ts",
            "non-cancelled orders whose promised ship-by time falls in the period",
            "承诺发货时间在期间内的未取消订单数",
            frozenset({"timezone"}),
        ),
        Measure(
            "on_time_due_order_count",
            Rollup.SUM,
            Unit.COUNT,
            "non-cancelled orders by promised_ship_by_ts with shipped_ts <= promised_ship_by_ts",
            "of those, orders shipped by the promised time",
            "其中按承诺时间发货的订单数",
            frozenset({"timezone"}),
        ),
        Measure(
            "shipped_order_count",
            Rollup.SUM,
            Unit.COUNT,
            "orders by shipped_ts",
            "orders shipped in the period",
            "期间内发货的订单数",
            frozenset({"timezone"}),
        ),
        Measure(
            "late_shipped_order_count",
            Rollup.SUM,
            Unit.COUNT,
            "orders by shipped_ts with shipped_ts > promised_ship_by_ts",
            "orders shipped in the period after the promised time",
            "期间内晚于承诺时间发货的订单数",
            frozenset({"timezone"}),
        ),
        Measure(
            "ad_cost",
            Rollup.SUM,
            Unit.CURRENCY,
            "ad_daily.cost by date",
            "advertising cost",
            "广告花费",
            frozenset({"currency"}),
        ),
        Measure(
            "ad_attributed_sales",
            Rollup.SUM,
            Unit.CURRENCY,
            "ad_daily.attributed_sales by date",
            "sales the platform attributes to ads",
            "平台归因于广告的销售额",
            frozenset({"currency"}),
        ),
        Measure(
            "session_count",
            Rollup.SUM,
            Unit.COUNT,
            "traffic_daily.sessions by date",
            "sessions (visits)",
            "访问次数",
            frozenset(),
        ),
        Measure(
            "fee_amount",
            Rollup.SUM,
            Unit.CURRENCY,
            "fees.amount by posted_ts",
            "platform fees charged",
            "平台费用",
            frozenset({"currency", "timezone"}),
        ),
        Measure(
            "cogs_amount",
            Rollup.SUM,
            Unit.CURRENCY,
            "order_lines.quantity × cogs.unit_cost valid on the order date, by orders.purchase_ts",
            "cost of goods of the units ordered",
            "所售商品成本",
            _ORDER_OPTIONS | {"currency"},
        ),
        Measure(
            "sold_sku_count",
            Rollup.DISTINCT,
            Unit.COUNT,
            "distinct order_lines.sku with quantity ≥ 1",
            "SKUs with at least one unit ordered in the period",
            "期间内至少售出一件的SKU数",
            _ORDER_OPTIONS,
        ),
        Measure(
            "active_sku_count",
            Rollup.DISTINCT,
            Unit.COUNT,
            "distinct listings.sku with status active on a snapshot_date in the period",
            "SKUs active at some time in the period",
            "期间内曾在售的SKU数",
            frozenset(),
        ),
        Measure(
            "live_sku_count",
            Rollup.LATEST,
            Unit.COUNT,
            "listings with status active on the latest snapshot_date in the period",
            "active listings at period end",
            "期末在售商品数",
            frozenset(),
        ),
        Measure(
            "ahr_score",
            Rollup.LATEST,
            Unit.SCORE,
            "account_health.ahr_score on the latest snapshot_date in the period",
            "latest account health score, with ODR, LSR, cancel rate and VTR as parts",
            "期间内最新的账号健康分，并附 ODR、迟发率、取消率、有效追踪率",
            frozenset(),
            across_stores=False,
        ),
        Measure(
            "first_response_hours_median",
            Rollup.MEDIAN,
            Unit.HOURS,
            "cs_tickets first_response_ts − opened_ts, tickets opened in the period",
            "median hours to first response",
            "首次响应时长中位数（小时）",
            frozenset({"timezone"}),
        ),
    )
}


# ---------------------------------------------------------------------------------------
# Formulas
# ---------------------------------------------------------------------------------------


class FormulaError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Ref:
    name: str


@dataclass(frozen=True, slots=True)
class Number:
    value: float


@dataclass(frozen=True, slots=True)
class BinOp:
    op: str  # one of + - * /
    left: Formula
    right: Formula


Formula = Ref | Number | BinOp

_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|([a-z][a-z0-9_]*)|(.))")


def parse_formula(text: str) -> Formula:
    """Parse ``a + b * (c - 2)``; identifiers are measure or KPI ids."""
    tokens: list[tuple[str, str]] = []
    for number, name, other in _TOKEN.findall(text.strip()):
        if number:
            tokens.append(("num", number))
        elif name:
            tokens.append(("name", name))
        elif other.strip():
            if other not in "+-*/()":
                raise FormulaError(
                    f"unexpected character {other!r} "
                    "(allowed: ids, numbers, + - * / and parentheses)"
                )
            tokens.append(("op", other))
    position = 0

    def peek() -> tuple[str, str] | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> tuple[str, str]:
        nonlocal position
        token = peek()
        if token is None:
            raise FormulaError("formula ends too early")
        position += 1
        return token

    def expression() -> Formula:
        node = term()
        while (token := peek()) is not None and token[1] in ("+", "-") and token[0] == "op":
            take()
            node = BinOp(token[1], node, term())
        return node

    def term() -> Formula:
        node = atom()
        while (token := peek()) is not None and token[1] in ("*", "/") and token[0] == "op":
            take()
            node = BinOp(token[1], node, atom())
        return node

    def atom() -> Formula:
        kind, value = take()
        if kind == "num":
            return Number(float(value))
        if kind == "name":
            return Ref(value)
        if value == "(":
            node = expression()
            if take() != ("op", ")"):
                raise FormulaError("missing ')'")
            return node
        raise FormulaError(f"unexpected {value!r}")

    if not tokens:
        raise FormulaError("empty formula")
    tree = expression()
    if peek() is not None:
        raise FormulaError(f"unexpected {peek()[1]!r} after a complete formula")  # type: ignore[index]
    return tree


def formula_refs(formula: Formula) -> list[str]:
    match formula:
        case Ref(name):
            return [name]
        case Number():
            return []
        case BinOp(_, left, right):
            return formula_refs(left) + [
                r for r in formula_refs(right) if r not in formula_refs(left)
            ]
        case _:
            assert_never(formula)


def is_linear_sum(formula: Formula) -> bool:
    """Only ``+`` and ``-`` of references: such a formula adds up over days and stores."""
    match formula:
        case Ref():
            return True
        case Number():
            return False
        case BinOp(op, left, right):
            return op in "+-" and is_linear_sum(left) and is_linear_sum(right)
        case _:
            assert_never(formula)


def formula_text(formula: Formula) -> str:
    match formula:
        case Ref(name):
            return name
        case Number(value):
            return f"{value:g}"
        case BinOp(op, left, right):
            return f"({formula_text(left)} {op} {formula_text(right)})"
        case _:
            assert_never(formula)


# ---------------------------------------------------------------------------------------
# Definitions
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Text:
    zh: str
    en: str

    def both(self) -> str:
        return f"{self.zh} / {self.en}"


@dataclass(frozen=True, slots=True)
class KpiDefinition:
    id: str
    name: Text
    description: Text
    unit: Unit
    direction: Direction
    kind: KpiKind
    formula: Formula
    formula_source: str
    options: Mapping[str, OptionValue]
    content_hash: str
    source: str = ""  # file the definition was read from

    @property
    def short_hash(self) -> str:
        return self.content_hash[:12]

    def effective_options(
        self, overrides: Mapping[str, OptionValue] | None = None
    ) -> dict[str, OptionValue]:
        """Defaults with the caller's overrides for the options this KPI declares."""
        effective = dict(self.options)
        for name, value in (overrides or {}).items():
            if name in effective:
                effective[name] = value
        return effective


def content_hash(document: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON form (sorted keys, no whitespace) of a parsed definition."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------------------

ZERO_DENOMINATOR = "zero denominator"
NO_DATA = "no data"
NOT_ACROSS_STORES = "not defined for several stores"


@dataclass(frozen=True, slots=True)
class KpiValue:
    """A number, or None with the reason it is not defined; ``parts`` explain it."""

    value: float | None
    reason: str | None = None
    parts: Mapping[str, float | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        assert (self.value is None) == (self.reason is not None), "a value xor a reason"

    @staticmethod
    def missing(reason: str, parts: Mapping[str, float | None] | None = None) -> KpiValue:
        return KpiValue(None, reason, dict(parts or {}))

    @property
    def defined(self) -> bool:
        return self.value is not None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"value": self.value}
        if self.reason is not None:
            body["reason"] = self.reason
        return body


def evaluate(formula: Formula, lookup: Mapping[str, KpiValue]) -> KpiValue:
    """Evaluate with null propagation; ``x / 0`` is null "zero denominator"."""
    match formula:
        case Ref(name):
            return lookup[name]
        case Number(value):
            return KpiValue(value)
        case BinOp(op, left_formula, right_formula):
            left, right = evaluate(left_formula, lookup), evaluate(right_formula, lookup)
            if left.value is None:
                return KpiValue.missing(left.reason or NO_DATA)
            if right.value is None:
                return KpiValue.missing(right.reason or NO_DATA)
            match op:
                case "+":
                    return KpiValue(left.value + right.value)
                case "-":
                    return KpiValue(left.value - right.value)
                case "*":
                    return KpiValue(left.value * right.value)
                case "/":
                    if right.value == 0:
                        return KpiValue.missing(ZERO_DENOMINATOR)
                    return KpiValue(left.value / right.value)
            raise FormulaError(f"unknown operator {op!r}")
        case _:
            assert_never(formula)


def change(current: KpiValue, base: KpiValue | None) -> dict[str, Any] | None:
    """Comparison with an earlier value: the base, the difference and the relative change."""
    if base is None:
        return None
    body: dict[str, Any] = base.to_json()
    if current.value is not None and base.value is not None:
        # Rounded past any KPI's precision: the difference of 180876.47 and 176711.01 is
        # 4165.459999999992 in floating point.
        body["change"] = round(current.value - base.value, 9)
        body["change_pct"] = (
            None if base.value == 0 else (current.value - base.value) / abs(base.value)
        )
    return body


def close_enough(
    left: float | None, right: float | None, rel: float = 1e-9, abs_: float = 1e-9
) -> bool:
    if left is None or right is None:
        return left is right
    return math.isclose(left, right, rel_tol=rel, abs_tol=abs_)


# ---------------------------------------------------------------------------------------
# The result matrix
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scope:
    """One store, or several together (a seller's portfolio, a platform)."""

    key: str  # "store:12" or "portfolio:amazon"
    store_ids: tuple[int, ...]
    label: str

    @staticmethod
    def store(store_id: int, label: str = "") -> Scope:
        return Scope(f"store:{store_id}", (store_id,), label or f"store {store_id}")

    @property
    def is_portfolio(self) -> bool:
        return len(self.store_ids) != 1 or self.key.startswith("portfolio:")


@dataclass(frozen=True, slots=True)
class ResolvedPeriod:
    """A period as applied to one scope: its local dates and timezone."""

    label: str
    start: str  # ISO date, included
    end: str  # ISO date, excluded
    timezone: str


@dataclass(frozen=True, slots=True)
class KpiCell:
    value: KpiValue
    previous: KpiValue | None = None
    last_year: KpiValue | None = None
    notes: tuple[str, ...] = ()


@dataclass(slots=True)
class KpiGrid:
    """One KPI over periods (rows) × scopes (columns); a None value has a reason."""

    values: list[list[float | None]]
    reasons: list[list[str | None]]
    parts: dict[str, list[list[float | None]]] = field(default_factory=dict)

    def at(self, period: int, scope: int) -> KpiValue:
        value = self.values[period][scope]
        reason = self.reasons[period][scope]
        parts = {name: grid[period][scope] for name, grid in self.parts.items()}
        if value is None:
            return KpiValue.missing(reason or NO_DATA, parts)
        return KpiValue(value, None, parts)


@dataclass(slots=True)
class KpiMatrix:
    """KPIs × periods × scopes, computed once and read by the CLI, API, pages and reports.

    Values are kept as plain nested lists per KPI (a full monthly matrix of a thousand
    stores has hundreds of thousands of cells); :meth:`cell` builds the value objects.
    """

    definitions: dict[str, KpiDefinition]
    periods: list[str]  # period labels, in the caller's order
    scopes: list[Scope]
    currency: str
    options: dict[str, dict[str, OptionValue]]  # effective options per KPI
    current: dict[str, KpiGrid]
    previous: dict[str, KpiGrid] = field(default_factory=dict)
    last_year: dict[str, KpiGrid] = field(default_factory=dict)
    notes: dict[tuple[int, int], list[str]] = field(default_factory=dict)  # (period, scope) index
    resolved: dict[tuple[str, str], ResolvedPeriod] = field(
        default_factory=dict
    )  # (period, scope key)

    def _index(self, period: str, scope: str) -> tuple[int, int]:
        return self.periods.index(period), [s.key for s in self.scopes].index(scope)

    def cell(self, kpi: str, period: str, scope: str) -> KpiCell:
        p, g = self._index(period, scope)
        previous = self.previous.get(kpi)
        last_year = self.last_year.get(kpi)
        return KpiCell(
            value=self.current[kpi].at(p, g),
            previous=previous.at(p, g) if previous else None,
            last_year=last_year.at(p, g) if last_year else None,
            notes=tuple(self.notes.get((p, g), ()))
            if "pending_orders" in self.current[kpi].parts
            else (),
        )

    def value(self, kpi: str, period: str, scope: str) -> float | None:
        p, g = self._index(period, scope)
        return self.current[kpi].values[p][g]

    def iter_kpis(self) -> Iterator[KpiDefinition]:
        yield from self.definitions.values()

    def iter_cells(self) -> Iterator[tuple[KpiDefinition, str, Scope, KpiCell]]:
        for scope in self.scopes:
            for period in self.periods:
                for definition in self.definitions.values():
                    yield definition, period, scope, self.cell(definition.id, period, scope.key)

    def unit_label(self, definition: KpiDefinition) -> str:
        return self.currency if definition.unit is Unit.CURRENCY else definition.unit.value

    def kpi_json(self, period: str, scope: str) -> dict[str, dict[str, Any]]:
        """The ``kpis`` object of ``lianxing kpi --json`` for one period and scope."""
        body: dict[str, dict[str, Any]] = {}
        for definition in self.definitions.values():
            cell = self.cell(definition.id, period, scope)
            entry: dict[str, Any] = {
                "value": cell.value.value,
                "unit": self.unit_label(definition),
                "definition": definition.content_hash,
                "name": {"zh": definition.name.zh, "en": definition.name.en},
            }
            if cell.value.reason is not None:
                entry["reason"] = cell.value.reason
            if cell.value.parts:
                entry["parts"] = dict(cell.value.parts)
            entry["options"] = self.options[definition.id]
            entry["previous"] = change(cell.value, cell.previous)
            entry["last_year"] = change(cell.value, cell.last_year)
            if cell.notes:
                entry["notes"] = list(cell.notes)
            body[definition.id] = entry
        return body
