"""催办: the initiator of a running request reminds the people it waits for.

Each current approver gets an in-app notification (and the outbox event ``workflow.reminded``, which a
plug-in's delivery or a connector may turn into a DingTalk / WeCom / e-mail message); the timeline
says who reminded whom. A task is reminded at most once per :data:`EVERY`: reminding again sooner
reminds only the tasks not reminded in that time (a new approver after a step), and when there is
none, the answer is 429 saying from when the initiator may remind again.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from mom.engines.workflow import assign, visibility
from mom.engines.workflow.runtime import EV, TK, Runtime, batched, event, load_instance, notify_users
from mom.engines.workflow.views import iso
from mom.platform import outbox
from mom.platform.errors import AccessDenied, Conflict, TooManyAttempts

EVERY = dt.timedelta(hours=1)


def _clock(at: dt.datetime, now: dt.datetime, tz: dt.tzinfo) -> str:
    """A time as the plant reads it: 14:05, or 12-03 09:10 on another day."""
    local, today = at.astimezone(tz), now.astimezone(tz).date()
    return local.strftime("%H:%M") if local.date() == today else local.strftime("%m-%d %H:%M")


def remind(rt: Runtime, instance_id: int) -> dict[str, Any]:
    """Remind the current approvers of instance ``instance_id`` (its initiator only). Answers
    ``{instance_id, reminded: [{task_id, user_id, user}], next_at}``."""
    inst = load_instance(rt, instance_id)          # locked: two reminders at once take turns
    actor = rt.ctx.actor
    if actor.id is None or actor.id != inst.initiator_id:
        if not visibility.may_see(rt, inst):
            raise visibility.no_instance(inst.id)
        raise AccessDenied("无权限催办：只有发起人可以催办这条审批", "only the initiator may send a reminder for this request")
    if inst.status != "running":
        word = {"approved": "已通过", "rejected": "已驳回", "withdrawn": "已撤回", "cancelled": "已取消",
                "returned": "已退回给你，请修改后重新提交"}.get(inst.status, "已结束")
        raise Conflict(f"这条审批{word}，不需要催办", f"this request is {inst.status}: there is nobody to remind",
                       detail={"status": inst.status})
    now = rt.ctx.now
    open_tasks = rt.conn.execute(sa.select(TK.c.id, TK.c.assignee_id, TK.c.node_id).where(
        TK.c.instance_id == inst.id, TK.c.status == "pending", TK.c.kind.in_(("approval", "delegate")),
        TK.c.assignee_id.is_not(None)).order_by(TK.c.id)).all()
    if not open_tasks:
        raise Conflict("这条审批现在没有待处理的审批人，不需要催办", "this request waits for nobody right now: there is nobody to remind")
    last: dict[int, dt.datetime] = {}
    for at, data in rt.conn.execute(sa.select(EV.c.at, EV.c.data).where(
            EV.c.instance_id == inst.id, EV.c.action == "remind", EV.c.at > now - EVERY)):
        for tid in (data or {}).get("tasks", []) if isinstance(data, dict) else []:
            last[int(tid)] = max(at, last.get(int(tid), at))
    due = [t for t in open_tasks if t.id not in last]
    if not due:
        until = min(last[t.id] for t in open_tasks) + EVERY
        wait = max(1, int((until - now).total_seconds() + 0.999))
        raise TooManyAttempts(f"已于 {_clock(until - EVERY, now, rt.ctx.tz)} 催办过；每位审批人一小时内只能催办一次，"
                              f"请在 {_clock(until, now, rt.ctx.tz)} 之后再催办",
                              f"you reminded them less than an hour ago; remind again after {_clock(until, now, rt.ctx.tz)}",
                              retry_after=wait, detail={"until": iso(until)})
    spec = rt.flows.get(rt.conn, inst.workflow, inst.version)
    users = list(dict.fromkeys(int(t.assignee_id) for t in due))
    names = assign.usernames(rt.conn, [*users, actor.id])
    nodes = {t.node_id for t in due}
    where = "、".join(spec.node(n).label["zh-CN"] for n in sorted(nodes) if n in spec.nodes)
    with batched(rt):
        notify_users(rt, users, "reminder",
                     f"催办：{names.get(actor.id, actor.username)} 请你尽快审批「{spec.label['zh-CN']}」{where and ' · ' + where} #{inst.record_id}",
                     inst)
        event(rt, inst, "remind", node_id=next(iter(nodes)) if len(nodes) == 1 else None,
              data={"users": users, "tasks": [int(t.id) for t in due]})
    outbox.emit(rt.conn, "workflow.reminded", {"workflow": spec.name, "instance_id": inst.id, "form": inst.form,
                                               "record_id": inst.record_id, "by": actor.id, "users": users,
                                               "tasks": [int(t.id) for t in due]}, now=now)
    return {"instance_id": inst.id, "next_at": iso(now + EVERY),
            "reminded": [{"task_id": int(t.id), "user_id": int(t.assignee_id), "user": names.get(int(t.assignee_id))} for t in due]}
