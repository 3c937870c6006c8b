"""Each user's inbox: to do, done, copied to me, started by me, returned to me (被退回，待修改后重新提交:
my requests an approver sent back, with who and why) — with counts, newest first; each task
and request with its record's key fields and files in words (``summary``), what a task may be returned
to, who a running request waits for; several tasks decided at once (批量审批, :func:`decide_many`)."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.records.context import Ctx
from mom.engines.workflow import assign, standing, summary, tasks
from mom.engines.workflow.instance import BadState, InstanceState
from mom.engines.workflow.runtime import EV, TK, I, Runtime
from mom.engines.workflow.store import WorkflowRegistry
from mom.engines.workflow.views import error_view, iso, task_view
from mom.platform.db.engine import write_tx
from mom.platform.errors import InvalidInput, MomError, Problem

BOXES = ("todo", "done", "cc", "started", "returned")
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
    out["returned"] = int(conn.execute(sa.select(sa.func.count()).select_from(I).where(
        I.c.initiator_id == user_id, I.c.status == "returned")).scalar_one())
    return out


def listing(conn: Connection, flows: WorkflowRegistry, user_id: int, box: str = "todo", *, limit: int = 50,
            offset: int = 0, workflow: str | None = None, forms: Any = None, ctx: Ctx | None = None) -> dict[str, Any]:
    """One box of the user's inbox. With ``forms`` and ``ctx`` (the reader: ``ctx.actor`` is the user)
    each item also carries ``record`` (its record's key fields and files, :mod:`summary`); to-do tasks
    ``return_targets``, started requests ``waiting_for`` and ``reminded_at``; returned requests (box
    ``returned``: mine, sent back to me) ``returned`` (``by``, ``reason``, ``at``, ``node_label``)."""
    if box not in BOXES:
        raise InvalidInput(f"box 只能是 {', '.join(BOXES)}", f"box must be one of {', '.join(BOXES)}")
    limit = max(1, min(int(limit), 500))
    if box in ("started", "returned"):
        q = sa.select(I).where(I.c.initiator_id == user_id)
        if box == "returned":
            q = q.where(I.c.status == "returned")
        if workflow:
            q = q.where(I.c.workflow == workflow)
        rows = conn.execute(q.order_by(I.c.id.desc()).limit(limit).offset(offset)).mappings().all()
        items = [{"instance": _inst(conn, flows, r)} for r in rows]
        if box == "returned":
            _returned(conn, flows, rows, items)
    else:
        q = sa.select(TK, I.c.workflow, I.c.version, I.c.form, I.c.record_id, I.c.status.label("instance_status"),
                      I.c.initiator_id, I.c.started_at).join(I, I.c.id == TK.c.instance_id).where(_where(box, user_id))
        if workflow:
            q = q.where(I.c.workflow == workflow)
        order = TK.c.acted_at.desc() if box == "done" else TK.c.id.desc()
        rows = conn.execute(q.order_by(order, TK.c.id.desc()).limit(limit).offset(offset)).mappings().all()
        names = assign.usernames(conn, [r["assignee_id"] for r in rows] + [r["initiator_id"] for r in rows]
                                 + [r.get("on_behalf_of") for r in rows])
        items = []
        for r in rows:
            spec = flows.get(conn, r["workflow"], r["version"])
            node = spec.nodes.get(r["node_id"])
            items.append({**task_view(r, names), "workflow": r["workflow"], "version": r["version"], "workflow_label": spec.label,
                          "node_label": node.label if node else None, "form": r["form"], "record_id": r["record_id"],
                          "instance_status": r["instance_status"], "initiator": names.get(r["initiator_id"]),
                          "started_at": iso(r["started_at"])})
        if box == "todo":
            _return_targets(conn, flows, rows, items)
    if forms is not None and ctx is not None:
        _with_records(conn, forms, flows, ctx, items)
    if box == "started":
        _waiting(conn, items)
    return {"box": box, "items": items, "counts": counts(conn, user_id)}


def _returned(conn: Connection, flows: WorkflowRegistry, rows: list[Any], items: list[dict[str, Any]]) -> None:
    """Each returned request's ``returned``: who sent it back, from which step, when and why."""
    views = standing.return_views(conn, flows, rows)
    for r, it in zip(rows, items):
        it["returned"] = views.get(int(r["id"]))


def _with_records(conn: Connection, forms: Any, flows: WorkflowRegistry, ctx: Ctx, items: list[dict[str, Any]]) -> None:
    """Each item's ``record``: the key fields and files its reader may see (None: the form is gone)."""
    wanted = []
    for it in items:
        src = it.get("instance", it)
        node_fields: frozenset[str] = frozenset()
        if "node_id" in it:
            node = flows.get(conn, it["workflow"], it["version"]).nodes.get(it["node_id"])
            node_fields = node.editable_fields if node is not None else frozenset()
        wanted.append((src["form"], int(src["record_id"]), node_fields))
    found = summary.summaries(conn, forms, ctx.actor, wanted, ctx.tz)
    for it, (form, rid, _) in zip(items, wanted):
        it["record"] = found.get((form, rid))


def _return_targets(conn: Connection, flows: WorkflowRegistry, rows: list[Any], items: list[dict[str, Any]]) -> None:
    """Where each to-do approval task may be returned to ({target, label}, the initiator first): one
    read of the passed nodes for the whole page."""
    ids = sorted({int(r["instance_id"]) for r in rows})
    passed: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        for iid, nid in conn.execute(sa.select(EV.c.instance_id, EV.c.node_id).where(
                EV.c.instance_id.in_(ids), EV.c.action == "node_passed").order_by(EV.c.id)):
            seen = passed[int(iid)]
            if nid in seen:
                seen.remove(nid)
            seen.append(nid)
    for r, it in zip(rows, items):
        spec = flows.get(conn, r["workflow"], r["version"])
        here = spec.nodes.get(r["node_id"])
        if here is None or r["kind"] != "approval":
            it["return_targets"] = []
            continue
        visited = [n for n in passed[int(r["instance_id"])] if n in spec.nodes and spec.node(n).type == "approval"]
        it["return_targets"] = [{"target": "initiator", "label": {"zh-CN": "发起人", "en": "the initiator"}}] + [
            {"target": n, "label": spec.node(n).label} for n in _targets(spec, here, visited) if n != here.id]


def _targets(spec: Any, here: Any, visited: list[str]) -> list[str]:
    """The visited approval nodes, or every approval node when the node allows returning anywhere (as
    the return itself decides, tasks._return)."""
    if getattr(here, "return_to_any", False):
        return [n.id for n in spec.nodes.values() if n.type == "approval"]
    return visited


def _waiting(conn: Connection, items: list[dict[str, Any]]) -> None:
    """Started requests: who must act now (``waiting_for``: names) and the last reminder (``reminded_at``)."""
    ids = [int(it["instance"]["id"]) for it in items if it["instance"]["status"] == "running"]
    who: dict[int, list[int]] = {i: [] for i in ids}
    last: dict[int, Any] = {}
    if ids:
        for iid, uid in conn.execute(sa.select(TK.c.instance_id, TK.c.assignee_id).where(
                TK.c.instance_id.in_(ids), TK.c.status == "pending", TK.c.kind.in_(("approval", "delegate"))).order_by(TK.c.id)):
            if uid is not None and uid not in who[int(iid)]:
                who[int(iid)].append(int(uid))
        last = {int(i): at for i, at in conn.execute(sa.select(EV.c.instance_id, sa.func.max(EV.c.at)).where(
            EV.c.instance_id.in_(ids), EV.c.action == "remind").group_by(EV.c.instance_id))}
    names = assign.usernames(conn, [u for us in who.values() for u in us])
    for it in items:
        iid = int(it["instance"]["id"])
        it["waiting_for"] = [names.get(u, f"#{u}") for u in who.get(iid, [])]
        it["reminded_at"] = iso(last.get(iid))


# ---------------------------------------------------------------- 批量审批

BATCH_ACTIONS = ("approve", "reject")
MAX_BATCH = 100


def decide_many(engine: Any, ctx: Ctx, forms: Any, flows: WorkflowRegistry, body: Any) -> dict[str, Any]:
    """批量审批: ``{action: approve|reject, task_ids: [...], comment?}``. Each task is decided in a
    transaction of its own, exactly as one decision (its node's rules apply), so one that fails (not
    yours, already decided, a comment the node requires) is reported in its result and changes nothing,
    and the others go through. Answers ``{action, results: [{task_id, ok, status?, instance_status?,
    error?}], done, failed}``."""
    action, ids, comment = _batch_args(body)
    results = []
    for tid in ids:
        try:
            with write_tx(engine) as conn:
                out = tasks.act(Runtime(conn=conn, ctx=ctx, forms=forms, flows=flows), tid, action, {"comment": comment})
            results.append({"task_id": tid, "ok": True, "status": out["task"]["status"],
                            "instance_id": out["instance"]["id"], "instance_status": out["instance"]["status"]})
        except MomError as exc:
            results.append({"task_id": tid, "ok": False, "error": error_view(exc)})
    done = sum(1 for r in results if r["ok"])
    return {"action": action, "results": results, "done": done, "failed": len(results) - done}


def _batch_args(body: Any) -> tuple[str, list[int], str | None]:
    if not isinstance(body, dict):
        raise InvalidInput("请求体应为 JSON 对象：{action, task_ids, comment}", "the body must be a JSON object: {action, task_ids, comment}")
    problems = []
    action = body.get("action")
    if action not in BATCH_ACTIONS:
        problems.append(Problem("/action", "批量审批只能同意（approve）或驳回（reject）", "batch decisions are approve or reject", "enum"))
    ids = body.get("task_ids")
    if (not isinstance(ids, list) or not ids or len(ids) > MAX_BATCH
            or not all(isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2**63 for i in ids)):
        problems.append(Problem("/task_ids", f"请选择 1 到 {MAX_BATCH} 个待办", f"choose 1 to {MAX_BATCH} tasks (a list of task ids)", "type"))
    comment = body.get("comment")
    if comment is not None and (not isinstance(comment, str) or len(comment) > 2000):
        problems.append(Problem("/comment", "审批意见应为文字（最多 2000 字）", "the comment must be text (at most 2000 characters)", "type"))
    if problems:
        raise InvalidInput("批量审批的请求有误：" + "；".join(p.zh for p in problems),
                           "the batch decision is invalid: " + "; ".join(p.en for p in problems), problems=problems)
    return str(action), list(dict.fromkeys(ids)), comment or None


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
