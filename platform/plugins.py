"""The composition root: one pluggy plug-in manager holding the core's plug-ins and any others.

Core modules are listed by name and imported here at run time, so the engines never import the
platform's composition and the package graph keeps its declared edges (docs/architecture.md).
Outside plug-ins come from the ``mom`` entry-point group (``[project.entry-points.mom]``).

An entry point whose module fails to import stops the manager from being built: ``mom`` and the
server refuse to start with one bilingual line naming the entry point, its distribution and the
error (``PluginLoadError``), because a plant running without a plug-in its forms and flows use
would fail later and less clearly. ``MOM_SKIP_PLUGINS=name,name`` starts without the named entry
points (a deliberate, visible choice while the plug-in is fixed or uninstalled).
"""
from __future__ import annotations

import importlib
import importlib.metadata
import os
from collections.abc import Callable, Iterable, Mapping
from functools import cache, lru_cache
from typing import Any, TypeVar

import pluggy

from mom.platform import hookspecs
from mom.platform.errors import Conflict, MomError

T = TypeVar("T")

#: Modules whose ``@hookimpl`` functions make up the core product. Order is registration order.
CORE_PLUGINS: tuple[str, ...] = (
    "mom.engines.forms.types.builtin",   # field types: text … barcode
    "mom.engines.forms.operations",      # plan operations: create/rename/retire/convert … (apply, reverse)
    "mom.engines.workflow.hooks",        # record hooks: approval locks, state machines, events
    "mom.engines.workflow.nodes",        # workflow node kinds: approval, cc, action, condition, parallel, end
    "mom.engines.workflow.linked",       # the sub-process node kind (子流程) and revoke flows' ending
    "mom.engines.workflow.actions",      # automatic actions: set_fields … hook
    "mom.engines.reports.summary",       # record hooks: pre-aggregated report summaries
    "mom.engines.production.hooks",      # record hooks: job report rules, release from the order's form
    "mom.engines.inventory.hooks",       # record hooks: stock ledger/balances engine-only, documents posted by their state
    "mom.engines.inventory.lot_hooks",   # record hooks: items' lot numbering rules checked; lot split/merge reversal retracts genealogy
    "mom.engines.inventory.replenishment_checks",  # record hooks: a 补料规则's location is line-side, its source usable
    "mom.engines.mrp.hooks",             # record hooks: a changed BOM marks its components' proposed MRP suggestions for net change
    "mom.engines.quality.hooks",         # record hooks: IQC on posted receipts; inspection lots judged; switching states engine-only
    "mom.engines.quality.trigger_hooks",  # record hooks: IPQC lots from tasks and job reports, OQC lots from shipments; engine hook quality.patrol_tick
    "mom.engines.quality.spc_hooks",     # record hooks: judged inspection lots feed SPC charts and raise alarms; exclusions
    "mom.engines.quality.ncr_hooks",     # record hooks: NCR approved by its flow, dispositions executed into stock; CAPA closed when effective
    "mom.engines.devices.hooks",         # record hooks: machine states/counts/process values/alarms engine-only; device mappings checked
    "mom.engines.oee.summary_hooks",     # record hooks: writes to states, counts, reports, tasks, calendars forget the OEE day summaries
    "mom.engines.maintenance.order_hooks",  # record hooks: repair orders from fault reports, order buttons stamped; engine hook maintenance.pm_tick
    "mom.engines.maintenance.windows",   # hook mom_machine_downtime: PM windows and open stopping repairs block scheduling
    "mom.platform.replanning",           # engine hook: production.breakdown_proposal (scheduling wired into production)
    "mom.platform.material_replanning",  # engine hook: production.material_proposal (material late, lot blocked)
    "mom.engines.reports.measures",      # report aggregates: count … percentile
    "mom.engines.records.attachments",   # record hooks: file links; file owner: record
    "mom.engines.workflow.visibility",   # file owner: workflow comments
    "mom.platform.delivery",             # delivery channels: webhook, e-mail, DingTalk, WeCom
    "mom.engines.reports.delivery",      # outbox handler: report.deliver; file owner: report deliveries
    "mom.connectors.messaging.connector",  # connector: messaging (SMTP, DingTalk, WeCom)
    "mom.platform.connectors",           # mom connector list|health
    "mom.engines.packs.steps",           # pack steps: forms, roles, workflows, rules, reports, dashboards, prints, menu, fixtures
    "mom.platform.cli.serve_cmds",       # mom serve, db, demo
    "mom.platform.cli.user_cmds",        # mom user …
    "mom.platform.cli.dept_cmds",        # mom dept …
    "mom.platform.cli.form_cmds",        # mom form …
    "mom.platform.cli.record_cmds",      # mom record …
    "mom.platform.cli.workflow_cmds",    # mom workflow …, mom worker
    "mom.platform.cli.approval_cmds",    # mom workflow handover|proxy|revoke|choices
    "mom.platform.cli.report_cmds",      # mom report …, mom print
    "mom.platform.cli.schedule_cmds",    # mom schedule …
    "mom.platform.cli.production_cmds",  # mom production …
    "mom.platform.cli.mrp_cmds",         # mom mrp …
    "mom.platform.cli.stock_cmds",       # mom stock …
    "mom.platform.cli.trace_cmds",       # mom trace …
    "mom.platform.cli.oee_cmds",         # mom oee
    "mom.platform.cli.quality_cmds",     # mom quality plan
    "mom.platform.cli.devices_cmds",     # mom devices listen|simulate|status
    "mom.platform.cli.maintenance_cmds",  # mom maintenance pm run|reliability
    "mom.platform.cli.pack_cmds",        # mom pack …
)


