"""The store registry: creating and listing the shops Lianxing measures."""

from __future__ import annotations

from lianxing.stores.service import StoreError, StoreView, create_store, list_stores

__all__ = ["StoreError", "StoreView", "create_store", "list_stores"]
