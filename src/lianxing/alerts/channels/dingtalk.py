"""DingTalk group robot (自定义机器人): a ``markdown`` message.

With 加签 on, ``timestamp`` (milliseconds) and ``sign`` go in the query string: ``sign`` is
the URL-encoded base64 of HMAC-SHA256 keyed with the secret over ``"{timestamp}\\n{secret}"``.
The robot answers HTTP 200 with ``errcode`` 0 when it accepted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse

from lianxing.alerts.channels.base import Channel, SendResult, check_api_code, post_json
from lianxing.domain.alerts import AlertMessage


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """The base64 signature (before URL encoding)."""
    digest = hmac.new(
        secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode()


def signed_url(url: str, secret: str, timestamp_ms: int) -> str:
    sign = urllib.parse.quote_plus(dingtalk_sign(secret, timestamp_ms))
    separator = "&" if urllib.parse.urlsplit(url).query else "?"
    return f"{url}{separator}timestamp={timestamp_ms}&sign={sign}"


class DingTalkChannel(Channel):
    kind = "dingtalk"
    title = "钉钉 / DingTalk"
    secret_fields = ("url", "secret")
    required_secrets = ("url",)

    def send(self, message: AlertMessage, *, delivery_id: int, now_unix: int) -> SendResult:
        text = f"#### {message.title}\n\n" + "\n".join(f"- {line}" for line in message.lines)
        payload = {"msgtype": "markdown", "markdown": {"title": message.title, "text": text}}
        url = self.secrets["url"]
        if self.secrets.get("secret"):
            url = signed_url(url, self.secrets["secret"], now_unix * 1000)
        status, body = post_json(url, payload)
        check_api_code(body, ("errcode",), url)
        return SendResult(status)
