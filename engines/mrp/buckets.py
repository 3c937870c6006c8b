"""Time buckets (时段) of a run: days or ISO weeks (Monday to Sunday) from the run date on.

Bucket 0 starts on the run date (day buckets) or on the Monday of its week (week buckets); anything
dated earlier is past due and counts in bucket 0; anything after the last bucket is beyond the horizon.
A planned order is due on the first day of its bucket.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

DAY, WEEK = "day", "week"
BUCKETS = (DAY, WEEK)
MAX_HORIZON = 400


@dataclass(frozen=True)
class Buckets:
    """``count`` buckets of ``kind`` starting on ``start``."""

    kind: str
    start: dt.date
    count: int

    @classmethod
    def from_today(cls, today: dt.date, kind: str, count: int) -> "Buckets":
        """The buckets of a run made on ``today``."""
        if kind not in BUCKETS:
            raise ValueError(kind)
        start = today - dt.timedelta(days=today.isoweekday() - 1) if kind == WEEK else today
        return cls(kind, start, count)

    @property
    def days(self) -> int:
        """Length of one bucket in calendar days."""
        return 7 if self.kind == WEEK else 1

    def index(self, day: dt.date) -> int:
        """The bucket of ``day``: 0 for anything before the start, ``count`` (out of range) past the end."""
        n = (day - self.start).days // self.days
        return 0 if n < 0 else min(n, self.count)

    def date(self, i: int) -> dt.date:
        """The first day of bucket ``i``."""
        return self.start + dt.timedelta(days=i * self.days)

    @property
    def end(self) -> dt.date:
        """The last day of the horizon."""
        return self.date(self.count) - dt.timedelta(days=1)
