"""Benchmark: ``lianxing import`` of an Amazon All Orders file vs DuckDB's own ``read_csv``.

    python bench/import_orders.py --rows 1000000 --json
    python bench/import_orders.py --rows 3000000 --repeat 2 --baseline-src /tmp/old/src

Writes an All Orders file of N lines (real header, realistic values: several lines per
order, some pending orders without prices), then times, each in a fresh process:

* the floor: DuckDB ``CREATE TABLE t AS SELECT * FROM read_csv(file)`` into a DuckDB file;
* ``lianxing import FILE --store 1`` into a fresh workspace (validation + upsert).

Prints {"rows", "import_s", "duckdb_read_csv_s", "ratio", "rows_per_s", "peak_rss_mb"}
(peak RSS of the import process) and the load average before and after. The machine is
often shared, so compare ratios within one run: ``--repeat N`` alternates floor and import
N times and reports the medians, and ``--baseline-src DIR`` also imports the same file
with another checkout's ``src`` (e.g. ``git archive <commit> src | tar -x -C /tmp/old``),
interleaved with the others, reported as ``baseline_*``. Not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HEADER = [
    "amazon-order-id",
    "merchant-order-id",
    "purchase-date",
    "last-updated-date",
    "order-status",
    "fulfillment-channel",
    "sales-channel",
    "order-channel",
    "url",
    "ship-service-level",
    "product-name",
    "sku",
    "asin",
    "item-status",
    "quantity",
    "currency",
    "item-price",
    "item-tax",
    "shipping-price",
    "shipping-tax",
    "gift-wrap-price",
    "gift-wrap-tax",
    "item-promotion-discount",
    "ship-promotion-discount",
    "ship-city",
    "ship-state",
    "ship-postal-code",
    "ship-country",
    "promotion-ids",
    "cpf",
    "is-business-order",
    "purchase-order-number",
    "price-designation",
    "signature-confirmation-recommended",
]

STATUSES = ["Shipped", "Shipped", "Shipped", "Pending", "Cancelled", "Unshipped"]
SKUS = [f"SKU-{i:04d}" for i in range(500)]


def _chunk(start: int, n: int, rng: Any) -> Any:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    statuses, skus = np.array(STATUSES), np.array(SKUS)
    line = np.arange(start, start + n)
    order = line // 2  # two lines per order on average
    status = statuses[(order * 7919) % len(statuses)]
    sku_index = (line * 31) % len(skus)
    qty = (line % 3) + 1
    price = np.round(rng.uniform(5, 200, n), 2) * qty
    pending = status == "Pending"
    price_text = np.char.mod("%.2f", price).astype(object)
    price_text[pending] = ""
    seconds = 1_788_000_000 + order * 37
    ts = pc.strftime(
        pa.array(seconds * 1_000_000, pa.timestamp("us", tz="UTC")),
        format="%Y-%m-%dT%H:%M:%S+00:00",
    )
    order_ids = pc.binary_join_element_wise(
        "111-",
        pc.utf8_lpad(pc.cast(pa.array(order % 10_000_000), pa.string()), 7, "0"),
        "-",
        pc.utf8_lpad(pc.cast(pa.array(order // 10_000_000), pa.string()), 7, "0"),
        "",
    )
    empty = pa.array(np.full(n, "", dtype=object), pa.string())
    cols = {name: empty for name in HEADER}
    cols.update(
        {
            "amazon-order-id": order_ids,
            "purchase-date": ts,
            "last-updated-date": ts,
            "order-status": pa.array(status),
            "fulfillment-channel": pa.array(np.where(order % 4 == 0, "Merchant", "Amazon")),
            "sales-channel": pa.array(np.full(n, "Amazon.com")),
            "ship-service-level": pa.array(np.full(n, "Standard")),
            "product-name": pa.array(np.full(n, "Bamboo Cutting Board XL")),
            "sku": pa.array(skus[sku_index]),
            "asin": pa.array(np.char.add("B0", skus[sku_index])),
            "item-status": pa.array(status),
            "quantity": pa.array(qty.astype(str)),
            "currency": pa.array(np.where(pending, "", "USD")),
            "item-price": pa.array(price_text, pa.string()),
            "item-tax": pa.array(np.where(pending, "", "1.20")),
            "shipping-price": pa.array(np.where(pending, "", "0.00")),
            "ship-city": pa.array(np.full(n, "SEATTLE")),
            "ship-state": pa.array(np.full(n, "WA")),
            "ship-postal-code": pa.array(np.full(n, "98101")),
            "ship-country": pa.array(np.full(n, "US")),
            "is-business-order": pa.array(np.where(order % 10 == 0, "true", "false")),
        }
    )
    return pa.table(cols)


def write_file(path: Path, rows: int) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(7)
    options = pacsv.WriteOptions(delimiter="\t", quoting_style="none", include_header=False)
    with open(path, "wb") as out:
        out.write(("\t".join(HEADER) + "\n").encode())
        for start in range(0, rows, 1_000_000):
            table = _chunk(start, min(1_000_000, rows - start), rng)
            sink = pa.BufferOutputStream()
            pacsv.write_csv(table, sink, options)
            out.write(sink.getvalue().to_pybytes())


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(seconds, peak RSS MB) of one child process.

    The child's peak RSS starts at this process's RSS when it forks (Linux keeps
    ``ru_maxrss`` across exec), so this process stays small: the file is written by a
    child of its own, and numpy/pyarrow are never imported here.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if status != 0:
        sys.stderr.write(proc.stderr.read().decode() if proc.stderr else "")
        raise SystemExit(f"command failed: {' '.join(cmd)}")
    return elapsed, usage.ru_maxrss / 1024


def _workspace(cli: list[str], env: dict[str, str]) -> None:
    subprocess.run([*cli, "init"], env=env, check=True, capture_output=True)
    subprocess.run(
        [*cli, "store", "add", "--platform", "amazon", "--site", "US", "--name", "bench"],
        env=env,
        check=True,
        capture_output=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1, help="alternate runs, report medians")
    parser.add_argument("--baseline-src", type=Path, help="another checkout's src to compare")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--write-to", type=Path, help=argparse.SUPPRESS)  # the child's job
    args = parser.parse_args()
    if args.write_to is not None:
        write_file(args.write_to, args.rows)
        return

    tmp = Path(tempfile.mkdtemp(prefix="lx-bench-"))
    data = tmp / "all_orders.txt"
    subprocess.run(
        [sys.executable, __file__, "--rows", str(args.rows), "--write-to", str(data)], check=True
    )
    base_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    for var in ("LIANXING_DATABASE_URL", "LIANXING_WAREHOUSE_URL"):
        base_env.pop(var, None)
    python = sys.executable
    floor_script = (
        "import duckdb,sys; con=duckdb.connect(sys.argv[2]);"
        "con.execute(\"CREATE TABLE t AS SELECT * FROM read_csv(?, delim='\\t', header=true,"
        ' all_varchar=false)", [sys.argv[1]])'
    )
    cli = [python, "-m", "lianxing"]
    variants = {"": base_env}
    if args.baseline_src is not None:
        variants["baseline_"] = {**base_env, "PYTHONPATH": str(args.baseline_src.resolve())}
    runs: dict[str, list[tuple[float, float]]] = {"floor": []} | {v: [] for v in variants}
    load_before = _load()
    for attempt in range(args.repeat):
        floor_db = tmp / f"floor{attempt}.duckdb"
        runs["floor"].append(
            _timed([python, "-c", floor_script, str(data), str(floor_db)], base_env)
        )
        floor_db.unlink()
        for prefix, env in variants.items():
            env = {**env, "LIANXING_HOME": str(tmp / f"ws-{prefix}{attempt}")}
            _workspace(cli, env)
            runs[prefix].append(_timed([*cli, "import", str(data), "--store", "1", "--json"], env))
            shutil.rmtree(tmp / f"ws-{prefix}{attempt}")
    floor_s = _median([s for s, _ in runs["floor"]])
    result: dict[str, object] = {
        "rows": args.rows,
        "file_mb": round(data.stat().st_size / 2**20, 1),
        "duckdb_read_csv_s": round(floor_s, 2),
    }
    for prefix in variants:
        import_s = _median([s for s, _ in runs[prefix]])
        result |= {
            f"{prefix}import_s": round(import_s, 2),
            f"{prefix}ratio": round(import_s / floor_s, 2),
            f"{prefix}rows_per_s": round(args.rows / import_s),
            f"{prefix}peak_rss_mb": round(max(r for _, r in runs[prefix]), 1),
        }
    result |= {
        "all_runs_s": {k: [round(s, 2) for s, _ in v] for k, v in runs.items()},
        "load_before": load_before,
        "load_after": _load(),
    }
    if not args.keep:
        shutil.rmtree(tmp)
    print(json.dumps(result) if args.json else result)


if __name__ == "__main__":
    main()
