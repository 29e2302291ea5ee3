"""What the demo generator is asked to produce: stores, period, seed, anomalies."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

import numpy as np

from lianxing.demo.profiles import CURRENCIES, PLATFORMS

# Orders grow from launch towards maturity: demand(t) = 1 - exp(-t / RAMP_TAU_DAYS) reaches
# 95 % of maturity after 3 * tau = 60 days, the "~60 day launch ramp" of a new store.
RAMP_TAU_DAYS = 20.0
# Monday .. Sunday demand multipliers (mean 1): weekends sell a little more.
WEEKDAY_FACTORS = (0.96, 0.94, 0.95, 0.97, 1.02, 1.09, 1.07)
LINES_PER_ORDER_SHARES = (0.76, 0.18, 0.06)  # 1, 2 or 3 lines
MEAN_LINES_PER_ORDER = sum((i + 1) * p for i, p in enumerate(LINES_PER_ORDER_SHARES))


class AnomalyKind(StrEnum):
    """Injected incidents that an alert or integrity check should catch."""

    ROAS_DROP = "roas_drop"  # attributed ad sales fall to ~25 % of normal, spend unchanged
    BRUSHING = "brushing"  # one buyer_ref places ~24 one-unit orders of one SKU within one hour
    LATE_SHIPMENT_BURST = "late_shipment_burst"  # ~45 % of orders ship after promised_ship_by


@dataclass(frozen=True, slots=True)
class DemoAnomaly:
    kind: AnomalyKind
    store_id: int
    start: date  # marketplace-local day the incident starts
    days: int = 7  # how long it lasts (brushing always happens within one hour of `start`)


@dataclass(frozen=True, slots=True)
class DemoStore:
    store_id: int
    platform: str  # key of PLATFORMS: amazon, shopee, tiktok
    site: str
    currency: str
    timezone: str  # IANA, the marketplace's reporting time zone
    launch_date: date
    sku_count: int
    daily_orders_at_maturity: float
    name: str = ""
    tax_rate: float = 0.0  # sales tax or VAT rate reported as item_tax
    prices_include_tax: bool = False  # EU/UK VAT is inside item_price
    ship_country: str = ""  # ISO 3166-1 alpha-2 of the buyers

    def __post_init__(self) -> None:
        if self.platform not in PLATFORMS:
            raise ValueError(f"store {self.store_id}: unknown platform {self.platform!r}")
        if self.currency not in CURRENCIES:
            raise ValueError(f"store {self.store_id}: unknown currency {self.currency!r}")
        if self.sku_count < 1:
            raise ValueError(f"store {self.store_id}: sku_count must be at least 1")


@dataclass(frozen=True, slots=True)
class DemoSpec:
    stores: tuple[DemoStore, ...]
    start: date  # first marketplace-local day with data
    end: date  # last local day; data is as extracted at the end of this day
    seed: int = 20_260_101
    anomalies: tuple[DemoAnomaly, ...] = ()
    listing_snapshot_every_days: int = 1  # 7 = weekly snapshots (plus one on `end`)
    chunk_rows: int = 500_000  # order lines per yielded orders/order_lines chunk (about)
    stores_by_id: dict[int, DemoStore] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"demo period ends ({self.end}) before it starts ({self.start})")
        by_id = {s.store_id: s for s in self.stores}
        if len(by_id) != len(self.stores):
            raise ValueError("demo store ids must be unique")
        for anomaly in self.anomalies:
            if anomaly.store_id not in by_id:
                raise ValueError(f"anomaly {anomaly.kind} names unknown store {anomaly.store_id}")
        object.__setattr__(self, "stores_by_id", by_id)

    @property
    def currencies(self) -> tuple[str, ...]:
        """Every currency used by a store, plus USD, sorted."""
        return tuple(sorted({s.currency for s in self.stores} | {"USD"}))


def demand_factors(store: DemoStore, start: date, end: date) -> np.ndarray:
    """Expected-orders multiplier per local day (launch ramp x weekday), 0 before launch."""
    days = np.arange((end - start).days + 1)
    since_launch = days + (start - store.launch_date).days
    ramp = np.where(since_launch >= 0, 1.0 - np.exp(-(since_launch + 1) / RAMP_TAU_DAYS), 0.0)
    weekday = np.asarray(WEEKDAY_FACTORS)[(days + start.weekday()) % 7]
    result: np.ndarray = ramp * weekday
    return result


def expected_order_lines(spec: DemoSpec) -> float:
    """Expected number of generated order lines (before anomalies), for sizing a spec."""
    orders = sum(
        s.daily_orders_at_maturity * float(demand_factors(s, spec.start, spec.end).sum())
        for s in spec.stores
    )
    return orders * MEAN_LINES_PER_ORDER


def _months_before(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    return date(year, month + 1, min(day.day, 28))


def default_demo_spec(today: date, *, seed: int = 20_260_101) -> DemoSpec:
    """Three stores (Amazon US, Shopee MY, TikTok Shop UK), six months ending yesterday.

    Amazon US has been live since before the period, Shopee MY launches early in it and
    TikTok Shop UK about seven weeks before its end, so the launch ramp is visible.
    """
    end = today - timedelta(days=1)
    start = _months_before(end, 6) + timedelta(days=1)
    stores = (
        DemoStore(
            1,
            "amazon",
            "US",
            "USD",
            "America/Los_Angeles",
            start - timedelta(days=40),
            sku_count=60,
            daily_orders_at_maturity=140,
            name="Amazon US · Demo Home",
            tax_rate=0.07,
            ship_country="US",
        ),
        DemoStore(
            2,
            "shopee",
            "MY",
            "MYR",
            "Asia/Kuala_Lumpur",
            start + timedelta(days=30),
            sku_count=80,
            daily_orders_at_maturity=220,
            name="Shopee MY · Demo Home",
            ship_country="MY",
        ),
        DemoStore(
            3,
            "tiktok",
            "UK",
            "GBP",
            "Europe/London",
            end - timedelta(days=50),
            sku_count=40,
            daily_orders_at_maturity=90,
            name="TikTok Shop UK · Demo Home",
            tax_rate=0.20,
            prices_include_tax=True,
            ship_country="GB",
        ),
    )
    anomalies = (
        DemoAnomaly(AnomalyKind.ROAS_DROP, 1, end - timedelta(days=24), days=7),
        DemoAnomaly(AnomalyKind.BRUSHING, 2, end - timedelta(days=12), days=1),
        DemoAnomaly(AnomalyKind.LATE_SHIPMENT_BURST, 1, end - timedelta(days=40), days=5),
    )
    return DemoSpec(stores, start, end, seed=seed, anomalies=anomalies)


# (platform, site, currency, timezone, tax_rate, prices_include_tax, ship_country, weight)
_BENCHMARK_SITES = (
    ("amazon", "US", "USD", "America/Los_Angeles", 0.07, False, "US", 5),
    ("amazon", "UK", "GBP", "Europe/London", 0.20, True, "GB", 2),
    ("amazon", "DE", "EUR", "Europe/Berlin", 0.19, True, "DE", 2),
    ("amazon", "JP", "JPY", "Asia/Tokyo", 0.10, True, "JP", 1),
    ("amazon", "CA", "CAD", "America/Toronto", 0.13, False, "CA", 1),
    ("shopee", "MY", "MYR", "Asia/Kuala_Lumpur", 0.0, False, "MY", 2),
    ("shopee", "SG", "SGD", "Asia/Singapore", 0.09, True, "SG", 1),
    ("shopee", "TH", "THB", "Asia/Bangkok", 0.07, True, "TH", 1),
    ("shopee", "PH", "PHP", "Asia/Manila", 0.12, True, "PH", 1),
    ("tiktok", "UK", "GBP", "Europe/London", 0.20, True, "GB", 2),
    ("tiktok", "US", "USD", "America/Los_Angeles", 0.07, False, "US", 2),
)


def benchmark_spec(
    order_lines: int,
    stores: int = 1000,
    *,
    end: date = date(2026, 9, 30),
    seed: int = 7,
) -> DemoSpec:
    """About ``stores`` stores on several platforms and currencies, sized to ~``order_lines``.

    Six months ending on ``end``. Store sizes vary (log-normal), about a third of the stores
    launch during the period, and every store sells 20-60 SKUs. Snapshots of listings are
    weekly to keep that table proportionate.
    """
    if order_lines < 1 or stores < 1:
        raise ValueError("order_lines and stores must be positive")
    start = _months_before(end, 6) + timedelta(days=1)
    period_days = (end - start).days + 1
    rng = np.random.default_rng([seed, 0xBE7C])
    weights = np.asarray([site[-1] for site in _BENCHMARK_SITES], dtype=float)
    site_index = rng.choice(len(_BENCHMARK_SITES), size=stores, p=weights / weights.sum())
    size = rng.lognormal(0.0, 0.8, size=stores)
    # a third launched during the period, the rest up to a year before it
    launch_offset = np.where(
        rng.random(stores) < 1 / 3,
        rng.integers(0, max(1, period_days - 30), size=stores),
        -rng.integers(0, 365, size=stores),
    )
    sku_counts = rng.integers(20, 61, size=stores)
    drafts = []
    for i in range(stores):
        platform, site, currency, tz, tax, incl, country, _ = _BENCHMARK_SITES[site_index[i]]
        drafts.append(
            DemoStore(
                store_id=i + 1,
                platform=platform,
                site=site,
                currency=currency,
                timezone=tz,
                launch_date=start + timedelta(days=int(launch_offset[i])),
                sku_count=int(sku_counts[i]),
                daily_orders_at_maturity=float(size[i]),
                name=f"Bench {platform} {site} #{i + 1}",
                tax_rate=tax,
                prices_include_tax=incl,
                ship_country=country,
            )
        )
    draft_spec = DemoSpec(tuple(drafts), start, end, seed=seed)
    expected = expected_order_lines(draft_spec)
    if expected <= 0:
        raise ValueError("benchmark stores have no demand in the period")
    scale = order_lines / expected
    sized = tuple(
        DemoStore(
            s.store_id,
            s.platform,
            s.site,
            s.currency,
            s.timezone,
            s.launch_date,
            s.sku_count,
            s.daily_orders_at_maturity * scale,
            s.name,
            s.tax_rate,
            s.prices_include_tax,
            s.ship_country,
        )
        for s in drafts
    )
    mature = [s for s in sized if s.launch_date <= start - timedelta(days=60)]
    anomaly_stores = (mature or list(sized))[:3]
    anomalies = (
        DemoAnomaly(
            AnomalyKind.ROAS_DROP, anomaly_stores[0].store_id, end - timedelta(days=30), days=7
        ),
        DemoAnomaly(
            AnomalyKind.BRUSHING, anomaly_stores[-1].store_id, end - timedelta(days=20), days=1
        ),
        DemoAnomaly(
            AnomalyKind.LATE_SHIPMENT_BURST,
            anomaly_stores[min(1, len(anomaly_stores) - 1)].store_id,
            end - timedelta(days=45),
            days=5,
        ),
    )
    return DemoSpec(
        sized, start, end, seed=seed, anomalies=anomalies, listing_snapshot_every_days=7
    )
