"""E-mail over SMTP (STARTTLS or implicit TLS when configured); the password is secret."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from lianxing.alerts.channels.base import Channel, DeliveryError, SendResult
from lianxing.domain.alerts import AlertMessage


class EmailChannel(Channel):
    kind = "email"
    title = "电子邮件 / E-mail"
    config_fields = ("host", "port", "security", "username", "sender", "recipients")
    required_config = ("host", "sender", "recipients")
    secret_fields = ("password",)

    def send(self, message: AlertMessage, *, delivery_id: int, now_unix: int) -> SendResult:
        recipients = self.config["recipients"]
        if isinstance(recipients, str):
            recipients = [r.strip() for r in recipients.split(",") if r.strip()]
        mail = EmailMessage()
        mail["Subject"] = message.title
        mail["From"] = self.config["sender"]
        mail["To"] = ", ".join(recipients)
        mail["Date"] = formatdate(now_unix)
        mail["Message-ID"] = make_msgid(f"lianxing.delivery{delivery_id}")
        mail["X-Lianxing-Alert"] = str(message.alert_id)
        mail.set_content(message.text + "\n")
        host = str(self.config["host"])
        port = int(self.config.get("port") or 25)
        security = str(self.config.get("security") or "none")  # none | starttls | tls
        try:
            if security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    host, port, timeout=10, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(host, port, timeout=10)
            with smtp:
                if security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if self.config.get("username"):
                    smtp.login(str(self.config["username"]), self.secrets.get("password", ""))
                refused = smtp.send_message(mail, to_addrs=recipients)
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"SMTP {exc.smtp_code} from {host}:{port}", exc.smtp_code) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP {host}:{port}: {exc}") from exc
        if refused:
            raise DeliveryError(f"SMTP {host}:{port} refused {', '.join(refused)}")
        return SendResult(250, f"{len(recipients)} recipient(s)")
