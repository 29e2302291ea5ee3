"""Benchmark: the KPI engine's monthly matrix for ~1,000 stores vs a scan floor, hand-written
DuckDB SQL and pandas; incremental refresh vs full recompute.

    python bench/kpi_engine.py --rows 1000000 --json

Generates N order lines with the demo generator (1,000 stores, 9 currencies, six months) into
a DuckDB file, holding back the last day's orders. Then, in this process (medians of
``--runs`` runs each):

* ``engine_s``: ``KpiEngine.compute`` of every month × every store for the KPIs below;
* ``floor_s``: one DuckDB scan of exactly the columns those KPIs read;
* ``duckdb_sql_s``: the same numbers in hand-written DuckDB SQL (local months via ICU);
* ``incremental_s``: after inserting the held-back day, ``KpiEngine.refresh``;
* ``full_s``: the same matrix computed from scratch by a new engine;

and in a child process ``pandas_s`` (idiomatic pandas, including reading the columns).
All results must agree to 1e-6 relative. ``peak_rss_mb`` is this process's peak (generation
and pandas run in child processes). Not a test: it asserts only that the numbers agree.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

KPIS = [
    "gmv",
    "gmv_net",
    "orders",
    "units",
    "aov",
    "cancel_rate",
    "refund_rate",
    "return_rate",
    "ad_spend",
    "ad_sales",
    "roas",
    "acos",
    "tacos",
    "sessions",
    "conversion_rate",
]
HOLD_BACK_FROM = dt.datetime(2026, 9, 30)  # orders purchased from here (UTC) arrive "tomorrow"


# ---------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------


def prepare(path: Path, rows: int) -> None:
    import duckdb
    import pyarrow as pa
    import pyarrow.compute as pc

    from lianxing.demo import benchmark_spec, generate
    from lianxing.warehouse import connect

    wh = connect(f"duckdb:///{path}")
    wh.ensure_schema()
    wh.close()
    con = duckdb.connect(str(path))
    spec = benchmark_spec(order_lines=rows)
    con.execute(
        "CREATE TABLE bench_stores (store_id BIGINT, timezone VARCHAR, currency VARCHAR, "
        "launch_date DATE)"
    )
    con.executemany(
        "INSERT INTO bench_stores VALUES (?, ?, ?, ?)",
        [(s.store_id, s.timezone, s.currency, s.launch_date) for s in spec.stores],
    )
    con.execute("CREATE TABLE held_orders AS SELECT * FROM orders LIMIT 0")
    con.execute("CREATE TABLE held_lines AS SELECT * FROM order_lines LIMIT 0")
    held_ids: set[tuple[int, str]] = set()
    for name, chunk in generate(spec):
        for column, value in (("source", "demo"), ("batch_id", "bench")):
            if column not in chunk.column_names:
                chunk = chunk.append_column(column, pa.array([value] * chunk.num_rows, pa.string()))
        target = name
        if name == "orders":
            late = pc.greater_equal(
                chunk.column("purchase_ts"),
                pa.scalar(HOLD_BACK_FROM, chunk.column("purchase_ts").type),
            )
            held = chunk.filter(late)
            held_ids.update(
                zip(
                    held.column("store_id").to_pylist(),
                    held.column("order_id").to_pylist(),
                    strict=True,
                )
            )
            con.register("chunk", held)
            con.execute("INSERT INTO held_orders BY NAME SELECT * FROM chunk")
            chunk = chunk.filter(pc.invert(late))
        con.register("chunk", chunk)
        con.execute(f"INSERT INTO {target} BY NAME SELECT * FROM chunk")
        con.unregister("chunk")
    # Lines of held-back orders move to held_lines.
    con.execute(
        "INSERT INTO held_lines SELECT l.* FROM order_lines l SEMI JOIN held_orders h "
        "USING (store_id, order_id)"
    )
    con.execute(
        "DELETE FROM order_lines WHERE (store_id, order_id) IN "
        "(SELECT store_id, order_id FROM held_orders)"
    )
    con.execute("CHECKPOINT")
    con.close()


# ---------------------------------------------------------------------------------------
# The engine
# ---------------------------------------------------------------------------------------


def _stores(con: Any) -> list[Any]:
    from lianxing.metrics.compiler import StoreInfo

    rows = con.execute(
        "SELECT store_id, timezone, currency, launch_date FROM bench_stores"
    ).fetchall()
    return [StoreInfo(int(r[0]), r[1], r[2], r[3]) for r in rows]


def _months() -> list[Any]:
    from lianxing.domain.periods import months_between

    # Complete months only: the demo data starts on 2026-03-29.
    return months_between(dt.date(2026, 4, 1), dt.date(2026, 9, 30))


def engine_values(matrix: Any) -> dict[tuple[str, str, int], float | None]:
    values = {}
    for k in KPIS:
        grid = matrix.current[k]
        for p, period in enumerate(matrix.periods):
            for g, scope in enumerate(matrix.scopes):
                values[(k, period, scope.store_ids[0])] = grid.values[p][g]
    return values


# ---------------------------------------------------------------------------------------
# Hand-written DuckDB SQL
# ---------------------------------------------------------------------------------------

SQL = """
WITH o AS (
  SELECT o.store_id, o.order_id, o.currency, o.status = 'cancelled' AS cancelled,
         CAST(timezone(s.timezone, timezone('UTC', o.purchase_ts)) AS DATE) AS day
  FROM orders o JOIN bench_stores s USING (store_id)
),
fx AS (SELECT date, currency, rate_to_usd FROM fx_rates WHERE currency <> 'USD' UNION ALL
       SELECT DISTINCT date, 'USD', 1.0 FROM fx_rates),
