"""Realistic demo facts for several stores, platforms and currencies.

``generate(spec)`` yields ``(table name, pyarrow.Table)`` chunks whose columns are exactly
those of :data:`lianxing.domain.facts.FACT_TABLES` without ``source``/``batch_id``: money
as ``decimal128(18, 4)``, timestamps as naive-UTC ``timestamp[us]``, dates as ``date32``.
It is pure: no database is touched (``write_demo`` does that, through the warehouse).
The same spec and seed always give identical output; stores are generated one at a
time with numpy, so ten million order lines stream through in bounded memory.

What the data looks like
    * Orders ramp up over ~60 days after each store's launch date (``1 - exp(-t/20)``),
      with weekday seasonality, evening peaks in the marketplace's local time and ±12 %
      day-to-day noise. 1-3 lines per order, 1-4 units per line, SKU popularity Zipf-like
      (``1/rank^1.1``) among the SKUs live that day; new SKUs go live over ~75 days.
    * Prices in each store's currency (charm prices such as 19.99; whole yen/rupiah);
      ``item_price`` is the line total; tax added (US) or included (UK/EU VAT); ~12 % of
      lines carry a promotion discount; some orders pay shipping on their first line.
    * ~3 % of orders are cancelled. On platforms that report unpriced pending orders
      (Amazon), ~70 % of the last day's orders are ``pending`` with NULL prices.
    * ``promised_ship_by_ts`` is the end of the local day ``handling_days`` after purchase;
      ~2 % ship late; data is as extracted at the end of ``spec.end``, so recent orders are
      unshipped or not yet delivered.
    * Refunds (~5 % of delivered lines, some partial) and returns (70 % of refunds) arrive
      2-24 days after delivery, so some fall in the next month; none after the cut-off.
    * Fees when a line ships: a commission (Amazon referral fee 15 %) on every line and a
      per-unit fulfilment fee (FBA/FBS/FBT) when the platform fulfils. COGS per SKU from
      before its first sale, with a cost increase for a quarter of the SKUs.
    * Ads: campaigns per platform ad product (Amazon SP/SB/SD, Shopee search/discovery,
      TikTok GMV Max/VSA) from launch + 5 days; TACoS high while ramping, ROAS ~2-4 once
      mature. Traffic: sessions per live SKU and day at 5-15 % conversion. Listings:
      snapshots (daily by default, weekly in the benchmark) with the live count rising
      after launch, a few SKUs suppressed for a while or discontinued. Weekly (Monday)
      account-health snapshots. CS tickets for ~4 % of orders, first response in hours.
    * FX: USD per unit of every currency used (and USD = 1), every day of the period, as
      a random walk with 0.3 % daily volatility.
    * ``buyer_ref`` is a 64-bit hash (16 hex characters), never a raw buyer id.

Anomalies (``DemoSpec.anomalies``; ``default_demo_spec`` puts them in stores 1 and 2)
    * ``roas_drop``: in one store, for ``days`` days (7) attributed ad sales fall to 25 % of
      normal while spend is unchanged, so ROAS drops below 1.
    * ``brushing``: on one day one new buyer_ref places 24 one-unit orders of the store's
      least popular live SKU within one local hour (03:00-04:00), all to one postal code.
    * ``late_shipment_burst``: in one store, for ``days`` days (5), ~45 % of orders ship
      after ``promised_ship_by_ts``; the account-health late-shipment rate rises with it.
"""

from __future__ import annotations

from lianxing.demo.generator import generate
from lianxing.demo.spec import (
    AnomalyKind,
    DemoAnomaly,
    DemoSpec,
    DemoStore,
    benchmark_spec,
    default_demo_spec,
    expected_order_lines,
)
from lianxing.demo.write import write_demo

__all__ = [
    "AnomalyKind",
    "DemoAnomaly",
    "DemoSpec",
    "DemoStore",
    "benchmark_spec",
    "default_demo_spec",
    "expected_order_lines",
    "generate",
    "write_demo",
]
