"""Small pieces the API routers share."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import HTTPException, Path, Request
from sqlalchemy.orm import Session

from lianxing.accounts.service import NotAllowed, StoreNotFound, require_store
from lianxing.db.models import Store
from lianxing.domain.access import Access
from lianxing.web.deps import Caller

# Ids are database integers; bounding them keeps absurd values a clean 422/404.
StoreId = Annotated[int, Path(ge=1, le=2**31 - 1, description="store id / 店铺 ID")]


def store_or_404(
    session: Session, caller: Caller, store_id: int, need: Access = Access.READ
) -> Store:
    """The store, 404 if the caller cannot see it (as if it did not exist), 403 if too weak."""
    try:
        return require_store(session, caller.principal, store_id, need)
    except StoreNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except NotAllowed as exc:
        raise HTTPException(403, str(exc)) from None


def parse_day(value: str | None, field: str) -> date | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise HTTPException(422, f"{field}: {value!r} is not a date; expected YYYY-MM-DD") from None


def parse_instant(value: str | None, field: str) -> datetime | None:
    """An ISO date or date-time; naive UTC for storage."""
    if value is None or value == "":
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise HTTPException(
            422, f"{field}: {value!r} is not a date-time; expected e.g. 2026-12-31T00:00:00"
        ) from None
    if parsed.tzinfo is not None:
        from datetime import UTC

        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def request_lang(request: Request) -> str:
    return "en" if request.cookies.get("lx_lang") == "en" else "zh"
