"""Amazon Selling Partner API (platform-formats.md §1): orders, money, traffic, reports.

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
  settlement importer: the same facts, same keys, as an uploaded settlement file.
* ``finances``: Finances API v0 ``listFinancialEvents`` (shipment, refund and service fee
  events) → refunds and fees by the settlement importer's rules (``amazon_sp_formats``),
  within about two days instead of at the close of each ~14-day settlement.
  ``settlements`` and ``finances`` are the same money under different keys (a financial
  event carries no settlement id or report line): a connection reads one of them, chosen
  by the account setting ``money_stream`` (default ``settlements``); the other is left out
  of ``list_streams`` and, if asked for by name, reads nothing.
* ``returns``, ``listings``, ``account_health``: requested reports (create → poll →
  document → download, gzip or not) through the FBA returns, listings and account health
  importers; a listings snapshot is dated the store's local day when it is requested
  (``mapping.snapshot_context``).
* ``sales_traffic``: ``GET_SALES_AND_TRAFFIC_REPORT`` (JSON), one report per
  marketplace-local day, its ASIN rows through the Business Report importer →
  ``traffic_daily`` (sessions, page views per SKU and day).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any, ClassVar, cast

import httpx

from lianxing.domain.facts import OrderStatus
from lianxing.domain.periods import local_midnight_utc
from lianxing.ingest.api.amazon_sp_formats import (
    SP_API_FINANCES,
    sales_traffic_as_business_report,
)
from lianxing.ingest.api.base import (
    Page,
    StreamSpec,
    TokenSet,
    Window,
)
from lianxing.ingest.api.http import ApiError, Limit, RequestSpec
from lianxing.ingest.api.lwa import LoginWithAmazon
from lianxing.ingest.api.mapping import (
    map_document,
    map_payloads,
    snapshot_context,
    window_days,
)
from lianxing.ingest.files.amazon.common import FULFILLMENT_CHANNEL, ORDER_STATUS
from lianxing.ingest.files.base import FactChunk, ImportContext
from lianxing.ingest.files.marketplace import ApiPayloadFormat, FactRows, Node, OrderCounter

REPORTS = "/reports/2021-06-30"
SETTLEMENT_REPORT = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
SALES_TRAFFIC_REPORT = "GET_SALES_AND_TRAFFIC_REPORT"
# Two records of the same refunds and fees: a connection reads exactly one (money_stream).
MONEY_STREAMS = ("settlements", "finances")
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
        # Events reach listFinancialEvents up to 48 hours late, deferred ones only when
        # released (about a week after delivery): re-read ten days.
        StreamSpec(
            "finances",
            ("refunds", "fees"),
            overlap=dt.timedelta(days=10),
            lookback=dt.timedelta(days=90),
        ),
        StreamSpec("returns", ("returns",), overlap=dt.timedelta(days=2)),
        StreamSpec("listings", ("listings",), overlap=dt.timedelta(0)),
        StreamSpec("account_health", ("account_health",), overlap=dt.timedelta(0)),
        # Yesterday's and the day before's traffic are still being completed: re-read them.
        StreamSpec("sales_traffic", ("traffic_daily",), overlap=dt.timedelta(days=3)),
    )
    limits: ClassVar[Mapping[str, Limit]] = {
        "getOrders": Limit(0.0167, 20),
        "getOrderItems": Limit(0.5, 30),
        "createReport": Limit(0.0167, 15),
        "getReports": Limit(0.0222, 10),
        "getReport": Limit(2.0, 15),
        "getReportDocument": Limit(0.0167, 15),
        "listFinancialEvents": Limit(0.5, 30),
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

    def money_stream(self) -> str:
        """Which of ``settlements`` / ``finances`` this connection reads (account setting
        ``money_stream``, default ``settlements``): both carry the same refunds and fees
        under different keys, so reading both would count that money twice."""
        chosen = str(self.credentials.account.get("money_stream") or "settlements")
        if chosen not in MONEY_STREAMS:
            raise ApiError(
                f"amazon_sp: money_stream={chosen!r}; choose one of {', '.join(MONEY_STREAMS)} "
                "(--account money_stream=...) / money_stream 只能是 settlements 或 finances 之一"
            )
        return chosen

    def list_streams(self) -> tuple[StreamSpec, ...]:
        """The streams this connection reads: the money stream not chosen is left out."""
        other = set(MONEY_STREAMS) - {self.money_stream()}
        return tuple(s for s in self.streams if s.name not in other)

    def read_stream(
        self,
        stream: str,
        window: Window,
        position: Mapping[str, Any] | None,
        ctx: ImportContext,
    ) -> Iterator[Page]:
        name = self.stream(stream).name
        if name in MONEY_STREAMS and name != self.money_stream():
            # Refused, not read: the other money stream is this store's record of the same
            # refunds and fees (see money_stream). No request is made, nothing is written.
            return
        if name == "orders":
            yield from self._orders(window, position, ctx)
        elif name == "settlements":
            yield from self._settlements(window, position, ctx)
        elif name == "finances":
            yield from self._finances(window, position, ctx)
        elif name == "sales_traffic":
            yield from self._sales_traffic(window, position, ctx)
        else:
            report_type, format_id = REQUESTED_REPORTS[name]
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

    def _finances(
        self, window: Window, position: Mapping[str, Any] | None, ctx: ImportContext
    ) -> Iterator[Page]:
        """``listFinancialEvents`` one marketplace-local day at a time (whole days, so a
        service fee, which has no PostedDate, is always dated and keyed by the same day),
        every page of a day mapped together; the position is the next day."""
        days = local_days(window, ctx.timezone)
        resume = dt.date.fromisoformat(position["day"]) if position else days[0]
        for day in (d for d in days if d >= resume):
            start = local_midnight_utc(day, ctx.timezone)
            end = min(local_midnight_utc(day + dt.timedelta(days=1), ctx.timezone), window.end)
            payloads = self._financial_events(start, end)
            chunks, events = map_payloads(
                SP_API_FINANCES,
                payloads,
                f"listFinancialEvents-{day}",
                dataclasses.replace(ctx, period_from=day, period_to=day),
            )
            following = day + dt.timedelta(days=1)
            yield Page(
                chunks, {"day": following.isoformat()} if following <= days[-1] else None, events
            )

    def _financial_events(self, start: dt.datetime, end: dt.datetime) -> list[Any]:
        # A next page repeats the first call's arguments (the model: "include the same
        # arguments as the call that produced the token"); pages may be empty.
        query = {"PostedAfter": iso(start), "PostedBefore": iso(end), "MaxResultsPerPage": "100"}
        found: list[Any] = []
        token: str | None = None
        while True:
            params = {**query, "NextToken": token} if token else query
            data = self.call(
                "listFinancialEvents", RequestSpec("GET", "/finances/v0/financialEvents", params)
            )
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

    def _create_report(
        self,
        report_type: str,
        start: str,
        end: str,
        options: Mapping[str, str] | None = None,
    ) -> str:
        body: dict[str, Any] = {
            "reportType": report_type,
            "marketplaceIds": [self.marketplace_id],
            "dataStartTime": start,
            "dataEndTime": end,
        }
        if options:
            body["reportOptions"] = dict(options)
        created = self.call(
            "createReport",
            RequestSpec(
                "POST",
                f"{REPORTS}/reports",
                headers={"content-type": "application/json"},
                content=json.dumps(body).encode(),
            ),
        )
        return str(created["reportId"])

    def _report_content(self, report_id: str, report_type: str) -> bytes | None:
        """Poll until the report is done: its document (None when Amazon cancelled it,
        its answer when there is no data)."""
        while True:
            report = self.call("getReport", RequestSpec("GET", f"{REPORTS}/reports/{report_id}"))
            status = report.get("processingStatus")
            if status == "DONE":
                return self._document(str(report["reportDocumentId"]))
            if status == "CANCELLED":
                return None
            if status == "FATAL":
                raise ApiError(f"amazon_sp: report {report_id} ({report_type}) failed (FATAL)")
            time.sleep(self.poll_interval)

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
            report_id = self._create_report(report_type, iso(window.start), iso(window.end))
            # Saved before polling: a resumed run polls this report instead of ordering another.
            yield Page([], {"report_id": report_id})
        content = self._report_content(report_id, report_type)
        if content is None:
            yield Page([], None)
            return
        if format_id == "amazon.listings":  # a snapshot, dated the store's local day
            ctx = snapshot_context(ctx, window)
        chunks, rows = map_document(format_id, content, f"{report_type}-{report_id}", ctx)
        yield Page(chunks, None, rows)

    def _sales_traffic(
        self, window: Window, position: Mapping[str, Any] | None, ctx: ImportContext
    ) -> Iterator[Page]:
        """One Sales and Traffic report per marketplace-local day (its ASIN rows are totals
        over the report's range, so a day per report is what gives daily traffic)."""
        days = local_days(window, ctx.timezone)
        resume = dt.date.fromisoformat(position["day"]) if position else days[0]
        report_id = position.get("report_id") if position else None
        for day in (d for d in days if d >= resume):
            if report_id is None:
                # The report reads the date only ("the time component is ignored").
                report_id = self._create_report(
                    SALES_TRAFFIC_REPORT,
                    f"{day}T00:00:00Z",
                    f"{day}T23:59:59Z",
                    {"dateGranularity": "DAY", "asinGranularity": "SKU"},
                )
                yield Page([], {"day": day.isoformat(), "report_id": report_id})
            content = self._report_content(report_id, SALES_TRAFFIC_REPORT)
            chunks: list[FactChunk] = []
            rows = 0
            if content is not None:
                name = f"{SALES_TRAFFIC_REPORT}-{report_id}"
                first, table, rows = sales_traffic_as_business_report(content, name)
                if rows:
                    chunks, rows = map_document(
                        "amazon.business_report",
                        table,
                        f"{name}.csv",
                        dataclasses.replace(ctx, period_from=first, period_to=first),
                    )
            following, report_id = day + dt.timedelta(days=1), None
            yield Page(
                chunks, {"day": following.isoformat()} if following <= days[-1] else None, rows
            )


def local_days(window: Window, timezone: str) -> list[dt.date]:
    """The days of ``timezone`` the window touches, first to last."""
    first, last = window_days(window, timezone)
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


CONNECTOR = AmazonSellingPartner
