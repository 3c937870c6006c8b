"""Running workflow instances: start, walk the node graph, activate and decide approval nodes, finish.

An instance keeps a small state: the tokens (the nodes it waits at, each with the stack of parallel
branches it is in), the branches that reached each parallel join, how often each node was activated
(its *round*), and where to resume after a return. Every change happens in the caller's transaction
with the instance row locked, so two approvers acting at once are serialised and see each other.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
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
from mom.engines.workflow import assign
from mom.engines.workflow.spec import END, NodeSpec, WorkflowSpec
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
_NODE_TASKS = sa.select(TK).where(TK.c.instance_id == sa.bindparam("iid"), TK.c.node_id == sa.bindparam("node"),
                                  TK.c.round == sa.bindparam("rnd"), TK.c.kind == "approval").order_by(TK.c.seq, TK.c.id)
_ADD_TASKS = TK.insert().returning(TK.c.id, sort_by_parameter_order=True)


def load_instance(rt: Runtime, instance_id: int, *, lock: bool = True) -> dict[str, Any]:
    q = _INSTANCE_LOCKED if lock and rt.conn.dialect.name == "postgresql" else _INSTANCE
    row = rt.conn.execute(q, {"iid": instance_id}).mappings().first()
    if row is None:
        raise NotFound(f"流程实例 {instance_id} 不存在", f"workflow instance {instance_id} does not exist")
    return instance_dict(row)


def instance_dict(row: Mapping[str, Any]) -> dict[str, Any]:
    inst = dict(row)
    inst["state"] = _fresh_state(inst["state"])
    return inst


def _fresh_state(state: Mapping[str, Any] | None) -> dict[str, Any]:
    s = dict(state or {})
    return {"tokens": list(s.get("tokens", [])), "joins": dict(s.get("joins", {})), "rounds": dict(s.get("rounds", {})),
            "return": s.get("return")}


def save(rt: Runtime, inst: dict[str, Any]) -> None:
    res = rt.conn.execute(_SAVE, {"iid": inst["id"], "rv": inst["row_version"], "new_status": inst["status"],
                                  "new_state": inst["state"], "new_ended_at": inst.get("ended_at"),
                                  "new_version": inst["version"]})
    if res.rowcount != 1:
        raise Conflict("流程实例已被他人同时处理；请刷新后重试", "the workflow instance was changed meanwhile; reload and retry")
    inst["row_version"] += 1


def event(rt: Runtime, inst: Mapping[str, Any], action: str, *, node_id: str | None = None, task_id: int | None = None,
          comment: str | None = None, data: Any = None, actor_id: int | None = -1) -> None:
    """Add a line to the instance's timeline (actor defaults to whoever acts in this request)."""
    line = {"instance_id": inst["id"], "at": rt.ctx.now, "action": action, "node_id": node_id, "task_id": task_id,
            "comment": comment, "data": data, "actor_id": rt.ctx.actor.id if actor_id == -1 else actor_id}
    if rt._events is not None:
        rt._events.append(line)
    else:
        rt.conn.execute(_ADD_EVENT, line)


def record_values(rt: Runtime, compiled: CompiledForm, record_id: int) -> dict[str, Any]:
    t = compiled.main
    row = rt.conn.execute(sa.select(t).where(t.c.id == record_id)).mappings().first()
    if row is None:
        raise NotFound(f"表单 {compiled.name} 中没有记录 {record_id}", f"no record {record_id} in form {compiled.name}")
    return dict(row)


def expression_names(rt: Runtime, inst: Mapping[str, Any], record: Mapping[str, Any]) -> dict[str, Any]:
    who = rt.actor(inst["initiator_id"])
    return {**record, "initiator_id": inst["initiator_id"], "initiator_username": who.username if who else None,
            "initiator_department_id": who.department_id if who else None,
            "initiator_roles": sorted(who.role_names) if who else []}


def evaluate(expr: Expression, names: Mapping[str, Any], rt: Runtime, where: str) -> Any:
    try:
        return expr.evaluate(names, now=rt.ctx.now.astimezone(rt.ctx.tz))
    except ExpressionError as exc:
        raise InvalidInput(f"{where} 的表达式出错：{exc.zh}", f"the expression at {where} failed: {exc.en}") from None


