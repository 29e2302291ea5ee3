"""Local times convert to UTC exactly on daylight-saving change days."""

from __future__ import annotations

import dataclasses
from datetime import date

import pandas as pd

from lianxing.demo import default_demo_spec, generate


def test_no_order_falls_outside_the_period_in_local_time_on_a_spring_forward_start() -> None:
    # 2026-03-29 is the day London (and the rest of the EU) springs forward.
    spec = dataclasses.replace(default_demo_spec(date(2026, 4, 5)), start=date(2026, 3, 29))
    zones = {s.store_id: s.timezone for s in spec.stores}
    seen = 0
    for name, chunk in generate(spec):
        if name != "orders":
            continue
        frame = chunk.select(["store_id", "purchase_ts"]).to_pandas()
        for store_id, zone in zones.items():
            ts = frame.loc[frame.store_id == store_id, "purchase_ts"]
            local_days = pd.to_datetime(ts).dt.tz_localize("UTC").dt.tz_convert(zone).dt.date
            assert local_days.min() >= spec.start, zone
            assert local_days.max() <= spec.end, zone
            seen += len(ts)
    assert seen > 1000
