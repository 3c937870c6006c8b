"""An order's expected finish (预计完工), counted in working time (issue 19).

The work left on each open operation — its remaining quantity × run time on the planned machine, plus
its setup when it has not started (the machine's own times in the task's ``modes``, else the task's) —
is laid out one operation after the other from now, each on the working calendar of its machine
(the machine's own, else its work centre's; a task without a machine: its work centre's; neither:
round the clock): only shift hours of workdays count, holidays do not (calendars.py reads the
calendars as planning does). Where the schedule has planned an operation that has not started, it
starts no earlier than its planned start and ends no earlier than its planned end (the plan knows the
machine's queue of other orders).

The scheduling engine has the same window arithmetic, but production may not import it (the engine
layers in pyproject.toml), so the walk through shifts is here, small and by the day.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.production import documents as D
from mom.engines.production.calendars import calendar_of, read_calendars
from mom.platform.errors import InvalidInput

#: how far a forecast looks for working time before it gives up on a calendar (then: round the clock)
MAX_DAYS = 3 * 366
CALENDAR_FORM, CENTRE_FORM = "work_calendar", "work_center"


def _aware(v: Any) -> dt.datetime | None:
    """A stored date-time as an aware one (SQLite gives naive UTC back)."""
    if not isinstance(v, dt.datetime):
        return None
    return v.replace(tzinfo=dt.timezone.utc) if v.tzinfo is None else v


def _minutes(hhmm: str) -> int:
    h, m = str(hhmm).split(":")
    return int(h) * 60 + int(m)


def work_end(start: dt.datetime, minutes: Decimal | float, calendar: Mapping[str, Any] | None,
             zone: dt.tzinfo) -> dt.datetime | None:
    """When ``minutes`` of work begun at ``start`` end on ``calendar`` (a problem calendar: workdays,
    shifts, holidays, as calendars.calendar_spec gives it) in the plant's ``zone``; it pauses between
    shifts, over days off and holidays. None when the calendar has no working time within
    :data:`MAX_DAYS`; no calendar: round the clock."""
    left = dt.timedelta(minutes=float(minutes))
    if calendar is None:
        return start + left
    shifts = []
    for a, b in calendar.get("shifts") or [("00:00", "24:00")]:
        s, e = _minutes(a), _minutes(b)
        shifts.append((s, e + 1440 if e <= s else e))     # a night shift runs into the next day
    shifts.sort()
    workdays = set(calendar.get("workdays") or range(1, 8))
    holidays = {dt.date.fromisoformat(d) for d in calendar.get("holidays") or ()}
    cursor = start.astimezone(zone)
    day = cursor.date() - dt.timedelta(days=1)            # yesterday's night shift may still be running
    for _ in range(MAX_DAYS):
        if day.isoweekday() in workdays and day not in holidays:
            midnight = dt.datetime.combine(day, dt.time(0), tzinfo=zone)
            for s, e in shifts:
                ws, we = midnight + dt.timedelta(minutes=s), midnight + dt.timedelta(minutes=e)
                if we <= cursor:
                    continue
                ws = max(ws, cursor)
                if ws + left <= we:
                    return (ws + left).astimezone(start.tzinfo)
                left -= we - ws
                cursor = we
        day += dt.timedelta(days=1)
    return None


def _task_times(conn: Connection, forms: Any, tasks: Sequence[Mapping[str, Any]]) -> dict[int, tuple[Any, Any]]:
    """task id -> (setup, run) of its ``modes`` row for the machine it is planned on, for the open tasks."""
    on = {int(t["id"]): t["machine"] for t in tasks if t.get("status") != "done" and t.get("machine") is not None}
    m = D.compiled(conn, forms, D.TASK).children.get("modes")
    if not on or m is None:
        return {}
    q = sa.select(m.c.parent_id, m.c.machine, m.c.setup_min, m.c.run_min).where(m.c.parent_id.in_(sorted(on)))
    return {int(pid): (setup, run) for pid, machine, setup, run in conn.execute(q) if machine == on[int(pid)]}


def work_left(task: Mapping[str, Any], times: Mapping[int, tuple[Any, Any]]) -> Decimal:
    """Working minutes left on an open task: remaining quantity × run time, + setup when not started."""
    setup, run = times.get(int(task["id"]), (None, None))
    setup = D.dec(setup if setup is not None else task.get("setup_min"))
    run = D.dec(run if run is not None else task.get("run_min"))
    left = max(D.dec(task.get("qty")) - D.dec(task.get("good_qty")), D.ZERO)
    return left * run + (setup if task.get("actual_start") is None else D.ZERO)


def task_calendars(conn: Connection, forms: Any, tasks: Sequence[Mapping[str, Any]]
                   ) -> dict[int, dict[str, Any] | None]:
    """task id -> the calendar its machine (else its work centre) works on, None: round the clock.
    A calendar whose values cannot be read counts as round the clock here (the planner is told when
    planning); a forecast never stops a job report."""
    open_tasks = [t for t in tasks if t.get("status") != "done"]
    machine_ids = sorted({int(t["machine"]) for t in open_tasks if t.get("machine") is not None})
    centre_ids = sorted({int(t["work_center"]) for t in open_tasks if t.get("work_center") is not None})
    machines: dict[int, dict[str, Any]] = {}
    centres: dict[int, dict[str, Any]] = {}
    if machine_ids or centre_ids:       # the machines with their centres' calendars, and the tasks' centres: one query
        mt, ct = D.compiled(conn, forms, D.MACHINE).main, D.compiled(conn, forms, CENTRE_FORM).main
        q = (sa.select(mt.c.id, mt.c.calendar, mt.c.work_center, ct.c.calendar.label("centre_calendar"))
             .select_from(mt.outerjoin(ct, ct.c.id == mt.c.work_center)).where(mt.c.id.in_(machine_ids)))
        for r in conn.execute(q).mappings():
            machines[int(r["id"])] = {"calendar": r["calendar"], "work_center": r["work_center"]}
            if r["work_center"] is not None:
                centres[int(r["work_center"])] = {"calendar": r["centre_calendar"]}
        rest = [c for c in centre_ids if c not in centres]
        if rest:
            centres.update({int(r["id"]): {"calendar": r["calendar"]} for r in conn.execute(
                sa.select(ct.c.id, ct.c.calendar).where(ct.c.id.in_(rest))).mappings()})
    chosen: dict[int, int | None] = {}
    for t in open_tasks:
        m = machines.get(int(t["machine"])) if t.get("machine") is not None else None
        chosen[int(t["id"])] = calendar_of(m if m is not None else {"work_center": t.get("work_center")}, centres)
    specs = _calendars(conn, forms, sorted({c for c in chosen.values() if c is not None}))
    return {tid: specs.get(cid) if cid is not None else None for tid, cid in chosen.items()}


def _calendars(conn: Connection, forms: Any, ids: list[int]) -> dict[int, dict[str, Any] | None]:
    """The calendars ``ids`` as problem calendars; one that cannot be read is left out (round the clock)."""
    if not ids:
        return {}
    f_cal = D.compiled(conn, forms, CALENDAR_FORM)
    try:
        return {cid: spec for cid, (_, spec) in read_calendars(conn, f_cal, ids).items()}
    except InvalidInput:
        out: dict[int, dict[str, Any] | None] = {}
        for cid in ids:         # only the unreadable one counts as round the clock
            try:
                out.update({c: spec for c, (_, spec) in read_calendars(conn, f_cal, [cid]).items()})
            except InvalidInput:
                out[cid] = None
        return out


def expected_finish(conn: Connection, forms: Any, tasks: Sequence[Mapping[str, Any]], *, now: dt.datetime,
                    zone: dt.tzinfo) -> dt.datetime:
    """When the order's open ``tasks`` (in operation order) are expected to be done, from ``now``, in
    the working time of their machines' calendars and not before the schedule's planned ends."""
    open_tasks = [t for t in tasks if t.get("status") != "done"]
    if not open_tasks:
        return now
    naive = now.tzinfo is None                            # given as naive UTC: answered so
    now = _aware(now) or now
    times = _task_times(conn, forms, open_tasks)
    calendars = task_calendars(conn, forms, open_tasks)
    cursor = now
    for t in open_tasks:
        work = work_left(t, times)
        started = t.get("actual_start") is not None
        planned_start, planned_end = _aware(t.get("planned_start")), _aware(t.get("planned_end"))
        start = cursor
        if not started and planned_start is not None and planned_start > start:
            start = planned_start
        cal = calendars.get(int(t["id"]))
        end = work_end(start, work, cal, zone) if work > 0 else start
        if end is None:                                   # a calendar without working time: round the clock
            end = start + dt.timedelta(minutes=float(work))
        if not started and planned_end is not None and planned_end > end:
            end = planned_end
        cursor = end
    return cursor.astimezone(dt.timezone.utc).replace(tzinfo=None) if naive else cursor
