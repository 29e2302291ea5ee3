"""The FastAPI application: ``create_app()`` for ``lianxing serve``, the demo and the tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

import lianxing
from lianxing.config import Settings
from lianxing.jobs.runner import EmbeddedRunner
from lianxing.web.api import API_PREFIX, api_router
from lianxing.web.deps import LoginRequired, WebState
from lianxing.web.pages import pages_router
from lianxing.web.templating import render
from lianxing.workspace import Workspace, open_workspace

STATIC_DIR = Path(__file__).parent / "static"

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    # Everything is served from here; nothing loads from the internet.
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; frame-ancestors 'none'; form-action 'self'"
    ),
}


def create_app(
    settings: Settings | None = None,
    *,
    workspace: Workspace | None = None,
    secure_cookies: bool | None = None,
    job_runner: EmbeddedRunner | None = None,
) -> FastAPI:
    """The web app over one workspace.

    ``secure_cookies``: None marks cookies Secure exactly when the request came over HTTPS
    (behind a proxy, run uvicorn with ``--proxy-headers``); True or False forces it.
    ``job_runner``: started with the app and stopped at shutdown (``lianxing serve`` gives
    one unless a queue is configured); it runs the uploaded files' imports. Without it the
    jobs wait for ``lianxing worker``.
    """
    ws = workspace or open_workspace(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if job_runner is not None:
            job_runner.start()
        try:
            yield
        finally:
            if job_runner is not None:
                job_runner.stop()
            if workspace is None:  # opened here, so closed here
                ws.close()

    app = FastAPI(
        lifespan=lifespan,
        title="联星 Lianxing API",
        version=lianxing.__version__ if hasattr(lianxing, "__version__") else "0.1.0",
        description=(
            "Stores, KPIs, targets and imports of a Lianxing workspace. Authenticate with "
            "`Authorization: Bearer <token>` (create one under Settings / 设置) or a browser "
            "session (writes then need the `X-CSRF-Token` header)."
        ),
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        openapi_url=f"{API_PREFIX}/openapi.json",
    )
    app.state.web = WebState(ws, secure_cookies)
    app.state.job_runner = job_runner
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(api_router())
    app.include_router(pages_router())

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.url.path.startswith(API_PREFIX) or request.url.path.startswith("/stores"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.headers.get("HX-Request"):
            return Response(status_code=401, headers={"HX-Redirect": "/login"})
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        headers = getattr(exc, "headers", None)
        if request.url.path.startswith(API_PREFIX) or request.url.path.startswith("/static"):
            return JSONResponse(
                {"detail": exc.detail}, status_code=exc.status_code, headers=headers
            )
        return render(
            request,
            "error.html",
            {"status": exc.status_code, "detail": exc.detail},
            language="en" if request.cookies.get("lx_lang") == "en" else "zh",
            status_code=exc.status_code,
        )

    return app
