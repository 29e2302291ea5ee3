"""Amazon Ads reports: Sponsored Products, Sponsored Brands, Sponsored Display.

Two shapes of the same data, one set of column aliases:

* as the Ads API v3 returns them: a JSON array of row objects (usually gzipped), keys as
  requested in ``columns`` (``date``, ``campaignId``, ``campaignName``, ``impressions``,
  ``clicks``, ``cost``, ``sales7d`` ...);
* as the advertising console downloads them (CSV/XLSX): ``Date``, ``Campaign Name``,
  ``Impressions``, ``Clicks``, ``Spend``, ``7 Day Total Sales`` ...

Attribution follows the seller convention (platform-formats.md §4.3): Sponsored Products
7 days, Brands and Display 14 days; the window is stored with each row. A console
download without campaign ids uses the campaign name as the id. Report dates are the
profile's local days and are stored as written.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import pyarrow.compute as pc

from lianxing.ingest.files.base import (
    FactChunk,
    Field,
    ImportContext,
    JsonRecordsFormat,
    Kind,
    ReportFormat,
    Rows,
    TabularFormat,
    col,
    fact_table,
)
from lianxing.ingest.files.reading import FileHead


def _fields(days: int, unsuffixed: bool) -> tuple[Field, ...]:
    """Columns for an ad product whose attribution window is ``days``."""
    d = str(days)
    plain = ("sales", "purchases", "unitsSold") if unsuffixed else ()
    return (
        col("date", "date", "Date", "Start Date", kind=Kind.DATE, not_empty=True),
        col("campaign_id", "campaignId", "Campaign ID", "Campaign Id", required=False),
        col("campaign_name", "campaignName", "Campaign Name", not_empty=True),
        col("impressions", "impressions", "Impressions", kind=Kind.INT),
        col("clicks", "clicks", "Clicks", kind=Kind.INT),
        col("cost", "cost", "Spend", "Cost", kind=Kind.MONEY, not_empty=True),
        col(
            "sales",
            f"sales{d}d",
            f"{d} Day Total Sales",
            f"{d} Day Total Sales ",
            *plain[:1],
            kind=Kind.MONEY,
            required=False,
        ),
        col(
            "orders",
            f"purchases{d}d",
            f"{d} Day Total Orders (#)",
            *plain[1:2],
            kind=Kind.INT,
            required=False,
        ),
        col(
            "units",
            f"unitsSoldClicks{d}d",
            f"{d} Day Total Units (#)",
            *plain[2:3],
            kind=Kind.INT,
            required=False,
        ),
        col("currency", "campaignBudgetCurrencyCode", "Currency", required=False),
    )


class _AdsFacts(ReportFormat):
    ad_type: ClassVar[str]
    days: ClassVar[int]
    # keys only this ad product's reports have (sniff bonus; SB and SD look alike otherwise)
    marker_keys: ClassVar[tuple[str, ...]] = ()

    def facts(self, rows: Rows, ctx: ImportContext) -> Iterator[FactChunk]:
        yield (
            "ad_daily",
            fact_table(
                "ad_daily",
                ctx,
                len(rows),
                date=rows["date"],
                campaign_id=pc.coalesce(rows["campaign_id"], rows["campaign_name"]),
                ad_type=self.ad_type,
                campaign_name=rows["campaign_name"],
                impressions=rows["impressions"],
                clicks=rows["clicks"],
                cost=rows["cost"],
                attributed_sales=rows["sales"],
                attributed_orders=rows["orders"],
                attributed_units=rows["units"],
                currency=pc.fill_null(pc.utf8_upper(rows["currency"]), ctx.currency),
                attribution_days=self.days,
            ),
        )

    def _marker_bonus(self, names: set[str]) -> float:
        lowered = {n.lower() for n in names}
        return 0.2 if any(k.lower() in lowered for k in self.marker_keys) else 0.0


def _ads_formats(
    product: str,
    ad_type: str,
    days: int,
    unsuffixed: bool,
    markers: tuple[str, ...],
    name_zh: str,
    name_en: str,
) -> tuple[ReportFormat, ReportFormat]:
    fields = _fields(days, unsuffixed)
    # Without the attribution columns SB and SD are indistinguishable; those need --format.
    base_score = 0.0 if unsuffixed else 0.1

    class ApiReport(_AdsFacts, JsonRecordsFormat):
        def sniff(self, head: FileHead) -> float:
            score = JsonRecordsFormat.sniff(self, head)
            return (
                min(score - 0.1 + base_score + self._marker_bonus(set(head.json_keys)), 1.0)
                if score
                else 0.0
            )

    class ConsoleReport(_AdsFacts, TabularFormat):
        def sniff(self, head: FileHead) -> float:
            score = TabularFormat.sniff(self, head)
            index = self.header_index(head)
            cells = set(head.rows[index]) if index is not None else set()
            return min(score - 0.1 + base_score + self._marker_bonus(cells), 1.0) if score else 0.0

    for cls, suffix, shape in (
        (ApiReport, "", "Ads API v3 JSON"),
        (ConsoleReport, "_download", "console download"),
    ):
        cls.id = f"amazon.ads_{product}{suffix}"
        cls.name_zh = f"{name_zh}（{'API' if not suffix else '后台下载'}）"
        cls.name_en = f"{name_en} ({shape})"
        cls.platform = "amazon"
        cls.tables = ("ad_daily",)
        cls.fields = fields
        cls.ad_type = ad_type
        cls.days = days
        cls.marker_keys = markers
    return ApiReport(), ConsoleReport()


FORMATS = (
    *_ads_formats(
        "sp",
        "sponsored_products",
        7,
        False,
        ("spend", "sales7d"),
        "亚马逊商品推广报告",
        "Amazon Sponsored Products report",
    ),
    *_ads_formats(
        "sb",
        "sponsored_brands",
        14,
        True,
        ("topOfSearchImpressionShare", "brandedSearches", "newToBrandPurchases"),
        "亚马逊品牌推广报告",
        "Amazon Sponsored Brands report",
    ),
    *_ads_formats(
        "sd",
        "sponsored_display",
        14,
        True,
        ("viewabilityRate", "impressionsViews", "costType", "Cost type"),
        "亚马逊展示型推广报告",
        "Amazon Sponsored Display report",
    ),
)
