"""Where the platform puts the engines together: the record hooks every write goes through.

Each engine that reacts to record writes (workflow locks and state machines, report summaries,
attachment links, a pack's own plug-in …) returns its ``RecordHooks`` object from the
``mom_record_hooks`` hook; this module chains them in the order pluggy calls them (workflow first
with ``tryfirst``, file links last with ``trylast``, everything else in between) and hands the chain
to the form registry. Every entry point (API, CLI, worker, demo, tests) builds its registry here, so
a record written anywhere locks, transitions and emits events the same way.
"""
from __future__ import annotations

import pluggy

from mom.engines.forms.store import FormRegistry
from mom.engines.records.hooks import ChainHooks
from mom.engines.workflow.store import WorkflowRegistry
from mom.platform.plugins import plugin_manager


def install_record_hooks(forms: FormRegistry, flows: WorkflowRegistry | None = None, *,
                         pm: pluggy.PluginManager | None = None) -> WorkflowRegistry:
    """Give ``forms`` the chained record hooks of every plug-in of ``pm`` (default: the process's plug-in
    manager); returns the workflow registry they use (a new one takes its node kinds and action types from ``pm``)."""
    flows = flows or WorkflowRegistry(plugins=pm)
    parts = [p for p in (pm or plugin_manager()).hook.mom_record_hooks(forms=forms, flows=flows) if p is not None]
    forms.hooks = ChainHooks(*parts)
    return flows


def form_registry(*, pm: pluggy.PluginManager | None = None) -> FormRegistry:
    """A form registry with the record hooks installed: what the API, the CLI, the worker and the
    demo use."""
    forms = FormRegistry()
    install_record_hooks(forms, pm=pm)
    return forms
