"""OEE from the database: per machine / line (work centre) / shift / day over [start, end).

PBT comes from each machine's working calendar (its own, else its work centre's: the scheduler's
calendar code), states from ``machine_state``, quantities from ``machine_count`` when the machine has
counts in the period, else from job reports (good / scrap / rework of tasks run on it), PRI from the
run time per unit of the task running on the machine (a task's mode for that machine first). One
statement per kind of row for all machines at once; times are read as epoch seconds computed by the
database (no per-row datetime parsing). Only machines the caller may read, with states the caller may
read (the forms' row scopes).
"""
from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.devices import forms as dforms
from mom.engines.oee import vector
from mom.engines.oee.shifts import local_day, shift_windows
from mom.engines.oee.timemodel import STATES, STOP_LOSS, Tally, Window
from mom.engines.production.calendars import calendar_of, read_calendars
from mom.engines.records.access import form_access
from mom.engines.records.context import Ctx
from mom.platform.errors import InvalidInput, Problem

MAX_DAYS = 400
STARTUP_S = 15 * 60.0            # scrap within this long after a setup ends is start-up scrap
REPORT_EVENTS = ("report", "finish", "correct")


def epoch(conn: Connection, col: Any) -> Any:
    """``col`` (a UTC datetime column) as epoch seconds, computed by the database (SQLite: to the millisecond;
    its julianday carries about 10 µs of rounding, taken off by rounding)."""
    if conn.dialect.name == "sqlite":
        return sa.func.round((sa.func.julianday(col) - 2440587.5) * 86400.0, 3)
    return sa.cast(sa.extract("epoch", col), sa.Float)


@dataclass
class Machine:
    id: int
    code: str
    name: str
    line: int | None
    windows: list[Window] = field(default_factory=list)
    tallies: dict[tuple[str, str], Tally] = field(default_factory=dict)
    setup_ends: list[float] = field(default_factory=list)


@dataclass
class Scope:
    """What was read: the machines (by id), the lines' names and the period."""

    machines: dict[int, Machine]
    lines: dict[int, tuple[str, str]]
    start: dt.datetime
    end: dt.datetime
    stops: dict[tuple[str, int | None], float] = field(default_factory=dict)   # (state, reason) → working seconds


def check_period(start: dt.datetime | None, end: dt.datetime | None) -> None:
    problems = []
    if start is None:
        problems.append(Problem("/from", "请给出起始日期", "give the start date (from)"))
    if end is None:
        problems.append(Problem("/to", "请给出截止日期", "give the end date (to)"))
    if problems:
        raise InvalidInput("请给出统计的起止日期", "give the period (from and to)", problems=problems)
    assert start is not None and end is not None
    if end <= start:
        raise InvalidInput("截止日期应晚于起始日期", "the end (to) must be after the start (from)",
                           problems=[Problem("/to", "截止日期应晚于起始日期", "the end must be after the start")])
    if end - start > dt.timedelta(days=MAX_DAYS):
        raise InvalidInput(f"统计区间最长 {MAX_DAYS} 天：请缩短起止日期", f"the period is at most {MAX_DAYS} days: shorten it",
                           problems=[Problem("/to", f"统计区间最长 {MAX_DAYS} 天", f"at most {MAX_DAYS} days")])


