"""OEE over long periods from a per machine × plant-day summary of the closed days (issue 23: 100 machines × 90 days
in ≤ 1 s). See /docs/oee.md「速度」.

A question over whole plant days (``from`` / ``to`` dates) reads the stored days (``mom_oee_day``, one row per
machine and closed day: engines/devices/machine_days.py) and only the open days row by row. A closed day is one
that ended more than ``machine_days.GRACE_S`` (an hour) ago; a missing closed day is computed (daycut.py) and
stored in its own short transaction, so a crash leaves no row or a correct one. Writers of the inputs delete
the rows they touch (summary_hooks.py, the devices ingestion): missing means "compute again".

The answer equals reader.read's (tests/test_oee_summary.py proves it on random data on both databases). The
summary is not used — the rows are read as before — when the period does not start and end at the plant's
midnight, when the caller's read permission on states or counts is limited to some rows (the summary holds
every row), or when the period has no closed day.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.devices import forms as dforms
from mom.engines.devices import machine_days as MD
from mom.engines.oee import daycut, reader
from mom.engines.oee.daycut import FIELDS, Day, Key
from mom.engines.oee.timemodel import Tally
from mom.engines.production.calendars import calendar_of, read_calendars
from mom.engines.records.access import form_access
from mom.engines.records.context import Ctx
from mom.platform.db.engine import write_tx

VERSION = 1                # of the stored figures: another version is not read (computed again)
MARGIN_S = 600.0           # a machine whose data changed this shortly before a summary's snapshot is not stored
_LOG = logging.getLogger(__name__)
_N = len(FIELDS)


def tz_name(tz: dt.tzinfo) -> str:
    return str(getattr(tz, "key", None) or tz)


def usable(conn: Connection, forms: Any, ctx: Ctx, start: dt.datetime, end: dt.datetime) -> bool:
    """Can the summary answer [start, end) for this caller exactly? Whole plant days, all rows readable."""
    midnight = dt.time()
    if start.astimezone(ctx.tz).timetz().replace(tzinfo=None) != midnight or \
            end.astimezone(ctx.tz).timetz().replace(tzinfo=None) != midnight:
        return False
    for name in (dforms.STATE, dforms.COUNT):
        f = dforms.pack_form(conn, forms, name)
        if f is not None and form_access(f, ctx.actor).scope("read") is not None:
            return False
    return True


def read(conn: Connection, forms: Any, ctx: Ctx, start: dt.datetime, end: dt.datetime, *,
         machine: str | None = None, line: str | None = None, store: bool = True) -> reader.Scope:
    """reader.read's answer, from the day summaries where it can (``store``: keep the closed days computed)."""
    reader.check_period(start, end)
    end_eff = min(end, max(start, ctx.now)).astimezone(ctx.tz)
    days = []
    d = start.astimezone(ctx.tz).date()
    while daycut.bounds(d, ctx.tz)[0] < end_eff:
        days.append(d)
        d += dt.timedelta(days=1)
    # closed by the plant's clock and by the real one (a day is never stored before it really closed, so a write
    # to the last hour needs no DELETE: machine_days.forget)
    closed_before = min(ctx.now.timestamp(), time.time()) - MD.GRACE_S
    closed = [d for d in days if daycut.bounds(d, ctx.tz)[1].timestamp() <= closed_before]
    if not closed or not usable(conn, forms, ctx, start, end):
        return reader.read(conn, forms, ctx, start, end, machine=machine, line=line)
    rows, centres = reader.machines(conn, forms, ctx, machine=machine, line=line)
    scope = reader.Scope({}, {c["id"]: (c["code"], c["name"] or c["code"]) for c in centres.values()}, start, end_eff)
    if not rows:
        return scope
    specs = _specs(conn, forms, rows, centres)
    for mid, m in rows.items():
        scope.machines[mid] = reader.Machine(mid, m["code"], m["name"] or m["code"], m["work_center"])
    got = _stored(conn, list(rows), closed, ctx.tz)
    missing = sorted({d for d in closed for mid in rows if (mid, d) not in got})
    if missing:
        t_ref = time.time()
        todo = sorted(mid for mid in rows if any((mid, d) not in got for d in missing))
        span = [d for d in closed if missing[0] <= d <= missing[-1]]
        fresh = daycut.compute(conn, forms, ctx, {mid: specs[mid] for mid in todo}, span, end_eff)
        dumped = {k: daycut.dump(v) for k, v in fresh.items()}
        got.update(dumped)
        if store:
            _store(conn, dumped, span, todo, ctx.tz, t_ref)
    opened = [d for d in days if d not in set(closed)]
    for k, v in daycut.compute(conn, forms, ctx, specs, opened, end_eff).items():
        got[k] = daycut.dump(v)
    _assemble(scope, got, days)
    return scope


