"""The schedule board's view of the plan in force, and pinning a task where the planner dropped it (issue 19).

``current`` reads the same problem ``planning.build_problem`` plans, with the schedule already written on
the tasks (their planned start, end and machine) as a ``mom.schedule-solution/1`` document's operations,
so the board shows what is written without solving. ``pin`` writes a task's planned start, end and
machine and marks it pinned (the next plan keeps it there), or unpins it, through the record service.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.production import documents as D
from mom.engines.production.planning import build_problem
from mom.engines.production.writeback import TASK_FORM, core_form, iso_text, require_writer
from mom.engines.records.access import form_access
from mom.engines.records.batch import update_many
from mom.engines.records.context import Ctx
from mom.platform.errors import Conflict, InvalidInput, NotFound, Problem

SOLUTION_FORMAT = "mom.schedule-solution/1"


def _aware(v: dt.datetime | None) -> dt.datetime | None:
    return v.replace(tzinfo=dt.timezone.utc) if v is not None and v.tzinfo is None else v


def current(conn: Connection, forms: Any, ctx: Ctx, *, now: dt.datetime, tz: dt.tzinfo | None = None) -> dict[str, Any]:
    """``{core, problem, solution, unplanned, pinned, notes}`` (``core`` False: the core pack is not installed): the problem of the open orders (time 0 = ``now``), the stored
    schedule of its tasks as solution operations (minutes from the problem's origin; a start already past
    counts from 0), the codes of the orders with a task not planned yet (left out of ``solution``) and of
    the tasks the planner pinned.
    ``problem`` is None when there is nothing to plan (``message`` says why, in both languages)."""
    try:
        form_access(core_form(conn, forms, TASK_FORM), ctx.actor).require("read")
    except InvalidInput as exc:           # the core pack is not installed: the board offers examples and files
        return {"core": False, "problem": None, "solution": None, "unplanned": [], "pinned": [],
                "message": {"zh-CN": exc.zh, "en": exc.en}}
    try:
        problem, index = build_problem(conn, forms, now=now, tz=tz)
    except InvalidInput as exc:
        return {"core": True, "problem": None, "solution": None, "unplanned": [], "pinned": [], "message": {"zh-CN": exc.zh, "en": exc.en}}
    codes = {mid: code for code, mid in index.machines.items()}
    ops: list[dict[str, Any]] = []
    unplanned: list[str] = []
    for order in problem["orders"]:
        rows = []
        for op in order["operations"]:
            ref = index.tasks[(order["id"], op["id"])]
            start = ref.actual_start if ref.running and ref.actual_start else ref.planned_start
            res = codes.get(ref.machine)
            if start is None or ref.planned_end is None or res is None \
                    or res not in {m["resource"] for m in op["modes"]}:
                break
            s = max(0, int((start - index.origin).total_seconds() // 60))
            e = max(s + 1, int((ref.planned_end - index.origin).total_seconds() // 60))
            rows.append({"order": order["id"], "operation": op["id"], "resource": res, "start": s, "end": e})
        else:
            ops.extend(rows)
            continue
        unplanned.append(order["id"])
    tt = core_form(conn, forms, TASK_FORM).main
    ids = [r.id for r in index.tasks.values()]
    pinned = sorted(r[0] for r in conn.execute(sa.select(tt.c.code).where(tt.c.id.in_(ids), tt.c.pinned.is_(True)))) if ids else []
    solution = {"format": SOLUTION_FORMAT, "problem": problem["name"], "status": "feasible", "method": "stored",
                "operations": ops}
    return {"core": True, "problem": problem, "solution": solution, "unplanned": unplanned, "pinned": pinned,
            "notes": index.notes}


def _task_row(conn: Connection, table: sa.Table, task: int | str) -> dict[str, Any]:
    where = table.c.id == int(task) if isinstance(task, int) or (isinstance(task, str) and task.isdigit() and len(task) < 19) \
        else table.c.code == str(task)
    row = conn.execute(sa.select(table).where(where, table.c.deleted_at.is_(None))).mappings().first()
    if row is None:
        raise NotFound(f"没有工序任务 {task}：请检查任务编号（如 OP-…）", f"no operation task {task}: check the task code (OP-…)")
    return dict(row)


def _machines(conn: Connection, forms: Any, t: dict[str, Any]) -> dict[str, int]:
    """The machines ``t`` may run on, by code: its modes table's, its own, else its work centre's."""
    f_task, f_machine = core_form(conn, forms, TASK_FORM), core_form(conn, forms, "machine")
    mt = f_machine.main
    ids = set()
    if "modes" in f_task.children:
        ct = f_task.children["modes"]
        ids |= {r[0] for r in conn.execute(sa.select(ct.c.machine).where(ct.c.parent_id == t["id"])) if r[0] is not None}
    if t.get("machine") is not None:
        ids.add(t["machine"])
    q = sa.select(mt.c.id, mt.c.code).where(mt.c.deleted_at.is_(None))
    q = q.where(mt.c.id.in_(ids)) if ids else q.where(mt.c.work_center == t.get("work_center"))
    return {r.code: int(r.id) for r in conn.execute(q)}


def _when(start: Any) -> dt.datetime:
    if isinstance(start, str):
        try:
            at = dt.datetime.fromisoformat(start.replace("Z", "+00:00"))
        except ValueError:
            at = None
        if at is not None and at.tzinfo is not None:
            return at
    raise InvalidInput("开始时间格式不对：请给出带时区的日期时间，如 2026-12-03T08:00:00+08:00",
                       "start must be a date and time with its zone, such as 2026-12-03T08:00:00+08:00")


#: how far ahead a planner may pin a task (the solver plans within minutes from now; a pin far beyond
#: any horizon would make every plan fail)
PIN_HORIZON_DAYS = 366


def pin(conn: Connection, forms: Any, ctx: Ctx, task: int | str, machine: int | str | None,
        start: str | None) -> dict[str, Any]:
    """Pin ``task`` (id or code) on ``machine`` (code or id; None: where it is) from ``start`` (ISO date
    and time with zone): its planned start, end (start + its planned length, else its work left) and
    machine are written and it is marked pinned, so the next plan keeps it there. ``start`` None unpins
    it (the next plan places it again). A running or done task is refused in words. Returns the task."""
    writer = require_writer(conn, forms, ctx)
    f_task = core_form(conn, forms, TASK_FORM)
    t = _task_row(conn, f_task.main, task)
    code = t["code"]
    if start is None:
        patch: dict[str, Any] = {"pinned": False}
    else:
        if t.get("status") in ("running", "done"):
            zh = "已在加工" if t["status"] == "running" else "已完成"
            raise Conflict(f"工序任务 {code} {zh}：不能再锁定到别的时间或设备",
                           f"task {code} is {t['status']}: it cannot be pinned elsewhere")
        at = _when(start)
        now = ctx.now or dt.datetime.now(dt.timezone.utc)
        if at < now - dt.timedelta(minutes=5) or at > now + dt.timedelta(days=PIN_HORIZON_DAYS):
            raise InvalidInput(f"开始时间须在现在到 {PIN_HORIZON_DAYS} 天以内：不能锁定到过去，也不能锁定到这么远的将来",
                               f"the start must be between now and {PIN_HORIZON_DAYS} days ahead: a task cannot be pinned "
                               "in the past or that far ahead",
                               problems=[Problem("/start", "开始时间超出排程范围", "start outside the planning range", "range")])
        allowed = _machines(conn, forms, t)
        if machine is None:
            mid = t.get("machine")
        elif isinstance(machine, int) or (isinstance(machine, str) and machine.isdigit() and machine not in allowed):
            mid = int(machine)
        else:
            mid = allowed.get(str(machine))
        if mid not in allowed.values():
            names = "、".join(sorted(allowed)) or "（无）"
            raise InvalidInput(f"工序任务 {code} 不能在设备 {machine} 上加工：可选设备为 {names}",
                               f"task {code} cannot run on machine {machine}: it may run on {', '.join(sorted(allowed))}")
        old_s, old_e = _aware(t.get("planned_start")), _aware(t.get("planned_end"))
        if old_s is not None and old_e is not None and old_e > old_s:
            length = old_e - old_s
        else:
            left = max(0.0, float(t.get("qty") or 0) - float(t.get("good_qty") or 0))
            length = dt.timedelta(minutes=float(t.get("setup_min") or 0) + float(t.get("run_min") or 0) * left or 1)
        zone = ctx.tz or dt.timezone.utc
        patch = {"pinned": True, "machine": mid, "planned_start": iso_text(at.astimezone(zone)),
                 "planned_end": iso_text((at + length).astimezone(zone))}
    with D.engine_writes(conn):
        update_many(conn=conn, registry=forms, ctx=writer, form=TASK_FORM, patches=[(t["id"], patch, None)])
    out = _task_row(conn, f_task.main, t["id"])
    return {k: (iso_text(_aware(v)) if isinstance(v, dt.datetime) else v) for k, v in out.items()
            if k in ("id", "code", "machine", "planned_start", "planned_end", "pinned", "status", "row_version")}
