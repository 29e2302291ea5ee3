"""Vectorised generation of one store's facts over a window of local days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from lianxing.demo import _columns as col
from lianxing.demo.profiles import CURRENCIES, PLATFORMS, OrderIdStyle, PlatformProfile
from lianxing.demo.spec import (
    LINES_PER_ORDER_SHARES,
    MEAN_LINES_PER_ORDER,
    AnomalyKind,
    DemoSpec,
    DemoStore,
    demand_factors,
)
from lianxing.domain.facts import ListingStatus, OrderStatus

EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
HOUR = 3600
DAY = col.SECONDS_PER_DAY

# Share of a day's orders placed in each local hour: quiet at night, peak in the evening.
_DIURNAL = np.asarray(
    [
        1.2,
        0.8,
        0.5,
        0.4,
        0.4,
        0.6,
        1.4,
        2.6,
        3.6,
        4.2,
        4.6,
        4.9,
        5.3,
        5.1,
        4.8,
        4.7,
        4.8,
        5.2,
        5.9,
        6.6,
        7.2,
        7.0,
        5.4,
        3.1,
    ]
)
_DIURNAL = _DIURNAL / _DIURNAL.sum()
_QUANTITY_SHARES = (0.86, 0.10, 0.03, 0.01)  # 1 .. 4 units per line
MEAN_QUANTITY = sum((i + 1) * p for i, p in enumerate(_QUANTITY_SHARES))
CANCEL_RATE = 0.03
LATE_RATE = 0.02
BURST_LATE_RATE = 0.45
PENDING_SHARE_LAST_DAY = 0.7  # of the last day's orders, on platforms with unpriced pending
PROMOTION_SHARE = 0.12
REFUND_RATE = 0.05  # of delivered lines
PHYSICAL_RETURN_SHARE = 0.7  # of refunds; the rest are "returnless" refunds
CS_TICKET_RATE = 0.04  # tickets per order
BRUSHING_ORDERS = 24
ROAS_DROP_FACTOR = 0.25

STATUS_LABELS = [
    OrderStatus.PENDING.value,
    OrderStatus.UNSHIPPED.value,
    OrderStatus.SHIPPED.value,
    OrderStatus.DELIVERED.value,
    OrderStatus.CANCELLED.value,
]
PENDING, UNSHIPPED, SHIPPED, DELIVERED, CANCELLED = range(5)

REFUND_REASONS = ["not_as_described", "defective", "no_longer_needed", "wrong_item", "damaged"]
RETURN_DISPOSITIONS = ["SELLABLE", "CUSTOMER_DAMAGED", "DEFECTIVE", "CARRIER_DAMAGED"]
_DISPOSITION_SHARES = (0.55, 0.2, 0.15, 0.1)

# Postal-code shapes by buyer country: 9 = digit, A = letter, anything else literally.
_POSTAL_PATTERNS = {
    "US": "99999",
    "GB": "AA9 9AA",
    "JP": "999-9999",
    "CA": "A9A 9A9",
    "SG": "999999",
    "PH": "9999",
    "DE": "99999",
    "MY": "99999",
    "TH": "99999",
}
_TITLE_ADJECTIVES = [
    "Compact",
    "Premium",
    "Foldable",
    "Eco",
    "Classic",
    "Smart",
    "Soft",
    "Heavy-Duty",
]
_TITLE_NOUNS = [
    "Storage Box",
    "Desk Lamp",
    "Water Bottle",
    "Phone Stand",
    "Cushion Cover",
    "Kitchen Scale",
    "Travel Pouch",
    "Cable Organiser",
    "Yoga Mat",
    "Tea Towel Set",
]
_TITLE_VARIANTS = ["Black", "White", "Grey", "Blue", "Green", "2-Pack", "Large", "Small"]
_CAMPAIGN_THEMES = ["Auto", "Exact", "Brand", "Category", "Retarget"]


def epoch_day(day: date) -> int:
    return day.toordinal() - EPOCH_ORDINAL


def _utc_offsets(timezone: str, first: date, days: int) -> np.ndarray:
    """Seconds east of UTC at local noon of each day (DST changes at night, not at noon)."""
    zone = ZoneInfo(timezone)
    offsets = np.empty(days, dtype=np.int64)
    for i in range(days):
        day = first + timedelta(days=i)
        offset = datetime(day.year, day.month, day.day, 12, tzinfo=zone).utcoffset()
        assert offset is not None
        offsets[i] = int(offset.total_seconds())
    return offsets


_OFFSET_CACHE: dict[tuple[str, date, int], np.ndarray] = {}


def utc_offsets(timezone: str, first: date, days: int) -> np.ndarray:
    key = (timezone, first, days)
    if key not in _OFFSET_CACHE:
        _OFFSET_CACHE[key] = _utc_offsets(timezone, first, days)
    return _OFFSET_CACHE[key]


def _round_minor(amount: np.ndarray, minor_digits: int) -> np.ndarray:
    """Currency amounts (floats) to raw 0.0001 units, rounded to the currency's minor unit."""
    step = 10 ** (4 - minor_digits)
    result: np.ndarray = (np.rint(amount * (col.MONEY_SCALE / step)) * step).astype(np.int64)
    return result


def _affine_mod(x: np.ndarray, multiplier: int, increment: int, modulus: int) -> np.ndarray:
    """A bijection of [0, modulus) (multiplier coprime to modulus) that scrambles serials."""
    result: np.ndarray = ((x % modulus) * multiplier + increment) % modulus
    return result


