"""Catalog of platforms and sites (data files in data/, loader in catalog)."""

from __future__ import annotations
