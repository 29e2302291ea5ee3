"""The Typer root application; command groups register themselves on it."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="lianxing",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


# A callback keeps the app a command group even when only one command module is loaded;
# Typer would otherwise run a lone command without its name.
@app.callback()
def root() -> None:
    """联星 Lianxing: store launch and verifiable KPIs for cross-border e-commerce."""
