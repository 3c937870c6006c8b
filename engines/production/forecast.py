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

import bisect
import datetime as dt
import weakref
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.production import documents as D
from mom.engines.production.calendars import calendar_of, read_calendars
from mom.platform.errors import InvalidInput, NotFound

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


class _Pattern:
    """A calendar's shifts as minutes from midnight (a night shift ends past 1440), workdays, holidays
    (sorted, and as a set), and the working time of a week without a holiday (counted when first asked)."""

    def __init__(self, calendar: Mapping[str, Any]) -> None:
        shifts = []
        for a, b in calendar.get("shifts") or [("00:00", "24:00")]:
            s, e = _minutes(a), _minutes(b)
            shifts.append((s, e + 1440 if e <= s else e))     # a night shift runs into the next day
        self.shifts = sorted(shifts)
        self.workdays = frozenset(calendar.get("workdays") or range(1, 8))
        self.holidays = sorted({dt.date.fromisoformat(d) for d in calendar.get("holidays") or ()})
        self.off = set(self.holidays)
        self._week: dt.timedelta | None = None

    @property
    def week(self) -> dt.timedelta:
        if self._week is None:
            self._week = dt.timedelta(minutes=_week_minutes(self.shifts, self.workdays))
        return self._week


#: the patterns of the calendars expected_finish took from the cache (never changed in place), by identity
_PATTERNS: dict[int, tuple[Mapping[str, Any], _Pattern]] = {}


def _pattern_of(calendar: Mapping[str, Any]) -> _Pattern:
    hit = _PATTERNS.get(id(calendar))
    if hit is not None and hit[0] is calendar:
        return hit[1]
    if len(_PATTERNS) > _CACHE_MAX:
        _PATTERNS.clear()
    pattern = _Pattern(calendar)
    _PATTERNS[id(calendar)] = (calendar, pattern)
    return pattern


def _week_minutes(shifts: list[tuple[int, int]], workdays: frozenset[int]) -> int:
    """Working minutes in any seven days in a row without a holiday (a night shift counted where it runs,
    overlapping shifts once): the week pattern repeats, so every such week holds the same."""
    base = dt.date(2024, 1, 1)                             # a Monday; the week measured is days 0-6
    spans = sorted((d * 1440 + s, d * 1440 + e) for d in range(-2, 8)
                   if (base + dt.timedelta(days=d)).isoweekday() in workdays for s, e in shifts)
    total, reach = 0, 0
    for s, e in spans:
        s, e = max(s, reach, 0), min(e, 7 * 1440)
        if e > s:
            total += e - s
        reach = max(reach, e)
    return total


