"""Pages are Chinese by default, English a click away, and every message is translated."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from web_helpers import PERIOD, World, login

import lianxing.web
from lianxing.web.app import create_app

WEB = Path(lianxing.web.__file__).parent


def _catalog(language: str) -> dict[str, str]:
    with (WEB / "locale" / language / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return {m.id: m.string for m in read_po(fh) if m.id}


def test_every_message_in_the_code_and_templates_has_a_chinese_translation() -> None:
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    found = {
        message if isinstance(message, str) else message[0]
        for _, _, message, _, _ in extract_from_dir(WEB, method_map, options)
    }
    zh = _catalog("zh")
    assert sorted(m for m in found if not zh.get(m)) == []
    assert set(_catalog("en")) == set(zh)


def test_chinese_by_default_and_english_after_the_switch(world: World) -> None:
    client = TestClient(create_app(workspace=world.ws))
    assert "登录" in client.get("/login").text
    login(client, world.emails["owner_a"])
    page = client.get(f"/?period={PERIOD}")
    assert "店铺总览" in page.text and "Portfolio overview" not in page.text
    assert "销售额" in page.text  # KPI names come from the definitions, in Chinese
    switched = client.get(f"/lang/en?next=/%3Fperiod%3D{PERIOD}", follow_redirects=False)
    assert switched.headers["location"] == f"/?period={PERIOD}"
    english = client.get(f"/?period={PERIOD}")
    assert "Portfolio overview" in english.text and "GMV" in english.text
    assert "店铺总览" not in english.text
