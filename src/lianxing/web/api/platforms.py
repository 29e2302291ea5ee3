"""The platform catalog (public facts: sites, currencies, timezones)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from lianxing.platforms.catalog import catalog_payload, load_catalog
from lianxing.web.deps import ApiCaller

router = APIRouter(tags=["platforms"])


@router.get("/platforms", summary="Platforms and sites / 平台与站点")
def list_platforms(caller: ApiCaller) -> dict[str, Any]:
    return catalog_payload(load_catalog())