def _specs(conn: Connection, forms: Any, rows: dict[int, Any], centres: dict[int, Any]) -> dict[int, tuple[Any, list[Any]]]:
    cal_ids = sorted({c for m in rows.values() if (c := calendar_of(m, centres)) is not None})
    f_cal = forms.get(conn, "work_calendar")
    cals = read_calendars(conn, f_cal, cal_ids)
    names = reader._shift_names(conn, f_cal, cal_ids)
    out = {}
    for mid, m in rows.items():
        cid = calendar_of(m, centres)
        out[mid] = (cals[cid][1] if cid in cals else None, names.get(cid, []))
    return out


def _stored(conn: Connection, ids: list[int], closed: list[dt.date], tz: dt.tzinfo) -> dict[tuple[int, dt.date], Any]:
    t = MD.day_table
    q = (sa.select(t.c.machine_id, t.c.day, t.c.data)
         .where(t.c.machine_id.in_(ids), t.c.day >= closed[0].isoformat(), t.c.day <= closed[-1].isoformat(),
                t.c.tz == tz_name(tz), t.c.v == VERSION))
    loads = json.loads
    return {(int(m), dt.date.fromisoformat(d)): loads(data) for m, d, data in conn.execute(q)}


def _store(conn: Connection, dumped: dict[tuple[int, dt.date], Any], span: list[dt.date], ids: list[int],
           tz: dt.tzinfo, t_ref: float) -> None:
    """Keep the computed closed days, in a transaction of their own; not for machines whose data changed
    since shortly before they were read (a write may have committed after the read)."""
    engine = conn.engine
    if conn.get_execution_options().get("mom_write") or (engine.dialect.name == "sqlite" and
                                                          engine.url.database in (None, "", ":memory:")):
        return                   # inside a writer's transaction (or a private database): answer, keep nothing
    t, mk = MD.day_table, MD.mark_table
    try:
        with write_tx(engine) as w:
            MD.lock(w, [MD.ALL, *ids])
            marks = dict(w.execute(sa.select(mk.c.machine_id, mk.c.changed_s)
                                   .where(mk.c.machine_id.in_([MD.ALL, *ids]))).all())
            if marks.get(MD.ALL, 0.0) > t_ref - MARGIN_S:
                return
            keep = [m for m in ids if marks.get(m, 0.0) <= t_ref - MARGIN_S]
            if not keep:
                return
            w.execute(t.delete().where(t.c.machine_id.in_(keep), t.c.day >= span[0].isoformat(),
                                       t.c.day <= span[-1].isoformat()))
            now, name = time.time(), tz_name(tz)
            rows = []
            for (mid, d), data in dumped.items():
                if mid in keep:
                    a, b = daycut.bounds(d, tz)
                    rows.append({"machine_id": mid, "day": d.isoformat(), "start_s": int(a.timestamp()),
                                 "end_s": int(b.timestamp()), "tz": name, "v": VERSION,
                                 "data": json.dumps(data, separators=(",", ":")), "computed_s": now})
            for i in range(0, len(rows), 2000):
                w.execute(t.insert(), rows[i:i + 2000])
    except sa.exc.DBAPIError:
        _LOG.warning("OEE day summaries not stored (answered from the rows)", exc_info=True)


def _add(acc: dict[Key, list[Any]], key: Key, vals: list[float], losses: dict[str, float] | None = None) -> None:
    cur = acc.get(key)
    if cur is None:
        cur = acc[key] = [[0.0] * _N, {}]
    a = cur[0]
    for i in range(_N):
        a[i] += vals[i]
    if losses:
        lo = cur[1]
        for k, v in losses.items():
            lo[k] = lo.get(k, 0.0) + v


def _assemble(scope: reader.Scope, got: dict[tuple[int, dt.date], Any], days: list[dt.date]) -> None:
    """Each machine's tallies per (day, shift) and the stops, as reader.read gives them."""
    empty = daycut.dump(Day())
    for mid, m in scope.machines.items():
        per = [got.get((mid, d), empty) for d in days]
        kind, orphan = ("c", "co") if any(p["hc"] for p in per) else ("r", "ro")
        acc: dict[Key, list[Any]] = {}
        with_shift = [i for i, p in enumerate(per) if p["f"]]
        for i, p in enumerate(per):
            for wday, shift, vals, losses in p["t"]:
                _add(acc, (wday, shift), vals, losses)
            for wday, shift, vals in p[kind]:
                _add(acc, (wday, shift), vals)
            if p[orphan] is not None:
                before = [j for j in with_shift if j < i]
                if before:
                    key = tuple(per[before[-1]]["l"])
                elif with_shift:
                    key = tuple(per[with_shift[0]]["f"])
                else:
                    key = (days[i].isoformat(), "")
                _add(acc, key, p[orphan])          # type: ignore[arg-type]
            for st, rid, secs in p["s"]:
                k = (st, rid)
                scope.stops[k] = scope.stops.get(k, 0.0) + secs
        m.tallies = {k: Tally(**dict(zip(FIELDS, v[0])), stop_losses=v[1]) for k, v in acc.items()}
