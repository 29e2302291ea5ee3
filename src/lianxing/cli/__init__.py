"""The ``lianxing`` command line.

Each command group lives in its own module of this package and registers itself on
``lianxing.cli.app.app``; importing this package imports them all, so adding a command
never means editing a shared file.
"""

from __future__ import annotations

import importlib
import pkgutil

from lianxing.cli.app import app


def _load_command_modules() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name not in ("app", "common"):
            importlib.import_module(f"{__name__}.{info.name}")


_load_command_modules()


def main() -> None:
    app()


__all__ = ["app", "main"]
