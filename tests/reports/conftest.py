"""Fixtures for the report tests: a real SMTP server on loopback (see ``report_mailbox``)."""

from __future__ import annotations

from report_mailbox import mailbox

__all__ = ["mailbox"]
