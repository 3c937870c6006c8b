"""The approval node's round: its tasks are created (activate), their outcomes counted with the
signers added to them (加签) and escalations, the node decided by its mode (或签 any, 会签 all,
sequential, 票签 vote), and the tasks whose turn has come woken with their timeout clock.

Used by the approval kind (``nodes.ApprovalNode``), by what people do with tasks (``tasks``) and by
the timers; the walk of the graph itself is ``runtime.advance``.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.workflow import assign, proxy
from mom.engines.workflow.instance import Stack, Token, WorkflowInstance
from mom.engines.workflow.runtime import (OPEN, TK, Runtime, event, finish, notify_users, pass_node, resolve_assignees,
                                          task_row)
from mom.engines.workflow.spec import NodeSpec, WorkflowSpec

_NODE_TASKS = sa.select(TK).where(TK.c.instance_id == sa.bindparam("iid"), TK.c.node_id == sa.bindparam("node"),
                                  TK.c.round == sa.bindparam("rnd"), TK.c.kind == "approval").order_by(TK.c.seq, TK.c.id)
_ADD_TASKS = TK.insert().returning(TK.c.id, sort_by_parameter_order=True)


def approvers(rt: Runtime, inst: WorkflowInstance, node: NodeSpec) -> list[tuple[int, int]]:
    """The node's approvers in order with their vote weight: its assignee rules, the users the initiator
    chose (发起人自选) in place of a ``chosen`` entry; a user named twice keeps the first entry's weight."""
    weighted = node.mode == "vote" and any(a.weight != 1 for a in node.assignees)
    if not weighted and all(a.type != "chosen" for a in node.assignees):
        return [(u, 1) for u in resolve_assignees(rt, inst, node.assignees, None, None)]
    out: dict[int, int] = {}
    for a in node.assignees:
        ids = inst.chosen.get(node.id, []) if a.type == "chosen" else resolve_assignees(rt, inst, (a,), None, None)
        for u in ids:
            out.setdefault(u, a.weight)
    return list(out.items())


def _approved_before(rt: Runtime, inst: WorkflowInstance, node: NodeSpec, users: list[int]) -> set[int]:
    """审批人去重: those of ``users`` who approved another node of this instance before."""
    q = sa.select(TK.c.assignee_id).where(TK.c.instance_id == inst.id, TK.c.kind == "approval", TK.c.status == "approved",
                                          TK.c.node_id != node.id, TK.c.assignee_id.in_(users)).distinct()
    return {int(r[0]) for r in rt.conn.execute(q)}


def activate(rt: Runtime, inst: WorkflowInstance, spec: WorkflowSpec, node: NodeSpec, stack: Stack) -> None:
    """Create the node's tasks (a new round) and wait there, unless nobody needs to act. A user who
    approved earlier in the flow passes at once when the flow dedupes (审批人去重); a user with a proxy
    in force gets the task done by the proxy (代理人, ``on_behalf_of``)."""
    people = approvers(rt, inst, node)
    users = [u for u, _ in people]
    weights = dict(people)
    policy = node.self_approval or spec.self_approval
    initiator = inst.initiator_id
    auto: set[int] = set()
    if initiator in users and policy == "skip":
        users.remove(initiator)
    elif initiator in users and policy == "auto_pass":
        auto.add(initiator)
    if not people:     # a department-head rule found nobody: say why, to the initiator and the administrator
        _say_why_empty(rt, inst, node)
    if not users and node.on_empty == "admin":
        users = assign.admins(rt.conn)
    rnd = inst.state.next_round(node.id)
    inst.state.tokens.append(Token(node=node.id, stack=stack))
    if not users:
        event(rt, inst, "auto_pass", node_id=node.id, comment="无审批人，自动通过 / no approver: passed automatically", actor_id=None)
        pass_node(rt, inst, spec, node, rnd)
        return
    repeated = _approved_before(rt, inst, node, [u for u in users if u not in auto]) if spec.dedupe else set()
    proxies = proxy.active_proxies(rt.conn, [u for u in users if u not in auto and u not in repeated], rt.ctx.now)
    # a proxy who submitted the request does not approve it: the task stays with the approver
    proxies = {u: p for u, p in proxies.items() if p != initiator}
    rows = []
    for i, u in enumerate(users):
        status = "pending" if node.mode != "sequential" or i == 0 else "waiting"
        extra: dict[str, Any] = {"weight": weights.get(u, 1) if weights.get(u, 1) != 1 else None}
        if u in auto:
            status = "approved"
            extra.update(acted_at=rt.ctx.now, comment="发起人本人，自动通过 / initiator: passed automatically")
        elif u in repeated:
            status = "approved"
            extra.update(acted_at=rt.ctx.now, comment="已在前面的节点审批过，自动通过 / approved earlier in this flow: passed automatically")
        assignee = u
        if u in proxies:
            assignee, extra["on_behalf_of"] = proxies[u], u
        rows.append(task_row(inst, node, rnd, assignee, "approval", status, i + 1, rt.ctx.now, **extra))
    for row, (tid,) in zip(rows, rt.conn.execute(_ADD_TASKS, rows)):
        row["id"] = int(tid)
    event(rt, inst, "node_enter", node_id=node.id, data={"users": users, "round": rnd,
                                                         **({"proxies": {str(k): v for k, v in proxies.items()}} if proxies else {})},
          actor_id=None)
    if repeated:
        event(rt, inst, "dedupe_pass", node_id=node.id, data={"users": sorted(repeated)}, actor_id=None)
    refresh_node(rt, inst, spec, node, rnd, fresh=True, tasks=rows)   # the round's tasks are the rows just written


