"""Record hooks of the workflow engine: approval locks, record state machines, outbox events and
workflows that start when a condition on the record becomes true. See mom.engines.records.hooks;
provided through ``mom_record_hooks`` and chained by ``mom.platform.composition``."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.expressions.sandbox import ExpressionError
from mom.engines.forms import fieldtypes
from mom.engines.forms.compile import CompiledForm
from mom.engines.forms.store import FormRegistry
from mom.engines.records.context import Ctx
from mom.engines.records.hooks import RecordHooks
from mom.engines.workflow import runtime
from mom.engines.workflow.runtime import running_instance
from mom.engines.workflow.store import WorkflowRegistry
from mom.platform import outbox
from mom.platform.db import tables as T
from mom.platform.errors import AccessDenied, Conflict, InvalidInput, Problem
from mom.platform.hookspecs import hookimpl


def _dump(compiled: CompiledForm, key: str, v: Any) -> Any:
    f = compiled.definition.field(key)
    return fieldtypes.dump(f, v) if f is not None else v


def _empty(v: Any) -> bool:
    return v is None or v == "" or v == []


def _state_label(compiled: CompiledForm, field: str, value: str) -> str:
    """The Chinese label of a state (草稿 for ``draft``), never its key; the key when the field has no such option."""
    f = compiled.definition.field(field)
    label = f.option_labels.get(value) if f is not None else None
    return str((label or {}).get("zh-CN") or value)


def _state_labels(compiled: CompiledForm, key: str, lang: str) -> Any:
    """A state's label in ``lang`` (its key when the option has none): people read 「已处置」, not dispositioned."""
    f = compiled.definition.field(key)
    labels = f.option_labels if f is not None else {}

    def label(value: Any) -> str:
        got = labels.get(value) or {}
        return str(got.get(lang) or got.get("zh-CN") or value)
    return label