@dataclass(frozen=True, slots=True)
class Catalog:
    """A store's SKUs, ordered by popularity rank (rank 0 sells most and is listed first)."""

    sku: pa.Array
    item_id: pa.Array
    title: pa.Array
    activation_day: np.ndarray  # days after launch the SKU goes live (ascending)
    popularity_cdf: np.ndarray
    unit_price: np.ndarray  # raw money units
    unit_cost: np.ndarray
    fulfilment_fee: np.ndarray  # per unit, raw
    conversion: np.ndarray  # units per session
    refund_propensity: np.ndarray


def build_catalog(store: DemoStore, profile: PlatformProfile, rng: np.random.Generator) -> Catalog:
    n = store.sku_count
    currency = CURRENCIES[store.currency]
    first_wave = max(1, int(np.ceil(n * 0.4)))
    activation = np.sort(
        np.concatenate([np.zeros(first_wave, dtype=np.int64), rng.integers(1, 76, n - first_wave)])
    )
    weights = 1.0 / np.arange(1, n + 1) ** 1.1
    raw_price = currency.typical_unit_price * rng.lognormal(0.0, 0.45, n)
    if currency.minor_digits == 2:
        price = np.maximum(np.ceil(raw_price) - 0.01, 1.99)  # charm prices: 19.99
    else:
        magnitude = 10.0 ** np.maximum(np.floor(np.log10(raw_price)) - 1, 0)
        price = np.round(raw_price / magnitude) * magnitude
    unit_price = _round_minor(price, currency.minor_digits)
    unit_cost = _round_minor(price * rng.uniform(0.22, 0.38, n), currency.minor_digits)
    fee = _round_minor(
        currency.typical_unit_price
        * profile.fulfillment_fee_share_of_price
        * rng.uniform(0.8, 1.3, n),
        currency.minor_digits,
    )
    prefix = f"{store.site}-{profile.name[:2].upper()}-"
    sku = pa.array([f"{prefix}{i + 1:04d}" for i in range(n)], pa.string())
    if profile.item_id_alphanumeric:
        body = col.base36(rng.integers(0, 36**profile.item_id_digits, n), profile.item_id_digits)
    else:
        body = col.digits(
            rng.integers(0, 10 ** min(profile.item_id_digits, 18), n), profile.item_id_digits
        )
    item_id = col.strings(col.literal(profile.item_id_prefix, n), body)
    titles = [
        f"{_TITLE_ADJECTIVES[a]} {_TITLE_NOUNS[b]} - {_TITLE_VARIANTS[c]}"
        for a, b, c in zip(
            rng.integers(0, len(_TITLE_ADJECTIVES), n),
            rng.integers(0, len(_TITLE_NOUNS), n),
            rng.integers(0, len(_TITLE_VARIANTS), n),
            strict=True,
        )
    ]
    return Catalog(
        sku=sku,
        item_id=item_id,
        title=pa.array(titles, pa.string()),
        activation_day=activation,
        popularity_cdf=np.cumsum(weights),
        unit_price=unit_price,
        unit_cost=unit_cost,
        fulfilment_fee=fee,
        conversion=rng.uniform(0.05, 0.15, n),
        refund_propensity=rng.uniform(0.5, 1.5, n),
    )


Tables = dict[str, list[pa.Table]]


