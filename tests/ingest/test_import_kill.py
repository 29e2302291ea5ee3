"""Killing ``lianxing import`` mid-file leaves the warehouse in the old state or the new one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from amazon_helpers import FIXTURES

from lianxing.config import Settings
from lianxing.workspace import open_workspace


def _big_orders_file(path: Path, orders: int) -> None:
    header, *rows = (FIXTURES / "amazon_all_orders.txt").read_text().splitlines()
    template = rows[0].split("\t")
    with path.open("w") as out:
        out.write(header + "\n")
        for i in range(orders):
            template[0] = f"999-{i:07d}-0000000"
            out.write("\t".join(template) + "\n")


def _counts(settings: Settings) -> tuple[int, int]:
    ws = open_workspace(settings)
    try:
        wh = ws.warehouse
        ((orders,),) = wh.execute(f"SELECT count(*) FROM {wh.qualified('orders')}")
        ((lines,),) = wh.execute(f"SELECT count(*) FROM {wh.qualified('order_lines')}")
        return int(orders), int(lines)
    finally:
        ws.close()


@pytest.mark.parametrize("delay", [0.8, 2.5])
def test_sigkill_mid_import_leaves_old_or_new_state(
    workspace_settings: Settings, tmp_path: Path, delay: float
) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    cli = [sys.executable, "-m", "lianxing"]
    subprocess.run([*cli, "init"], env=env, check=True, capture_output=True)
    subprocess.run(
        [*cli, "store", "add", "--platform", "amazon", "--site", "US", "--name", "K"],
        env=env,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [*cli, "import", str(FIXTURES / "amazon_all_orders.txt"), "--store", "1"],
        env=env,
        check=True,
        capture_output=True,
    )
    old = _counts(workspace_settings)
    assert old == (3, 4)

    big = tmp_path / "big_orders.txt"
    n = 150_000
    _big_orders_file(big, n)
    proc = subprocess.Popen(
        [*cli, "import", str(big), "--store", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(delay)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _counts(workspace_settings) in (old, (3 + n, 4 + n))
