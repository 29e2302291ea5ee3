"""The canonical fact tables of the warehouse (DESIGN.md, "Canonical facts").

This module is the single source of truth for the shape of every fact: the warehouse
creates its tables from it, importers and connectors produce rows that match it, and the
KPI engine reads it. It is pure data: no database or dataframe library is imported.

Conventions that every producer of facts follows:

* Timestamps are UTC instants stored *without* a time zone (``timestamp`` below): the
  producer converts the platform's local time to UTC before writing. Periods are cut in
  the marketplace's local time by the KPI engine, which converts period bounds to UTC.
* Money columns (``money``) are exact decimals (18 digits, 4 after the point) in the
  row's own ``currency``; conversion to a reporting currency happens in the KPI engine.
* ``item_price`` is the *line total* (unit price x quantity), as Amazon reports it. An
  order whose price the platform has not reported yet (Amazon "Pending") has NULL prices.
* Every row carries ``source`` (``file:<format>``, ``api:<platform>``, ``manual``,
  ``demo``) and ``batch_id`` (the import batch that last wrote it). ``fx_rates`` is the
  only table without ``store_id``: rates are shared by all stores.
* Re-writing a row with the same natural key replaces it (see ``warehouse.writer``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ColumnType(StrEnum):
    """Portable column types; the warehouse maps each to its backend's SQL type."""

    STRING = "string"
    INT = "int"  # 64-bit integer
    FLOAT = "float"  # 64-bit float: rates, ratios, scores
    MONEY = "money"  # DECIMAL(18, 4)
    BOOL = "bool"
    DATE = "date"
    TIMESTAMP = "timestamp"  # UTC instant, stored without time zone


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: ColumnType
    nullable: bool = True
    doc: str = ""


@dataclass(frozen=True, slots=True)
class FactTable:
    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    doc: str = ""

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def value_columns(self) -> tuple[str, ...]:
        """Columns that are neither part of the key nor bookkeeping (source, batch_id)."""
        skip = set(self.key) | set(META_COLUMNS)
        return tuple(c.name for c in self.columns if c.name not in skip)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")


# Short aliases keep the table declarations below readable as a schema listing.
S = ColumnType.STRING
INT = ColumnType.INT
F = ColumnType.FLOAT
M = ColumnType.MONEY
B = ColumnType.BOOL
D = ColumnType.DATE
T = ColumnType.TIMESTAMP

META_COLUMNS = ("source", "batch_id")

_STORE = Column("store_id", INT, nullable=False, doc="Lianxing store id")
_META = (
    Column("source", S, nullable=False, doc="file:<format>, api:<platform>, manual or demo"),
    Column("batch_id", S, nullable=False, doc="import batch that last wrote the row"),
)


def _table(name: str, key: tuple[str, ...], doc: str, *cols: Column) -> FactTable:
    keyed = {c.name for c in cols} | {"store_id"}
    missing = set(key) - keyed
    assert not missing, f"{name}: key columns {missing} not declared"
    has_store = "store_id" in key
    columns = (
        ((_STORE,) if has_store else ())
        + tuple(Column(c.name, c.type, c.nullable and c.name not in key, c.doc) for c in cols)
        + _META
    )
    return FactTable(name, key, columns, doc)


class OrderStatus(StrEnum):
    PENDING = "pending"  # placed; the platform may not have priced it yet
    UNSHIPPED = "unshipped"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class ListingStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    SUPPRESSED = "suppressed"


ORDERS = _table(
    "orders",
    ("store_id", "order_id"),
    "One row per order.",
    Column("order_id", S),
    Column("purchase_ts", T, nullable=False, doc="UTC"),
    Column("status", S, nullable=False, doc="pending/unshipped/shipped/delivered/cancelled"),
    Column("fulfillment_channel", S, doc="e.g. AFN/MFN, FBM, platform-specific"),
    Column("currency", S, nullable=False, doc="ISO 4217"),
    Column("is_business", B),
    Column("buyer_ref", S, doc="hashed buyer identifier, never the raw one"),
    Column("ship_country", S, doc="ISO 3166-1 alpha-2"),
    Column("ship_postal_code", S),
    Column("promised_ship_by_ts", T, doc="UTC; latest ship date promised to the buyer"),
    Column("shipped_ts", T, doc="UTC"),
    Column("delivered_ts", T, doc="UTC"),
)

ORDER_LINES = _table(
    "order_lines",
    ("store_id", "order_id", "line_id"),
    "One row per order item.",
    Column("order_id", S),
    Column("line_id", S),
    Column("sku", S),
    Column("platform_item_id", S, doc="ASIN, Shopee item id, ..."),
    Column("quantity", INT, nullable=False),
    Column("item_price", M, doc="line total (unit price x quantity); NULL while unpriced"),
    Column("item_tax", M),
    Column("shipping_price", M),
    Column("shipping_tax", M),
    Column("promotion_discount", M, doc="positive number: discount given"),
    Column("currency", S, nullable=False),
)