class WorkflowHooks(RecordHooks):
    def __init__(self, forms: FormRegistry, flows: WorkflowRegistry) -> None:
        self.forms, self.flows = forms, flows

    # ------------------------------------------------------------ create
    def before_create(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, rows: list[dict[str, Any]]) -> None:
        sm = compiled.definition.state_machine
        if sm is None:
            return
        problems = []
        for i, r in enumerate(rows):
            v = r.get(sm.field)
            if _empty(v):
                r[sm.field] = sm.initial
            elif v != sm.initial:
                problems.append(Problem(f"/{i}/{sm.field}" if len(rows) > 1 else f"/{sm.field}",
                                        f"新记录的状态只能是初始状态「{_state_label(compiled, sm.field, sm.initial)}」，"
                                        "之后用状态按钮改变",
                                        f"a new record starts in state {sm.initial}; change it later through a transition", "state"))
        if problems:
            raise InvalidInput("新记录的状态不对", "new records must start in the initial state", problems=problems)

    def after_create(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, rows: list[Mapping[str, Any]]) -> None:
        listen = self.forms.listeners(compiled.name)
        if listen.get("rules"):
            for r in rows:
                outbox.emit(conn, "record.created", {"form": compiled.name, "record_id": r["id"], "actor_id": ctx.actor.id},
                            now=ctx.now)
        if listen.get("workflows"):
            for r in rows:
                self._condition_starts(conn, ctx, compiled, r, None)

    # ------------------------------------------------------------ update
    def before_update(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, old: Mapping[str, Any],
                      new: dict[str, Any], patched: set[str], transition: str | None) -> None:
        if self.forms.listeners(compiled.name).get("workflows"):
            self._check_lock(conn, ctx, compiled, record_id, old, new, patched)
        sm = compiled.definition.state_machine
        if sm is None:
            if transition:
                raise InvalidInput(f"表单 {compiled.name} 没有状态机", f"form {compiled.name} has no state machine")
            return
        source, target = old.get(sm.field), new.get(sm.field)
        if transition is not None and target == source:
            by_key = [t for t in sm.transitions if t.key == transition]
            if not by_key:
                keys = [t.key for t in sm.transitions]
                raise InvalidInput(f"没有名为 {transition} 的状态转换（可用：{', '.join(keys)}）",
                                   f"no transition named {transition} (available: {', '.join(keys)})")
            target = new[sm.field] = by_key[0].target
        if target == source:
            return
        candidates = sm.find(source, target, transition)
        if not candidates:
            allowed = [f"{t.key}: {source}→{t.target}" for t in sm.transitions if source in t.sources]
            zh, en = _state_labels(compiled, sm.field, "zh-CN"), _state_labels(compiled, sm.field, "en")
            now_zh = "、".join(f"「{t.label.get('zh-CN') or t.key}」" for t in sm.transitions if source in t.sources)
            now_en = ", ".join(str(t.label.get("en") or t.key) for t in sm.transitions if source in t.sources)
            raise Conflict(f"状态不能从「{zh(source)}」变为「{zh(target)}」；现在可做的操作：{now_zh or '无'}",
                           f"the state cannot change from {en(source)} to {en(target)}; actions available now: {now_en or 'none'}",
                           detail={"from": source, "to": target, "allowed": allowed})
        actor = ctx.actor
        permitted = [t for t in candidates if actor.id is None or t.allows(actor.username, actor.role_names, actor.is_admin)]
        if not permitted:
            raise AccessDenied(f"你无权执行状态转换 {candidates[0].key}（{source}→{target}）",
                               f"you may not perform transition {candidates[0].key} ({source}→{target})")
        names = {k: new.get(k) for k in (f.key for f in compiled.definition.scalar_fields)}
        chosen, reasons, missing = None, [], []
        for t in permitted:
            lack = [k for k in t.required if _empty(new.get(k))]
            if lack:                 # required fields first: a condition on an empty field means nothing
                missing = missing or lack
                reasons.append(t.key)
                continue
            try:
                ok = t.when is None or bool(t.when.evaluate(names, now=ctx.now.astimezone(ctx.tz)))
            except ExpressionError as exc:
                raise InvalidInput(f"转换 {t.key} 的条件出错：{exc.zh}", f"the condition of transition {t.key} failed: {exc.en}") from None
            if ok:
                chosen = t
                break
            reasons.append(t.key)
        if chosen is None and missing:
            raise InvalidInput(f"执行 {', '.join(reasons)} 前须填写：{', '.join(missing)}", f"fill in {', '.join(missing)} before {', '.join(reasons)}",
                               problems=[Problem(f"/{k}", "此状态转换要求必填", "required by this transition", "required") for k in missing])
        if chosen is None:
            raise Conflict(f"转换 {', '.join(reasons)} 的条件不满足", f"the condition of transition {', '.join(reasons)} is not met")
        for k, e in chosen.set.items():
            try:
                new[k] = e.evaluate(names, now=ctx.now.astimezone(ctx.tz))
            except ExpressionError as exc:
                raise InvalidInput(f"转换 {chosen.key} 设置 {k} 出错：{exc.zh}", f"transition {chosen.key} failed to set {k}: {exc.en}") from None

    def _check_lock(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, old: Mapping[str, Any],
                    new: Mapping[str, Any], patched: set[str]) -> None:
        inst = running_instance(conn, compiled.name, record_id)
        if inst is None or ctx.actor.id is None:      # no flow, or the engine itself (automatic actions)
            return
        if inst["status"] == "returned" and ctx.actor.id == inst["initiator_id"]:
            return
        changed = {k for k in patched if k not in new or new.get(k) != old.get(k)}
        if not changed:
            return
        nodes = [tk["node"] for tk in (inst["state"] or {}).get("tokens", [])]
        mine = conn.execute(sa.select(T.wf_task.c.node_id).where(
            T.wf_task.c.instance_id == inst["id"], T.wf_task.c.assignee_id == ctx.actor.id,
            T.wf_task.c.status == "pending", T.wf_task.c.kind == "approval", T.wf_task.c.node_id.in_(nodes))).scalars().all()
        spec = self.flows.get(conn, inst["workflow"], inst["version"])
        editable: set[str] = set()
        for nid in mine:
            editable |= spec.node(nid).editable_fields
        blocked = sorted(changed - editable)
        if blocked:
            raise Conflict(f"记录审批中（流程实例 {inst['id']}），已锁定；不能修改 {', '.join(blocked)}",
                           f"the record is under approval (instance {inst['id']}) and locked; {', '.join(blocked)} cannot change",
                           detail={"instance_id": inst["id"], "editable": sorted(editable)})

    def after_update(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, old: Mapping[str, Any],
                     new: Mapping[str, Any], changed: set[str]) -> None:
        listen = self.forms.listeners(compiled.name)
        if listen.get("rules"):
            scalar = [k for k in sorted(changed) if compiled.definition.field(k) is not None and not compiled.definition.field(k).is_table]
            base = {"form": compiled.name, "record_id": record_id, "actor_id": ctx.actor.id}
            outbox.emit(conn, "record.updated", {**base, "changed": sorted(changed),
                                                 "old": {k: _dump(compiled, k, old.get(k)) for k in scalar}}, now=ctx.now)
            sm = compiled.definition.state_machine
            if sm is not None and sm.field in changed:
                outbox.emit(conn, "record.state_changed", {**base, "from": old.get(sm.field), "to": new.get(sm.field)}, now=ctx.now)
        if listen.get("workflows"):
            self._condition_starts(conn, ctx, compiled, {**new, "id": record_id}, old)

    # ------------------------------------------------------------ delete
    def before_delete(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, row: Mapping[str, Any]) -> None:
        inst = running_instance(conn, compiled.name, record_id)
        if inst is not None:
            raise Conflict(f"记录审批中（流程实例 {inst['id']}），不能删除；请先撤回或终止流程",
                           f"the record is under approval (instance {inst['id']}); withdraw or cancel the flow first")

    def after_delete(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, row: Mapping[str, Any]) -> None:
        if self.forms.listeners(compiled.name).get("rules"):
            outbox.emit(conn, "record.deleted", {"form": compiled.name, "record_id": record_id, "actor_id": ctx.actor.id},
                        now=ctx.now)

    # ------------------------------------------------------------ condition triggers
    def _condition_starts(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, row: Mapping[str, Any],
                          old: Mapping[str, Any] | None) -> None:
        for spec in self.flows.for_form(conn, compiled.name):
            if spec.trigger != "condition" or spec.when is None:
                continue
            now = ctx.now.astimezone(ctx.tz)
            try:
                hit = bool(spec.when.evaluate(dict(row), now=now))
                was = bool(spec.when.evaluate(dict(old), now=now)) if old is not None else False
            except ExpressionError as exc:
                raise InvalidInput(f"流程 {spec.name} 的发起条件出错：{exc.zh}", f"the start condition of {spec.name} failed: {exc.en}") from None
            if hit and not was and runtime.running_instance(conn, compiled.name, int(row["id"])) is None:
                rt = runtime.Runtime(conn=conn, ctx=ctx, forms=self.forms, flows=self.flows)
                runtime.start(rt, spec.name, int(row["id"]), trigger="condition")


@hookimpl(tryfirst=True)
def mom_record_hooks(forms: FormRegistry, flows: WorkflowRegistry) -> RecordHooks:
    """Approval locks, record state machines, outbox events and condition-started workflows: first in
    the chain, so a locked record is refused before any other hook acts."""
    return WorkflowHooks(forms, flows)
