"""How the API and the CLI show workflow tasks and instances (the instance with its open tasks, or in
full with every task and its timeline)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from mom.engines.records import service as S
from mom.engines.workflow import timeline
from mom.engines.workflow.instance import BadState, WorkflowInstance
from mom.engines.workflow.runtime import EV, TK, I, Runtime, flush
from mom.platform.errors import MomError

_OPEN_TASKS = (sa.select(TK.c.id, TK.c.node_id, TK.c.assignee_id, TK.c.kind)
               .where(TK.c.instance_id == sa.bindparam("iid"), TK.c.status == "pending").order_by(TK.c.id))


def iso(v: Any) -> Any:
    """A time as the API writes it (ISO 8601, UTC as Z); anything else as it is."""
    return v.isoformat().replace("+00:00", "Z") if hasattr(v, "isoformat") else v


def task_view(t: Mapping[str, Any], names: Mapping[int, str]) -> dict[str, Any]:
    """A task row as the API shows it (``names``: usernames by user id)."""
    return {"id": t["id"], "instance_id": t["instance_id"], "node_id": t["node_id"], "round": t["round"], "kind": t["kind"],
            "assignee_id": t["assignee_id"], "assignee": names.get(t["assignee_id"]), "status": t["status"], "seq": t["seq"],
            "added": t["added"], "parent_task_id": t["parent_task_id"], "created_at": iso(t["created_at"]),
            "acted_at": iso(t["acted_at"]), "comment": t["comment"], "attachments": t["attachments"],
            # 代理人 / 离职交接: whom the assignee acts for ("代 X 审批"); 票签 weight; a handwritten signature's file id
            "on_behalf_of": t.get("on_behalf_of"), "on_behalf_of_name": names.get(t.get("on_behalf_of")) if t.get("on_behalf_of") else None,
            "weight": t.get("weight") or 1, "signature": t.get("signature"),
            "due_at": iso(t["due_at"]), "read_at": iso(t["read_at"])}


def instance_view(rt: Runtime, inst: WorkflowInstance | Mapping[str, Any], *, full: bool = False) -> dict[str, Any]:
    """An instance as the API and CLI show it (``full``: with its tasks and timeline); ``inst`` may be a row."""
    if not isinstance(inst, WorkflowInstance):
        inst = WorkflowInstance.from_row(inst)
    spec = rt.flows.get(rt.conn, inst.workflow, inst.version)
    out = {"id": inst.id, "workflow": inst.workflow, "version": inst.version, "label": spec.label,
           "form": inst.form, "record_id": inst.record_id, "status": inst.status,
           "initiator_id": inst.initiator_id, "started_at": iso(inst.started_at), "ended_at": iso(inst.ended_at),
           "current_nodes": [{"id": tk.node, "label": spec.node(tk.node).label if tk.node in spec.nodes else None}
                             for tk in inst.state.tokens]}
    if inst.status == "running":   # who must act now (a UI or a client can go straight to the task)
        out["open_tasks"] = [{"id": r[0], "node_id": r[1], "assignee_id": r[2], "kind": r[3]}
                             for r in rt.conn.execute(_OPEN_TASKS, {"iid": inst.id})]
    if full:
        flush(rt)
        tasks = [dict(r) for r in rt.conn.execute(sa.select(TK).where(TK.c.instance_id == inst.id).order_by(TK.c.id)).mappings()]
        evs = [dict(r) for r in rt.conn.execute(sa.select(EV).where(EV.c.instance_id == inst.id).order_by(EV.c.id)).mappings()]
        names = timeline.names_of(rt, evs, [t["assignee_id"] for t in tasks] + [inst.initiator_id]
                                  + [t.get("on_behalf_of") for t in tasks])
        out["initiator"] = names.get(inst.initiator_id)
        out["tasks"] = [task_view(t, names) for t in tasks]
        out["timeline"] = [{"at": iso(e["at"]), "action": e["action"], "actor_id": e["actor_id"],
                            "actor": names.get(e["actor_id"], "system") if e["actor_id"] else "system",
                            "node_id": e["node_id"], "node": spec.node(e["node_id"]).label if e["node_id"] in spec.nodes else None,
                            "task_id": e["task_id"], "comment": e["comment"], "data": e["data"],
                            "text": timeline.describe(e, spec, names)} for e in evs]
    return out


def record_timeline(rt: Runtime, form: str, record_id: int) -> list[dict[str, Any]]:
    """A record's changes and approval steps, oldest first, each with ``text``: the step in words in
    both languages (the reader must be able to read the record)."""
    compiled = rt.forms.get(rt.conn, form)
    audit = S.record_audit(conn=rt.conn, registry=rt.forms, ctx=rt.ctx, form=form, record_id=record_id)
    items = [{"kind": "change", **a} for a in timeline.change_entries(rt, compiled, audit)]
    for r in rt.conn.execute(sa.select(I).where(I.c.form == form, I.c.record_id == record_id).order_by(I.c.id)).mappings():
        try:
            view = instance_view(rt, r, full=True)
        except BadState as exc:   # the record's timeline still shows its changes and its other flows
            items.append({"kind": "workflow", "instance_id": r["id"], "workflow": r["workflow"], "at": iso(r["started_at"]),
                          "action": "unreadable", "error": error_view(exc),
                          "text": {"zh-CN": "这次审批的进度无法读取，请联系管理员", "en": "This approval's progress cannot be read: ask an administrator"}})
            continue
        items += [{"kind": "workflow", "instance_id": r["id"], "workflow": r["workflow"], **e} for e in view["timeline"]]
    return sorted(items, key=lambda e: e["at"])


def error_view(exc: MomError) -> dict[str, Any]:
    """An error as the API writes it (``code`` and the bilingual ``message``)."""
    return {"code": exc.code, "message": {"zh-CN": exc.zh, "en": exc.en}}


def unreadable_view(rt: Runtime, row: Mapping[str, Any], exc: BadState) -> dict[str, Any]:
    """An instance whose stored state this code cannot read, as a list shows it: its columns, no current
    nodes, and ``error`` saying what is wrong (the list shows the other instances instead of failing)."""
    try:
        label = rt.flows.get(rt.conn, row["workflow"], int(row["version"])).label
    except MomError:
        label = {"zh-CN": row["workflow"], "en": row["workflow"]}
    return {"id": row["id"], "workflow": row["workflow"], "version": row["version"], "label": label, "form": row["form"],
            "record_id": row["record_id"], "status": row["status"], "initiator_id": row["initiator_id"],
            "started_at": iso(row["started_at"]), "ended_at": iso(row.get("ended_at")), "current_nodes": [],
            "error": error_view(exc)}


def instance_views(rt: Runtime, rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """:func:`instance_view` of each ``wf_instance`` row; one whose state cannot be read is flagged
    (:func:`unreadable_view`) instead of failing the whole list."""
    out = []
    for row in rows:
        try:
            out.append(instance_view(rt, row))
        except BadState as exc:
            out.append(unreadable_view(rt, row, exc))
    return out
