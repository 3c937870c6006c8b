"""One machine's plant day as the OEE time model needs it — what engines/oee/summary.py stores per machine × closed
day and assembles into any period of whole days, giving the same answer as reading every row (reader.py).

A day is the slice [local 00:00, next local 00:00) of the plant's time zone. Its shift windows are the machine's
shifts clipped to the slice: a night shift 22:00–06:00 is two pieces, both keyed by the day it starts, so the
pieces add up to the shift. Kept per day:

- per (shift day, shift) the time elements and stop losses of the states (``t``);
- per (shift day, shift) the output from machine counts (``c``) and from job reports (``r``) — which one a
  machine's OEE uses depends on the period (counts when it has any there), so both are kept, and ``hc``: had
  counts; an output belongs to the last shift begun at or before it;
- output before the day's first shift piece (or on a day without shifts) is an orphan (``co`` / ``ro``): its
  shift lies in an earlier day, or, when the period starts later, the period's first shift — assembled by
  summary.py as the reader would;
- the first and last shift keys of the day (``f`` / ``l``) and the stops' working seconds per (state, reason)
  for the losses Pareto (``s``).
"""
from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from mom.engines.oee import reader, vector
from mom.engines.oee.shifts import shift_windows
from mom.engines.oee.timemodel import Tally, Window
from mom.engines.records.context import Ctx

FIELDS = tuple(f.name for f in fields(Tally) if f.name not in ("stop_losses", "stops"))
Key = tuple[str, str]
_SEP = "\x1f"


@dataclass
class Day:
    t: dict[Key, Tally] = field(default_factory=dict)
    c: dict[Key, Tally] = field(default_factory=dict)
    r: dict[Key, Tally] = field(default_factory=dict)
    co: Tally | None = None
    ro: Tally | None = None
    hc: bool = False
    f: Key | None = None
    l: Key | None = None      # noqa: E741 - the stored name
    s: dict[tuple[str, int | None], float] = field(default_factory=dict)


def _vals(t: Tally) -> list[float]:
    return [getattr(t, k) for k in FIELDS]


def dump(d: Day) -> dict[str, Any]:
    return {"t": [[k[0], k[1], _vals(v), v.stop_losses] for k, v in d.t.items()],
            "c": [[k[0], k[1], _vals(v)] for k, v in d.c.items()], "r": [[k[0], k[1], _vals(v)] for k, v in d.r.items()],
            "co": _vals(d.co) if d.co else None, "ro": _vals(d.ro) if d.ro else None, "hc": d.hc,
            "f": list(d.f) if d.f else None, "l": list(d.l) if d.l else None,
            "s": [[st, rid, v] for (st, rid), v in d.s.items()]}


def bounds(day: dt.date, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    return (dt.datetime.combine(day, dt.time(), tzinfo=tz),
            dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=tz))


def compute(conn: Any, forms: Any, ctx: Ctx, specs: dict[int, tuple[Any, Sequence[str | None]]],
            days: list[dt.date], end: dt.datetime) -> dict[tuple[int, dt.date], Day]:
    """Per (machine, day) of ``days`` (consecutive) the day's figures; the last day ends at ``end`` at the latest
    (today: now). ``specs``: per machine id its calendar spec (None: around the clock) and shift names."""
    ids = sorted(specs)
    if not ids or not days:
        return {}
    slices = []
    for d in days:
        a, b = bounds(d, ctx.tz)
        if a < end:
            slices.append((d, a, min(b, end)))
    lo, hi = slices[0][1], slices[-1][2]
    states = reader.state_rows(conn, forms, ctx, ids, lo, hi)
    pri = reader.run_times(conn, forms, ids, lo, hi)
    counts = reader.count_rows(conn, forms, ctx, ids, lo, hi)
    reports = reader.report_rows(conn, forms, ids, lo, hi)
    starts = [a.timestamp() for _d, a, _b in slices]
    out: dict[tuple[int, dt.date], Day] = {}
    wins: dict[tuple[int, int], list[Window]] = {}
    for mid in ids:
        spec, names = specs[mid]
        tagged: list[Window] = []
        for i, (d, a, b) in enumerate(slices):
            w = shift_windows(spec, names, a, b, ctx.tz)
            wins[(mid, i)] = w
            day = out[(mid, d)] = Day()
            if w:
                day.f, day.l = (w[0].day, w[0].shift), (w[-1].day, w[-1].shift)
            tagged += [Window(x.start, x.end, f"{i}{_SEP}{x.day}", x.shift) for x in w]
        st = states.get(mid)
        z = np.zeros(0)
        s, e = (st.s, st.e) if st else (z, z)
        cut = vector.tallies(s, e, st.elem if st else z.astype(int), st.loss if st else z.astype(int), tagged)
        for (tag, shift), tally in cut.items():
            i, wday = tag.split(_SEP, 1)
            out[(mid, slices[int(i)][0])].t[(wday, shift)] = tally
        if st is None or not len(s):
            continue
        mono = bool(np.all(np.diff(e) >= 0)) and bool(np.all(np.diff(s) >= 0))
        for i, (d, a, b) in enumerate(slices):
            i0 = int(np.searchsorted(e, a.timestamp(), "right")) if mono else 0
            i1 = int(np.searchsorted(s, b.timestamp(), "left")) if mono else len(s)
            if i1 > i0 and wins[(mid, i)]:
                reader.add_stops(out[(mid, d)].s, st.state[i0:i1], st.reason[i0:i1],
                                 vector.in_windows(s[i0:i1], e[i0:i1], wins[(mid, i)]))
    for mid, at, total, good, scrap in counts:
        i = bisect.bisect_right(starts, at) - 1
        day, tally = _place(out, wins, slices, mid, i, at, "c")
        day.hc = True
        st = states.get(mid)
        startup = st is not None and _startup(st.setup_ends, at)
        tally.add_output(total, good, scrap, pri_s=reader.pri_at(pri.get(mid, ()), at), startup=startup)
    for mid, at, good, scrap, rework, pri_s in reports:
        i = bisect.bisect_right(starts, at) - 1
        _day, tally = _place(out, wins, slices, mid, i, at, "r")
        tally.add_output(good + scrap + rework, good, scrap, rework, pri_s=pri_s)
    return out


def _startup(ends: list[float], t: float) -> bool:
    i = bisect.bisect_right(ends, t) - 1
    return i >= 0 and t - ends[i] < reader.STARTUP_S


def _place(out: dict[tuple[int, dt.date], Day], wins: dict[tuple[int, int], list[Window]], slices: list[Any],
           mid: int, i: int, at: float, kind: str) -> tuple[Day, Tally]:
    """The tally an output at ``at`` (in slice ``i``) adds to: its shift's, else the day's orphan."""
    day = out[(mid, slices[i][0])]
    w = wins[(mid, i)]
    j = bisect.bisect_right([x.start for x in w], at) - 1
    if j < 0:
        if kind == "c":
            day.co = day.co or Tally()
            return day, day.co
        day.ro = day.ro or Tally()
        return day, day.ro
    key = (w[j].day, w[j].shift)
    return day, getattr(day, kind).setdefault(key, Tally())
