"""A generic JSON webhook, signed with HMAC-SHA256 so the receiver can check its origin.

Headers: ``X-Lianxing-Timestamp`` (Unix seconds), ``X-Lianxing-Signature``
(``sha256=`` + hex HMAC-SHA256 with the shared secret over ``"{timestamp}." + body``) and
``X-Lianxing-Delivery`` (the delivery id: a receiver drops a repeat of an id it has seen).
The body is :meth:`AlertMessage.as_json`.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from lianxing.alerts.channels.base import Channel, SendResult, post_json
from lianxing.domain.alerts import AlertMessage


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


class WebhookChannel(Channel):
    kind = "webhook"
    title = "通用 Webhook / Generic webhook"
    secret_fields = ("url", "secret")
    required_secrets = ("url",)

    def send(self, message: AlertMessage, *, delivery_id: int, now_unix: int) -> SendResult:
        body = json.dumps(message.as_json(), ensure_ascii=False, sort_keys=True).encode()
        headers = {"X-Lianxing-Timestamp": str(now_unix), "X-Lianxing-Delivery": str(delivery_id)}
        if self.secrets.get("secret"):
            headers["X-Lianxing-Signature"] = webhook_signature(
                self.secrets["secret"], now_unix, body
            )
        status, _ = post_json(self.secrets["url"], body, headers)
        return SendResult(status)