def work_end(start: dt.datetime, minutes: Decimal | float, calendar: Mapping[str, Any] | None,
             zone: dt.tzinfo, *, pattern: _Pattern | None = None) -> dt.datetime | None:
    """When ``minutes`` of work begun at ``start`` end on ``calendar`` (a problem calendar: workdays,
    shifts, holidays, as calendars.calendar_spec gives it) in the plant's ``zone``; it pauses between
    shifts, over days off and holidays. None when the calendar has no working time within
    :data:`MAX_DAYS`; no calendar: round the clock.

    The walk goes day by day in the plant's wall-clock time, but whole weeks without a holiday are
    skipped in one step (each holds the week pattern's working time), so its cost grows with the
    holidays on the way, not with the work left: a few hundred steps at most."""
    left = dt.timedelta(minutes=float(minutes))
    if calendar is None:
        return start + left
    p = pattern or _Pattern(calendar)
    shifts, workdays, holidays, off = p.shifts, p.workdays, p.holidays, p.off
    cursor = start.astimezone(zone).replace(tzinfo=None)  # wall-clock time in the plant
    day = cursor.date() - dt.timedelta(days=1)            # yesterday's night shift may still be running
    last_day = day + dt.timedelta(days=MAX_DAYS - 1)
    while day <= last_day:
        midnight = dt.datetime.combine(day, dt.time(0))
        if cursor <= midnight:                            # nothing of this day begun: skip whole weeks
            week = p.week
            if not week:
                return None
            h = bisect.bisect_left(holidays, day - dt.timedelta(days=1))
            free = (holidays[h] - day).days if h < len(holidays) else MAX_DAYS + 7
            weeks = min(free, (last_day - day).days + 1) // 7
            weeks = min(weeks, (left - dt.timedelta(microseconds=1)) // week)
            if weeks > 0:
                left -= week * weeks
                day += dt.timedelta(days=7 * weeks - 1)   # the last day's shift past midnight is still to do
                cursor = midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0))
                midnight -= dt.timedelta(days=1)
        if day.isoweekday() in workdays and day not in off:
            for s, e in shifts:
                ws, we = midnight + dt.timedelta(minutes=s), midnight + dt.timedelta(minutes=e)
                if we <= cursor:
                    continue
                ws = max(ws, cursor)
                if ws + left <= we:
                    return (ws + left).replace(tzinfo=zone).astimezone(start.tzinfo)
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
    known = D.held(conn).get(D.TASK_TIMES)     # a job report read them with the order's tasks
    if known is not None and all(tid in known for tid in on):
        return {tid: known[tid] for tid in on if known[tid] is not None}
    q = _built(("modes", m), lambda: sa.select(m.c.parent_id, m.c.machine, m.c.setup_min, m.c.run_min)
               .where(m.c.parent_id.in_(sa.bindparam("ids", expanding=True))))
    return {int(pid): (setup, run) for pid, machine, setup, run in conn.execute(q, {"ids": sorted(on)})
            if machine == on[int(pid)]}


#: statements built once per form version (their tables), run with bound parameters
_BUILT: dict[tuple[Any, ...], Any] = {}


def _built(key: tuple[Any, ...], build: Any) -> Any:
    q = _BUILT.get(key)
    if q is None:
        if len(_BUILT) > 64:
            _BUILT.clear()
        q = _BUILT[key] = build()
    return q


def work_left(task: Mapping[str, Any], times: Mapping[int, tuple[Any, Any]]) -> Decimal:
    """Working minutes left on an open task: remaining quantity × run time, + setup when not started."""
    setup, run = times.get(int(task["id"]), (None, None))
    setup = D.dec(setup if setup is not None else task.get("setup_min"))
    run = D.dec(run if run is not None else task.get("run_min"))
    left = max(D.dec(task.get("qty")) - D.dec(task.get("good_qty")), D.ZERO)
    return left * run + (setup if task.get("actual_start") is None else D.ZERO)


def calendar_forms(conn: Connection, forms: Any) -> tuple[Any, Any, Any] | None:
    """The machine, work centre and calendar forms when they have the fields the forecast reads (else None)."""
    try:
        m, c, cal = (D.compiled(conn, forms, n) for n in (D.MACHINE, CENTRE_FORM, CALENDAR_FORM))
    except NotFound:
        return None
    ok = {"calendar", "work_center"} <= set(m.main.c.keys()) and "calendar" in c.main.c \
        and {"row_version", "created_at", "updated_at", "deleted_at"} <= set(cal.main.c.keys())
    return (m, c, cal) if ok else None


_CAL = ("_cal", "_cal_id", "_cal_row_version", "_cal_created_at", "_cal_updated_at", "_cal_deleted_at")


def task_calendar_join(t: Any, machines: Any, centres: Any, calendars: Any) -> tuple[Any, list[Any]]:
    """The task table ``t`` joined to the working calendar of each task as :func:`task_calendars` chooses it
    (its machine's, else the machine's work centre's; a task without a machine: its work centre's), and
    the columns that name the calendar and its version (:func:`task_calendar_of` reads them)."""
    m, wm, wt = machines.main.alias("fc_m"), centres.main.alias("fc_wm"), centres.main.alias("fc_wt")
    cal = calendars.main.alias("fc_cal")
    chosen = sa.case((m.c.id.is_not(None), sa.func.coalesce(m.c.calendar, wm.c.calendar)), else_=wt.c.calendar)
    source = (t.outerjoin(m, m.c.id == t.c.machine).outerjoin(wm, wm.c.id == m.c.work_center)
              .outerjoin(wt, wt.c.id == t.c.work_center).outerjoin(cal, cal.c.id == chosen))
    cols = [chosen.label(_CAL[0]), *(cal.c[k].label(f"_cal_{k}") for k in ("id", "row_version", "created_at", "updated_at",
                                                                            "deleted_at"))]
    return source, cols


