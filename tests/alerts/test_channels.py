"""Each channel against a real loopback server: the payload and signature its documentation
asks for, and the answers that mean "not delivered"."""

from __future__ import annotations

import base64
import datetime as dt
import email
import hashlib
import hmac
import json
import urllib.parse
from email import policy

import pytest
from alert_sinks import HttpSink, SmtpSink

from lianxing.alerts.channels import DeliveryError, channel_class
from lianxing.domain.alerts import AlertMessage, Locale, Notify, Severity

NOW_UNIX = 1_793_606_400  # 2026-11-02 08:00:00 UTC


def message(locale: Locale = Locale.ZH, severity: Severity = Severity.WARNING) -> AlertMessage:
    return AlertMessage(
        title="[告警][警告] ROAS 过低" if locale is Locale.ZH else "[FIRING][warning] ROAS low",
        lines=("店铺: Acme US (#1)", "情况: ROAS 1.8 < 2.5"),
        severity=severity,
        event=Notify.FIRING,
        locale=locale,
        alert_id=7,
        rule_id=3,
        dedup_key="store:1",
        store_id=1,
        value=1.8,
        at=dt.datetime(2026, 11, 2, 8, 0),
    )


def send(
    kind: str,
    secrets: dict[str, str],
    msg: AlertMessage | None = None,
    config: dict[str, object] | None = None,
) -> None:
    channel = channel_class(kind)(config or {}, secrets)
    channel.send(msg or message(), delivery_id=41, now_unix=NOW_UNIX)


def test_generic_webhook_is_hmac_signed(http_sink: HttpSink) -> None:
    send("webhook", {"url": http_sink.url + "/hooks/lianxing", "secret": "s3cret"})
    (req,) = http_sink.requests
    assert req.path == "/hooks/lianxing"
    assert req.headers["X-Lianxing-Timestamp"] == str(NOW_UNIX)
    assert req.headers["X-Lianxing-Delivery"] == "41"
    expected = hmac.new(b"s3cret", f"{NOW_UNIX}.".encode() + req.body, hashlib.sha256).hexdigest()
    assert req.headers["X-Lianxing-Signature"] == "sha256=" + expected
    body = req.json
    assert body["title"] == "[告警][警告] ROAS 过低"
    assert body["text"] == "店铺: Acme US (#1)\n情况: ROAS 1.8 < 2.5"
    assert body["event"] == "firing" and body["alert_id"] == 7 and body["value"] == 1.8
    assert body["at"] == "2026-11-02T08:00:00Z"


def test_feishu_post_message_with_timestamp_and_sign(http_sink: HttpSink) -> None:
    http_sink.replies.append((200, b'{"code":0,"msg":"success","data":{}}'))
    send(
        "feishu",
        {"url": http_sink.url + "/open-apis/bot/v2/hook/abc", "secret": "fs-secret"},
        message(Locale.EN),
    )
    body = http_sink.requests[0].json
    assert body["timestamp"] == str(NOW_UNIX)  # seconds
    # Feishu: HmacSHA256 keyed with "timestamp\nsecret" over empty data, base64.
    key = f"{NOW_UNIX}\nfs-secret".encode()
    assert body["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert body["msg_type"] == "post"
    post = body["content"]["post"]["en_us"]
    assert post["title"] == "[FIRING][warning] ROAS low"
    assert post["content"] == [
        [{"tag": "text", "text": "店铺: Acme US (#1)"}],
        [{"tag": "text", "text": "情况: ROAS 1.8 < 2.5"}],
    ]


def test_feishu_error_code_is_a_failed_delivery(http_sink: HttpSink) -> None:
    http_sink.replies.append(
        (
            200,
            b'{"code":19021,"msg":"sign match fail or timestamp is not within one hour '
            b'from current time"}',
        )
    )
    with pytest.raises(DeliveryError, match="code=19021 sign match fail"):
        send("feishu", {"url": http_sink.url + "/hook/abc", "secret": "x"})


def test_dingtalk_markdown_with_signed_query(http_sink: HttpSink) -> None:
    http_sink.replies.append((200, b'{"errcode":0,"errmsg":"ok"}'))
    send("dingtalk", {"url": http_sink.url + "/robot/send?access_token=tok", "secret": "SECabc"})
    req = http_sink.requests[0]
    path, _, query = req.path.partition("?")
    params = urllib.parse.parse_qs(query)
    assert path == "/robot/send"
    assert params["access_token"] == ["tok"]
    ts = NOW_UNIX * 1000  # milliseconds
    assert params["timestamp"] == [str(ts)]
    digest = hmac.new(b"SECabc", f"{ts}\nSECabc".encode(), hashlib.sha256).digest()
    assert params["sign"] == [base64.b64encode(digest).decode()]  # parse_qs undid the URL encoding
    assert req.json == {
        "msgtype": "markdown",
        "markdown": {
            "title": "[告警][警告] ROAS 过低",
            "text": "#### [告警][警告] ROAS 过低\n\n- 店铺: Acme US (#1)\n- 情况: ROAS 1.8 < 2.5",
        },
    }


def test_dingtalk_refusal(http_sink: HttpSink) -> None:
    http_sink.replies.append(
        (200, json.dumps({"errcode": 310000, "errmsg": "sign not match"}).encode())
    )
    with pytest.raises(DeliveryError, match="errcode=310000 sign not match"):
        send("dingtalk", {"url": http_sink.url + "/robot/send?access_token=t", "secret": "s"})


def test_wecom_markdown(http_sink: HttpSink) -> None:
    http_sink.replies.append((200, b'{"errcode":0,"errmsg":"ok"}'))
    send("wecom", {"url": http_sink.url + "/cgi-bin/webhook/send?key=k-1"})
    req = http_sink.requests[0]
    assert req.path == "/cgi-bin/webhook/send?key=k-1"
    assert req.json == {
        "msgtype": "markdown",
        "markdown": {
            "content": '**<font color="warning">[告警][警告] ROAS 过低</font>**\n'
            "> 店铺: Acme US (#1)\n> 情况: ROAS 1.8 < 2.5"
        },
    }


def test_wecom_content_is_cut_to_4096_bytes(http_sink: HttpSink) -> None:
    long = AlertMessage(**{**_fields(message()), "lines": ("超" * 3000,)})
    send("wecom", {"url": http_sink.url + "/w?key=k"}, long)
    content = http_sink.requests[0].json["markdown"]["content"]
    assert len(content.encode()) <= 4096 and content.endswith("...")


def test_slack_text_and_blocks(http_sink: HttpSink) -> None:
    http_sink.replies.append((200, b"ok"))
    send("slack", {"url": http_sink.url + "/services/T0/B0/xyz"}, message(Locale.EN))
    assert http_sink.requests[0].json == {
        "text": "[FIRING][warning] ROAS low",
        "blocks": [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": "[FIRING][warning] ROAS low"},
            },
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "店铺: Acme US (#1)\n情况: ROAS 1.8 < 2.5"},
            },
        ],
    }


