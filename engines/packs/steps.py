"""Pack install steps: one ``PackStep`` per kind of definition a pack folder holds.

The loader reads each step's folder (or the manifest's list under the step's key), and installs the
steps in ``order`` within their ``phase``:

- ``schema``: forms, planned and published first (``loader.apply``), so that everything else finds
  its tables;
- ``automation``: roles, workflows, event rules, reports, dashboards, print templates and the pack's
  menu (``loader.apply_automation``), in the same transaction as the forms when the caller wants;
- ``data``: fixture records, imported through the record service after the definitions committed
  (``loader.install_data``; the demo loads them, ``mom form apply`` does not).

The built-in steps are registered through the ``mom_pack_steps`` hook like a plug-in's would be. An
``upgrade`` and an ``uninstall`` slot are reserved on every step for issue 18 (pack versions); today
nothing calls them.
"""
from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection, Engine

from mom.engines.forms import store
from mom.engines.packs.menu import record_pack
from mom.engines.records import transfer
from mom.engines.records.context import SYSTEM, Ctx, actor_by_username
from mom.engines.reports import dashboard, printing
from mom.engines.reports import service as reports
from mom.engines.workflow import rules
from mom.engines.workflow import store as flows
from mom.platform import plugins
from mom.platform.db.engine import read_tx
from mom.platform.hookspecs import hookimpl

#: ``(file relative to the pack root, parsed JSON)`` in install order
Item = tuple[str, Any]


@dataclass
class PackContext:
    """What a step's ``install`` gets: the pack, the transaction (``conn``; ``engine`` for the data
    phase, which runs its own transactions), the form registry with its record hooks, the clock."""

    bundle: Any                      # mom.engines.packs.loader.Bundle
    conn: Connection | None = None
    engine: Engine | None = None
    forms: Any = None                # FormRegistry with the platform's record hooks
    now: dt.datetime | None = None
    tz: dt.tzinfo | None = None
    actor_id: int | None = None
    plans: list[Any] = field(default_factory=list)   # what the forms step published (``Plan`` objects)

    def items(self, key: str) -> list[Item]:
        return self.bundle.of(key)


#: ``install(ctx, file, raw) -> line or None``: installs one item, returns what to show
Install = Callable[[PackContext, str, Any], "str | None"]


@dataclass(frozen=True)
class PackStep:
    """One kind of definition in a pack folder.

    Its items: with a ``folder``, the JSON files the manifest lists under ``key``
    (``"workflows": ["workflows/a.json"]``), else every ``<folder>/*.json``; without one, the entries
    of the manifest's list under ``key`` (``"roles": [{…}]``, ``"fixtures": [{…}]``); with ``once``,
    the manifest itself, once. ``install(ctx, file, raw)`` installs one item and returns the line to
    show (or None). ``upgrade(ctx, file, raw, old)`` and ``uninstall(ctx, name)`` are reserved for
    issue 18 (pack versions): nothing calls them yet."""

    key: str
    folder: str | None
    order: int
    install: Install
    phase: str = "automation"        # "schema" | "automation" | "data"
    once: bool = False               # called once with ("pack.json", manifest)
    upgrade: Callable[..., Any] | None = None      # issue 18: move an installed definition to this version
    uninstall: Callable[..., Any] | None = None    # issue 18: remove what the step installed


@functools.cache
def _registry() -> tuple[PackStep, ...]:
    return steps_of(plugins.plugin_manager())


def forget() -> None:
    """Drop the cached steps (a pack registered its ``hooks.py`` on the process's manager)."""
    _registry.cache_clear()


def steps_of(pm: Any) -> tuple[PackStep, ...]:
    """The steps a plug-in manager knows, by (phase, order)."""
    found = plugins.by_key(pm.hook.mom_pack_steps, what=("安装步骤", "pack step"))
    rank = {"schema": 0, "automation": 1, "data": 2}
    return tuple(sorted(found.values(), key=lambda s: (rank.get(s.phase, 1), s.order, s.key)))


