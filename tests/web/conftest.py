from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from web_helpers import World, build_world

from lianxing.workspace import Workspace


@pytest.fixture
def world(workspace: Workspace, tmp_path: Path) -> Iterator[World]:
    yield build_world(workspace, tmp_path)
