"""What a task allows its assignee, for the approve/reject/return dialog: where it may be returned
to, which decisions need a comment, whether a handwritten signature is needed, the fields the node
lets the approver edit, and whom the assignee acts for (代 X 审批)."""
from __future__ import annotations

from typing import Any

from mom.engines.workflow import assign, visibility
from mom.engines.workflow.runtime import Runtime, load_instance
from mom.engines.workflow.tasks import _load_task, _no_task, return_options
from mom.platform.errors import AccessDenied


def task_options(rt: Runtime, task_id: int) -> dict[str, Any]:
    task = _load_task(rt, task_id)
    inst = load_instance(rt, int(task["instance_id"]), lock=False)
    if task["assignee_id"] != rt.ctx.actor.id:
        if not visibility.may_see(rt, inst):
            raise _no_task(task_id)
        raise AccessDenied("无权限：这不是你的待办", "this task is not yours")
    spec = rt.flows.get(rt.conn, inst.workflow, inst.version)
    node = spec.nodes.get(task["node_id"])
    approval = node is not None and node.type == "approval" and task["kind"] == "approval"
    behalf = task.get("on_behalf_of")
    return {"task_id": int(task["id"]), "node_id": task["node_id"], "node": node.label if node else None,
            "return_targets": return_options(rt, inst, spec, node.id) if approval else [],
            "return_to_any": bool(node and node.return_to_any),
            "comment_required": sorted(node.comment_required) if node else [],
            "signature": node.signature if node else None,
            "editable_fields": sorted(node.editable_fields) if node else [],
            "on_behalf_of": assign.usernames(rt.conn, [behalf]).get(behalf) if behalf else None}
