"""Flows started by flows: sub-processes (子流程) and revocations (撤销).

A ``subprocess`` node starts a flow on a record of another form (created from ``values``, expressions
over the parent record, or an existing one named by ``record_id``) as the parent's initiator and
waits for it: a task of kind ``subprocess`` (no assignee) holds the parent's place until the child
ends. Approved, the parent goes on; rejected (withdrawn, cancelled), the parent is rejected unless the
node says ``on_reject: continue``.

An approved request whose flow names a ``revoke_flow`` can be revoked by its initiator (or an
administrator): the revoke flow runs on the same record; when it is approved, the original instance
becomes ``revoked`` (timeline line, notification, a ``workflow.revoked`` event for rules).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from mom.engines.expressions.sandbox import Expression
from mom.engines.definitions.expressions import expression_at
from mom.engines.records import service as S
from mom.engines.records.context import Ctx
from mom.engines.workflow import runtime as R
from mom.engines.workflow import visibility
from mom.engines.workflow.instance import Stack, Token, WorkflowInstance
from mom.engines.workflow.nodes import NodeHandler, Step
from mom.engines.workflow.spec import NodeCompiler, NodeSpec, WorkflowSpec
from mom.platform import outbox
from mom.platform.errors import AccessDenied, Conflict, InvalidInput
from mom.platform.hookspecs import hookimpl


class SubprocessNode(NodeHandler):
    """子流程: start a flow on a record of another form and wait until it ends."""
    kind = "subprocess"

    def flow_ended(self, rt: R.Runtime, child: WorkflowInstance, outcome: str) -> None:
        """``runtime.finish`` asks every node kind with this method when a started flow ends."""
        ended(rt, child, outcome)

    def compile(self, c: NodeCompiler, raw: Mapping[str, Any], path: str, nxt: str,
                parallels: tuple[tuple[str, int], ...]) -> dict[str, Any]:
        if not raw.get("workflow"):
            c.problems.add(f"{path}/workflow", "子流程节点需要选择要发起的流程", "a sub-process node needs the flow it starts", "required")
        if not raw.get("values") and not raw.get("record_id"):
            c.problems.add(f"{path}/values", "子流程需要 values（新建记录的字段）或 record_id（已有记录）",
                           "a sub-process needs values (of the record it creates) or record_id (an existing record)", "required")
        values: dict[str, Expression] = {}
        for k, src in (raw.get("values") or {}).items():
            e = expression_at(src, c.names, f"{path}/values/{k}", c.problems)
            if e is not None:
                values[k] = e
        return {"extra": {"workflow": raw.get("workflow"), "values": values, "on_reject": raw.get("on_reject", "reject"),
                          "record_id": expression_at(raw.get("record_id"), c.names, f"{path}/record_id", c.problems)}}

    def enter(self, rt: R.Runtime, inst: WorkflowInstance, spec: WorkflowSpec, node: NodeSpec, stack: Stack) -> Step | None:
        x = node.extra
        child_spec, enabled = rt.flows.current(rt.conn, x["workflow"])
        where = f"{spec.name}/{node.id}"
        who = rt.actor(inst.initiator_id)
        if who is None:
            raise Conflict(f"{where}：发起人已停用，不能发起子流程", f"{where}: the initiator is disabled; the sub-process cannot start")
        ctx = Ctx(actor=who, now=rt.ctx.now, tz=rt.ctx.tz)
        sub = R.Runtime(conn=rt.conn, ctx=ctx, forms=rt.forms, flows=rt.flows)
        names = R.expression_names(rt, inst, R.record_values(rt, rt.form(spec.form), inst.record_id))
        if x["values"]:
            values = {k: R.evaluate(e, names, rt, f"{where}/values/{k}") for k, e in x["values"].items()}
            rid = int(S.create_records(conn=rt.conn, registry=rt.forms, ctx=ctx, form=child_spec.form, docs=[values])[0]["id"])
        else:
            got = R.evaluate(x["record_id"], names, rt, f"{where}/record_id")
            if got is None:
                raise InvalidInput(f"{where}：子流程的记录编号为空", f"{where}: the sub-process's record id is empty")
            rid = int(got)
        rnd = inst.state.next_round(node.id)
        tid = int(rt.conn.execute(R.TK.insert().returning(R.TK.c.id),
                                  R.task_row(inst, node, rnd, None, "subprocess", "waiting", 1, rt.ctx.now)).scalar_one())
        child = R.start(sub, x["workflow"], rid, trigger="subprocess")
        R.event(rt, inst, "subprocess", node_id=node.id, task_id=tid, actor_id=None,
                data={"instance_id": child.id, "workflow": child.workflow, "form": child.form, "record_id": rid})
        if child.active:       # wait for it: its end (ended below) moves this flow on
            rt.conn.execute(R.I.update().where(R.I.c.id == child.id).values(parent_task_id=tid))
            inst.state.tokens.append(Token(node=node.id, stack=stack))
            return None
        verdict = _close(rt, tid, child.status)   # it ended at once (nobody had to act)
        if verdict == "approved" or x["on_reject"] == "continue":
            return node.next, stack
        R.event(rt, inst, "node_rejected", node_id=node.id, actor_id=None)
        R.finish(rt, inst, spec, "rejected")
        return None


def _close(rt: R.Runtime, task_id: int, outcome: str) -> str:
    verdict = "approved" if outcome == "approved" else "rejected"
    rt.conn.execute(R.TK.update().where(R.TK.c.id == task_id).values(status=verdict, acted_at=rt.ctx.now))
    return verdict


def ended(rt: R.Runtime, child: WorkflowInstance, outcome: str) -> None:
    """A flow started by a flow ended (called by ``runtime.finish``): its parent goes on, or the
    instance it revokes becomes ``revoked``."""
    if child.parent_task_id is not None:
        task = rt.conn.execute(sa.select(R.TK).where(R.TK.c.id == child.parent_task_id)).mappings().first()
        if task is None or task["status"] != "waiting":
            return
        parent = R.load_instance(rt, int(task["instance_id"]))
        if parent.status != "running":
            return
        spec = rt.flows.get(rt.conn, parent.workflow, parent.version)
        node = spec.node(task["node_id"])
        verdict = _close(rt, int(task["id"]), outcome)
        R.event(rt, parent, "subprocess_done", node_id=node.id, task_id=int(task["id"]), actor_id=None,
                data={"instance_id": child.id, "outcome": outcome})
        if verdict == "approved" or node.extra.get("on_reject") == "continue":
            R.pass_node(rt, parent, spec, node, int(task["round"]), anything_open=False)
        else:
            R.event(rt, parent, "node_rejected", node_id=node.id, actor_id=None)
            R.finish(rt, parent, spec, "rejected")
        R.save(rt, parent)
    if child.revokes_id is not None and outcome == "approved":
        orig = R.load_instance(rt, child.revokes_id)
        if orig.status != "approved":
            return
        spec = rt.flows.get(rt.conn, orig.workflow, orig.version)
        orig.status = "revoked"
        R.event(rt, orig, "revoked", actor_id=None, data={"instance_id": child.id})
        R.save(rt, orig)
        if orig.initiator_id is not None:
            R.notify_users(rt, [orig.initiator_id], "finished", f"{spec.label['zh-CN']} #{orig.record_id} 已撤销", orig)
        outbox.emit(rt.conn, "workflow.revoked", {"workflow": orig.workflow, "instance_id": orig.id, "form": orig.form,
                                                  "record_id": orig.record_id, "revoked_by_instance": child.id}, now=rt.ctx.now)


def revoke(rt: R.Runtime, instance_id: int, comment: Any = None, approvers: Any = None) -> WorkflowInstance:
    """撤销: the initiator (or an administrator) asks to revoke an approved request; its flow's
    ``revoke_flow`` starts on the same record. Returns the revoke flow's instance."""
    inst = R.load_instance(rt, instance_id)
    me = rt.ctx.actor
    if me.id != inst.initiator_id and not me.is_admin:
        if not visibility.may_see(rt, inst):
            raise visibility.no_instance(instance_id)
        raise AccessDenied("无权限：只有发起人或管理员可以申请撤销", "only the initiator or an administrator can ask to revoke")
    if inst.status != "approved":
        raise Conflict("只有已通过的申请可以撤销；审批中的请用“撤回”", "only an approved request can be revoked; withdraw a running one")
    current, _ = rt.flows.current(rt.conn, inst.workflow)
    flow = current.revoke_flow or rt.flows.get(rt.conn, inst.workflow, inst.version).revoke_flow
    if not flow:
        raise Conflict("这个流程不支持撤销（流程设计中未设置撤销流程）", "this flow cannot be revoked (it names no revoke flow)")
    target, _ = rt.flows.current(rt.conn, flow)
    if target.form != inst.form:
        raise Conflict("撤销流程绑定的表单与原申请不同，请联系管理员修改流程设计", "the revoke flow is bound to another form; ask an administrator")
    if comment is not None and (not isinstance(comment, str) or len(comment) > 2000):
        raise InvalidInput("撤销理由应为不超过 2000 字的文本", "the reason must be text of at most 2000 characters")
    new = R.start(rt, flow, inst.record_id, trigger="revoke", revokes_id=inst.id, approvers=approvers)
    R.event(rt, inst, "revoke_requested", comment=comment, data={"instance_id": new.id})
    return new


@hookimpl
def mom_workflow_node_kinds() -> list[NodeHandler]:
    """子流程 (a plug-in of its own, so the runtime and the core node kinds need not import it)."""
    return [SubprocessNode()]
