"""Amazon Ads API v3 (platform-formats.md §4): daily campaign reports → ``ad_daily``.

Auth is Login with Amazon with the Ads app's own consent (``www.amazon.com/ap/oa``,
scope ``advertising::campaign_management``); the code buys a refresh token at
``/auth/o2/token`` like SP-API's. Every call sends ``Amazon-Advertising-API-ClientId``
and ``Authorization: Bearer``; profile calls add ``Amazon-Advertising-API-Scope:
<profileId>``. After authorising, ``GET /v2/profiles`` names the store's profile (the
one given as ``profile_id``, else the seller profile of the store's marketplace or
country); its ``timezone`` and ``currencyCode`` are kept: report dates are the profile's
local days. A 401 means the token was refused (refresh once and retry).

Streams, one per ad product, each a daily campaign report (``spCampaigns``,
``sbCampaigns``, ``sdCampaigns``, ``timeUnit=DAILY``, ``GZIP_JSON``): ``POST
/reporting/reports`` → poll ``GET /reporting/reports/{id}`` until ``COMPLETED`` →
download ``url`` (gzipped JSON array) → the Ads importer's API format (``amazon.ads_sp``
...), so API rows are the facts an uploaded v3 report gives. A report covers at most 31
days, so the window's local dates are cut into 31-day pieces. The report id is saved as
the checkpoint before polling: a resumed run polls that report instead of ordering
another. HTTP 425 (a duplicate of a report still being made) names the existing report,
which is then polled.

Attribution keeps moving for 7 (SP) / 14 (SB, SD) days after a click, so each run
re-reads that many days before the cursor; the rows merge by (date, campaign, ad type).
Rate limits are per profile; the reference publishes no figures, so the buckets (1 report
request/s, 5 status polls/s per profile) are assumptions; a 429's Retry-After is obeyed.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx

from lianxing.ingest.api.base import Page, StreamSpec, TokenSet, Window
from lianxing.ingest.api.http import ApiError, Limit, RequestSpec
from lianxing.ingest.api.lwa import LoginWithAmazon
from lianxing.ingest.api.mapping import map_document, window_days
from lianxing.ingest.files.base import ImportContext

REPORT_SPAN_DAYS = 31
CREATE_REPORT = "application/vnd.createasyncreportrequest.v3+json"
DUPLICATE = re.compile(r"duplicate of\s*:?\s*([0-9A-Za-z-]{8,})")
COMMON_COLUMNS = ("date", "campaignId", "campaignName", "impressions", "clicks", "cost")


@dataclass(frozen=True, slots=True)
class AdReport:
    """One ad product's daily campaign report and the importer format that maps it."""

    ad_product: str
    report_type: str
    columns: tuple[str, ...]
    format_id: str


# SP attributes over 7 days (sales7d ...); SB and SD name their 14-day metrics unsuffixed.
REPORTS: dict[str, AdReport] = {
    "sponsored_products": AdReport(
        "SPONSORED_PRODUCTS",
        "spCampaigns",
        (
            *COMMON_COLUMNS,
            "sales7d",
            "purchases7d",
            "unitsSoldClicks7d",
            "campaignBudgetCurrencyCode",
        ),
        "amazon.ads_sp",
    ),
    "sponsored_brands": AdReport(
        "SPONSORED_BRANDS",
        "sbCampaigns",
        (*COMMON_COLUMNS, "sales", "purchases", "unitsSold"),
        "amazon.ads_sb",
    ),
    "sponsored_display": AdReport(
        "SPONSORED_DISPLAY",
        "sdCampaigns",
        (*COMMON_COLUMNS, "sales", "purchases", "unitsSold"),
        "amazon.ads_sd",
    ),
}


def _is_empty(content: bytes) -> bool:
    """A report with no rows (``[]``): nothing to map, and no columns to check."""
    data = gzip.decompress(content) if content[:2] == b"\x1f\x8b" else content
    return data.strip() == b"[]"


