"""Slack incoming webhook: ``text`` (the notification fallback) plus ``blocks``.

Incoming webhooks are authorised by the secret URL itself (no request signature); Slack
answers ``ok`` with HTTP 200, and an error text with 4xx.
"""

from __future__ import annotations

from lianxing.alerts.channels.base import Channel, SendResult, post_json
from lianxing.domain.alerts import AlertMessage

MAX_HEADER_CHARS = 150  # Slack's limit for a header block's plain_text


class SlackChannel(Channel):
    kind = "slack"
    title = "Slack"
    secret_fields = ("url",)
    required_secrets = ("url",)

    def send(self, message: AlertMessage, *, delivery_id: int, now_unix: int) -> SendResult:
        payload = {
            "text": message.title,
            "blocks": [
                {
                    "type": "header",
                    "text": {"type": "plain_text", "text": message.title[:MAX_HEADER_CHARS]},
                },
                {
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": "\n".join(message.lines)},
                },
            ],
        }
        status, _ = post_json(self.secrets["url"], payload)
        return SendResult(status)
