"""Fixtures for the alert tests: loopback HTTP and SMTP servers (see ``alert_sinks``)."""

from __future__ import annotations

from alert_sinks import http_sink, smtp_sink

__all__ = ["http_sink", "smtp_sink"]
