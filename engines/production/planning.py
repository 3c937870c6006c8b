"""Scheduling the plant's released work from the database (issue 19, parts C and phase 2).

``build_problem`` reads the released and started production orders and their operation tasks that are
not done, the machines that may run them, their states, calendars and changeover families, and turns
them into a ``mom.schedule-problem/1`` document (docs/scheduling.md) plus a :class:`PlanIndex` that maps
the problem's ids back to records. ``write_back`` (writeback.py) writes a solution's planned start, end
and machine onto each task and the planned start and end onto each order, through the record service,
in the caller's transaction. ``plan`` does both around a solve it is given (this engine does not import
the scheduling engine: the CLI and the API pass ``mom.engines.scheduling`` in).

What the problem says, in the plant's words:

- an order's operations follow its tasks' ``seq``; a done task is left out;
- each task may run on the machines of its ``modes`` table (each with its own setup and run minutes,
  else the task's) and on its own machine (with the task's minutes); a task with neither runs on any
  machine of its work centre; duration = setup + run minutes × what is left of the order quantity (qty − good of this task);
- a running task stays where it runs: pinned on its machine from when it started (from now, if that
  was earlier), for the work it has left; a task the planner pinned keeps its planned start and machine;
- machines work on their calendar (the machine's, else its work centre's): shifts on workdays, not on
  holidays; a machine without either works around the clock (calendars.py);
- a machine 故障停机 (down) or 保养 (maintenance) takes no work from now for MOM_PRODUCTION_BREAKDOWN_HOURS
  (default 4); a task that may run only there waits, one running there resumes after it (changeovers.py);
- routing operations' ``setup_family`` become the problem's ``family`` setup matrix, machines'
  ``setup_family`` their state before the first job (changeovers.py);
- due = the order's due date, weight = 11 − priority (priority 1, the most urgent, weighs 10);
- time 0 is ``now`` in the plant's time zone, to the minute;
- components (物料约束, materials.py): an operation waits for the purchase or production orders that cover
  its components; what nothing covers is noted as 缺料.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from mom.engines.production.calendars import calendar_of, read_calendars
from mom.engines.production import materials
from mom.engines.production.changeovers import (FAMILY, STATE_ZH, Families, breakdown_hours, routing_families,
                                                unavailable_minutes)
from mom.engines.production.writeback import (ORDER_FORM, TASK_FORM, OrderRef, PlanIndex, TaskRef, core_form, iso_text,
                                              require_writer, write_back)
from mom.engines.records.context import Ctx
from mom.platform.db.engine import read_tx, write_tx
from mom.platform.errors import InvalidInput

__all__ = ["PlanIndex", "TaskRef", "OrderRef", "build_problem", "write_back", "summary", "plan"]

PROBLEM_FORMAT = "mom.schedule-problem/1"
MACHINE_FORM = "machine"
CENTRE_FORM, CALENDAR_FORM, ROUTING_FORM = "work_center", "work_calendar", "routing"
OPEN_ORDERS = ("released", "started")
TASK_ORDER = "production_order"             # the task's reference to its order (the contract's "order")

Solve = Callable[[dict[str, Any], float], dict[str, Any]]


# ---------------------------------------------------------------- reading

_table = core_form
_writer = require_writer          # the name proposals.py (helper W2) calls


def _rows(conn: Connection, compiled: Any, *where: Any) -> list[dict[str, Any]]:
    t = compiled.main
    return [dict(r) for r in conn.execute(sa.select(t).where(t.c.deleted_at.is_(None), *where).order_by(t.c.id)).mappings()]


def _children(conn: Connection, compiled: Any, key: str, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    if not ids or key not in compiled.children:
        return out
    t = compiled.children[key]
    for chunk in range(0, len(ids), 900):           # SQLite's bound-parameter limit
        q = sa.select(t).where(t.c.parent_id.in_(ids[chunk:chunk + 900])).order_by(t.c.parent_id, t.c.seq, t.c.id)
        for r in conn.execute(q).mappings():
            out.setdefault(int(r["parent_id"]), []).append(dict(r))
    return out


def _num(v: Any) -> Decimal:
    return Decimal(str(v)) if v is not None else Decimal(0)


#: a pin further ahead than this is out of reach of any plan (the board refuses such pins; one written by
#: other means is planned as usual, with a note, rather than making the whole plan fail)
PIN_REACH_DAYS = 366


def _aware(v: dt.datetime | None) -> dt.datetime | None:
    return v.replace(tzinfo=dt.timezone.utc) if v is not None and v.tzinfo is None else v


def build_problem(conn: Connection, forms: Any, *, now: dt.datetime, horizon_days: int = 14,
                  tz: dt.tzinfo | None = None) -> tuple[dict[str, Any], PlanIndex]:
    """The ``mom.schedule-problem/1`` of the released and started orders' remaining tasks, and its index.

    ``now`` is time 0 (taken in ``tz``, the plant's zone, default ``now``'s own); ``horizon_days``
    marks the planning horizon: orders planned to end after it are named in the summary. Refused in
    words (InvalidInput) when there is nothing to plan or a task has no machine to run on."""
    zone = tz or now.tzinfo or dt.timezone.utc
    origin = now.astimezone(zone).replace(second=0, microsecond=0)
    index = PlanIndex(origin=origin, horizon_end=origin + dt.timedelta(days=horizon_days))
    f_order, f_task = _table(conn, forms, ORDER_FORM), _table(conn, forms, TASK_FORM)
    f_machine, f_centre, f_cal = (_table(conn, forms, n) for n in (MACHINE_FORM, CENTRE_FORM, CALENDAR_FORM))
    orders = _rows(conn, f_order, f_order.main.c.status.in_(OPEN_ORDERS))
    if not orders:
        raise InvalidInput("没有可排程的工单：没有「已下达」或「生产中」的生产工单。请先下达工单（mom production release 工单号）",
                           "nothing to schedule: no production order is released or started. Release an order first "
                           "(mom production release ORDER_CODE)")
    tt = f_task.main
    tasks = _rows(conn, f_task, tt.c[TASK_ORDER].in_([o["id"] for o in orders]), sa.or_(tt.c.status.is_(None), tt.c.status != "done"))
    modes = _children(conn, f_task, "modes", [t["id"] for t in tasks])
    machines = {m["id"]: m for m in _rows(conn, f_machine)}
    centres = {c["id"]: c for c in _rows(conn, f_centre)}
    by_centre: dict[int, list[int]] = {}
    for m in machines.values():
        by_centre.setdefault(m["work_center"], []).append(m["id"])
    families = Families(routing_families(conn, _table(conn, forms, ROUTING_FORM), [o.get("routing") for o in orders]))
    b = _Builder(index, machines, centres, by_centre, families, breakdown_hours())
    by_order: dict[int, list[dict[str, Any]]] = {}
    for t in sorted(tasks, key=lambda t: (t["seq"] if t["seq"] is not None else 1 << 30, t["id"])):
        by_order.setdefault(t[TASK_ORDER], []).append(t)
    for o in orders:
        for t in by_order.get(o["id"], []):
            b.note_family(o, t, modes.get(t["id"], []))
    out_orders = [o for o in (b.order(o, by_order.get(o["id"], []), modes) for o in orders) if o is not None]
    b.note_machines()
    if not out_orders:
        raise InvalidInput("没有可排程的工序：已下达的工单的工序任务都已完成", "nothing to schedule: every task of the released orders is done")
    b.problems.raise_if_any()
    calendars = b.calendars(conn, f_cal)
    extra = _other_downtime(conn, forms, b, origin)      # 维修保养: PM windows, open repairs (hook mom_machine_downtime)
    resources = []
    for mid in sorted(b.used):
        m = machines[mid]
        cal_id = b.calendar_of(mid)
        resources.append({"id": m["code"], "name": m.get("name") or m["code"],
                          **({"calendar": calendars[cal_id][0]} if cal_id in calendars else {}),
                          **({"downtime": down} if (down := _downtime(b.down.get(mid), extra.get(mid))) else {}),
                          **({"initial": init} if (init := families.initial(m, b.running_family.get(mid))) else {})})
    problem = {"format": PROBLEM_FORMAT, "name": f"plant {origin:%Y-%m-%d %H:%M}", "origin": origin.isoformat(),
               "calendars": {code: spec for code, spec in calendars.values()}, "resources": resources,
               "orders": out_orders}
    if families.matrix():
        problem["setup_matrices"] = families.matrix()
    # 物料约束: components arrive from stock, purchase or production orders (materials.py)
    materials.constrain(problem, materials.allocate(conn, forms, tz=zone, orders=orders), origin,
                        {key: ref.id for key, ref in index.tasks.items()}, index)
    return problem, index


def _other_downtime(conn: Connection, forms: Any, b: "_Builder", origin: dt.datetime) -> dict[int, list[list[int]]]:
    """Minutes [from, to) after ``origin`` each used machine is unavailable by a plug-in's ``mom_machine_downtime``
    (the equipment pack: PM windows and open repair orders), each named in the plan's notes."""
    from mom.platform.plugins import plugin_manager

    out: dict[int, list[list[int]]] = {}
    end = origin + dt.timedelta(days=366)
    for got in plugin_manager().hook.mom_machine_downtime(conn=conn, forms=forms, machine_ids=sorted(b.used), start=origin, end=end):
        for mid, a, z, why in got or ():
            lo, hi = max(int((a - origin).total_seconds() // 60), 0), math.ceil((z - origin).total_seconds() / 60)
            if hi > lo and int(mid) in b.machines:
                out.setdefault(int(mid), []).append([lo, hi])
                m = b.machines[int(mid)]
                at = f"{a.astimezone(origin.tzinfo):%m-%d %H:%M} 至 {z.astimezone(origin.tzinfo):%m-%d %H:%M}"
                b._note(f"设备「{m.get('name') or m['code']}」{why}：{at} 不安排任务",
                        f"machine {m['code']}: {why}, nothing planned {at.replace(' 至 ', ' to ')}")
    return out


def _downtime(down: int | None, extra: list[list[int]] | None) -> list[list[int]]:
    """The machine's downtime intervals, overlapping ones merged (the solver's no-overlap takes them as they are)."""
    spans = sorted(([[0, down]] if down else []) + (extra or []))
    merged: list[list[int]] = []
    for lo, hi in spans:
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return merged


class _Problems:
    """Every task that cannot be planned, each named in words, raised at once."""

    def __init__(self) -> None:
        self.zh: list[str] = []
        self.en: list[str] = []

    def add(self, zh: str, en: str) -> None:
        self.zh.append(zh)
        self.en.append(en)

    def raise_if_any(self) -> None:
        if self.zh:
            raise InvalidInput("无法排程：" + "；".join(self.zh[:20]), "cannot schedule: " + "; ".join(self.en[:20]))


class _Builder:
    """The orders and tasks of the problem; the machines they use and the calendars of those."""

    def __init__(self, index: PlanIndex, machines: dict[int, dict[str, Any]], centres: dict[int, dict[str, Any]],
                 by_centre: dict[int, list[int]], families: Families, breakdown: float) -> None:
        self.index, self.machines, self.centres, self.by_centre = index, machines, centres, by_centre
        self.families, self.breakdown = families, breakdown
        self.down = {mid: n for mid, m in machines.items() if (n := unavailable_minutes(m, breakdown)) > 0}
        self.running_family: dict[int, str] = {}
        self.used: set[int] = set()
        self.problems = _Problems()

    def note_family(self, o: dict[str, Any], t: dict[str, Any], rows: list[dict[str, Any]]) -> None:
        """First pass: every machine's setup minutes for ``t`` count towards its family's base time."""
        family = self.families.of(o, t)
        if family is not None:
            self.families.note_setups(family, [setup for _, setup, _ in self._mode_list(t, rows)])

    def note_machines(self) -> None:
        """Say which machines the plan keeps free, and why."""
        for mid in sorted(self.used & set(self.down)):
            m = self.machines[mid]
            state = STATE_ZH.get(m.get("status"), m.get("status"))
            self._note(f"设备「{m.get('name') or m['code']}」{state}：从现在起 {self.breakdown:g} 小时内不安排任务，"
                       "修好后请把设备状态改回「运行」或「空闲」再排程",
                       f"machine {m['code']} is {m.get('status')}: nothing is planned on it for {self.breakdown:g} hours from "
                       "now; set it back to running or idle when it is repaired and plan again")

    def minute(self, t: dt.datetime | None) -> int:
        t = _aware(t)
        return 0 if t is None else max(0, int((t - self.index.origin).total_seconds() // 60))

    def order(self, o: dict[str, Any], tasks: list[dict[str, Any]], modes: dict[int, list[dict[str, Any]]]
              ) -> dict[str, Any] | None:
        if not tasks:
            return None
        code = o["code"]
        self.index.orders[code] = OrderRef(o["id"], code, int(o["row_version"]), _aware(o.get("due_date")),
                                           _aware(o.get("planned_start")), _aware(o.get("planned_end")))
        qty = _num(o.get("qty"))
        ops: list[dict[str, Any]] = []
        for t in tasks:
            op = self.operation(code, t, modes.get(t["id"], []), qty, previous=ops[-1] if ops else None,
                                family=self.families.of(o, t))
            if op is not None:
                ops.append(op)
        if not ops:
            return None
        out: dict[str, Any] = {"id": code, "quantity": float(qty) if qty > 0 else 1.0, "release": 0, "operations": ops}
        if o.get("due_date") is not None:
            out["due"] = self.minute(o["due_date"])
        prio = o.get("priority")
        out["weight"] = max(1, 11 - int(prio)) if prio is not None else 6
        return out

    def _mode_list(self, t: dict[str, Any], rows: list[dict[str, Any]]) -> list[tuple[int, Decimal, Decimal]]:
        setup, run = _num(t.get("setup_min")), _num(t.get("run_min"))
        found: dict[int, tuple[int, Decimal, Decimal]] = {}
        # the modes table first (the routing's machines with their own times), in its order: a re-plan
        # sees the same problem after the task's planned machine was written
        for r in rows:
            mid = r.get("machine")
            if mid in self.machines and mid not in found:
                found[mid] = (mid, _num(r["setup_min"]) if r.get("setup_min") is not None else setup,
                              _num(r["run_min"]) if r.get("run_min") is not None else run)
        if t.get("machine") in self.machines and t["machine"] not in found:
            found[t["machine"]] = (t["machine"], setup, run)
        if not found:
            for mid in self.by_centre.get(t.get("work_center"), []):
                found[mid] = (mid, setup, run)
        return list(found.values())

    def operation(self, order: str, t: dict[str, Any], rows: list[dict[str, Any]], qty: Decimal,
                  previous: dict[str, Any] | None, family: str | None = None) -> dict[str, Any] | None:
        code = t["code"]
        running = t.get("status") == "running"
        options = self._mode_list(t, rows)
        if not options:
            centre = self.centres.get(t.get("work_center"), {}).get("name") or "（未指定）"
            self.problems.add(f"订单 {order} 的工序「{t.get('name') or code}」（{code}）没有可用的设备：请为它指定设备，"
                              f"或在工作中心「{centre}」下建设备",
                              f"operation {t.get('name') or code} ({code}) of order {order} has no machine to run on: give it "
                              f"a machine, or add machines to its work centre")
            return None
        left = max(Decimal(0), qty - _num(t.get("good_qty")))
        modes = [{"resource": self.machines[mid]["code"],
                  "duration": int(math.ceil((Decimal(0) if running else self.families.rest(family, setup)) + run * left))}
                 for mid, setup, run in options]
        for mid, _, _ in options:
            self.used.add(mid)
            self.index.machines[self.machines[mid]["code"]] = mid
        op: dict[str, Any] = {"id": code, "name": t.get("name") or code, "modes": modes}
        if family is not None:
            op["attributes"] = {FAMILY: family}
        ref = TaskRef(t["id"], code, int(t["row_version"]), running, _aware(t.get("actual_start")),
                      _aware(t.get("planned_start")), _aware(t.get("planned_end")), t.get("machine"))
        self.index.tasks[(order, code)] = ref
        where = t["machine"] if any(m == t.get("machine") for m, _, _ in options) else options[0][0]
        if running:
            op["pinned"] = {"resource": self.machines[where]["code"], "start": self.minute(ref.actual_start or self.index.origin)}
            op["after"] = []            # it runs already: it waits for nothing
        elif (t.get("pinned") and ref.planned_start is not None
              and ref.planned_start > self.index.origin + dt.timedelta(days=PIN_REACH_DAYS)):
            self._note(f"工序任务 {code} 锁定在 {ref.planned_start:%Y-%m-%d}，超出排程范围：照常排程（请重新锁定）",
                       f"task {code} is pinned to {ref.planned_start:%Y-%m-%d}, beyond any plan: planned as usual (pin it again)")
        elif t.get("pinned") and ref.planned_start is not None:
            start = self.minute(ref.planned_start)
            op["pinned"] = {"resource": self.machines[where]["code"], "start": start}
            if ref.planned_end is not None and ref.planned_end > ref.planned_start and start > 0:
                op["pinned"]["end"] = self.minute(ref.planned_end)
            op["after"] = []
            if start == 0 and ref.planned_start < self.index.origin:
                self._note(f"工序任务 {code} 锁定在 {ref.planned_start.astimezone(self.index.origin.tzinfo):%m-%d %H:%M} 开始，"
                           "该时间已过但尚未开工：按现在开始安排",
                           f"task {code} is pinned to start at a time already past and has not started: kept from now")
        elif t.get("pinned"):
            self._note(f"工序任务 {code} 已锁定但没有计划开始时间：照常排程", f"task {code} is pinned but has no planned start: planned as usual")
        tb = t.get("transfer_batch")
        if tb is not None and _num(tb) > 0 and previous is not None and "pinned" not in op:
            op["transfer_batch"] = max(1, int(math.ceil(_num(tb))))
        if "pinned" in op:
            self._held(op, where, code)
        if running and family is not None:
            self.running_family[where] = family
        return op

    def _held(self, op: dict[str, Any], where: int, code: str) -> None:
        """A running or pinned task on a machine that is down waits for it: from the end of its downtime."""
        end = self.down.get(where, 0)
        if op["pinned"]["start"] >= end:
            return
        op["pinned"]["start"] = end
        op["pinned"].pop("end", None)
        m = self.machines[where]
        self._note(f"工序任务 {code} 在设备「{m.get('name') or m['code']}」上，该设备{STATE_ZH.get(m.get('status'), '')}："
                   f"按 {self.breakdown:g} 小时后继续安排",
                   f"task {code} is on machine {m['code']}, which is {m.get('status')}: kept there from {self.breakdown:g} hours from now")

    def _note(self, zh: str, en: str) -> None:
        self.index.notes.append({"zh-CN": zh, "en": en})

    def calendar_of(self, mid: int) -> int | None:
        return calendar_of(self.machines[mid], self.centres)

    def calendars(self, conn: Connection, f_cal: Any) -> dict[int, tuple[str, dict[str, Any]]]:
        return read_calendars(conn, f_cal, sorted({c for c in (self.calendar_of(m) for m in self.used) if c is not None}))


# ---------------------------------------------------------------- writing back

# ---------------------------------------------------------------- the whole step

def summary(index: PlanIndex, solution: Mapping[str, Any]) -> dict[str, Any]:
    """What the planner reads: status, orders late (with due and planned end), makespan, notes, shortages (缺料)."""
    late, beyond = [], []
    for o in solution.get("orders", []):
        end = index.at(o["completion"])
        ref = index.orders.get(o["order"])
        if o.get("late"):
            late.append({"order": o["order"], "due": iso_text(ref.due.astimezone(index.origin.tzinfo)) if ref and ref.due else None,
                         "planned_end": iso_text(end), "late_minutes": o["tardiness"]})
        if end > index.horizon_end:
            beyond.append(o["order"])
    k = solution.get("kpis", {})
    makespan = int(k.get("makespan", 0))
    return {"status": solution.get("status"), "feasible": bool(solution.get("check", {}).get("feasible")),
            "origin": iso_text(index.origin), "orders": len(index.orders), "tasks": len(index.tasks),
            "late_orders": late, "makespan_minutes": makespan, "makespan_at": iso_text(index.at(makespan)),
            "beyond_horizon": beyond, "notes": index.notes, "shortages": index.shortages}


def plan(engine: Engine, forms: Any, ctx: Ctx, *, solve: Solve, time_limit: float = 10.0, apply: bool = True,
         horizon_days: int = 14) -> dict[str, Any]:
    """Build the problem (a read transaction), ``solve(problem, time_limit)`` -> solution document
    (outside any transaction: no lock is held while it thinks), and, when ``apply`` and the schedule
    passed the checker, write it back in one write transaction. Returns ``{summary, written, changed,
    solution}``; ``written`` is False for a dry run or a schedule that failed the checker."""
    with read_tx(engine) as conn:
        if apply:
            require_writer(conn, forms, ctx)          # refuse before the solve, not after it
        problem, index = build_problem(conn, forms, now=ctx.now, tz=ctx.tz, horizon_days=horizon_days)
    doc = solve(problem, time_limit)
    out: dict[str, Any] = {"summary": summary(index, doc), "written": False, "changed": None, "solution": doc}
    if apply and out["summary"]["feasible"]:
        with write_tx(engine) as conn:
            out["changed"] = write_back(conn, forms, ctx, index, doc)
        out["written"] = True
    return out
