"""Typed report parameters: parse what a caller sends (query string, JSON, CLI ``--param k=v``) into
values, with defaults, presets for date ranges and one problem per bad value, located at
``/params/<key>``.

Date ranges are inclusive local dates: ``2026-11-01,2026-11-30``, ``{"from": ..., "to": ...}`` or a
preset (``today``, ``yesterday``, ``this_week``, ``last_week``, ``this_month``, ``last_month``,
``last_7_days``, ``last_30_days``, ``last_90_days``, ``this_year``).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.records.context import Ctx
from mom.platform.db import tables as T
from mom.platform.errors import ProblemList, did_you_mean

PRESETS = ("today", "yesterday", "this_week", "last_week", "this_month", "last_month", "last_7_days",
           "last_30_days", "last_90_days", "this_year")
SCOPES = ("all", "mine", "department")


def _month_start(d: dt.date) -> dt.date:
    return d.replace(day=1)


MAX_PRESET_DAYS = 36_600   # last_N_days: at most a hundred years


def preset_range(name: str, today: dt.date) -> tuple[dt.date, dt.date]:
    if name == "today":
        return today, today
    if name == "yesterday":
        y = today - dt.timedelta(days=1)
        return y, y
    if name == "this_week":
        start = today - dt.timedelta(days=today.weekday())
        return start, start + dt.timedelta(days=6)
    if name == "last_week":
        start = today - dt.timedelta(days=today.weekday() + 7)
        return start, start + dt.timedelta(days=6)
    if name == "this_month":
        start = _month_start(today)
        nxt = (start + dt.timedelta(days=32)).replace(day=1)
        return start, nxt - dt.timedelta(days=1)
    if name == "last_month":
        end = _month_start(today) - dt.timedelta(days=1)
        return _month_start(end), end
    if name.startswith("last_") and name.endswith("_days"):
        n = name[5:-5]
        if not (n.isascii() and n.isdigit() and 1 <= int(n) <= MAX_PRESET_DAYS):   # a huge N overflowed the date (500)
            raise ValueError(name)
        return today - dt.timedelta(days=int(n) - 1), today
    if name == "this_year":
        return today.replace(month=1, day=1), today.replace(month=12, day=31)
    raise ValueError(name)


def _date(v: Any) -> dt.date:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    return dt.date.fromisoformat(str(v).strip()[:10])


def _one(p: Mapping[str, Any], v: Any, ctx: Ctx, conn: Connection | None) -> Any:
    t = p["type"]
    if t == "date":
        return _date(v)
    if t == "datetime":
        d = v if isinstance(v, dt.datetime) else dt.datetime.fromisoformat(str(v).strip())
        return d if d.tzinfo else d.replace(tzinfo=ctx.tz)
    if t == "number":
        try:
            return Decimal(str(v).strip())
        except InvalidOperation:
            raise ValueError(f"{v!r} 不是数字|{v!r} is not a number") from None
    if t == "text":
        return str(v)
    if t == "select":
        opts = p.get("_options")
        if opts is not None and v not in opts and str(v) not in {str(o) for o in opts}:
            raise ValueError(f"{v!r} 不是可选值{did_you_mean(str(v), [str(o) for o in opts])}|"
                             f"{v!r} is not an option{did_you_mean(str(v), [str(o) for o in opts])}")
        return next((o for o in opts if str(o) == str(v)), v) if opts is not None else v
    if t in ("user", "department"):
        if isinstance(v, int) or str(v).strip().isdigit():
            return int(v)
        if conn is None:
            raise ValueError("需要 id|an id is required")
        table, col = (T.user, T.user.c.username) if t == "user" else (T.department, T.department.c.code)
        found = conn.execute(sa.select(table.c.id).where(col == str(v).strip())).scalar()
        if found is None:
            raise ValueError(f"找不到 {v}|{v} not found")
        return int(found)
    raise ValueError(t)


def parse_params(defs: list[Mapping[str, Any]], given: Mapping[str, Any], ctx: Ctx, conn: Connection | None,
                 problems: ProblemList) -> dict[str, Any]:
    """Parse ``given`` against ``defs``; unknown names and bad values become problems."""
    out: dict[str, Any] = {}
    known = {p["key"] for p in defs}
    for name in given:
        if name not in known:
            problems.add(f"/params/{name}", f"报表没有参数 {name}{did_you_mean(name, known)}",
                         f"the report has no parameter {name}{did_you_mean(name, known)}", "unknown_param")
    today = ctx.now.astimezone(ctx.tz).date()
    for p in defs:
        key, t = p["key"], p["type"]
        path = f"/params/{key}"
        v = given.get(key)
        if v is None or v == "" or v == []:
            v = p.get("default")
        if v is None or v == "" or v == []:
            if p.get("required"):
                problems.add(path, f"参数 {key} 必填", f"parameter {key} is required", "required")
            out[key] = None
            continue
        try:
            if t == "date_range":
                out[key] = _range(v, today)
                span = (out[key][1] - out[key][0]).days + 1
                if p.get("max_days") and span > int(p["max_days"]):
                    raise ValueError(f"最多 {p['max_days']} 天，当前 {span} 天|at most {p['max_days']} days, got {span}")
            elif t == "scope":
                if v not in SCOPES:
                    raise ValueError(f"可选 {', '.join(SCOPES)}|use one of {', '.join(SCOPES)}")
                out[key] = v
            elif p.get("multiple"):
                items = v if isinstance(v, list) else [x for x in str(v).split(",") if x.strip()]
                out[key] = [_one(p, x.strip() if isinstance(x, str) else x, ctx, conn) for x in items]
            else:
                out[key] = _one(p, v, ctx, conn)
        except ValueError as exc:
            zh, _, en = str(exc).partition("|")
            if not en:
                zh, en = f"取值 {v!r} 无效", f"invalid value {v!r}"
            problems.add(path, f"参数 {key}：{zh}", f"parameter {key}: {en}", "invalid_param")
    return out


def _range(v: Any, today: dt.date) -> tuple[dt.date, dt.date]:
    if isinstance(v, str) and v.strip() in PRESETS:
        return preset_range(v.strip(), today)
    if isinstance(v, str) and v.strip().startswith("last_") and v.strip().endswith("_days"):
        try:
            return preset_range(v.strip(), today)
        except ValueError:
            pass
    if isinstance(v, Mapping):
        a, b = v.get("from"), v.get("to")
    elif isinstance(v, (list, tuple)) and len(v) == 2:
        a, b = v
    elif isinstance(v, str) and "," in v:
        a, b = v.split(",", 1)
    else:
        raise ValueError(f"日期范围写作 2026-11-01,2026-11-30 或 {'/'.join(PRESETS[:4])} 等|"
                         f"write a date range as 2026-11-01,2026-11-30 or a preset such as {', '.join(PRESETS[:4])}")
    try:
        lo, hi = _date(a), _date(b)
    except (TypeError, ValueError):
        raise ValueError(f"日期格式应为 YYYY-MM-DD：{a!r}, {b!r}|dates must be YYYY-MM-DD: {a!r}, {b!r}") from None
    if hi < lo:
        raise ValueError("结束日期早于开始日期|the end date is before the start date")
    return lo, hi
