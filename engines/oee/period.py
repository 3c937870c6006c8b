"""The period an OEE question covers, as people type it: dates (whole plant days; ``to`` includes its day) or
date-times in the plant's time zone; both default to the last seven days up to today."""
from __future__ import annotations

import datetime as dt
from typing import Any

from mom.platform.errors import InvalidInput, Problem

YEARS = (1970, 2200)
_NAMES = {"from": ("起始日期", "the start date"), "to": ("截止日期", "the end date")}


def moment(raw: str | None, name: str, tz: dt.tzinfo, *, end: bool = False) -> dt.datetime | None:
    """A date (whole plant days: ``to`` includes its day) or a date-time in the plant's time zone."""
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    zh_name, en_name = _NAMES[name]
    try:
        if len(text) <= 10:
            given = dt.date.fromisoformat(text)
            year = given.year          # the date as given: 2200-12-31 is in range though its end is 2201-01-01
            day = given + dt.timedelta(days=1 if end and given < dt.date.max else 0)
            at = dt.datetime.combine(day, dt.time(), tzinfo=tz)
        else:
            at = dt.datetime.fromisoformat(text)
            at = at if at.tzinfo else at.replace(tzinfo=tz)
            year = at.year
    except (ValueError, OverflowError):
        zh = f"{zh_name}「{text[:20]}」无效：应为日期（2026-12-01）或时间（2026-12-01T08:00）"
        en = f"{en_name} {text[:20]!r} is invalid: give a date (2026-12-01) or a date-time (2026-12-01T08:00)"
        raise InvalidInput(zh, en, problems=[Problem(f"/{name}", zh, en)]) from None
    if not YEARS[0] <= year <= YEARS[1]:
        zh = f"{zh_name}「{text[:20]}」超出范围：应在 {YEARS[0]} 年到 {YEARS[1]} 年之间"
        en = f"{en_name} {text[:20]!r} is out of range: give a date between {YEARS[0]} and {YEARS[1]}"
        raise InvalidInput(zh, en, problems=[Problem(f"/{name}", zh, en)])
    return at


def period(date_from: str | None, date_to: str | None, ctx: Any) -> tuple[dt.datetime, dt.datetime]:
    """[from, to): both default to today (the plant's day); a missing from is seven days before to."""
    today = ctx.now.astimezone(ctx.tz).date()
    end = moment(date_to, "to", ctx.tz, end=True) or dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), tzinfo=ctx.tz)
    start = moment(date_from, "from", ctx.tz) or end - dt.timedelta(days=7)
    return start, end