def test_http_error_and_unreachable_host(http_sink: HttpSink) -> None:
    http_sink.replies.append((404, b"no_service"))
    with pytest.raises(DeliveryError, match=r"HTTP 404 from http://127\.0\.0\.1") as err:
        send("slack", {"url": http_sink.url + "/services/secret-token"})
    assert err.value.status == 404
    assert "secret-token" not in str(err.value)  # tokens in URLs never reach the log
    with pytest.raises(DeliveryError, match=r"cannot reach http://127\.0\.0\.1:9"):
        send("webhook", {"url": "http://127.0.0.1:9/x"})


def test_email_through_smtp(smtp_sink: SmtpSink) -> None:
    send(
        "email",
        {},
        message(Locale.ZH, Severity.CRITICAL),
        {
            "host": smtp_sink.host,
            "port": smtp_sink.port,
            "sender": "alerts@lianxing.test",
            "recipients": "ops@seller.test, boss@seller.test",
        },
    )
    (mail,) = smtp_sink.messages
    assert mail.sender == "alerts@lianxing.test"
    assert mail.recipients == ["ops@seller.test", "boss@seller.test"]
    parsed = email.message_from_bytes(mail.content, policy=policy.default)
    assert parsed["Subject"] == "[告警][警告] ROAS 过低"
    assert parsed["X-Lianxing-Alert"] == "7"
    # SMTP carries CRLF line ends.
    assert parsed.get_content().replace("\r\n", "\n") == (
        "[告警][警告] ROAS 过低\n店铺: Acme US (#1)\n情况: ROAS 1.8 < 2.5\n"
    )


def test_email_to_a_closed_port_fails() -> None:
    with pytest.raises(DeliveryError, match=r"SMTP 127\.0\.0\.1:9"):
        send(
            "email",
            {},
            config={"host": "127.0.0.1", "port": 9, "sender": "a@b.test", "recipients": "c@d.test"},
        )


def test_settings_are_checked() -> None:
    cls = channel_class("dingtalk")
    assert cls.check_settings({"colour": "red"}, {}) == [
        "dingtalk channel: unknown setting 'colour'; expected one of url, secret",
        "dingtalk channel: secret setting 'url' is required",
    ]
    assert channel_class("email").check_settings({"host": "h"}, {}) == [
        "email channel: setting 'sender' is required",
        "email channel: setting 'recipients' is required",
    ]


def _fields(msg: AlertMessage) -> dict[str, object]:
    return {name: getattr(msg, name) for name in AlertMessage.__slots__}
