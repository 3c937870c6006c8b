"""The messaging connector: e-mail over SMTP and the DingTalk / WeCom group robots, registered
through ``mom_connectors``. Its delivery channels are in ``mom.platform.delivery``."""
from __future__ import annotations

import socket
import urllib.parse

from mom.platform.connectors import Connector, Health
from mom.platform.hookspecs import hookimpl
from mom.platform.settings import Settings


def _reachable(host: str, port: int, timeout: float = 3.0) -> str | None:
    """None when a TCP connection opens, else why not."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return str(exc)


def health(settings: Settings) -> Health:
    """SMTP: a TCP connection to the server opens (nothing is sent). Robots: an https/http address
    is configured (they are not called: a test message would reach a real group)."""
    detail: dict[str, str] = {}
    ok = True
    if settings.smtp_host:
        why = _reachable(settings.smtp_host, settings.smtp_port)
        detail["smtp"] = f"{settings.smtp_host}:{settings.smtp_port} " + ("reachable" if why is None else f"unreachable: {why}")
        ok = ok and why is None
    else:
        detail["smtp"] = "not configured (MOM_SMTP_HOST)"
    for key, url in (("dingtalk", settings.dingtalk_webhook), ("wecom", settings.wecom_webhook)):
        if not url:
            detail[key] = f"not configured (MOM_{key.upper()}_WEBHOOK)"
        elif urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            detail[key] = "not an http(s) address"
            ok = False
        else:
            detail[key] = f"configured ({urllib.parse.urlsplit(url).netloc})"
    return Health(ok, detail)


@hookimpl
def mom_connectors() -> list[Connector]:
    """The messaging connector."""
    return [Connector(
        name="messaging", label={"zh-CN": "消息（邮件、钉钉、企业微信）", "en": "Messaging (e-mail, DingTalk, WeCom)"},
        settings=("smtp_host", "smtp_port", "smtp_user", "smtp_password", "smtp_from", "smtp_starttls",
                  "dingtalk_webhook", "dingtalk_secret", "wecom_webhook"),
        health=health, channels=("email", "dingtalk", "wecom", "webhook"))]
