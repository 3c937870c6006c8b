"""Actions run by workflow ``action`` nodes and by event rules.

Database actions (set fields, create or update a record, start a workflow, engine hooks) run in the
caller's transaction. Actions that reach outside (webhook, e-mail, DingTalk, WeCom) are queued in
the outbox in that same transaction and delivered by a worker, so a rolled-back change never sends
anything and a sent message is never lost.
"""
from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mom.engines.expressions.templates import TemplateLimit, TemplateLimits, render_bounded, template_line
from mom.engines.forms.compile import CompiledForm
from mom.engines.records import service as S
from mom.engines.workflow import assign, pluginguard
from mom.engines.workflow import runtime as R
from mom.engines.workflow.instance import WorkflowInstance
from mom.engines.workflow.runtime import Runtime
from mom.engines.workflow.spec import TEMPLATES, ActionSpec
from mom.platform import outbox, plugins
from mom.platform.db.engine import json_dumps
from mom.platform.errors import InvalidInput, MomError, ProblemList, did_you_mean
from mom.platform.hookspecs import hookimpl

#: Engine hooks registered in code with ``register_hook`` (tests, scripts); plug-ins and engines
#: provide theirs through the ``mom_engine_hooks`` hook (docs/extending.md).
_REGISTERED_HOOKS: dict[str, Callable[..., Any]] = {}


@functools.cache
def _plugin_engine_hooks() -> dict[str, Callable[..., Any]]:
    return plugins.by_key(plugins.plugin_manager().hook.mom_engine_hooks(), what=("引擎钩子", "engine hook"))


def engine_hook(name: str) -> Callable[..., Any] | None:
    """The engine hook ``fn(rt, args, names)`` a rule action ``{"type": "hook", "name": name}`` calls."""
    return _REGISTERED_HOOKS.get(name) or _plugin_engine_hooks().get(name)


def register_hook(name: str, fn: Callable[..., Any]) -> None:
    """Make ``fn(rt, args: dict, names: dict)`` callable from a rule action ``{"type": "hook", "name": name}``
    (kept for tests and scripts; a plug-in implements ``mom_engine_hooks`` instead)."""
    _REGISTERED_HOOKS[name] = fn


def render(source: str | None, names: Mapping[str, Any], where: str) -> str:
    """A notification/webhook template rendered within the template limits; errors name ``where``."""
    if not source:
        return ""
    try:
        return render_bounded(TEMPLATES.from_string(source), names, TemplateLimits())
    except Exception as exc:  # noqa: BLE001 - TemplateLimit or whatever the template's own code raised
        if isinstance(exc, MomError) and not isinstance(exc, TemplateLimit):
            raise
        line = exc.line if isinstance(exc, TemplateLimit) else template_line(exc)
        at_zh, at_en = (f"（第 {line} 行）", f" (line {line})") if line else ("", "")
        zh, en = (exc.zh, exc.en) if isinstance(exc, TemplateLimit) else (str(exc), str(exc))
        raise InvalidInput(f"{where} 的模板出错{at_zh}：{zh}", f"the template at {where} failed{at_en}: {en}") from None


def _values(rt: Runtime, action: ActionSpec, group: str, names: Mapping[str, Any], where: str) -> dict[str, Any]:
    prefix = f"{group}."
    return {k[len(prefix):]: R.evaluate(e, names, rt, f"{where}/{k}") for k, e in action.exprs.items() if k.startswith(prefix)}


def _json(v: Any) -> Any:
    return json.loads(json_dumps(v))


@dataclass(frozen=True)
class ActionRun:
    """Where an action runs: the record (and its form) of the flow or rule, the expression names, its
    path for messages (``<flow or rule>/actions/<i>``) and the instance of a workflow action node."""
    record: Mapping[str, Any] | None
    compiled: CompiledForm | None
    names: Mapping[str, Any]
    at: str
    instance: WorkflowInstance | None = None


