"""Each user's inbox: to do, done, copied to me, started by me — with counts, newest first."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.workflow import assign
from mom.engines.workflow.instance import BadState, InstanceState
from mom.engines.workflow.runtime import TK, I
from mom.engines.workflow.store import WorkflowRegistry
from mom.engines.workflow.views import error_view, iso, task_view
from mom.platform.errors import InvalidInput

BOXES = ("todo", "done", "cc", "started")
DONE_STATUSES = ("approved", "rejected", "returned")


def _where(box: str, user_id: int) -> Any:
    if box == "todo":
        return sa.and_(TK.c.assignee_id == user_id, TK.c.status == "pending", TK.c.kind.in_(("approval", "delegate")))
    if box == "done":
        return sa.and_(TK.c.acted_by == user_id, TK.c.status.in_(DONE_STATUSES))
    return sa.and_(TK.c.assignee_id == user_id, TK.c.kind == "cc")


def counts(conn: Connection, user_id: int) -> dict[str, int]:
    out = {b: int(conn.execute(sa.select(sa.func.count()).select_from(TK).where(_where(b, user_id))).scalar_one())
           for b in ("todo", "done", "cc")}
    out["cc_unread"] = int(conn.execute(sa.select(sa.func.count()).select_from(TK).where(
        _where("cc", user_id), TK.c.read_at.is_(None))).scalar_one())
    out["started"] = int(conn.execute(sa.select(sa.func.count()).select_from(I).where(I.c.initiator_id == user_id)).scalar_one())
    out["started_running"] = int(conn.execute(sa.select(sa.func.count()).select_from(I).where(
        I.c.initiator_id == user_id, I.c.status.in_(("running", "returned")))).scalar_one())
    return out


def listing(conn: Connection, flows: WorkflowRegistry, user_id: int, box: str = "todo", *, limit: int = 50,
            offset: int = 0, workflow: str | None = None) -> dict[str, Any]:
    if box not in BOXES:
        raise InvalidInput(f"box 只能是 {', '.join(BOXES)}", f"box must be one of {', '.join(BOXES)}")
    limit = max(1, min(int(limit), 500))
    if box == "started":
        q = sa.select(I).where(I.c.initiator_id == user_id)
        if workflow:
            q = q.where(I.c.workflow == workflow)
        rows = conn.execute(q.order_by(I.c.id.desc()).limit(limit).offset(offset)).mappings().all()
        items = [{"instance": _inst(conn, flows, r)} for r in rows]
    else:
        q = sa.select(TK, I.c.workflow, I.c.version, I.c.form, I.c.record_id, I.c.status.label("instance_status"),
                      I.c.initiator_id, I.c.started_at).join(I, I.c.id == TK.c.instance_id).where(_where(box, user_id))
        if workflow:
            q = q.where(I.c.workflow == workflow)
        order = TK.c.acted_at.desc() if box == "done" else TK.c.id.desc()
        rows = conn.execute(q.order_by(order, TK.c.id.desc()).limit(limit).offset(offset)).mappings().all()
        names = assign.usernames(conn, [r["assignee_id"] for r in rows] + [r["initiator_id"] for r in rows])
        items = []
        for r in rows:
            spec = flows.get(conn, r["workflow"], r["version"])
            node = spec.nodes.get(r["node_id"])
            items.append({**task_view(r, names), "workflow": r["workflow"], "workflow_label": spec.label,
                          "node_label": node.label if node else None, "form": r["form"], "record_id": r["record_id"],
                          "instance_status": r["instance_status"], "initiator": names.get(r["initiator_id"]),
                          "started_at": iso(r["started_at"])})
    return {"box": box, "items": items, "counts": counts(conn, user_id)}


def _inst(conn: Connection, flows: WorkflowRegistry, r: Any) -> dict[str, Any]:
    spec = flows.get(conn, r["workflow"], r["version"])
    try:
        tokens, error = InstanceState.from_json(r["state"], int(r["id"])).tokens, None
    except BadState as exc:
        tokens, error = [], error_view(exc)
    out = {"id": r["id"], "workflow": r["workflow"], "label": spec.label, "version": r["version"], "form": r["form"],
           "record_id": r["record_id"], "status": r["status"], "started_at": iso(r["started_at"]),
           "ended_at": iso(r["ended_at"]),
           "current_nodes": [{"id": t.node, "label": spec.node(t.node).label} for t in tokens if t.node in spec.nodes]}
    return out if error is None else {**out, "error": error}   # flagged: the box shows the other instances
