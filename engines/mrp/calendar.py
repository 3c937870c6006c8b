"""Working days for lead-time offsetting: a week pattern (ISO weekdays, 1 = Monday) and holidays.

A lead time of ``n`` working days ends on the due date and starts ``n`` working days before it: the
release date is the ``n``-th working day before the due date (0 days: the due date itself). Working days
are kept as a sorted list so an offset is one bisection, however long the lead time.
"""
from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable

_ONE = dt.timedelta(days=1)


class WorkCalendar:
    """A plant calendar between ``first`` and ``last`` (offsets beyond fall back to the week pattern)."""

    def __init__(self, workdays: Iterable[int] = (1, 2, 3, 4, 5), holidays: Iterable[dt.date] = (), *,
                 first: dt.date, last: dt.date) -> None:
        self.workdays = frozenset(int(d) for d in workdays) or frozenset(range(1, 8))
        self.holidays = frozenset(holidays)
        self.first, self.last = first, last
        days, d = [], first
        while d <= last:
            if self.is_working(d):
                days.append(d)
            d += _ONE
        self._days = days
        self._memo: dict[tuple[dt.date, int], dt.date] = {}

    def is_working(self, day: dt.date) -> bool:
        """Is ``day`` a working day (its weekday is in the pattern and it is no holiday)?"""
        return day.isoweekday() in self.workdays and day not in self.holidays

    def back(self, due: dt.date, days: int) -> dt.date:
        """The ``days``-th working day before ``due`` (``due`` itself when ``days`` is 0)."""
        if days <= 0:
            return due
        key = (due, days)
        got = self._memo.get(key)
        if got is None:
            pos = bisect.bisect_left(self._days, due) - days
            got = self._days[pos] if self.first <= due <= self.last + _ONE and pos >= 0 else self._walk(due, days)
            self._memo[key] = got
        return got

    def _walk(self, due: dt.date, days: int) -> dt.date:
        d, left = due, days
        while left > 0:
            d -= _ONE
            if self.is_working(d):
                left -= 1
        return d
