"""Running workflow instances: start, walk the node graph, activate and decide approval nodes, finish.

An instance (``instance.WorkflowInstance``) keeps a small state: the tokens (the nodes it waits at,
each with the stack of parallel branches it is in), the branches that reached each parallel join, how
often each node was activated (its *round*), and where to resume after a return. The walk knows no
node kind by name: each node's handler (``nodes.NodeHandler``, resolved when the spec was compiled)
says what happens there. Every change happens in the caller's transaction with the instance row
locked, so two approvers acting at once are serialised and see each other.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.expressions.sandbox import Expression, ExpressionError
from mom.engines.forms.compile import CompiledForm
from mom.engines.forms.store import FormRegistry
from mom.engines.records.context import SYSTEM, Actor, Ctx, load_actor
from mom.engines.records.service import get_record
from mom.engines.workflow import assign, pluginguard
from mom.engines.workflow.instance import InstanceState, Stack, Token, WorkflowInstance
from mom.engines.workflow.prediction import predicted_nodes
from mom.engines.workflow.spec import END, Assignee, NodeSpec, WorkflowSpec, node_kinds
from mom.engines.workflow.store import WorkflowRegistry
from mom.platform import outbox
from mom.platform.db import tables as T
from mom.platform.errors import Conflict, InvalidInput, NotFound

I, TK, EV = T.wf_instance, T.wf_task, T.wf_event
ACTIVE = ("running", "returned")


@dataclass
class Runtime:
    """What the workflow engine needs for one transaction."""
    conn: Connection
    ctx: Ctx
    forms: FormRegistry
    flows: WorkflowRegistry
    _actors: dict[int, Actor | None] = field(default_factory=dict)
    _forms: dict[str, CompiledForm] = field(default_factory=dict)
    _events: list[dict[str, Any]] | None = None    # see :func:`batched`
    _notes: list[dict[str, Any]] | None = None

    def form(self, name: str) -> CompiledForm:
        """The compiled form, read once per transaction (a node walk needs it many times)."""
        if name not in self._forms:
            self._forms[name] = self.forms.get(self.conn, name)
        return self._forms[name]

    @property
    def system_ctx(self) -> Ctx:
        return Ctx(actor=SYSTEM, now=self.ctx.now, tz=self.ctx.tz)

    def actor(self, user_id: int | None) -> Actor | None:
        if user_id is None:
            return None
        if user_id == self.ctx.actor.id:
            return self.ctx.actor
        if user_id not in self._actors:
            self._actors[user_id] = load_actor(self.conn, user_id)
        return self._actors[user_id]


@contextmanager
def batched(rt: Runtime) -> Iterator[Runtime]:
    """Within one action, the timeline lines and in-app notifications are kept and written at its
    end, one INSERT each, instead of one statement per line (an approval that passes a node and
    activates the next writes four). Readers of the timeline call :func:`flush` first. If the action
    fails, nothing of it is written (its transaction is rolled back anyway)."""
    if rt._events is not None:
        yield rt
        return
    rt._events, rt._notes = [], []
    try:
        yield rt
        flush(rt)
    finally:
        rt._events = rt._notes = None


def flush(rt: Runtime) -> None:
    if rt._events:
        rt.conn.execute(_ADD_EVENT, rt._events)
        rt._events.clear()
    if rt._notes:
        rt.conn.execute(_ADD_NOTE, rt._notes)
        rt._notes.clear()


# ---------------------------------------------------------------- instance rows

# Statements built once: every action runs them, and building a statement costs more than running it.
_INSTANCE = sa.select(I).where(I.c.id == sa.bindparam("iid"))
_INSTANCE_LOCKED = _INSTANCE.with_for_update()
_SAVE = I.update().where(I.c.id == sa.bindparam("iid"), I.c.row_version == sa.bindparam("rv")).values(
    status=sa.bindparam("new_status"), state=sa.bindparam("new_state", type_=I.c.state.type),
    ended_at=sa.bindparam("new_ended_at", type_=I.c.ended_at.type), version=sa.bindparam("new_version"),
    row_version=sa.bindparam("rv") + 1)
_ADD_EVENT = EV.insert()
_ADD_NOTE = T.notification.insert()



def load_instance(rt: Runtime, instance_id: int, *, lock: bool = True) -> WorkflowInstance:
    """The instance (locked for this transaction on PostgreSQL unless ``lock`` is off); 404 if there is none."""
    q = _INSTANCE_LOCKED if lock and rt.conn.dialect.name == "postgresql" else _INSTANCE
    row = rt.conn.execute(q, {"iid": instance_id}).mappings().first()
    if row is None:
        raise NotFound(f"流程实例 {instance_id} 不存在", f"workflow instance {instance_id} does not exist")
    return WorkflowInstance.from_row(row)


def save(rt: Runtime, inst: WorkflowInstance) -> None:
    """Write the instance's status, state (in the current format) and version; 409 if it changed meanwhile."""
    res = rt.conn.execute(_SAVE, {"iid": inst.id, "rv": inst.row_version, "new_status": inst.status,
                                  "new_state": inst.to_state(), "new_ended_at": inst.ended_at, "new_version": inst.version})
    if res.rowcount != 1:
        raise Conflict("流程实例已被他人同时处理；请刷新后重试", "the workflow instance was changed meanwhile; reload and retry")
    inst.row_version += 1


