"""Pack install steps: one ``PackStep`` per kind of definition a pack folder holds.

The loader reads each step's folder (or the manifest's list under the step's key), and installs the
steps in ``order`` within their ``phase``:

- ``schema``: forms, planned and published first (``loader.apply``), so that everything else finds
  its tables;
- ``automation``: roles, workflows, event rules, reports, dashboards, print templates and the pack's
  menu (``loader.apply_automation``), in the same transaction as the forms when the caller wants;
- ``data``: fixture records, imported through the record service after the definitions committed
  (``loader.install_data``; the demo loads them, ``mom form apply`` does not).

The built-in steps are registered through the ``mom_pack_steps`` hook like a plug-in's would be.

Besides ``install``, a step tells the pack manager (``mom.engines.packs.manager``) how to handle one
installed item of its kind by name: ``label`` (the kind's name in both languages), ``name_of(raw)``
(an item's name), ``live(conn, name)`` (its current definition and whether it is retired),
``retire`` / ``restore`` / ``purge`` (uninstalling a pack retires what it installed — hidden, data
kept — or, when asked, purges it; reinstalling restores it) and ``names(conn)`` (every live item,
for export). A slot left None means the kind cannot do it (roles are never retired).
"""
from __future__ import annotations

import datetime as dt
import functools
from contextlib import nullcontext
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from mom.engines.forms import retire as retirement
from mom.engines.forms import store
from mom.engines.packs.menu import record_pack
from mom.engines.packs.jsonfile import read_json
from mom.engines.records import service as records
from mom.engines.records import transfer
from mom.engines.records.context import SYSTEM, Ctx, actor_by_username
from mom.engines.reports import dashboard, printing
from mom.engines.reports import service as reports
from mom.engines.reports import store as defs
from mom.engines.workflow import rules
from mom.engines.workflow import store as flows
from mom.platform import plugins
from mom.platform.db import tables as T
from mom.platform.db.engine import read_tx, write_tx
from mom.platform.errors import InvalidInput, MomError, Problem
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
    restore: bool = False            # reinstalling an uninstalled pack: retired items come back
    fixtures_existing: str = "update"   # a fixture row whose key exists: "update" it, or "skip" (upgrades)

    def items(self, key: str) -> list[Item]:
        return self.bundle.of(key)


#: ``install(ctx, file, raw) -> line or None``: installs one item, returns what to show
Install = Callable[[PackContext, str, Any], "str | None"]


def default_name(raw: Any) -> str | None:
    """An item's name: its ``name`` (definitions, role entries); None when it has none."""
    return raw.get("name") if isinstance(raw, dict) and isinstance(raw.get("name"), str) else None


@dataclass(frozen=True)
class PackStep:
    """One kind of definition in a pack folder.

    Its items: with a ``folder``, the JSON files the manifest lists under ``key``
    (``"workflows": ["workflows/a.json"]``), else every ``<folder>/*.json``; without one, the entries
    of the manifest's list under ``key`` (``"roles": [{…}]``, ``"fixtures": [{…}]``); with ``once``,
    the manifest itself, once. ``install(ctx, file, raw)`` installs one item and returns the line to
    show (or None).

    The pack manager's slots, each for one installed item by name (None: the kind cannot do it):
    ``label`` the kind's name ({"zh-CN": "表单", "en": "forms"}); ``name_of(raw)`` an item's name;
    ``live(conn, name)`` -> (current definition, retired?) or None when it is not installed;
    ``retire(ctx, name)`` hide it, data kept; ``restore(ctx, name)`` bring it back; ``purge(ctx,
    name)`` delete it and its data for good; ``names(conn)`` every live, non-retired item (export)."""

    key: str
    folder: str | None
    order: int
    install: Install
    phase: str = "automation"        # "schema" | "automation" | "data"
    once: bool = False               # called once with ("pack.json", manifest)
    label: dict[str, str] = field(default_factory=dict)
    name_of: Callable[[Any], str | None] = default_name
    live: Callable[[Connection, str], tuple[Any, bool] | None] | None = None
    retire: Callable[[PackContext, str], None] | None = None
    restore: Callable[[PackContext, str], None] | None = None
    purge: Callable[[PackContext, str], None] | None = None
    names: Callable[[Connection], list[str]] | None = None


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
    plan_, _ = store.publish(ctx.conn, raw, actor_id=ctx.actor_id, restore=ctx.restore)
    ctx.plans.append(plan_)      # shown by the caller with plan.describe()


def _role(ctx: PackContext, file: str, role: Any) -> None:
    from mom.platform.auth.service import ensure_role   # not an engine dependency: only this step needs it

    rid = ensure_role(ctx.conn, role["name"], role.get("label"))   # roles the pack's flows and permissions name
    if role.get("label"):   # a role made by ``user add`` before the pack came has no label: take the pack's
        ctx.conn.execute(T.role.update().where(T.role.c.id == rid, T.role.c.label.is_(None)).values(label=role["label"]))