REFUNDS = _table(
    "refunds",
    ("store_id", "refund_id"),
    "Money returned to buyers, as a positive amount.",
    Column("refund_id", S),
    Column("order_id", S),
    Column("sku", S),
    Column("refund_ts", T, nullable=False, doc="UTC"),
    Column("amount", M, nullable=False, doc="positive amount refunded"),
    Column("currency", S, nullable=False),
    Column("reason", S),
)

RETURNS = _table(
    "returns",
    ("store_id", "return_id"),
    "Physical returns of units.",
    Column("return_id", S),
    Column("order_id", S),
    Column("sku", S),
    Column("return_ts", T, nullable=False, doc="UTC"),
    Column("quantity", INT, nullable=False),
    Column("reason", S),
    Column("disposition", S),
)

AD_DAILY = _table(
    "ad_daily",
    ("store_id", "date", "campaign_id", "ad_type"),
    "Advertising per campaign and marketplace-local day.",
    Column("date", D),
    Column("campaign_id", S),
    Column("ad_type", S, doc="sponsored_products/sponsored_brands/sponsored_display/..."),
    Column("campaign_name", S),
    Column("impressions", INT),
    Column("clicks", INT),
    Column("cost", M),
    Column("attributed_sales", M),
    Column("attributed_orders", INT),
    Column("attributed_units", INT),
    Column("currency", S, nullable=False),
    Column("attribution_days", INT, doc="attribution window in days, e.g. 7 or 14"),
)

TRAFFIC_DAILY = _table(
    "traffic_daily",
    ("store_id", "date", "sku"),
    "Sessions and page views per marketplace-local day and SKU.",
    Column("date", D),
    Column("sku", S),
    Column("sessions", INT),
    Column("page_views", INT),
)

LISTINGS = _table(
    "listings",
    ("store_id", "sku", "snapshot_date"),
    "Listing state as seen on a snapshot date.",
    Column("sku", S),
    Column("snapshot_date", D),
    Column("platform_item_id", S),
    Column("title", S),
    Column("status", S, nullable=False, doc="active/inactive/suppressed"),
    Column("created_ts", T),
    Column("price", M),
    Column("currency", S),
)

ACCOUNT_HEALTH = _table(
    "account_health",
    ("store_id", "snapshot_date"),
    "Account health metrics; rates are fractions (0.01 = 1 %).",
    Column("snapshot_date", D),
    Column("order_defect_rate", F),
    Column("late_shipment_rate", F),
    Column("pre_fulfillment_cancel_rate", F),
    Column("valid_tracking_rate", F),
    Column("ahr_score", F, doc="Amazon Account Health Rating (0-1000) or platform score"),
    Column("status", S),
)

FEES = _table(
    "fees",
    ("store_id", "fee_id"),
    "Platform fees as positive amounts charged to the seller.",
    Column("fee_id", S),
    Column("posted_ts", T, nullable=False, doc="UTC"),
    Column("order_id", S),
    Column("sku", S),
    Column("fee_type", S, nullable=False),
    Column("amount", M, nullable=False, doc="positive amount charged"),
    Column("currency", S, nullable=False),
)

COGS = _table(
    "cogs",
    ("store_id", "sku", "valid_from"),
    "Unit cost of goods per SKU from a date on.",
    Column("sku", S),
    Column("valid_from", D),
    Column("unit_cost", M, nullable=False),
    Column("currency", S, nullable=False),
)

CS_TICKETS = _table(
    "cs_tickets",
    ("store_id", "ticket_id"),
    "Customer-service conversations.",
    Column("ticket_id", S),
    Column("opened_ts", T, nullable=False, doc="UTC"),
    Column("first_response_ts", T, doc="UTC"),
    Column("resolved_ts", T, doc="UTC"),
    Column("channel", S),
)

FX_RATES = _table(
    "fx_rates",
    ("date", "currency"),
    "Units of USD per one unit of currency on a date.",
    Column("date", D),
    Column("currency", S),
    Column("rate_to_usd", F, nullable=False),
)

FACT_TABLES: dict[str, FactTable] = {
    t.name: t
    for t in (
        ORDERS,
        ORDER_LINES,
        REFUNDS,
        RETURNS,
        AD_DAILY,
        TRAFFIC_DAILY,
        LISTINGS,
        ACCOUNT_HEALTH,
        FEES,
        COGS,
        CS_TICKETS,
        FX_RATES,
    )
}