# ---------------------------------------------------------------- start

def running_instance(conn: Connection, form: str, record_id: int) -> dict[str, Any] | None:
    row = conn.execute(sa.select(I).where(I.c.form == form, I.c.record_id == record_id, I.c.status.in_(ACTIVE))
                       .order_by(I.c.id.desc()).limit(1)).mappings().first()
    return dict(row) if row is not None else None


def start(rt: Runtime, workflow: str, record_id: int, *, trigger: str = "submit") -> dict[str, Any]:
    """Start ``workflow`` on a record. The initiator is the acting user; they must be able to read it."""
    from mom.engines.records.service import get_record  # records -> workflow hooks -> records: import late

    spec, enabled = rt.flows.current(rt.conn, workflow)
    if not enabled:
        raise Conflict(f"流程 {workflow} 已停用，不能发起", f"workflow {workflow} is disabled; it cannot be started")
    get_record(conn=rt.conn, registry=rt.forms, ctx=rt.ctx, form=spec.form, record_id=record_id)
    busy = running_instance(rt.conn, spec.form, record_id)
    if busy is not None:
        raise Conflict(f"该记录已在审批中（流程实例 {busy['id']}）", f"the record is already under approval (instance {busy['id']})",
                       detail={"instance_id": busy["id"]})
    inst = {"workflow": spec.name, "version": spec.version, "form": spec.form, "record_id": record_id, "status": "running",
            "initiator_id": rt.ctx.actor.id, "started_at": rt.ctx.now, "ended_at": None, "state": _fresh_state(None),
            "row_version": 1}
    inst["id"] = int(rt.conn.execute(I.insert().returning(I.c.id), inst).scalar_one())
    with batched(rt):
        event(rt, inst, "start", data={"trigger": trigger, "version": spec.version})
        advance(rt, inst, spec, spec.first, [])
        save(rt, inst)
    return inst


# ---------------------------------------------------------------- walking the graph

def advance(rt: Runtime, inst: dict[str, Any], spec: WorkflowSpec, target: str, stack: list[list[Any]]) -> None:
    """Move a token from ``target`` on until it waits at an approval node, joins, or the flow ends."""
    while inst["status"] == "running":
        if target == END:
            finish(rt, inst, spec, "approved")
            return
        if target.startswith("join:"):
            _, pid, idx = target.split(":")
            arrived = set(inst["state"]["joins"].get(pid, [])) | {int(idx)}
            inst["state"]["joins"][pid] = sorted(arrived)
            if len(arrived) < len(spec.node(pid).branches):
                return
            inst["state"]["joins"].pop(pid, None)
            target, stack = spec.node(pid).next, stack[:-1]
            continue
        node = spec.node(target)
        if node.type == "approval":
            activate(rt, inst, spec, node, stack)
            return
        if node.type == "end":
            event(rt, inst, "end_node", node_id=node.id, actor_id=None)
            finish(rt, inst, spec, node.outcome)
            return
        compiled = rt.form(spec.form)
        record = record_values(rt, compiled, inst["record_id"])
        if node.type == "condition":
            names = expression_names(rt, inst, record)
            branch = next(b for b in node.branches
                          if b.when is None or evaluate(b.when, names, rt, f"{spec.name}/{node.id}"))
            event(rt, inst, "branch", node_id=node.id, data={"branch": branch.label}, actor_id=None)
            target = branch.first
        elif node.type == "parallel":
            inst["state"]["joins"][node.id] = []
            for i, b in enumerate(node.branches):
                advance(rt, inst, spec, b.first, stack + [[node.id, i]])
            return
        elif node.type == "cc":
            _cc(rt, inst, spec, node, record, compiled)
            target = node.next
        elif node.type == "action":
            from mom.engines.workflow.actions import run_actions
            run_actions(rt, node.actions, record=record, compiled=compiled, names=expression_names(rt, inst, record),
                        where=f"{spec.name}/{node.id}", instance=inst)
            event(rt, inst, "actions", node_id=node.id, actor_id=None)
            target = node.next