def machines(conn: Connection, forms: Any, ctx: Ctx, *, machine: str | None = None, line: str | None = None
             ) -> tuple[dict[int, dict[str, Any]], dict[int, dict[str, Any]]]:
    """The machines the caller may read (and whose states they may read), narrowed to one machine (code or
    id) or one line (work centre code or id); and all work centres by id."""
    f_state = dforms.require(conn, forms, dforms.STATE)
    form_access(f_state, ctx.actor).require("read")
    f_m, f_wc = forms.get(conn, "machine"), forms.get(conn, "work_center")
    acc = form_access(f_m, ctx.actor)
    acc.require("read")
    t, wc = f_m.main, f_wc.main
    q = sa.select(t.c.id, t.c.code, t.c.name, t.c.work_center, t.c.calendar).where(t.c.deleted_at.is_(None))
    if acc.scope("read") is not None:
        q = q.where(acc.scope("read"))
    centres = {r["id"]: dict(r) for r in conn.execute(sa.select(wc.c.id, wc.c.code, wc.c.name, wc.c.calendar)
                                                      .where(wc.c.deleted_at.is_(None))).mappings()}
    if machine:
        q = q.where(sa.or_(t.c.code == machine, t.c.id == (int(machine) if machine.isdigit() else -1)))
    if line:
        ids = [c["id"] for c in centres.values() if c["code"] == line or str(c["id"]) == line]
        if not ids:
            raise InvalidInput(f"没有编码为「{line[:40]}」的产线（工作中心）", f"there is no line (work centre) {line[:40]!r}",
                               problems=[Problem("/line", "产线不存在", "unknown line")])
        q = q.where(t.c.work_center.in_(ids))
    found = {r["id"]: dict(r) for r in conn.execute(q.order_by(t.c.code)).mappings()}
    if machine and not found:
        raise InvalidInput(f"没有编码为「{machine[:40]}」的设备，或你无权查看它", f"there is no machine {machine[:40]!r} you may read",
                           problems=[Problem("/machine", "设备不存在或无权查看", "unknown machine or not readable")])
    return found, centres


def read(conn: Connection, forms: Any, ctx: Ctx, start: dt.datetime, end: dt.datetime, *,
         machine: str | None = None, line: str | None = None) -> Scope:
    """Every readable machine's tallies per (day, shift) over [start, end)."""
    check_period(start, end)
    rows, centres = machines(conn, forms, ctx, machine=machine, line=line)
    end_eff = min(end, max(start, ctx.now)).astimezone(ctx.tz)   # the future has no states yet: not in PBT
    scope = Scope({}, {c["id"]: (c["code"], c["name"] or c["code"]) for c in centres.values()}, start, end_eff)
    if not rows:
        return scope
    cal_ids = sorted({c for m in rows.values() if (c := calendar_of(m, centres)) is not None})
    f_cal = forms.get(conn, "work_calendar")
    cals = read_calendars(conn, f_cal, cal_ids)
    names = _shift_names(conn, f_cal, cal_ids)
    for mid, m in rows.items():
        cid = calendar_of(m, centres)
        spec = cals[cid][1] if cid in cals else None
        scope.machines[mid] = Machine(mid, m["code"], m["name"] or m["code"], m["work_center"],
                                      shift_windows(spec, names.get(cid, []), start, end_eff, ctx.tz))
    if end_eff > start:
        _states(conn, forms, ctx, scope)
        _quantities(conn, forms, ctx, scope)
    return scope


def _shift_names(conn: Connection, f_cal: Any, ids: list[int]) -> dict[int, list[str | None]]:
    if not ids or "shifts" not in f_cal.children:
        return {}
    t = f_cal.children["shifts"]
    out: dict[int, list[str | None]] = {}
    for r in conn.execute(sa.select(t.c.parent_id, t.c.name).where(t.c.parent_id.in_(ids))
                          .order_by(t.c.parent_id, t.c.seq, t.c.id)):
        out.setdefault(int(r[0]), []).append(r[1])
    return out


def _codes(t: Any, category: Any) -> tuple[Any, Any]:
    """The time element and loss indices of vector.py, computed by the database (no Python step per row)."""
    planned = category == vector.PLANNED if category is not None else sa.false()
    elem = sa.case((planned, 4), *[(t.c.state == st, k) for st, k in vector.STATE_ELEMENT.items()], else_=-1)
    stop = sa.case(*[(t.c.state == st, vector.LOSS_INDEX[loss]) for st, loss in STOP_LOSS.items()], else_=-1)
    if category is not None:
        stop = sa.case(*[(category == name, k) for name, k in vector.LOSS_INDEX.items()], else_=stop)
    return elem, sa.case((planned, -1), (t.c.state.in_(list(STOP_LOSS)), stop), else_=-1)


