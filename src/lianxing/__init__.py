"""Lianxing (联星): from store plan to live shop, held to exactly defined KPIs."""

from __future__ import annotations

__version__ = "0.1.0"
