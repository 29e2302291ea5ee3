"""Connecting a store in headless Chromium: the form, the hop to the platform (a page the
test plays, on the fake's loopback address), the callback, and the status shown."""

from __future__ import annotations

import sys
import urllib.parse
from pathlib import Path

from test_browser import PASSWORD, _login, browser, pytestmark, serve  # noqa: F401
from web_helpers import World

from lianxing.stores import create_store

sys.path.append(str(Path(__file__).resolve().parents[1] / "connectors"))
from fake_platforms.lazada import FakeLazada

SELLER = "MY5550002"


def test_connect_a_store_in_the_browser(world: World, serve: object, browser: object) -> None:  # noqa: F811
    with world.ws.session() as s:
        store = create_store(
            s, platform="lazada", site="MY", name="A Lazada", org_id=world.seller_a_org
        ).id
    fake = FakeLazada(limits={"*": (50.0, 10)})
    fake.codes["browser-code"] = SELLER
    base = serve(world.ws)  # type: ignore[operator]
    page = browser.new_page()  # type: ignore[attr-defined]
    _login(page, base, world.emails["owner_a"], PASSWORD)

    def consent(route: object) -> None:
        """The platform's consent page: the seller approves and is sent back."""
        asked = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(route.request.url).query))  # type: ignore[attr-defined]
        back = f"{asked['redirect_uri']}?code=browser-code&state={asked['state']}"
        route.fulfill(  # type: ignore[attr-defined]
            content_type="text/html", body=f'<a id="approve" href="{back}">Approve</a>'
        )

    with fake.running():
        page.route(f"{fake.url}/oauth/authorize**", consent)  # type: ignore[attr-defined]
        page.goto(f"{base}/stores/{world.store_a1}")  # type: ignore[attr-defined]
        page.click("#store-connections")  # type: ignore[attr-defined]
        page.wait_for_url(f"{base}/stores/{world.store_a1}/connections")  # type: ignore[attr-defined]
        page.goto(f"{base}/stores/{store}/connections")  # type: ignore[attr-defined]
        card = page.locator("#connection-lazada")  # type: ignore[attr-defined]
        assert card.locator(".conn-status").inner_text() == "未连接"
        card.locator("input[name=app_key]").fill(fake.app_key)
        card.locator("input[name=app_secret]").fill(fake.app_secret)
        card.locator("form.connect-form details summary").click()
        card.locator("input[name=api_base]").fill(fake.url)
        card.locator("input[name=auth_base]").fill(fake.url)
        card.locator("form.connect-form button[type=submit]").click()
        page.click("#approve")  # type: ignore[attr-defined]
        page.wait_for_selector("#connections-message")  # type: ignore[attr-defined]
    assert card.get_attribute("data-status") == "active"
    assert card.locator(".conn-status").inner_text() == "已连接"
    assert fake.app_secret not in page.content()  # type: ignore[attr-defined]
