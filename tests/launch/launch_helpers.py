"""Helpers for the launch tests: run the CLI, add stores, count rows."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select
from typer.testing import CliRunner

from lianxing.cli import app
from lianxing.workspace import Workspace

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def run_json(*args: str) -> Any:
    code, out, err = run(*args)
    assert code == 0, err
    return json.loads(out)


def add_store(platform: str, site: str, *extra: str) -> int:
    data = run_json(
        "store", "add", "--platform", platform, "--site", site, "--name", "t", "--json", *extra
    )
    return int(data["id"])


def count(ws: Workspace, model: type) -> int:
    with ws.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)
