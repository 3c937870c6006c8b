"""Working calendar: node timeouts count working hours, not wall-clock hours.

A plant works on given weekdays within given hours; public holidays are off and make-up days
(调休, a Saturday worked instead of a holiday) are on.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_HOURS = (("08:00", "12:00"), ("13:00", "17:00"))


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


@dataclass(frozen=True)
class Calendar:
    workdays: frozenset[int] = frozenset({1, 2, 3, 4, 5})       # ISO weekdays, 1 = Monday
    hours: tuple[tuple[int, int], ...] = tuple((_minutes(a), _minutes(b)) for a, b in DEFAULT_HOURS)
    holidays: frozenset[dt.date] = frozenset()
    extra_workdays: frozenset[dt.date] = frozenset()

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any] | None) -> "Calendar":
        raw = raw or {}
        hours = raw.get("hours") or DEFAULT_HOURS
        return cls(workdays=frozenset(raw.get("workdays") or (1, 2, 3, 4, 5)),
                   hours=tuple(sorted((_minutes(a), _minutes(b)) for a, b in hours)),
                   holidays=frozenset(dt.date.fromisoformat(d) for d in raw.get("holidays", ())),
                   extra_workdays=frozenset(dt.date.fromisoformat(d) for d in raw.get("extra_workdays", ())))

    def is_workday(self, day: dt.date) -> bool:
        if day in self.extra_workdays:
            return True
        return day.isoweekday() in self.workdays and day not in self.holidays

    def add_working_hours(self, start: dt.datetime, hours: float, tz: dt.tzinfo) -> dt.datetime:
        """The moment ``hours`` working hours after ``start`` (aware), in UTC."""
        left = round(hours * 60)
        local = start.astimezone(tz)
        day, minute = local.date(), local.hour * 60 + local.minute
        for _ in range(3660):  # ten years of days at most
            if self.is_workday(day):
                for a, b in self.hours:
                    if minute >= b:
                        continue
                    begin = max(a, minute)
                    span = b - begin
                    if left <= span:
                        end = begin + left
                        at = dt.datetime.combine(day, dt.time(end // 60 % 24, end % 60), tzinfo=tz)
                        if end >= 24 * 60:
                            at += dt.timedelta(days=1)
                        return at.astimezone(dt.timezone.utc)
                    left -= span
                    minute = b
            day, minute = day + dt.timedelta(days=1), 0
        raise ValueError("the working calendar has no working time")
