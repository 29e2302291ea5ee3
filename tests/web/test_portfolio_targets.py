"""The portfolio colours a cell with the status of the store's target for the period shown."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from web_helpers import PERIOD, World, login

from lianxing.metrics.targets import kpi_catalog, set_target
from lianxing.web.app import create_app


def _gmv_cell_class(html: str, store_id: int) -> str:
    row = html[html.index(f'href="/stores/{store_id}') :]
    match = re.search(r'<td class="cell ([^"]*)" data-kpi="gmv"', row)
    assert match is not None
    return match.group(1).strip()


def test_a_past_month_is_coloured_by_that_months_target_and_a_week_is_not(world: World) -> None:
    # GMV of store A1 in 2026-09 is 150.50: against a monthly target of 1000 that is bad.
    with world.ws.session() as session:
        set_target(
            session, kpi_catalog(world.ws), kpi="gmv", scope_kind="store",
            scope_ref=str(world.store_a1), period="month", value=1000, comparator=">=",
            currency="USD", actor="test",
        )  # fmt: skip
    client = TestClient(create_app(workspace=world.ws))
    login(client, world.emails["owner_a"])
    month = client.get(f"/?period={PERIOD}")
    assert month.status_code == 200
    assert _gmv_cell_class(month.text, world.store_a1) == "st-bad"
    # A week has no monthly target of its own: no colour rather than another period's status.
    week = client.get("/?period=2026-W37")
    assert week.status_code == 200
    assert _gmv_cell_class(week.text, world.store_a1) == ""
