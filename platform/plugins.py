"""The composition root: one pluggy plug-in manager holding the core's plug-ins and any others.

Core modules are listed by name and imported here at run time, so the engines never import the
platform's composition and the package graph keeps its declared edges (docs/architecture.md).
Outside plug-ins come from the ``mom`` entry-point group (``[project.entry-points.mom]``).
"""
from __future__ import annotations

import importlib
from functools import lru_cache

import pluggy

from mom.platform import hookspecs

#: Modules whose ``@hookimpl`` functions make up the core product. Order is registration order.
CORE_PLUGINS: tuple[str, ...] = (
    "mom.engines.workflow.hooks",        # record hooks: approval locks, state machines, events
    "mom.engines.reports.summary",       # record hooks: pre-aggregated report summaries
    "mom.engines.records.attachments",   # record hooks: file links
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