#: Entry points not to load, comma-separated (``MOM_SKIP_PLUGINS=acme_labels``).
SKIP_ENV = "MOM_SKIP_PLUGINS"


class PluginLoadError(MomError):
    """An installed plug-in (a ``mom`` entry point) cannot be imported or registered."""

    code = "plugin_load_failed"


def new_manager(*, entry_points: bool = True) -> pluggy.PluginManager:
    """A fresh manager with the core plug-ins (and the ``mom`` entry points unless told not to);
    an entry point that fails to load raises ``PluginLoadError`` naming it."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for name in CORE_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    if entry_points:
        load_entry_points(pm)
    return pm


def load_entry_points(pm: pluggy.PluginManager, group: str = hookspecs.PROJECT) -> None:
    """Register every installed entry point of ``group`` (once, by its name), except those named in
    ``MOM_SKIP_PLUGINS``. One that cannot be imported or registered raises ``PluginLoadError``
    naming the entry point, its distribution and the error, never a bare traceback."""
    skip = {n.strip() for n in os.environ.get(SKIP_ENV, "").split(",") if n.strip()}
    for dist in importlib.metadata.distributions():
        for ep in dist.entry_points:
            if ep.group != group or ep.name in skip or pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
                continue
            try:
                pm.register(ep.load(), name=ep.name)
            except Exception as exc:    # noqa: BLE001 — any failure of foreign code is reported the same way
                where = f"{ep.name} = {ep.value}（{dist.metadata['Name']} {dist.version}）"
                where_en = f"{ep.name} = {ep.value} ({dist.metadata['Name']} {dist.version})"
                reason = f"{type(exc).__name__}: {exc}"
                raise PluginLoadError(
                    f"插件 {where} 无法加载：{reason}；请修复或卸载它，或设置 {SKIP_ENV}={ep.name} 暂不加载",
                    f"plug-in {where_en} cannot be loaded: {reason}; fix or uninstall it, or set "
                    f"{SKIP_ENV}={ep.name} to start without it",
                    detail={"entry_point": ep.name, "distribution": dist.metadata["Name"]}) from exc


@lru_cache(maxsize=1)
def plugin_manager() -> pluggy.PluginManager:
    """The process's manager, built on first use."""
    return new_manager()


def answers(hook: pluggy.HookCaller, **kwargs: Any) -> list[tuple[str, Any]]:
    """Each plug-in's answer to ``hook`` with the name it is registered under, in pluggy's call
    order (``None`` answers dropped): what ``hook(**kwargs)`` returns, plus who said it."""
    out: list[tuple[str, Any]] = []
    for impl in reversed(hook.get_hookimpls()):
        if impl.hookwrapper or impl.wrapper:
            continue
        answer = impl.function(*(kwargs[a] for a in impl.argnames))
        if answer is not None:
            out.append((impl.plugin_name, answer))
    return out


def by_key(hook: pluggy.HookCaller | Iterable[Iterable[T] | Mapping[str, T] | None], *, what: tuple[str, str],
           key: Callable[[T], str] = lambda obj: obj.key) -> dict[str, T]:
    """One registry from a hook (``pm.hook.mom_x``, preferred: a clash names both plug-ins) or from
    its answers (lists of objects, or ``{name: obj}`` mappings): keyed by ``key(obj)`` (or the
    mapping's names); two plug-ins giving the same key is a ``Conflict`` naming ``what`` (zh, en),
    e.g. ``("投递渠道", "delivery channel")``."""
    named = answers(hook) if isinstance(hook, pluggy.HookCaller) else [("", a) for a in hook if a is not None]
    out: dict[str, T] = {}
    owner: dict[str, str] = {}
    for plugin, answer in named:
        pairs: Iterable[tuple[str, Any]] = answer.items() if isinstance(answer, Mapping) else ((key(o), o) for o in answer)
        for name, obj in pairs:
            if name in out and out[name] is not obj:
                raise clash(what, name, owner[name], plugin)
            out[name], owner[name] = obj, plugin
    return out


def registry(hook_name: str, *, what: tuple[str, str],
             key: Callable[[Any], str] = lambda obj: obj.key) -> Callable[..., dict[str, Any]]:
    """``f(pm=None)``: the registry of hook ``hook_name`` (:func:`by_key` over ``pm.hook.<hook_name>``,
    so a clash names both plug-ins); without ``pm`` the process's manager's, built once on first use."""
    def build(pm: pluggy.PluginManager) -> dict[str, Any]:
        return by_key(getattr(pm.hook, hook_name), what=what, key=key)

    @cache
    def default() -> dict[str, Any]:
        return build(plugin_manager())

    def get(pm: pluggy.PluginManager | None = None) -> dict[str, Any]:
        return default() if pm is None else build(pm)
    return get


def clash(what: tuple[str, str], name: str, first: str, second: str) -> Conflict:
    """The ``Conflict`` of two plug-ins (``first``, ``second``: their registered names, '' when
    unknown) registering a ``what`` (zh, en) under one ``name``."""
    if first and second:
        return Conflict(f"插件 {first} 和 {second} 都注册了名为 {name} 的{what[0]}；请改名或卸载其中一个",
                        f"plug-ins {first} and {second} both register a {what[1]} named {name}; rename or uninstall one",
                        detail={"plugins": [first, second], "key": name})
    return Conflict(f"两个插件注册了同名的{what[0]} {name}；请改名或只保留一个",
                    f"two plug-ins register a {what[1]} named {name}; rename one or drop one")
