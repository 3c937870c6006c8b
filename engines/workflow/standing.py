"""A record's standing for the person looking at it: what they may do with it now (save, delete,
submit, resubmit) and its approval request, with who returned it and why when it went back to its
initiator (退回). The record page shows its buttons and its banner from this; the server still checks
every action on its own.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.records.access import record_row
from mom.engines.workflow import assign
from mom.engines.workflow.runtime import EV, TK, I, Runtime, running_instance
from mom.engines.workflow.store import WorkflowRegistry
from mom.engines.workflow.views import iso
from mom.platform.errors import AccessDenied, NotFound


def _may(rt: Runtime, form: str, record_id: int, action: str) -> bool:
    try:
        record_row(rt.conn, rt.form(form), rt.ctx.actor, record_id, action)
    except (AccessDenied, NotFound):
        return False
    return True


def last_returns(conn: Connection, instance_ids: list[int]) -> dict[int, Mapping[str, Any]]:
    """The latest return to the initiator (退回) of each instance: its timeline line."""
    out: dict[int, Mapping[str, Any]] = {}
    if instance_ids:
        q = sa.select(EV).where(EV.c.instance_id.in_(instance_ids), EV.c.action == "return").order_by(EV.c.id)
        for r in conn.execute(q).mappings():
            if (r["data"] or {}).get("target", "initiator") == "initiator":
                out[int(r["instance_id"])] = r
    return out


def return_views(conn: Connection, flows: WorkflowRegistry, insts: list[Mapping[str, Any]]) -> dict[int, dict[str, Any]]:
    """For each returned instance (its ``wf_instance`` row): who sent it back (``by``), from which step
    (``node_label``), when (``at``) and why (``reason``)."""
    lines = last_returns(conn, [int(r["id"]) for r in insts])
    names = assign.usernames(conn, [ln["actor_id"] for ln in lines.values()])
    out = {}
    for r in insts:
        line = lines.get(int(r["id"]))
        if line is None:
            continue
        node = flows.get(conn, r["workflow"], r["version"]).nodes.get(line["node_id"]) if line["node_id"] else None
        out[int(r["id"])] = {"by": names.get(line["actor_id"]), "reason": line["comment"], "at": iso(line["at"]),
                             "node_label": node.label if node else None}
    return out


def _my_node_fields(rt: Runtime, inst: Mapping[str, Any]) -> list[str]:
    """The fields the caller's pending approval tasks on the request let them change."""
    mine = rt.conn.execute(sa.select(TK.c.node_id).where(
        TK.c.instance_id == inst["id"], TK.c.assignee_id == rt.ctx.actor.id, TK.c.status == "pending",
        TK.c.kind == "approval")).scalars().all()
    spec = rt.flows.get(rt.conn, inst["workflow"], inst["version"])
    return sorted({f for nid in mine if nid in spec.nodes for f in spec.node(nid).editable_fields})


def _approved(rt: Runtime, form: str, record_id: int, row: Mapping[str, Any]) -> dict[str, Any] | None:
    """The request that approved the record, when it is its latest and the record has not changed since
    (a changed record may be submitted again; an approved one unchanged needs no second request)."""
    last = rt.conn.execute(sa.select(I).where(I.c.form == form, I.c.record_id == record_id, I.c.parent_task_id.is_(None))
                           .order_by(I.c.id.desc()).limit(1)).mappings().first()
    if last is None or last["status"] != "approved" or last["ended_at"] is None:
        return None
    changed = row.get("updated_at")
    if changed is not None and _utc(changed) > _utc(last["ended_at"]):
        return None
    spec = rt.flows.get(rt.conn, last["workflow"], last["version"])
    return {"id": int(last["id"]), "workflow": last["workflow"], "label": spec.label, "at": iso(last["ended_at"])}


def _utc(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.timezone.utc)


def standing(rt: Runtime, form: str, record_id: int) -> dict[str, Any]:
    """What the caller may do with the record now. The caller must be able to read it (403/404 else).

    ``can_update`` / ``editable_fields``: 保存 is offered (``editable_fields`` None: the fields the form
    lets them change; a list: only those, the approval lock of their step); ``can_delete``;
    ``can_submit``: 提交审批 (they may change the record and no request is open on it);
    ``can_resubmit``: 重新提交 (their request was returned to them); ``approved``: the request that
    approved the record when nothing changed since (the page offers no second 提交 of that flow; other flows
    on the form stay offered); ``request``: the open request with
    ``returned`` (who, why, from which step) when it went back to its initiator."""
    _, row = record_row(rt.conn, rt.form(form), rt.ctx.actor, record_id, "read")
    me = rt.ctx.actor.id
    inst = running_instance(rt.conn, form, record_id)
    may_update = _may(rt, form, record_id, "update")
    out: dict[str, Any] = {"can_update": may_update, "editable_fields": None, "can_delete": False, "can_submit": False,
                           "can_resubmit": False, "request": None, "approved": None}
    if inst is None:
        out["can_delete"] = _may(rt, form, record_id, "delete")
        out["approved"] = _approved(rt, form, record_id, row)
        out["can_submit"] = may_update
        return out
    mine = inst["initiator_id"] == me
    returned = inst["status"] == "returned"
    spec = rt.flows.get(rt.conn, inst["workflow"], inst["version"])
    names = assign.usernames(rt.conn, [inst["initiator_id"]])
    out["request"] = {"id": inst["id"], "workflow": inst["workflow"], "label": spec.label, "status": inst["status"],
                      "initiator": names.get(inst["initiator_id"]), "mine": mine,
                      "returned": return_views(rt.conn, rt.flows, [inst]).get(int(inst["id"])) if returned else None}
    if returned and mine:        # back with its initiator: she changes it and sends it again
        out["can_resubmit"] = True
    elif may_update:             # under approval: only the step's approvers change its editable fields
        fields = _my_node_fields(rt, inst)
        out["can_update"], out["editable_fields"] = bool(fields), fields
    return out
