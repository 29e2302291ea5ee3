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
from web_helpers import (
    EXTRA_ORDER,
    PASSWORD,
    PERIOD,
    World,
    add_alerts,
    add_launch,
    all_orders_file,
)

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


# The job runners of the apps being served (as `lianxing serve` starts one).
RUNNERS: list[EmbeddedRunner] = []


@pytest.fixture
def serve() -> Iterator[object]:
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(ws: Workspace) -> str:
        # uvicorn gets a socket already bound to a port the OS chose, so no other process (a
        # parallel test worker) can take the port between choosing it and listening on it.
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
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
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
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


def test_alerts_inbox_and_launch_board_in_the_browser(
    world: World, serve: object, browser: object
) -> None:
    alerts = add_alerts(world)
    launch = add_launch(world)
    base = serve(world.ws)  # type: ignore[operator]
    page = browser.new_page(viewport={"width": 1400, "height": 900})  # type: ignore[attr-defined]
    _login(page, base, world.emails["owner_a"], PASSWORD)

    # The inbox: seller A's four firing alerts, nothing of seller B; filter to critical.
    page.click("#nav-alerts")
    page.wait_for_selector("#alerts")
    assert page.locator("#alerts tbody tr[data-alert]").count() == 4
    assert "B Secret Store" not in page.content()
    page.select_option("#alert-filters select[name=severity]", "critical")
    page.click("#alert-filters button[type=submit]")
    page.wait_for_url("**severity=critical**")
    assert page.locator("#alerts tbody tr[data-alert]").count() == 2
    # Open A1's alert, acknowledge it, then silence it.
    page.click(f"#alerts tr[data-alert='{alerts['store_a1']}'] a[href^='/alerts/']")
    page.wait_for_selector("#ack-form")
    assert (
        "GMV" in page.locator("#alert-summary").inner_text()
        or "销售额" in page.locator("#alert-summary").inner_text()
    )
    page.fill("#ack-form input[name=note]", "看一下 / looking")
    page.click("#ack-form button[type=submit]")
    page.wait_for_selector("#alert-message")
    assert "owner@seller-a.test" in page.locator("#alert-acked").inner_text()
    page.fill("#silence-form input[name=until]", "2099-05-01T09:30")
    page.click("#silence-form button[type=submit]:not([name])")
    page.wait_for_selector("#alert-message")
    assert page.locator("#alert-silenced").inner_text() == "2099-05-01 09:30 UTC"
    history = page.locator("#alert-history").inner_text()
    assert "ack" in history and "silence" in history

    # The launch board: both of seller A's stores at the requirements stage.
    page.click("#nav-launch")
    page.wait_for_selector("#launch-board")
    assert page.locator("#launch-board tbody tr[data-store]").count() == 2
    page.click(f"#launch-board tr[data-store='{world.store_a1}'] a")
    page.wait_for_selector("#launch-store")
    item = launch["store_a1"]["item"]
    row = page.locator(f"#item-{item}")
    assert row.get_attribute("data-status") == "todo"
    row.locator("details summary").first.click()
    row.locator(".done-form input[name=note]").fill("需求会已开 / kick-off held")
    row.locator(".done-form select[name=document]").select_option(str(launch["store_a1"]["doc"]))
    row.locator(".done-form button[type=submit]").click()
    page.wait_for_selector("#launch-message")
    done = page.locator(f"#item-{item}")
    assert done.get_attribute("data-status") == "done"
    assert "kick-off held" in done.inner_text()
    assert "payout_account" in page.locator("#assets").inner_text()
    assert page.locator("#findings li").count() >= 1
    # The payout account shows masked; its Show button reveals it on this page only.
    asset_row = f"#assets tr[data-asset='{launch['store_a1']['asset']}']"
    assert "****1234" in page.locator(asset_row).inner_text()
    assert "6222" not in page.locator("#assets").inner_text()
    page.click(f"{asset_row} .reveal-form button")
    page.wait_for_selector(f"#revealed-{launch['store_a1']['asset']}")
    assert page.locator(asset_row).inner_text().count("CN 6222 0210 0009 1234") == 1
    # The document downloads (and the read is audited by the service).
    with page.expect_download() as download_info:
        page.click(f"#documents tr[data-doc='{launch['store_a1']['doc']}'] a")
    path = download_info.value.path()
    assert Path(path).read_bytes() == b"licence of store_a1"


