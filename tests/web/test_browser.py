"""The pages in headless Chromium (Debian's /usr/bin/chromium; never a downloaded browser),
against the app served by uvicorn on 127.0.0.1 in a background thread.

Screenshots of the main pages go to docs/screenshots/ when LIANXING_UPDATE_SCREENSHOTS=1,
else to the test's temporary folder.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import uvicorn
from web_helpers import EXTRA_ORDER, PASSWORD, PERIOD, World, all_orders_file

from lianxing.demo.fill import fill_demo_workspace
from lianxing.jobs.runner import EmbeddedRunner
from lianxing.web.app import create_app
from lianxing.web.demo_users import ensure_demo_users
from lianxing.workspace import Workspace

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.parametrize("workspace_settings", ["sqlite"], indirect=True),
    pytest.mark.skipif(
        not CHROMIUM.exists() and os.environ.get("CI", "").lower() != "true",
        reason="Debian's chromium is not installed (apt-get install chromium)",
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# The job runners of the apps being served (as `lianxing serve` starts one).
RUNNERS: list[EmbeddedRunner] = []


@pytest.fixture
def serve() -> Iterator[object]:
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(ws: Workspace) -> str:
        port = _free_port()
        runner = EmbeddedRunner(ws.settings, poll_seconds=0.2, schedule=None)
        RUNNERS.append(runner)
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(workspace=ws, job_runner=runner),
                host="127.0.0.1",
                port=port,
                log_level="warning",
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        servers.append((server, thread))
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(10)
    RUNNERS.clear()


@pytest.fixture
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield instance
        instance.close()


def _login(page: object, base: str, email: str, password: str) -> None:
    page.goto(base + "/login")  # type: ignore[attr-defined]
    page.fill("input[name=email]", email)  # type: ignore[attr-defined]
    page.fill("input[name=password]", password)  # type: ignore[attr-defined]
    page.click("form[action='/login'] button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_url(base + "/")  # type: ignore[attr-defined]


def _cli_kpis(ws: Workspace, store: int) -> dict[str, object]:
    # LIANXING_HOME (and the database URLs) are exported by the workspace fixture. DuckDB
    # lets one process at a time open its file: the app and its job runner let go (the app
    # reopens on next use, the runner is started again).
    ws.close()
    for runner in RUNNERS:
        runner.stop()
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "lianxing",
            "kpi",
            "--store",
            str(store),
            "--period",
            PERIOD,
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    for runner in RUNNERS:
        runner.start()
    body: dict[str, object] = json.loads(out.stdout)
    return body


def _shown_value(page: object, store: int, kpi: str) -> float | None:
    cell = page.locator(f"#portfolio tr[data-store='{store}'] td[data-kpi='{kpi}']")  # type: ignore[attr-defined]
    raw = cell.get_attribute("data-value")
    return float(raw) if raw else None


def test_owner_dashboard_upload_and_language(
    world: World, serve: object, browser: object, tmp_path: Path
) -> None:
    base = serve(world.ws)  # type: ignore[operator]
    page = browser.new_page(viewport={"width": 1400, "height": 900})  # type: ignore[attr-defined]
    _login(page, base, world.emails["owner_a"], PASSWORD)
    page.goto(f"{base}/?period={PERIOD}")
    cli = _cli_kpis(world.ws, world.store_a1)["kpis"]
    assert isinstance(cli, dict)
    for kpi in ("gmv", "orders", "aov"):
        assert _shown_value(page, world.store_a1, kpi) == pytest.approx(cli[kpi]["value"]), kpi
    assert _shown_value(page, world.store_a1, "gmv") == pytest.approx(150.50)
    visible_text = page.locator(f"#portfolio tr[data-store='{world.store_a1}']").inner_text()
    assert "150.50" in visible_text and "B Secret Store" not in page.content()

    # Upload a report through the imports page; the dashboard then shows the new numbers.
    upload = all_orders_file(tmp_path / "september-more.txt", EXTRA_ORDER)
    page.goto(f"{base}/imports?store={world.store_a1}")
    page.set_input_files("input[name=file]", str(upload))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#import-accepted", timeout=60_000)
    assert "amazon.all_orders" in page.locator("#import-accepted").inner_text()
    page.goto(f"{base}/?period={PERIOD}")
    assert _shown_value(page, world.store_a1, "gmv") == pytest.approx(200.00)
    assert _shown_value(page, world.store_a1, "orders") == 4
    assert _shown_value(page, world.store_a1, "gmv") == pytest.approx(
        _cli_kpis(world.ws, world.store_a1)["kpis"]["gmv"]["value"]  # type: ignore[index]
    )

    # A bad file shows its row-level problems and changes nothing.
    bad = tmp_path / "broken.txt"
    bad.write_text(
        "amazon-order-id\tpurchase-date\torder-status\tsku\tquantity\titem-price\n"
        "111-0000099-0000099\tyesterday\tShipped\tX\t1\t9.99\n",
        encoding="utf-8",
    )
    page.goto(f"{base}/imports")
    page.set_input_files("input[name=file]", str(bad))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#import-rejected", timeout=60_000)
    problems = page.locator("#import-rejected").inner_text()
    assert "broken.txt" in problems and "'yesterday'" in problems

    # Chinese by default; English one click away, on the same page.
    page.goto(f"{base}/?period={PERIOD}")
    assert page.locator("h1").inner_text() == "店铺总览"
    page.click("#lang-en")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Portfolio overview"
    assert page.url.endswith(f"/?period={PERIOD}")

    page.goto(f"{base}/stores/{world.store_a1}?period={PERIOD}")
    page.wait_for_selector("#trend-chart svg", timeout=20_000)  # ECharts drew, offline
    assert "A1 Home" in page.locator("#store-name").inner_text()


def test_agency_cannot_open_an_ungranted_store(
    world: World, serve: object, browser: object
) -> None:
    base = serve(world.ws)  # type: ignore[operator]
    page = browser.new_page()  # type: ignore[attr-defined]
    _login(page, base, world.emails["agency_ops"], PASSWORD)
    rows = page.locator("#portfolio tbody tr[data-store]")
    assert rows.count() == 0 or [r.get_attribute("data-store") for r in rows.all()] == [
        str(world.store_a1)
    ]
    granted = page.goto(f"{base}/stores/{world.store_a1}?period={PERIOD}")
    assert granted is not None and granted.status == 200
    denied = page.goto(f"{base}/stores/{world.store_a2}")
    assert denied is not None and denied.status == 404
    assert "A2 Garden" not in page.content()
    other_seller = page.goto(f"{base}/stores/{world.store_b}")
    assert other_seller is not None and other_seller.status == 404
    assert "B Secret Store" not in page.content()


def test_screenshots_of_the_main_pages(
    workspace: Workspace, serve: object, browser: object, tmp_path: Path
) -> None:
    """The demo workspace, as a person sees it (checked by eye; kept in docs/screenshots)."""
    fill_demo_workspace(workspace, today=date(2026, 11, 29))
    logins = ensure_demo_users(workspace)
    base = serve(workspace)  # type: ignore[operator]
    folder = (
        REPO / "docs" / "screenshots"
        if os.environ.get("LIANXING_UPDATE_SCREENSHOTS") == "1"
        else tmp_path
    )
    folder.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 900})  # type: ignore[attr-defined]
    page.goto(base + "/login")
    page.screenshot(path=str(folder / "login.png"))
    (owner_email, owner_password, _), (agency_email, agency_password, _) = logins
    _login(page, base, owner_email, owner_password)
    page.goto(base + "/?period=2026-10")
    assert page.locator("#portfolio tbody tr[data-store]").count() == 3
    page.screenshot(path=str(folder / "portfolio.png"), full_page=True)
    page.goto(base + "/stores/1?period=2026-10")
    page.wait_for_selector("#trend-chart svg")
    page.screenshot(path=str(folder / "store.png"), full_page=True)
    page.goto(base + "/imports")
    page.screenshot(path=str(folder / "imports.png"), full_page=True)
    page.goto(base + "/settings")
    page.screenshot(path=str(folder / "settings.png"), full_page=True)
    page.click("#lang-en")
    page.goto(base + "/?period=2026-10")
    page.screenshot(path=str(folder / "portfolio-en.png"), full_page=True)
    agency = browser.new_page(viewport={"width": 1400, "height": 700})  # type: ignore[attr-defined]
    _login(agency, base, agency_email, agency_password)
    agency.goto(base + "/?period=2026-10")
    assert agency.locator("#portfolio tbody tr[data-store]").count() == 2  # granted two of three
    agency.screenshot(path=str(folder / "portfolio-agency.png"), full_page=True)
    for name in ("login", "portfolio", "store", "imports", "settings", "portfolio-en"):
        assert (folder / f"{name}.png").stat().st_size > 10_000