def _workflow(ctx: PackContext, file: str, raw: Any) -> str:
    line = applied("workflow", flows.apply(ctx.conn, ctx.forms, raw, actor_id=ctx.actor_id))
    if ctx.restore and isinstance(raw, dict):
        flows.set_enabled(ctx.conn, raw["name"], True)
    return line


def _rule(ctx: PackContext, file: str, raw: Any) -> str:
    line = applied("rule", rules.apply_rule(ctx.conn, ctx.forms, raw, now=ctx.now, tz=ctx.tz))
    if ctx.restore and isinstance(raw, dict) and raw.get("enabled", True):
        rules.set_rule_enabled(ctx.conn, raw["name"], True)
    return line


def _restoring(ctx: PackContext, kind: str, raw: Any) -> None:
    """Reinstalling: a retired report/dashboard/template comes back before it is applied again."""
    if ctx.restore and isinstance(raw, dict) and defs.is_retired(ctx.conn, kind, str(raw.get("name"))):
        defs.restore_definition(ctx.conn, kind, raw["name"])


def _report(ctx: PackContext, file: str, raw: Any) -> str:
    _restoring(ctx, "report", raw)
    return applied("report", reports.apply(ctx.conn, ctx.forms, raw, now=ctx.now, tz=ctx.tz, actor_id=ctx.actor_id))


def _dashboard(ctx: PackContext, file: str, raw: Any) -> str:
    _restoring(ctx, "dashboard", raw)
    return applied("dashboard", dashboard.apply(ctx.conn, ctx.forms, raw, now=ctx.now, tz=ctx.tz, actor_id=ctx.actor_id))


def _print(ctx: PackContext, file: str, raw: Any) -> str:
    _restoring(ctx, "print_template", raw)
    return applied("print template", printing.apply(ctx.conn, ctx.forms, raw, now=ctx.now, actor_id=ctx.actor_id))


def _menu(ctx: PackContext, file: str, manifest: Any) -> None:
    record_pack(ctx.conn, ctx.bundle, ctx.now)


def _fixture(ctx: PackContext, file: str, fx: Any) -> str:
    """Master data: in the caller's transaction when it gives one (``ctx.conn``), else in its own."""
    if fx.get("as_user"):
        actor = actor_by_username(ctx.conn, fx["as_user"]) if ctx.conn is not None else _actor(ctx.engine, fx["as_user"])
    else:
        actor = None
    rctx = Ctx(actor=actor or SYSTEM, now=dt.datetime.now(dt.timezone.utc))
    if transfer.format_of(fx["file"]) == "json":
        return _json_records(ctx, rctx, fx)
    with open(ctx.bundle.root / fx["file"], "rb") as fh:
        res = transfer.import_records(engine=ctx.engine, conn=ctx.conn, registry=ctx.forms, ctx=rctx, form=fx["form"],
                                      stream=fh, fmt=transfer.format_of(fx["file"]), key=fx.get("key"), mode="all",
                                      existing=ctx.fixtures_existing)
    return f"{fx['form']}: +{res['created']} ~{res['updated']}"


def _json_records(ctx: PackContext, rctx: Ctx, fx: Any) -> str:
    """A JSON data file: a list of records, child tables included (``{"code": …, "lines": [{…}]}``),
    which CSV/XLSX cannot carry. Written through the record service in the caller's transaction (or
    its own), all or nothing; a row whose ``key`` exists is updated or skipped like an import's."""
    rows = read_json(ctx.bundle.root / fx["file"], fx["file"])
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise InvalidInput("JSON 数据文件必须是记录（对象）的列表", "a JSON data file must be a list of records (objects)")
    form, key, counts = fx["form"], fx.get("key"), {"created": 0, "updated": 0}
    with (nullcontext(ctx.conn) if ctx.conn is not None else write_tx(ctx.engine)) as conn, conn.begin_nested():
        main = ctx.forms.get(conn, form).main
        for n, row in enumerate(rows):
            try:
                rid = None if key is None or row.get(key) in (None, "") else conn.execute(
                    sa.select(main.c.id).where(main.c[key] == row[key], main.c.deleted_at.is_(None))).scalar()
                if rid is None:
                    records.create_records(conn=conn, registry=ctx.forms, ctx=rctx, form=form, docs=[row])
                    counts["created"] += 1
                elif ctx.fixtures_existing == "update":
                    records.update_record(conn=conn, registry=ctx.forms, ctx=rctx, form=form, record_id=rid, patch=row)
                    counts["updated"] += 1
            except MomError as exc:
                exc.problems = [Problem(f"/{n}{p.path}", p.zh, p.en, p.code) for p in exc.problems or [Problem("", exc.zh, exc.en)]]
                raise
    return f"{form}: +{counts['created']} ~{counts['updated']}"


def _actor(engine: Engine | None, username: str) -> Any:
    """Fixtures may be owned by a user, so that department scopes show them to that user."""
    with read_tx(engine) as conn:
        return actor_by_username(conn, username)


