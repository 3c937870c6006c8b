"""The extension surface: every hook a plug-in (a pack, a connector, an engine of ours) may implement.

Modelled on Datasette's plug-in hooks (pluggy). Each hook returns *objects* that a registry of the
engine concerned keeps by name; the core's own features register through these same hooks, so a
third-party field type or delivery channel is exactly as capable as a built-in one.

Rules:
- Every hook has a docstring; ``tests/unit/test_extension_surface.py`` fails when one is missing or
  when a hook is not described in docs/extending.md.
- A hook implementation is a module-level function decorated with ``@hookimpl`` (``from
  mom.platform.hookspecs import hookimpl``) in a module listed in ``mom.platform.plugins.CORE_PLUGINS``,
  in a pack's ``hooks.py``, or in a distribution's ``mom`` entry point.
- Hooks are called with keyword arguments only; new arguments may be added (pluggy passes only the
  ones an implementation names), so implementations stay compatible.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pluggy

PROJECT = "mom"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def mom_field_types() -> Iterable[Any]:
    """Field types a form may use: return ``FieldType`` objects (``mom.engines.forms.fieldtypes``).

    A field type names its column type, its type signature for the plan, how input is coerced and
    how stored values are dumped. Keys match ``^[a-z][a-z0-9_]*$`` and are unique across all plug-ins
    (a clash is a ``Conflict`` naming both). A plug-in's code that raises, or coerces to a value its
    column cannot hold, becomes a ``FieldError`` naming the field and the type."""


@hookspec
def mom_plan_operations() -> Iterable[Any]:
    """Schema-change operations the form planner may produce: return ``Operation`` classes
    (``mom.engines.forms.operations``), each with ``apply()`` and ``reverse()``."""


@hookspec
def mom_workflow_node_kinds() -> Iterable[Any]:
    """Workflow node kinds: return ``NodeHandler`` objects (``mom.engines.workflow.nodes``) that say
    how the runtime enters and leaves a node of that kind (approval, action, condition, parallel …)."""


@hookspec
def mom_actions() -> Iterable[Any]:
    """Automatic actions run by workflow ``action`` nodes and by event rules: return ``ActionType``
    objects (``mom.engines.workflow.actions``) keyed by the action's ``type``; ``properties`` is the
    JSON Schema of the action's own fields (the shipped schema refuses fields it does not know)."""


@hookspec
def mom_engine_hooks() -> Mapping[str, Any]:
    """Named engine functions a rule or an ``action`` node may call with ``{"type": "hook", "name": …,
    "args": {…}}``: return ``{name: fn(rt, args, names)}``.

    ``rt`` is the workflow runtime (``rt.conn`` the caller's transaction, ``rt.ctx``, ``rt.forms``),
    ``args`` the action's ``args`` evaluated as expressions, ``names`` the record's values and the
    event. Whatever ``fn`` returns (JSON-able) is kept in the rule log. Names are dotted by owner
    (``quality.hold_lot``); the core registers ``production.breakdown_proposal`` (``mom.platform.replanning``)."""


@hookspec
def mom_delivery_channels() -> Iterable[Any]:
    """Outbound channels for notifications (e-mail, webhook, DingTalk, WeCom …): return
    ``DeliveryChannel`` objects (``mom.platform.delivery``: ``key``, ``label`` zh-CN/en,
    ``send(ctx, payload, delivery_id)``).

    The worker sends an outbox event ``deliver.<key>`` through the channel of that key, outside any
    transaction, and marks it done after; ``send`` raises to have it retried with back-off, and a
    receiver dedupes by ``delivery_id`` (the same on every retry)."""


@hookspec
def mom_outbox_handlers() -> Mapping[str, Any]:
    """Transactional handlers of outbox topics: return ``{topic: fn(worker, conn, payload, *, now,
    event_id)}``.

    The worker runs the handler inside the transaction that marks the event done, so its database
    effects and the "done" mark commit together; it may be run again after a crash, so it must be
    idempotent (e.g. ``report.deliver`` checks its run table). ``worker`` offers ``forms``,
    ``flows``, ``settings`` and ``tz``. Topics without a handler go to the event rules."""


@hookspec
def mom_record_hooks(forms: Any, flows: Any) -> Any:
    """A ``RecordHooks`` object (``mom.engines.records.hooks``) to be called around record writes,
    or None.

    ``forms`` is the ``FormRegistry`` being equipped, ``flows`` its ``WorkflowRegistry``. The
    platform (``mom.platform.composition``) chains every plug-in's object in call order: the
    workflow's (``tryfirst``), then the others, then file links (``trylast``). Each hook point runs
    inside the writer's transaction on every write path (API, import, rules, workflow actions)."""


@hookspec
def mom_file_owners() -> Iterable[Any]:
    """Kinds of things a stored file may belong to (a record's field, a workflow comment, a delivered
    report …): return ``FileOwner`` objects (``mom.platform.file_access``: ``kind``, the
    ``mom_attachment_link.kind`` it answers for, and ``readable(conn, forms, actor, link)``).

    A file is readable by an administrator, by its uploader while it belongs to nothing, and by
    whoever one of its owners' ``readable`` says yes for; raising a ``MomError`` counts as no (the
    owner is gone). Kinds must be unique across all plug-ins."""


@hookspec
def mom_report_measures() -> Iterable[Any]:
    """Report aggregates: return ``Measure`` objects (``mom.engines.reports.measures``) with their
    SQL per dialect (sum, avg, count_distinct, percentile …)."""


@hookspec
def mom_pack_steps() -> Iterable[Any]:
    """Steps run when a model pack is installed (upgraded and uninstalled from issue 18 on): return
    ``PackStep`` objects (``mom.engines.packs.steps``), each handling one kind of definition in a
    pack folder.

    A step names its manifest ``key``, its ``folder`` (None: entries of the manifest's list),
    its ``phase`` (``schema``: forms; ``automation``: after the forms, same transaction; ``data``:
    fixture records) and ``order`` within it, and ``install(ctx, file, raw)``, which returns the line
    to show. ``upgrade``/``uninstall`` are reserved slots for issue 18."""


@hookspec
def mom_connectors() -> Iterable[Any]:
    """Outside systems (Kingdee, Yonyou, the messaging robots …): return ``Connector`` objects
    (``mom.platform.connectors``) that name their settings, their health check and the delivery
    channels and documents they provide. Names must be unique across all plug-ins."""


@hookspec
def mom_device_mappings() -> Iterable[Any]:
    """Device payload mappings (MQTT topic filter → a form's fields): return ``DeviceMapping``
    objects (``mom.platform.connectors``). Reserved for the MQTT consumer of issue 23: collected by
    ``mom.platform.connectors.device_mappings()``, consumed by nothing yet."""


@hookspec
def mom_machine_downtime(conn: Any, forms: Any, machine_ids: list[int], start: Any, end: Any) -> Iterable[Any]:
    """Times a machine is unavailable to scheduling besides its calendar and status (issue 23: PM windows and
    open repair orders of the equipment pack): return ``(machine id, from, to, why)`` tuples (aware datetimes,
    ``why`` in Chinese) overlapping [``start``, ``end``); the production engine adds them to the schedule
    problem's resource downtime when it builds the problem from the database."""


@hookspec
def mom_cli_commands() -> Iterable[Any]:
    """Click commands or groups added to ``mom`` (``mom schedule``, ``mom report`` …); a name another
    plug-in already added is a ``Conflict`` naming both, printed as one ``错误 / error`` line."""
