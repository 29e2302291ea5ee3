"""Fake Amazon SP-API + LWA: orders, financial events, reports and their documents.

Data calls must carry a live ``x-amz-access-token`` (else 403 ``Unauthorized``, as Amazon
answers an expired token); LWA ``/auth/o2/token`` checks client id/secret and the refresh
token or authorisation code. Limits are the published ones (platform-formats.md §1.2)
times ``scale``; every data call goes through ``admit`` (429 when over the limit or
scripted by ``throttle_next``).

* ``getOrders``: filtered by ``LastUpdateDate``, paged with an opaque ``NextToken``.
* ``listFinancialEvents`` (``financesV0.json``): events whose posting time is in
  ``[PostedAfter, PostedBefore)``, ``page_size`` events a page over the event lists in
  order, an opaque ``NextToken`` that must come back with the same PostedAfter/Before
  (the model: "include the same arguments"); a window over 180 days answers empty, a
  ``PostedBefore`` less than two minutes ago 400. ``ServiceFeeEvent`` has no
  ``PostedDate`` in the model: the test data's ``_PostedDate`` is the fake's private
  posting time, used for filtering and stripped from the answer. ``empty_pages`` puts an
  empty page with a ``NextToken`` before each query's first (the model: "this operation
  can return empty pages").
* ``getReports``: settlement reports filtered by type and ``createdSince/Until``, paged by
  ``nextToken``, which must be the only parameter (else 400, as the model says).
* ``createReport`` → ``getReport`` (IN_PROGRESS once, then DONE; CANCELLED when there is
  no content for the type) → ``getReportDocument`` → ``/download/<id>``. Documents are
  compressed as ``DOCUMENT_COMPRESSION`` says, including the cases where Amazon's
  ``compressionAlgorithm`` does not match the bytes (see there).
* ``GET_SALES_AND_TRAFFIC_REPORT`` documents are built per request from ``sales_traffic``
  (day → ``salesAndTrafficByAsin`` rows) in the shape of
  ``schemas/reports/sellerSalesAndTrafficReport.json``; the fake serves one-day reports
  only and checks the report options.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fake_platforms import FakePlatform, Reply, Request, json_reply

PUBLISHED = {
    "getOrders": (0.0167, 20),
    "getOrderItems": (0.5, 30),
    "createReport": (0.0167, 15),
    "getReports": (0.0222, 10),
    "getReport": (2.0, 15),
    "getReportDocument": (0.0167, 15),
    "listFinancialEvents": (0.5, 30),
    "getMarketplaceParticipations": (0.016, 15),
}


def published_limits(scale: float) -> dict[str, tuple[float, int]]:
    return {op: (rate * scale, burst) for op, (rate, burst) in PUBLISHED.items()}


SALES_TRAFFIC = "GET_SALES_AND_TRAFFIC_REPORT"
SETTLEMENT_REPORT = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
FINANCIAL_EVENT_LISTS = (
    "ShipmentEventList",
    "RefundEventList",
    "GuaranteeClaimEventList",
    "ChargebackEventList",
    "ServiceFeeEventList",
)

# reportType → (gzip the bytes, compressionAlgorithm announced). The JSON reports come
# gzipped and say so; GET_MERCHANT_LISTINGS_ALL_DATA comes gzipped with no
# compressionAlgorithm (selling-partner-api-docs issues #2355, #2423); FBA returns is
# announced GZIP but sent plain (selling-partner-api-models #2618 reports both kinds of
# mismatch); settlement documents are plain text.
DOCUMENT_COMPRESSION: dict[str, tuple[bool, bool]] = {
    SALES_TRAFFIC: (True, True),
    "GET_V2_SELLER_PERFORMANCE_REPORT": (True, True),
    "GET_MERCHANT_LISTINGS_ALL_DATA": (True, False),
    "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA": (False, True),
    SETTLEMENT_REPORT: (False, False),
}


def _when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)


def _invalid(message: str) -> Reply:
    return json_reply(400, {"errors": [{"code": "InvalidInput", "message": message}]})


def _token(state: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(state).encode()).decode()


def _untoken(token: str) -> dict[str, Any]:
    return dict(json.loads(base64.b64decode(token)))


@dataclass
class FakeAmazonSP(FakePlatform):
    client_id: str = "amzn1.application-oa2-client.test"
    client_secret: str = "lwa-secret"
    page_size: int = 2
    orders: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # seller → orders
    documents: dict[str, bytes] = field(default_factory=dict)  # documentId → content
    compressed: dict[str, bool] = field(default_factory=dict)  # documentId → announced GZIP
    settlements: list[dict[str, Any]] = field(default_factory=list)  # getReports entries
    report_contents: dict[str, bytes] = field(default_factory=dict)  # reportType → content
    financial_events: dict[str, list[Any]] = field(default_factory=dict)  # list name → events
    sales_traffic: dict[str, list[Any]] = field(default_factory=dict)  # day → ByAsin rows
    empty_pages: bool = False
    created: list[dict[str, Any]] = field(default_factory=list)  # createReport bodies
    codes: dict[str, str] = field(default_factory=dict)  # auth code → seller id
    token_seller: dict[str, str] = field(default_factory=dict)  # token → seller id
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_access: str = ""

    def grant(self, seller: str) -> str:
        """A refresh token for ``seller`` (as if they had authorised the app)."""
        access, refresh = self.issue_tokens()
        self.token_seller[access] = self.token_seller[refresh] = seller
        self.last_access = access
        return refresh

    def handle(self, request: Request) -> Reply:
        if request.path == "/auth/o2/token":
            return self._lwa(request)
        if request.path.startswith("/download/"):
            return (
                200,
                {"content-type": "application/octet-stream"},
                self.documents[request.path.rsplit("/", 1)[1]],
            )
        token = request.headers.get("x-amz-access-token", "")
        seller = self.token_seller.get(token, "")
        operation = self._operation(request)
        throttled = self.admit(operation, seller)
        if throttled is not None:
            return throttled
        if token not in self.access_tokens:
            return json_reply(
                403,
                {
                    "errors": [
                        {
                            "code": "Unauthorized",
                            "message": "Access to requested resource is denied.",
                            "details": "The access token you provided has expired.",
                        }
                    ]
                },
            )
        handler: Callable[[Request, str], Reply] = getattr(self, "_" + operation)
        return handler(request, seller)

    @staticmethod
    def _operation(request: Request) -> str:
        path = request.path
        if path == "/orders/v0/orders":
            return "getOrders"
        if path.endswith("/orderItems"):
            return "getOrderItems"
        if path == "/finances/v0/financialEvents":
            return "listFinancialEvents"
        if path == "/sellers/v1/marketplaceParticipations":
            return "getMarketplaceParticipations"
        if path == "/reports/2021-06-30/reports":
            return "createReport" if request.method == "POST" else "getReports"
        if path.startswith("/reports/2021-06-30/reports/"):
            return "getReport"
        if path.startswith("/reports/2021-06-30/documents/"):
            return "getReportDocument"
        return "unknown"

    def _unknown(self, request: Request, seller: str) -> Reply:
        return json_reply(404, {"errors": [{"code": "NotFound", "message": request.path}]})

    def _lwa(self, request: Request) -> Reply:
        form = dict(urllib.parse.parse_qsl(request.body.decode()))
        if (
            form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
        ):
            return json_reply(401, {"error": "invalid_client", "error_description": "bad client"})
        if form.get("grant_type") == "authorization_code":
            seller = self.codes.pop(form.get("code", ""), None)
            if seller is None:
                return json_reply(400, {"error": "invalid_grant", "error_description": "bad code"})
            refresh = self.grant(seller)
            return json_reply(
                200,
                {"access_token": self.last_access, "refresh_token": refresh, "expires_in": 3600},
            )
        refresh = form.get("refresh_token", "")
        if self.revoked or refresh not in self.refresh_tokens:
            return json_reply(400, {"error": "invalid_grant", "error_description": "revoked"})
        self.refreshes += 1
        access, _ = self.issue_tokens()
        self.token_seller[access] = self.token_seller[refresh]
        return json_reply(200, {"access_token": access, "token_type": "bearer", "expires_in": 3600})

    def _getMarketplaceParticipations(self, request: Request, seller: str) -> Reply:
        return json_reply(
            200,
            {
                "payload": [
                    {
                        "marketplace": {"id": "ATVPDKIKX0DER", "countryCode": "US"},
                        "participation": {"isParticipating": True},
                    }
                ]
            },
        )

    def _getOrders(self, request: Request, seller: str) -> Reply:
        q = request.query
        if "MarketplaceIds" not in q:
            return _invalid("MarketplaceIds")
        if "NextToken" in q:
            state = _untoken(q["NextToken"])
            after, before, offset = state["after"], state["before"], state["offset"]
            size = state["size"]
        else:
            if "LastUpdatedAfter" not in q:
                return _invalid("LastUpdatedAfter")
            after, before, offset = q["LastUpdatedAfter"], q.get("LastUpdatedBefore"), 0
            size = min(int(q.get("MaxResultsPerPage", "100")), self.page_size)
        matching = [
            o
            for o in self.orders.get(seller, [])
            if _when(after) <= _when(o["LastUpdateDate"])
            and (before is None or _when(o["LastUpdateDate"]) < _when(before))
        ]
        matching.sort(key=lambda o: (o["LastUpdateDate"], o["AmazonOrderId"]))
        page = matching[offset : offset + size]
        payload: dict[str, Any] = {
            "Orders": [{k: v for k, v in o.items() if k != "_items"} for o in page],
            "LastUpdatedBefore": before,
        }
        if offset + size < len(matching):
            payload["NextToken"] = _token(
                {"after": after, "before": before, "offset": offset + size, "size": size}
            )
        return json_reply(200, {"payload": payload})

    def _getOrderItems(self, request: Request, seller: str) -> Reply:
        order_id = urllib.parse.unquote(request.path.split("/")[4])
        for order in self.orders.get(seller, []):
            if order["AmazonOrderId"] == order_id:
                return json_reply(
                    200, {"payload": {"AmazonOrderId": order_id, "OrderItems": order["_items"]}}
                )
        return json_reply(404, {"errors": [{"code": "NotFound", "message": order_id}]})

    def _listFinancialEvents(self, request: Request, seller: str) -> Reply:
        q = request.query
        if "PostedBefore" in q and "PostedAfter" not in q:
            return _invalid("PostedAfter is required with PostedBefore")
        after = _when(q.get("PostedAfter", "2000-01-01T00:00:00Z"))
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        before = _when(q["PostedBefore"]) if "PostedBefore" in q else now
        if before > now - dt.timedelta(minutes=2) or after >= before:
            return _invalid("PostedBefore must be after PostedAfter and 2 minutes before now")
        size = min(int(q.get("MaxResultsPerPage", "100")), self.page_size)
        offset, empty_done = 0, not self.empty_pages
        if "NextToken" in q:
            state = _untoken(q["NextToken"])
            if (state["after"], state["before"]) != (q.get("PostedAfter"), q.get("PostedBefore")):
                return _invalid("NextToken was issued for other PostedAfter/PostedBefore")
            offset, empty_done = state["offset"], True
        matching: list[tuple[str, dict[str, Any]]] = []
        if before - after <= dt.timedelta(days=180):  # longer: an empty answer, per the model
            for name in FINANCIAL_EVENT_LISTS:
                for event in self.financial_events.get(name, []):
                    posted = _when(event.get("PostedDate") or event["_PostedDate"])
                    if after <= posted < before:
                        shown = {k: v for k, v in event.items() if not k.startswith("_")}
                        matching.append((name, shown))
        page = [] if not empty_done else matching[offset : offset + size]
        events: dict[str, list[Any]] = {}
        for name, event in page:
            events.setdefault(name, []).append(event)
        payload: dict[str, Any] = {"FinancialEvents": events}
        following = offset + len(page)
        if not empty_done or following < len(matching):
            payload["NextToken"] = _token(
                {
                    "after": q.get("PostedAfter"),
                    "before": q.get("PostedBefore"),
                    "offset": following,
                }
            )
        return json_reply(200, {"payload": payload})

    def _createReport(self, request: Request, seller: str) -> Reply:
        body = json.loads(request.body)
        if not body.get("reportType") or not isinstance(body.get("marketplaceIds"), list):
            return _invalid("reportType and marketplaceIds are required")
        self.created.append(body)
        report_type = body["reportType"]
        content = self.report_contents.get(report_type)
        if report_type == SALES_TRAFFIC:
            document = self._sales_traffic_document(body)
            if isinstance(document, tuple):  # the request was refused
                return document
            content = document
        report_id = str(len(self.reports) + 1000)
        self.reports[report_id] = {"type": report_type, "polls": 0, "content": content}
        return json_reply(202, {"reportId": report_id})

    def _sales_traffic_document(self, body: dict[str, Any]) -> bytes | Reply:
        start, end = body.get("dataStartTime", "")[:10], body.get("dataEndTime", "")[:10]
        options = body.get("reportOptions") or {}
        if start != end or options.get("dateGranularity") != "DAY":
            return _invalid("this fake serves one-day, DAY granularity reports only")
        by_sku = options.get("asinGranularity") == "SKU"
        rows = [
            {k: v for k, v in row.items() if by_sku or k != "sku"}
            for row in self.sales_traffic.get(start, [])
        ]
        totals = {
            key: sum(int(r["trafficByAsin"][key]) for r in rows)
            for key in ("sessions", "pageViews", "browserSessions", "mobileAppSessions")
        }
        document = {
            "reportSpecification": {
                "reportType": SALES_TRAFFIC,
                "reportOptions": options,
                "dataStartTime": start,
                "dataEndTime": end,
                "marketplaceIds": body["marketplaceIds"],
            },
            "salesAndTrafficByDate": [
                {
                    "date": start,
                    "salesByDate": {
                        "unitsOrdered": sum(int(r["salesByAsin"]["unitsOrdered"]) for r in rows)
                    },
                    "trafficByDate": totals,
                }
            ],
            "salesAndTrafficByAsin": rows,
        }
        return json.dumps(document).encode()

    def _getReport(self, request: Request, seller: str) -> Reply:
        report_id = request.path.rsplit("/", 1)[1]
        report = self.reports[report_id]
        report["polls"] += 1
        answer: dict[str, Any] = {"reportId": report_id, "reportType": report["type"]}
        if report["polls"] < 2:
            return json_reply(200, {**answer, "processingStatus": "IN_PROGRESS"})
        if report["content"] is None:  # Amazon's answer when there is no data
            return json_reply(200, {**answer, "processingStatus": "CANCELLED"})
        document_id = f"doc-{report_id}"
        self.add_document(document_id, report["type"], report["content"])
        return json_reply(
            200, {**answer, "processingStatus": "DONE", "reportDocumentId": document_id}
        )

    def add_document(self, document_id: str, report_type: str, content: bytes) -> None:
        gzipped, announced = DOCUMENT_COMPRESSION.get(report_type, (True, True))
        self.documents[document_id] = gzip.compress(content) if gzipped else content
        self.compressed[document_id] = announced

    def add_settlement(self, report_id: str, created: str, content: bytes) -> None:
        """A settlement report Amazon generated at ``created`` (getReports lists it)."""
        document_id = f"settlement-doc-{report_id}"
        self.add_document(document_id, SETTLEMENT_REPORT, content)
        self.settlements.append(
            {
                "reportId": report_id,
                "reportType": SETTLEMENT_REPORT,
                "processingStatus": "DONE",
                "createdTime": created,
                "reportDocumentId": document_id,
            }
        )

    def _getReports(self, request: Request, seller: str) -> Reply:
        q = request.query
        if "nextToken" in q:
            if len(request.query_list) != 1:
                return _invalid("nextToken must be the only parameter")
            state = _untoken(q["nextToken"])
        elif "reportTypes" in q:
            state = {
                "types": q["reportTypes"].split(","),
                "since": q.get("createdSince", "2000-01-01T00:00:00Z"),
                "until": q.get("createdUntil", "2100-01-01T00:00:00Z"),
                "size": min(int(q.get("pageSize", "10")), self.page_size),
                "offset": 0,
            }
        else:
            return _invalid("reportTypes or nextToken is required")
        matching = [
            r
            for r in self.settlements
            if r["reportType"] in state["types"]
            and _when(state["since"]) <= _when(r["createdTime"]) < _when(state["until"])
        ]
        offset, size = state["offset"], state["size"]
        answer: dict[str, Any] = {"reports": matching[offset : offset + size]}
        if offset + size < len(matching):
            answer["nextToken"] = _token({**state, "offset": offset + size})
        return json_reply(200, answer)

    def _getReportDocument(self, request: Request, seller: str) -> Reply:
        document_id = request.path.rsplit("/", 1)[1]
        answer = {"reportDocumentId": document_id, "url": f"{self.url}/download/{document_id}"}
        if self.compressed[document_id]:
            answer["compressionAlgorithm"] = "GZIP"
        return json_reply(200, answer)
