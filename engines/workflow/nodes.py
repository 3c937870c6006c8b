"""Workflow node kinds: one ``NodeHandler`` per kind (approval, cc, action, condition, parallel, end).

A handler says how a node of its kind is checked and compiled when a flow is published
(:meth:`NodeHandler.compile`, fields of its own into the frozen ``NodeSpec``) and what the runtime
does when a token reaches it (:meth:`NodeHandler.enter`) or when one of its branches is done
(:meth:`NodeHandler.branch_done`, the join of a parallel block). The runtime knows no kind by name:
it asks the node's handler. Handlers are registered through the ``mom_workflow_node_kinds`` hook;
the built-ins below use it too (this module is in ``mom.platform.plugins.CORE_PLUGINS``).

A new kind is a handler class (and its ``properties``, the JSON Schema of its own fields, when it
has fields the shipped schema does not know) plus its widget in the designer::

    class StampNode(NodeHandler):
        kind = "stamp"
        properties = {"field": {"type": "string"}}

        def compile(self, c, raw, path, nxt, parallels):
            return {"extra": {"field": raw.get("field")}}

        def enter(self, rt, inst, spec, node, stack):
            ...                                     # do the work in rt.conn
            return node.next, stack                 # go on (None: the token stops here)

    @hookimpl
    def mom_workflow_node_kinds():
        return [StampNode()]
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mom.engines.forms.model import text_of
from mom.engines.workflow import approval
from mom.engines.workflow import runtime as R
from mom.engines.workflow.actions import run_actions
from mom.engines.workflow.instance import Stack, WorkflowInstance
from mom.engines.workflow.spec import END, Branch, NodeCompiler, NodeSpec, WorkflowSpec, compile_actions, compile_assignees
from mom.platform.errors import did_you_mean
from mom.platform.hookspecs import hookimpl

#: Where a token goes next: a target (node id, ``join:<parallel>:<i>`` or ``end``) and its branch stack.
Step = tuple[str, Stack]


class NodeHandler:
    """How the engine treats one kind of node. Subclass it, set ``kind`` and override what differs."""

    #: The node's ``type`` in a definition.
    kind: str = ""
    #: Tokens stop here until people act (tasks, inbox, a possible target of a return 退回).
    waits: bool = False
    #: JSON Schema of the kind's own node fields that the shipped schema (workflow-1.json) does not list.
    properties: Mapping[str, Any] = {}

    def compile(self, c: NodeCompiler, raw: Mapping[str, Any], path: str, nxt: str,
                parallels: tuple[tuple[str, int], ...]) -> dict[str, Any]:
        """Check the node's own fields (problems go to ``c.problems`` with their JSON pointer) and return
        the ``NodeSpec`` fields they become (``next`` too, to change where the node leads)."""
        return {}

    def enter(self, rt: R.Runtime, inst: WorkflowInstance, spec: WorkflowSpec, node: NodeSpec, stack: Stack) -> Step | None:
        """A token reached the node: act, then return where it goes on, or None when it stops here
        (it waits, or the flow ended)."""
        raise NotImplementedError

    def branch_done(self, rt: R.Runtime, inst: WorkflowInstance, spec: WorkflowSpec, node: NodeSpec, index: int,
                    stack: Stack) -> Step | None:
        """Branch ``index`` of this node reached its end (target ``join:<node>:<index>``)."""
        return node.next, stack[:-1]


class ApprovalNode(NodeHandler):
    """People decide (或签 any, 会签 all, sequential, 票签 vote); see approval.activate/refresh_node."""
    kind, waits = "approval", True

    def compile(self, c: NodeCompiler, raw: Mapping[str, Any], path: str, nxt: str,
                parallels: tuple[tuple[str, int], ...]) -> dict[str, Any]:
        problems, form = c.problems, c.form
        if not raw.get("assignees"):
            problems.add(f"{path}/assignees", "审批节点需要 assignees（审批人）", "an approval node needs assignees", "required")
        mode = raw.get("mode", "sequential")
        if mode == "vote" and "pass_ratio" not in raw and "pass_weight" not in raw:
            problems.add(f"{path}/pass_ratio", "票签需要 pass_ratio（通过比例，如 0.6）或 pass_weight（通过所需票数）",
                         "a vote node needs pass_ratio (e.g. 0.6) or pass_weight (the weight that passes)", "required")
        if mode != "vote" and "pass_weight" in raw:
            problems.add(f"{path}/pass_weight", "只有票签节点有通过票数", "only a vote node has a pass weight", "invalid")
        if sum(1 for a in raw.get("assignees") or [] if a.get("type") == "chosen") > 1:
            problems.add(f"{path}/assignees", "一个节点只能有一项“发起人自选”", "a node can have one chosen-by-the-initiator entry only", "duplicate")
        timeout = raw.get("timeout")
        if timeout and timeout.get("action") == "escalate" and not timeout.get("escalate_to"):
            problems.add(f"{path}/timeout/escalate_to", "超时升级需要 escalate_to", "escalation needs escalate_to", "required")
        if form is not None:
            keys = {x.key for x in form.definition.fields}
            for j, k in enumerate(raw.get("editable_fields", [])):
                if k not in keys:
                    problems.add(f"{path}/editable_fields/{j}", f"表单没有字段 {k}{did_you_mean(k, keys)}",
                                 f"the form has no field {k}{did_you_mean(k, keys)}", "unknown_field")
        return dict(assignees=compile_assignees(raw.get("assignees"), f"{path}/assignees", form, problems, chosen=True), mode=mode,
                    pass_ratio=float(raw.get("pass_ratio", 1.0)), editable_fields=frozenset(raw.get("editable_fields", ())),
                    on_empty=raw.get("on_empty", "auto_pass"), self_approval=raw.get("self_approval"), timeout=timeout,
                    escalate_to=compile_assignees((timeout or {}).get("escalate_to"), f"{path}/timeout/escalate_to", form,
                                                  problems),
                    comment_required=frozenset(raw.get("comment_required", ())), return_to_any=bool(raw.get("return_to_any")),
                    signature=raw.get("signature"),
                    pass_weight=float(raw["pass_weight"]) if raw.get("pass_weight") is not None else None)

    def enter(self, rt: R.Runtime, inst: WorkflowInstance, spec: WorkflowSpec, node: NodeSpec, stack: Stack) -> Step | None:
        approval.activate(rt, inst, spec, node, stack)
        return None


class CcNode(NodeHandler):
    """抄送: copy people (a cc task each, an in-app notice) and go on."""
    kind = "cc"

    def compile(self, c: NodeCompiler, raw: Mapping[str, Any], path: str, nxt: str,
                parallels: tuple[tuple[str, int], ...]) -> dict[str, Any]:
        if not raw.get("assignees"):
            c.problems.add(f"{path}/assignees", "抄送节点需要 assignees（抄送人）", "a cc node needs assignees", "required")
        return dict(assignees=compile_assignees(raw.get("assignees"), f"{path}/assignees", c.form, c.problems))

    def enter(self, rt: R.Runtime, inst: WorkflowInstance, spec: WorkflowSpec, node: NodeSpec, stack: Stack) -> Step | None:
        compiled = rt.form(spec.form)
        record = R.record_values(rt, compiled, inst.record_id)
        users = R.resolve_assignees(rt, inst, node.assignees, record, compiled)
        rnd = inst.state.next_round(node.id)
        if users:
            rt.conn.execute(R.TK.insert(), [R.task_row(inst, node, rnd, u, "cc", "cc", i, rt.ctx.now)
                                            for i, u in enumerate(users)])
            R.notify_users(rt, users, "cc", f"抄送：{spec.label['zh-CN']} #{inst.record_id}", inst)
        R.event(rt, inst, "cc", node_id=node.id, data={"users": users}, actor_id=None)
        return node.next, stack


class ActionNode(NodeHandler):
    """Automatic actions (set fields, create records, webhooks …) in the flow's transaction."""
    kind = "action"

    def compile(self, c: NodeCompiler, raw: Mapping[str, Any], path: str, nxt: str,
                parallels: tuple[tuple[str, int], ...]) -> dict[str, Any]:
        if not raw.get("actions"):
            c.problems.add(f"{path}/actions", "自动动作节点需要 actions", "an action node needs actions", "required")
        return dict(actions=compile_actions(raw.get("actions"), f"{path}/actions", c.names, c.form, c.problems,
                                            plugins=c.plugins))

    def enter(self, rt: R.Runtime, inst: WorkflowInstance, spec: WorkflowSpec, node: NodeSpec, stack: Stack) -> Step | None:
        compiled = rt.form(spec.form)
        record = R.record_values(rt, compiled, inst.record_id)
        run_actions(rt, node.actions, record=record, compiled=compiled, names=R.expression_names(rt, inst, record),
                    where=f"{spec.name}/{node.id}", instance=inst)
        R.event(rt, inst, "actions", node_id=node.id, actor_id=None)
        return node.next, stack


