"""Outbound delivery channels (webhook, e-mail, DingTalk, WeCom …) and the outbox topics' handlers.

A channel is a ``DeliveryChannel`` registered through the ``mom_delivery_channels`` hook; the worker
sends an outbox event ``deliver.<key>`` through the channel of that key, outside any transaction, and
marks it done after (a crash between the two re-sends with the same delivery id). The four built-in
channels below use the same hook as a plug-in would.

Transactional topics (``report.deliver`` …) are handled by functions registered through
``mom_outbox_handlers``; every other topic goes to the event rules (``rules.dispatch``).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pluggy
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mom.connectors.messaging import robots, smtp
from mom.platform import files
from mom.platform.db import tables as T
from mom.platform.errors import InvalidInput, did_you_mean
from mom.platform.hookspecs import hookimpl
from mom.platform.plugins import registry
from mom.platform.settings import Settings


@dataclass(frozen=True)
class DeliveryContext:
    """What a channel may use while sending: the database (read only; no transaction is open) and
    the settings."""

    engine: Engine
    settings: Settings


#: ``send(ctx, payload, delivery_id)``; raise to have the outbox retry with back-off.
Send = Callable[[DeliveryContext, Mapping[str, Any], int], None]


@dataclass(frozen=True)
class DeliveryChannel:
    """One way out. ``key`` names the outbox topic ``deliver.<key>``; ``label`` is shown to people
    (``{"zh-CN": …, "en": …}``); ``send`` delivers one payload. ``delivery_id`` is the outbox event
    id: the same on every retry, so a receiver can drop duplicates (delivery is at least once)."""

    key: str
    label: Mapping[str, str]
    send: Send
    settings: tuple[str, ...] = field(default=())   # settings it reads, for docs and health pages


#: ``channels(pm=None)``: every registered channel by key (the process's plug-in manager unless ``pm`` is given).
channels: Callable[..., dict[str, DeliveryChannel]] = registry("mom_delivery_channels",
                                                              what=("投递渠道", "delivery channel"))


def channel(key: str, pm: pluggy.PluginManager | None = None) -> DeliveryChannel:
    """The channel of ``key``; a clear error naming the known ones when there is none."""
    known = channels(pm)
    found = known.get(key)
    if found is None:
        hint = did_you_mean(key, set(known))
        raise InvalidInput(f"没有名为 {key} 的投递渠道{hint}（已注册：{', '.join(sorted(known))}）",
                           f"no delivery channel named {key}{hint} (registered: {', '.join(sorted(known))})")
    return found


#: ``fn(worker, conn, payload, *, now, event_id)``: runs inside the transaction that marks the event done.
OutboxHandler = Callable[..., Any]


#: ``outbox_handlers(pm=None)``: transactional outbox topics with a handler of their own, by topic.
outbox_handlers: Callable[..., dict[str, OutboxHandler]] = registry("mom_outbox_handlers",
                                                                    what=("事件处理器", "outbox handler"))


# ---------------------------------------------------------------- the built-in channels
def _send_webhook(ctx: DeliveryContext, payload: Mapping[str, Any], delivery_id: int) -> None:
    robots.send_webhook(payload["url"], payload.get("secret"), payload.get("data"), delivery_id=delivery_id,
                        raw_body=payload.get("body"))


def _send_email(ctx: DeliveryContext, payload: Mapping[str, Any], delivery_id: int) -> None:
    s = ctx.settings
    attachments = []
    with ctx.engine.connect() as conn:
        emails = [r[0] for r in conn.execute(sa.select(T.user.c.email).where(
            T.user.c.id.in_(payload.get("users") or []), T.user.c.email.is_not(None)))]
        for aid in payload.get("attachments") or []:
            row = conn.execute(sa.select(T.attachment).where(T.attachment.c.id == aid)).first()
            if row is not None:
                attachments.append((row.filename, files.path_of(s, row.sha256).read_bytes(), row.content_type))
    emails += [e for e in payload.get("emails") or [] if e not in emails]
    smtp.send_mail(host=s.smtp_host, port=s.smtp_port, sender=s.smtp_from, to=emails, subject=payload["subject"],
                   body=payload.get("body") or "", user=s.smtp_user, password=s.smtp_password,
                   starttls=s.smtp_starttls, message_id=f"<mom-{delivery_id}@mom.local>", attachments=attachments)


def _send_dingtalk(ctx: DeliveryContext, payload: Mapping[str, Any], delivery_id: int) -> None:
    s = ctx.settings
    robots.send_dingtalk(payload.get("webhook_url") or s.dingtalk_webhook, s.dingtalk_secret,
                         payload["title"], payload.get("body") or "")


def _send_wecom(ctx: DeliveryContext, payload: Mapping[str, Any], delivery_id: int) -> None:
    robots.send_wecom(payload.get("webhook_url") or ctx.settings.wecom_webhook, payload["title"], payload.get("body") or "")


@hookimpl
def mom_delivery_channels() -> list[DeliveryChannel]:
    """The core's channels: signed webhooks, e-mail over SMTP, DingTalk and WeCom group robots."""
    return [
        DeliveryChannel("webhook", {"zh-CN": "Webhook", "en": "Webhook"}, _send_webhook),
        DeliveryChannel("email", {"zh-CN": "邮件", "en": "E-mail"}, _send_email,
                        ("smtp_host", "smtp_port", "smtp_from", "smtp_user", "smtp_password", "smtp_starttls")),
        DeliveryChannel("dingtalk", {"zh-CN": "钉钉", "en": "DingTalk"}, _send_dingtalk, ("dingtalk_webhook", "dingtalk_secret")),
        DeliveryChannel("wecom", {"zh-CN": "企业微信", "en": "WeCom"}, _send_wecom, ("wecom_webhook",)),
    ]
