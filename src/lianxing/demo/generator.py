"""Streaming generation: one store (or one store-month, for big stores) at a time."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise

import numpy as np
import pyarrow as pa

from lianxing.demo import _columns as col
from lianxing.demo._store import StoreGenerator, epoch_day
from lianxing.demo.profiles import CURRENCIES
from lianxing.demo.spec import MEAN_LINES_PER_ORDER, DemoSpec
from lianxing.domain.facts import FACT_TABLES

FX_DAILY_VOLATILITY = 0.003  # standard deviation of the daily log change


def generate(spec: DemoSpec) -> Iterator[tuple[str, pa.Table]]:
    """Yield ``(fact table name, chunk)`` pairs covering every fact of the spec.

    Chunks of one table never share a natural key. About ``spec.chunk_rows`` order lines
    are held at a time; each chunk holds every table's rows for the stores it covers.
    ``fx_rates`` comes last, as one chunk.
    """
    pending: dict[str, list[pa.Table]] = {}
    pending_lines = 0
    for store in spec.stores:
        store_generator = StoreGenerator(spec, store)
        for first, last in _windows(spec, store_generator):
            for name, parts in store_generator.window(first, last).items():
                pending.setdefault(name, []).extend(parts)
                if name == "order_lines":
                    pending_lines += sum(part.num_rows for part in parts)
            if pending_lines >= spec.chunk_rows:
                yield from _flush(pending)
                pending, pending_lines = {}, 0
    yield from _flush(pending)
    yield "fx_rates", fx_rates(spec)


def _windows(spec: DemoSpec, store_generator: StoreGenerator) -> list[tuple[int, int]]:
    """The whole period at once, or calendar months when the store alone exceeds a chunk."""
    store = store_generator.store
    expected_lines = (
        store.daily_orders_at_maturity * float(store_generator.factors.sum()) * MEAN_LINES_PER_ORDER
    )
    days = store_generator.days
    if expected_lines <= spec.chunk_rows:
        return [(0, days)]
    dates = (epoch_day(spec.start) + np.arange(days)).astype("datetime64[D]")
    month_starts = np.flatnonzero(dates == dates.astype("datetime64[M]").astype("datetime64[D]"))
    bounds = sorted({0, *month_starts.tolist(), days})
    return list(pairwise(bounds))


def _flush(pending: dict[str, list[pa.Table]]) -> Iterator[tuple[str, pa.Table]]:
    for name in FACT_TABLES:
        parts = [part for part in pending.get(name, []) if part.num_rows]
        if parts:
            yield name, pa.concat_tables(parts)


def fx_rates(spec: DemoSpec) -> pa.Table:
    """USD per unit of every currency of the spec, each day: a small random walk."""
    days = (spec.end - spec.start).days + 1
    epoch_days = epoch_day(spec.start) + np.arange(days)
    currencies, rates = [], []
    for code in spec.currencies:
        traits = CURRENCIES[code]
        if code == "USD":
            walk = np.ones(days)
        else:
            # seeded per currency, so adding a store does not move the other currencies' rates
            code_key = int.from_bytes(code.encode("ascii"), "big")
            rng = np.random.default_rng([spec.seed, 0xF0, code_key])
            steps = rng.normal(0.0, FX_DAILY_VOLATILITY, days)
            steps[0] = 0.0
            walk = np.exp(np.cumsum(steps))
        currencies.append(np.full(days, code))
        rates.append(np.round(traits.usd_per_unit * walk, 8))
    n = days * len(spec.currencies)
    return col.make_table(
        "fx_rates",
        {
            "date": col.dates(np.tile(epoch_days, len(spec.currencies))),
            "currency": pa.array(np.concatenate(currencies).astype(str), pa.string())
            if n
            else pa.array([], pa.string()),
            "rate_to_usd": col.floats(np.concatenate(rates)),
        },
    )