def _assignees(rt: Runtime, inst: Mapping[str, Any], node: NodeSpec, specs: Any, record: Mapping[str, Any] | None,
               compiled: CompiledForm | None) -> list[int]:
    """``record`` and ``compiled``: the record's values and form, or None to read them only if an
    assignee rule needs them."""
    kinds = {a.type for a in specs}
    who = rt.actor(inst["initiator_id"]) if "department_head" in kinds else None
    types: dict[str, str] = {}
    if "field" in kinds:
        compiled = compiled or rt.form(inst["form"])
        record = record if record is not None else record_values(rt, compiled, inst["record_id"])
        types = {f.key: f.type for f in compiled.definition.scalar_fields}
    return assign.resolve(rt.conn, specs, initiator_id=inst["initiator_id"],
                          initiator_department_id=who.department_id if who else None, record=record or {},
                          field_types=types)


def _cc(rt: Runtime, inst: dict[str, Any], spec: WorkflowSpec, node: NodeSpec, record: Mapping[str, Any],
        compiled: CompiledForm) -> None:
    users = _assignees(rt, inst, node, node.assignees, record, compiled)
    rnd = _next_round(inst, node.id)
    if users:
        rt.conn.execute(TK.insert(), [_task(inst, node, rnd, u, "cc", "cc", i, rt.ctx.now) for i, u in enumerate(users)])
        notify_users(rt, users, "cc", f"抄送：{spec.label['zh-CN']} #{inst['record_id']}", inst)
    event(rt, inst, "cc", node_id=node.id, data={"users": users}, actor_id=None)


def _next_round(inst: dict[str, Any], node_id: str) -> int:
    rnd = int(inst["state"]["rounds"].get(node_id, 0)) + 1
    inst["state"]["rounds"][node_id] = rnd
    return rnd


def _task(inst: Mapping[str, Any], node: NodeSpec, rnd: int, user: int | None, kind: str, status: str, seq: int,
          now: dt.datetime, **extra: Any) -> dict[str, Any]:
    return {"instance_id": inst["id"], "node_id": node.id, "round": rnd, "kind": kind, "assignee_id": user,
            "status": status, "seq": seq, "added": None, "parent_task_id": None, "created_at": now, "acted_at": None,
            "acted_by": None, "comment": None, "attachments": None, "due_at": None, "timeout_done": False, "read_at": None,
            **extra}


def copy_task(task: Mapping[str, Any]) -> dict[str, Any]:
    """A task's row without what belongs to its own answer: the start of a task added beside it."""
    return {k: v for k, v in task.items() if k not in ("id", "acted_at", "acted_by", "comment", "attachments", "read_at")}


def activate(rt: Runtime, inst: dict[str, Any], spec: WorkflowSpec, node: NodeSpec, stack: list[list[Any]]) -> None:
    """Create the node's tasks (a new round) and wait there, unless nobody needs to act."""
    users = _assignees(rt, inst, node, node.assignees, None, None)
    policy = node.self_approval or spec.self_approval
    initiator = inst["initiator_id"]
    auto: set[int] = set()
    if initiator in users and policy == "skip":
        users.remove(initiator)
    elif initiator in users and policy == "auto_pass":
        auto.add(initiator)
    if not users and node.on_empty == "admin":
        users = assign.admins(rt.conn)
    rnd = _next_round(inst, node.id)
    inst["state"]["tokens"].append({"node": node.id, "stack": stack})
    if not users:
        event(rt, inst, "auto_pass", node_id=node.id, comment="无审批人，自动通过 / no approver: passed automatically", actor_id=None)
        pass_node(rt, inst, spec, node, rnd)
        return
    rows = []
    for i, u in enumerate(users):
        status = "pending" if node.mode != "sequential" or i == 0 else "waiting"
        extra: dict[str, Any] = {}
        if u in auto:
            status = "approved"
            extra = {"acted_at": rt.ctx.now, "comment": "发起人本人，自动通过 / initiator: passed automatically"}
        rows.append(_task(inst, node, rnd, u, "approval", status, i + 1, rt.ctx.now, **extra))
    for row, (tid,) in zip(rows, rt.conn.execute(_ADD_TASKS, rows)):
        row["id"] = int(tid)
    event(rt, inst, "node_enter", node_id=node.id, data={"users": users, "round": rnd}, actor_id=None)
    refresh_node(rt, inst, spec, node, rnd, fresh=True, tasks=rows)   # the round's tasks are the rows just written


