"""Time field types: ``date`` and ``datetime`` (stored in UTC; a time without a zone is the plant's)."""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from mom.engines.forms.fieldtypes import FieldError, FieldType
from mom.engines.forms.model import FieldSpec
from mom.platform.db.types import UTCDateTime


def coerce_date(f: FieldSpec, v: Any, tz: dt.tzinfo) -> dt.date:
    """2026-11-21, 2026/11/21, 2026.11.21 or 2026年11月21日 (a time after the date is ignored)."""
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    s = str(v).strip().replace("/", "-").replace(".", "-")
    m = re.fullmatch(r"(\d{4})年(\d{1,2})月(\d{1,2})日", s)
    if m:
        s = f"{m[1]}-{int(m[2]):02d}-{int(m[3]):02d}"
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?", s)
    if m:
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            pass
    raise FieldError(f"{v!r} 不是日期（格式 2026-11-21）", f"{v!r} is not a date (use 2026-11-21)")


def coerce_datetime(f: FieldSpec, v: Any, tz: dt.tzinfo) -> dt.datetime:
    """ISO 8601 (``Z`` allowed) or 2026-11-21 08:30; a value without a zone is in ``tz``; returned in UTC."""
    if isinstance(v, dt.datetime):
        d = v
    elif isinstance(v, dt.date):
        d = dt.datetime(v.year, v.month, v.day)
    else:
        s = str(v).strip().replace("/", "-")
        if s.endswith("Z"):
            s = s[:-1] + "+00:00"
        try:
            d = dt.datetime.fromisoformat(s)
        except ValueError:
            raise FieldError(f"{v!r} 不是日期时间（格式 2026-11-21 08:30 或 ISO 8601）",
                             f"{v!r} is not a datetime (use 2026-11-21 08:30 or ISO 8601)") from None
    if d.tzinfo is None:
        d = d.replace(tzinfo=tz)
    try:
        return d.astimezone(dt.timezone.utc)
    except OverflowError:   # 0001-01-01 00:00 east of UTC is before year 1
        raise FieldError(f"{v!r} 超出可用的日期范围", f"{v!r} is outside the dates that can be stored") from None


def _fast_date(f: FieldSpec, tz: dt.tzinfo, general: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def date(v: Any) -> Any:
        if type(v) is str and len(v) == 10 and v[4] == "-" and v[7] == "-":
            try:
                return dt.date.fromisoformat(v)
            except ValueError:
                pass
        return general(v)
    return date


def _datetime_json(col: Any, dialect: str) -> Any:
    if dialect == "postgresql":
        return sa.func.to_char(sa.func.timezone("UTC", col), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
    return sa.func.replace(col, " ", "T") + "Z"


DATE = FieldType("date", column=lambda f: sa.Date(), coerce=coerce_date, specialise=_fast_date,
                 family="temporal")
DATETIME = FieldType("datetime", column=lambda f: UTCDateTime(), coerce=coerce_datetime, family="temporal",
                     json_sql=_datetime_json)
