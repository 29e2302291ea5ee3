"""E-mail over SMTP (STARTTLS or implicit TLS when configured); the password is secret.

:func:`send_mail` is the one SMTP sender of Lianxing: the alert channel sends its text
messages through it, and ``lianxing.reports.sending`` sends report files as attachments
through it with the same channel's settings, so there is one SMTP configuration.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from lianxing.alerts.channels.base import Channel, ChannelConfigError, DeliveryError, SendResult
from lianxing.domain.alerts import AlertMessage

SMTP_TIMEOUT_SECONDS = 30.0
SECURITY_MODES = ("none", "starttls", "tls")


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    """Where and how to hand mail over: an e-mail channel's settings."""

    host: str
    port: int
    security: str  # none | starttls | tls
    sender: str
    username: str | None = None
    password: str | None = None
    recipients: tuple[str, ...] = ()  # the channel's own recipients (alerts)

    @classmethod
    def of(cls, config: Mapping[str, Any], secrets: Mapping[str, str]) -> SmtpConfig:
        security = str(config.get("security") or "none")
        if security not in SECURITY_MODES:
            raise ChannelConfigError(
                f"email channel: security {security!r}; expected one of {', '.join(SECURITY_MODES)}"
            )
        return cls(
            host=str(config["host"]),
            port=int(config.get("port") or 25),
            security=security,
            sender=str(config["sender"]),
            username=str(config["username"]) if config.get("username") else None,
            password=secrets.get("password") or None,
            recipients=tuple(split_addresses(config.get("recipients") or ())),
        )


def split_addresses(value: str | Sequence[str]) -> list[str]:
    """``"a@x, b@y"`` or a list of addresses -> the addresses."""
    items = value.split(",") if isinstance(value, str) else list(value)
    return [str(a).strip() for a in items if str(a).strip()]


def send_mail(smtp: SmtpConfig, mail: EmailMessage, recipients: Sequence[str]) -> SendResult:
    """Hand one message to the SMTP server; :class:`DeliveryError` when it is not accepted."""
    if not recipients:
        raise DeliveryError("no recipient given")
    where = f"{smtp.host}:{smtp.port}"
    try:
        if smtp.security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                smtp.host, smtp.port, timeout=SMTP_TIMEOUT_SECONDS,
                context=ssl.create_default_context(),
            )  # fmt: skip
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=SMTP_TIMEOUT_SECONDS)
        with client:
            if smtp.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if smtp.username:
                client.login(smtp.username, smtp.password or "")
            refused = client.send_message(mail, to_addrs=list(recipients))
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(f"SMTP {exc.smtp_code} from {where}", exc.smtp_code) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"SMTP {where}: {exc}") from exc
    if refused:
        raise DeliveryError(f"SMTP {where} refused {', '.join(refused)}")
    return SendResult(250, f"{len(recipients)} recipient(s)")


class EmailChannel(Channel):
    kind = "email"
    title = "电子邮件 / E-mail"
    config_fields = ("host", "port", "security", "username", "sender", "recipients")
    required_config = ("host", "sender", "recipients")
    secret_fields = ("password",)

    @classmethod
    def check_settings(cls, config: Mapping[str, Any], secrets: Mapping[str, str]) -> list[str]:
        problems = super().check_settings(config, secrets)
        security = config.get("security")
        if security is not None and security not in SECURITY_MODES:
            problems.append(
                f"email channel: security {security!r}; expected one of {', '.join(SECURITY_MODES)}"
            )
        return problems

    def send(self, message: AlertMessage, *, delivery_id: int, now_unix: int) -> SendResult:
        smtp = SmtpConfig.of(self.config, self.secrets)
        mail = EmailMessage()
        mail["Subject"] = message.title
        mail["From"] = smtp.sender
        mail["To"] = ", ".join(smtp.recipients)
        mail["Date"] = formatdate(now_unix)
        mail["Message-ID"] = make_msgid(f"lianxing.delivery{delivery_id}")
        mail["X-Lianxing-Alert"] = str(message.alert_id)
        mail.set_content(message.text + "\n")
        return send_mail(smtp, mail, smtp.recipients)
