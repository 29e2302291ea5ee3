"""The ``lianxing`` command line.

Each command group lives in its own module of this package and registers itself on the root
Typer app (``lianxing.cli.root.app``). ``COMMAND_MODULES`` says which module defines each
top-level command, so that ``lianxing store list`` imports the store commands only, not the
web app, the report renderers and everything else (a few seconds and hundreds of MB saved on
every command). ``lianxing --help`` and ``from lianxing.cli import app`` load them all.
``tests/test_cli_registry.py`` fails if this table and the modules disagree.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable
from typing import Any

COMMAND_MODULES: dict[str, str] = {
    "agency": "agency",
    "alert": "alerts",
    "assets": "assets",
    "audit": "audit",
    "connect": "connect",
    "contract": "contracts",
    "demo": "demo",
    "doc": "documents",
    "evidence": "evidence",
    "export": "export",
    "grant": "users",
    "import": "imports",
    "init": "init",
    "integrity": "integrity",
    "kpi": "kpi",
    "launch": "launch",
    "metrics": "metrics",
    "platforms": "platforms",
    "provenance": "integrity",
    "quote": "quote",
    "report": "report",
    "serve": "serve",
    "store": "stores",
    "sync": "sync",
    "target": "targets",
    "ticket": "contracts",
    "user": "users",
    "worker": "worker",
}


def load_commands(names: Iterable[str] | None = None) -> None:
    """Import the modules of the named top-level commands (all of them when None)."""
    wanted = COMMAND_MODULES.values() if names is None else (COMMAND_MODULES[n] for n in names)
    for module in sorted(set(wanted)):
        importlib.import_module(f"{__name__}.{module}")


def __getattr__(name: str) -> Any:
    if name == "app":
        load_commands()
        from lianxing.cli.root import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    from lianxing.cli.root import app

    args = sys.argv[1:]
    command = args[0] if args and not args[0].startswith("-") else None
    load_commands([command] if command in COMMAND_MODULES else None)
    app()


__all__ = ["COMMAND_MODULES", "app", "load_commands", "main"]
