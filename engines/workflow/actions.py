"""Actions run by workflow ``action`` nodes and by event rules.

Database actions (set fields, create or update a record, start a workflow, engine hooks) run in the
caller's transaction. Actions that reach outside (webhook, e-mail, DingTalk, WeCom) are queued in
the outbox in that same transaction and delivered by a worker, so a rolled-back change never sends
anything and a sent message is never lost.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from mom.engines.expressions.templates import TemplateLimit, TemplateLimits, render_bounded, template_line
from mom.engines.forms.compile import CompiledForm
from mom.engines.workflow import assign
from mom.engines.workflow.spec import TEMPLATES, ActionSpec
from mom.platform import outbox, plugins
from mom.platform.errors import InvalidInput, MomError

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
    if not source:
        return ""
    try:
        return render_bounded(TEMPLATES.from_string(source), names, TemplateLimits())
    except MomError:
        raise
    except Exception as exc:  # noqa: BLE001 - TemplateLimit or whatever the template's own code raised
        line = exc.line if isinstance(exc, TemplateLimit) else template_line(exc)
        at_zh, at_en = (f"（第 {line} 行）", f" (line {line})") if line else ("", "")
        zh, en = (exc.zh, exc.en) if isinstance(exc, TemplateLimit) else (str(exc), str(exc))
        raise InvalidInput(f"{where} 的模板出错{at_zh}：{zh}", f"the template at {where} failed{at_en}: {en}") from None


def _values(rt: Any, action: ActionSpec, group: str, names: Mapping[str, Any], where: str) -> dict[str, Any]:
    from mom.engines.workflow.runtime import evaluate
    prefix = f"{group}."
    return {k[len(prefix):]: evaluate(e, names, rt, f"{where}/{k}") for k, e in action.exprs.items() if k.startswith(prefix)}


def _json(v: Any) -> Any:
    from mom.platform.db.engine import json_dumps
    import json
    return json.loads(json_dumps(v))


def run_actions(rt: Any, actions: tuple[ActionSpec, ...], *, record: Mapping[str, Any] | None,
                compiled: CompiledForm | None, names: Mapping[str, Any], where: str,
                instance: Mapping[str, Any] | None = None, event_id: int | None = None) -> list[dict[str, Any]]:
    """Run ``actions`` in order; returns what each did (for the timeline / rule log)."""
    from mom.engines.records import service as S
    from mom.engines.workflow import runtime

    done: list[dict[str, Any]] = []
    sys_ctx = rt.system_ctx
    for i, a in enumerate(actions):
        at = f"{where}/actions/{i}"
        if a.type == "set_fields":
            if record is None or compiled is None:
                raise InvalidInput(f"{at}: set_fields 需要一条记录", f"{at}: set_fields needs a record")
            patch = _values(rt, a, "values", names, at)
            S.update_record(conn=rt.conn, registry=rt.forms, ctx=sys_ctx, form=compiled.name, record_id=int(record["id"]),
                            patch=patch)
            done.append({"type": a.type, "record_id": record["id"], "fields": sorted(patch)})
        elif a.type == "create_record":
            doc = S.create_records(conn=rt.conn, registry=rt.forms, ctx=sys_ctx, form=a.raw["form"],
                                   docs=[_values(rt, a, "values", names, at)])[0]
            done.append({"type": a.type, "form": a.raw["form"], "record_id": doc["id"]})
        elif a.type == "update_record":
            rid = runtime.evaluate(a.record_id, names, rt, f"{at}/record_id") if a.record_id else None
            if rid is None:
                raise InvalidInput(f"{at}: record_id 的结果为空", f"{at}: record_id evaluated to nothing")
            S.update_record(conn=rt.conn, registry=rt.forms, ctx=sys_ctx, form=a.raw["form"], record_id=int(rid),
                            patch=_values(rt, a, "values", names, at))
            done.append({"type": a.type, "form": a.raw["form"], "record_id": int(rid)})
        elif a.type == "start_workflow":
            rid = runtime.evaluate(a.record_id, names, rt, f"{at}/record_id") if a.record_id else (record or {}).get("id")
            inst = runtime.start(rt, a.raw["workflow"], int(rid), trigger="rule")
            done.append({"type": a.type, "workflow": a.raw["workflow"], "instance_id": inst["id"]})
        elif a.type == "webhook":
            body = render(a.raw.get("body"), names, f"{at}/body") if a.raw.get("body") else None
            eid = outbox.emit(rt.conn, "deliver.webhook", {"url": a.raw["url"], "secret": a.raw.get("secret"),
                                                            "body": body, "data": None if body else _json(dict(names))},
                              now=rt.ctx.now)
            done.append({"type": a.type, "delivery": eid})
        elif a.type == "emit":
            payload = _json(_values(rt, a, "payload", names, at))
            eid = outbox.emit(rt.conn, "external", {"name": a.raw["event"], "payload": payload}, now=rt.ctx.now)
            done.append({"type": a.type, "event": a.raw["event"], "event_id": eid})
        elif a.type == "notify":
            done.append(_notify(rt, a, names, at, record, compiled, instance))
        elif a.type == "hook":
            fn = engine_hook(a.raw["name"])
            if fn is None:
                raise InvalidInput(f"{at}: 没有名为 {a.raw['name']} 的引擎钩子", f"{at}: no engine hook named {a.raw['name']}")
            result = fn(rt, _values(rt, a, "args", names, at), names)
            done.append({"type": a.type, "name": a.raw["name"], "result": _json(result)})
    return done


def _notify(rt: Any, a: ActionSpec, names: Mapping[str, Any], at: str, record: Mapping[str, Any] | None,
            compiled: CompiledForm | None, instance: Mapping[str, Any] | None) -> dict[str, Any]:
    from mom.engines.workflow import runtime

    title = render(a.raw.get("title"), names, f"{at}/title")
    body = render(a.raw.get("body"), names, f"{at}/body")
    channels = a.raw.get("channels") or ["inbox"]
    who = rt.actor(instance["initiator_id"]) if instance else None
    types = {f.key: f.type for f in compiled.definition.scalar_fields} if compiled else {}
    users = assign.resolve(rt.conn, a.to, initiator_id=instance["initiator_id"] if instance else rt.ctx.actor.id,
                           initiator_department_id=who.department_id if who else rt.ctx.actor.department_id,
                           record=record or {}, field_types=types)
    if "inbox" in channels and users:
        runtime.notify_users(rt, users, "notice", title, instance, body)
    queued = []
    for ch in channels:
        if ch == "email" and users:
            queued.append(outbox.emit(rt.conn, "deliver.email", {"users": users, "subject": title, "body": body}, now=rt.ctx.now))
        elif ch in ("dingtalk", "wecom"):
            queued.append(outbox.emit(rt.conn, f"deliver.{ch}", {"webhook_url": a.raw.get("webhook_url"), "title": title,
                                                                 "body": body}, now=rt.ctx.now))
    return {"type": "notify", "users": users, "channels": channels, "deliveries": queued}
