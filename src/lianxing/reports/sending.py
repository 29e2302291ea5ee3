"""Sending a generated report by e-mail, as an attachment.

There is one SMTP configuration in Lianxing: an alert e-mail channel's settings
(``lianxing alert channel add --kind email``). Reports go out through the same sender
(:func:`lianxing.alerts.channels.email.send_mail`) with those settings
(:func:`lianxing.alerts.service.email_settings`); scheduled reports
(``lianxing.reports.schedules``) and ``lianxing report --email`` both call
:func:`send_report`.
"""

from __future__ import annotations

from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from lianxing.alerts.channels import DeliveryError
from lianxing.alerts.channels.email import SmtpConfig, send_mail
from lianxing.reports.model import ReviewReport
from lianxing.reports.text import label

MIME_TYPES = {
    "html": ("text", "html"),
    "pdf": ("application", "pdf"),
    "xlsx": ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}


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
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid("lianxing.report")
    message["X-Lianxing-Report"] = f"{report.scope_key} {report.period}"
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
    smtp: SmtpConfig,
    lang: str = "zh",
    sha256: str | None = None,
) -> EmailMessage:
    """Mail the report file to ``recipients``; returns the message that was sent."""
    if not recipients:
        raise SendError("no recipient given")
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
        send_mail(smtp, message, recipients)
    except DeliveryError as exc:
        raise SendError(str(exc)) from exc
    return message