def node_tasks(conn: Connection, instance_id: int, node_id: str, rnd: int) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(_NODE_TASKS, {"iid": instance_id, "node": node_id, "rnd": rnd}).mappings()]


def _outcomes(tasks: list[dict[str, Any]]) -> tuple[dict[int, str], dict[int, list[dict[str, Any]]]]:
    """Each task's outcome counting the signers added to it (加签): approved only when they all approved.
    A task escalated on timeout (``added == "escalate"``) answers for the overdue task it was added
    to: whichever of the two answers first decides that one place on the node."""
    kids: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for t in tasks:
        if t["added"] is not None and t["parent_task_id"] is not None:
            kids[int(t["parent_task_id"])].append(t)
    memo: dict[int, str] = {}

    def outcome(t: dict[str, Any]) -> str:
        if t["id"] in memo:
            return memo[t["id"]]
        if t["status"] not in ("approved", "rejected"):
            answered = [o for o in (outcome(k) for k in kids[t["id"]] if k["added"] == "escalate") if o != "pending"]
            if answered:
                memo[t["id"]] = answered[0]
                return answered[0]
        sub = [outcome(k) for k in kids[t["id"]] if k["added"] != "escalate"]
        if t["status"] == "rejected" or "rejected" in sub:
            res = "rejected"
        elif t["status"] == "approved" and all(s == "approved" for s in sub):
            res = "approved"
        else:
            res = "pending"
        memo[t["id"]] = res
        return res

    return {t["id"]: outcome(t) for t in tasks}, kids


def decide(node: NodeSpec, base: list[str]) -> str:
    n, yes, no = len(base), base.count("approved"), base.count("rejected")
    if node.mode in ("sequential", "all"):
        return "rejected" if no else "approved" if yes == n else "pending"
    if node.mode == "any":
        return "approved" if yes else "rejected" if no else "pending"
    if yes / n >= node.pass_ratio - 1e-9:          # vote 票签
        return "approved"
    return "rejected" if (n - no) / n < node.pass_ratio - 1e-9 else "pending"


def refresh_node(rt: Runtime, inst: dict[str, Any], spec: WorkflowSpec, node: NodeSpec, rnd: int,
                 *, fresh: bool = False, tasks: list[dict[str, Any]] | None = None) -> None:
    """Wake tasks whose turn has come (sequential order, 加签 before/after), then decide the node."""
    if tasks is None:
        tasks = node_tasks(rt.conn, inst["id"], node.id, rnd)
    by_id = {t["id"]: t for t in tasks}
    woke: list[dict[str, Any]] = [t for t in tasks if fresh and t["status"] == "pending"]
    while True:
        outcome, kids = _outcomes(tasks)
        bases = [t for t in tasks if t["added"] is None]
        ready = []
        for t in tasks:
            if t["status"] != "waiting":
                continue
            if any(outcome[k["id"]] != "approved" for k in kids[t["id"]] if k["added"] == "before"):
                continue
            if t["added"] == "after" and by_id[int(t["parent_task_id"])]["status"] != "approved":
                continue
            if t["added"] is None and node.mode == "sequential" and any(
                    outcome[b["id"]] != "approved" for b in bases if b["seq"] < t["seq"]):
                continue
            ready.append(t)
        if not ready:
            break
        for t in ready:
            t["status"] = "pending"
            rt.conn.execute(TK.update().where(TK.c.id == t["id"]).values(status="pending"))
            woke.append(t)
    verdict = decide(node, [outcome[b["id"]] for b in bases])
    if verdict == "pending":
        for t in woke:
            _on_pending(rt, inst, spec, node, t)
    elif verdict == "approved":
        # an open delegate task always has its delegator's task "delegated", so this sees every open task
        pass_node(rt, inst, spec, node, rnd, anything_open=any(t["status"] in OPEN for t in tasks))
    else:
        event(rt, inst, "node_rejected", node_id=node.id, actor_id=None)
        finish(rt, inst, spec, "rejected")