def event(rt: Runtime, inst: WorkflowInstance, action: str, *, node_id: str | None = None, task_id: int | None = None,
          comment: str | None = None, data: Any = None, actor_id: int | None = -1) -> None:
    """Add a line to the instance's timeline (actor defaults to whoever acts in this request)."""
    line = {"instance_id": inst.id, "at": rt.ctx.now, "action": action, "node_id": node_id, "task_id": task_id,
            "comment": comment, "data": data, "actor_id": rt.ctx.actor.id if actor_id == -1 else actor_id}
    if rt._events is not None:
        rt._events.append(line)
    else:
        rt.conn.execute(_ADD_EVENT, line)


def record_values(rt: Runtime, compiled: CompiledForm, record_id: int) -> dict[str, Any]:
    """The record's row as stored (no permission check: the engine acts for the flow)."""
    t = compiled.main
    row = rt.conn.execute(sa.select(t).where(t.c.id == record_id)).mappings().first()
    if row is None:
        raise NotFound(f"表单 {compiled.name} 中没有记录 {record_id}", f"no record {record_id} in form {compiled.name}")
    return dict(row)


def expression_names(rt: Runtime, inst: WorkflowInstance, record: Mapping[str, Any]) -> dict[str, Any]:
    """What a condition or action expression may name: the record's fields and the initiator's."""
    return {**record, **initiator_names(rt.actor(inst.initiator_id), inst.initiator_id)}


def initiator_names(who: Actor | None, initiator_id: int | None) -> dict[str, Any]:
    """The initiator's names that conditions may read (also used to predict a record's path before it starts)."""
    return {"initiator_id": initiator_id, "initiator_username": who.username if who else None,
            "initiator_department_id": who.department_id if who else None,
            "initiator_roles": sorted(who.role_names) if who else []}


def evaluate(expr: Expression, names: Mapping[str, Any], rt: Runtime, where: str) -> Any:
    """``expr`` on ``names`` at the request's time; an error is a 422 naming ``where``."""
    try:
        return expr.evaluate(names, now=rt.ctx.now.astimezone(rt.ctx.tz))
    except ExpressionError as exc:
        raise InvalidInput(f"{where} 的表达式出错：{exc.zh}", f"the expression at {where} failed: {exc.en}") from None


# ---------------------------------------------------------------- start

