"""What people do with tasks and instances: approve, reject, return, transfer (转办), delegate (委派),
add a signer before/after (加签), comment, mark read; withdraw (撤回) and resubmit by the initiator.

Every action locks the instance first and then re-reads the task, so two approvers acting at the
same moment are serialised: the second sees the node already decided and gets a clear 409.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from mom.engines.records import service as S
from mom.engines.workflow import assign, visibility
from mom.engines.workflow.approval import on_pending, refresh_node
from mom.engines.workflow.instance import ReturnPoint, WorkflowInstance
from mom.engines.workflow.runtime import (I, TK, EV, OPEN, Runtime, advance, batched, cancel_open, copy_task, event, finish,
                                          flush, load_instance, notify_users, save)
from mom.engines.workflow.spec import END, WorkflowSpec
from mom.engines.workflow.signature import take_signature
from mom.engines.workflow.views import instance_view, task_view
from mom.platform import file_access, files as store
from mom.platform.errors import AccessDenied, Conflict, InvalidInput, NotFound, Problem

TASK_ACTIONS = ("approve", "reject", "return", "transfer", "delegate", "add_signer", "comment", "read")


_TASK = sa.select(TK).where(TK.c.id == sa.bindparam("tid"))
# PostgreSQL: lock the task's instance (and the task) in one statement; a writer that had to wait
# for the lock reads the rows as the other action left them
_LOCK_BY_TASK = (sa.select(I).where(I.c.id == sa.select(TK.c.instance_id).where(TK.c.id == sa.bindparam("tid"))
                                    .scalar_subquery()).with_for_update())



def _no_task(task_id: int) -> NotFound:
    return NotFound(f"待办 {task_id} 不存在", f"task {task_id} does not exist")


def _load_task(rt: Runtime, task_id: int) -> dict[str, Any]:
    row = rt.conn.execute(_TASK, {"tid": task_id}).mappings().first()
    if row is None:
        raise _no_task(task_id)
    return dict(row)


def _lock(rt: Runtime, task_id: int) -> tuple[dict[str, Any], WorkflowInstance]:
    """The task and its instance, the instance locked so that actions on one instance take turns."""
    if rt.conn.dialect.name == "postgresql":
        row = rt.conn.execute(_LOCK_BY_TASK, {"tid": task_id}).mappings().first()
        if row is None:
            raise _no_task(task_id)
        return _load_task(rt, task_id), WorkflowInstance.from_row(row)
    # SQLite: a write transaction begins IMMEDIATE, so this one already holds the only write lock
    task = _load_task(rt, task_id)
    return task, load_instance(rt, int(task["instance_id"]))


def _user_arg(rt: Runtime, body: Mapping[str, Any], key: str = "to") -> int:
    name = body.get(key)
    if name in (None, ""):
        raise InvalidInput(f"请指定 {key}（用户名）", f"{key} (a username) is required",
                           problems=[Problem(f"/{key}", "必填：目标用户的用户名", "required: the target user's username", "required")])
    uid = assign.user_id(rt.conn, name)
    if uid is None:
        raise InvalidInput(f"用户 {name} 不存在或已停用", f"user {name} does not exist or is disabled",
                           problems=[Problem(f"/{key}", f"用户 {name} 不存在或已停用", f"user {name} does not exist or is disabled", "unknown_user")])
    return uid


def take_attachments(rt: Runtime, body: Mapping[str, Any], inst: WorkflowInstance) -> list[str] | None:
    """The files of a comment or decision (public ids from the upload), tied to the instance so that
    whoever may see its timeline may read them. Only files the actor uploaded or may read are taken."""
    ids = body.get("attachments")
    if ids in (None, []):
        return None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids) or len(ids) > 50:
        raise InvalidInput("attachments 应为上传文件时返回的 id 列表", "attachments must be a list of the ids the upload returned",
                           problems=[Problem("/attachments", "应为文本 id 列表（最多 50 个）", "expected a list of text ids (at most 50)", "type")])
    rows = store.rows_by_token(rt.conn, ids)
    bad = [i for i in ids if i not in rows or not file_access.may_use(rt.conn, rt.forms, rt.ctx.actor, rows[i])]
    if bad:
        shown = ", ".join(str(i)[:64] for i in bad[:5])
        raise InvalidInput(f"附件 {shown} 不存在或不可用；只能附上你自己上传的文件或你有权查看的文件，请先上传",
                           f"attachment(s) {shown} do not exist or cannot be used; attach files you uploaded or may read, upload them first",
                           problems=[Problem("/attachments", f"附件 {shown} 不存在或不可用", f"unknown or unusable attachment(s) {shown}",
                                             "unknown" if any(i not in rows for i in bad) else "not_yours")])
    store.add_links(rt.conn, [rows[i].id for i in ids], kind="workflow", ref_id=int(inst.id))
    return list(dict.fromkeys(ids))


def act(rt: Runtime, task_id: int, action: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """Do ``action`` on a task of the acting user; returns the task and instance afterwards."""
    if action not in TASK_ACTIONS:
        raise NotFound(f"未知操作 {action}；可用：{', '.join(TASK_ACTIONS)}", f"unknown action {action}; use one of {', '.join(TASK_ACTIONS)}")
    task, inst = _lock(rt, task_id)
    if task["assignee_id"] != rt.ctx.actor.id:
        if not visibility.may_see(rt, inst):   # as for a task that does not exist: the id reveals nothing
            raise _no_task(task_id)
        raise AccessDenied("这不是你的待办，不能处理", "this task is not yours")
    spec = rt.flows.get(rt.conn, inst.workflow, inst.version)
    comment = body.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise InvalidInput("comment 应为文本", "comment must be text", problems=[Problem("/comment", "应为文本", "expected text", "type")])
    files = take_attachments(rt, body, inst)
    with batched(rt):
        return _act(rt, task, inst, spec, action, body, comment, files)



# what a task or its flow has become, in the words of the refusal (zh, en)
_TASK_STATUS = {"waiting": ("还未轮到", "not yet due"), "approved": ("已同意", "approved"), "rejected": ("已拒绝", "rejected"),
                "returned": ("已退回", "returned"), "transferred": ("已转交他人", "transferred"),
                "delegated": ("已委派他人", "delegated"), "cancelled": ("已取消", "cancelled"), "cc": ("只是抄送", "a copy")}
_FLOW_STATUS = {"returned": ("所在流程已退回发起人", "returned with its flow"),
                "approved": ("所在流程已通过", "closed: its flow was approved"),
                "rejected": ("所在流程已被拒绝", "closed: its flow was rejected"),
                "withdrawn": ("所在流程已被撤回", "closed: its flow was withdrawn"),
                "cancelled": ("所在流程已取消", "closed: its flow was cancelled")}

def _act(rt: Runtime, task: dict[str, Any], inst: WorkflowInstance, spec: WorkflowSpec, action: str, body: Mapping[str, Any],
         comment: str | None, files: list[str] | None) -> dict[str, Any]:
    task_id = int(task["id"])
    if action == "read":
        rt.conn.execute(TK.update().where(TK.c.id == task_id, TK.c.read_at.is_(None)).values(read_at=rt.ctx.now))
        return result(rt, task_id, inst)
    if action == "comment":
        event(rt, inst, "comment", node_id=task["node_id"], task_id=task_id, comment=comment, data={"attachments": files})
        return result(rt, task_id, inst)
    if task["status"] != "pending" or inst.status != "running":
        zh, en = _TASK_STATUS.get(task["status"], ("已失效", task["status"])) if inst.status == "running" else \
            _FLOW_STATUS.get(inst.status, ("已结束", inst.status))
        raise Conflict(f"该待办{zh}，无需再处理；请刷新待办列表", f"this task is {en}: nothing to do; refresh the inbox",
                       detail={"status": task["status"], "instance_status": inst.status})
    node = spec.node(task["node_id"])
    stamp = {"acted_at": rt.ctx.now, "acted_by": rt.ctx.actor.id, "comment": comment, "attachments": files}
    if task["kind"] == "delegate":           # 委派: the delegate answers, the task goes back to the delegator
        if action not in ("approve", "reject"):
            raise Conflict("委派的待办只能回复（approve/reject）", "a delegated task can only be answered (approve or reject)")
        rt.conn.execute(TK.update().where(TK.c.id == task_id).values(status="approved" if action == "approve" else "rejected", **stamp))
        rt.conn.execute(TK.update().where(TK.c.id == task["parent_task_id"]).values(status="pending"))
        event(rt, inst, "delegate_done", node_id=node.id, task_id=task_id, comment=comment, data={"answer": action, "attachments": files})
        save(rt, inst)
        return result(rt, task_id, inst)
    _require_comment(node, action, comment)
    if action in ("approve", "reject"):
        signature = take_signature(rt, node, body, inst)
        if action == "approve" and body.get("values"):
            _edit_record(rt, inst, node.editable_fields, body["values"])
        status = "approved" if action == "approve" else "rejected"
        rt.conn.execute(_DECIDE, {"tid": task_id, "new_status": status, **{f"new_{k}": v for k, v in stamp.items()}})
        if signature is not None:
            rt.conn.execute(TK.update().where(TK.c.id == task_id).values(signature=signature))
        task.update(status=status, signature=signature, **stamp)     # the response shows it as written; no re-read
        if node.timeout and node.timeout.get("action") == "escalate":
            _close_escalation_pair(rt, task)
        data = {k: v for k, v in (("attachments", files), ("signature", signature), ("on_behalf_of", task.get("on_behalf_of"))) if v}
        event(rt, inst, action, node_id=node.id, task_id=task_id, comment=comment, data=data or None)
        refresh_node(rt, inst, spec, node, task["round"])
        save(rt, inst)
        return result(rt, task_id, inst, task)
    elif action == "transfer":              # 转办: someone else takes the task over for good
        to = _user_arg(rt, body)
        rt.conn.execute(TK.update().where(TK.c.id == task_id).values(assignee_id=to, due_at=None, timeout_done=False))
        event(rt, inst, "transfer", node_id=node.id, task_id=task_id, comment=comment, data={"from": rt.ctx.actor.id, "to": to})
        on_pending(rt, inst, spec, node, {**task, "assignee_id": to})
    elif action == "delegate":
        to = _user_arg(rt, body)
        rt.conn.execute(TK.update().where(TK.c.id == task_id).values(status="delegated"))
        new = int(rt.conn.execute(TK.insert().returning(TK.c.id), {**copy_task(task), "kind": "delegate", "assignee_id": to,
                                  "status": "pending", "parent_task_id": task_id, "created_at": rt.ctx.now}).scalar_one())
        event(rt, inst, "delegate", node_id=node.id, task_id=task_id, comment=comment, data={"to": to, "task": new})
        on_pending(rt, inst, spec, node, {"id": new, "assignee_id": to})
    elif action == "add_signer":
        _add_signer(rt, inst, spec, task, body, comment)
    elif action == "return":
        _return(rt, inst, spec, task, body, comment, stamp)
    save(rt, inst)
    return result(rt, task_id, inst)


def _require_comment(node: Any, action: str, comment: str | None) -> None:
    """A node may require a comment when rejecting, returning (or approving)."""
    if action in node.comment_required and not (comment or "").strip():
        word = {"approve": "同意", "reject": "驳回", "return": "退回"}[action]
        raise InvalidInput(f"「{node.label['zh-CN']}」{word}时必须填写审批意见，请写明原因后再提交",
                           f"{node.label.get('en') or node.id}: a comment is required to {action}",
                           problems=[Problem("/comment", f"{word}时必须填写意见", f"a comment is required to {action}", "required")])


def _close_escalation_pair(rt: Runtime, task: Mapping[str, Any]) -> None:
    """An overdue task and the one escalated from it are one place on the node: when either is
    answered, the other (and a delegate's task of it) is closed."""
    if task["added"] == "escalate":
        other = sa.or_(TK.c.id == task["parent_task_id"],
                       sa.and_(TK.c.parent_task_id == task["parent_task_id"], TK.c.kind == "delegate"))
    else:
        other = sa.and_(TK.c.parent_task_id == task["id"], TK.c.added == "escalate")
    rt.conn.execute(TK.update().where(other, TK.c.status.in_(OPEN)).values(status="cancelled", acted_at=rt.ctx.now))


_DECIDE = TK.update().where(TK.c.id == sa.bindparam("tid")).values(
    status=sa.bindparam("new_status"), acted_at=sa.bindparam("new_acted_at", type_=TK.c.acted_at.type),
    acted_by=sa.bindparam("new_acted_by"), comment=sa.bindparam("new_comment"),
    attachments=sa.bindparam("new_attachments", type_=TK.c.attachments.type))


def _add_signer(rt: Runtime, inst: WorkflowInstance, spec: WorkflowSpec, task: Mapping[str, Any], body: Mapping[str, Any],
                comment: str | None) -> None:
    position = body.get("position", "before")
    if position not in ("before", "after"):
        raise InvalidInput("position 只能是 before（前加签）或 after（后加签）", "position must be before or after",
                           problems=[Problem("/position", "只能是 before 或 after", "must be before or after", "enum")])
    to = _user_arg(rt, body)
    if to == rt.ctx.actor.id:
        raise InvalidInput("不能给自己加签", "you cannot add yourself as a signer",
                           problems=[Problem("/to", "不能是自己", "cannot be yourself", "invalid")])
    status = "pending" if position == "before" else "waiting"
    new = int(rt.conn.execute(TK.insert().returning(TK.c.id), {**copy_task(task), "assignee_id": to, "status": status,
                              "added": position, "parent_task_id": task["id"], "created_at": rt.ctx.now,
                              "due_at": None}).scalar_one())
    if position == "before":    # 前加签: the added signer goes first; this task waits for them
        rt.conn.execute(TK.update().where(TK.c.id == task["id"]).values(status="waiting"))
        on_pending(rt, inst, spec, spec.node(task["node_id"]), {"id": new, "assignee_id": to})
    event(rt, inst, "add_signer", node_id=task["node_id"], task_id=task["id"], comment=comment,
          data={"to": to, "position": position, "task": new})


def _visited(rt: Runtime, inst: WorkflowInstance) -> list[str]:
    """Approval nodes this instance passed, most recent last."""
    flush(rt)
    rows = rt.conn.execute(sa.select(EV.c.node_id).where(EV.c.instance_id == inst.id, EV.c.action == "node_passed")
                           .order_by(EV.c.id)).all()
    out: list[str] = []
    for (nid,) in rows:
        if nid in out:
            out.remove(nid)
        out.append(nid)
    return out


def _return(rt: Runtime, inst: WorkflowInstance, spec: WorkflowSpec, task: Mapping[str, Any], body: Mapping[str, Any],
            comment: str | None, stamp: Mapping[str, Any]) -> None:
    """退回: to the initiator, the previous node or any visited node; ``resume`` = restart | back."""
    target = body.get("target", "initiator")
    resume = body.get("resume", "restart")
    if resume not in ("restart", "back"):
        raise InvalidInput("resume 只能是 restart（从退回节点往下重走）或 back（直接回到退回发起的节点）",
                           "resume must be restart (go on from the target) or back (come straight back to this node)",
                           problems=[Problem("/resume", "只能是 restart 或 back", "must be restart or back", "enum")])
    here = spec.node(task["node_id"])
    visited = [n for n in _visited(rt, inst) if spec.nodes.get(n) is not None and spec.node(n).type == "approval"]
    if target == "previous":
        before = [n for n in visited if n != here.id]
        target = before[-1] if before else "initiator"
    allowed = return_targets(spec, here, visited)
    if target != "initiator" and target not in allowed:
        what_zh, what_en = ("流程中的审批节点", "an approval node of the flow") if here.return_to_any else ("已经过的审批节点", "a visited approval node")
        raise InvalidInput(f"只能退回到发起人或{what_zh}：{', '.join(['initiator', 'previous', *allowed])}",
                           f"you can return to the initiator or {what_en}: {', '.join(['initiator', 'previous', *allowed])}",
                           problems=[Problem("/target", f"不是{what_zh}", f"not {what_en}", "invalid")])
    rt.conn.execute(TK.update().where(TK.c.id == task["id"]).values(status="returned", **stamp))
    event(rt, inst, "return", node_id=here.id, task_id=task["id"], comment=comment, data={"target": target, "resume": resume})
    if target == "initiator":      # the whole request goes back: every open task closes
        cancel_open(rt, inst)
        inst.state.clear()
        inst.status = "returned"
        inst.state.return_to = ReturnPoint(target="initiator", resume_at=_block_of(spec, here, []) if resume == "back" else None)
        notify_users(rt, [inst.initiator_id], "returned", f"{spec.label['zh-CN']} #{inst.record_id} 被退回，请修改后重新提交", inst)
        return
    start_at, shared = _restart_point(spec, here, spec.node(target))
    _withdraw_tokens(rt, inst, spec, shared)
    inst.state.return_to = (ReturnPoint(target=target, resume_at=_block_of(spec, here, shared),
                                        resume_stack=[list(p) for p in shared]) if resume == "back" else None)
    advance(rt, inst, spec, start_at, [list(p) for p in shared])


def return_targets(spec: WorkflowSpec, here: Any, visited: list[str]) -> list[str]:
    """Approval nodes a task of ``here`` may return to: the visited ones, or every approval node of the
    flow (in flow order) when the node allows returning anywhere (``return_to_any``)."""
    if here.return_to_any:
        return [n.id for n in spec.nodes.values() if n.type == "approval"]
    return visited


def return_options(rt: Runtime, inst: WorkflowInstance, spec: WorkflowSpec, node_id: str) -> list[dict[str, Any]]:
    """Where a task of ``node_id`` may be returned to, with labels (the initiator first)."""
    here = spec.node(node_id)
    visited = [n for n in _visited(rt, inst) if spec.nodes.get(n) is not None and spec.node(n).type == "approval"]
    return [{"target": "initiator", "label": {"zh-CN": "发起人", "en": "initiator"}}] + [
        {"target": n, "label": spec.node(n).label} for n in return_targets(spec, here, visited)]


def _restart_point(spec: WorkflowSpec, here: Any, target: Any) -> tuple[str, list[tuple[str, int]]]:
    """Where a return to ``target`` starts again, and the parallel branch both nodes share.

    Within one parallel branch (or when neither is in one) the flow restarts at the target itself,
    and sibling branches keep their progress: a branch that already reached the join stays there.
    A target in another branch than the returning node restarts the innermost parallel block that
    holds both (so that the branches meet at the join again)."""
    tp, hp = list(target.parallels), list(here.parallels)
    k = 0
    while k < len(tp) and k < len(hp) and tp[k] == hp[k]:
        k += 1
    shared = tp[:k]
    return (target.id if k == len(tp) else tp[k][0]), shared


def _block_of(spec: WorkflowSpec, here: Any, shared: list[tuple[str, int]]) -> str:
    """Where "resume: back" comes back to: the returning node, or the outermost parallel block that holds
    it inside the shared branch (a block is entered at its start, so all its branches run)."""
    return here.parallels[len(shared)][0] if len(here.parallels) > len(shared) else here.id


def _withdraw_tokens(rt: Runtime, inst: WorkflowInstance, spec: WorkflowSpec, shared: list[tuple[str, int]]) -> None:
    """Take back the tokens inside the shared branch (their open tasks close, their joins reset);
    tokens in sibling branches, and what those branches have reached, are kept."""
    if not shared:
        cancel_open(rt, inst)
        inst.state.clear()
        return
    prefix = [list(p) for p in shared]
    state = inst.state
    keep = []
    for tk in state.tokens:
        if [list(p) for p in tk.stack[:len(prefix)]] == prefix:
            cancel_open(rt, inst, tk.node, int(state.rounds.get(tk.node, 0)))
        else:
            keep.append(tk)
    state.tokens = keep
    for pid in list(state.joins):
        if [list(p) for p in spec.node(pid).parallels[:len(prefix)]] == prefix:   # a block inside the branch
            state.joins.pop(pid)


def _edit_record(rt: Runtime, inst: WorkflowInstance, editable: frozenset[str], values: Any) -> None:
    if not isinstance(values, Mapping):
        raise InvalidInput("values 应为对象", "values must be an object", problems=[Problem("/values", "应为对象", "expected an object", "type")])
    bad = sorted(set(values) - editable)
    if bad:
        raise AccessDenied(f"本节点不能修改字段 {', '.join(bad)}（可改：{', '.join(sorted(editable)) or '无'}）",
                           f"this node may not change {', '.join(bad)} (editable: {', '.join(sorted(editable)) or 'none'})")
    S.update_record(conn=rt.conn, registry=rt.forms, ctx=rt.ctx, form=inst.form, record_id=inst.record_id, patch=dict(values))


# ---------------------------------------------------------------- initiator actions

def withdraw(rt: Runtime, instance_id: int, comment: str | None = None) -> dict[str, Any]:
    """撤回: the initiator takes the request back while nobody has acted on it yet."""
    inst = load_instance(rt, instance_id)
    if inst.initiator_id != rt.ctx.actor.id:
        if not visibility.may_see(rt, inst):
            raise visibility.no_instance(instance_id)
        raise AccessDenied("只有发起人可以撤回", "only the initiator can withdraw")
    if inst.status not in ("running", "returned"):
        raise Conflict(f"流程已结束（{inst.status}），不能撤回", f"the flow has ended ({inst.status}); nothing to withdraw")
    acted = rt.conn.execute(sa.select(sa.func.count()).select_from(TK).where(
        TK.c.instance_id == instance_id, TK.c.acted_by.is_not(None))).scalar_one()
    if acted and inst.status == "running":
        raise Conflict("已有审批人处理过，不能撤回", "an approver has already acted; the request can no longer be withdrawn")
    spec = rt.flows.get(rt.conn, inst.workflow, inst.version)
    event(rt, inst, "withdraw", comment=comment)
    finish(rt, inst, spec, "withdrawn")
    save(rt, inst)
    return instance_view(rt, inst)


def resubmit(rt: Runtime, instance_id: int, comment: str | None = None) -> dict[str, Any]:
    """After a return to the initiator: go on from the first node (restart) or the returning node (back)."""
    inst = load_instance(rt, instance_id)
    if inst.initiator_id != rt.ctx.actor.id:
        if not visibility.may_see(rt, inst):
            raise visibility.no_instance(instance_id)
        raise AccessDenied("只有发起人可以重新提交", "only the initiator can resubmit")
    if inst.status != "returned":
        raise Conflict("流程不在退回状态，无需重新提交", "the flow was not returned; nothing to resubmit")
    spec = rt.flows.get(rt.conn, inst.workflow, inst.version)
    ret = inst.state.return_to
    inst.status, inst.state.return_to = "running", None
    event(rt, inst, "resubmit", comment=comment)
    advance(rt, inst, spec, (ret.resume_at if ret else None) or spec.first or END, [])
    save(rt, inst)
    return instance_view(rt, inst)


def cancel(rt: Runtime, instance_id: int, comment: str | None = None) -> dict[str, Any]:
    """An administrator stops a flow (e.g. the request is obsolete)."""
    if not rt.ctx.actor.is_admin:
        raise AccessDenied("只有管理员可以终止流程", "only an administrator can cancel a flow")
    inst = load_instance(rt, instance_id)
    if inst.status not in ("running", "returned"):
        raise Conflict(f"流程已结束（{inst.status}）", f"the flow has ended ({inst.status})")
    spec = rt.flows.get(rt.conn, inst.workflow, inst.version)
    event(rt, inst, "cancel", comment=comment)
    finish(rt, inst, spec, "cancelled")
    save(rt, inst)
    return instance_view(rt, inst)


def result(rt: Runtime, task_id: int, inst: WorkflowInstance, task: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The task (``task``: as the caller just wrote it; else read) and its instance after an action."""
    t = task if task is not None else _load_task(rt, task_id)
    me = rt.ctx.actor
    names = ({me.id: me.display_name} if t["assignee_id"] == me.id and me.display_name is not None
             else assign.usernames(rt.conn, [t["assignee_id"]]))
    return {"task": task_view(t, names), "instance": instance_view(rt, inst)}