# ---------------------------------------------------------------- the manager's slots, per kind
def _form_slots() -> dict[str, Any]:
    def retire(ctx: PackContext, name: str) -> None:
        retirement.retire_form(ctx.conn, name, pack=ctx.bundle.manifest.get("name") if ctx.bundle else None)

    return dict(label={"zh-CN": "表单", "en": "forms"}, live=retirement.live_form, retire=retire,
                restore=lambda ctx, name: retirement.restore_form(ctx.conn, name),
                purge=lambda ctx, name: retirement.purge_form(ctx.conn, name) and None,
                names=lambda conn: store.form_names(conn))


def _workflow_live(conn: Connection, name: str) -> tuple[Any, bool] | None:
    row = conn.execute(sa.select(T.workflow.c.enabled).where(T.workflow.c.name == name)).first()
    return None if row is None else (flows.definition(conn, name), not row[0])


def _rule_live(conn: Connection, name: str) -> tuple[Any, bool] | None:
    row = conn.execute(sa.select(T.rule.c.definition, T.rule.c.enabled).where(T.rule.c.name == name)).first()
    return None if row is None else (dict(row[0]), not row[1])


def _enabled_names(table: sa.Table) -> Callable[[Connection], list[str]]:
    return lambda conn: [r[0] for r in conn.execute(sa.select(table.c.name).where(table.c.enabled.is_(True))
                                                    .order_by(table.c.name))]


def _definition_slots(kind: str, zh: str, en: str) -> dict[str, Any]:
    """Reports, dashboards and print templates: retired = hidden and refused, restorable."""
    return dict(label={"zh-CN": zh, "en": en}, live=lambda conn, name: defs.live(conn, kind, name),
                retire=lambda ctx, name: defs.retire_definition(ctx.conn, kind, name),
                restore=lambda ctx, name: defs.restore_definition(ctx.conn, kind, name),
                purge=lambda ctx, name: defs.purge_definition(ctx.conn, kind, name) and None,
                names=lambda conn: defs.names(conn, kind))


def _role_live(conn: Connection, name: str) -> tuple[Any, bool] | None:
    """A role as a pack lists it; one without a label (made by ``user add`` for a user before the pack
    came) counts as not installed: the pack adopts it and gives it its label."""
    row = conn.execute(sa.select(T.role.c.name, T.role.c.label).where(T.role.c.name == name)).first()
    return None if row is None or row[1] is None else ({"name": row[0], "label": row[1]}, False)


def _role_purge(ctx: PackContext, name: str) -> None:
    """A role goes only when no user has it any more (else it stays, silently: people still use it)."""
    rid = ctx.conn.execute(sa.select(T.role.c.id).where(T.role.c.name == name)).scalar()
    if rid is None or ctx.conn.execute(sa.select(T.user_role.c.user_id).where(T.user_role.c.role_id == rid).limit(1)).first():
        return
    ctx.conn.execute(T.role.delete().where(T.role.c.id == rid))


@hookimpl
def mom_pack_steps() -> list[PackStep]:
    """The core's steps: forms; roles, workflows, rules, reports, dashboards, print templates, menu;
    fixtures."""
    return [
        PackStep("forms", "forms", 100, _forms, phase="schema", **_form_slots()),
        PackStep("roles", None, 100, _role, label={"zh-CN": "角色", "en": "roles"}, live=_role_live, purge=_role_purge,
                 names=lambda conn: [r[0] for r in conn.execute(sa.select(T.role.c.name).order_by(T.role.c.name))]),
        PackStep("workflows", "workflows", 200, _workflow, label={"zh-CN": "审批流程", "en": "workflows"},
                 live=_workflow_live, retire=lambda ctx, name: flows.set_enabled(ctx.conn, name, False),
                 restore=lambda ctx, name: flows.set_enabled(ctx.conn, name, True),
                 purge=lambda ctx, name: flows.purge(ctx.conn, name) and None, names=_enabled_names(T.workflow)),
        PackStep("rules", "rules", 300, _rule, label={"zh-CN": "事件规则", "en": "event rules"}, live=_rule_live,
                 retire=lambda ctx, name: rules.set_rule_enabled(ctx.conn, name, False),
                 restore=lambda ctx, name: rules.set_rule_enabled(ctx.conn, name, True),
                 purge=lambda ctx, name: rules.purge_rule(ctx.conn, name), names=_enabled_names(T.rule)),
        PackStep("reports", "reports", 400, _report, **_definition_slots("report", "报表", "reports")),
        PackStep("dashboards", "dashboards", 500, _dashboard, **_definition_slots("dashboard", "看板", "dashboards")),
        PackStep("prints", "prints", 600, _print, **_definition_slots("print_template", "打印模板", "print templates")),
        PackStep("menu", None, 1000, _menu, once=True, label={"zh-CN": "菜单", "en": "menu"}),
        PackStep("fixtures", None, 100, _fixture, phase="data", label={"zh-CN": "基础数据", "en": "master data"}),
    ]