def task_calendar_of(row: dict[str, Any], calendars: Any) -> tuple[int | None, bool, tuple[Any, ...] | None]:
    """Take :func:`task_calendar_join`'s columns out of a task's ``row``: (its calendar's id or None, whether
    that calendar's row was found, its version — None when deleted)."""
    cid, rid, rv, created, updated, deleted = (row.pop(k) for k in _CAL)
    if cid is None:
        return None, False, None
    if rid is None:
        return int(cid), False, None
    return int(cid), True, None if deleted is not None else (calendars.version, rv, created, updated)


def task_calendars(conn: Connection, forms: Any, tasks: Sequence[Mapping[str, Any]]
                   ) -> dict[int, dict[str, Any] | None]:
    """task id -> the calendar its machine (else its work centre) works on, None: round the clock.
    A calendar whose values cannot be read counts as round the clock here (the planner is told when
    planning); a forecast never stops a job report.

    The machines, their centres and the calendars' versions come in one query; a calendar's shifts
    and holidays are read again only when its row changed (see :func:`_calendars`)."""
    open_tasks = [t for t in tasks if t.get("status") != "done"]
    known = D.held(conn).get(D.TASK_CALENDARS)      # a job report read them with the order's tasks
    if known is not None and all(int(t["id"]) in known for t in open_tasks):
        picked = {int(t["id"]): known[int(t["id"])] for t in open_tasks}
        versions = {cid: version for cid, seen, version in picked.values() if cid is not None and seen}
        specs = _calendars(conn, forms, sorted({cid for cid, _, _ in picked.values() if cid is not None}), versions)
        return {tid: specs.get(cid) if cid is not None else None for tid, (cid, _, _) in picked.items()}
    machine_ids = sorted({int(t["machine"]) for t in open_tasks if t.get("machine") is not None})
    centre_ids = sorted({int(t["work_center"]) for t in open_tasks if t.get("work_center") is not None})
    machines: dict[int, dict[str, Any]] = {}
    centres: dict[int, dict[str, Any]] = {}
    versions: dict[int, tuple[Any, ...] | None] = {}   # calendar id -> its version (None: deleted)
    if machine_ids or centre_ids:
        f_cal = D.compiled(conn, forms, CALENDAR_FORM)
        mt, ct, cal = D.compiled(conn, forms, D.MACHINE).main, D.compiled(conn, forms, CENTRE_FORM).main, f_cal.main

        def version(r: Mapping[str, Any], prefix: str) -> None:
            cid = r[f"{prefix}id"]
            if cid is not None:
                versions[int(cid)] = None if r[f"{prefix}deleted_at"] is not None else (
                    f_cal.version, r[f"{prefix}row_version"], r[f"{prefix}created_at"], r[f"{prefix}updated_at"])

        def cols(c: Any, prefix: str) -> list[Any]:
            return [c.c[k].label(f"{prefix}{k}") for k in ("id", "row_version", "created_at", "updated_at", "deleted_at")]

        if machine_ids:     # the machines, their centres' calendars and both calendars' versions: one query
            def machines_q() -> Any:
                mc, cc = cal.alias("machine_calendar"), cal.alias("centre_calendar")
                return (sa.select(mt.c.id, mt.c.calendar, mt.c.work_center, ct.c.calendar.label("centre_calendar"),
                                  *cols(mc, "m_"), *cols(cc, "c_"))
                        .select_from(mt.outerjoin(ct, ct.c.id == mt.c.work_center).outerjoin(mc, mc.c.id == mt.c.calendar)
                                     .outerjoin(cc, cc.c.id == ct.c.calendar))
                        .where(mt.c.id.in_(sa.bindparam("ids", expanding=True))))
            q = _built(("machines", mt, ct, cal), machines_q)
            for r in conn.execute(q, {"ids": machine_ids}).mappings():
                machines[int(r["id"])] = {"calendar": r["calendar"], "work_center": r["work_center"]}
                if r["work_center"] is not None:
                    centres[int(r["work_center"])] = {"calendar": r["centre_calendar"]}
                version(r, "m_")
                version(r, "c_")
        rest = [c for c in centre_ids if c not in centres]
        if rest:
            def centres_q() -> Any:
                cc = cal.alias("centre_calendar")
                return (sa.select(ct.c.id, ct.c.calendar, *cols(cc, "c_"))
                        .select_from(ct.outerjoin(cc, cc.c.id == ct.c.calendar))
                        .where(ct.c.id.in_(sa.bindparam("ids", expanding=True))))
            q = _built(("centres", ct, cal), centres_q)
            for r in conn.execute(q, {"ids": rest}).mappings():
                centres[int(r["id"])] = {"calendar": r["calendar"]}
                version(r, "c_")
    chosen: dict[int, int | None] = {}
    for t in open_tasks:
        m = machines.get(int(t["machine"])) if t.get("machine") is not None else None
        chosen[int(t["id"])] = calendar_of(m if m is not None else {"work_center": t.get("work_center")}, centres)
    specs = _calendars(conn, forms, sorted({c for c in chosen.values() if c is not None}), versions)
    return {tid: specs.get(cid) if cid is not None else None for tid, cid in chosen.items()}


