"""Event rules (``mom.rule/1``): when EVENT [if CONDITION] then ACTIONS — and the dispatcher that
workers run for every outbox event.

Dispatch fans out: a record or workflow event becomes one ``rule.run`` event per matching rule, in
the same transaction that marks the source event done. Each rule then runs in its own transaction
with its own retries and dead letter, so one failing rule never blocks or repeats the others.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pluggy
import sqlalchemy as sa
from croniter import croniter
from sqlalchemy.engine import Connection

from mom.engines.expressions.sandbox import Expression
from mom.engines.expressions.strictness import stored_definitions
from mom.engines.definitions.cron import next_run
from mom.engines.definitions.expressions import expression_at
from mom.engines.definitions.identity import definition_hash
from mom.engines.definitions.jsonschema import schema_problems
from mom.engines.forms.store import FormRegistry, refresh_listeners
from mom.engines.forms.model import text_of
from mom.engines.workflow.actions import run_actions
from mom.engines.workflow.runtime import Runtime, evaluate
from mom.engines.workflow.spec import ActionSpec, compile_actions, extended_schema
from mom.platform import outbox
from mom.platform.plugins import plugin_manager
from mom.platform.db import tables as T
from mom.platform.errors import InvalidInput, NotFound, Problem, ProblemList, did_you_mean

log = logging.getLogger(__name__)

FORMAT = "mom.rule/1"
SCHEMA_PATH = Path(__file__).parent / "schema" / "rule-1.json"
EVENT_NAMES = frozenset({"event", "old", "changed", "payload"})
EXTERNAL_NAME = re.compile(r"^[a-z][a-z0-9_.]{0,99}$")
RECORD_EVENTS = ("record.created", "record.updated", "record.deleted", "record.state_changed")


def rule_schema(plugins: pluggy.PluginManager | None = None) -> dict[str, Any]:
    """The ``mom.rule/1`` JSON Schema, with the action types and delivery channels of plug-ins (of the
    process's plug-in manager or ``plugins``)."""
    return extended_schema(SCHEMA_PATH, plugins or plugin_manager())


@dataclass(frozen=True)
class RuleSpec:
    name: str
    label: dict[str, str]
    on: Mapping[str, Any]
    when: Expression | None
    actions: tuple[ActionSpec, ...]
    enabled: bool
    hash: str
    raw: Mapping[str, Any]

    @property
    def event(self) -> str:
        return str(self.on["event"])

    def matches(self, topic: str, payload: Mapping[str, Any]) -> bool:
        on = self.on
        if topic == "external":
            return self.event == "external" and on.get("name") == payload.get("name")
        if topic != self.event:
            return False
        if topic in RECORD_EVENTS and on.get("form") != payload.get("form"):
            return False
        if topic == "record.updated" and on.get("fields") and not set(on["fields"]) & set(payload.get("changed", [])):
            return False
        if topic == "record.state_changed" and any(k in on and on[k] != payload.get(k) for k in ("from", "to")):
            return False
        if topic == "workflow.finished" and any(k in on and on[k] != payload.get(k) for k in ("workflow", "outcome")):
            return False
        return True


def validate_rule(raw: Any, *, forms: FormRegistry | None = None, conn: Connection | None = None,
                  plugins: pluggy.PluginManager | None = None) -> RuleSpec:
    """Check a rule; with ``conn`` also its form, fields, expressions against them and the cron line
    (action types and channels of ``plugins``, default the process's plug-in manager)."""
    if not isinstance(raw, Mapping):
        raise InvalidInput("规则定义必须是 JSON 对象", "a rule definition must be a JSON object")
    problems = ProblemList()
    schema_problems(raw, rule_schema(plugins), problems)
    problems.raise_if_any("规则定义有误", "the rule definition is invalid")
    on = raw["on"]
    event = on["event"]
    compiled = None
    if event in RECORD_EVENTS and "form" not in on:
        problems.add("/on/form", f"事件 {event} 需要 form（表单名）", f"event {event} needs form (a form name)", "required")
    elif "form" in on and conn is not None and forms is not None:
        try:
            compiled = forms.get(conn, on["form"])
        except NotFound as exc:
            problems.add("/on/form", exc.zh, exc.en, "unknown_form")
    if event == "schedule":
        if not croniter.is_valid(str(on.get("cron", ""))):
            problems.add("/on/cron", "需要有效的 cron 表达式（分 时 日 月 周），如 \"0 8 * * 1-5\"",
                         "a valid cron line is needed (minute hour day month weekday), e.g. \"0 8 * * 1-5\"", "cron")
    if event == "external" and "name" not in on:
        problems.add("/on/name", "外部事件需要 name", "an external event needs name", "required")
    if compiled is not None:
        keys = {f.key for f in compiled.definition.scalar_fields}
        for i, k in enumerate(on.get("fields") or []):
            if compiled.definition.field(k) is None:
                problems.add(f"/on/fields/{i}", f"表单没有字段 {k}{did_you_mean(k, keys)}", f"the form has no field {k}{did_you_mean(k, keys)}", "unknown_field")
        names: frozenset[str] | None = frozenset(keys | {"id"}) | EVENT_NAMES
    else:
        names = EVENT_NAMES if event in ("schedule", "external") else None
    when = expression_at(raw.get("if"), names, "/if", problems)
    actions = compile_actions(raw["actions"], "/actions", names, compiled, problems, plugins=plugins)
    problems.raise_if_any(f"规则 {raw['name']} 有 {len(problems.items)} 处错误", f"rule {raw['name']} has {len(problems.items)} problem(s)")
    return RuleSpec(name=raw["name"], label=text_of(raw.get("label"), raw["name"]), on=on, when=when, actions=actions,
                    enabled=bool(raw.get("enabled", True)), hash=definition_hash(raw), raw=raw)


def apply_rule(conn: Connection, forms: FormRegistry, raw: Any, *, now: dt.datetime, tz: dt.tzinfo) -> dict[str, Any]:
    spec = validate_rule(raw, forms=forms, conn=conn)
    cur = conn.execute(sa.select(T.rule).where(T.rule.c.name == spec.name)).mappings().first()
    if cur is not None and cur["definition_hash"] == spec.hash:
        return {"name": spec.name, "version": cur["version"], "changed": False}
    values = dict(event=spec.event, form=spec.on.get("form"), definition=dict(raw), definition_hash=spec.hash,
                  enabled=spec.enabled, updated_at=now,
                  next_run_at=next_run(spec.on["cron"], now, tz) if spec.event == "schedule" else None)
    version = (cur["version"] if cur else 0) + 1
    if cur is None:
        conn.execute(T.rule.insert().values(name=spec.name, version=version, **values))
    else:
        conn.execute(T.rule.update().where(T.rule.c.name == spec.name).values(version=version, **values))
        if cur["form"] and cur["form"] != spec.on.get("form"):
            refresh_listeners(conn, cur["form"])
    if spec.on.get("form"):
        refresh_listeners(conn, spec.on["form"])
    return {"name": spec.name, "version": version, "changed": True}


def set_rule_enabled(conn: Connection, name: str, enabled: bool) -> None:
    """Switch a rule on or off (a disabled rule never fires; its pack's uninstall disables it)."""
    form = _rule_form(conn, name)
    conn.execute(T.rule.update().where(T.rule.c.name == name).values(enabled=enabled))
    if form:
        refresh_listeners(conn, form)


def purge_rule(conn: Connection, name: str) -> None:
    """Delete rule ``name`` for good."""
    form = _rule_form(conn, name)
    conn.execute(T.rule.delete().where(T.rule.c.name == name))
    if form and conn.execute(sa.select(T.form.c.name).where(T.form.c.name == form)).first() is not None:
        refresh_listeners(conn, form)


def _rule_form(conn: Connection, name: str) -> str | None:
    row = conn.execute(sa.select(T.rule.c.form).where(T.rule.c.name == name)).first()
    if row is None:
        names = [r[0] for r in conn.execute(sa.select(T.rule.c.name))]
        raise NotFound(f"规则 {name} 不存在{did_you_mean(name, names)}", f"rule {name} does not exist{did_you_mean(name, names)}")
    return row[0]


def rule_listing(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(sa.select(T.rule).order_by(T.rule.c.name)).mappings().all()
    return [{"name": r["name"], "event": r["event"], "form": r["form"], "version": r["version"], "enabled": r["enabled"],
             "next_run_at": r["next_run_at"].isoformat() if r["next_run_at"] else None} for r in rows]


def _rules(conn: Connection, topic: str) -> list[RuleSpec]:
    event = "external" if topic == "external" else topic
    rows = conn.execute(sa.select(T.rule.c.definition_hash, T.rule.c.definition)
                        .where(T.rule.c.event == event, T.rule.c.enabled.is_(True)).order_by(T.rule.c.name)).all()
    return [_compiled(h, raw) for h, raw in rows]


_COMPILED: dict[str, RuleSpec] = {}


def _compiled(definition_hash_: str, raw: Mapping[str, Any]) -> RuleSpec:
    """Published rules compiled once per definition hash (a published definition never changes)."""
    spec = _COMPILED.get(definition_hash_)
    if spec is None:
        with stored_definitions():   # loads as published, even if today's publish checks are stricter
            spec = _COMPILED[definition_hash_] = validate_rule(raw)
    return spec


# ---------------------------------------------------------------- dispatch (run by workers)

def dispatch(rt: Any, topic: str, payload: Mapping[str, Any], event_id: int) -> dict[str, Any]:
    """Handle one outbox event inside ``rt.conn``'s transaction (``deliver.*`` events are the worker's:
    they are sent outside any transaction)."""
    if topic == "rule.run":
        return run_rule(rt, payload)
    fanned = []
    for spec in _rules(rt.conn, topic):
        if spec.matches(topic, payload):
            fanned.append(outbox.emit(rt.conn, "rule.run", {"rule": spec.name, "topic": topic, "event": dict(payload),
                                                            "source_event": event_id}, now=rt.ctx.now))
    return {"rules": fanned}


def run_rule(rt: Runtime, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Run one rule (a ``rule.run`` event) in the worker's transaction."""
    row = rt.conn.execute(sa.select(T.rule.c.definition_hash, T.rule.c.definition, T.rule.c.enabled)
                          .where(T.rule.c.name == payload["rule"])).first()
    if row is None or not row[2]:
        return {"skipped": "rule removed or disabled"}
    spec = _compiled(row[0], row[1])
    ev = dict(payload.get("event") or {})
    record, compiled = None, None
    names: dict[str, Any] = {"event": ev, "old": ev.get("old") or {}, "changed": ev.get("changed") or [],
                             "payload": ev.get("payload") or {}}
    form = ev.get("form") or spec.on.get("form")
    if form and ev.get("record_id") is not None:
        compiled = rt.forms.get(rt.conn, form)
        t = compiled.main
        found = rt.conn.execute(sa.select(t).where(t.c.id == ev["record_id"])).mappings().first()
        if found is None:
            return {"skipped": f"record {ev['record_id']} is gone"}
        record = dict(found)
        names = {**record, **names}
    if spec.when is not None:
        if not evaluate(spec.when, names, rt, f"rule {spec.name}/if"):
            return {"skipped": "condition false"}
    done = run_actions(rt, spec.actions, record=record, compiled=compiled, names=names, where=f"rule {spec.name}")
    return {"rule": spec.name, "actions": done}


#: How long a schedule rule whose next run cannot be computed waits before it is tried again.
_SCHEDULE_BACKOFF = dt.timedelta(hours=1)


def due_schedules(conn: Connection, *, now: dt.datetime, tz: dt.tzinfo) -> int:
    """Fire schedule rules that are due: each firing moves next_run_at with a compare-and-set, so with
    several workers exactly one of them queues the run."""
    fired = 0
    rows = conn.execute(sa.select(T.rule.c.name, T.rule.c.next_run_at, T.rule.c.definition).where(
        T.rule.c.event == "schedule", T.rule.c.enabled.is_(True), T.rule.c.next_run_at <= now)).all()
    for name, due, raw in rows:
        try:
            nxt = next_run(raw["on"]["cron"], now, tz)
        except Exception as exc:  # noqa: BLE001 - a stored cron this code cannot read: back off, don't stop the others
            log.warning("schedule rule %s: next run not computable (%s: %s); retried in %s", name, type(exc).__name__,
                        exc, _SCHEDULE_BACKOFF)
            conn.execute(T.rule.update().where(T.rule.c.name == name, T.rule.c.next_run_at == due)
                         .values(next_run_at=now + _SCHEDULE_BACKOFF))
            continue
        res = conn.execute(T.rule.update().where(T.rule.c.name == name, T.rule.c.next_run_at == due).values(next_run_at=nxt))
        if res.rowcount == 1:
            outbox.emit(conn, "rule.run", {"rule": name, "topic": "schedule", "event": {"due_at": due.isoformat()}}, now=now)
            fired += 1
    return fired


def post_external(conn: Connection, name: str, payload: Any, *, now: dt.datetime) -> int:
    """An outside system (connector, device gateway) reports an event; rules with on.event=external react."""
    if not isinstance(payload, Mapping):
        raise InvalidInput("事件内容应为 JSON 对象", "the event payload must be a JSON object",
                           problems=[Problem("/", "应为对象", "expected an object", "type")])
    return outbox.emit(conn, "external", {"name": name, "payload": dict(payload)}, now=now)
