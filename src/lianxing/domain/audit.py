"""The hash chain of the audit log.

Each entry's hash covers its own content and the previous entry's hash, so editing,
deleting or reordering any row breaks every link after it. The content is serialised
canonically (sorted keys, no whitespace, ISO timestamps) so that any backend that returns
the same values yields the same hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

GENESIS_HASH = "0" * 64


@dataclass(frozen=True, slots=True)
class AuditRecord:
    seq: int
    ts: datetime  # naive UTC
    actor: str
    action: str
    entity: str
    entity_id: str
    data: dict[str, Any]
    prev_hash: str
    hash: str


def entry_hash(
    *,
    seq: int,
    ts: datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    data: dict[str, Any],
    prev_hash: str,
) -> str:
    payload = json.dumps(
        {
            "seq": seq,
            "ts": ts.replace(tzinfo=None).isoformat(timespec="microseconds"),
            "actor": actor,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "data": data,
            "prev": prev_hash,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainBreak:
    seq: int
    reason: str


def verify_chain(records: Iterable[AuditRecord]) -> tuple[int, ChainBreak | None]:
    """Walk the chain in order; return (entries checked, first break or None)."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    for rec in records:
        if rec.seq != expected_seq:
            return checked, ChainBreak(rec.seq, f"expected entry {expected_seq}, found {rec.seq}")
        if rec.prev_hash != expected_prev:
            return checked, ChainBreak(rec.seq, "previous-hash link does not match entry before")
        recomputed = entry_hash(
            seq=rec.seq,
            ts=rec.ts,
            actor=rec.actor,
            action=rec.action,
            entity=rec.entity,
            entity_id=rec.entity_id,
            data=rec.data,
            prev_hash=rec.prev_hash,
        )
        if recomputed != rec.hash:
            return checked, ChainBreak(rec.seq, "content does not match its stored hash")
        expected_prev = rec.hash
        expected_seq += 1
        checked += 1
    return checked, None
