"""WeCom (企业微信) group robot: a ``markdown`` message (content at most 4096 bytes, UTF-8).

The webhook URL carries the robot's key, so the whole URL is a secret; there is no request
signature. The robot answers HTTP 200 with ``errcode`` 0 when it accepted.
"""

from __future__ import annotations

from lianxing.alerts.channels.base import Channel, SendResult, check_api_code, post_json
from lianxing.domain.alerts import AlertMessage, Severity

MAX_CONTENT_BYTES = 4096
_COLOURS = {Severity.INFO: "info", Severity.WARNING: "warning", Severity.CRITICAL: "warning"}


def truncate_utf8(text: str, limit: int) -> str:
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode(errors="ignore") + "..."


class WeComChannel(Channel):
    kind = "wecom"
    title = "企业微信 / WeCom"
    secret_fields = ("url",)
    required_secrets = ("url",)

    def send(self, message: AlertMessage, *, delivery_id: int, now_unix: int) -> SendResult:
        colour = _COLOURS[message.severity]
        content = f'**<font color="{colour}">{message.title}</font>**\n' + "\n".join(
            f"> {line}" for line in message.lines
        )
        payload = {
            "msgtype": "markdown",
            "markdown": {"content": truncate_utf8(content, MAX_CONTENT_BYTES)},
        }
        status, body = post_json(self.secrets["url"], payload)
        check_api_code(body, ("errcode",), self.secrets["url"])
        return SendResult(status)
