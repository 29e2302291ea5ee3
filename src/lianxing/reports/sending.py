"""Sending a generated report by e-mail, as an attachment.

The alerts feature has no e-mail channel yet (``lianxing.alerts.channels``), so this sends
through SMTP with its own settings from the environment (``LIANXING_SMTP_HOST``,
``_PORT``, ``_USER``, ``_PASSWORD``, ``_SENDER``, ``_STARTTLS``). Scheduled sending calls
:func:`send_report` from a job.
"""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from email.message import EmailMessage

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from lianxing.reports.model import ReviewReport
from lianxing.reports.text import label

MIME_TYPES = {
    "html": ("text", "html"),
    "pdf": ("application", "pdf"),
    "xlsx": ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}


class SmtpSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LIANXING_SMTP_", extra="ignore")

    host: str = Field(default="localhost", description="SMTP server")
    port: int = Field(default=25)
    user: str | None = Field(default=None)
    password: str | None = Field(default=None)
    sender: str = Field(default="lianxing@localhost", description="From address")
    starttls: bool = Field(default=False)
    timeout: float = Field(default=30.0)


class SendError(RuntimeError):
    """The report could not be handed to the SMTP server; the message says why."""


def report_message(
    report: ReviewReport,
    content: bytes,
    *,
    fmt: str,
    file_name: str,
    recipients: Sequence[str],
    sender: str,
    lang: str = "zh",
    sha256: str | None = None,
) -> EmailMessage:
    message = EmailMessage()
    title = f"{label('title', lang)} · {report.scope_label} · {report.period}"
    message["Subject"] = title
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    lines = [title, "", f"{label('dates', lang)}: {report.start} – {report.last_day}"]
    if sha256:
        lines.append(f"sha256: {sha256}  (lianxing report verify {file_name})")
    message.set_content("\n".join(lines))
    maintype, subtype = MIME_TYPES[fmt]
    message.add_attachment(content, maintype=maintype, subtype=subtype, filename=file_name)
    return message


def send_report(
    report: ReviewReport,
    content: bytes,
    *,
    fmt: str,
    file_name: str,
    recipients: Sequence[str],
    lang: str = "zh",
    sha256: str | None = None,
    settings: SmtpSettings | None = None,
) -> EmailMessage:
    """Mail the report file to ``recipients``; returns the message that was sent."""
    if not recipients:
        raise SendError("no recipient given")
    smtp = settings or SmtpSettings()
    message = report_message(
        report,
        content,
        fmt=fmt,
        file_name=file_name,
        recipients=recipients,
        sender=smtp.sender,
        lang=lang,
        sha256=sha256,
    )
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout) as client:
            if smtp.starttls:
                client.starttls()
            if smtp.user:
                client.login(smtp.user, smtp.password or "")
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise SendError(f"SMTP {smtp.host}:{smtp.port}: {exc}") from exc
    return message
