"""The table of top-level commands in ``lianxing.cli`` matches the modules that define them."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

from lianxing.cli import COMMAND_MODULES, app


def _callback_modules(typer_app: Any) -> Iterator[str]:
    if typer_app.registered_callback and typer_app.registered_callback.callback:
        yield typer_app.registered_callback.callback.__module__
    for command in typer_app.registered_commands:
        yield command.callback.__module__
    for group in typer_app.registered_groups:
        yield from _callback_modules(group.typer_instance)


def _top_level() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for command in app.registered_commands:
        name = command.name or command.callback.__name__.replace("_", "-")
        found[name] = {command.callback.__module__}
    for group in app.registered_groups:
        found[group.name] = set(_callback_modules(group.typer_instance))
    return found


def test_every_command_is_in_the_table_with_the_module_that_defines_it() -> None:
    found = _top_level()
    assert set(found) == set(COMMAND_MODULES)
    for name, modules in found.items():
        assert modules == {f"lianxing.cli.{COMMAND_MODULES[name]}"}, name


def test_a_command_imports_only_its_own_module() -> None:
    code = (
        "import sys\n"
        "sys.argv = ['lianxing', 'audit', '--help']\n"
        "from lianxing.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('lianxing.cli.'))\n"
        "print(','.join(loaded), 'lianxing.web' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    modules, web_loaded = out.stdout.strip().splitlines()[-1].split(" ")
    assert "lianxing.cli.audit" in modules.split(",")
    assert "lianxing.cli.report" not in modules.split(",")
    assert web_loaded == "False"
