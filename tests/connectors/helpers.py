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
