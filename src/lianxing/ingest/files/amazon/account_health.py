"""Amazon account health (``GET_V2_SELLER_PERFORMANCE_REPORT``, JSON as the API returns it).

One snapshot row per import, for the store's marketplace (``performanceMetrics`` entry
whose ``marketplaceId`` matches the store; the only entry if there is one). The schema's
known inconsistencies are read both ways (``ahrStatus`` / ``accountHealthRatingStatus``,
``preFulfillmentCancellationRate`` / ``prefulfillmentCancelRate``). ODR combines the AFN and
MFN parts weighted by their order counts. ``ahrScore`` is not in the official schema and
is optional. ``snapshot_date`` is ``--to`` if given, else the end of the ODR reporting
window, else today (UTC).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from lianxing.ingest.files.base import FactChunk, ImportContext, ReportFormat, fact_table
from lianxing.ingest.files.reading import FileHead, Source

_TOP_KEYS = {"performanceMetrics", "accountStatuses"}


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def _rate(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


class AccountHealth(ReportFormat):
    id = "amazon.account_health"
    name_zh = "亚马逊账户状况报告"
    name_en = "Amazon account health (seller performance)"
    platform = "amazon"
    tables = ("account_health",)

    def sniff(self, head: FileHead) -> float:
        if head.container != "json" or head.json_top != "object":
            return 0.0
        return 0.95 if "performanceMetrics" in head.json_keys else 0.0

    def parse(self, source: Source, ctx: ImportContext) -> Iterator[FactChunk]:
        data = source.load_json()
        entries = _get(data, "performanceMetrics")
        if not isinstance(entries, list) or not entries:
            ctx.problem(
                None, "performanceMetrics", None, "a non-empty performanceMetrics array", "record"
            )
            return
        metrics = self._for_marketplace(entries, ctx)
        if metrics is None:
            found = ", ".join(str(_get(e, "marketplaceId")) for e in entries)
            ctx.problem(
                None,
                "marketplaceId",
                found,
                f"an entry for the store's marketplace {ctx.marketplace_id}",
                "record",
            )
            return
        problems_before = ctx.problems.count
        odr = self._order_defect_rate(metrics)
        lsr = _rate(_get(metrics, "lateShipmentRate", "rate"))
        cancel = _rate(_get(metrics, "preFulfillmentCancellationRate", "rate"))
        if cancel is None:
            cancel = _rate(_get(metrics, "prefulfillmentCancelRate", "rate"))
        vtr = _rate(_get(metrics, "validTrackingRate", "rate"))
        rating = _get(metrics, "accountHealthRating") or {}
        score = _rate(_get(rating, "ahrScore")) if isinstance(rating, Mapping) else None
        if score is None:
            score = _rate(_get(data, "ahrScore"))
        status = None
        if isinstance(rating, Mapping):
            status = rating.get("ahrStatus") or rating.get("accountHealthRatingStatus")
        if status is None:
            status = self._account_status(data, ctx)
        for name, value in (
            ("orderDefectRate", odr),
            ("lateShipmentRate", lsr),
            ("preFulfillmentCancellationRate", cancel),
            ("validTrackingRate", vtr),
        ):
            if value is not None and not 0.0 <= value <= 1.0:
                ctx.problem(None, name, str(value), "a rate between 0 and 1", "record")
        if score is not None and not 0 <= score <= 1000:
            ctx.problem(None, "ahrScore", str(score), "a score between 0 and 1000", "record")
        ctx.rows_read += 1
        if ctx.problems.count > problems_before:
            return
        snapshot = ctx.period_to or self._window_end(metrics) or dt.datetime.now(dt.UTC).date()
        yield (
            "account_health",
            fact_table(
                "account_health",
                ctx,
                1,
                snapshot_date=snapshot,
                order_defect_rate=odr,
                late_shipment_rate=lsr,
                pre_fulfillment_cancel_rate=cancel,
                valid_tracking_rate=vtr,
                ahr_score=score,
                status=str(status) if status is not None else None,
            ),
        )

    @staticmethod
    def _for_marketplace(entries: list[Any], ctx: ImportContext) -> Mapping[str, Any] | None:
        if len(entries) == 1 and isinstance(entries[0], Mapping):
            return entries[0]
        for entry in entries:
            if isinstance(entry, Mapping) and entry.get("marketplaceId") == ctx.marketplace_id:
                return entry
        return None

    @staticmethod
    def _order_defect_rate(metrics: Mapping[str, Any]) -> float | None:
        parts = [_get(metrics, "orderDefectRate", channel) for channel in ("afn", "mfn")]
        orders = defects = 0
        rates = []
        for part in parts:
            count = _get(part, "orderCount")
            bad = _get(part, "orderWithDefects", "count")
            if isinstance(count, int) and isinstance(bad, int):
                orders += count
                defects += bad
            rate = _rate(_get(part, "rate"))
            if rate is not None:
                rates.append(rate)
        if orders:
            return defects / orders
        return max(rates) if rates else None

    @staticmethod
    def _account_status(data: Any, ctx: ImportContext) -> str | None:
        statuses = _get(data, "accountStatuses")
        if not isinstance(statuses, list):
            return None
        for entry in statuses:
            if isinstance(entry, Mapping) and (
                len(statuses) == 1 or entry.get("marketplaceId") == ctx.marketplace_id
            ):
                value = entry.get("status")
                return str(value) if value is not None else None
        return None

    @staticmethod
    def _window_end(metrics: Mapping[str, Any]) -> dt.date | None:
        end = _get(metrics, "orderDefectRate", "afn", "reportingDateRange", "reportingDateTo")
        if not isinstance(end, str):
            return None
        try:
            return dt.date.fromisoformat(end[:10])
        except ValueError:
            return None


FORMATS = (AccountHealth(),)
