"""``lianxing serve``: the web app, the REST API and the embedded job runner."""

from __future__ import annotations

import typer
from rich.console import Console

from lianxing.cli.common import command_workspace, fail
from lianxing.cli.root import app

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def run_server(host: str, port: int, *, proxy_headers: bool = False) -> None:
    """Serve the workspace's web app until interrupted (used by ``serve`` and ``demo``).

    The background jobs (uploaded imports, alert evaluation and delivery, scheduled reports)
    run in this process unless ``LIANXING_QUEUE_URL`` hands them to ``lianxing worker``.
    """
    import uvicorn

    from lianxing.jobs.runner import EmbeddedRunner
    from lianxing.web.app import create_app

    with command_workspace() as ws:
        runner = None if ws.settings.queue_url else EmbeddedRunner(ws.settings)
        if runner is None:
            Console(stderr=True).print(
                "jobs go to the queue; run `lianxing worker` / 后台任务由 lianxing worker 执行"
            )
        web_app = create_app(workspace=ws, job_runner=runner)
        uvicorn.run(
            web_app,
            host=host,
            port=port,
            proxy_headers=proxy_headers,
            forwarded_allow_ips="*" if proxy_headers else None,
            log_level="info",
        )


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
    port: int = typer.Option(8000, help="port to listen on"),
    proxy_headers: bool = typer.Option(
        False, "--proxy-headers", help="trust X-Forwarded-* (behind an HTTPS reverse proxy)"
    ),
) -> None:
    """Serve the web app and the API. 启动网页与 API"""
    if not 0 < port < 65536:
        fail(f"--port: {port} is not a port number; expected 1-65535")
    err = Console(stderr=True)
    if host not in LOOPBACK and not proxy_headers:
        err.print(
            "[yellow]warning:[/] serving plain HTTP on a non-loopback address; put an HTTPS "
            "proxy in front and pass --proxy-headers / 请使用 HTTPS 反向代理"
        )
    err.print(f"联星 Lianxing: http://{host}:{port}/  (API docs: /api/v1/docs)")
    run_server(host, port, proxy_headers=proxy_headers)