def _say_why_empty(rt: Runtime, inst: WorkflowInstance, node: NodeSpec) -> None:
    who = rt.actor(inst.initiator_id)
    why = assign.empty_reason(rt.conn, node.assignees, initiator_department_id=who.department_id if who else None)
    if why is not None:
        event(rt, inst, "no_approver", node_id=node.id, comment=why[0], data={"reason": {"zh-CN": why[0], "en": why[1]}},
              actor_id=None)


def node_tasks(conn: Connection, instance_id: int, node_id: str, rnd: int) -> list[dict[str, Any]]:
    """The approval tasks of a node's round, in their order."""
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


def decide(node: NodeSpec, base: list[str], weights: list[int] | None = None) -> str:
    """The node's verdict from its base tasks' outcomes: approved, rejected or pending (by its mode).
    A vote (票签) counts each task's weight (``weights``, default 1 each): it passes once the approvals
    weigh ``pass_weight`` (or ``pass_ratio`` of the total) and is rejected once that is out of reach."""
    n, yes, no = len(base), base.count("approved"), base.count("rejected")
    if node.mode == "vote" and (node.pass_weight is not None or (weights and any(w != 1 for w in weights))):
        w = weights or [1] * n
        total = sum(w)
        yes_w = sum(x for o, x in zip(base, w) if o == "approved")
        no_w = sum(x for o, x in zip(base, w) if o == "rejected")
        need = node.pass_weight if node.pass_weight is not None else node.pass_ratio * total
        if yes_w >= need - 1e-9:
            return "approved"
        return "rejected" if total - no_w < need - 1e-9 else "pending"
    if node.mode in ("sequential", "all"):
        return "rejected" if no else "approved" if yes == n else "pending"
    if node.mode == "any":
        return "approved" if yes else "rejected" if no else "pending"
    if yes / n >= node.pass_ratio - 1e-9:          # vote 票签
        return "approved"
    return "rejected" if (n - no) / n < node.pass_ratio - 1e-9 else "pending"


def refresh_node(rt: Runtime, inst: WorkflowInstance, spec: WorkflowSpec, node: NodeSpec, rnd: int,
                 *, fresh: bool = False, tasks: list[dict[str, Any]] | None = None) -> None:
    """Wake tasks whose turn has come (sequential order, 加签 before/after), then decide the node."""
    if tasks is None:
        tasks = node_tasks(rt.conn, inst.id, node.id, rnd)
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
    verdict = decide(node, [outcome[b["id"]] for b in bases], [int(b.get("weight") or 1) for b in bases])
    if verdict == "pending":
        for t in woke:
            on_pending(rt, inst, spec, node, t)
    elif verdict == "approved":
        # an open delegate task always has its delegator's task "delegated", so this sees every open task
        pass_node(rt, inst, spec, node, rnd, anything_open=any(t["status"] in OPEN for t in tasks))
    else:
        event(rt, inst, "node_rejected", node_id=node.id, actor_id=None)
        finish(rt, inst, spec, "rejected")


def on_pending(rt: Runtime, inst: WorkflowInstance, spec: WorkflowSpec, node: NodeSpec, t: dict[str, Any],
                *, clock: bool = True) -> None:
    """A task became actionable: start its timeout clock (unless ``clock`` is off) and tell the assignee."""
    if node.timeout and clock:
        hours = float(node.timeout["hours"])
        due = (spec.calendar.add_working_hours(rt.ctx.now, hours, rt.ctx.tz) if node.timeout.get("working_time", True)
               else rt.ctx.now + dt.timedelta(hours=hours))
        rt.conn.execute(TK.update().where(TK.c.id == t["id"]).values(due_at=due, timeout_done=False))
    if t["assignee_id"] is not None:
        notify_users(rt, [t["assignee_id"]], "todo", f"待审批：{spec.label['zh-CN']} · {node.label['zh-CN']} #{inst.record_id}", inst)