def test_screenshots_of_the_main_pages(
    workspace: Workspace, serve: object, browser: object, tmp_path: Path
) -> None:
    """The demo workspace, as a person sees it (checked by eye; kept in docs/screenshots)."""
    fill_demo_workspace(workspace, today=date(2026, 11, 29))
    logins = ensure_demo_users(workspace)
    _demo_alerts_and_launch(workspace)
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
    page.goto(base + "/alerts?state=all")
    page.screenshot(path=str(folder / "alerts.png"), full_page=True)
    first_alert = page.locator("#alerts a[href^='/alerts/']").first
    if first_alert.count():
        first_alert.click()
        page.wait_for_selector("#alert-history")
        page.screenshot(path=str(folder / "alert.png"), full_page=True)
    page.goto(base + "/launch")
    page.screenshot(path=str(folder / "launch-board.png"), full_page=True)
    page.goto(base + "/launch/1")
    page.screenshot(path=str(folder / "launch-store.png"), full_page=True)
    page.click("#lang-en")
    page.goto(base + "/?period=2026-10")
    page.screenshot(path=str(folder / "portfolio-en.png"), full_page=True)
    agency = browser.new_page(viewport={"width": 1400, "height": 700})  # type: ignore[attr-defined]
    _login(agency, base, agency_email, agency_password)
    agency.goto(base + "/?period=2026-10")
    assert agency.locator("#portfolio tbody tr[data-store]").count() == 2  # granted two of three
    agency.screenshot(path=str(folder / "portfolio-agency.png"), full_page=True)
    for name in (
        "login",
        "portfolio",
        "store",
        "imports",
        "settings",
        "portfolio-en",
        "alerts",
        "launch-board",
        "launch-store",
    ):
        assert (folder / f"{name}.png").stat().st_size > 10_000


def _demo_alerts_and_launch(ws: Workspace) -> None:
    """What the screenshots show beyond the demo's facts and launch plans: alerts, a document."""
    from lianxing.alerts.service import add_rule, evaluate
    from lianxing.domain.assets import AssetKind, HolderKind
    from lianxing.domain.launch import DocumentType
    from lianxing.launch.assets import set_asset
    from lianxing.launch.vault import add_document

    with ws.session() as s:
        # The demo gives every store a launch plan already.
        add_document(
            s,
            ws.cipher,
            ws.settings.vault_dir,
            content=b"demo licence",
            file_name="business-licence.pdf",
            doc_type=DocumentType.BUSINESS_LICENCE,
            store_id=1,
            title="营业执照 / Business licence",
            expires_on=date(2026, 12, 20),
            actor="demo",
        )
        set_asset(
            s,
            ws.cipher,
            store_id=1,
            kind=AssetKind.PAYOUT_ACCOUNT,
            identifier="CN 6222 0210 0047 8821",
            holder_kind=HolderKind.AGENCY,
            actor="demo",
        )
        add_rule(
            s,
            name="广告投入产出比过低 / ROAS low",
            kind="kpi_threshold",
            scope_kind="all",
            scope_ref=None,
            severity="critical",
            params={"kpi": "roas", "op": "<", "threshold": 4, "period": "2026-10"},
            actor="demo",
        )
        add_rule(
            s,
            name="退款率过高 / Refund rate high",
            kind="kpi_threshold",
            scope_kind="all",
            scope_ref=None,
            severity="warning",
            params={"kpi": "refund_rate", "op": ">", "threshold": 0.01, "period": "2026-10"},
            actor="demo",
        )
    evaluate(ws, actor="demo")
