"""Appending to and verifying the hash-chained audit log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from lianxing.db.models import AuditEntry
from lianxing.domain.audit import GENESIS_HASH, AuditRecord, ChainBreak, entry_hash, verify_chain
from lianxing.domain.time import utcnow

# Any constant works: it only has to be the same for every writer of this database.
_PG_AUDIT_LOCK = 0x4C58_4155


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: str | int,
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction (so it commits with the change itself)."""
    if session.get_bind().dialect.name == "postgresql":
        # Serialise appenders so two transactions never chain onto the same predecessor.
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_AUDIT_LOCK})
    last = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
    ts = utcnow()
    payload = _jsonable(data or {})
    entry = AuditEntry(
        seq=seq,
        ts=ts,
        actor=actor,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        data=payload,
        prev_hash=prev,
        hash=entry_hash(
            seq=seq,
            ts=ts,
            actor=actor,
            action=action,
            entity=entity,
            entity_id=str(entity_id),
            data=payload,
            prev_hash=prev,
        ),
    )
    session.add(entry)
    session.flush()
    return entry


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    """Round-trip through JSON so the hash is computed on exactly what the database stores."""
    result: dict[str, Any] = json.loads(json.dumps(data, default=str, ensure_ascii=False))
    return result


def _records(session: Session) -> Iterator[AuditRecord]:
    rows = session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars()
    for e in rows.yield_per(1000):
        yield AuditRecord(
            seq=e.seq,
            ts=e.ts,
            actor=e.actor,
            action=e.action,
            entity=e.entity,
            entity_id=e.entity_id,
            data=e.data,
            prev_hash=e.prev_hash,
            hash=e.hash,
        )


def verify(session: Session) -> tuple[int, ChainBreak | None]:
    """Check the whole chain; return (entries verified, first broken link or None)."""
    return verify_chain(_records(session))
