"""Server-rendered pages (Jinja2 + htmx)."""

from __future__ import annotations

from fastapi import APIRouter

from lianxing.web.pages import (
    alerts,
    connections,
    contracts,
    imports,
    launch,
    login,
    portfolio,
    settings,
    store,
)


def pages_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)
    for module in (
        login,
        portfolio,
        store,
        connections,
        imports,
        alerts,
        launch,
        contracts,
        settings,
    ):
        router.include_router(module.router)
    return router
