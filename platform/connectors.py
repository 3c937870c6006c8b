"""Outside systems as plug-ins: the ``Connector`` and ``DeviceMapping`` shapes and their registries.

A connector (Kingdee, Yonyou, the messaging robots, an MQTT broker …) lives in its own folder under
``connectors/`` and registers itself through ``mom_connectors``: its name, the settings it reads
and a health check an administrator can run. What it sends goes out through a delivery channel
(``mom.platform.delivery``) or an outbox handler; what it receives comes in as records or
``external`` events.

``mom connector list`` names them with their settings; ``mom connector health`` runs every check
(exit status 1 when one fails). ``DeviceMapping`` (``mom_device_mappings``) is reserved for the MQTT device consumer of issue 23:
the core collects the mappings but nothing consumes them yet.
"""
from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import click
import pluggy

from mom.platform.hookspecs import hookimpl
from mom.platform.plugins import by_key, plugin_manager
from mom.platform.settings import Settings, get_settings


@dataclass(frozen=True)
class Health:
    """The answer of a health check: ``ok`` and, per part checked, a short bilingual-free detail
    (``{"smtp": "127.0.0.1:25 reachable", "dingtalk": "not configured"}``)."""

    ok: bool
    detail: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Connector:
    """An outside system. ``settings`` names the ``Settings`` fields (``MOM_<NAME>`` variables) it
    reads; ``health(settings)`` checks them without changing anything outside; ``channels`` and
    ``documents`` list the delivery channels it provides and the documents it exchanges."""

    name: str
    label: Mapping[str, str]
    settings: tuple[str, ...]
    health: Callable[[Settings], Health]
    channels: tuple[str, ...] = ()
    documents: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeviceMapping:
    """How messages of a device topic become records (issue 23): ``topic`` is an MQTT topic filter
    (``plant/+/cnc/+/state``), ``form`` the form written to, ``fields`` maps a field key to an
    expression over the message (``payload``, ``topic``, ``parts``: the topic's levels), ``key`` the
    field that identifies an existing record to update (None: every message is a new record)."""

    name: str
    topic: str
    form: str
    fields: Mapping[str, str]
    key: str | None = None


def connectors(pm: pluggy.PluginManager | None = None) -> dict[str, Connector]:
    """Every registered connector by name."""
    return by_key((pm or plugin_manager()).hook.mom_connectors, what=("连接器", "connector"),
                  key=lambda c: c.name)


def device_mappings(pm: pluggy.PluginManager | None = None) -> dict[str, DeviceMapping]:
    """Every registered device mapping by name (collected; consumed from issue 23 on)."""
    return by_key((pm or plugin_manager()).hook.mom_device_mappings, what=("设备映射", "device mapping"),
                  key=lambda m: m.name)


def health(settings: Settings, pm: pluggy.PluginManager | None = None) -> dict[str, Any]:
    """Every connector's health, by name (``{"ok": bool, "detail": {…}}``)."""
    out = {}
    for name, c in connectors(pm).items():
        h = c.health(settings)
        out[name] = {"ok": h.ok, "detail": dict(h.detail)}
    return out


@click.group("connector", help="连接器 / connectors to outside systems")
def connector_group() -> None:
    pass


@connector_group.command("list", help="列出连接器及其设置 / list connectors and the settings they read")
def connector_list() -> None:
    for name, c in sorted(connectors().items()):
        click.echo(f"{name}\t{c.label.get('zh-CN', name)} / {c.label.get('en', name)}\t"
                   f"{', '.join('MOM_' + k.upper() for k in c.settings) or '-'}")


@connector_group.command("health", help="检查连接器的配置与连通性 / check the connectors' settings and reachability")
@click.option("--json", "as_json", is_flag=True)
def connector_health(as_json: bool) -> None:
    got = health(get_settings())
    if as_json:
        click.echo(json.dumps(got, ensure_ascii=False, indent=1))
    else:
        for name, h in sorted(got.items()):
            click.echo(f"{name}: {'ok' if h['ok'] else '失败 / failed'}")
            for part, text in h["detail"].items():
                click.echo(f"  {part}: {text}")
    if not all(h["ok"] for h in got.values()):
        sys.exit(1)


@hookimpl
def mom_cli_commands() -> list[click.Command]:
    """`mom connector list|health`."""
    return [connector_group]
