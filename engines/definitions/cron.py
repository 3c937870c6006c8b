"""Cron lines in definitions (a rule's ``on.cron``, a report's ``schedules[].cron``): when they fire next."""
from __future__ import annotations

import datetime as dt

from croniter import croniter


def next_run(cron: str, after: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """The next time a cron line fires after ``after``, read in the plant's time zone; returned in UTC."""
    return croniter(cron, after.astimezone(tz)).get_next(dt.datetime).astimezone(dt.timezone.utc)