class ConditionNode(NodeHandler):
    """条件分支: the first branch whose ``when`` holds is taken (``else`` or none: go on after it)."""
    kind = "condition"

    def compile(self, c: NodeCompiler, raw: Mapping[str, Any], path: str, nxt: str,
                parallels: tuple[tuple[str, int], ...]) -> dict[str, Any]:
        return dict(branches=c.conditions(raw.get("branches") or [], path, nxt, parallels))

    def enter(self, rt: R.Runtime, inst: WorkflowInstance, spec: WorkflowSpec, node: NodeSpec, stack: Stack) -> Step | None:
        record = R.record_values(rt, rt.form(spec.form), inst.record_id)
        names = R.expression_names(rt, inst, record)
        branch = next(b for b in node.branches if b.when is None or R.evaluate(b.when, names, rt, f"{spec.name}/{node.id}"))
        R.event(rt, inst, "branch", node_id=node.id, data={"branch": branch.label}, actor_id=None)
        return branch.first, stack


class ParallelNode(NodeHandler):
    """并行: every branch runs; the flow goes on when all reached the join."""
    kind = "parallel"

    def compile(self, c: NodeCompiler, raw: Mapping[str, Any], path: str, nxt: str,
                parallels: tuple[tuple[str, int], ...]) -> dict[str, Any]:
        nid, branches = raw.get("id"), raw.get("branches") or []
        if len(branches) < 2:
            c.problems.add(f"{path}/branches", "并行节点至少需要两个分支", "a parallel node needs at least two branches", "required")
        return dict(branches=tuple(
            Branch(when=None, label=text_of(b.get("label"), f"branch {i + 1}"),
                   first=c.walk(b.get("nodes") or [], f"{path}/branches/{i}/nodes", f"join:{nid}:{i}", parallels + ((nid, i),)))
            for i, b in enumerate(branches)))

    def enter(self, rt: R.Runtime, inst: WorkflowInstance, spec: WorkflowSpec, node: NodeSpec, stack: Stack) -> Step | None:
        inst.state.joins[node.id] = []
        for i, b in enumerate(node.branches):
            R.advance(rt, inst, spec, b.first, stack + [[node.id, i]])
        return None

    def branch_done(self, rt: R.Runtime, inst: WorkflowInstance, spec: WorkflowSpec, node: NodeSpec, index: int,
                    stack: Stack) -> Step | None:
        arrived = set(inst.state.joins.get(node.id, [])) | {index}
        inst.state.joins[node.id] = sorted(arrived)
        if len(arrived) < len(node.branches):
            return None
        inst.state.joins.pop(node.id, None)
        return node.next, stack[:-1]


class EndNode(NodeHandler):
    """结束: the flow ends here with its ``outcome`` (approved by default)."""
    kind = "end"

    def compile(self, c: NodeCompiler, raw: Mapping[str, Any], path: str, nxt: str,
                parallels: tuple[tuple[str, int], ...]) -> dict[str, Any]:
        return dict(outcome=raw.get("outcome", "approved"), next=END)

    def enter(self, rt: R.Runtime, inst: WorkflowInstance, spec: WorkflowSpec, node: NodeSpec, stack: Stack) -> Step | None:
        R.event(rt, inst, "end_node", node_id=node.id, actor_id=None)
        R.finish(rt, inst, spec, node.outcome)
        return None


@hookimpl
def mom_workflow_node_kinds() -> Iterable[NodeHandler]:
    """The core's node kinds."""
    return [ApprovalNode(), CcNode(), ActionNode(), ConditionNode(), ParallelNode(), EndNode()]
