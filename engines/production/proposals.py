"""Schedule proposals (排程调整建议): a machine breaks down -> a rescheduled plan a planner accepts or rejects.

When a machine's status becomes ``down`` the core pack's rule ``core_breakdown_proposal`` calls the engine
hook ``production.breakdown_proposal`` (registered by ``mom.platform.replanning``), which calls
:func:`propose_breakdown`: the plant's problem from the database, the machine out from now for
``MOM_PRODUCTION_BREAKDOWN_HOURS`` (default 4), rescheduled by ``replan`` (the scheduling engine, passed in)
against the plan in force; every task whose machine, start or end changes becomes a row of a new
``schedule_proposal`` (pending), with the task's version at that moment. Nothing else is written.

:func:`accept` writes the proposal's plan onto the tasks (and their orders' planned start and end) through
the record service — unless a task changed since (a report, an edit, another plan): then the proposal is
marked ``stale`` and nothing of it is written. :func:`reject` marks it rejected.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Connection

from mom.engines.production import documents as D
from mom.engines.production import planning
from mom.engines.production.whatif import Replan, current_plan, require_planner
from mom.engines.records.access import form_access
from mom.engines.records.batch import update_many
from mom.engines.records.context import Ctx
from mom.platform.errors import Conflict, InvalidInput, NotFound

PROPOSAL = "schedule_proposal"
TASK_FORM, ORDER_FORM, MACHINE_FORM = "operation_task", "production_order", "machine"
TASK_ORDER = "production_order"             # the task's reference to its order
HOOK_NAME = "production.breakdown_proposal"
STATUS_WORDS = {"pending": ("待确认", "pending"), "accepted": ("已接受", "accepted"), "rejected": ("已拒绝", "rejected"),
                "stale": ("已过期", "stale")}


def _form(conn: Connection, forms: Any) -> Any:
    try:
        return D.compiled(conn, forms, PROPOSAL)
    except NotFound:
        raise NotFound("没有「排程调整建议」表单：请管理员把「制造基础」模型包升级到 1.1.0 或以上（mom pack install core）",
                       "the schedule_proposal form is missing: an administrator upgrades the core pack to 1.1.0 or "
                       "later (mom pack install core)") from None


def _unpin_on(problem: dict[str, Any], resource: str) -> list[str]:
    """Running or planner-pinned operations on the broken machine must move: unpinned (still waiting for
    nothing before them). Returns their task codes."""
    out = []
    for o in problem["orders"]:
        for op in o["operations"]:
            if op.get("pinned", {}).get("resource") == resource:
                op.pop("pinned")
                out.append(op["id"])
    return out


def propose_breakdown(conn: Connection, forms: Any, ctx: Ctx, machine_id: int, *, replan: Replan, hours: float = 4.0,
                      time_limit: float = 5.0) -> dict[str, Any]:
    """A pending ``schedule_proposal`` for machine ``machine_id`` being down from now for ``hours``; returns
    ``{proposal, code, changes, summary}``, or ``{skipped: reason}`` when there is nothing to reschedule
    (no released work, or none that may run on the machine)."""
    f_prop = _form(conn, forms)
    machine = D.row(conn, D.compiled(conn, forms, MACHINE_FORM), int(machine_id))
    if machine is None:
        return {"skipped": f"machine {machine_id} is gone"}
    try:
        problem, index = planning.build_problem(conn, forms, now=ctx.now, tz=ctx.tz)
    except InvalidInput as exc:                # nothing released, or a task without a machine: said in the log
        return {"skipped": exc.en}
    code = machine["code"]
    if code not in index.machines:
        return {"skipped": f"no open task may run on machine {code}"}
    interrupted = _unpin_on(problem, code)
    current = current_plan(problem, index)
    end = max(1, int(round(float(hours) * 60)))
    doc = replan(problem, current, {"breakdown": {"resource": code, "start": 0, "end": end}}, time_limit)
    changes = _changes(index, doc)
    name = machine.get("name") or code
    summary = _summary(conn, forms, index, name, hours, changes, interrupted, doc)
    ids = D.create(conn, forms, ctx, PROPOSAL, [{
        "reason": "breakdown", "machine": machine["id"], "status": "pending",
        "summary": summary, "changes": changes}])
    rec = D.row(conn, f_prop, ids[0]) or {}
    return {"proposal": ids[0], "code": rec.get("code"), "changes": len(changes), "summary": summary}


def _changes(index: planning.PlanIndex, doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for op in doc.get("operations", []):
        ref = index.tasks.get((op["order"], op["operation"]))
        if ref is None:
            continue
        start = ref.actual_start if ref.running and ref.actual_start is not None and op["start"] == 0 else index.at(op["start"])
        end, machine = index.at(op["end"]), index.machines.get(op["resource"])
        if (ref.planned_start, ref.planned_end, ref.machine) == (start, end, machine):
            continue
        delay = (end - ref.planned_end).total_seconds() / 60 if ref.planned_end is not None else 0
        rows.append({"production_order": index.orders[op["order"]].id, "task": ref.id, "old_machine": ref.machine,
                     "new_machine": machine, "old_start": _iso(ref.planned_start), "new_start": _iso(start),
                     "old_end": _iso(ref.planned_end), "new_end": _iso(end), "delay_min": round(delay, 1),
                     "task_version": ref.row_version})
    return rows


def _iso(t: dt.datetime | None) -> str | None:
    return t.isoformat() if t is not None else None


def _aware(v: dt.datetime | None) -> dt.datetime | None:
    """A stored time (naive: UTC) with its zone."""
    return v.replace(tzinfo=dt.timezone.utc) if v is not None and v.tzinfo is None else v


def _writer(conn: Connection, forms: Any, ctx: Ctx) -> Ctx:
    """The caller must be allowed to update tasks and orders; the planned times are written in the caller's
    name with the engine's right (an order's planned times are read-only fields)."""
    for name in (TASK_FORM, ORDER_FORM):
        form_access(D.compiled(conn, forms, name), ctx.actor).require("update")
    return D.acting(ctx)


def _summary(conn: Connection, forms: Any, index: planning.PlanIndex, name: str, hours: float,
             changes: list[dict[str, Any]], interrupted: list[str], doc: Mapping[str, Any]) -> str:
    """The proposal in the planner's words (zh-CN, then en)."""
    moved = [c for c in changes if c["old_machine"] != c["new_machine"]]
    h = f"{hours:g}"
    zh = [f"设备「{name}」故障停机（按 {h} 小时计）：{len(changes)} 道工序需调整，其中 {len(moved)} 道换到其他设备。"]
    en = [f"Machine {name} is down (counted as {h} h): {len(changes)} operation(s) to change, {len(moved)} moved to another machine."]
    if interrupted:
        zh.append(f"正在该设备上的工序 {', '.join(interrupted)} 需要重新安排。")
        en.append(f"Work on it ({', '.join(interrupted)}) is rescheduled.")
    later = doc.get("impact", {}).get("later", [])
    if later:
        zh.append("推迟的工单：" + "；".join(f"{r['order']} 推迟 {int(r['delay'])} 分钟" for r in later) + "。")
        en.append("Orders later: " + "; ".join(f"{r['order']} by {int(r['delay'])} min" for r in later) + ".")
    elif not changes:
        zh.append("现有计划不受影响，无需调整。")
        en.append("The plan in force is not affected.")
    return ("".join(zh) + "\n" + " ".join(en))[:4000]


