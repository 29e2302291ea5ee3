"""The channel interface and registry: one module per channel kind, found by ``kind``.

A channel class declares its ``kind``, which settings are plain (``config_fields``) and which
are secret (``secret_fields``: stored only encrypted), and implements ``send``. Defining the
subclass registers it (``__init_subclass__``, as Superset's ``BaseNotification`` does), so
adding a channel is adding one module to this package.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from lianxing.domain.alerts import AlertMessage

HTTP_TIMEOUT_SECONDS = 10.0


class DeliveryError(Exception):
    """The channel did not accept the message; ``status`` is the HTTP status if there was one."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ChannelConfigError(ValueError):
    """Channel settings that cannot work; the message names the setting."""


@dataclass(frozen=True, slots=True)
class SendResult:
    status: int | None  # HTTP status, or SMTP reply code for e-mail
    detail: str = ""


class Channel:
    kind: ClassVar[str]
    title: ClassVar[str]  # "中文 / English"
    config_fields: ClassVar[tuple[str, ...]] = ()
    required_config: ClassVar[tuple[str, ...]] = ()
    secret_fields: ClassVar[tuple[str, ...]] = ()
    required_secrets: ClassVar[tuple[str, ...]] = ()
    registry: ClassVar[dict[str, type[Channel]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Channel.registry[cls.kind] = cls

    def __init__(self, config: Mapping[str, Any], secrets: Mapping[str, str]) -> None:
        self.config = dict(config)
        self.secrets = dict(secrets)

    @classmethod
    def check_settings(cls, config: Mapping[str, Any], secrets: Mapping[str, str]) -> list[str]:
        problems = [
            f"{cls.kind} channel: unknown setting {name!r}; expected one of "
            f"{', '.join(cls.config_fields + cls.secret_fields)}"
            for name in (*config, *secrets)
            if name not in cls.config_fields + cls.secret_fields
        ]
        problems += [
            f"{cls.kind} channel: setting {name!r} is required"
            for name in cls.required_config
            if not config.get(name)
        ]
        problems += [
            f"{cls.kind} channel: secret setting {name!r} is required"
            for name in cls.required_secrets
            if not secrets.get(name)
        ]
        return problems

    def send(self, message: AlertMessage, *, delivery_id: int, now_unix: int) -> SendResult:
        """Deliver one message; raise :class:`DeliveryError` when it was not accepted."""
        raise DeliveryError(f"channel kind {self.kind!r} cannot send")  # pragma: no cover


def channel_class(kind: str) -> type[Channel]:
    # Importing the package registers every shipped channel.
    import lianxing.alerts.channels  # noqa: F401

    try:
        return Channel.registry[kind]
    except KeyError:
        raise ChannelConfigError(
            f"channel kind {kind!r}: expected one of {', '.join(sorted(Channel.registry))}"
        ) from None


def post_json(
    url: str, payload: Mapping[str, Any] | bytes, headers: Mapping[str, str] | None = None
) -> tuple[int, bytes]:
    """POST JSON; return (status, body) for a 2xx answer, raise DeliveryError otherwise."""
    body = (
        payload
        if isinstance(payload, bytes)
        else json.dumps(payload, ensure_ascii=False).encode("utf-8")
    )
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"HTTP {exc.code} from {_host(url)}", status=exc.code) from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(f"cannot reach {_host(url)}: {reason}") from exc


def check_api_code(body: bytes, fields: tuple[str, ...], host_url: str) -> None:
    """Chat bots answer HTTP 200 with an error code in the body; 0 means accepted."""
    try:
        answer = json.loads(body or b"{}")
    except json.JSONDecodeError:
        return
    if not isinstance(answer, dict):
        return
    for name in fields:
        code = answer.get(name)
        if code not in (None, 0):
            text = answer.get("msg") or answer.get("errmsg") or answer.get("StatusMessage") or ""
            raise DeliveryError(f"{_host(host_url)} refused the message: {name}={code} {text}")


def _host(url: str) -> str:
    """The URL without its path and query: webhook tokens must not reach logs."""
    parsed = urllib.parse.urlsplit(url)
    return f"{parsed.scheme}://{parsed.netloc}"