def running_instance(conn: Connection, form: str, record_id: int) -> dict[str, Any] | None:
    """The active (running or returned) instance's row on a record, if any (its raw ``wf_instance`` row)."""
    row = conn.execute(sa.select(I).where(I.c.form == form, I.c.record_id == record_id, I.c.status.in_(ACTIVE))
                       .order_by(I.c.id.desc()).limit(1)).mappings().first()
    return dict(row) if row is not None else None



def record_path(rt: Runtime, spec: WorkflowSpec, record_id: int) -> dict[str, str]:
    """The waiting nodes record ``record_id`` reaches when the acting user submits it now: node id ->
    ``certain`` or ``maybe`` (see prediction.predicted_nodes). No permission check: the caller did it."""
    record = record_values(rt, rt.form(spec.form), record_id)
    names = {**record, **initiator_names(rt.ctx.actor, rt.ctx.actor.id)}
    return predicted_nodes(spec, names, now=rt.ctx.now.astimezone(rt.ctx.tz))

def refuse_unless_submittable(rt: Runtime, spec: WorkflowSpec, record_id: int, record: Mapping[str, Any]) -> None:
    """A submit flow with ``trigger.when`` starts only while the record satisfies it: otherwise a 409 saying
    the record's state in words (e.g. 「已处置」), not an approval that can never finish."""
    names = {**record_values(rt, rt.form(spec.form), record_id), **initiator_names(rt.ctx.actor, rt.ctx.actor.id)}
    try:
        ok = bool(spec.when.evaluate(names, now=rt.ctx.now.astimezone(rt.ctx.tz)))  # type: ignore[union-attr]
    except Exception:       # noqa: BLE001 — an expression failing on this record: not submittable
        ok = False
    if ok:
        return
    compiled = rt.form(spec.form)
    sm = compiled.definition.state_machine
    state = state_en = ""
    if sm is not None:
        f = compiled.definition.field(sm.field)
        got = (f.option_labels.get(record.get(sm.field)) if f is not None else None) or {}
        state = str(got.get("zh-CN") or record.get(sm.field) or "")
        state_en = str(got.get("en") or record.get(sm.field) or "")
    label = spec.label
    raise Conflict(f"这条记录{f'已是「{state}」，' if state else '现在'}不能提交「{label.get('zh-CN') or spec.name}」审批",
                   f"this record{f' is {state_en} and' if state else ''} cannot be submitted to {label.get('en') or spec.name} now",
                   detail={"workflow": spec.name, "record_id": record_id})


def start(rt: Runtime, workflow: str, record_id: int, *, trigger: str = "submit", approvers: Any = None,
          revokes_id: int | None = None, parent_task_id: int | None = None) -> WorkflowInstance:
    """Start ``workflow`` on a record. The initiator is the acting user; they must be able to read it.
    ``approvers``: 发起人自选, usernames per node id (see choice.chosen_approvers)."""
    from mom.engines.workflow.choice import choice_nodes, chosen_approvers   # imported late (no cycle)

    spec, enabled = rt.flows.current(rt.conn, workflow)
    if not enabled:
        raise Conflict(f"流程 {workflow} 已停用，不能发起", f"workflow {workflow} is disabled; it cannot be started")
    record = get_record(conn=rt.conn, registry=rt.forms, ctx=rt.ctx, form=spec.form, record_id=record_id)
    if spec.trigger == "submit" and spec.when is not None and trigger == "submit":
        refuse_unless_submittable(rt, spec, record_id, record)
    busy = running_instance(rt.conn, spec.form, record_id)
    if busy is not None:
        raise Conflict(f"该记录已在审批中（流程实例 {busy['id']}）", f"the record is already under approval (instance {busy['id']})",
                       detail={"instance_id": busy["id"]})
    # 发起人自选: choices are required only for the chooser nodes this record's values certainly reach
    path = record_path(rt, spec, record_id) if trigger == "submit" and choice_nodes(spec) else None
    chosen = chosen_approvers(rt.conn, spec, approvers, trigger=trigger, initiator=rt.ctx.actor.id, path=path)
    inst = WorkflowInstance(id=0, workflow=spec.name, version=spec.version, form=spec.form, record_id=record_id,
                            status="running", initiator_id=rt.ctx.actor.id, started_at=rt.ctx.now, state=InstanceState(),
                            chosen=chosen, revokes_id=revokes_id, parent_task_id=parent_task_id)
    row = {"workflow": inst.workflow, "version": inst.version, "form": inst.form, "record_id": record_id, "status": inst.status,
           "initiator_id": inst.initiator_id, "started_at": inst.started_at, "ended_at": None, "state": inst.to_state(),
           "row_version": inst.row_version, "chosen": chosen or None, "revokes_id": revokes_id,
           "parent_task_id": parent_task_id}
    inst.id = int(rt.conn.execute(I.insert().returning(I.c.id), row).scalar_one())
    with batched(rt):
        event(rt, inst, "start", data={"trigger": trigger, "version": spec.version, **({"chosen": chosen} if chosen else {}),
                                       **({"revokes": revokes_id} if revokes_id else {})})
        advance(rt, inst, spec, spec.first, [])
        save(rt, inst)
    return inst


