from __future__ import annotations

import json

from typer.testing import CliRunner

from lianxing.cli import app


def test_platforms_json_shape() -> None:
    result = CliRunner().invoke(app, ["platforms", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert [p["id"] for p in payload["platforms"]] == [
        "aliexpress", "amazon", "lazada", "shopee", "tiktok",
    ]  # fmt: skip
    amazon = payload["platforms"][1]
    assert amazon["name"] == {"zh": "亚马逊", "en": "Amazon"}
    uk = next(s for s in amazon["sites"] if s["code"] == "UK")
    assert uk == {
        "code": "UK",
        "country": "GB",
        "currency": "GBP",
        "timezone": "Europe/London",
        "marketplace_id": "A1F83G8C2ARO7P",
    }


def test_platforms_table_lists_every_site() -> None:
    result = CliRunner().invoke(app, ["platforms"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "A1PA6795UKMFR9" in result.stdout
    assert "Asia/Ho_Chi_Minh" in result.stdout