@dataclass
class States:
    """One machine's state rows as arrays: ``s`` / ``e`` the part inside [lo, hi) (an open state ends at the next
    state's start or now), element / loss codes, the state's index in ``STATES`` and its stop reason (-1: none);
    ``setup_ends``: when the setups read ended (also those ending up to STARTUP_S before lo: start-up scrap
    early in a period does not depend on where the period starts)."""

    s: np.ndarray
    e: np.ndarray
    elem: np.ndarray
    loss: np.ndarray
    state: np.ndarray
    reason: np.ndarray
    setup_ends: list[float]


def state_rows(conn: Connection, forms: Any, ctx: Ctx, ids: list[int], start: dt.datetime, end: dt.datetime
               ) -> dict[int, States]:
    """Every machine's state rows over [start, end) in one statement (codes computed by the database)."""
    f_state = dforms.require(conn, forms, dforms.STATE)
    f_reason = dforms.pack_form(conn, forms, dforms.REASON)
    t = f_state.main
    lo, hi = start.timestamp(), end.timestamp()
    src: Any = t
    category = None
    if f_reason is not None:
        r = f_reason.main
        category = r.c.loss_category
        src = t.outerjoin(r, r.c.id == t.c.stop_reason)
    elem, loss = _codes(t, category)
    q = (sa.select(t.c.machine, epoch(conn, t.c.started_at), epoch(conn, t.c.ended_at), elem, loss,
                   sa.func.coalesce(t.c.stop_reason, -1), sa.case((t.c.state == "setup", 1), else_=0),
                   sa.case(*[(t.c.state == st, k) for k, st in enumerate(STATES)], else_=len(STATES)))
         .select_from(src)
         .where(t.c.deleted_at.is_(None), t.c.machine.in_(ids), t.c.started_at < end,
                sa.or_(t.c.ended_at.is_(None), t.c.ended_at > start - dt.timedelta(seconds=STARTUP_S)))
         .order_by(t.c.machine, t.c.started_at))
    if (sc := form_access(f_state, ctx.actor).scope("read")) is not None:
        q = q.where(sc)
    rows = conn.execute(q).cursor.fetchall()          # plain tuples: no result-row objects for ~10^6 rows
    if not rows:
        return {}
    c = list(zip(*rows))
    mach = np.array(c[0], dtype=np.int64)
    s = np.array(c[1], dtype=float)
    ended = np.array(c[2], dtype=float)                       # NaN: the current state
    e = np.where(np.isnan(ended), ctx.now.timestamp(), ended)
    same = mach[:-1] == mach[1:]                              # an open state followed by a newer one ended there
    e[:-1] = np.where(same, np.minimum(e[:-1], s[1:]), e[:-1])
    elem_a, loss_a = np.array(c[3], dtype=np.int64), np.array(c[4], dtype=np.int64)
    setup = (np.array(c[6], dtype=np.int64) == 1) & ~np.isnan(ended)
    reason, state = np.array(c[5], dtype=np.int64), np.array(c[7], dtype=np.int64)
    s, e = np.maximum(s, lo), np.minimum(e, hi)
    keep = e > s
    cuts = np.flatnonzero(np.diff(mach)) + 1
    out: dict[int, States] = {}
    for a, b in zip(np.concatenate(([0], cuts)).tolist(), np.concatenate((cuts, [len(mach)])).tolist()):
        k = keep[a:b]
        out[int(mach[a])] = States(s[a:b][k], e[a:b][k], elem_a[a:b][k], loss_a[a:b][k], state[a:b][k], reason[a:b][k],
                                   sorted(ended[a:b][setup[a:b]].tolist()))
    return out


