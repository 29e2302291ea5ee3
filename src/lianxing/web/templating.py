"""Jinja2 rendering with the caller's language, CSRF token and a few formatting helpers."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from lianxing.web.charts import sparkline_svg
from lianxing.web.deps import Caller
from lianxing.web.i18n import DEFAULT_LANGUAGE, translations
from lianxing.web.kpis import format_value

TEMPLATES_DIR = Path(__file__).parent / "templates"

_env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(["html"]),
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["kpi"] = format_value
_env.globals["sparkline"] = sparkline_svg


def _bilingual(language: str) -> Any:
    def pick(zh: str, en: str) -> str:
        return zh if language == "zh" else en

    return pick


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    caller: Caller | None = None,
    language: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    language = language or (caller.language if caller else DEFAULT_LANGUAGE)
    gettext = translations(language)
    template_obj = _env.get_template(template)
    body = template_obj.render(
        {
            "request": request,
            "caller": caller,
            "user": caller.principal if caller else None,
            "csrf_token": caller.csrf_token if caller else context.get("csrf_token", ""),
            "lang": language,
            "pick": _bilingual(language),
            "_": gettext.gettext,
            "gettext": gettext.gettext,
            "ngettext": gettext.ngettext,
            "path": request.url.path,
            "here": quote(
                request.url.path + (f"?{request.url.query}" if request.url.query else ""), safe=""
            ),
            **context,
        }
    )
    return HTMLResponse(body, status_code=status_code)
