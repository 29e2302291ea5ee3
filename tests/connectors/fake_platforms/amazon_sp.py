"""Fake Amazon SP-API + LWA: getOrders/getOrderItems, reports, settlement documents.

Data calls must carry a live ``x-amz-access-token`` (else 403 ``Unauthorized``, as Amazon
answers an expired token); LWA ``/auth/o2/token`` checks client id/secret and the refresh
token or authorisation code. Orders are filtered by ``LastUpdateDate`` and paged with an
opaque ``NextToken``. Limits are the published ones (platform-formats.md §1.2) times
``scale``.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
import urllib.parse
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
    "getMarketplaceParticipations": (0.016, 15),
}


def published_limits(scale: float) -> dict[str, tuple[float, int]]:
    return {op: (rate * scale, burst) for op, (rate, burst) in PUBLISHED.items()}


def _when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)


@dataclass
class FakeAmazonSP(FakePlatform):
    client_id: str = "amzn1.application-oa2-client.test"
    client_secret: str = "lwa-secret"
    page_size: int = 2
    orders: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # seller → orders
    documents: dict[str, bytes] = field(default_factory=dict)  # documentId → content
    settlements: list[dict[str, Any]] = field(default_factory=list)
    report_contents: dict[str, bytes] = field(default_factory=dict)  # reportType → content
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
        return getattr(self, "_" + operation)(request, seller)

    @staticmethod
    def _operation(request: Request) -> str:
        path = request.path
        if path == "/orders/v0/orders":
            return "getOrders"
        if path.endswith("/orderItems"):
            return "getOrderItems"
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
            return json_reply(
                400, {"errors": [{"code": "InvalidInput", "message": "MarketplaceIds"}]}
            )
        if "NextToken" in q:
            state = json.loads(base64.b64decode(q["NextToken"]))
            after, before, offset = state["after"], state["before"], state["offset"]
            size = state["size"]
        else:
            if "LastUpdatedAfter" not in q:
                return json_reply(
                    400, {"errors": [{"code": "InvalidInput", "message": "LastUpdatedAfter"}]}
                )
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
            payload["NextToken"] = base64.b64encode(
                json.dumps(
                    {"after": after, "before": before, "offset": offset + size, "size": size}
                ).encode()
            ).decode()
        return json_reply(200, {"payload": payload})

    def _getOrderItems(self, request: Request, seller: str) -> Reply:
        order_id = urllib.parse.unquote(request.path.split("/")[4])
        for order in self.orders.get(seller, []):
            if order["AmazonOrderId"] == order_id:
                return json_reply(
                    200, {"payload": {"AmazonOrderId": order_id, "OrderItems": order["_items"]}}
                )
        return json_reply(404, {"errors": [{"code": "NotFound", "message": order_id}]})

    def _createReport(self, request: Request, seller: str) -> Reply:
        body = json.loads(request.body)
        report_id = str(len(self.reports) + 1000)
        self.reports[report_id] = {"type": body["reportType"], "polls": 0}
        return json_reply(202, {"reportId": report_id})

    def _getReport(self, request: Request, seller: str) -> Reply:
        report_id = request.path.rsplit("/", 1)[1]
        report = self.reports[report_id]
        report["polls"] += 1
        if report["polls"] < 2:
            return json_reply(200, {"reportId": report_id, "processingStatus": "IN_PROGRESS"})
        document_id = f"doc-{report_id}"
        self.documents[document_id] = gzip.compress(self.report_contents[report["type"]])
        return json_reply(
            200,
            {"reportId": report_id, "processingStatus": "DONE", "reportDocumentId": document_id},
        )

    def _getReports(self, request: Request, seller: str) -> Reply:
        return json_reply(200, {"reports": self.settlements})

    def _getReportDocument(self, request: Request, seller: str) -> Reply:
        document_id = request.path.rsplit("/", 1)[1]
        return json_reply(
            200,
            {
                "reportDocumentId": document_id,
                "url": f"{self.url}/download/{document_id}",
                "compressionAlgorithm": "GZIP",
            },
        )
