"""The composition root: one pluggy plug-in manager holding the core's plug-ins and any others.

Core modules are listed by name and imported here at run time, so the engines never import the
platform's composition and the package graph keeps its declared edges (docs/architecture.md).
Outside plug-ins come from the ``mom`` entry-point group (``[project.entry-points.mom]``).
"""
from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any, TypeVar

import pluggy

from mom.platform import hookspecs
from mom.platform.errors import Conflict

T = TypeVar("T")

#: Modules whose ``@hookimpl`` functions make up the core product. Order is registration order.
CORE_PLUGINS: tuple[str, ...] = (
    "mom.engines.forms.types.builtin",   # field types: text … barcode
    "mom.engines.forms.operations",      # plan operations: create/rename/retire/convert … (apply, reverse)
    "mom.engines.workflow.hooks",        # record hooks: approval locks, state machines, events
    "mom.engines.workflow.nodes",        # workflow node kinds: approval, cc, action, condition, parallel, end
    "mom.engines.workflow.actions",      # automatic actions: set_fields … hook
    "mom.engines.reports.summary",       # record hooks: pre-aggregated report summaries
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
    "mom.platform.cli.form_cmds",        # mom form …
    "mom.platform.cli.record_cmds",      # mom record …
    "mom.platform.cli.workflow_cmds",    # mom workflow …, mom worker
    "mom.platform.cli.report_cmds",      # mom report …, mom print
    "mom.platform.cli.schedule_cmds",    # mom schedule …
)


def new_manager(*, entry_points: bool = True) -> pluggy.PluginManager:
    """A fresh manager with the core plug-ins (and the ``mom`` entry points unless told not to)."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for name in CORE_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    if entry_points:
        pm.load_setuptools_entrypoints(hookspecs.PROJECT)
    return pm


@lru_cache(maxsize=1)
def plugin_manager() -> pluggy.PluginManager:
    """The process's manager, built on first use."""
    return new_manager()


def by_key(answers: Iterable[Iterable[T] | Mapping[str, T] | None], *, what: tuple[str, str],
           key: Callable[[T], str] = lambda obj: obj.key) -> dict[str, T]:
    """One registry from a hook's answers (lists of objects, or ``{name: obj}`` mappings): keyed by
    ``key(obj)`` (or the mapping's names); two plug-ins giving the same key is a ``Conflict`` naming
    ``what`` (zh, en), e.g. ``("投递渠道", "delivery channel")``."""
    out: dict[str, T] = {}
    for answer in answers:
        if answer is None:
            continue
        pairs: Iterable[tuple[str, Any]] = answer.items() if isinstance(answer, Mapping) else ((key(o), o) for o in answer)
        for name, obj in pairs:
            if name in out and out[name] is not obj:
                raise Conflict(f"两个插件注册了同名的{what[0]} {name}；请改名或只保留一个",
                               f"two plug-ins register a {what[1]} named {name}; rename one or drop one")
            out[name] = obj
    return out