# ---------------------------------------------------------------- walking the graph

def advance(rt: Runtime, inst: WorkflowInstance, spec: WorkflowSpec, target: str, stack: Stack) -> None:
    """Move a token from ``target`` on until it waits (an approval node), joins, or the flow ends. Each
    node's handler says what happens there and where the token goes next."""
    while inst.status == "running":
        if target == END:
            finish(rt, inst, spec, "approved")
            return
        joined = target.startswith("join:")   # a branch of a block is done: its node decides (the join)
        _, pid, idx = target.split(":") if joined else ("", target, "0")
        node = spec.node(pid)
        # a plug-in's node kind failing is a message naming it (the core's stays a bug)
        where = lambda: (f"流程 {spec.name} 的节点 {node.id}（类型 {node.type}）",  # noqa: E731
                         f"node {node.id} (kind {node.type}) of workflow {spec.name}")
        if joined:
            step = pluginguard.call(node.handler, where, node.handler.branch_done, rt, inst, spec, node, int(idx), stack)
        else:
            step = pluginguard.call(node.handler, where, node.handler.enter, rt, inst, spec, node, stack)
        if step is None:
            return
        target, stack = step


def resolve_assignees(rt: Runtime, inst: WorkflowInstance, specs: tuple[Assignee, ...], record: Mapping[str, Any] | None,
                      compiled: CompiledForm | None) -> list[int]:
    """The users of an assignee list. ``record`` and ``compiled``: the record's values and form, or
    None to read them only if an assignee rule needs them."""
    kinds = {a.type for a in specs}
    who = rt.actor(inst.initiator_id) if "department_head" in kinds else None
    types: dict[str, str] = {}
    if "field" in kinds:
        compiled = compiled or rt.form(inst.form)
        record = record if record is not None else record_values(rt, compiled, inst.record_id)
        types = {f.key: f.type for f in compiled.definition.scalar_fields}
    return assign.resolve(rt.conn, specs, initiator_id=inst.initiator_id,
                          initiator_department_id=who.department_id if who else None, record=record or {},
                          field_types=types)


def task_row(inst: WorkflowInstance, node: NodeSpec, rnd: int, user: int | None, kind: str, status: str, seq: int,
             now: dt.datetime, **extra: Any) -> dict[str, Any]:
    """A new ``wf_task`` row of the node's round ``rnd`` for ``user``."""
    return {"instance_id": inst.id, "node_id": node.id, "round": rnd, "kind": kind, "assignee_id": user,
            "status": status, "seq": seq, "added": None, "parent_task_id": None, "created_at": now, "acted_at": None,
            "acted_by": None, "comment": None, "attachments": None, "due_at": None, "timeout_done": False, "read_at": None,
            "weight": None, "on_behalf_of": None, "signature": None, **extra}


