"""``python -m lianxing`` runs the command line."""

from __future__ import annotations

from lianxing.cli import main

main()