# ---------------------------------------------------------------- deciding

def _pending(conn: Connection, forms: Any, proposal: str | int) -> dict[str, Any]:
    f_prop = _form(conn, forms)
    row = D.resolve(conn, f_prop, proposal, "/proposal")
    row = D.row(conn, f_prop, int(row["id"]), lock=True) or row
    status = row.get("status") or "pending"
    if status != "pending":
        zh, en = STATUS_WORDS.get(status, (status, status))
        raise InvalidInput(f"排程调整建议 {row['code']} 已是「{zh}」状态，不能再处理；需要时请重新排程",
                           f"schedule proposal {row['code']} is already {en} and cannot be decided again; plan again if needed")
    return row


def reject(conn: Connection, forms: Any, ctx: Ctx, proposal: str | int) -> dict[str, Any]:
    """Mark a pending proposal rejected (by ``ctx``'s user); the plan in force stays."""
    require_planner(ctx)
    row = _pending(conn, forms, proposal)
    _decide(conn, forms, ctx, row, "rejected")
    return {"proposal": row["id"], "code": row["code"], "status": "rejected"}


def _decide(conn: Connection, forms: Any, ctx: Ctx, row: Mapping[str, Any], status: str) -> None:
    D.update(conn, forms, ctx, PROPOSAL, int(row["id"]), {"status": status, "decided_by": ctx.actor.id or None})