def copy_task(task: Mapping[str, Any]) -> dict[str, Any]:
    """A task's row without what belongs to its own answer: the start of a task added beside it."""
    return {k: v for k, v in task.items() if k not in ("id", "acted_at", "acted_by", "comment", "attachments", "read_at",
                                                       "signature")}


OPEN = ("pending", "waiting", "delegated")   # task states someone may still act on


def cancel_open(rt: Runtime, inst: WorkflowInstance, node_id: str | None = None, rnd: int | None = None) -> None:
    """Close the open tasks of the instance (or of one node's round)."""
    q = TK.update().where(TK.c.instance_id == inst.id, TK.c.status.in_(OPEN))
    if node_id is not None:
        q = q.where(TK.c.node_id == node_id, TK.c.round == rnd)
    rt.conn.execute(q.values(status="cancelled", acted_at=rt.ctx.now))


def pass_node(rt: Runtime, inst: WorkflowInstance, spec: WorkflowSpec, node: NodeSpec, rnd: int,
              *, anything_open: bool = True) -> None:
    """The node approved: its token moves on (or back to where a return with resume=back came from)."""
    if anything_open:
        cancel_open(rt, inst, node.id, rnd)
    event(rt, inst, "node_passed", node_id=node.id, actor_id=None)
    tokens = inst.state.tokens
    token = next((tk for tk in tokens if tk.node == node.id), Token(node=node.id))
    if token in tokens:
        tokens.remove(token)
    ret = inst.state.return_to
    if ret and ret.target == node.id and ret.resume_at:
        inst.state.return_to = None
        advance(rt, inst, spec, ret.resume_at, ret.resume_stack or [])
        return
    advance(rt, inst, spec, node.next, token.stack)


def finish(rt: Runtime, inst: WorkflowInstance, spec: WorkflowSpec, outcome: str) -> None:
    """End the flow with ``outcome``: open tasks close, the initiator is told, ``workflow.finished`` is emitted."""
    cancel_open(rt, inst)
    inst.status, inst.ended_at = outcome, rt.ctx.now
    inst.state.clear()
    event(rt, inst, "finished", data={"outcome": outcome}, actor_id=None)
    if inst.initiator_id is not None:
        word = {"approved": "已通过", "rejected": "被驳回", "withdrawn": "已撤回", "cancelled": "已取消"}.get(outcome, outcome)
        notify_users(rt, [inst.initiator_id], "finished", f"{spec.label['zh-CN']} #{inst.record_id} {word}", inst)
    outbox.emit(rt.conn, "workflow.finished", {"workflow": spec.name, "version": spec.version, "instance_id": inst.id,
                                               "form": spec.form, "record_id": inst.record_id, "outcome": outcome,
                                               "initiator_id": inst.initiator_id}, now=rt.ctx.now)
    if inst.parent_task_id is not None or inst.revokes_id is not None:   # a sub-process or a revoke flow ended
        for handler in node_kinds().values():   # the sub-process kind (workflow.linked) takes it from here
            if hasattr(handler, "flow_ended"):
                handler.flow_ended(rt, inst, outcome)


def notify_users(rt: Runtime, users: list[int], kind: str, title: str, inst: WorkflowInstance | None = None,
                 body: str | None = None) -> None:
    """In-app notifications (inbox counts); other channels go through the outbox (see actions.Notify)."""
    link = f"/workflow-instances/{inst.id}" if inst else None
    rows = [{"user_id": u, "kind": kind, "title": title[:500], "body": body, "link": link, "created_at": rt.ctx.now}
            for u in dict.fromkeys(users)]
    if rt._notes is not None:
        rt._notes.extend(rows)
    elif rows:
        rt.conn.execute(_ADD_NOTE, rows)