#: per database engine: calendar id -> (its version when read, its problem calendar or None)
_CACHE: "weakref.WeakKeyDictionary[Any, dict[int, tuple[tuple[Any, ...], dict[str, Any] | None]]]" = \
    weakref.WeakKeyDictionary()
_CACHE_MAX = 512


def _calendars(conn: Connection, forms: Any, ids: list[int], versions: Mapping[int, tuple[Any, ...] | None] | None = None
               ) -> dict[int, dict[str, Any] | None]:
    """The calendars ``ids`` as problem calendars; one that cannot be read is left out (round the clock).

    ``versions`` (calendar id -> form version, row_version, created and updated time, as just read in
    this transaction; None: deleted) lets a calendar read before be taken from this process's cache:
    any edit of a calendar (its shifts and holidays included) bumps its row_version and updated time,
    so the next forecast reads it again; one not in ``versions`` is always read."""
    if not ids:
        return {}
    versions = versions or {}
    try:
        cache = _CACHE.setdefault(conn.engine, {})
    except TypeError:                                     # an engine that cannot be weakly referenced
        cache = {}
    out: dict[int, dict[str, Any] | None] = {}
    todo = []
    for cid in ids:
        if cid in versions and versions[cid] is None:     # deleted: round the clock, as read_calendars gives it
            continue
        hit = cache.get(cid)
        if hit is not None and cid in versions and hit[0] == versions[cid]:
            if hit[1] is not None:
                out[cid] = hit[1]
            continue
        todo.append(cid)
    read = _read(conn, forms, todo)
    if len(cache) > _CACHE_MAX:
        cache.clear()
    for cid in todo:
        if cid in versions:
            cache[cid] = (versions[cid], read.get(cid))   # type: ignore[assignment]
        if read.get(cid) is not None:
            out[cid] = read[cid]
    return out


def _read(conn: Connection, forms: Any, ids: list[int]) -> dict[int, dict[str, Any] | None]:
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
        end = (work_end(start, work, cal, zone, pattern=_pattern_of(cal) if cal is not None else None)
               if work > 0 else start)
        if end is None:                                   # a calendar without working time: round the clock
            end = start + dt.timedelta(minutes=float(work))
        if not started and planned_end is not None and planned_end > end:
            end = planned_end
        cursor = end
    return cursor.astimezone(dt.timezone.utc).replace(tzinfo=None) if naive else cursor
