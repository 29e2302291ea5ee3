"""Lazada finance, reverse-order and product responses → facts (platform-formats.md §6.3).

No file importer maps these calls (Seller Center exports them in other layouts), so the
Lazada connector maps them here, with the shared JSON walking of ``marketplace.py``; the
fields are those of Lazada's API reference (QueryTransactionDetails,
GetReverseOrdersForSeller, GetProducts).

**Transactions** (``/finance/transaction/details/get``: ``data[]``). Each row is one
posting on the seller's account, signed as Lazada books it (a charge is negative). It is
classified by ``fee_type``, the id of Lazada's fee-type enum (by ``fee_name`` when a row
has no id):

* item price and Lazada's subsidies on it (``Item Price Credit`` ...) are sales, already
  read from the orders; seller-funded vouchers are the orders' ``promotion_discount``;
  sponsored-product (advertising) charges are ad spend: none of these is a fee;
* ``Reversal Item Price`` → ``refunds``, keyed ``<order>:<order item>`` like the refund
  of the same item from the reverse-order API, so the two merge into one refund;
* every other row → ``fees``, keyed by ``transaction_number`` (Lazada: "unique ID of the
  transaction"), amount stored as charged (Lazada's sign flipped: a credit, such as
  ``Reversal Commission``, is a negative fee and nets out its charge). Known fees get a
  canonical ``fee_type`` (``commission``, ``payment_fee``, ``shipping`` — the buyer's
  shipping credit and the carrier's charge net to the seller's shipping difference —
  ``promotion``, ``fulfilment``, ``penalty``); others keep their Lazada name in snake
  case (``FBL Storage Fee`` → ``fbl_storage_fee``). An unknown id whose
  ``transaction_type`` names a sales category (``Orders-Sales``, ``Refunds-Sales``) is
  taken as a sale.

``transaction_date`` is a calendar day in the venture's time (``17 May 2016``): posted at
its local midnight, in UTC. Amounts are in the store's currency (the call names none).

**Reverse orders** (``/reverse/getreverseordersforseller``: ``result.items[]`` with
``reverse_order_lines[]``, one line per unit, as Lazada's order items are):

* ``returns``: lines of ``RETURN`` requests (goods sent back) that were not cancelled or
  rejected, keyed by ``reverse_order_line_id``, quantity 1, dated when the line was
  created, disposition = the warehouse's QC decision, else the fulfilment status;
* ``refunds``: lines of ``RETURN`` and ``ONLY_REFUND`` requests in ``REFUND_SUCCESS``;
  ``refund_amount`` is in cents (whole units on the Vietnamese venture), dated by the
  line's last change. Cancellations (``CANCEL``) are the orders' own status, not refunds.

**Products** (``/products/get``: ``data.products[]`` with ``skus[]``) → one ``listings``
row per seller SKU on the snapshot date (``mapping.snapshot_date``): active when both
the SKU and its product are active and the SKU has sellable stock (``Available``, else
``quantity``: an active offer out of stock is inactive, as in Amazon's listings report);
suppressed when the product is suspended or rejected or the SKU is listed in
``suspendedSkus``; deleted SKUs are left out; otherwise inactive. ``price`` is the
regular price (``special_price`` and its dates are not applied). The stock itself has no
column in ``listings`` and is not stored.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Final

from lianxing.domain.facts import ListingStatus
from lianxing.ingest.api.mapping import snapshot_date
from lianxing.ingest.files.marketplace import (
    ApiPayloadFormat,
    FactRows,
    Node,
    OrderCounter,
    envelope_error,
    positive,
)

SALE: Final = "sale"
REFUND: Final = "refund"
AD_SPEND: Final = "ad_spend"
VOUCHER: Final = "voucher"

# Lazada's fee-type enum (id, fee_name as documented) → what the row is: a fee_type, or
# one of the kinds above that are not fees. Ids not listed are fees named by fee_name.
TRANSACTION_KINDS: Final[dict[str, tuple[str, str]]] = {
    "13": ("Item Price Credit", SALE),
    "59": ("Item Price Subsidy", SALE),
    "501": ("Item Price", SALE),
    "502": ("Lazada Subsidy on Item Price", SALE),
    "504": ("Reversal Lazada Subsidy on Item Price", SALE),
    "62": ("Adjustments Item Charge", SALE),
    "212": ("Presale Deposit", SALE),
    "213": ("Reversal Presale Deposit", SALE),
    "14": ("Reversal Item Price", REFUND),
    "505": ("Reversal Item Price", REFUND),
    "118": ("Promotional Charges Vouchers", VOUCHER),
    "121": ("Reversal Promotional Charges Vouchers", VOUCHER),
    "202": ("Seller Funded Marketing Voucher", VOUCHER),
    "203": ("Reversal Seller Funded Marketing Voucher", VOUCHER),
    "112": ("Sponsored Product Fee", AD_SPEND),
    "16": ("Commission", "commission"),
    "15": ("Reversal Commission", "commission"),
    "65": ("Commission Rebate", "commission"),
    "66": ("Commission fee refund - correction for overcharge", "commission"),
    "123": ("Commission fee - correction for undercharge", "commission"),
    "3": ("Payment Fee", "payment_fee"),
    "4": ("Payment Fee Credit", "payment_fee"),
    "67": ("Payment fee refund - correction for overcharge", "payment_fee"),
    "84": ("Payment fee - correction for undercharge", "payment_fee"),
    "7": ("Shipping Fee Paid by Seller", "shipping"),
    "8": ("Shipping Fee (Paid By Customer)", "shipping"),
    "21": ("Shipping Fee (Charged By 3P)", "shipping"),
    "28": ("Shipping Cost", "shipping"),
    "49": ("Shipping Fee (Order Level)", "shipping"),
    "124": ("Shipping fee - correction for undercharge", "shipping"),
    "141": ("Shipping fee refund - correction for overcharge", "shipping"),
    "142": ("Reversal shipping Fee (Paid by Customer)", "shipping"),
    "143": ("Reversal Shipping Fee Paid by Seller", "shipping"),
    "500": ("Shipping Fee Subsidy by Lazada", "shipping"),
    "503": ("Reversal Shipping Fee Subsidy by Lazada", "shipping"),
    "117": ("Promotional Charges Bundles", "promotion"),
    "119": ("Promotional Charge General", "promotion"),
    "120": ("Reversal Promotional Charges Bundles", "promotion"),
    "122": ("Reversal Promotional Charges General", "promotion"),
    "209": ("Promotional Charges Flexi-Combo", "promotion"),
    "210": ("Reversal Promotional Charges Flexi-Combo", "promotion"),
    "22": ("Fulfillment by Lazada Handling Fee - Automatic", "fulfilment"),
    "130": ("FBL Handling Fee", "fulfilment"),
    "54": ("Penalty", "penalty"),
    "55": ("Penalty Credit", "penalty"),
    "80": ("Penalty Charges", "penalty"),
}
KIND_BY_NAME: Final[dict[str, str]] = {
    name.lower(): kind for name, kind in TRANSACTION_KINDS.values()
}
NOT_FEES: Final = frozenset({SALE, REFUND, AD_SPEND, VOUCHER})

RETURN_REQUEST: Final = "RETURN"
REFUND_REQUESTS: Final = frozenset({"RETURN", "ONLY_REFUND"})
REFUNDED: Final = "REFUND_SUCCESS"
# The buyer withdrew the request or the seller's refusal stood: nothing comes back.
WITHDRAWN: Final = frozenset({"REQUEST_CANCEL", "REQUEST_REJECT", "CANCEL_SUCCESS"})
WITHDRAWN_FULFILMENT: Final = frozenset({"RETURN_CANCELED", "RETURN_CANCELLED"})

SUPPRESSED_PRODUCTS: Final = frozenset({"suspended", "rejected", "deleted"})


def fee_kind(code: str | None, name: str | None, category: str | None) -> str:
    """What a transaction row is: a fee_type, or one of SALE/REFUND/AD_SPEND/VOUCHER."""
    if code and code in TRANSACTION_KINDS:
        return TRANSACTION_KINDS[code][1]
    label = (name or "").strip()
    if label.lower() in KIND_BY_NAME:
        return KIND_BY_NAME[label.lower()]
    if label.lower().startswith("sponsored"):
        return AD_SPEND
    # transaction_type is the category ("Orders-Sales", "Refunds-Lazada Fees"): an
    # unknown sales row is revenue or its reversal, never a fee.
    if category and category.strip().lower().endswith("-sales"):
        return SALE
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_") or "other"


def cents(amount: Decimal | None, site: str | None) -> Decimal | None:
    """Reverse-order amounts are in cents, except on the Vietnamese venture."""
    if amount is None:
        return None
    return amount if (site or "").upper() == "VN" else (amount / 100).quantize(Decimal("0.0001"))


class _LazadaPayloads(ApiPayloadFormat):
    platform = "lazada"
    envelope_keys = frozenset({"code", "request_id"})

    def _ok(self, node: Node) -> bool:
        return not envelope_error(node, error_keys=("code",), ok=("0", 0))

    def _body(self, node: Node, key: str) -> Node | None:
        """The ``key`` object of a successful response (None, and a problem, otherwise)."""
        if not self._ok(node):
            return None
        body = node.child(key)
        if body is None:
            node.problem(key, None, f"a '{key}' object ({self.name_en})")
        return body


class LazadaTransactions(_LazadaPayloads):
    id = "lazada.api_transactions"
    name_zh = "Lazada 财务交易明细 (QueryTransactionDetails)"
    name_en = "Lazada finance transaction details (QueryTransactionDetails)"
    tables = ("fees", "refunds")

    def read_payload(self, node: Node, facts: FactRows, counter: OrderCounter) -> None:
        if self._ok(node):
            for row in node.children("data"):
                self._read_row(row.at(counter.next()), facts)

    def _read_row(self, row: Node, facts: FactRows) -> None:
        number = row.text("transaction_number", required=True)
        posted = row.instant("transaction_date", required=True)
        amount = row.money("amount", required=True)
        if number is None or posted is None or amount is None:
            return
        kind = fee_kind(
            row.text("fee_type"),
            row.text("fee_name") or row.text("transaction_type"),
            row.text("transaction_type"),
        )
        order_id = row.text("order_no")
        sku = row.text("seller_sku")
        if kind == REFUND:
            item = row.text("orderItem_no") or row.text("reference")
            facts.add(
                "refunds",
                refund_id=f"{order_id}:{item}" if order_id and item else number,
                order_id=order_id,
                sku=sku,
                refund_ts=posted,
                amount=positive(amount),
                currency=row.ctx.currency,
                reason=row.text("details"),
            )
        elif kind not in NOT_FEES:
            facts.add(
                "fees",
                fee_id=number,
                posted_ts=posted,
                order_id=order_id,
                sku=sku,
                fee_type=kind,
                amount=-amount,
                currency=row.ctx.currency,
            )


class LazadaReverseOrders(_LazadaPayloads):
    id = "lazada.api_reverse_orders"
    name_zh = "Lazada 逆向订单 (GetReverseOrdersForSeller)"
    name_en = "Lazada reverse orders (GetReverseOrdersForSeller)"
    tables = ("returns", "refunds")

    def read_payload(self, node: Node, facts: FactRows, counter: OrderCounter) -> None:
        result = self._body(node, "result")
        for entry in result.children("items") if result else ():
            reverse = entry.at(counter.next())
            order_id = reverse.text("trade_order_id", required=True)
            request = (reverse.text("request_type", required=True) or "").upper()
            if order_id is None:
                continue
            for line in reverse.children("reverse_order_lines"):
                self._read_line(line, order_id, request, facts)

    def _read_line(self, line: Node, order_id: str, request: str, facts: FactRows) -> None:
        line_id = line.text("reverse_order_line_id", required=True)
        item = line.text("trade_order_line_id", required=True)
        created = line.instant("return_order_line_gmt_create", required=True)
        status = (line.text("reverse_status") or "").upper()
        if line_id is None or item is None or created is None:
            return
        sku = line.text("seller_sku_id")
        reason = line.text("reason_text")
        fulfilment = (line.text("ofc_status") or "").upper()
        if (
            request == RETURN_REQUEST
            and status not in WITHDRAWN
            and fulfilment not in WITHDRAWN_FULFILMENT
        ):
            facts.add(
                "returns",
                return_id=line_id,
                order_id=order_id,
                sku=sku,
                return_ts=created,
                quantity=1,
                reason=reason,
                disposition=(line.text("whqc_decision") or fulfilment.lower() or None),
            )
        wanted = str(line.raw("is_need_refund")).lower() != "false"
        if request in REFUND_REQUESTS and status == REFUNDED and wanted:
            amount = cents(line.money("refund_amount", required=True), line.ctx.site)
            if amount is None:
                return
            facts.add(
                "refunds",
                refund_id=f"{order_id}:{item}",
                order_id=order_id,
                sku=sku,
                refund_ts=line.instant("return_order_line_gmt_modified") or created,
                amount=positive(amount),
                currency=line.ctx.currency,
                reason=reason,
            )


class LazadaProducts(_LazadaPayloads):
    id = "lazada.api_products"
    name_zh = "Lazada 商品列表 (GetProducts)"
    name_en = "Lazada products (GetProducts)"
    tables = ("listings",)

    def read_payload(self, node: Node, facts: FactRows, counter: OrderCounter) -> None:
        data = self._body(node, "data")
        for product in data.children("products") if data else ():
            self._read_product(product.at(counter.next()), facts)

    def _read_product(self, product: Node, facts: FactRows) -> None:
        snapshot = snapshot_date(product.ctx)
        product_status = (product.text("status") or "").lower()
        attributes = product.child("attributes")
        title = attributes.text("name") if attributes else None
        suspended = {
            s.text("SellerSku") or s.text("seller_sku") for s in product.children("suspendedSkus")
        }
        for sku_node in product.children("skus"):
            sku = sku_node.text("SellerSku", required=True)
            sku_status = (sku_node.text("Status") or "").lower()
            if sku is None or sku_status == "deleted" or product_status == "deleted":
                continue
            stock = sku_node.integer("Available", "quantity")
            if product_status in SUPPRESSED_PRODUCTS or sku in suspended:
                status = ListingStatus.SUPPRESSED
            elif (
                sku_status == "active"
                and product_status in ("active", "")
                and (stock is None or stock > 0)
            ):
                status = ListingStatus.ACTIVE
            else:
                status = ListingStatus.INACTIVE
            facts.add(
                "listings",
                sku=sku,
                snapshot_date=snapshot,
                platform_item_id=sku_node.text("ShopSku"),
                title=title,
                status=status.value,
                created_ts=product.instant("created_time"),
                price=sku_node.money("price"),
                currency=product.ctx.currency,
            )


TRANSACTIONS = LazadaTransactions()
REVERSE_ORDERS = LazadaReverseOrders()
PRODUCTS = LazadaProducts()
