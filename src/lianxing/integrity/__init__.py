"""Data integrity: fake-order and brushing detectors, provenance of KPI values, reviewable
flags. Rules, scores and explanations live in ``lianxing.domain.integrity``."""

from __future__ import annotations

from lianxing.integrity.service import (
    FlagStatus,
    IntegrityError,
    IntegrityReport,
    confirmed_flagged_orders,
    confirmed_flags_by_order,
    review_flag,
    run_integrity,
)

__all__ = [
    "FlagStatus",
    "IntegrityError",
    "IntegrityReport",
    "confirmed_flagged_orders",
    "confirmed_flags_by_order",
    "review_flag",
    "run_integrity",
]
