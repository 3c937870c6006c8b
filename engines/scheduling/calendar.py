"""Working time of a resource as a sorted list of disjoint half-open intervals [start, end).

``None`` stands for "always available". Times are integer minutes from the problem's time 0.
A *pausable* operation counts only working minutes (it stops over breaks and resumes); a
non-pausable one must fit inside a single working interval.
"""
from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Sequence

Windows = list[tuple[int, int]]
DAY = 1440


def merge(windows: Iterable[tuple[int, int]]) -> Windows:
    """Sorted, disjoint, non-empty windows."""
    out: Windows = []
    for s, e in sorted(w for w in windows if w[1] > w[0]):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def subtract(windows: Windows, holes: Iterable[tuple[int, int]]) -> Windows:
    """``windows`` minus every hole (maintenance, breakdowns)."""
    out = list(windows)
    for hs, he in merge(holes):
        nxt: Windows = []
        for s, e in out:
            if he <= s or hs >= e:
                nxt.append((s, e))
                continue
            if s < hs:
                nxt.append((s, hs))
            if he < e:
                nxt.append((he, e))
        out = nxt
    return out


def expand_pattern(shifts: Sequence[tuple[int, int]], horizon: int, *, origin: dt.datetime | None,
                   workdays: frozenset[int] | None, holidays: frozenset[dt.date], off_days: frozenset[int]) -> Windows:
    """Daily shifts (minutes of the day, an end past 24:00 runs into the next day) repeated up to ``horizon``.

    Day ``d`` starts at minute ``d*1440`` counted from the origin's midnight offset: with an origin
    at 06:00, time 0 is 06:00 and a 08:00 shift starts at minute 120 of day 0."""
    offset = origin.hour * 60 + origin.minute if origin else 0
    first_day = origin.date() if origin else None
    out: Windows = []
    day = 0
    while day * DAY - offset < horizon:
        date = first_day + dt.timedelta(days=day) if first_day else None
        working = day not in off_days
        if date is not None:
            working = working and date not in holidays and (workdays is None or date.isoweekday() in workdays)
        if working:
            base = day * DAY - offset
            for s, e in shifts:
                out.append((max(0, base + s), min(horizon, base + e)))
        day += 1
    return merge(out)


def clip(windows: Windows, horizon: int) -> Windows:
    return [(s, min(e, horizon)) for s, e in windows if s < horizon]


def fits(windows: Windows | None, start: int, end: int) -> bool:
    """True when [start, end) lies inside one working window (always true without a calendar)."""
    if windows is None or end <= start:
        return True
    i = bisect.bisect_right(windows, (start, 1 << 62)) - 1
    return i >= 0 and windows[i][0] <= start and end <= windows[i][1]


def is_working(windows: Windows | None, t: int) -> bool:
    if windows is None:
        return True
    i = bisect.bisect_right(windows, (t, 1 << 62)) - 1
    return i >= 0 and windows[i][0] <= t < windows[i][1]


def next_working(windows: Windows | None, t: int) -> int | None:
    """The first working minute at or after ``t`` (None past the last window)."""
    if windows is None:
        return t
    i = bisect.bisect_right(windows, (t, 1 << 62)) - 1
    if i >= 0 and windows[i][0] <= t < windows[i][1]:
        return t
    if i + 1 < len(windows):
        return windows[i + 1][0]
    return None


def work_end(windows: Windows | None, start: int, work: int) -> int | None:
    """End of ``work`` working minutes begun at ``start`` (which must be working time), pausing over breaks."""
    if windows is None or work == 0:
        return start + work
    i = bisect.bisect_right(windows, (start, 1 << 62)) - 1
    if i < 0 or not windows[i][0] <= start < windows[i][1]:
        return None
    left, t = work, start
    while i < len(windows):
        s, e = windows[i]
        t = max(t, s)
        if t + left <= e:
            return t + left
        left -= e - t
        i += 1
    return None


def working_between(windows: Windows | None, start: int, end: int) -> int:
    """Working minutes in [start, end)."""
    if windows is None:
        return max(0, end - start)
    total = 0
    for s, e in windows:
        if e <= start:
            continue
        if s >= end:
            break
        total += min(e, end) - max(s, start)
    return total


def earliest_fit(windows: Windows | None, t: int, duration: int, pausable: bool) -> tuple[int, int] | None:
    """The earliest (start, end) at or after ``t`` for an operation of ``duration`` working minutes."""
    if windows is None or duration == 0:
        return t, t + duration
    i = max(0, bisect.bisect_right(windows, (t, 1 << 62)) - 1)
    while i < len(windows):
        s, e = windows[i]
        start = max(s, t)
        if start < e:
            if pausable:
                end = work_end(windows, start, duration)
                return None if end is None else (start, end)
            if start + duration <= e:
                return start, start + duration
        i += 1
    return None
