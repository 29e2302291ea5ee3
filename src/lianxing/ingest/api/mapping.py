"""API payloads → canonical facts, through the file importers' own formats.

A connector does not map fields itself where an importer already does: it hands the raw
payloads (or a downloaded report document) to the same ``ReportFormat`` a user's file
would go through, so facts from the API and from files are the same facts. The payloads
are written to a private temporary file and parsed exactly like an uploaded one.

A format that finds a bad value does not raise; the problems are collected and turned
into ``MappingError`` here, naming the connector's call instead of a file.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import tempfile
import zoneinfo
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lianxing.domain.facts import ListingStatus
from lianxing.ingest.api.base import Window
from lianxing.ingest.files.base import FactChunk, ImportContext, ReportFormat
from lianxing.ingest.files.marketplace import FactRows, Node
from lianxing.ingest.files.problems import ProblemLog
from lianxing.ingest.files.reading import Source
from lianxing.ingest.files.registry import get_format


class MappingError(Exception):
    """The platform's payload does not have the documented shape."""


def page_context(template: ImportContext, label: str) -> ImportContext:
    """A fresh context for one page (own problem log and format state)."""
    return dataclasses.replace(template, file=label, problems=ProblemLog(), rows_read=0, state={})


def map_document(
    fmt: ReportFormat | str, data: bytes, name: str, template: ImportContext
) -> tuple[list[FactChunk], int]:
    """Facts from one document (report file bytes, gzipped or not); (chunks, rows read)."""
    report = get_format(fmt) if isinstance(fmt, str) else fmt
    ctx = page_context(template, name)
    with tempfile.TemporaryDirectory(prefix="lianxing-api-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        chunks = list(report.parse(Source(path), ctx))
    if ctx.problems:
        raise MappingError("\n".join(ctx.problems.lines()))
    return chunks, ctx.rows_read


def map_payloads(
    fmt: ReportFormat | str, payloads: Sequence[Any], name: str, template: ImportContext
) -> tuple[list[FactChunk], int]:
    """Facts from API response bodies (a JSON array of envelopes, as a saved file holds)."""
    data = json.dumps(list(payloads), ensure_ascii=False).encode()
    return map_document(fmt, data, name if name.endswith(".json") else f"{name}.json", template)


# -- the store's local days -----------------------------------------------------------------
# Windows are naive UTC; platforms that take calendar days (reports, ads performance) and the
# KPIs (periods cut in the marketplace's local days) count in the store's time zone.

TICK = dt.timedelta(microseconds=1)  # a window's end is exclusive: its last moment is end - TICK


def local_day(moment: dt.datetime, timezone: str) -> dt.date:
    """The calendar day in ``timezone`` (the store's) of a naive-UTC moment."""
    return moment.replace(tzinfo=dt.UTC).astimezone(zoneinfo.ZoneInfo(timezone)).date()


def window_days(window: Window, timezone: str) -> tuple[dt.date, dt.date]:
    """The first and the last day in ``timezone`` that ``window`` touches."""
    last = max(window.start, window.end - TICK)
    return local_day(window.start, timezone), local_day(last, timezone)


# -- listings snapshots ---------------------------------------------------------------------
# A listings stream is a snapshot, not an increment: the KPIs count the listings of the
# latest snapshot in a period (``live_skus``), periods being cut in the marketplace's local
# days, so each run reads every listing and dates them all with one day: the store's local
# day when the snapshot was taken. Every connector dates its snapshots here.


def snapshot_day(window: Window, timezone: str) -> dt.date:
    """The day a snapshot read by the run of ``window`` is dated: the store's local day
    (``timezone``) of the window's last moment. The run reads the listings right after
    that moment; the window, not the clock, so that a resumed run keeps the day."""
    return window_days(window, timezone)[1]


def snapshot_context(template: ImportContext, window: Window) -> ImportContext:
    """``template`` dating listing snapshots on ``snapshot_day`` (read as ``period_to``)."""
    return dataclasses.replace(template, period_to=snapshot_day(window, template.timezone))


def snapshot_date(ctx: ImportContext) -> dt.date:
    """The day a format dates its listings: the context's ``period_to`` (the connector's
    ``snapshot_context``, or ``--to`` for a file), else today where the store sells."""
    return ctx.period_to or local_day(dt.datetime.now(dt.UTC).replace(tzinfo=None), ctx.timezone)


def listing_status(
    node: Node,
    statuses: Mapping[str, ListingStatus | None],
    *names: str,
    stock: int | None = None,
) -> ListingStatus | None:
    """The canonical status of the listing in ``node``; None when the platform's status says
    it is no listing (a draft, a deleted item: ``statuses`` maps it to None) or is unknown
    (logged as a problem). An active listing with no sellable stock is inactive, as
    Amazon's listings report shows an out-of-stock offer, so ``live_skus`` means the same
    on every platform."""
    key, value = node.find(names)
    code = str(value or "").strip().upper()
    lookup = {k.upper(): v for k, v in statuses.items()}
    if code not in lookup:
        node.problem(key, value, "one of: " + ", ".join(statuses))
        return None
    status = lookup[code]
    if status is ListingStatus.ACTIVE and stock is not None and stock <= 0:
        return ListingStatus.INACTIVE
    return status


def add_listing(
    facts: FactRows,
    listing: Node,
    offer: Node | None,
    *,
    sku: str,
    platform_item_id: str,
    status: ListingStatus,
    title: str,
    prices: tuple[str, ...],
) -> None:
    """One ``listings`` row on the snapshot day (``snapshot_date``): title and creation
    time from ``listing``, the price (the first of ``prices`` present) and its currency
    from ``offer``."""
    facts.add(
        "listings",
        sku=sku,
        snapshot_date=snapshot_date(listing.ctx),
        platform_item_id=platform_item_id,
        title=listing.text(title),
        status=status,
        created_ts=listing.instant("create_time"),
        price=offer.money(*prices) if offer else None,
        currency=(offer.text("currency") if offer else None) or listing.ctx.currency,
    )