class AmazonAds(LoginWithAmazon):
    id = "amazon_ads"
    platform = "amazon"
    primary = False  # an Amazon store's default connector is SP-API
    name_zh = "亚马逊广告 API"
    name_en = "Amazon Ads API (v3 reporting)"
    default_api_base = "https://advertising-api.amazon.com"
    default_auth_base = "https://api.amazon.com"
    consent_base: ClassVar[str] = "https://www.amazon.com"
    account_key = "profile_id"
    streams = (
        StreamSpec("sponsored_products", ("ad_daily",), overlap=dt.timedelta(days=7),
                   lookback=dt.timedelta(days=60)),
        StreamSpec("sponsored_brands", ("ad_daily",), overlap=dt.timedelta(days=14),
                   lookback=dt.timedelta(days=60)),
        StreamSpec("sponsored_display", ("ad_daily",), overlap=dt.timedelta(days=14),
                   lookback=dt.timedelta(days=60)),
    )  # fmt: skip
    limits: ClassVar[Mapping[str, Limit]] = {
        "createReport": Limit(1.0, 5),
        "getReport": Limit(5.0, 10),
        "*": Limit(1.0, 5),
    }
    poll_interval: float = 30.0  # seconds between report status polls

    # -- authorisation ---------------------------------------------------------------
    def authorisation_url(self, *, redirect_uri: str, state: str) -> str:
        query = urllib.parse.urlencode(
            {
                "client_id": self.credentials.app_key,
                "scope": "advertising::campaign_management",
                "response_type": "code",
                "redirect_uri": redirect_uri,
                "state": state,
            }
        )
        return f"{self.consent_base}/ap/oa?{query}"

    def exchange_code(self, code: str, *, redirect_uri: str, params: Mapping[str, str]) -> TokenSet:
        tokens = self._lwa_code(code, redirect_uri)
        self.credentials.apply(tokens)
        tokens.account.update(self._profile())
        return tokens

    def refresh_tokens(self) -> TokenSet:
        tokens = super().refresh_tokens()
        if "timezone" not in self.credentials.account:  # connected with a refresh token
            self.credentials.apply(tokens)
            tokens.account.update(self._profile())
        return tokens

    def _profile(self) -> dict[str, Any]:
        """The store's advertising profile: id, timezone, currency, marketplace."""
        profiles = self.call("listProfiles", RequestSpec("GET", "/v2/profiles"))
        account = self.credentials.account
        wanted = account.get("profile_id")
        if wanted:
            found = [p for p in profiles if str(p.get("profileId")) == str(wanted)]
        else:
            marketplace, site = account.get("marketplace_id"), account.get("site")
            found = [
                p
                for p in profiles
                if (p.get("accountInfo") or {}).get("type") == "seller"
                and (
                    (p.get("accountInfo") or {}).get("marketplaceStringId") == marketplace
                    if marketplace
                    else str(p.get("countryCode", "")).upper() == str(site or "").upper()
                )
            ]
        if len(found) != 1:
            known = ", ".join(
                f"{p.get('profileId')} ({p.get('countryCode')}, "
                f"{(p.get('accountInfo') or {}).get('type')})"
                for p in profiles
            )
            raise ApiError(
                f"amazon_ads: cannot tell the store's profile among {known or 'none'}; "
                "name it with --account profile_id=... / 请指定广告 profile_id"
            )
        profile = found[0]
        return {
            "profile_id": str(profile["profileId"]),
            "timezone": profile.get("timezone"),
            "currency": profile.get("currencyCode"),
            "country": profile.get("countryCode"),
            "marketplace_id": (profile.get("accountInfo") or {}).get("marketplaceStringId"),
        }

    # -- signing ---------------------------------------------------------------------
    def sign(self, spec: RequestSpec) -> RequestSpec:
        headers = {
            **spec.headers,
            "Amazon-Advertising-API-ClientId": self.credentials.app_key,
            "Authorization": f"Bearer {self.credentials.access_token or ''}",
        }
        profile = self.credentials.account.get("profile_id")
        if profile and spec.path != "/v2/profiles":
            headers["Amazon-Advertising-API-Scope"] = str(profile)
        return RequestSpec(spec.method, spec.path, spec.params, headers, spec.content)

    def token_rejected(self, response: httpx.Response) -> bool:
        return response.status_code == 401

    def check_response(self, response: httpx.Response, operation: str) -> Any:
        if response.status_code == 425:  # a duplicate: the report already being made
            found = DUPLICATE.search(response.text)
            if found:
                return {"reportId": found.group(1)}
        return super().check_response(response, operation)

    # -- reading ----------------------------------------------------------------------
    def _local_dates(self, window: Window) -> tuple[dt.date, dt.date]:
        """The profile's local days the window touches (first, last)."""
        return window_days(window, str(self.credentials.account.get("timezone") or "UTC"))

    def read_stream(
        self,
        stream: str,
        window: Window,
        position: Mapping[str, Any] | None,
        ctx: ImportContext,
    ) -> Iterator[Page]:
        report = REPORTS[self.stream(stream).name]
        first, last = self._local_dates(window)
        position = position or {}
        start = dt.date.fromisoformat(position["slice_start"]) if position else first
        report_id = position.get("report_id")
        while start <= last:
            end = min(start + dt.timedelta(days=REPORT_SPAN_DAYS - 1), last)
            if report_id is None:
                report_id = self._create(report, start, end)
                # Saved before polling: a resumed run polls this report, not a new one.
                yield Page([], {"slice_start": start.isoformat(), "report_id": report_id})
            content = self._wait_and_download(report_id)
            chunks, rows = (
                ([], 0)
                if _is_empty(content)
                else map_document(
                    report.format_id, content, f"{report.report_type}-{report_id}.json", ctx
                )
            )
            start, report_id = end + dt.timedelta(days=1), None
            yield Page(chunks, {"slice_start": start.isoformat()} if start <= last else None, rows)

    def _create(self, report: AdReport, start: dt.date, end: dt.date) -> str:
        body = {
            "name": f"lianxing {report.report_type} {start}..{end}",
            "startDate": start.isoformat(),
            "endDate": end.isoformat(),
            "configuration": {
                "adProduct": report.ad_product,
                "reportTypeId": report.report_type,
                "groupBy": ["campaign"],
                "columns": list(report.columns),
                "timeUnit": "DAILY",
                "format": "GZIP_JSON",
            },
        }
        created = self.call(
            "createReport",
            RequestSpec(
                "POST",
                "/reporting/reports",
                headers={"content-type": CREATE_REPORT},
                content=json.dumps(body).encode(),
            ),
        )
        return str(created["reportId"])

    def _wait_and_download(self, report_id: str) -> bytes:
        while True:
            status = self.call("getReport", RequestSpec("GET", f"/reporting/reports/{report_id}"))
            state = status.get("status")
            if state == "COMPLETED":
                return self.http.get_bytes(str(status["url"]))
            if state == "FAILED":
                raise ApiError(
                    f"amazon_ads: report {report_id} failed: {status.get('failureReason')}"
                )
            time.sleep(self.poll_interval)


CONNECTOR = AmazonAds
