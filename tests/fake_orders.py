"""Integrity flags on orders for the tests of what confirmed fake orders change (contract
milestones, fees and exits, the contract page, the review report).

A flag is stored through ``save_findings`` exactly as the detectors store theirs, and
confirmed through ``review_flag`` as a reviewer would.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from lianxing.db.models import Store
from lianxing.domain.integrity import Finding, RuleId
from lianxing.integrity import FlagStatus, review_flag
from lianxing.integrity.detectors import StoreScope
from lianxing.integrity.service import save_findings
from lianxing.workspace import Workspace


def flag_orders(
    ws: Workspace, store_id: int, order_ids: Sequence[str], ordered_at: dt.datetime
) -> int:
    """An open ``order_concentration`` flag naming ``order_ids`` of ``store_id``, bought
    around ``ordered_at`` (naive UTC); its id."""
    finding = Finding(
        RuleId.ORDER_CONCENTRATION,
        store_id,
        "buyer:brusher",
        ordered_at - dt.timedelta(minutes=15),
        ordered_at + dt.timedelta(minutes=15),
        0.9,
        "买家 brusher 在 30 分钟内下单",
        "buyer brusher ordered within 30 minutes",
        tuple(order_ids),
    )
    with ws.session() as session:
        store = session.get(Store, store_id)
        assert store is not None
        month = ordered_at.date().replace(day=1)
        scope = StoreScope(
            store_id,
            store.timezone,
            store.currency,
            store.launch_date,
            month - dt.timedelta(days=1),
            (month + dt.timedelta(days=32)).replace(day=1) + dt.timedelta(days=1),
        )
        (flag,) = save_findings(session, ws.warehouse, scope, [finding], actor="test")
        return flag.id


def confirm_flag(ws: Workspace, flag_id: int) -> None:
    with ws.session() as session:
        review_flag(
            session, flag_id, decision=FlagStatus.CONFIRMED, reason="同一买家刷单", actor="test"
        )
