"""Notification channels. Importing this package registers every shipped channel kind."""

from __future__ import annotations

from lianxing.alerts.channels import dingtalk, email, feishu, slack, webhook, wecom
from lianxing.alerts.channels.base import (
    Channel,
    ChannelConfigError,
    DeliveryError,
    SendResult,
    channel_class,
)

__all__ = [
    "Channel",
    "ChannelConfigError",
    "DeliveryError",
    "SendResult",
    "channel_class",
    "dingtalk",
    "email",
    "feishu",
    "slack",
    "webhook",
    "wecom",
]