lines AS (
  SELECT o.store_id, date_trunc('month', o.day) AS month,
         sum(l.item_price * fx.rate_to_usd) FILTER (WHERE NOT o.cancelled) AS gmv,
         sum(l.quantity) FILTER (WHERE NOT o.cancelled) AS units
  FROM order_lines l JOIN o USING (store_id, order_id)
  LEFT JOIN fx ON fx.date = o.day AND fx.currency = o.currency
  GROUP BY ALL
),
counts AS (
  SELECT store_id, date_trunc('month', day) AS month,
         count(*) FILTER (WHERE NOT cancelled) AS orders, count(*) AS all_orders,
         count(*) FILTER (WHERE cancelled) AS cancelled
  FROM o GROUP BY ALL
),
refunds AS (
  SELECT r.store_id, date_trunc('month', d.day) AS month, sum(r.amount * fx.rate_to_usd) AS refunds
  FROM refunds r JOIN bench_stores s USING (store_id),
       LATERAL (SELECT CAST(timezone(s.timezone, timezone('UTC', r.refund_ts)) AS DATE) AS day) d
  LEFT JOIN fx ON fx.date = d.day AND fx.currency = r.currency
  GROUP BY ALL
),
returns AS (
  SELECT r.store_id,
         date_trunc('month', CAST(timezone(s.timezone, timezone('UTC', r.return_ts)) AS DATE))
         AS month, sum(r.quantity) AS returned
  FROM returns r JOIN bench_stores s USING (store_id) GROUP BY ALL
),
ads AS (
  SELECT a.store_id, date_trunc('month', a.date) AS month, sum(a.cost * fx.rate_to_usd) AS ad_cost,
         sum(a.attributed_sales * fx.rate_to_usd) AS ad_sales
  FROM ad_daily a LEFT JOIN fx ON fx.date = a.date AND fx.currency = a.currency GROUP BY ALL
),
traffic AS (
  SELECT store_id, date_trunc('month', date) AS month, sum(sessions) AS sessions
  FROM traffic_daily GROUP BY ALL
)
SELECT c.store_id, strftime(c.month, '%Y-%m') AS month, coalesce(l.gmv, 0) AS gmv,
       coalesce(l.units, 0) AS units,
       c.orders, c.all_orders, c.cancelled, coalesce(r.refunds, 0) AS refunds,
       coalesce(t.returned, 0) AS returned, a.ad_cost, a.ad_sales, tr.sessions
