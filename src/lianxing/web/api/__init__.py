"""The REST API, ``/api/v1``: one router per resource, thin over the services."""

from __future__ import annotations

from fastapi import APIRouter

from lianxing.web.api import (
    accounts,
    alerts,
    connections,
    contracts,
    imports,
    kpis,
    launch,
    launch_changes,
    platforms,
    stores,
    targets,
)

API_PREFIX = "/api/v1"


def api_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX)
    for module in (
        accounts,
        stores,
        platforms,
        kpis,
        imports,
        targets,
        alerts,
        launch,
        launch_changes,
        contracts,
        connections,
    ):
        router.include_router(module.router)
    return router