def registered(phase: str | None = None, pm: Any = None) -> tuple[PackStep, ...]:
    """The registered steps (of one ``phase``), in install order."""
    got = steps_of(pm) if pm is not None else _registry()
    return tuple(s for s in got if phase is None or s.phase == phase)


# ---------------------------------------------------------------- the built-in steps
def applied(kind: str, res: dict[str, Any]) -> str:
    """The line shown for a published definition: ``workflow ncr_review: v2`` (or unchanged)."""
    return f"{kind} {res['name']}: v{res['version']}{'' if res['changed'] else '（未变 / unchanged）'}"


def _forms(ctx: PackContext, file: str, raw: Any) -> None:
    plan_, _ = store.publish(ctx.conn, raw, actor_id=ctx.actor_id)
    ctx.plans.append(plan_)      # shown by the caller with plan.describe()


def _role(ctx: PackContext, file: str, role: Any) -> None:
    from mom.platform.auth.service import ensure_role   # not an engine dependency: only this step needs it

    ensure_role(ctx.conn, role["name"], role.get("label"))   # roles the pack's flows and permissions name


def _workflow(ctx: PackContext, file: str, raw: Any) -> str:
    return applied("workflow", flows.apply(ctx.conn, ctx.forms, raw, actor_id=ctx.actor_id))


def _rule(ctx: PackContext, file: str, raw: Any) -> str:
    return applied("rule", rules.apply_rule(ctx.conn, ctx.forms, raw, now=ctx.now, tz=ctx.tz))


def _report(ctx: PackContext, file: str, raw: Any) -> str:
    return applied("report", reports.apply(ctx.conn, ctx.forms, raw, now=ctx.now, tz=ctx.tz, actor_id=ctx.actor_id))


def _dashboard(ctx: PackContext, file: str, raw: Any) -> str:
    return applied("dashboard", dashboard.apply(ctx.conn, ctx.forms, raw, now=ctx.now, tz=ctx.tz, actor_id=ctx.actor_id))


def _print(ctx: PackContext, file: str, raw: Any) -> str:
    return applied("print template", printing.apply(ctx.conn, ctx.forms, raw, now=ctx.now, actor_id=ctx.actor_id))


def _menu(ctx: PackContext, file: str, manifest: Any) -> None:
    record_pack(ctx.conn, ctx.bundle, ctx.now)


def _fixture(ctx: PackContext, file: str, fx: Any) -> str:
    actor = _actor(ctx.engine, fx["as_user"]) if fx.get("as_user") else None
    rctx = Ctx(actor=actor or SYSTEM, now=dt.datetime.now(dt.timezone.utc))
    with open(ctx.bundle.root / fx["file"], "rb") as fh:
        res = transfer.import_records(engine=ctx.engine, registry=ctx.forms, ctx=rctx, form=fx["form"], stream=fh,
                                      fmt=transfer.format_of(fx["file"]), key=fx.get("key"), mode="all")
    return f"{fx['form']}: +{res['created']} ~{res['updated']}"


def _actor(engine: Engine | None, username: str) -> Any:
    """Fixtures may be owned by a user, so that department scopes show them to that user."""
    with read_tx(engine) as conn:
        return actor_by_username(conn, username)


@hookimpl
def mom_pack_steps() -> list[PackStep]:
    """The core's steps: forms; roles, workflows, rules, reports, dashboards, print templates, menu;
    fixtures."""
    return [
        PackStep("forms", "forms", 100, _forms, phase="schema"),
        PackStep("roles", None, 100, _role),
        PackStep("workflows", "workflows", 200, _workflow),
        PackStep("rules", "rules", 300, _rule),
        PackStep("reports", "reports", 400, _report),
        PackStep("dashboards", "dashboards", 500, _dashboard),
        PackStep("prints", "prints", 600, _print),
        PackStep("menu", None, 1000, _menu, once=True),
        PackStep("fixtures", None, 100, _fixture, phase="data"),
    ]
