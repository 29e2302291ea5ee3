"""The web app: REST API under ``/api/v1`` and server-rendered pages (``create_app``)."""

from __future__ import annotations
