"""Helpers for connector tests: fixture data and stores."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lianxing.stores import create_store
from lianxing.workspace import Workspace

DATA = Path(__file__).parent / "data"


def sp_api_orders() -> list[dict[str, Any]]:
    return json.loads((DATA / "sp_api_orders.json").read_text())


def add_store(workspace: Workspace, platform: str, site: str, name: str) -> int:
    with workspace.session() as session:
        return create_store(session, platform=platform, site=site, name=name).id


def fact_counts(workspace: Workspace, table: str, store: int) -> tuple[int, int]:
    """(rows, distinct natural keys) of ``table`` for ``store``: equal means no duplicates."""
    from lianxing.domain.facts import FACT_TABLES

    t = workspace.warehouse.table(table)
    mine = t.filter(t.store_id == store)
    key = [c for c in FACT_TABLES[table].key if c != "store_id"]
    return int(mine.count().execute()), int(mine.select(*key).distinct().count().execute())
