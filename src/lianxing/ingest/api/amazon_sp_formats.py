"""Amazon SP-API responses and documents no file importer reads, mapped onto the importers' facts.

**Financial events** (Finances API v0 ``listFinancialEvents``, platform-formats.md §1.4;
``models/finances-api-model/financesV0.json``) → ``refunds`` and ``fees`` by the rules of
the settlement report importer (``files/amazon/settlement.py``), so that the same money
gives the same amounts whichever of the two a store reads:

* ``refunds``: per item of a ``RefundEventList`` event (``ShipmentItemAdjustmentList``),
  the ``Principal`` charges of ``ItemChargeAdjustmentList`` summed and stored positive
  (the settlement's Refund / ItemPrice / Principal lines); tax and shipping refunds are
  not refunds of sales, as there.
* ``fees``: every ``FeeComponent`` of shipment and refund events (item level
  ``ItemFeeList`` / ``ItemFeeAdjustmentList``; shipment and order level ``ShipmentFee*`` /
  ``OrderFee*``) and of ``ServiceFeeEventList``, stored as the amount charged (Amazon's
  sign flipped: a fee given back with a refund, ``Commission +2.00``, is a negative fee;
  ``RefundCommission -0.40`` a positive one), ``fee_type`` = ``FeeType`` — the names the
  settlement report has in ``amount-description``. Zero components (Amazon lists every
  fee type of an item, most at 0.00) are left out; "Cost of Advertising" is left out as
  the settlement importer does (ad spend comes from the Ads reports).

Guarantee claims and chargebacks (``GuaranteeClaimEventList``, ``ChargebackEventList``:
refund-shaped) give their fee components as fees and no refund, as the settlement
importer takes only ``Refund`` transactions' principal as refunds. Not read: adjustments
(reimbursements), ad payments (ad spend), and the coupon, deal, Vine and imaging events —
their fees (``... Fee`` lines in a settlement) are missing from ``finances``.

Keys are built from the event's content, never its position in a page, because the
overlap re-reads events: ``fin:<kind>|<order>|<order item or adjustment item>|<posted>|
<fee type>``. A ``ServiceFeeEvent`` has no ``PostedDate`` in the model: it is dated at
local midnight of the day it was listed for (the connector asks for one marketplace-local
day at a time and passes it as ``ImportContext.period_from``). Two components that would
get the same key (identical service fees on one day) are numbered ``#2``, ``#3`` ... in the
order Amazon lists them, so each day must be mapped in one piece.

**Sales and Traffic report** (``GET_SALES_AND_TRAFFIC_REPORT``, JSON,
``schemas/reports/sellerSalesAndTrafficReport.json``, §2.7): the ``salesAndTrafficByAsin``
rows become the rows of the Business Report "by child item" (same metrics, see §2.7's
mapping) and go through that importer (``amazon.business_report``) dated with the
report's ``dataStartTime``: ``traffic_daily`` per SKU (the child ASIN where the report has
no SKU), exactly as an uploaded Business Report of that day. ``salesAndTrafficByDate``
(store totals) is not stored: sessions are counted per SKU, adding a store total would
count them twice.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
from collections import Counter
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from lianxing.domain.periods import local_midnight_utc
from lianxing.ingest.api.mapping import MappingError
from lianxing.ingest.files.amazon.settlement import NOT_FEES
from lianxing.ingest.files.marketplace import ApiPayloadFormat, FactRows, Node, OrderCounter

# Where a shipment-shaped event keeps its fee lists, and which id names its items.
EVENT_FEE_LISTS = (
    "ShipmentFeeList",
    "ShipmentFeeAdjustmentList",
    "OrderFeeList",
    "OrderFeeAdjustmentList",
)
ITEM_FEE_LISTS = ("ItemFeeList", "ItemFeeAdjustmentList")
# Refund-shaped events whose fees count but whose principal is not a refund of a sale.
CLAIM_EVENT_LISTS = (
    ("GuaranteeClaimEventList", "guarantee"),
    ("ChargebackEventList", "chargeback"),
)
GZIP_MAGIC = b"\x1f\x8b"


class SpApiFinancialEvents(ApiPayloadFormat):
    """``listFinancialEvents`` pages → refunds and fees (see the module docstring)."""

    id = "amazon.sp_api_finances"
    name_zh = "亚马逊 SP-API 财务事件 (listFinancialEvents)"
    name_en = "Amazon SP-API financial events (listFinancialEvents responses)"
    platform = "amazon"
    tables = ("refunds", "fees")
    envelope_keys = frozenset({"payload"})

    def begin(self, facts: FactRows) -> None:
        self._keys: Counter[str] = Counter()

    def read_payload(self, node: Node, facts: FactRows, counter: OrderCounter) -> None:
        if node.has("errors"):
            node.problem("errors", node.raw("errors"), "a successful SP-API response")
            return
        payload = node.child("payload")
        events = payload.child("FinancialEvents") if payload else None
        if events is None:
            node.problem("payload.FinancialEvents", None, "a listFinancialEvents payload")
            return
        for event in events.children("ShipmentEventList"):
            self._shipment_event(event.at(counter.next()), "sale", facts)
        for event in events.children("RefundEventList"):
            self._shipment_event(event.at(counter.next()), "refund", facts)
        for name, kind in CLAIM_EVENT_LISTS:
            for event in events.children(name):
                self._shipment_event(event.at(counter.next()), kind, facts)
        for event in events.children("ServiceFeeEventList"):
            self._service_fee_event(event.at(counter.next()), facts)

    def _shipment_event(self, event: Node, kind: str, facts: FactRows) -> None:
        order_id = event.text("AmazonOrderId")
        posted = event.instant("PostedDate", required=True)
        if posted is None:
            return
        stamp = posted.isoformat()
        for name in EVENT_FEE_LISTS:
            for fee in event.children(name):
                self._fee(fee, facts, posted, order_id, None, (kind, order_id, "", stamp))
        adjusting = kind != "sale"
        items = "ShipmentItemAdjustmentList" if adjusting else "ShipmentItemList"
        for item in event.children(items):
            sku = item.text("SellerSKU")
            item_id = item.text("OrderAdjustmentItemId" if adjusting else "OrderItemId")
            key = (kind, order_id, item_id, stamp)
            for name in ITEM_FEE_LISTS:
                for fee in item.children(name):
                    self._fee(fee, facts, posted, order_id, sku, key)
            if kind == "refund":
                self._refund(item, facts, posted, order_id, sku, item_id)

    def _refund(
        self,
        item: Node,
        facts: FactRows,
        posted: dt.datetime,
        order_id: str | None,
        sku: str | None,
        item_id: str | None,
    ) -> None:
        principal: Decimal | None = None
        currency = None
        for charge in item.children("ItemChargeAdjustmentList"):
            if (charge.text("ChargeType") or "").lower() != "principal":
                continue
            amount, currency = _currency(charge, "ChargeAmount")
            if amount is not None:
                principal = (principal or Decimal(0)) + amount
        if principal is None:
            return
        facts.add(
            "refunds",
            refund_id="fin:" + _join((order_id, item_id, sku, posted.isoformat())),
            order_id=order_id,
            sku=sku,
            refund_ts=posted,
            amount=-principal,
            currency=(currency or item.ctx.currency).upper(),
        )

    def _service_fee_event(self, event: Node, facts: FactRows) -> None:
        day = event.ctx.period_from
        if day is None:
            event.problem(
                "FeeList",
                None,
                "the day the events were listed for (a ServiceFeeEvent has no PostedDate; "
                "import with --from) / 服务费事件没有日期,请用 --from 指定",
            )
            return
        posted = local_midnight_utc(day, event.ctx.timezone)
        order_id, sku = event.text("AmazonOrderId"), event.text("SellerSKU")
        reason = event.text("FeeReason") or event.text("FeeDescription")
        key = ("service", order_id, sku, day.isoformat(), reason)
        for fee in event.children("FeeList"):
            self._fee(fee, facts, posted, order_id, sku, key)

    def _fee(
        self,
        fee: Node,
        facts: FactRows,
        posted: dt.datetime,
        order_id: str | None,
        sku: str | None,
        key: tuple[str | None, ...],
    ) -> None:
        fee_type = fee.text("FeeType", required=True)
        amount, currency = _currency(fee, "FeeAmount")
        if fee_type is None or amount is None or amount == 0:
            return
        if fee_type.lower() in NOT_FEES:
            return
        fee_id = "fin:" + _join((*key, fee_type))
        self._keys[fee_id] += 1
        if self._keys[fee_id] > 1:
            fee_id += f"#{self._keys[fee_id]}"
        facts.add(
            "fees",
            fee_id=fee_id,
            posted_ts=posted,
            order_id=order_id,
            sku=sku,
            fee_type=fee_type,
            amount=-amount,
            currency=(currency or fee.ctx.currency).upper(),
        )


def _join(parts: tuple[str | None, ...]) -> str:
    return "|".join(part or "" for part in parts)


def _currency(node: Node, name: str) -> tuple[Decimal | None, str | None]:
    """A v0 ``Currency`` (``CurrencyAmount``, ``CurrencyCode``; not the Orders API's
    ``Amount``): (amount, code)."""
    money = node.child(name)
    if money is None:
        node.problem(name, None, "a Currency object {CurrencyCode, CurrencyAmount}")
        return None, None
    return money.money("CurrencyAmount", required=True), money.text("CurrencyCode")


SP_API_FINANCES = SpApiFinancialEvents()


# -- Sales and Traffic report → Business Report rows ---------------------------------------------

# Business Report column ← (object in a salesAndTrafficByAsin row, field), per §2.7.
BUSINESS_REPORT_COLUMNS: tuple[tuple[str, str | None, str], ...] = (
    ("(Parent) ASIN", None, "parentAsin"),
    ("(Child) ASIN", None, "childAsin"),
    ("SKU", None, "sku"),
    ("Sessions - Total", "trafficByAsin", "sessions"),
    ("Page Views - Total", "trafficByAsin", "pageViews"),
    ("Featured Offer (Buy Box) Percentage", "trafficByAsin", "buyBoxPercentage"),
    ("Units Ordered", "salesByAsin", "unitsOrdered"),
    ("Unit Session Percentage", "trafficByAsin", "unitSessionPercentage"),
    ("Ordered Product Sales", "salesByAsin", "orderedProductSales"),
    ("Total Order Items", "salesByAsin", "totalOrderItems"),
)
PERCENT_COLUMNS = frozenset({"Featured Offer (Buy Box) Percentage", "Unit Session Percentage"})


def unpacked(content: bytes) -> bytes:
    """A report document as downloaded: gunzipped when it is gzip, whatever
    ``compressionAlgorithm`` said (Amazon's flag has been wrong both ways)."""
    return gzip.decompress(content) if content.startswith(GZIP_MAGIC) else content


def _cell(row: Mapping[str, Any], section: str | None, field: str, column: str) -> str:
    source = row.get(section) if section else row
    value = source.get(field) if isinstance(source, Mapping) else None
    if isinstance(value, Mapping):  # Amount {amount, currencyCode}
        value = value.get("amount")
    if value is None:
        return ""
    return f"{value}%" if column in PERCENT_COLUMNS else str(value)


def sales_traffic_as_business_report(content: bytes, name: str) -> tuple[dt.date, bytes, int]:
    """(the report's first day, the Business Report CSV of its ASIN rows, row count)."""
    try:
        document = json.loads(unpacked(content))
    except ValueError as exc:
        raise MappingError(f"{name}: not a JSON Sales and Traffic report ({exc})") from None
    spec = document.get("reportSpecification") if isinstance(document, Mapping) else None
    rows = document.get("salesAndTrafficByAsin") if isinstance(document, Mapping) else None
    start = spec.get("dataStartTime") if isinstance(spec, Mapping) else None
    if not isinstance(rows, list) or not isinstance(start, str):
        raise MappingError(
            f"{name}: expected reportSpecification.dataStartTime and a salesAndTrafficByAsin "
            "array (GET_SALES_AND_TRAFFIC_REPORT) / 不是销售与流量报告"
        )
    try:
        day = dt.date.fromisoformat(start[:10])
    except ValueError:
        raise MappingError(
            f"{name}: reportSpecification.dataStartTime {start!r} is not a date"
        ) from None
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([column for column, _, _ in BUSINESS_REPORT_COLUMNS])
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise MappingError(f"{name}: salesAndTrafficByAsin[{index}] is not an object")
        writer.writerow(
            [_cell(row, section, key, column) for column, section, key in BUSINESS_REPORT_COLUMNS]
        )
    return day, out.getvalue().encode(), len(rows)
