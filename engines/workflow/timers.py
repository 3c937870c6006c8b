"""Node timeouts: remind, escalate (the escalation target gets a task answering for the overdue one,
which stays open too), auto-approve or auto-reject, once a pending task's due time (counted on the
working calendar) has passed."""
from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.workflow import assign
from mom.engines.workflow.approval import on_pending, refresh_node
from mom.engines.workflow.runtime import (EV, TK, Runtime, copy_task, event, load_instance, notify_users, resolve_assignees,
                                          save)


def due_tasks(conn: Connection, now: dt.datetime, limit: int = 100) -> list[int]:
    q = (sa.select(TK.c.id).where(TK.c.status == "pending", TK.c.due_at <= now, TK.c.timeout_done.is_(False))
         .order_by(TK.c.due_at).limit(limit))
    return [int(r[0]) for r in conn.execute(q)]


def handle_timeout(rt: Runtime, task_id: int) -> str | None:
    """Apply the node's timeout action to one overdue task (idempotent: a handled task is marked)."""
    task = rt.conn.execute(sa.select(TK).where(TK.c.id == task_id)).mappings().first()
    if task is None:
        return None
    inst = load_instance(rt, int(task["instance_id"]))
    task = dict(rt.conn.execute(sa.select(TK).where(TK.c.id == task_id)).mappings().one())
    if task["status"] != "pending" or task["timeout_done"] or inst.status != "running":
        return None
    spec = rt.flows.get(rt.conn, inst.workflow, inst.version)
    node = spec.node(task["node_id"])
    action = (node.timeout or {}).get("action", "remind")
    rt.conn.execute(TK.update().where(TK.c.id == task_id).values(timeout_done=True))
    if action == "remind":
        notify_users(rt, [task["assignee_id"]], "reminder", f"催办：{spec.label['zh-CN']} · {node.label['zh-CN']} 已超时", inst)
        event(rt, inst, "timeout_remind", node_id=node.id, task_id=task_id, actor_id=None)
    elif action == "escalate":
        # 超时升级: the escalation target gets a task of their own on the same node, answering for this
        # one; the overdue assignee keeps theirs. Whoever answers first decides (see approval._outcomes).
        users = resolve_assignees(rt, inst, node.escalate_to, None, None)
        target = next((u for u in users if u != task["assignee_id"]), None) or (assign.admins(rt.conn) or [None])[0]
        new = None
        if target is not None:
            new = int(rt.conn.execute(TK.insert().returning(TK.c.id), {
                **copy_task(task), "assignee_id": target, "status": "pending", "added": "escalate", "parent_task_id": task_id,
                "created_at": rt.ctx.now, "due_at": None, "timeout_done": True}).scalar_one())
            on_pending(rt, inst, spec, node, {"id": new, "assignee_id": target}, clock=False)   # escalated once only
            names = assign.usernames(rt.conn, [target])
            notify_users(rt, [task["assignee_id"]], "reminder",
                         f"已超时并升级给 {names.get(target, target)}：{spec.label['zh-CN']} · {node.label['zh-CN']}（你仍可处理）", inst)
        event(rt, inst, "timeout_escalate", node_id=node.id, task_id=task_id, actor_id=None,
              data={"from": task["assignee_id"], "to": target, "task": new})
    else:
        verdict = "approved" if action == "auto_approve" else "rejected"
        rt.conn.execute(TK.update().where(TK.c.id == task_id).values(
            status=verdict, acted_at=rt.ctx.now, comment="超时自动处理 / decided automatically on timeout"))
        event(rt, inst, f"timeout_{action}", node_id=node.id, task_id=task_id, actor_id=None)
        refresh_node(rt, inst, spec, node, task["round"])
    save(rt, inst)
    return action


def mark_failed(conn: Connection, task_id: int, detail: str, *, now: dt.datetime) -> None:
    """A timeout that raised (``detail``): the task is marked handled so that the worker does not retry
    it every round, and the instance's timeline says why its timeout action did not happen."""
    row = conn.execute(sa.select(TK.c.instance_id, TK.c.node_id).where(TK.c.id == task_id, TK.c.timeout_done.is_(False))).first()
    if row is None:
        return
    conn.execute(TK.update().where(TK.c.id == task_id).values(timeout_done=True))
    conn.execute(EV.insert().values(instance_id=row[0], at=now, actor_id=None, action="timeout_failed", node_id=row[1],
                                    task_id=task_id, comment="超时处理失败 / the timeout action failed",
                                    data={"error": detail[:2000]}))


def overdue_summary(conn: Connection, now: dt.datetime) -> dict[str, Any]:
    n = conn.execute(sa.select(sa.func.count()).select_from(TK).where(
        TK.c.status == "pending", TK.c.due_at <= now, TK.c.timeout_done.is_(False))).scalar_one()
    return {"overdue": int(n)}