def _states(conn: Connection, forms: Any, ctx: Ctx, scope: Scope) -> None:
    """Every machine's state rows, cut at the shift edges in arrays (vector.py)."""
    got = state_rows(conn, forms, ctx, list(scope.machines), scope.start, scope.end)
    for mid, m in scope.machines.items():
        st = got.get(mid)
        if st is None:
            m.tallies = vector.tallies(np.zeros(0), np.zeros(0), np.zeros(0, int), np.zeros(0, int), m.windows)
            continue
        m.tallies = vector.tallies(st.s, st.e, st.elem, st.loss, m.windows)
        m.setup_ends = st.setup_ends
        add_stops(scope.stops, st.state, st.reason, vector.in_windows(st.s, st.e, m.windows))


def add_stops(stops: dict[tuple[str, int | None], float], state: np.ndarray, reason: np.ndarray, inwin: np.ndarray) -> None:
    """Add the working time per (state, stop reason) of the stops, for the losses Pareto."""
    pick = (inwin > 0) & (state != 0) & (state < len(STATES))          # not running, a known state
    if not pick.any():
        return
    base = int(reason.max()) + 2
    key = state[pick] * base + (reason[pick] + 1)
    uniq, inv = np.unique(key, return_inverse=True)
    sums = np.bincount(inv, weights=inwin[pick])
    for k, v in zip(uniq.tolist(), sums.tolist()):
        rid = k % base - 1
        kk = (STATES[k // base], None if rid < 0 else rid)
        stops[kk] = stops.get(kk, 0.0) + v


def _assign(m: Machine, t: float, tz: dt.tzinfo) -> Tally:
    """The tally of the (day, shift) moment ``t`` belongs to: the last shift begun at or before it."""
    starts = [w.start for w in m.windows]
    if m.windows:
        w = m.windows[max(bisect.bisect_right(starts, t) - 1, 0)]
        key = (w.day, w.shift)
    else:
        key = (local_day(t, tz), "")
    return m.tallies.setdefault(key, Tally())


def _startup(m: Machine, t: float) -> bool:
    i = bisect.bisect_right(m.setup_ends, t) - 1
    return i >= 0 and t - m.setup_ends[i] < STARTUP_S


def _quantities(conn: Connection, forms: Any, ctx: Ctx, scope: Scope) -> None:
    ids = list(scope.machines)
    pri = run_times(conn, forms, ids, scope.start, scope.end)
    counted: set[int] = set()
    for mid, at, total, good, scrap in count_rows(conn, forms, ctx, ids, scope.start, scope.end):
        m = scope.machines[mid]
        counted.add(mid)
        _assign(m, at, ctx.tz).add_output(total, good, scrap, pri_s=pri_at(pri.get(mid, ()), at), startup=_startup(m, at))
    rest = [mid for mid in ids if mid not in counted]
    for mid, at, good, scrap, rework, pri_s in report_rows(conn, forms, rest, scope.start, scope.end):
        _assign(scope.machines[mid], at, ctx.tz).add_output(good + scrap + rework, good, scrap, rework, pri_s=pri_s)


def run_times(conn: Connection, forms: Any, ids: list[int], start: dt.datetime, end: dt.datetime
              ) -> dict[int, list[tuple[float, float, int, float | None]]]:
    """Per machine the tasks run on it in [start, end): (start, end, task id, PRI seconds), by start. A task
    started and finished at one moment (finished in one report) covers the counts after it until the next
    task starts; of those begun before ``start`` only the last one per machine can, so it is read too (the
    answer does not depend on where the period starts)."""
    f_task = forms.get(conn, "operation_task")
    t = f_task.main
    if not ids:
        return {}
    hi = end.timestamp()
    once = t.c.actual_end == t.c.actual_start
    q = (sa.select(t.c.id, t.c.machine, t.c.run_min, epoch(conn, t.c.actual_start), epoch(conn, t.c.actual_end))
         .where(t.c.deleted_at.is_(None), t.c.machine.in_(ids), t.c.actual_start.is_not(None), t.c.actual_start < end,
                sa.or_(t.c.actual_end.is_(None), t.c.actual_end > start, once)))
    out: dict[int, list[tuple[float, float, int, float | None]]] = {}
    modes = _modes(conn, f_task, ids)
    lo = start.timestamp()
    for tid, mid, run_min, s0, s1 in conn.execute(q):
        run = modes.get((tid, mid), run_min)
        out.setdefault(mid, []).append((float(s0), float(s1) if s1 is not None else hi, tid,
                                        float(run) * 60.0 if run is not None else None))
    for mid, v in out.items():
        v.sort()
        before = [i for i, x in enumerate(v) if x[0] == x[1] and x[1] <= lo]
        if len(before) > 1:
            drop = set(before[:-1])
            out[mid] = [x for i, x in enumerate(v) if i not in drop]
    return out


def _modes(conn: Connection, f_task: Any, machine_ids: list[int]) -> dict[tuple[int, int], Any]:
    if "modes" not in f_task.children:
        return {}
    c = f_task.children["modes"]
    return {(r[0], r[1]): r[2] for r in conn.execute(sa.select(c.c.parent_id, c.c.machine, c.c.run_min)
                                                     .where(c.c.machine.in_(machine_ids)))}


def pri_at(tasks: Sequence[tuple[float, float, int, float | None]], t: float) -> float | None:
    best = None
    for s0, s1, _tid, pri in tasks:        # few tasks per machine in a period
        if s0 > t:
            break
        if t < s1 or s1 == s0:
            best = pri
    return best


def count_rows(conn: Connection, forms: Any, ctx: Ctx, ids: list[int], start: dt.datetime, end: dt.datetime
               ) -> list[tuple[int, float, float, float, float]]:
    """The machines' counts in [start, end): (machine, bucket start, total, good, scrap)."""
    f_count = dforms.pack_form(conn, forms, dforms.COUNT)
    if f_count is None or not ids:
        return []
    t = f_count.main
    q = (sa.select(t.c.machine, epoch(conn, t.c.bucket_start), t.c.total, t.c.good, t.c.scrap)
         .where(t.c.deleted_at.is_(None), t.c.machine.in_(ids), t.c.bucket_start >= start, t.c.bucket_start < end))
    if (s := form_access(f_count, ctx.actor).scope("read")) is not None:
        q = q.where(s)
    out = []
    for mid, at, total, good, scrap in conn.execute(q):
        total, good, scrap = float(total or 0), float(good or 0), float(scrap or 0)
        total = total or good + scrap
        good = good or max(total - scrap, 0.0)      # a counter of all parts and of scrap only
        out.append((int(mid), float(at), total, good, scrap))
    return out


def report_rows(conn: Connection, forms: Any, ids: list[int], start: dt.datetime, end: dt.datetime
                ) -> list[tuple[int, float, float, float, float, float | None]]:
    """Job reports (and corrections) on the machines in [start, end): (machine, at, good, scrap, rework, PRI s)."""
    if not ids:
        return []
    f_rep, f_task = forms.get(conn, "job_report"), forms.get(conn, "operation_task")
    r, t = f_rep.main, f_task.main
    on = sa.func.coalesce(r.c.machine, t.c.machine)
    q = (sa.select(on, epoch(conn, r.c.reported_at), r.c.good_qty, r.c.scrap_qty, r.c.rework_qty, t.c.run_min, t.c.id)
         .select_from(r.join(t, t.c.id == r.c.task))
         .where(r.c.deleted_at.is_(None), on.in_(ids), r.c.event.in_(REPORT_EVENTS),
                r.c.reported_at >= start, r.c.reported_at < end))
    modes = _modes(conn, f_task, ids)
    out = []
    for mid, at, good, scrap, rework, run_min, tid in conn.execute(q):
        run = modes.get((tid, mid), run_min)
        out.append((int(mid), float(at), float(good or 0), float(scrap or 0), float(rework or 0),
                    float(run) * 60.0 if run is not None else None))
    return out
