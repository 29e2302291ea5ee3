"""Amazon Selling Partner API (platform-formats.md §1): orders, settlements, reports.

Auth is Login with Amazon (LWA): the seller consents in Seller Central, the callback
brings ``spapi_oauth_code`` and ``selling_partner_id``; the code is exchanged at
``/auth/o2/token`` for a refresh token, which buys one-hour access tokens sent as
``x-amz-access-token`` (no SigV4 since 2023). An expired or invalid token is answered
with 403 ``Unauthorized``; the connector refreshes once and retries.

Streams:

* ``orders``: ``getOrders`` by ``LastUpdatedAfter/Before`` (paged by ``NextToken``) and
  ``getOrderItems`` for each order, mapped by ``SpApiOrders`` below onto exactly the facts
  the All Orders report gives (same keys: order id, and ``OrderItemId`` = the report's
  ``order-item-id``; same money rules). The API also knows ``LatestShipDate``, stored as
  ``promised_ship_by_ts``, which the report lacks.
* ``settlements``: settlement reports (``GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2``,
  listed with ``getReports``: they cannot be requested) → refunds and fees, through the
  settlement importer.
* ``returns``, ``listings``, ``account_health``: requested reports (create → poll →
  document → download, gzip) through the FBA returns, listings and account health
  importers.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any, ClassVar, cast

import httpx

from lianxing.domain.facts import OrderStatus
from lianxing.ingest.api.base import (
    Page,
    StreamSpec,
    TokenSet,
    Window,
)
from lianxing.ingest.api.http import ApiError, Limit, RequestSpec
from lianxing.ingest.api.lwa import LoginWithAmazon
from lianxing.ingest.api.mapping import map_document, map_payloads
from lianxing.ingest.files.amazon.common import FULFILLMENT_CHANNEL, ORDER_STATUS
from lianxing.ingest.files.base import ImportContext
from lianxing.ingest.files.marketplace import ApiPayloadFormat, FactRows, Node, OrderCounter

REPORTS = "/reports/2021-06-30"
SETTLEMENT_REPORT = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
# stream → (report type, importer format id)
REQUESTED_REPORTS: dict[str, tuple[str, str]] = {
    "returns": ("GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA", "amazon.fba_returns"),
    "listings": ("GET_MERCHANT_LISTINGS_ALL_DATA", "amazon.listings"),
    "account_health": ("GET_V2_SELLER_PERFORMANCE_REPORT", "amazon.account_health"),
}


def iso(moment: dt.datetime) -> str:
    return moment.replace(microsecond=0).isoformat() + "Z"


class SpApiOrders(ApiPayloadFormat):
    """``getOrders`` + ``getOrderItems`` responses → orders, order_lines (as All Orders)."""

    id = "amazon.sp_api_orders"
    name_zh = "亚马逊 SP-API 订单数据 (getOrders/getOrderItems)"
    name_en = "Amazon SP-API orders (getOrders, getOrderItems responses)"
    platform = "amazon"
    tables = ("orders", "order_lines")
    envelope_keys = frozenset({"payload"})

    def begin(self, facts: FactRows) -> None:
        self._currency: dict[str, str] = {}

    def read_payload(self, node: Node, facts: FactRows, counter: OrderCounter) -> None:
        if node.has("errors"):
            node.problem("errors", node.raw("errors"), "a successful SP-API response")
            return
        payload = node.child("payload")
        if payload is None:
            node.problem("payload", None, "an SP-API 'payload' object")
        elif payload.has("Orders"):
            for order in payload.children("Orders"):
                self._order(order.at(counter.next()), facts)
        elif payload.has("OrderItems"):
            order_id = payload.text("AmazonOrderId", required=True)
            for item in payload.children("OrderItems"):
                if order_id is not None:
                    self._item(item, order_id, facts)
        else:
            node.problem("payload", ", ".join(payload.data), "getOrders or getOrderItems payload")

    def _order(self, order: Node, facts: FactRows) -> None:
        statuses = cast(Mapping[str, OrderStatus], ORDER_STATUS)
        order_id = order.text("AmazonOrderId", required=True)
        purchased = order.instant("PurchaseDate", required=True)
        status = order.status(statuses, "OrderStatus")
        if order_id is None or purchased is None or status is None:
            return
        total = order.child("OrderTotal")
        currency = ((total.text("CurrencyCode") if total else None) or order.ctx.currency).upper()
        self._currency[order_id] = currency
        channel = order.text("FulfillmentChannel")
        address = order.child("ShippingAddress")
        buyer = order.child("BuyerInfo")
        country = address.text("CountryCode") if address else None
        facts.add(
            "orders",
            order_id=order_id,
            purchase_ts=purchased,
            status=status,
            fulfillment_channel=FULFILLMENT_CHANNEL.get(channel.lower()) if channel else None,
            currency=currency,
            is_business=order.raw("IsBusinessOrder"),
            buyer_ref=buyer.text("BuyerEmail") if buyer else None,
            ship_country=country.upper() if country else None,
            ship_postal_code=address.text("PostalCode") if address else None,
            promised_ship_by_ts=order.instant("LatestShipDate"),
        )

    def _item(self, item: Node, order_id: str, facts: FactRows) -> None:
        line_id = item.text("OrderItemId", required=True)
        sku = item.text("SellerSKU", required=True)
        quantity = item.integer("QuantityOrdered", required=True)
        if line_id is None or sku is None or quantity is None:
            return
        price = item.child("ItemPrice")
        currency = (price.text("CurrencyCode") if price else None) or self._currency.get(
            order_id, item.ctx.currency
        )
        item_promotion = item.money("PromotionDiscount")
        ship_promotion = item.money("ShippingDiscount")
        promotion = (
            None
            if item_promotion is None and ship_promotion is None
            else abs(item_promotion or Decimal(0)) + abs(ship_promotion or Decimal(0))
        )
        facts.add(
            "order_lines",
            order_id=order_id,
            line_id=line_id,
            sku=sku,
            platform_item_id=item.text("ASIN"),
            quantity=quantity,
            item_price=item.money("ItemPrice"),
            item_tax=item.money("ItemTax"),
            shipping_price=item.money("ShippingPrice"),
            shipping_tax=item.money("ShippingTax"),
            promotion_discount=promotion,
            currency=currency.upper(),
        )


SP_API_ORDERS = SpApiOrders()


class AmazonSellingPartner(LoginWithAmazon):
    id = "amazon_sp"
    platform = "amazon"
    name_zh = "亚马逊 SP-API"
    name_en = "Amazon Selling Partner API"
    default_api_base = "https://sellingpartnerapi-na.amazon.com"
    default_auth_base = "https://api.amazon.com"
    consent_base: ClassVar[str] = "https://sellercentral.amazon.com"
    streams = (
        StreamSpec("orders", ("orders", "order_lines")),
        StreamSpec(
            "settlements",
            ("refunds", "fees"),
            overlap=dt.timedelta(days=3),
            lookback=dt.timedelta(days=90),
        ),
        StreamSpec("returns", ("returns",), overlap=dt.timedelta(days=2)),
        StreamSpec("listings", ("listings",), overlap=dt.timedelta(0)),
        StreamSpec("account_health", ("account_health",), overlap=dt.timedelta(0)),
    )
    limits: ClassVar[Mapping[str, Limit]] = {
        "getOrders": Limit(0.0167, 20),
        "getOrderItems": Limit(0.5, 30),
        "createReport": Limit(0.0167, 15),
        "getReports": Limit(0.0222, 10),
        "getReport": Limit(2.0, 15),
        "getReportDocument": Limit(0.0167, 15),
        "getMarketplaceParticipations": Limit(0.016, 15),
        "*": Limit(0.5, 10),
    }
    poll_interval: float = 30.0  # seconds between getReport polls

    # -- authorisation (LWA) -----------------------------------------------------------
    def authorisation_url(self, *, redirect_uri: str, state: str) -> str:
        query = urllib.parse.urlencode(
            {
                "application_id": self.credentials.account.get(
                    "application_id", self.credentials.app_key
                ),
                "state": state,
                "redirect_uri": redirect_uri,
            }
        )
        return f"{self.consent_base}/apps/authorize/consent?{query}"

    def exchange_code(self, code: str, *, redirect_uri: str, params: Mapping[str, str]) -> TokenSet:
        tokens = self._lwa_code(code, redirect_uri)
        if params.get("selling_partner_id"):
            tokens.account["seller_id"] = params["selling_partner_id"]
        return tokens

    def check_credentials(self) -> dict[str, Any]:
        data = self.call(
            "getMarketplaceParticipations",
            RequestSpec("GET", "/sellers/v1/marketplaceParticipations"),
        )
        return {
            "marketplaces": [p.get("marketplace", {}).get("id") for p in data.get("payload", [])]
        }

    # -- signing -----------------------------------------------------------------------
    def sign(self, spec: RequestSpec) -> RequestSpec:
        assert self.credentials.access_token is not None
        headers = {**spec.headers, "x-amz-access-token": self.credentials.access_token}
        return RequestSpec(spec.method, spec.path, spec.params, headers, spec.content)

    def token_rejected(self, response: httpx.Response) -> bool:
        if response.status_code not in (401, 403):
            return False
        try:
            errors = response.json().get("errors", [])
        except ValueError:
            return False
        return any(
            e.get("code") in ("Unauthorized", "InvalidInput")
            and "token" in (str(e.get("details", "")) + str(e.get("message", ""))).lower()
            for e in errors
        )

    def check_response(self, response: httpx.Response, operation: str) -> Any:
        data = super().check_response(response, operation)
        if isinstance(data, dict) and data.get("errors"):
            raise ApiError(f"amazon_sp {operation}: {json.dumps(data['errors'])[:300]}")
        return data

    # -- reading ----------------------------------------------------------------------
    @property
    def marketplace_id(self) -> str:
        found = self.credentials.account.get("marketplace_id")
        if not found:
            raise ApiError("amazon_sp: the store has no marketplace id / 店铺缺少 MarketplaceId")
        return str(found)

    def read_stream(
        self,
        stream: str,
        window: Window,
        position: Mapping[str, Any] | None,
        ctx: ImportContext,
    ) -> Iterator[Page]:
        if stream == "orders":
            yield from self._orders(window, position, ctx)
        elif stream == "settlements":
            yield from self._settlements(window, position, ctx)
        else:
            report_type, format_id = REQUESTED_REPORTS[self.stream(stream).name]
            yield from self._requested_report(report_type, format_id, window, position, ctx)

    def _orders(
        self, window: Window, position: Mapping[str, Any] | None, ctx: ImportContext
    ) -> Iterator[Page]:
        token = position.get("next_token") if position else None
        while True:
            params: dict[str, str] = {"MarketplaceIds": self.marketplace_id}
            if token:
                params["NextToken"] = token
            else:
                params |= {
                    "LastUpdatedAfter": iso(window.start),
                    "LastUpdatedBefore": iso(window.end),
                    "MaxResultsPerPage": "100",
                }
            page = self.call("getOrders", RequestSpec("GET", "/orders/v0/orders", params))
            orders = page.get("payload", {}).get("Orders", [])
            payloads: list[Any] = [page]
            for order in orders:
                payloads.extend(self._order_items(order["AmazonOrderId"]))
            chunks, _ = map_payloads(SP_API_ORDERS, payloads, "getOrders", ctx)
            token = page.get("payload", {}).get("NextToken")
            yield Page(chunks, {"next_token": token} if token else None, len(orders))
            if not token:
                return

    def _order_items(self, order_id: str) -> list[Any]:
        found: list[Any] = []
        token: str | None = None
        while True:
            params = {"NextToken": token} if token else {}
            path = f"/orders/v0/orders/{urllib.parse.quote(order_id)}/orderItems"
            data = self.call("getOrderItems", RequestSpec("GET", path, params))
            found.append(data)
            token = data.get("payload", {}).get("NextToken")
            if not token:
                return found

    def _document(self, document_id: str) -> bytes:
        doc = self.call(
            "getReportDocument", RequestSpec("GET", f"{REPORTS}/documents/{document_id}")
        )
        return self.http.get_bytes(doc["url"])

    def _settlements(
        self, window: Window, position: Mapping[str, Any] | None, ctx: ImportContext
    ) -> Iterator[Page]:
        done = int(position.get("reports_done", 0)) if position else 0
        reports: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            params = (
                {"nextToken": token}
                if token
                else {
                    "reportTypes": SETTLEMENT_REPORT,
                    "processingStatuses": "DONE",
                    "createdSince": iso(window.start),
                    "createdUntil": iso(window.end),
                    "pageSize": "100",
                }
            )
            data = self.call("getReports", RequestSpec("GET", f"{REPORTS}/reports", params))
            reports.extend(data.get("reports", []))
            token = data.get("nextToken")
            if not token:
                break
        reports.sort(key=lambda r: (str(r.get("createdTime")), str(r.get("reportId"))))
        if done >= len(reports):
            yield Page([], None)
            return
        for index in range(done, len(reports)):
            report = reports[index]
            content = self._document(str(report["reportDocumentId"]))
            chunks, rows = map_document(
                "amazon.settlement_v2", content, f"settlement-{report['reportId']}.txt", ctx
            )
            last = index == len(reports) - 1
            yield Page(chunks, None if last else {"reports_done": index + 1}, rows)

    def _requested_report(
        self,
        report_type: str,
        format_id: str,
        window: Window,
        position: Mapping[str, Any] | None,
        ctx: ImportContext,
    ) -> Iterator[Page]:
        report_id = position.get("report_id") if position else None
        if report_id is None:
            body = {
                "reportType": report_type,
                "marketplaceIds": [self.marketplace_id],
                "dataStartTime": iso(window.start),
                "dataEndTime": iso(window.end),
            }
            created = self.call(
                "createReport",
                RequestSpec(
                    "POST",
                    f"{REPORTS}/reports",
                    headers={"content-type": "application/json"},
                    content=json.dumps(body).encode(),
                ),
            )
            report_id = str(created["reportId"])
            # Saved before polling: a resumed run polls this report instead of ordering another.
            yield Page([], {"report_id": report_id})
        while True:
            report = self.call("getReport", RequestSpec("GET", f"{REPORTS}/reports/{report_id}"))
            status = report.get("processingStatus")
            if status == "DONE":
                break
            if status == "CANCELLED":  # Amazon's answer when there is no data
                yield Page([], None)
                return
            if status == "FATAL":
                raise ApiError(f"amazon_sp: report {report_id} ({report_type}) failed (FATAL)")
            time.sleep(self.poll_interval)
        content = self._document(str(report["reportDocumentId"]))
        chunks, rows = map_document(format_id, content, f"{report_type}-{report_id}", ctx)
        yield Page(chunks, None, rows)


CONNECTOR = AmazonSellingPartner
