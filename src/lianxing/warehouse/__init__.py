"""The fact store: canonical fact tables, idempotent batch writes, Ibis access."""

from __future__ import annotations

from lianxing.warehouse.connection import Warehouse, WarehouseError, connect
from lianxing.warehouse.writer import BatchWriter, WriteStats

__all__ = ["BatchWriter", "Warehouse", "WarehouseError", "WriteStats", "connect"]