FROM counts c
LEFT JOIN lines l USING (store_id, month)
LEFT JOIN refunds r USING (store_id, month)
LEFT JOIN returns t USING (store_id, month)
LEFT JOIN ads a USING (store_id, month)
LEFT JOIN traffic tr USING (store_id, month)
"""


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def kpis_from_sums(rows: list[tuple[Any, ...]]) -> dict[tuple[str, str, int], float | None]:
    out: dict[tuple[str, str, int], float | None] = {}
    for (
        store,
        month,
        gmv,
        units,
        orders,
        all_orders,
        cancelled,
        refunds,
        returned,
        ad_cost,
        ad_sales,
        sessions,
    ) in rows:
        key = (month, int(store))
        gmv, units, refunds = float(gmv), float(units), float(refunds)
        values = {
            "gmv": gmv,
            "gmv_net": gmv - refunds,
            "orders": float(orders),
            "units": units,
            "aov": _ratio(gmv, orders),
            "cancel_rate": _ratio(cancelled, all_orders),
            "refund_rate": _ratio(refunds, gmv),
            "return_rate": _ratio(returned, units),
            "ad_spend": ad_cost,
            "ad_sales": ad_sales,
            "roas": _ratio(ad_sales, ad_cost),
            "acos": _ratio(ad_cost, ad_sales),
            "tacos": _ratio(ad_cost, gmv) if ad_cost is not None else None,
            "sessions": sessions,
            "conversion_rate": _ratio(units, sessions),
        }
        for k, v in values.items():
            out[(k, *key)] = None if v is None else float(v)
    return out


def agree(
    reference: dict[tuple[str, str, int], float | None],
    other: dict[tuple[str, str, int], float | None],
    what: str,
) -> None:
    """Every value both define agrees to 1e-6 relative; at least 90 % of the engine's are
    compared."""
    compared = 0
    for key, expected in reference.items():
        actual = other.get(key)
        if expected is None or actual is None:
            continue
        compared += 1
        if not math.isclose(expected, actual, rel_tol=1e-6, abs_tol=1e-6):
            raise SystemExit(f"{what} disagrees at {key}: engine {expected} vs {actual}")
    defined = sum(v is not None for v in reference.values())
    if compared < 0.9 * defined:
        raise SystemExit(f"{what}: only {compared} of {defined} values comparable")


# ---------------------------------------------------------------------------------------
# pandas (child process)
# ---------------------------------------------------------------------------------------


def pandas_run(path: Path) -> dict[str, Any]:
    import duckdb
    import pandas as pd

    start = time.perf_counter()
    con = duckdb.connect(str(path), read_only=True)
    stores = con.execute("SELECT store_id, timezone FROM bench_stores").df()
    orders = con.execute(
        "SELECT store_id, order_id, purchase_ts, status, currency FROM orders"
    ).df()
    lines = con.execute("SELECT store_id, order_id, quantity, item_price FROM order_lines").df()
    refunds = con.execute("SELECT store_id, refund_ts, amount, currency FROM refunds").df()
    returns = con.execute("SELECT store_id, return_ts, quantity FROM returns").df()
    ads = con.execute("SELECT store_id, date, cost, attributed_sales, currency FROM ad_daily").df()
    traffic = con.execute("SELECT store_id, date, sessions FROM traffic_daily").df()
    fx = con.execute("SELECT date, currency, rate_to_usd FROM fx_rates").df()
    con.close()
    fx["date"] = pd.to_datetime(fx["date"])
    usd = fx[["date"]].drop_duplicates().assign(currency="USD", rate_to_usd=1.0)
    fx = pd.concat([fx[fx["currency"] != "USD"], usd], ignore_index=True)
    tz_of = stores.set_index("store_id")["timezone"]

    def local_day(frame: pd.DataFrame, column: str) -> pd.Series:
        result = pd.Series(index=frame.index, dtype="datetime64[ns]")
        for tz, group in frame.groupby(frame["store_id"].map(tz_of)):
            local = (
                group[column]
                .dt.tz_localize("UTC")
                .dt.tz_convert(tz)
                .dt.tz_localize(None)
                .dt.normalize()
            )
            result.loc[group.index] = local.values
        return result

    orders["day"] = local_day(orders, "purchase_ts")
    orders["cancelled"] = orders["status"] == "cancelled"
    orders = orders.merge(
        fx, left_on=["day", "currency"], right_on=["date", "currency"], how="left"
    )
    orders["month"] = orders["day"].dt.strftime("%Y-%m")
    merged = lines.merge(
        orders[["store_id", "order_id", "month", "cancelled", "rate_to_usd"]],
        on=["store_id", "order_id"],
    )
    live = merged[~merged["cancelled"]]
    sums = (
        live.assign(gmv=live["item_price"].astype(float) * live["rate_to_usd"])
        .groupby(["store_id", "month"])
        .agg(gmv=("gmv", "sum"), units=("quantity", "sum"))
    )
    counts = orders.groupby(["store_id", "month"]).agg(
        orders=("cancelled", lambda c: int((~c).sum())),
        all_orders=("order_id", "size"),
        cancelled=("cancelled", "sum"),
    )
    refunds["day"] = local_day(refunds, "refund_ts")
    refunds = refunds.merge(
        fx, left_on=["day", "currency"], right_on=["date", "currency"], how="left"
    )
    refunds["value"] = refunds["amount"].astype(float) * refunds["rate_to_usd"]
    refund_sums = refunds.groupby(
        ["store_id", refunds["day"].dt.strftime("%Y-%m").rename("month")]
    )["value"].sum()
    returns["day"] = local_day(returns, "return_ts")
    returned = returns.groupby(["store_id", returns["day"].dt.strftime("%Y-%m").rename("month")])[
        "quantity"
    ].sum()
    ads["date"] = pd.to_datetime(ads["date"])
    ads = ads.merge(fx, on=["date", "currency"], how="left")
    ad_sums = (
        ads.assign(
            c=ads["cost"].astype(float) * ads["rate_to_usd"],
            s=ads["attributed_sales"].astype(float) * ads["rate_to_usd"],
        )
        .groupby(["store_id", ads["date"].dt.strftime("%Y-%m").rename("month")])
        .agg(ad_cost=("c", "sum"), ad_sales=("s", "sum"))
    )
    traffic["date"] = pd.to_datetime(traffic["date"])
    sessions = traffic.groupby(["store_id", traffic["date"].dt.strftime("%Y-%m").rename("month")])[
        "sessions"
    ].sum()
    table = (
        counts.join(sums, how="left")
        .join(refund_sums.rename("refunds"), how="left")
        .join(returned.rename("returned"), how="left")
        .join(ad_sums, how="left")
        .join(sessions.rename("sessions"), how="left")
    )
    table[["gmv", "units", "refunds", "returned"]] = table[
        ["gmv", "units", "refunds", "returned"]
    ].fillna(0)
    elapsed = time.perf_counter() - start
    rows = [
        (
            store,
            month,
            r.gmv,
            r.units,
            r.orders,
            r.all_orders,
            r.cancelled,
            r.refunds,
            r.returned,
            None if pd.isna(r.ad_cost) else r.ad_cost,
            None if pd.isna(r.ad_sales) else r.ad_sales,
            None if pd.isna(r.sessions) else r.sessions,
        )
        for (store, month), r in table.iterrows()
    ]
    return {"seconds": elapsed, "rows": rows}


# ---------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------


def engine_rss(path: Path, phase: str) -> dict[str, float]:
    """``cube``: rebuild the order cube; ``engine``: compute the matrix (cube in step).
    Reports this process's peak RSS."""
    from lianxing.domain.kpi import Scope
    from lianxing.metrics.engine import KpiEngine
    from lianxing.metrics.loader import load_catalog
    from lianxing.metrics.order_cube import OrderCube
    from lianxing.warehouse import connect

    wh = connect(f"duckdb:///{path}")
    if phase == "cube":
        build_cubes(OrderCube(wh.ibis, wh.table), _stores(wh.raw))
    else:
        stores = _stores(wh.raw)
        engine = KpiEngine(wh.ibis, wh.table, load_catalog().require_valid(), stores)
        scopes = [Scope.store(s.store_id) for s in stores]
        engine.compute(periods=_months(), scopes=scopes, kpis=KPIS, compare=False)
    wh.close()
    return {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def build_cubes(cube: Any, stores: list[Any]) -> None:
    """The engine's derived tables from scratch, as after the first import: the order cube,
    then the daily cube of every store."""
    from lianxing.metrics.daily_cube import DailyOrderCube

    cube.rebuild()
    DailyOrderCube(cube).ensure(stores)


ALL_RUNS: dict[str, list[float]] = {}


def median_time(runs: int, work: Callable[[], Any], name: str = "") -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    if name:
        ALL_RUNS[name] = [round(t, 3) for t in times]
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--prepare", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--pandas", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--engine-rss", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--phase", choices=["cube", "engine"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine_rss:
        sys.stdout.write(json.dumps(engine_rss(args.engine_rss, args.phase)))
        return
    if args.prepare:
        prepare(args.prepare, args.rows)
        return
    if args.pandas:
        result = pandas_run(args.pandas)
        sys.stdout.write(json.dumps(result, default=float))
        return

    from lianxing.domain.kpi import Scope
    from lianxing.metrics.engine import KpiEngine
    from lianxing.metrics.loader import load_catalog
    from lianxing.warehouse import connect

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="lx-bench-kpi-"))
    path = workdir / f"kpi_{args.rows}.duckdb"
    if not path.exists():
        subprocess.run(
            [sys.executable, __file__, "--prepare", str(path), "--rows", str(args.rows)], check=True
        )

    # pandas first, in a child process: DuckDB lets only one process open the file.
    child = subprocess.run(
        [sys.executable, __file__, "--pandas", str(path)], capture_output=True, text=True
    )
    if child.returncode != 0:
        raise SystemExit(f"pandas run failed:\n{child.stderr}")
    pandas_result = json.loads(child.stdout)
    # Peak memory of the engine alone, in a fresh process: first the cube built (as after an
    # import), then, in another, the matrix computed with the cube in step.
    rss: dict[str, float] = {}
    for phase in ("cube", "engine"):
        child = subprocess.run(
            [sys.executable, __file__, "--engine-rss", str(path), "--phase", phase],
            capture_output=True,
            text=True,
        )
        if child.returncode != 0:
            raise SystemExit(f"engine memory run failed:\n{child.stderr}")
        rss[phase] = json.loads(child.stdout)["peak_rss_mb"]

    wh = connect(f"duckdb:///{path}")
    con = wh.raw
    con.execute("SET TimeZone = 'UTC'")
    lines = (
        con.execute("SELECT count(*) FROM order_lines").fetchone()[0]
        + con.execute("SELECT count(*) FROM held_lines").fetchone()[0]
    )
    stores = _stores(con)
    catalog = load_catalog().require_valid()
    months = _months()
    scopes = [Scope.store(s.store_id) for s in stores]

    def run_engine() -> Any:
        engine = KpiEngine(wh.ibis, wh.table, catalog, stores)
        return engine, engine.compute(periods=months, scopes=scopes, kpis=KPIS, compare=False)

    from lianxing.metrics.order_cube import OrderCube

    # The order cube is a derived table kept in step with the facts at import; building it
    # from scratch is timed on its own (cube_build_s), and before every measured run it is
    # in step, as it is after an import.
    cube = OrderCube(wh.ibis, wh.table)
    cube_build_s, _ = median_time(1, lambda: build_cubes(cube, stores))
    engine_s, (_, matrix) = median_time(args.runs, run_engine, "engine")
    reference = engine_values(matrix)

    floor_sql = [
        "SELECT min(store_id), min(order_id), min(purchase_ts), min(status), min(currency) "
        "FROM orders",
        "SELECT min(store_id), min(order_id), min(quantity), min(item_price) FROM order_lines",
        "SELECT min(store_id), min(refund_ts), min(amount), min(currency) FROM refunds",
        "SELECT min(store_id), min(return_ts), min(quantity) FROM returns",
        "SELECT min(store_id), min(date), min(cost), min(attributed_sales), min(currency) "
        "FROM ad_daily",
        "SELECT min(store_id), min(date), min(sessions) FROM traffic_daily",
    ]
    floor_s, _ = median_time(args.runs, lambda: [con.execute(q).fetchall() for q in floor_sql])
    sql_s, sql_rows = median_time(args.runs, lambda: con.execute(SQL).fetchall())
    agree(reference, kpis_from_sums(sql_rows), "hand-written DuckDB SQL")

    agree(reference, kpis_from_sums([tuple(r) for r in pandas_result["rows"]]), "pandas")

    # Incremental: the held-back day arrives as an import does: through the batch writer
    # (which keeps the batch ledger), then the import's follow-up that brings the KPI
    # cubes in step (timed apart: import_cube_step_s), then the refresh of the matrix the
    # engine computed before, against a new engine computing everything. Each refresh run
    # starts from the state before the day.
    from lianxing.domain.facts import FACT_TABLES
    from lianxing.metrics.service import keep_cubes_in_step
    from lianxing.warehouse.writer import recount_batch_rows

    def recount(facts: list[str]) -> None:
        """The batch ledger of ``facts`` counted afresh (rows were changed by hand)."""
        with wh.transaction():
            for fact in facts:
                recount_batch_rows(wh, fact)

    def restore() -> Any:
        con.execute(
            "DELETE FROM orders WHERE (store_id, order_id) IN "
            "(SELECT store_id, order_id FROM held_orders)"
        )
        con.execute(
            "DELETE FROM order_lines WHERE (store_id, order_id) IN "
            "(SELECT store_id, order_id FROM held_orders)"
        )
        recount(["orders", "order_lines"])
        cube.rebuild()
        engine, _ = run_engine()
        return engine

    def arrive(batch: str) -> float:
        with wh.batch(batch, source="bench") as writer:
            for target, held in (("orders", "held_orders"), ("order_lines", "held_lines")):
                rows = con.sql(f"SELECT * EXCLUDE (source, batch_id) FROM {held}").to_arrow_table()
                writer.append(target, rows)
        start = time.perf_counter()
        keep_cubes_in_step(wh, stores, writer.stats)
        return time.perf_counter() - start

    recount(sorted(FACT_TABLES))  # the prepared facts were written by hand, not by the writer
    try:
        refresh_times, step_times, refreshed = [], [], None
        for run in range(args.runs):
            engine = restore()
            step_times.append(arrive(f"bench-day-{run}"))
            start = time.perf_counter()
            refreshed = engine.refresh(HOLD_BACK_FROM, ["orders", "order_lines"])
            refresh_times.append(time.perf_counter() - start)
        incremental_s = statistics.median(refresh_times)
        import_cube_step_s = statistics.median(step_times)
        ALL_RUNS["incremental"] = [round(t, 3) for t in refresh_times]
        ALL_RUNS["import_cube_step"] = [round(t, 3) for t in step_times]
        full_s, (_, full) = median_time(args.runs, run_engine, "full")
        agree(engine_values(full), engine_values(refreshed), "incremental refresh")
        # A full recompute from the raw facts: the cube rebuilt, then the matrix.
        full_cold_s, _ = median_time(1, lambda: (build_cubes(cube, stores), run_engine()))
        peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    finally:
        con.execute(
            "DELETE FROM orders WHERE (store_id, order_id) IN "
            "(SELECT store_id, order_id FROM held_orders)"
        )
        con.execute(
            "DELETE FROM order_lines WHERE (store_id, order_id) IN "
            "(SELECT store_id, order_id FROM held_orders)"
        )
        recount(["orders", "order_lines"])
        cube.rebuild()
        wh.close()

    result = {
        "rows": int(lines),
        "engine_s": round(engine_s, 3),
        "floor_s": round(floor_s, 3),
        "duckdb_sql_s": round(sql_s, 3),
        "pandas_s": round(pandas_result["seconds"], 3),
        "incremental_s": round(incremental_s, 3),
        "import_cube_step_s": round(import_cube_step_s, 3),
        "full_s": round(full_s, 3),
        "full_cold_s": round(full_cold_s, 3),
        "cube_build_s": round(cube_build_s, 3),
        "peak_rss_mb": round(peak_rss_mb, 1),
        "engine_peak_rss_mb": round(rss["engine"], 1),
        "cube_build_peak_rss_mb": round(rss["cube"], 1),
        "engine_vs_floor": round(engine_s / floor_s, 2),
        "refresh_vs_full": round(incremental_s / full_s, 3),
        "refresh_vs_full_cold": round(incremental_s / full_cold_s, 3),
        "sql_vs_engine": round(sql_s / engine_s, 2),
        "pandas_vs_engine": round(pandas_result["seconds"] / engine_s, 2),
        "load_avg": os.getloadavg()[0],
        "runs": ALL_RUNS,
        "stores": len(stores),
        "months": len(months),
        "kpis": len(KPIS),
        "cpus": os.cpu_count(),
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>16}: {value}")


if __name__ == "__main__":
    main()