class ActionType:
    """One kind of automatic action (``{"type": …}`` in an action node or a rule). Subclass it, set
    ``type``, ``needs`` and ``run``; register it through ``mom_actions``."""

    #: The action's ``type`` in a definition.
    type: str = ""
    #: Keys the action must have (each missing one is a publish-time problem at its path).
    needs: tuple[str, ...] = ()
    #: JSON Schema of keys of its own that the shipped schemas do not list.
    properties: Mapping[str, Any] = {}

    def check(self, raw: Mapping[str, Any], path: str, form: CompiledForm | None, problems: ProblemList) -> None:
        """Publish-time checks beyond ``needs`` (``form``: the bound form when known)."""

    def run(self, rt: Runtime, a: ActionSpec, run: ActionRun) -> dict[str, Any]:
        """Do it in ``rt.conn``'s transaction (outside effects through the outbox); returns what it did."""
        raise NotImplementedError


class SetFields(ActionType):
    type, needs = "set_fields", ("values",)

    def check(self, raw: Mapping[str, Any], path: str, form: CompiledForm | None, problems: ProblemList) -> None:
        if form is None:
            return
        keys = {x.key for x in form.definition.scalar_fields}
        for k in raw.get("values") or {}:
            if k not in keys:
                problems.add(f"{path}/values/{k}", f"表单 {form.name} 没有字段 {k}{did_you_mean(k, keys)}",
                             f"form {form.name} has no field {k}{did_you_mean(k, keys)}", "unknown_field")

    def run(self, rt: Runtime, a: ActionSpec, run: ActionRun) -> dict[str, Any]:
        if run.record is None or run.compiled is None:
            raise InvalidInput(f"{run.at}: set_fields 需要一条记录", f"{run.at}: set_fields needs a record")
        patch = _values(rt, a, "values", run.names, run.at)
        S.update_record(conn=rt.conn, registry=rt.forms, ctx=rt.system_ctx, form=run.compiled.name,
                        record_id=int(run.record["id"]), patch=patch)
        return {"type": a.type, "record_id": run.record["id"], "fields": sorted(patch)}


class CreateRecord(ActionType):
    type, needs = "create_record", ("form", "values")

    def run(self, rt: Runtime, a: ActionSpec, run: ActionRun) -> dict[str, Any]:
        doc = S.create_records(conn=rt.conn, registry=rt.forms, ctx=rt.system_ctx, form=a.raw["form"],
                               docs=[_values(rt, a, "values", run.names, run.at)])[0]
        return {"type": a.type, "form": a.raw["form"], "record_id": doc["id"]}


class UpdateRecord(ActionType):
    type, needs = "update_record", ("form", "record_id", "values")

    def run(self, rt: Runtime, a: ActionSpec, run: ActionRun) -> dict[str, Any]:
        rid = R.evaluate(a.record_id, run.names, rt, f"{run.at}/record_id") if a.record_id else None
        if rid is None:
            raise InvalidInput(f"{run.at}: record_id 的结果为空", f"{run.at}: record_id evaluated to nothing")
        S.update_record(conn=rt.conn, registry=rt.forms, ctx=rt.system_ctx, form=a.raw["form"], record_id=int(rid),
                        patch=_values(rt, a, "values", run.names, run.at))
        return {"type": a.type, "form": a.raw["form"], "record_id": int(rid)}


class StartWorkflow(ActionType):
    type, needs = "start_workflow", ("workflow",)

    def run(self, rt: Runtime, a: ActionSpec, run: ActionRun) -> dict[str, Any]:
        rid = R.evaluate(a.record_id, run.names, rt, f"{run.at}/record_id") if a.record_id else (run.record or {}).get("id")
        inst = R.start(rt, a.raw["workflow"], int(rid), trigger="rule")
        return {"type": a.type, "workflow": a.raw["workflow"], "instance_id": inst.id}


class Webhook(ActionType):
    type, needs = "webhook", ("url",)

    def run(self, rt: Runtime, a: ActionSpec, run: ActionRun) -> dict[str, Any]:
        body = render(a.raw.get("body"), run.names, f"{run.at}/body") if a.raw.get("body") else None
        eid = outbox.emit(rt.conn, "deliver.webhook", {"url": a.raw["url"], "secret": a.raw.get("secret"), "body": body,
                                                        "data": None if body else _json(dict(run.names))}, now=rt.ctx.now)
        return {"type": a.type, "delivery": eid}


