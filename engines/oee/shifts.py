"""A machine's shifts over a period as OEE windows, from the same working calendar the scheduler uses.

The calendar record is read by ``mom.engines.production.calendars`` (workdays, shifts, holidays) and
expanded day by day by ``mom.engines.scheduling.calendar.expand_pattern`` — the one calendar of the
plant; this module only keeps each shift apart (the scheduler merges touching shifts) and turns plant
local times into instants. A night shift (22:00–06:00) belongs to the day it starts. A machine with
no calendar works around the clock: one 全天 window per local day.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from mom.engines.oee.timemodel import Window
from mom.engines.scheduling.calendar import DAY, expand_pattern

ALL_DAY = "全天"


def _minutes(hhmm: str) -> int:
    h, m = str(hhmm).split(":")
    return int(h) * 60 + int(m)


def shift_windows(spec: dict[str, Any] | None, names: Sequence[str | None], start: dt.datetime, end: dt.datetime,
                  tz: dt.tzinfo) -> list[Window]:
    """The shifts of calendar ``spec`` (as ``calendars.calendar_spec`` gives it; None: around the clock)
    that overlap [start, end), clipped to it, sorted; ``names[i]`` names the i-th shift."""
    if end <= start:
        return []
    first = start.astimezone(tz).date() - dt.timedelta(days=1)     # a night shift begun the day before
    origin = dt.datetime.combine(first, dt.time())                  # local wall clock, naive
    horizon = int((end.astimezone(tz).replace(tzinfo=None) - origin).total_seconds() // 60) + DAY
    spec = spec or {}
    shifts = spec.get("shifts") or [["00:00", "24:00"]]
    workdays = frozenset(spec["workdays"]) if spec.get("workdays") else None
    holidays = frozenset(dt.date.fromisoformat(d) for d in spec.get("holidays", ()))
    lo, hi = start.timestamp(), end.timestamp()
    out: list[Window] = []
    for i, (a, b) in enumerate(shifts):
        s, e = _minutes(a), _minutes(b)
        if e <= s:
            e += DAY
        name = (names[i] if i < len(names) else None) or (ALL_DAY if (s, e) == (0, DAY) else f"{a}–{b}")
        for ws, we in expand_pattern([(s, e)], horizon, origin=origin, workdays=workdays, holidays=holidays,
                                     off_days=frozenset()):
            t = ws
            while t < we:      # touching days of one shift were merged: cut them at each day's shift start
                d = (t - s) // DAY
                piece_end = min(we, d * DAY + e)
                w0, w1 = _instant(origin, t, tz), _instant(origin, piece_end, tz)
                if w1 > lo and w0 < hi:
                    out.append(Window(max(w0, lo), min(w1, hi), (first + dt.timedelta(days=d)).isoformat(), name))
                t = piece_end
    out.sort(key=lambda w: w.start)
    return out


def _instant(origin: dt.datetime, minute: int, tz: dt.tzinfo) -> float:
    return (origin + dt.timedelta(minutes=minute)).replace(tzinfo=tz).timestamp()


def local_day(t: float, tz: dt.tzinfo) -> str:
    return dt.datetime.fromtimestamp(t, tz).date().isoformat()
