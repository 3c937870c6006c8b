"""Report filters: ``{"field", "op", "value" | "param"}`` as SQL conditions on a resolved path.

Publish time (:func:`check_filter`) checks what does not depend on the caller or the parameters: the
parameter exists, a placeholder (``@me``, ``@today-7`` …) is known. Per request, :func:`filter_sql`
turns the operator and the value (a literal, a placeholder for this caller, a parameter's value)
into a condition; dates given for a datetime field mean whole local days.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from mom.engines.forms import fieldtypes
from mom.engines.records.context import Ctx
from mom.engines.reports.paths import BuildError, Ref
from mom.platform.errors import did_you_mean

PLACEHOLDERS = "@me @my_departments @today @today-7 @now"


@dataclass(frozen=True)
class FilterSpec:
    """One checked filter of a report definition."""

    at: str                         # its JSON pointer (/filters/<i>)
    path: str
    op: str
    param: str | None = None        # the parameter giving the value, or None for ``value``
    param_type: str | None = None
    value: Any = None


def check_filter(at: str, f: Mapping[str, Any], params: Mapping[str, Mapping[str, Any]]) -> FilterSpec:
    """Publish-time checks of one filter (the field path is checked by the caller)."""
    if "param" in f:
        p = params.get(f["param"])
        if p is None:
            raise BuildError(f"{at}/param", f"没有参数 {f['param']}{did_you_mean(f['param'], set(params))}",
                             f"no parameter {f['param']}{did_you_mean(f['param'], set(params))}")
        return FilterSpec(at, f["field"], f["op"], f["param"], p["type"])
    value = f.get("value")
    for v in value if isinstance(value, list) else [value]:
        if isinstance(v, str) and v.startswith("@") and not _known_placeholder(v):
            raise BuildError(f"{at}/value", f"未知占位符 {value}（可用 {PLACEHOLDERS}）",
                             f"unknown placeholder {value} (use {PLACEHOLDERS})")
    return FilterSpec(at, f["field"], f["op"], value=value)


def _known_placeholder(v: str) -> bool:
    if v in ("@me", "@my_department", "@my_departments", "@now"):
        return True
    if v.startswith("@today"):
        try:
            int(v[6:] or 0)
        except ValueError:
            return False
        return True
    return False


def condition(fs: FilterSpec, ref: Ref, params: Mapping[str, Any], ctx: Ctx) -> Any:
    """The SQL condition of ``fs`` for this caller and these parameter values (None: no condition)."""
    if fs.param is not None:
        v = params.get(fs.param)
        if v is None:
            return None                                     # an optional parameter left empty: no filter
        if fs.param_type == "date_range":
            v = list(v)
            if fs.op != "between":
                raise BuildError(f"{fs.at}/op", "日期范围参数须配 between", "a date_range parameter needs op between")
    else:
        v = token(fs.value, ctx) if not isinstance(fs.value, list) else [token(x, ctx) for x in fs.value]
    return filter_sql(ref, fs.op, v, f"{fs.at}/value", ctx)


def _coerce(ref: Ref, v: Any, path: str, ctx: Ctx) -> Any:
    if ref.spec is None or ref.type in ("reference", "user", "department", "integer"):
        if ref.type in ("date", "datetime"):
            return _as_date_or_dt(v, ref.type, ctx, path)
        if ref.type in ("reference", "user", "department", "integer") and not isinstance(v, bool):
            try:
                return int(v)
            except (TypeError, ValueError):
                raise BuildError(path, f"{v!r} 不是整数 id", f"{v!r} is not an integer id") from None
        return v
    if ref.type in ("date", "datetime"):
        return _as_date_or_dt(v, ref.type, ctx, path)
    try:
        return fieldtypes.coerce(ref.spec, v, tz=ctx.tz)
    except fieldtypes.FieldError as exc:
        raise BuildError(path, f"过滤值无效：{exc.zh}", f"invalid filter value: {exc.en}") from None


def _as_date_or_dt(v: Any, t: str, ctx: Ctx, path: str) -> Any:
    if isinstance(v, (dt.date, dt.datetime)):
        return v
    s = str(v).strip()
    try:
        if len(s) <= 10:
            return dt.date.fromisoformat(s)
        d = dt.datetime.fromisoformat(s)
        return d if d.tzinfo else d.replace(tzinfo=ctx.tz)
    except ValueError:
        raise BuildError(path, f"{v!r} 不是日期（YYYY-MM-DD）", f"{v!r} is not a date (YYYY-MM-DD)") from None


def _day_start(d: dt.date, ctx: Ctx) -> dt.datetime:
    return dt.datetime.combine(d, dt.time(), tzinfo=ctx.tz).astimezone(dt.timezone.utc)


def token(v: Any, ctx: Ctx) -> Any:
    """``@me``, ``@my_departments``, ``@today``, ``@today-7``, ``@now`` in filter values."""
    if not isinstance(v, str) or not v.startswith("@"):
        return v
    today = ctx.now.astimezone(ctx.tz).date()
    if v == "@me":
        return ctx.actor.id
    if v in ("@my_department", "@my_departments"):
        return list(ctx.actor.department_ids)
    if v == "@now":
        return ctx.now
    if v.startswith("@today"):
        rest = v[6:]
        days = int(rest) if rest else 0
        return today + dt.timedelta(days=days)
    raise ValueError(v)


def filter_sql(ref: Ref, op: str, v: Any, path: str, ctx: Ctx) -> Any:
    col = ref.sql
    if op in ("isnull", "notnull"):
        want = op == "isnull" if v in (None, True, "true", "1", "") else op != "isnull"
        return col.is_(None) if want else col.is_not(None)
    if ref.type == "datetime":
        return _datetime_filter(col, op, v, path, ctx)
    if op in ("in", "not_in"):
        items = v if isinstance(v, (list, tuple)) else [x.strip() for x in str(v).split(",")]
        vals = [_coerce(ref, x, path, ctx) for x in items]
        clause = col.in_(vals) if vals else sa.false()
        return sa.or_(sa.not_(clause), col.is_(None)) if op == "not_in" else clause
    if op == "between":
        items = v if isinstance(v, (list, tuple)) else [x.strip() for x in str(v).split(",")]
        if len(items) != 2:
            raise BuildError(path, "between 需要两个值", "between takes two values")
        return col.between(_coerce(ref, items[0], path, ctx), _coerce(ref, items[1], path, ctx))
    if op == "like":
        s = str(v)
        return col.like(s if "%" in s or "_" in s else f"%{s}%")
    if isinstance(v, list):
        clause = col.in_([_coerce(ref, x, path, ctx) for x in v]) if v else sa.false()
        return sa.not_(clause) if op == "ne" else clause
    val = _coerce(ref, v, path, ctx)
    return {"eq": lambda: col == val, "ne": lambda: sa.or_(col != val, col.is_(None)), "lt": lambda: col < val,
            "le": lambda: col <= val, "gt": lambda: col > val, "ge": lambda: col >= val}[op]()


def _datetime_filter(col: Any, op: str, v: Any, path: str, ctx: Ctx) -> Any:
    """Dates given for a datetime field mean whole local days: ``between d1,d2`` is [d1 00:00, d2+1 00:00)."""
    def bound(x: Any, end: bool) -> dt.datetime:
        x = _as_date_or_dt(x, "datetime", ctx, path)
        if isinstance(x, dt.datetime):
            return x.astimezone(dt.timezone.utc)
        return _day_start(x + dt.timedelta(days=1) if end else x, ctx)

    if op == "between":
        items = v if isinstance(v, (list, tuple)) else [x.strip() for x in str(v).split(",")]
        if len(items) != 2:
            raise BuildError(path, "between 需要两个值", "between takes two values")
        lo, hi = bound(items[0], False), bound(items[1], True)
        return sa.and_(col >= lo, col < hi) if not isinstance(_as_date_or_dt(items[1], "datetime", ctx, path), dt.datetime) \
            else sa.and_(col >= lo, col <= hi)
    if op in ("eq", "ne"):
        x = _as_date_or_dt(v, "datetime", ctx, path)
        if isinstance(x, dt.datetime):
            clause = col == x
        else:
            clause = sa.and_(col >= bound(x, False), col < bound(x, True))
        return sa.or_(sa.not_(clause), col.is_(None)) if op == "ne" else clause
    if op in ("lt", "ge"):
        b = bound(v, False)
        return col < b if op == "lt" else col >= b
    if op in ("le", "gt"):
        x = _as_date_or_dt(v, "datetime", ctx, path)
        b = x.astimezone(dt.timezone.utc) if isinstance(x, dt.datetime) else bound(x, True)
        if isinstance(x, dt.datetime):
            return col <= b if op == "le" else col > b
        return col < b if op == "le" else col >= b
    raise BuildError(path, f"日期时间字段不支持 {op}", f"{op} is not supported on a datetime field")