def accept(conn: Connection, forms: Any, ctx: Ctx, proposal: str | int) -> dict[str, Any]:
    """Write a pending proposal's plan onto its tasks and their orders, in ``conn``'s transaction.

    When a task of it changed since it was proposed (or is done or gone), nothing of the plan is written:
    the proposal is marked ``stale`` and ``{status: "stale", stale_tasks: [codes]}`` returned — the caller
    commits that and answers with :func:`stale_error`."""
    require_planner(ctx)
    row = _pending(conn, forms, proposal)
    f_task = D.compiled(conn, forms, TASK_FORM)
    changes = D.children(conn, _form(conn, forms), int(row["id"]), "changes")
    stale, tasks = [], {}
    for c in changes:
        t = D.row(conn, f_task, int(c["task"]), lock=True)
        if t is None or t.get("status") == "done" or int(t["row_version"]) != int(c["task_version"] or -1):
            stale.append(t["code"] if t else str(c["task"]))
        else:
            tasks[t["id"]] = t
    if stale:
        _decide(conn, forms, ctx, row, "stale")
        return {"proposal": row["id"], "code": row["code"], "status": "stale", "stale_tasks": stale}
    writer = _writer(conn, forms, ctx)
    with D.engine_writes(conn):
        update_many(conn=conn, registry=forms, ctx=writer, form=TASK_FORM, patches=[
            (int(c["task"]), {"planned_start": _iso(c["new_start"]), "planned_end": _iso(c["new_end"]),
                              "machine": c["new_machine"]}, int(c["task_version"])) for c in changes])
        orders = _order_spans(conn, forms, {int(t[TASK_ORDER]) for t in tasks.values()})
        if orders:
            update_many(conn=conn, registry=forms, ctx=writer, form=ORDER_FORM,
                        patches=[(oid, span, None) for oid, span in orders.items()])
    _decide(conn, forms, ctx, row, "accepted")
    return {"proposal": row["id"], "code": row["code"], "status": "accepted", "tasks": len(changes), "orders": len(orders)}


def _order_spans(conn: Connection, forms: Any, order_ids: set[int]) -> dict[int, dict[str, Any]]:
    """Each order's planned start and end from its open tasks (as the planner writes them)."""
    f_task = D.compiled(conn, forms, TASK_FORM)
    t = f_task.main
    out: dict[int, dict[str, Any]] = {}
    for oid in sorted(order_ids):
        rows = [r for r in D.rows(conn, f_task, t.c[TASK_ORDER] == oid) if r.get("status") != "done"]
        starts = [_aware(r["planned_start"]) for r in rows if r.get("planned_start") is not None]
        ends = [_aware(r["planned_end"]) for r in rows if r.get("planned_end") is not None]
        if starts and ends:
            out[oid] = {"planned_start": _iso(min(starts)), "planned_end": _iso(max(ends))}
    return out


def stale_error(out: Mapping[str, Any]) -> Conflict:
    """The refusal of a stale proposal (raise it after committing the ``stale`` mark)."""
    tasks = ", ".join(out.get("stale_tasks", [])[:10])
    return Conflict(f"排程调整建议 {out['code']} 已过期：工序任务 {tasks} 在建议生成后有了变化（报工、修改或重新排程），"
                    "建议没有写入。请重新排程，或等设备状态再变化时生成新的建议",
                    f"schedule proposal {out['code']} is stale: task(s) {tasks} changed after it was made (a report, an "
                    "edit or another plan); nothing was written. Plan again")


def listing(conn: Connection, forms: Any, ctx: Ctx, *, status: str | None = None) -> list[dict[str, Any]]:
    """Proposals newest first, each with its changes (task and machine codes resolved)."""
    f_prop = _form(conn, forms)
    t = f_prop.main
    rows = D.rows(conn, f_prop, *([t.c.status == status] if status else []), order_by=(t.c.id.desc(),))
    out = []
    for r in rows[:50]:
        changes = D.children(conn, f_prop, int(r["id"]), "changes")
        tasks = _codes(conn, forms, TASK_FORM, [c["task"] for c in changes])
        machines = _codes(conn, forms, MACHINE_FORM,
                          [c[k] for c in changes for k in ("old_machine", "new_machine")] + [r.get("machine")])
        out.append({"id": r["id"], "code": r["code"], "reason": r.get("reason"), "status": r.get("status"),
                    "machine": machines.get(r.get("machine")), "created_at": _local(ctx, r.get("created_at")),
                    "summary": r.get("summary"),
                    "changes": [{"task": tasks.get(c["task"], c["task"]), "task_id": c["task"],
                                 "old_machine": machines.get(c.get("old_machine")), "new_machine": machines.get(c.get("new_machine")),
                                 "old_start": _local(ctx, c.get("old_start")), "new_start": _local(ctx, c.get("new_start")),
                                 "old_end": _local(ctx, c.get("old_end")), "new_end": _local(ctx, c.get("new_end")),
                                 "delay_min": float(c["delay_min"]) if c.get("delay_min") is not None else None}
                                for c in changes]})
    return out


def _local(ctx: Ctx, t: dt.datetime | None) -> str | None:
    """A stored time in the plant's zone (ISO 8601 with its offset)."""
    t = _aware(t)
    return t.astimezone(ctx.tz).isoformat() if t is not None and ctx.tz is not None else _iso(t)


def _codes(conn: Connection, forms: Any, form: str, ids: list[Any]) -> dict[int, str]:
    """Records' codes by id (a proposal lists a few dozen)."""
    wanted = sorted({int(i) for i in ids if i is not None})
    if not wanted:
        return {}
    f = D.compiled(conn, forms, form)
    return {int(r["id"]): str(r["code"]) for r in D.rows(conn, f, f.main.c.id.in_(wanted))}
