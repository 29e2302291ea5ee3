"""Feishu / Lark custom bot (自定义机器人): a ``post`` rich-text message.

With signature verification on, the body carries ``timestamp`` (Unix seconds) and ``sign``:
base64 of HMAC-SHA256 keyed with ``"{timestamp}\\n{secret}"`` over an empty message (Feishu
"custom bot" guide, 签名校验). The bot answers HTTP 200 with ``code`` 0 when it accepted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from lianxing.alerts.channels.base import Channel, SendResult, check_api_code, post_json
from lianxing.domain.alerts import AlertMessage, Locale


def feishu_sign(secret: str, timestamp: int) -> str:
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


class FeishuChannel(Channel):
    kind = "feishu"
    title = "飞书 / Feishu (Lark)"
    secret_fields = ("url", "secret")
    required_secrets = ("url",)

    def send(self, message: AlertMessage, *, delivery_id: int, now_unix: int) -> SendResult:
        language = "zh_cn" if message.locale is Locale.ZH else "en_us"
        payload: dict[str, Any] = {
            "msg_type": "post",
            "content": {
                "post": {
                    language: {
                        "title": message.title,
                        "content": [[{"tag": "text", "text": line}] for line in message.lines],
                    }
                }
            },
        }
        if self.secrets.get("secret"):
            payload = {
                "timestamp": str(now_unix),
                "sign": feishu_sign(self.secrets["secret"], now_unix),
                **payload,
            }
        status, body = post_json(self.secrets["url"], payload)
        check_api_code(body, ("code", "StatusCode"), self.secrets["url"])
        return SendResult(status)
