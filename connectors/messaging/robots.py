"""DingTalk and WeCom group robots, and signed outgoing webhooks.

DingTalk (钉钉自定义机器人, "加签" security): ``sign = base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}"))``,
sent as ``&timestamp=…&sign=…`` (URL-encoded) on the webhook URL; timestamp in milliseconds.
WeCom (企业微信群机器人): the robot is addressed by the ``key`` in its URL; it has no request signature.
Both answer ``{"errcode": 0, …}`` on success; anything else raises so the outbox retries.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.parse
import urllib.request
from typing import Any

from mom.platform.errors import MomError


class DeliveryError(MomError):
    """The receiver refused or could not be reached; the outbox retries with back-off.
    ``en`` is the technical reason (the receiver's answer); the Chinese half says what happened."""

    code = "delivery_failed"

    def __init__(self, en: str, zh: str | None = None) -> None:
        super().__init__(zh or f"消息未能送达：{en}", en)


def _post_json(url: str, body: bytes, headers: dict[str, str] | None = None, timeout: float = 10.0) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - URLs come from admins' settings
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"HTTP {exc.code} from {urllib.parse.urlsplit(url).netloc}: {exc.read()[:300]!r}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise DeliveryError(f"cannot reach {urllib.parse.urlsplit(url).netloc}: {exc}") from None


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _robot_answer(status: int, raw: bytes, who: str) -> None:
    try:
        answer = json.loads(raw or b"{}")
    except ValueError:
        raise DeliveryError(f"{who} answered HTTP {status} with non-JSON: {raw[:200]!r}") from None
    if answer.get("errcode", 0) != 0:
        raise DeliveryError(f"{who} refused the message: errcode {answer.get('errcode')} {answer.get('errmsg', '')}")


def send_dingtalk(webhook: str, secret: str, title: str, text: str, *, now_ms: int | None = None) -> None:
    if not webhook:
        raise DeliveryError("no DingTalk robot configured (MOM_DINGTALK_WEBHOOK)")
    url = webhook
    if secret:
        ts = now_ms if now_ms is not None else int(time.time() * 1000)
        sep = "&" if "?" in url else "?"
        url = f"{url}{sep}timestamp={ts}&sign={urllib.parse.quote_plus(dingtalk_sign(secret, ts))}"
    body = json.dumps({"msgtype": "markdown", "markdown": {"title": title, "text": f"### {title}\n\n{text}"}},
                      ensure_ascii=False).encode("utf-8")
    _robot_answer(*_post_json(url, body), "DingTalk")


def send_wecom(webhook: str, title: str, text: str) -> None:
    if not webhook:
        raise DeliveryError("no WeCom robot configured (MOM_WECOM_WEBHOOK)")
    body = json.dumps({"msgtype": "markdown", "markdown": {"content": f"**{title}**\n{text}"}}, ensure_ascii=False).encode("utf-8")
    _robot_answer(*_post_json(webhook, body), "WeCom")


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """``X-Mom-Signature``: hex HMAC-SHA256 over ``f"{timestamp}.".encode() + body`` (timestamp defeats replays)."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


def send_webhook(url: str, secret: str | None, payload: Any, *, delivery_id: int, raw_body: str | None = None) -> int:
    """POST JSON to ``url``. Receivers dedupe by ``X-Mom-Delivery`` (delivery is at least once)."""
    body = raw_body.encode("utf-8") if raw_body is not None else json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8")
    ts = str(int(time.time()))
    headers = {"X-Mom-Delivery": str(delivery_id), "X-Mom-Timestamp": ts}
    if secret:
        headers["X-Mom-Signature"] = webhook_signature(secret, ts, body)
    status, _ = _post_json(url, body, headers)
    return status