def _on_pending(rt: Runtime, inst: Mapping[str, Any], spec: WorkflowSpec, node: NodeSpec, t: dict[str, Any],
                *, clock: bool = True) -> None:
    """A task became actionable: start its timeout clock (unless ``clock`` is off) and tell the assignee."""
    if node.timeout and clock:
        hours = float(node.timeout["hours"])
        due = (spec.calendar.add_working_hours(rt.ctx.now, hours, rt.ctx.tz) if node.timeout.get("working_time", True)
               else rt.ctx.now + dt.timedelta(hours=hours))
        rt.conn.execute(TK.update().where(TK.c.id == t["id"]).values(due_at=due, timeout_done=False))
    if t["assignee_id"] is not None:
        notify_users(rt, [t["assignee_id"]], "todo", f"待审批：{spec.label['zh-CN']} · {node.label['zh-CN']} #{inst['record_id']}", inst)


OPEN = ("pending", "waiting", "delegated")   # task states someone may still act on


def _cancel_open(rt: Runtime, inst: Mapping[str, Any], node_id: str | None = None, rnd: int | None = None) -> None:
    q = TK.update().where(TK.c.instance_id == inst["id"], TK.c.status.in_(OPEN))
    if node_id is not None:
        q = q.where(TK.c.node_id == node_id, TK.c.round == rnd)
    rt.conn.execute(q.values(status="cancelled", acted_at=rt.ctx.now))


def pass_node(rt: Runtime, inst: dict[str, Any], spec: WorkflowSpec, node: NodeSpec, rnd: int,
              *, anything_open: bool = True) -> None:
    if anything_open:
        _cancel_open(rt, inst, node.id, rnd)
    event(rt, inst, "node_passed", node_id=node.id, actor_id=None)
    tokens = inst["state"]["tokens"]
    token = next((tk for tk in tokens if tk["node"] == node.id), {"node": node.id, "stack": []})
    if token in tokens:
        tokens.remove(token)
    ret = inst["state"].get("return")
    if ret and ret.get("target") == node.id and ret.get("resume_at"):
        inst["state"]["return"] = None
        advance(rt, inst, spec, ret["resume_at"], ret.get("resume_stack") or [])
        return
    advance(rt, inst, spec, node.next, token["stack"])


def finish(rt: Runtime, inst: dict[str, Any], spec: WorkflowSpec, outcome: str) -> None:
    _cancel_open(rt, inst)
    inst["status"], inst["ended_at"] = outcome, rt.ctx.now
    inst["state"]["tokens"], inst["state"]["joins"] = [], {}
    event(rt, inst, "finished", data={"outcome": outcome}, actor_id=None)
    if inst["initiator_id"] is not None:
        word = {"approved": "已通过", "rejected": "被驳回", "withdrawn": "已撤回", "cancelled": "已取消"}.get(outcome, outcome)
        notify_users(rt, [inst["initiator_id"]], "finished", f"{spec.label['zh-CN']} #{inst['record_id']} {word}", inst)
    outbox.emit(rt.conn, "workflow.finished", {"workflow": spec.name, "version": spec.version, "instance_id": inst["id"],
                                               "form": spec.form, "record_id": inst["record_id"], "outcome": outcome,
                                               "initiator_id": inst["initiator_id"]}, now=rt.ctx.now)


def notify_users(rt: Runtime, users: list[int], kind: str, title: str, inst: Mapping[str, Any] | None = None,
                 body: str | None = None) -> None:
    """In-app notifications (inbox counts); other channels go through the outbox (see actions.notify)."""
    link = f"/workflow-instances/{inst['id']}" if inst else None
    rows = [{"user_id": u, "kind": kind, "title": title[:500], "body": body, "link": link, "created_at": rt.ctx.now}
            for u in dict.fromkeys(users)]
    if rt._notes is not None:
        rt._notes.extend(rows)
    elif rows:
        rt.conn.execute(_ADD_NOTE, rows)
