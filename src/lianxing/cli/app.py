"""The Typer root application; command groups register themselves on it."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="lianxing",
    help="联星 Lianxing: store launch and verifiable KPIs for cross-border e-commerce.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
