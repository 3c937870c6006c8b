"""Writing a schedule back onto the plant's records (issue 19): the index of a planning problem and the write-back.

:class:`PlanIndex` maps the ``mom.schedule-problem/1`` ids that ``planning.build_problem`` made back to
records (orders by code, tasks by order and task code, machines by code) and keeps what each record
looked like when it was read. :func:`write_back` writes a solution's planned start, end and machine onto
each task and the planned start and end onto each order, through the record service
(``records.batch.update_many``: permissions, hooks, audit) in the caller's transaction; a record that
changed in between refuses the whole write, naming it.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.production import documents as D
from mom.engines.records.access import form_access
from mom.engines.records.batch import update_many
from mom.engines.records.context import Ctx
from mom.platform.errors import Conflict, InvalidInput, NotFound

ORDER_FORM, TASK_FORM = "production_order", "operation_task"


@dataclass
class TaskRef:
    """A task of the problem: its record, and what write-back compares against."""
    id: int
    code: str
    row_version: int
    running: bool
    actual_start: dt.datetime | None
    planned_start: dt.datetime | None
    planned_end: dt.datetime | None
    machine: int | None


@dataclass
class OrderRef:
    id: int
    code: str
    row_version: int
    due: dt.datetime | None
    planned_start: dt.datetime | None
    planned_end: dt.datetime | None


@dataclass
class PlanIndex:
    """Problem ids -> records: orders by code, tasks by (order code, task code), machines by code."""
    origin: dt.datetime
    horizon_end: dt.datetime
    orders: dict[str, OrderRef] = field(default_factory=dict)
    tasks: dict[tuple[str, str], TaskRef] = field(default_factory=dict)
    machines: dict[str, int] = field(default_factory=dict)
    notes: list[dict[str, str]] = field(default_factory=list)
    shortages: list[dict[str, Any]] = field(default_factory=list)    # 缺料 per component (materials.py)

    def at(self, minute: int) -> dt.datetime:
        return self.origin + dt.timedelta(minutes=minute)


def core_form(conn: Connection, forms: Any, name: str) -> Any:
    try:
        return forms.get(conn, name)
    except NotFound:
        raise InvalidInput("还没有安装「制造基础」模型包：请先运行 mom pack install core（或在「模型包」页面安装）",
                           f"the core pack (Manufacturing basics) is not installed (form {name} is missing): "
                           "run mom pack install core first") from None


def require_writer(conn: Connection, forms: Any, ctx: Ctx) -> Ctx:
    """The caller must be allowed to update tasks and orders; the planned times of an order are read-only
    fields (the engine computes them), so they are written in the caller's name with the engine's right."""
    for name in (TASK_FORM, ORDER_FORM):
        form_access(core_form(conn, forms, name), ctx.actor).require("update")
    return D.acting(ctx)


def _update(conn: Connection, forms: Any, ctx: Ctx, form: str, refs: list[TaskRef] | list[OrderRef],
            patches: list[dict[str, Any]]) -> None:
    """All of ``form``'s patches through the record service at once; a record changed or deleted since the
    problem was read refuses the whole write, naming it."""
    try:
        update_many(conn=conn, registry=forms, ctx=ctx, form=form,
                    patches=[(r.id, p, r.row_version) for r, p in zip(refs, patches)])
    except (Conflict, NotFound) as exc:
        rid = (exc.detail or {}).get("record_id")
        code = next((r.code for r in refs if r.id == rid), None) or ", ".join(r.code for r in refs[:3])
        what = ("工序任务", "task") if form == TASK_FORM else ("工单", "order")
        raise Conflict(f"排程期间{what[0]} {code} 有了变化（报工、修改或删除）：排程结果没有写入，请重新排程",
                       f"{what[1]} {code} changed while the plan was computed (a report, an edit or a deletion): "
                       "nothing was written; plan again") from None


def iso_text(t: dt.datetime) -> str:
    return t.isoformat()


def write_back(conn: Connection, forms: Any, ctx: Ctx, index: PlanIndex, solution: Mapping[str, Any]) -> dict[str, int]:
    """Write ``solution`` (``mom.schedule-solution/1``) onto the tasks and orders of ``index``: each
    task's planned start, end and machine, each order's planned start (its first task) and end (its last),
    through the record service in the caller's transaction. A record that changed since the problem was
    built refuses the whole write (Conflict). Records whose values are already these are not touched.
    Returns how many tasks and orders were changed."""
    writer = require_writer(conn, forms, ctx)
    with D.engine_writes(conn):
        return _write(conn, forms, writer, index, solution)


def _write(conn: Connection, forms: Any, writer: Ctx, index: PlanIndex, solution: Mapping[str, Any]) -> dict[str, int]:
    span: dict[str, list[dt.datetime]] = {}
    changed = {"tasks": 0, "orders": 0, "tasks_unchanged": 0}
    task_refs: list[TaskRef] = []
    task_patches: list[dict[str, Any]] = []
    for op in solution.get("operations", []):
        ref = index.tasks.get((op["order"], op["operation"]))
        if ref is None:
            continue
        start = ref.actual_start if ref.running and ref.actual_start is not None else index.at(op["start"])
        end, machine = index.at(op["end"]), index.machines.get(op["resource"])
        s = span.setdefault(op["order"], [start, end])
        s[0], s[1] = min(s[0], start), max(s[1], end)
        if (ref.planned_start, ref.planned_end, ref.machine) == (start, end, machine):
            changed["tasks_unchanged"] += 1
            continue
        task_refs.append(ref)
        task_patches.append({"planned_start": iso_text(start), "planned_end": iso_text(end), "machine": machine})
    order_refs: list[OrderRef] = []
    order_patches: list[dict[str, Any]] = []
    for code, (start, end) in span.items():
        o = index.orders[code]
        if (o.planned_start, o.planned_end) != (start, end):
            order_refs.append(o)
            order_patches.append({"planned_start": iso_text(start), "planned_end": iso_text(end)})
    _lock_orders(conn, forms, sorted({index.orders[code].id for code in span}))
    _update(conn, forms, writer, TASK_FORM, task_refs, task_patches)
    _update(conn, forms, writer, ORDER_FORM, order_refs, order_patches)
    changed["tasks"], changed["orders"] = len(task_refs), len(order_refs)
    return changed


def _lock_orders(conn: Connection, forms: Any, ids: list[int]) -> None:
    """Lock the orders first, in id order, as a job report does (order, then its task): a plan written
    back while an operator reports on the same order waits instead of deadlocking (PostgreSQL; SQLite
    has one writer anyway)."""
    if not ids or conn.dialect.name != "postgresql":
        return
    table = forms.get(conn, ORDER_FORM).main
    conn.execute(sa.select(table.c.id).where(table.c.id.in_(ids)).order_by(table.c.id).with_for_update())
