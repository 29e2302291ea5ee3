"""Fake Amazon Ads API v3 (+ the LWA endpoint of the SP-API fake): profiles, async
reports (create → status → gzipped JSON download).

Profile calls must carry ``Amazon-Advertising-API-ClientId`` (the client id), a live
bearer token (else 401) and ``Amazon-Advertising-API-Scope`` naming a profile of the
token's owner. ``POST /reporting/reports`` checks the v3 content type, ``timeUnit=DAILY``,
``GZIP_JSON``, a ``date`` column, known column names and at most 31 days; the same
request while that report is still pending is answered 425 naming it, as Amazon does.
A report is ``PENDING`` for ``pending_polls`` status calls, then ``COMPLETED`` with a
download ``url`` (no auth, like S3). Limits are per profile.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from dataclasses import dataclass, field
from typing import Any

from fake_platforms import Reply, Request, json_reply
from fake_platforms.amazon_sp import FakeAmazonSP

CONTENT_TYPE = "application/vnd.createasyncreportrequest.v3+json"
# Column names from the reference (platform-formats.md §4.3) the fake can answer.
KNOWN_COLUMNS = frozenset(
    {
        "date", "campaignId", "campaignName", "impressions", "clicks", "cost",
        "campaignBudgetCurrencyCode", "sales7d", "purchases7d", "unitsSoldClicks7d",
        "sales14d", "purchases14d", "sales", "purchases", "unitsSold",
    }
)  # fmt: skip

# Per ad product and campaign, the metrics of every active day.
CAMPAIGNS: dict[str, list[dict[str, Any]]] = {
    "SPONSORED_PRODUCTS": [
        {"campaignId": 111, "campaignName": "SP auto", "impressions": 1000, "clicks": 50,
         "cost": 25.0, "sales7d": 100.0, "purchases7d": 4, "unitsSoldClicks7d": 5},
        {"campaignId": 112, "campaignName": "SP exact", "impressions": 400, "clicks": 20,
         "cost": 12.5, "sales7d": 60.0, "purchases7d": 2, "unitsSoldClicks7d": 2},
    ],
    "SPONSORED_BRANDS": [
        {"campaignId": 221, "campaignName": "SB brand", "impressions": 800, "clicks": 16,
         "cost": 10.0, "sales": 40.0, "purchases": 2, "unitsSold": 2},
    ],
    "SPONSORED_DISPLAY": [
        {"campaignId": 331, "campaignName": "SD retarget", "impressions": 3000, "clicks": 9,
         "cost": 5.0, "sales": 15.0, "purchases": 1, "unitsSold": 1},
    ],
}  # fmt: skip


@dataclass
class FakeAmazonAds(FakeAmazonSP):
    profiles: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # owner → profiles
    active_days: tuple[dt.date, dt.date] = (dt.date(2026, 10, 20), dt.date(2026, 11, 8))
    pending_polls: int = 1
    ad_reports: dict[str, dict[str, Any]] = field(default_factory=dict)
    downloads: int = 0

    def handle(self, request: Request) -> Reply:
        if request.path == "/auth/o2/token":
            return self._lwa(request)
        if request.path.startswith("/download/"):
            return self._download(request.path.removeprefix("/download/"))
        headers = request.headers
        token = headers.get("authorization", "").removeprefix("Bearer ")
        if headers.get("amazon-advertising-api-clientid") != self.client_id:
            self.bad_signatures += 1
            return json_reply(400, {"code": "400", "details": "missing client id header"})
        owner = self.token_seller.get(token, "")
        if request.path == "/v2/profiles":
            if token not in self.access_tokens:
                return json_reply(401, {"code": "UNAUTHORIZED", "details": "Not authorized"})
            return json_reply(200, self.profiles.get(owner, []))
        profile = headers.get("amazon-advertising-api-scope", "")
        operation = "createReport" if request.method == "POST" else "getReport"
        throttled = self.admit(operation, profile)
        if throttled is not None:
            return throttled
        if token not in self.access_tokens:
            return json_reply(401, {"code": "UNAUTHORIZED", "details": "Not authorized"})
        if profile not in {str(p["profileId"]) for p in self.profiles.get(owner, [])}:
            self.bad_signatures += 1
            return json_reply(403, {"code": "403", "details": "invalid scope"})
        if operation == "createReport":
            return self._create(request, profile)
        return self._status(request.path.removeprefix("/reporting/reports/"))

    def _create(self, request: Request, profile: str) -> Reply:
        if request.headers.get("content-type") != CONTENT_TYPE:
            return json_reply(415, {"code": "415", "detail": "unsupported content type"})
        body = json.loads(request.body)
        config = body["configuration"]
        start = dt.date.fromisoformat(body["startDate"])
        end = dt.date.fromisoformat(body["endDate"])
        problems = [
            name
            for name, bad in (
                ("timeUnit", config.get("timeUnit") != "DAILY"),
                ("format", config.get("format") != "GZIP_JSON"),
                ("date column", "date" not in config["columns"]),
                ("columns", not set(config["columns"]) <= KNOWN_COLUMNS),
                ("range", not 0 <= (end - start).days <= 30),
            )
            if bad
        ]
        if problems:
            return json_reply(400, {"code": "400", "detail": f"invalid: {problems}"})
        for report_id, report in self.ad_reports.items():
            if report["request"] == (profile, body) and report["polls"] <= self.pending_polls:
                return json_reply(
                    425, {"code": "425", "detail": f"The Request is a duplicate of : {report_id}"}
                )
        report_id = f"{len(self.ad_reports) + 1:08d}-aaaa-bbbb-cccc-000000000000"
        self.ad_reports[report_id] = {"request": (profile, body), "polls": 0}
        return json_reply(200, {"reportId": report_id, "status": "PENDING"})

    def _status(self, report_id: str) -> Reply:
        report = self.ad_reports.get(report_id)
        if report is None:
            return json_reply(404, {"code": "404", "detail": "no such report"})
        report["polls"] += 1
        if report["polls"] <= self.pending_polls:
            return json_reply(200, {"reportId": report_id, "status": "PENDING", "url": None})
        return json_reply(
            200,
            {
                "reportId": report_id,
                "status": "COMPLETED",
                "url": f"{self.url}/download/{report_id}",
            },
        )

    def _download(self, report_id: str) -> Reply:
        self.downloads += 1
        _, body = self.ad_reports[report_id]["request"]
        config = body["configuration"]
        day = max(dt.date.fromisoformat(body["startDate"]), self.active_days[0])
        end = min(dt.date.fromisoformat(body["endDate"]), self.active_days[1])
        rows = []
        while day <= end:
            for campaign in CAMPAIGNS[config["adProduct"]]:
                full = {**campaign, "date": day.isoformat(), "campaignBudgetCurrencyCode": "USD"}
                rows.append({c: full.get(c) for c in config["columns"]})
            day += dt.timedelta(days=1)
        return (
            200,
            {"content-type": "application/octet-stream"},
            gzip.compress(json.dumps(rows).encode()),
        )
