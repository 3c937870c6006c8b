"""An order's progress, computed from its operation tasks, never typed: good and scrap, progress
percent, the current operation, the expected finish and whether it is on time; the order's status
follows its tasks (started with the first start, finished with the last task). Also the views a
supervisor reads: one order with WIP per operation, and the dispatch list of a work centre or machine.

WIP of an operation = what reached it − its good − its scrap (never below 0). What reached the
first operation is the order quantity once it has started; what reached a later one is its
predecessor's good quantity.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.forms import fieldtypes
from mom.engines.production import documents as D
from mom.engines.production.forecast import expected_finish
from mom.engines.production.materials import dispatch_shortages
from mom.engines.records import service as S
from mom.engines.records.access import form_access
from mom.engines.records.context import Ctx
from mom.platform.errors import InvalidInput

_PCT = Decimal("0.01")
OPEN_TASKS = ("ready", "running", "paused", "waiting")
LIVE_ORDERS = ("released", "started")


def order_tasks(conn: Connection, forms: Any, order_id: int, *, lock: bool = False) -> list[dict[str, Any]]:
    """The order's tasks in operation order (``lock``: FOR UPDATE on PostgreSQL, in that order)."""
    compiled = D.compiled(conn, forms, D.TASK)
    t = compiled.main
    if not lock or conn.dialect.name != "postgresql":
        return D.rows(conn, compiled, t.c.production_order == order_id, order_by=[t.c.seq, t.c.id])
    q = (sa.select(t).where(t.c.deleted_at.is_(None), t.c.production_order == order_id)
         .order_by(t.c.seq, t.c.id).with_for_update())
    return [dict(r) for r in conn.execute(q).mappings()]


def reached(order: Mapping[str, Any], tasks: Sequence[Mapping[str, Any]], i: int) -> Decimal:
    """What has reached task ``i``: the order quantity for the first once it started, else the
    predecessor's good quantity."""
    if i == 0:
        started = tasks[0].get("actual_start") is not None or tasks[0].get("status") in ("running", "paused", "done")
        return D.dec(order["qty"]) if started else D.ZERO
    return D.dec(tasks[i - 1].get("good_qty"))


def wip(order: Mapping[str, Any], tasks: Sequence[Mapping[str, Any]], i: int) -> Decimal:
    """What is at this operation and not yet made: what reached it − its good − its scrap; nothing once
    the operation is done (a shortfall of a finished operation is not work in progress)."""
    if tasks[i].get("status") == "done":
        return D.ZERO
    left = reached(order, tasks, i) - D.dec(tasks[i].get("good_qty")) - D.dec(tasks[i].get("scrap_qty"))
    return max(left, D.ZERO)


def _machine_times(conn: Connection, forms: Any, tasks: Sequence[Mapping[str, Any]]) -> dict[int, tuple[Any, Any]]:
    """task id -> (setup, run) of its row in ``modes`` for the machine it is planned on (an alternative
    machine has times of its own), for the open tasks, in one narrow SELECT."""
    open_ids = [int(t["id"]) for t in tasks if t.get("status") != "done" and t.get("machine") is not None]
    m = D.compiled(conn, forms, D.TASK).children.get("modes")
    if not open_ids or m is None:
        return {}
    on = {int(t["id"]): t["machine"] for t in tasks if int(t["id"]) in open_ids}
    q = sa.select(m.c.parent_id, m.c.machine, m.c.setup_min, m.c.run_min).where(m.c.parent_id.in_(open_ids))
    return {int(pid): (setup, run) for pid, machine, setup, run in conn.execute(q) if machine == on[int(pid)]}


def remaining_minutes(conn: Connection, forms: Any, tasks: Sequence[Mapping[str, Any]]) -> Decimal:
    """Run minutes left on the planned machines: each open task's remaining quantity × run time, plus
    its setup when it has not started (the times of its machine's row in ``modes``, else its own)."""
    times = _machine_times(conn, forms, tasks)
    total = D.ZERO
    for t in tasks:
        if t.get("status") == "done":
            continue
        setup, run = times.get(int(t["id"]), (None, None))
        setup = D.dec(setup if setup is not None else t.get("setup_min"))
        run = D.dec(run if run is not None else t.get("run_min"))
        left = max(D.dec(t.get("qty")) - D.dec(t.get("good_qty")), D.ZERO)
        total += left * run + (setup if t.get("actual_start") is None else D.ZERO)
    return total