class Emit(ActionType):
    type, needs = "emit", ("event",)

    def run(self, rt: Runtime, a: ActionSpec, run: ActionRun) -> dict[str, Any]:
        payload = _json(_values(rt, a, "payload", run.names, run.at))
        eid = outbox.emit(rt.conn, "external", {"name": a.raw["event"], "payload": payload}, now=rt.ctx.now)
        return {"type": a.type, "event": a.raw["event"], "event_id": eid}


class Notify(ActionType):
    type, needs = "notify", ("to", "title")

    def run(self, rt: Runtime, a: ActionSpec, run: ActionRun) -> dict[str, Any]:
        title = render(a.raw.get("title"), run.names, f"{run.at}/title")
        body = render(a.raw.get("body"), run.names, f"{run.at}/body")
        channels = a.raw.get("channels") or ["inbox"]
        instance, compiled = run.instance, run.compiled
        who = rt.actor(instance.initiator_id) if instance else None
        types = {f.key: f.type for f in compiled.definition.scalar_fields} if compiled else {}
        users = assign.resolve(rt.conn, a.to, initiator_id=instance.initiator_id if instance else rt.ctx.actor.id,
                               initiator_department_id=who.department_id if who else rt.ctx.actor.department_id,
                               record=run.record or {}, field_types=types)
        if "inbox" in channels and users:
            R.notify_users(rt, users, "notice", title, instance, body)
        queued = []
        for ch in channels:
            if ch == "email" and users:
                queued.append(outbox.emit(rt.conn, "deliver.email", {"users": users, "subject": title, "body": body},
                                          now=rt.ctx.now))
            elif ch in ("dingtalk", "wecom"):
                queued.append(outbox.emit(rt.conn, f"deliver.{ch}", {"webhook_url": a.raw.get("webhook_url"), "title": title,
                                                                     "body": body}, now=rt.ctx.now))
            elif ch not in ("inbox", "email"):   # a plug-in's channel: everything the built-in ones get
                queued.append(outbox.emit(rt.conn, f"deliver.{ch}", {"users": users, "title": title, "subject": title,
                                                                     "body": body, "webhook_url": a.raw.get("webhook_url")},
                                          now=rt.ctx.now))
        return {"type": "notify", "users": users, "channels": channels, "deliveries": queued}


class EngineHook(ActionType):
    type, needs = "hook", ("name",)

    def run(self, rt: Runtime, a: ActionSpec, run: ActionRun) -> dict[str, Any]:
        fn = engine_hook(a.raw["name"])
        if fn is None:
            raise InvalidInput(f"{run.at}: 没有名为 {a.raw['name']} 的引擎钩子", f"{run.at}: no engine hook named {a.raw['name']}")
        result = fn(rt, _values(rt, a, "args", run.names, run.at), run.names)
        return {"type": a.type, "name": a.raw["name"], "result": _json(result)}


@hookimpl
def mom_actions() -> Iterable[ActionType]:
    """The core's action types."""
    return [SetFields(), CreateRecord(), UpdateRecord(), StartWorkflow(), Webhook(), Emit(), Notify(), EngineHook()]


def run_actions(rt: Runtime, actions: tuple[ActionSpec, ...], *, record: Mapping[str, Any] | None,
                compiled: CompiledForm | None, names: Mapping[str, Any], where: str,
                instance: WorkflowInstance | None = None, event_id: int | None = None) -> list[dict[str, Any]]:
    """Run ``actions`` in order, each by its type (``ActionSpec.handler``); returns what each did (for
    the timeline / rule log). ``where`` names the flow and node (``flow/node``) or the rule (``rule x``);
    a plug-in's action raising is a :class:`~mom.engines.workflow.pluginguard.PluginStepFailed` naming it."""
    done: list[dict[str, Any]] = []
    for i, a in enumerate(actions):
        if a.handler is None:    # compiled without its type (only when the spec's own check failed)
            raise InvalidInput(f"{where}/actions/{i}: 未知的动作类型 {a.type}", f"{where}/actions/{i}: unknown action type {a.type}")
        run = ActionRun(record=record, compiled=compiled, names=names, at=f"{where}/actions/{i}", instance=instance)
        # a plug-in's action failing is a message naming it (the core's stays a bug)
        done.append(pluginguard.call(a.handler, lambda: (f"{run.at} 的动作 {a.type}", f"action {a.type} at {run.at}"),
                                     a.handler.run, rt, a, run))
    return done