class StoreGenerator:
    """All facts of one store; ``window(first, last)`` yields those of local days [first, last)."""

    def __init__(self, spec: DemoSpec, store: DemoStore) -> None:
        self.spec = spec
        self.store = store
        self.profile = PLATFORMS[store.platform]
        self.currency = CURRENCIES[store.currency]
        self.days = (spec.end - spec.start).days + 1
        self.start_epoch = epoch_day(spec.start)
        # offsets[i + 1] is the offset of spec day i; padded for ship-by dates after the end
        self.offsets = utc_offsets(store.timezone, spec.start - timedelta(days=1), self.days + 15)
        self.factors = demand_factors(store, spec.start, spec.end)
        self.since_launch = np.arange(self.days) + (spec.start - store.launch_date).days
        self.catalog = build_catalog(store, self.profile, self._rng("catalog"))
        self.active_count = np.searchsorted(
            self.catalog.activation_day, self.since_launch, side="right"
        )
        self.mean_price = float(self.catalog.unit_price.mean()) / col.MONEY_SCALE
        total_orders = store.daily_orders_at_maturity * float(self.factors.sum())
        self.buyer_pool = max(50, int(total_orders * 0.8))
        self.cutoff_s = (self.start_epoch + self.days) * DAY - int(self.offsets[self.days])
        self.anomalies = {a.kind: a for a in spec.anomalies if a.store_id == store.store_id}

    # --- helpers ---------------------------------------------------------------------------

    def _rng(self, stream: str, first: int = 0) -> np.random.Generator:
        stream_key = int.from_bytes(stream.encode("ascii")[:8].ljust(8, b"\0"), "big")
        return np.random.default_rng([self.spec.seed, self.store.store_id, first, stream_key])

    def _offset(self, day_index: np.ndarray) -> np.ndarray:
        result: np.ndarray = self.offsets[np.clip(day_index + 1, 0, len(self.offsets) - 1)]
        return result

    def _utc_seconds(self, day_index: np.ndarray, seconds_of_day: np.ndarray) -> np.ndarray:
        """UTC epoch seconds of local wall-clock times, exact on DST change days too.

        A wall time skipped by a spring-forward change moves forward by the gap; a
        repeated one (autumn) is read as the first, daylight-saving occurrence.
        """
        wall = ((self.start_epoch + day_index) * DAY + seconds_of_day).astype("datetime64[s]")
        local = pd.DatetimeIndex(wall).tz_localize(
            self.store.timezone,
            ambiguous=np.ones(len(wall), dtype=bool),
            nonexistent="shift_forward",
        )
        result: np.ndarray = local.tz_convert("UTC").as_unit("s").asi8
        return result

    def _anomaly_days(self, kind: AnomalyKind) -> tuple[int, int] | None:
        anomaly = self.anomalies.get(kind)
        if anomaly is None:
            return None
        first = (anomaly.start - self.spec.start).days
        return first, first + anomaly.days

    def _ids(
        self, day_index: np.ndarray, index_in_day: np.ndarray, rng: np.random.Generator
    ) -> pa.Array:
        """Platform-shaped order ids, unique per (store, local day, index within the day)."""
        n = len(day_index)
        epoch = self.start_epoch + day_index
        serial = epoch.astype(np.int64) * 100_000 + index_in_day
        scrambled = _affine_mod(
            self.store.store_id * 3_000_000_000 + serial, 40_503, 7_919_113, 10**14
        )
        style = self.profile.order_id_style
        if style == OrderIdStyle.AMAZON:
            return col.strings(
                col.digits(rng.integers(111, 115, n), 3),
                col.literal("-", n),
                col.digits(scrambled // 10**7, 7),
                col.literal("-", n),
                col.digits(scrambled, 7),
            )
        if style == OrderIdStyle.SHOPEE:
            as_date = epoch.astype("datetime64[D]")
            year = as_date.astype("datetime64[Y]").astype(np.int64) + 1970
            month_start = as_date.astype("datetime64[M]")
            month = month_start.astype(np.int64) % 12 + 1
            day = (as_date - month_start.astype("datetime64[D]")).astype(np.int64) + 1
            within_day = _affine_mod(
                self.store.store_id * 100_000 + index_in_day, 40_507, 123_457, 36**8
            )
            return col.strings(
                col.digits(year % 100, 2),
                col.digits(month, 2),
                col.digits(day, 2),
                col.base36(within_day, 8),
            )
        if style == OrderIdStyle.TIKTOK:
            return col.strings(
                col.literal("57", n),
                col.digits(rng.integers(0, 100, n), 2),
                col.digits(scrambled, 14),
            )
        raise ValueError(f"unknown order id style {style!r}")

    def _postal_codes(self, rng: np.random.Generator, n: int) -> pa.Array:
        pattern = _POSTAL_PATTERNS.get(self.store.ship_country, "99999")
        parts = []
        for char in pattern:
            if char == "9":
                parts.append(col.digits(rng.integers(0, 10, n), 1))
            elif char == "A":
                parts.append(col.letters(rng, n, 1))
            else:
                parts.append(col.literal(char, n))
        return col.strings(*parts)

    def _buyer_refs(self, buyer: np.ndarray) -> pa.Array:
        key = (
            (np.int64(self.spec.seed % 2**20) << 44) ^ (np.int64(self.store.store_id) << 26) ^ buyer
        )
        return col.strings(col.hex64(col.splitmix64(key)))

    # --- windows ---------------------------------------------------------------------------

    def window(self, first: int, last: int) -> Tables:
        tables: Tables = {}
        if last <= first:
            return tables
        orders = self._orders(first, last, tables)
        if orders is not None:
            self._after_sales(first, orders, tables)
        self._ads(first, last, tables)
        self._traffic(first, last, tables)
        self._listings(first, last, tables)
        self._account_health(first, last, tables)
        if first == 0:
            self._cogs(tables)
        return tables

    def _orders(self, first: int, last: int, tables: Tables) -> _Orders | None:
        rng = self._rng("orders", first)
        store, profile = self.store, self.profile
        days = np.arange(first, last)
        noise = rng.lognormal(-0.5 * 0.12**2, 0.12, len(days))
        counts = rng.poisson(store.daily_orders_at_maturity * self.factors[first:last] * noise)
        assert counts.max(initial=0) < 90_000, "more than 90,000 orders a day in one store"
        n_regular = int(counts.sum())
        order_day = np.repeat(days, counts)
        index_in_day = np.arange(n_regular) - np.repeat(np.cumsum(counts) - counts, counts)
        seconds = rng.choice(24, n_regular, p=_DIURNAL) * HOUR + rng.integers(0, HOUR, n_regular)
        # most buyers order once or twice; a loyal twentieth of them place a fifth of orders
        loyal = rng.random(n_regular) < 0.2
        buyer = np.where(
            loyal,
            rng.integers(0, max(1, self.buyer_pool // 20), n_regular),
            rng.integers(0, self.buyer_pool, n_regular),
        )
        channel = rng.choice(
            len(profile.fulfillment_channels), n_regular, p=profile.fulfillment_shares
        )
        cancelled = rng.random(n_regular) < CANCEL_RATE
        business = rng.random(n_regular) < (
            0.08 if profile.platform_fulfilled_channel == "AFN" else 0.0
        )
        postal = self._postal_codes(rng, n_regular)
        brushing = np.zeros(n_regular, dtype=bool)

        brushing_days = self._anomaly_days(AnomalyKind.BRUSHING)
        if brushing_days is not None and first <= brushing_days[0] < last:
            # one new buyer, one hour, one cheap SKU, many orders: a brushing pattern
            day = brushing_days[0]
            k = BRUSHING_ORDERS
            order_day = np.concatenate([order_day, np.full(k, day)])
            index_in_day = np.concatenate([index_in_day, counts[day - first] + np.arange(k)])
            seconds = np.concatenate([seconds, 3 * HOUR + np.sort(rng.integers(0, HOUR, k))])
            buyer = np.concatenate([buyer, np.full(k, self.buyer_pool + 1_000_003)])
            seller_channel = (
                1 if profile.platform_fulfilled_channel == profile.fulfillment_channels[0] else 0
            )
            channel = np.concatenate([channel, np.full(k, seller_channel)])
            cancelled = np.concatenate([cancelled, np.zeros(k, dtype=bool)])
            business = np.concatenate([business, np.zeros(k, dtype=bool)])
            one_postal = self._postal_codes(rng, 1)
            postal = pa.concat_arrays(
                [postal, pc.take(one_postal, pa.array(np.zeros(k, dtype=np.int64)))]
            )
            brushing = np.concatenate([brushing, np.ones(k, dtype=bool)])

        n = len(order_day)
        if n == 0:
            return None
        purchase_s = self._utc_seconds(order_day, seconds)
        promised_day = order_day + profile.handling_days
        promised_s = self._utc_seconds(promised_day, np.full(n, DAY - 1))
        late_rate = np.full(n, LATE_RATE)
        burst = self._anomaly_days(AnomalyKind.LATE_SHIPMENT_BURST)
        if burst is not None:
            late_rate[(order_day >= burst[0]) & (order_day < burst[1])] = BURST_LATE_RATE
        late = rng.random(n) < late_rate
        ship_window = promised_s - purchase_s
        on_time_lag = np.minimum(rng.lognormal(np.log(18 * HOUR), 0.6, n), 0.9 * ship_window)
        late_lag = ship_window + rng.uniform(2 * HOUR, 72 * HOUR, n)
        shipped_s = purchase_s + np.where(late, late_lag, on_time_lag).astype(np.int64)
        delivered_s = shipped_s + rng.uniform(1.5 * DAY, 6 * DAY, n).astype(np.int64)

        pending = (
            profile.reports_unpriced_pending
            & (order_day == self.days - 1)
            & ~cancelled
            & (rng.random(n) < PENDING_SHARE_LAST_DAY)
        )
        status = np.select(
            [cancelled, pending, shipped_s > self.cutoff_s, delivered_s > self.cutoff_s],
            [CANCELLED, PENDING, UNSHIPPED, SHIPPED],
            DELIVERED,
        )
        has_shipped = (status == SHIPPED) | (status == DELIVERED)
        order_id = self._ids(order_day, index_in_day, rng)
        tables.setdefault("orders", []).append(
            col.make_table(
                "orders",
                {
                    "store_id": col.ints(np.full(n, store.store_id)),
                    "order_id": order_id,
                    "purchase_ts": col.timestamps(purchase_s * col.US_PER_SECOND),
                    "status": col.pick(STATUS_LABELS, status),
                    "fulfillment_channel": col.pick(list(profile.fulfillment_channels), channel),
                    "currency": col.pick([store.currency], np.zeros(n, dtype=np.int64)),
                    "is_business": col.bools(business),
                    "buyer_ref": self._buyer_refs(buyer),
                    "ship_country": col.pick(
                        [store.ship_country or store.site], np.zeros(n, dtype=np.int64)
                    ),
                    "ship_postal_code": postal,
                    "promised_ship_by_ts": col.timestamps(promised_s * col.US_PER_SECOND),
                    "shipped_ts": col.timestamps(shipped_s * col.US_PER_SECOND, has_shipped),
                    "delivered_ts": col.timestamps(
                        delivered_s * col.US_PER_SECOND, status == DELIVERED
                    ),
                },
            )
        )
        return self._order_lines(
            rng,
            tables,
            order_id,
            order_day,
            channel,
            status,
            brushing,
            shipped_s,
            delivered_s,
            purchase_s,
        )

    def _order_lines(
        self,
        rng: np.random.Generator,
        tables: Tables,
        order_id: pa.Array,
        order_day: np.ndarray,
        channel: np.ndarray,
        status: np.ndarray,
        brushing: np.ndarray,
        shipped_s: np.ndarray,
        delivered_s: np.ndarray,
        purchase_s: np.ndarray,
    ) -> _Orders:
        store, catalog, minor = self.store, self.catalog, self.currency.minor_digits
        n = len(order_day)
        lines_per_order = 1 + rng.choice(3, n, p=LINES_PER_ORDER_SHARES)
        lines_per_order[brushing] = 1
        n_lines = int(lines_per_order.sum())
        line_order = np.repeat(np.arange(n), lines_per_order)
        line_no = np.arange(n_lines) - np.repeat(
            np.cumsum(lines_per_order) - lines_per_order, lines_per_order
        )
        line_day = order_day[line_order]
        active = self.active_count[line_day]
        cdf = catalog.popularity_cdf
        sku = np.minimum(
            np.searchsorted(cdf, rng.random(n_lines) * cdf[active - 1], side="right"), active - 1
        )
        quantity = 1 + rng.choice(len(_QUANTITY_SHARES), n_lines, p=_QUANTITY_SHARES)
        line_brushing = brushing[line_order]
        sku[line_brushing] = active[line_brushing] - 1  # the least popular live SKU
        quantity[line_brushing] = 1

        item_price = catalog.unit_price[sku] * quantity
        promoted = rng.random(n_lines) < PROMOTION_SHARE
        discount = np.where(
            promoted,
            _round_minor(item_price / col.MONEY_SCALE * rng.uniform(0.05, 0.25, n_lines), minor),
            0,
        )
        rate = store.tax_rate
        tax_share = rate / (1 + rate) if store.prices_include_tax else rate
        item_tax = _round_minor((item_price - discount) / col.MONEY_SCALE * tax_share, minor)
        pays_shipping = (rng.random(n) < self.profile.buyer_shipping_share)[line_order] & (
            line_no == 0
        )
        shipping = np.where(
            pays_shipping,
            _round_minor(np.full(n_lines, self.currency.typical_unit_price * 0.15), minor),
            0,
        )
        shipping_tax = _round_minor(shipping / col.MONEY_SCALE * tax_share, minor)
        priced = status[line_order] != PENDING

        line_order_ids = order_id.take(pa.array(line_order))
        scrambled = _affine_mod(
            line_order * 4 + line_no + self.store.store_id * 7_777_777, 40_503, 31_337, 10**14
        )
        tables.setdefault("order_lines", []).append(
            col.make_table(
                "order_lines",
                {
                    "store_id": col.ints(np.full(n_lines, store.store_id)),
                    "order_id": line_order_ids,
                    "line_id": col.strings(col.digits(scrambled, 14)),
                    "sku": catalog.sku.take(pa.array(sku)),
                    "platform_item_id": catalog.item_id.take(pa.array(sku)),
                    "quantity": col.ints(quantity),
                    "item_price": col.money(item_price, priced),
                    "item_tax": col.money(item_tax, priced),
                    "shipping_price": col.money(shipping, priced),
                    "shipping_tax": col.money(shipping_tax, priced),
                    "promotion_discount": col.money(discount, priced),
                    "currency": col.pick([store.currency], np.zeros(n_lines, dtype=np.int64)),
                },
            )
        )
        return _Orders(
            order_id=order_id,
            purchase_s=purchase_s,
            status=status,
            channel=channel,
            shipped_s=shipped_s,
            delivered_s=delivered_s,
            line_order=line_order,
            line_no=line_no,
            line_order_id=line_order_ids,
            line_sku=sku,
            quantity=quantity,
            item_price=item_price,
        )

    def _after_sales(self, first: int, orders: _Orders, tables: Tables) -> None:
        """Refunds, returns, fees and customer-service tickets that follow the orders."""
        rng = self._rng("aftersal", first)
        store, catalog, minor = self.store, self.catalog, self.currency.minor_digits
        n_lines = len(orders.line_order)
        line_status = orders.status[orders.line_order]
        delivered = orders.delivered_s[orders.line_order]
        currency = store.currency

        # refunds and physical returns arrive days after delivery, some in the next month
        refunded = (line_status == DELIVERED) & (
            rng.random(n_lines) < REFUND_RATE * catalog.refund_propensity[orders.line_sku]
        )
        physical = rng.random(n_lines) < PHYSICAL_RETURN_SHARE
        return_s = delivered + rng.uniform(2 * DAY, 20 * DAY, n_lines).astype(np.int64)
        refund_s = np.where(
            physical,
            return_s + rng.uniform(0.1 * DAY, 4 * DAY, n_lines).astype(np.int64),
            delivered + rng.uniform(1 * DAY, 12 * DAY, n_lines).astype(np.int64),
        )
        refunded &= refund_s <= self.cutoff_s
        partial = rng.random(n_lines) < 0.2
        amount = np.where(
            partial,
            _round_minor(
                orders.item_price / col.MONEY_SCALE * rng.uniform(0.3, 0.7, n_lines), minor
            ),
            orders.item_price,
        )
        reason = rng.integers(0, len(REFUND_REASONS), n_lines)
        line_no_text = col.digits(orders.line_no + 1, 1)
        r = np.flatnonzero(refunded)
        tables.setdefault("refunds", []).append(
            col.make_table(
                "refunds",
                {
                    "store_id": col.ints(np.full(len(r), store.store_id)),
                    "refund_id": _suffixed(orders.line_order_id, r, "-R", line_no_text),
                    "order_id": orders.line_order_id.take(pa.array(r)),
                    "sku": catalog.sku.take(pa.array(orders.line_sku[r])),
                    "refund_ts": col.timestamps(refund_s[r] * col.US_PER_SECOND),
                    "amount": col.money(amount[r]),
                    "currency": col.pick([currency], np.zeros(len(r), dtype=np.int64)),
                    "reason": col.pick(REFUND_REASONS, reason[r]),
                },
            )
        )
        x = np.flatnonzero(refunded & physical)
        tables.setdefault("returns", []).append(
            col.make_table(
                "returns",
                {
                    "store_id": col.ints(np.full(len(x), store.store_id)),
                    "return_id": _suffixed(orders.line_order_id, x, "-X", line_no_text),
                    "order_id": orders.line_order_id.take(pa.array(x)),
                    "sku": catalog.sku.take(pa.array(orders.line_sku[x])),
                    "return_ts": col.timestamps(return_s[x] * col.US_PER_SECOND),
                    "quantity": col.ints(orders.quantity[x]),
                    "reason": col.pick(REFUND_REASONS, reason[x]),
                    "disposition": col.pick(
                        RETURN_DISPOSITIONS,
                        rng.choice(len(RETURN_DISPOSITIONS), len(x), p=_DISPOSITION_SHARES),
                    ),
                },
            )
        )

        # fees are charged when the line ships: a commission on every line, a fulfilment
        # fee per unit when the platform fulfils
        shipped = (line_status == SHIPPED) | (line_status == DELIVERED)
        s = np.flatnonzero(shipped)
        posted = orders.shipped_s[orders.line_order]
        commission = _round_minor(
            orders.item_price[s] / col.MONEY_SCALE * self.profile.commission_rate, minor
        )
        channels = self.profile.fulfillment_channels
        fulfilled_code = (
            channels.index(self.profile.platform_fulfilled_channel)
            if self.profile.platform_fulfilled_channel in channels
            else -1
        )
        f = np.flatnonzero(shipped & (orders.channel[orders.line_order] == fulfilled_code))
        fee_rows = np.concatenate([s, f])
        fee_type_code = np.concatenate(
            [np.zeros(len(s), dtype=np.int64), np.ones(len(f), dtype=np.int64)]
        )
        fee_amount = np.concatenate(
            [commission, catalog.fulfilment_fee[orders.line_sku[f]] * orders.quantity[f]]
        )
        suffix = np.where(fee_type_code == 0, ord("C"), ord("F")).astype(np.uint8)[:, None]
        fee_ids = col.strings(
            col.literal("-", len(fee_rows)),
            line_no_text[fee_rows],
            col.literal("-", len(fee_rows)),
            suffix,
        )
        tables.setdefault("fees", []).append(
            col.make_table(
                "fees",
                {
                    "store_id": col.ints(np.full(len(fee_rows), store.store_id)),
                    "fee_id": pc.binary_join_element_wise(
                        orders.line_order_id.take(pa.array(fee_rows)), fee_ids, ""
                    ),
                    "posted_ts": col.timestamps(posted[fee_rows] * col.US_PER_SECOND),
                    "order_id": orders.line_order_id.take(pa.array(fee_rows)),
                    "sku": catalog.sku.take(pa.array(orders.line_sku[fee_rows])),
                    "fee_type": col.pick(
                        [self.profile.commission_fee_type, self.profile.fulfillment_fee_type],
                        fee_type_code,
                    ),
                    "amount": col.money(fee_amount),
                    "currency": col.pick([currency], np.zeros(len(fee_rows), dtype=np.int64)),
                },
            )
        )

        # customer-service tickets about a few orders, answered within hours
        n = len(orders.status)
        opened = orders.purchase_s + rng.uniform(0.5 * HOUR, 12 * DAY, n).astype(np.int64)
        ticket = (rng.random(n) < CS_TICKET_RATE) & (opened <= self.cutoff_s)
        first_response = opened + rng.lognormal(np.log(5 * HOUR), 0.9, n).astype(np.int64)
        resolved = first_response + rng.lognormal(np.log(20 * HOUR), 0.8, n).astype(np.int64)
        t = np.flatnonzero(ticket)
        tables.setdefault("cs_tickets", []).append(
            col.make_table(
                "cs_tickets",
                {
                    "store_id": col.ints(np.full(len(t), store.store_id)),
                    "ticket_id": pc.binary_join_element_wise(
                        "T", orders.order_id.take(pa.array(t)), ""
                    ),
                    "opened_ts": col.timestamps(opened[t] * col.US_PER_SECOND),
                    "first_response_ts": col.timestamps(
                        first_response[t] * col.US_PER_SECOND, first_response[t] <= self.cutoff_s
                    ),
                    "resolved_ts": col.timestamps(
                        resolved[t] * col.US_PER_SECOND, resolved[t] <= self.cutoff_s
                    ),
                    "channel": col.pick(
                        list(self.profile.cs_channels),
                        rng.integers(0, len(self.profile.cs_channels), len(t)),
                    ),
                },
            )
        )

    def _ads(self, first: int, last: int, tables: Tables) -> None:
        """Campaigns start five days after launch; spend is high and ROAS low while ramping."""
        campaign_rng = self._rng("campaign")
        rng = self._rng("ads", first)
        minor = self.currency.minor_digits
        products = self.profile.ad_products
        campaign_product = np.concatenate(
            [np.full(2 if p.spend_share >= 0.5 else 1, i) for i, p in enumerate(products)]
        )
        n_campaigns = len(campaign_product)
        share = np.asarray([products[p].spend_share for p in campaign_product])
        share = share / np.bincount(campaign_product)[campaign_product]
        base_roas = campaign_rng.uniform(2.0, 4.0, n_campaigns)
        cpc = self.currency.typical_unit_price * campaign_rng.uniform(0.03, 0.05, n_campaigns)
        ctr = campaign_rng.uniform(0.003, 0.008, n_campaigns)
        theme = campaign_rng.integers(0, len(_CAMPAIGN_THEMES), n_campaigns)

        days = np.arange(first, last)
        t = self.since_launch[first:last] - 5
        live_days = days[t >= 0]
        if len(live_days) == 0:
            return
        t = self.since_launch[live_days] - 5
        day = np.repeat(live_days, n_campaigns)
        c = np.tile(np.arange(n_campaigns), len(live_days))
        tc = np.repeat(t, n_campaigns)
        n = len(day)
        expected_gmv = (
            self.store.daily_orders_at_maturity
            * self.factors[day]
            * MEAN_LINES_PER_ORDER
            * MEAN_QUANTITY
            * self.mean_price
        )
        tacos = 0.09 + 0.15 * np.exp(-tc / 30)
        cost_f = expected_gmv * tacos * share[c] * rng.lognormal(-0.5 * 0.25**2, 0.25, n)
        roas = (
            base_roas[c]
            * (0.45 + 0.55 * (1 - np.exp(-tc / 25)))
            * rng.lognormal(-0.5 * 0.2**2, 0.2, n)
        )
        drop = self._anomaly_days(AnomalyKind.ROAS_DROP)
        if drop is not None:
            roas = np.where((day >= drop[0]) & (day < drop[1]), roas * ROAS_DROP_FACTOR, roas)
        clicks = np.rint(cost_f / cpc[c]).astype(np.int64)
        cost = _round_minor(cost_f, minor)
        sales_f = cost_f * roas
        aov = self.mean_price * MEAN_QUANTITY * 1.1
        attributed_orders = np.rint(sales_f / aov).astype(np.int64)
        sales = _round_minor(attributed_orders * aov, minor)  # whole orders only
        units = attributed_orders + rng.binomial(attributed_orders, 0.12)
        impressions = np.rint(clicks / ctr[c] * rng.uniform(0.85, 1.15, n)).astype(np.int64)
        site = self.store.site
        name_labels = [
            f"{products[product].label} | {_CAMPAIGN_THEMES[theme_index]} | {site} #{i + 1}"
            for i, (product, theme_index) in enumerate(zip(campaign_product, theme, strict=True))
        ]
        campaign_ids = [f"{self.store.store_id:06d}{i + 1:03d}" for i in range(n_campaigns)]
        tables.setdefault("ad_daily", []).append(
            col.make_table(
                "ad_daily",
                {
                    "store_id": col.ints(np.full(n, self.store.store_id)),
                    "date": col.dates(self.start_epoch + day),
                    "campaign_id": col.pick(campaign_ids, c),
                    "ad_type": col.pick([p.ad_type for p in products], campaign_product[c]),
                    "campaign_name": col.pick(name_labels, c),
                    "impressions": col.ints(impressions),
                    "clicks": col.ints(clicks),
                    "cost": col.money(cost),
                    "attributed_sales": col.money(sales),
                    "attributed_orders": col.ints(attributed_orders),
                    "attributed_units": col.ints(units),
                    "currency": col.pick([self.store.currency], np.zeros(n, dtype=np.int64)),
                    "attribution_days": col.ints(
                        np.asarray([p.attribution_days for p in products])[campaign_product[c]]
                    ),
                },
            )
        )

    def _sku_day_grid(self, day_list: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(day, sku) pairs of SKUs that are live on each of the given days."""
        counts = self.active_count[day_list]
        counts = np.where(self.since_launch[day_list] >= 0, counts, 0)
        day = np.repeat(day_list, counts)
        sku = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        return day, sku

    def _traffic(self, first: int, last: int, tables: Tables) -> None:
        """Sessions per live SKU and day, consistent with the SKU's conversion (5-15 %)."""
        rng = self._rng("traffic", first)
        day, sku = self._sku_day_grid(np.arange(first, last))
        if len(day) == 0:
            return
        cdf = self.catalog.popularity_cdf
        weight = np.diff(np.concatenate([[0.0], cdf]))
        share = weight[sku] / cdf[self.active_count[day] - 1]
        expected_units = (
            self.store.daily_orders_at_maturity
            * self.factors[day]
            * MEAN_LINES_PER_ORDER
            * MEAN_QUANTITY
            * share
        )
        sessions = rng.poisson(
            expected_units / self.catalog.conversion[sku] * rng.lognormal(-0.02, 0.2, len(day))
        )
        keep = np.flatnonzero(sessions > 0)  # platforms report only SKUs that had visits
        sessions = sessions[keep]
        page_views = sessions + rng.binomial(sessions, 0.45)
        tables.setdefault("traffic_daily", []).append(
            col.make_table(
                "traffic_daily",
                {
                    "store_id": col.ints(np.full(len(keep), self.store.store_id)),
                    "date": col.dates(self.start_epoch + day[keep]),
                    "sku": self.catalog.sku.take(pa.array(sku[keep])),
                    "sessions": col.ints(sessions),
                    "page_views": col.ints(page_views),
                },
            )
        )

    def _listings(self, first: int, last: int, tables: Tables) -> None:
        """Snapshots every N days and on the last day: live SKU count grows after launch."""
        every = self.spec.listing_snapshot_every_days
        days = np.arange(first, last)
        snapshot_days = days[(days % every == 0) | (days == self.days - 1)]
        day, sku = self._sku_day_grid(snapshot_days)
        if len(day) == 0:
            return
        catalog, n_skus = self.catalog, self.store.sku_count
        status_rng = self._rng("listing")
        # a few SKUs are suppressed for a while, a few are discontinued late in the period
        suppressed_from = status_rng.integers(0, self.days, n_skus)
        suppressed_until = suppressed_from + status_rng.integers(3, 11, n_skus)
        is_suppressible = status_rng.random(n_skus) < 0.04
        inactive_from = np.where(
            status_rng.random(n_skus) < 0.05,
            status_rng.integers(self.days // 2, self.days + 1, n_skus),
            10**9,
        )
        status = np.full(len(day), 0)
        status[
            is_suppressible[sku] & (day >= suppressed_from[sku]) & (day < suppressed_until[sku])
        ] = 2
        status[day >= inactive_from[sku]] = 1
        created_day = self.since_launch[0] * -1 + catalog.activation_day[sku]  # spec day index
        created_s = self._utc_seconds(created_day, np.full(len(day), 10 * HOUR))
        n = len(day)
        tables.setdefault("listings", []).append(
            col.make_table(
                "listings",
                {
                    "store_id": col.ints(np.full(n, self.store.store_id)),
                    "sku": catalog.sku.take(pa.array(sku)),
                    "snapshot_date": col.dates(self.start_epoch + day),
                    "platform_item_id": catalog.item_id.take(pa.array(sku)),
                    "title": catalog.title.take(pa.array(sku)),
                    "status": col.pick(
                        [
                            ListingStatus.ACTIVE.value,
                            ListingStatus.INACTIVE.value,
                            ListingStatus.SUPPRESSED.value,
                        ],
                        status,
                    ),
                    "created_ts": col.timestamps(created_s * col.US_PER_SECOND),
                    "price": col.money(catalog.unit_price[sku]),
                    "currency": col.pick([self.store.currency], np.zeros(n, dtype=np.int64)),
                },
            )
        )

    def _account_health(self, first: int, last: int, tables: Tables) -> None:
        """Weekly (Monday) snapshots from the first full week after launch."""
        rng = self._rng("health", first)
        days = np.arange(first, last)
        weekday = (days + self.spec.start.weekday()) % 7
        snap = days[(weekday == 0) & (self.since_launch[first:last] >= 7)]
        n = len(snap)
        if n == 0:
            return
        late = np.clip(rng.normal(LATE_RATE, 0.005, n), 0.0, None)
        burst = self._anomaly_days(AnomalyKind.LATE_SHIPMENT_BURST)
        if burst is not None:
            overlap = np.clip(np.minimum(snap, burst[1]) - np.maximum(snap - 30, burst[0]), 0, None)
            late += (BURST_LATE_RATE - LATE_RATE) * overlap / 30  # trailing-30-day rate
        odr = np.clip(rng.normal(0.005, 0.002, n), 0.0005, None)
        cancel = np.clip(rng.normal(CANCEL_RATE, 0.006, n), 0.0, None)
        tracking = rng.uniform(0.96, 0.995, n)
        lo, hi = self.profile.health_score_range
        quality = np.clip(
            rng.uniform(0.82, 0.97, n)
            - 4 * np.clip(late - 0.04, 0, None)
            - 10 * np.clip(odr - 0.01, 0, None),
            0,
            1,
        )
        at_risk = (late > 0.04) | (odr > 0.01)
        tables.setdefault("account_health", []).append(
            col.make_table(
                "account_health",
                {
                    "store_id": col.ints(np.full(n, self.store.store_id)),
                    "snapshot_date": col.dates(self.start_epoch + snap),
                    "order_defect_rate": col.floats(np.round(odr, 4)),
                    "late_shipment_rate": col.floats(np.round(late, 4)),
                    "pre_fulfillment_cancel_rate": col.floats(np.round(cancel, 4)),
                    "valid_tracking_rate": col.floats(np.round(tracking, 4)),
                    "ahr_score": col.floats(np.round(lo + (hi - lo) * quality, 1)),
                    "status": col.pick(["healthy", "at_risk"], at_risk.astype(np.int64)),
                },
            )
        )

    def _cogs(self, tables: Tables) -> None:
        """Unit cost from two weeks before each SKU's first day; a quarter get a price rise."""
        rng = self._rng("cogs")
        catalog, n = self.catalog, self.store.sku_count
        first_valid = epoch_day(self.store.launch_date) + catalog.activation_day - 14
        changed = np.flatnonzero(rng.random(n) < 0.25)
        change_day = self.start_epoch + rng.integers(30, max(31, self.days), len(changed))
        change_day = np.maximum(change_day, first_valid[changed] + 1)
        new_cost = _round_minor(
            catalog.unit_cost[changed] / col.MONEY_SCALE * rng.uniform(1.03, 1.12, len(changed)),
            self.currency.minor_digits,
        )
        sku = np.concatenate([np.arange(n), changed])
        rows = len(sku)
        tables.setdefault("cogs", []).append(
            col.make_table(
                "cogs",
                {
                    "store_id": col.ints(np.full(rows, self.store.store_id)),
                    "sku": catalog.sku.take(pa.array(sku)),
                    "valid_from": col.dates(np.concatenate([first_valid, change_day])),
                    "unit_cost": col.money(np.concatenate([catalog.unit_cost, new_cost])),
                    "currency": col.pick([self.store.currency], np.zeros(rows, dtype=np.int64)),
                },
            )
        )


def _suffixed(ids: pa.Array, rows: np.ndarray, marker: str, line_no_text: np.ndarray) -> pa.Array:
    """``<order id><marker><line number>`` for the given line rows."""
    tail = col.strings(col.literal(marker, len(rows)), line_no_text[rows])
    return pc.binary_join_element_wise(ids.take(pa.array(rows)), tail, "")


@dataclass(frozen=True, slots=True)
class _Orders:
    order_id: pa.Array
    purchase_s: np.ndarray
    status: np.ndarray
    channel: np.ndarray
    shipped_s: np.ndarray
    delivered_s: np.ndarray
    line_order: np.ndarray
    line_no: np.ndarray
    line_order_id: pa.Array
    line_sku: np.ndarray
    quantity: np.ndarray
    item_price: np.ndarray