def rollup(conn: Connection, forms: Any, ctx: Ctx, order_id: int,
           tasks: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """Recompute the order's computed fields from its tasks (``tasks``: as the caller holds them, in
    operation order) and write them (status included) as the engine's own fields; returns the values
    written."""
    order_form, key = D.compiled(conn, forms, D.ORDER), (D.ORDER, int(order_id))
    if tasks is None:               # not a job report holding the order: lock it now, then its tasks; keep nothing
        D.held(conn).pop(key, None)
        try:
            if D.locked(conn, order_form, order_id) is None:
                return {}
            return rollup(conn, forms, ctx, order_id, order_tasks(conn, forms, order_id))
        finally:
            D.held(conn).pop(key, None)
    order = D.locked(conn, order_form, order_id)
    if order is None:
        return {}
    tasks = list(tasks)
    qty = D.dec(order["qty"])
    last = tasks[-1] if tasks else None
    good = D.dec(last.get("good_qty")) if last else D.ZERO
    done = bool(tasks) and all(t.get("status") == "done" for t in tasks)
    current = next((t for t in tasks if t.get("status") != "done"), None)
    progress = min(Decimal(100), (good / qty * 100) if qty else D.ZERO).quantize(_PCT)
    patch: dict[str, Any] = {"good_qty": good, "scrap_qty": sum((D.dec(t.get("scrap_qty")) for t in tasks), D.ZERO),
                             "progress": progress, "current_operation": D.task_title(current) if current else None}
    starts = [t["actual_start"] for t in tasks if t.get("actual_start") is not None]
    if starts and order.get("started_at") is None:
        patch["started_at"] = min(starts)
    finished_at = order.get("finished_at")
    if done and finished_at is None:
        ends = [t["actual_end"] for t in tasks if t.get("actual_end") is not None]
        finished_at = patch["finished_at"] = max(ends) if ends else ctx.now
    expected = finished_at if done else expected_finish(conn, forms, tasks, now=ctx.now, zone=ctx.tz)
    patch["expected_finish"] = expected
    patch["on_time"] = on_time(order.get("due_date"), expected, done=done, now=ctx.now)
    status = order["status"]
    if status == "released" and starts:             # the state machine's start, found by from/to
        status = patch["status"] = "started"
    order = D.write(conn, forms, ctx, D.ORDER, [(order, patch)])[0]
    if status == "started" and done:                # then its finish
        D.write(conn, forms, ctx, D.ORDER, [(order, {"status": "finished"})])
        status = "finished"
    return {**patch, "status": status}


def on_time(due: dt.datetime | None, expected: dt.datetime | None, *, done: bool, now: dt.datetime) -> str | None:
    """on_time 按期 / at_risk 有风险 (expected after the due date) / late 延期 (finished after it, or past it)."""
    if due is None or expected is None:
        return None
    if done:
        return "on_time" if expected <= due else "late"
    if now > due:
        return "late"
    return "at_risk" if expected > due else "on_time"


# ---------------------------------------------------------------- views

def progress(conn: Connection, forms: Any, ctx: Ctx, order_id: int) -> dict[str, Any]:
    """The order as its reader may see it, with each task's quantities and WIP and the totals."""
    D.require_core(conn, forms)
    order_doc = S.get_record(conn=conn, registry=forms, ctx=ctx, form=D.ORDER, record_id=order_id)
    order = D.row(conn, D.compiled(conn, forms, D.ORDER), order_id) or {}
    tasks = order_tasks(conn, forms, order_id)
    task_form = D.compiled(conn, forms, D.TASK)
    named = {form: D.names(conn, forms, form, (t.get(key) for t in tasks))
             for key, form in (("work_center", "work_center"), ("machine", D.MACHINE))}
    out = []
    for i, t in enumerate(tasks):
        out.append({**task_view(conn, forms, task_form, t, named), "reached": number(reached(order, tasks, i)),
                    "wip": number(wip(order, tasks, i))})
    return {"order": order_doc, "tasks": out,
            "wip": number(sum((wip(order, tasks, i) for i in range(len(tasks))), D.ZERO)),
            "good_qty": order_doc.get("good_qty"), "scrap_qty": order_doc.get("scrap_qty"),
            "progress": order_doc.get("progress"), "current_operation": order_doc.get("current_operation"),
            "expected_finish": order_doc.get("expected_finish"), "on_time": order_doc.get("on_time")}


def number(v: Decimal) -> Any:
    """A quantity as a JSON number (10, 10.5)."""
    return int(v) if v == v.to_integral_value() else float(v)


def task_view(conn: Connection, forms: Any, compiled: Any, t: Mapping[str, Any],
              named: Mapping[str, Mapping[int, str]] | None = None) -> dict[str, Any]:
    """A task as JSON values, with the names of its work centre and machine (``named``: names read
    beforehand, by form, for many tasks at once)."""
    defn = compiled.definition
    keys = ("id", "code", "seq", "name", "status", "qty", "good_qty", "scrap_qty", "rework_qty", "work_center", "machine",
            "planned_start", "planned_end", "actual_start", "actual_end", "pinned")
    view: dict[str, Any] = {}
    for k in keys:
        f = defn.field(k)
        v = t.get(k)
        view[k] = fieldtypes.dump(f, v) if f is not None else v
    for key, form in (("work_center", "work_center"), ("machine", D.MACHINE)):
        rid = t.get(key)
        if named is not None and form in named:
            view[f"{key}_name"] = named[form].get(int(rid)) if rid is not None else None
        else:
            view[f"{key}_name"] = D.name_of(conn, forms, form, rid) or None
    return view


def dispatch(conn: Connection, forms: Any, ctx: Ctx, *, work_center: Any = None, machine: Any = None,
             limit: int = 500) -> list[dict[str, Any]]:
    """Open tasks (ready, running, paused, waiting) of released or started orders in planned-start
    order (unplanned last, then by priority and due date), for one work centre and/or machine
    (named by id or code); each with its order, item and the quantity available to work on."""
    D.require_core(conn, forms)
    compiled = D.compiled(conn, forms, D.TASK)
    access = form_access(compiled, ctx.actor)
    access.require("read")
    orders_form = D.compiled(conn, forms, D.ORDER)
    t, o = compiled.main, orders_form.main
    q = (sa.select(t, o.c.code.label("_order_code"), o.c.item.label("_item"), o.c.due_date.label("_due"),
                   o.c.priority.label("_priority"), o.c.qty.label("_order_qty"))
         .join(o, o.c.id == t.c.production_order)
         .where(t.c.deleted_at.is_(None), o.c.deleted_at.is_(None), t.c.status.in_(OPEN_TASKS), o.c.status.in_(LIVE_ORDERS)))
    scope = access.scope("read")
    if scope is not None:
        q = q.where(scope)
    if work_center not in (None, ""):
        q = q.where(t.c.work_center == _id_of(conn, forms, "work_center", work_center, "工作中心", "work centre"))
    if machine not in (None, ""):
        q = q.where(t.c.machine == _id_of(conn, forms, D.MACHINE, machine, "设备", "machine"))
    q = q.order_by(t.c.planned_start.is_(None), t.c.planned_start, o.c.priority, o.c.due_date.is_(None), o.c.due_date,
                   o.c.id, t.c.seq).limit(limit)
    found = [dict(r) for r in conn.execute(q).mappings()]
    named = {form: D.names(conn, forms, form, (r.get(key) for r in found))
             for key, form in (("work_center", "work_center"), ("machine", D.MACHINE), ("_item", D.ITEM))}
    goods = _goods(conn, compiled, {int(r["production_order"]) for r in found})
    out = []
    for r in found:
        view = task_view(conn, forms, compiled, r, named)
        before = [g for seq, g in goods.get(int(r["production_order"]), []) if seq < (r["seq"] or 0)]
        reached_qty = D.dec(r["_order_qty"]) if not before else before[-1]
        view.update(order=int(r["production_order"]), order_code=r["_order_code"],
                    item=r["_item"], item_name=named[D.ITEM].get(int(r["_item"])) if r["_item"] is not None else None,
                    due_date=fieldtypes.dump(orders_form.definition.field("due_date"), r["_due"]), priority=r["_priority"],
                    available=number(max(reached_qty - D.dec(r.get("good_qty")) - D.dec(r.get("scrap_qty")), D.ZERO)))
        out.append(view)
    if out:                                    # 缺料: components not in stock for the task now (materials.py)
        short = dispatch_shortages(conn, forms, ctx)
        for view in out:
            view["shortages"] = short.get(int(view["id"]), [])
    return out


def _goods(conn: Connection, compiled: Any, order_ids: set[int]) -> dict[int, list[tuple[int, Decimal]]]:
    """Each order's tasks as (seq, good) in operation order, for many orders in few queries."""
    t = compiled.main
    out: dict[int, list[tuple[int, Decimal]]] = {}
    ids = sorted(order_ids)
    for i in range(0, len(ids), 900):
        q = (sa.select(t.c.production_order, t.c.seq, t.c.good_qty)
             .where(t.c.production_order.in_(ids[i:i + 900]), t.c.deleted_at.is_(None)).order_by(t.c.seq, t.c.id))
        for oid, seq, good in conn.execute(q):
            out.setdefault(int(oid), []).append((seq if seq is not None else 0, D.dec(good)))
    return out


def _id_of(conn: Connection, forms: Any, form: str, value: Any, zh: str, en: str) -> int:
    compiled = D.compiled(conn, forms, form)
    text = str(value).strip()
    found = D.by_code(conn, compiled, text)
    rid = D.as_id(text)
    if found is None and rid is not None:
        found = D.row(conn, compiled, rid)
    if found is None:
        raise InvalidInput(f"找不到{zh} {text}：请用它的编码或 id", f"no {en} {text}: use its code or id")
    return int(found["id"])
