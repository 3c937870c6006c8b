"""Date and number bucketing of report dimensions: a date or datetime column becomes the text label
of its day, week, month, quarter, year or shift, in the plant's zone, the same on both databases."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from mom.engines.records.context import Ctx
from mom.engines.reports.paths import BuildError

BUCKETS_DATE = ("day", "week", "month", "quarter", "year")
DEFAULT_SHIFTS: tuple[Mapping[str, str], ...] = ({"key": "A", "start": "08:00"}, {"key": "B", "start": "20:00"})


def check_bucket(at: str, path: str, value_type: str, bucket: str) -> None:
    """Publish-time: ``bucket`` fits a field of ``value_type`` (raises BuildError at ``at``/bucket)."""
    if value_type not in ("date", "datetime"):
        raise BuildError(f"{at}/bucket", f"{path} 不是日期或日期时间字段，不能分桶",
                         f"{path} is not a date or datetime field; it cannot be bucketed")
    if value_type == "date" and bucket not in BUCKETS_DATE:
        raise BuildError(f"{at}/bucket", f"日期字段不能按 {bucket} 分桶（可用 {', '.join(BUCKETS_DATE)}）",
                         f"a date field cannot be bucketed by {bucket} (use {', '.join(BUCKETS_DATE)})")


def offset_minutes(ctx: Ctx) -> int:
    """The plant zone's UTC offset now. Both databases use the same fixed offset so that buckets agree;
    plants in zones with daylight saving see the hour around the change in the neighbouring bucket."""
    off = ctx.now.astimezone(ctx.tz).utcoffset() or dt.timedelta(0)
    return int(off.total_seconds() // 60)


def _shift(dialect: str, x: Any, minutes: int, *, is_utc_datetime: bool) -> Any:
    if dialect == "sqlite":
        return sa.func.datetime(x, f"{minutes:+d} minutes")
    base = sa.func.timezone("UTC", x) if is_utc_datetime else sa.cast(x, sa.DateTime)
    return base + sa.literal_column(f"interval '{int(minutes)} minutes'")


_PG_FMT = {"hour": "YYYY-MM-DD HH24:00", "day": "YYYY-MM-DD", "month": "YYYY-MM", "year": "YYYY"}
_SQLITE_FMT = {"hour": "%Y-%m-%d %H:00", "day": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}


def _fmt(dialect: str, x: Any, unit: str) -> Any:
    if dialect == "sqlite":
        return sa.func.strftime(_SQLITE_FMT[unit], x)
    return sa.func.to_char(x, _PG_FMT[unit])


def bucket_sql(dialect: str, x: Any, value_type: str, bucket: str, ctx: Ctx, shifts: list[Mapping[str, Any]]) -> Any:
    """A date or datetime column -> the text label of its bucket, in the plant's zone."""
    is_dt = value_type == "datetime"
    local = _shift(dialect, x, offset_minutes(ctx), is_utc_datetime=True) if is_dt else x
    if dialect != "sqlite" and not is_dt:
        local = sa.cast(x, sa.DateTime)
    if bucket in _PG_FMT:
        return _fmt(dialect, local, bucket)
    if bucket == "quarter":
        if dialect == "sqlite":
            q = (sa.cast(sa.func.strftime("%m", local), sa.Integer) + 2) / 3
            return sa.func.strftime("%Y", local).op("||")("-Q").op("||")(sa.cast(q, sa.Text))
        return sa.func.to_char(local, 'YYYY-"Q"Q')
    if bucket == "week":                                  # the Monday that starts the ISO week
        if dialect == "sqlite":
            back = (sa.cast(sa.func.strftime("%w", local), sa.Integer) + 6) % 7
            return sa.func.date(local, sa.literal("-").op("||")(sa.cast(back, sa.Text)).op("||")(" days"))
        return sa.func.to_char(sa.func.date_trunc("week", local), "YYYY-MM-DD")
    if bucket == "shift":
        starts = sorted((int(s["start"][:2]) * 60 + int(s["start"][3:]), s["key"]) for s in shifts)
        first = starts[0][0]
        shifted = _shift(dialect, x, offset_minutes(ctx) - first, is_utc_datetime=True)
        if dialect == "sqlite":
            minute = (sa.cast(sa.func.strftime("%H", shifted), sa.Integer) * 60
                      + sa.cast(sa.func.strftime("%M", shifted), sa.Integer))
        else:
            minute = (sa.cast(sa.func.extract("hour", shifted), sa.Integer) * 60
                      + sa.cast(sa.func.extract("minute", shifted), sa.Integer))
        whens = [(minute >= start - first, sa.literal(key)) for start, key in reversed(starts[1:])]
        key_sql = sa.case(*whens, else_=sa.literal(starts[0][1])) if whens else sa.literal(starts[0][1])
        return _fmt(dialect, shifted, "day").op("||")(" ").op("||")(key_sql)
    raise ValueError(bucket)
