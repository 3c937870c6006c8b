"""Compile a ``mom.report/1`` definition, for one caller and one set of parameters, into ONE SQL
statement (SQLAlchemy Core), with the caller's permissions inside it.

Shape of the statement::

    SELECT <dimensions>, <measures>            -- aggregates, ratios, window functions
    FROM (SELECT <every field path used> AS p0, p1, ...
          FROM source [JOIN child table] [LEFT JOIN referenced forms ON id AND their read scope]
          WHERE not deleted AND <source read scope> AND <filters>) AS b
    [WHERE <top-N: dimension IN (ranked subquery)>]
    GROUP BY <dimensions> ORDER BY ... LIMIT ...

The inner select carries every permission: the source form's row scope in WHERE, each referenced
form's row scope in its join condition (rows the caller may not read contribute NULLs), and fields
the caller may not see replaced by a typed NULL, so a filter, dimension or measure on a hidden
field can never reveal it. Both databases flatten the inner select; the plan is that of the
hand-written query (see bench/report_bench.py).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql import util as sql_util

from mom.engines.forms import fieldtypes
from mom.engines.forms.compile import CompiledForm
from mom.engines.forms.model import FieldSpec, text_of
from mom.engines.records.access import form_access
from mom.engines.records.context import Ctx
from mom.engines.reports import sqlexpr
from mom.engines.reports.params import parse_params
from mom.platform.db import tables as T
from mom.platform.errors import AccessDenied, InvalidInput, Problem, ProblemList, did_you_mean

MAIN_SYSTEM = ("id", "created_at", "created_by", "updated_at", "updated_by", "department_id", "form_version")
CHILD_SYSTEM = ("id", "seq", "parent_id")
USER_ATTRS = {"id": "id", "username": "username", "display_name": "display_name", "name": "display_name"}
DEPT_ATTRS = {"id": "id", "name": "name", "code": "code"}
BUCKETS_DATE = ("day", "week", "month", "quarter", "year")
AGG_ADDITIVE = ("count", "sum")
DEFAULT_LIMIT = 10000
DETAIL_LIMIT = 1000


class BuildError(Exception):
    """A problem located in the definition (``path``) or the parameters."""

    def __init__(self, path: str, zh: str, en: str, code: str = "invalid") -> None:
        self.path, self.zh, self.en, self.code = path, zh, en, code
        super().__init__(f"{path}: {zh} / {en}")


@dataclass
class Ref:
    """A resolved field path: its SQL on the joined tables and what it is."""

    sql: Any
    type: str                       # value type: text, integer, decimal, date, datetime, select, reference, user, ...
    spec: FieldSpec | None = None
    hidden: bool = False

    @property
    def has_display(self) -> bool:
        """A visible reference, user or department: shown by its display text (see Builder.display_path)."""
        return not self.hidden and self.type in ("reference", "user", "department")


@dataclass
class Column:
    key: str
    kind: str                       # dimension | measure | column
    label: Mapping[str, str]
    type: str
    format: str | None = None
    decimals: int | None = None
    options: Mapping[str, Mapping[str, str]] | None = None
    hidden: bool = False
    target: float | None = None
    sqrt: bool = False              # stddev: the statement returns the variance

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "kind": self.kind, "label": dict(self.label), "type": self.type}
        for k in ("format", "decimals", "target"):
            if getattr(self, k) is not None:
                out[k] = getattr(self, k)
        if self.options:
            out["options"] = {k: dict(v) for k, v in self.options.items()}
        if self.hidden:
            out["hidden"] = True
        return out


@dataclass
class Built:
    statement: Any
    base: Any                       # the inner select (rows scanned): estimates and drill-down
    columns: list[Column]
    params: dict[str, Any]
    limit: int
    source: CompiledForm
    hidden_fields: list[str]
    dims: dict[str, Callable[[Any], Any]] = field(default_factory=dict)     # key -> SQL over a base alias
    dim_ids: dict[str, str] = field(default_factory=dict)                   # key -> base label of the id
    top: Any = None                 # (dimension key, ranked subquery factory, n, others label)
    id_label: str = "p0"


def _label(raw: Mapping[str, Any] | None, fallback: Mapping[str, str] | str) -> Mapping[str, str]:
    if raw and raw.get("label"):
        return text_of(raw["label"])
    return fallback if isinstance(fallback, Mapping) else text_of(fallback)


class Builder:
    def __init__(self, conn: Connection, forms: Any, ctx: Ctx, raw: Mapping[str, Any], summary: Any = None,
                 extra: Callable[["Builder"], list[Any]] | None = None) -> None:
        self.conn, self.forms, self.ctx, self.raw = conn, forms, ctx, raw
        self.dialect = conn.dialect.name
        self.source = forms.get(conn, raw["source"])
        self.access = form_access(self.source, ctx.actor)
        if not self.access.can("read"):
            raise AccessDenied(f"没有查看表单 {self.source.name} 的权限，不能运行此报表",
                               f"you may not read form {self.source.name}, so you cannot run this report")
        #: a pre-aggregated report reads its summary table (mom.engines.reports.summary.Summary) in
        #: place of the source table: same field names for the grain, partial aggregates beside them
        self.summary = summary
        self.extra = extra              # more conditions for the inner select (a summary's recompute)
        self.main = self.source.main if summary is None else summary.table
        self.from_: Any = self.main
        self.nodes: dict[str, tuple[Any, Any]] = {"": (self.main, ("form", self.source, self.access))}
        self.child: str | None = None
        self.paths: dict[str, tuple[str, Ref]] = {}       # path -> (base label, ref)
        self.hidden: list[str] = []

    # ------------------------------------------------------------------ field paths
    def resolve(self, path: str, where: str) -> Ref:
        segs = path.split(".")
        prefix = ""
        table, info = self.nodes[""]
        for i, seg in enumerate(segs):
            last = i == len(segs) - 1
            kind = info[0]
            here = f"{prefix}.{seg}" if prefix else seg
            if kind in ("user", "department"):
                attrs = USER_ATTRS if kind == "user" else DEPT_ATTRS
                if seg not in attrs or not last:
                    raise BuildError(where, f"{prefix} 只有属性 {', '.join(attrs)}", f"{prefix} only has {', '.join(attrs)}")
                return Ref(table.c[attrs[seg]], "integer" if seg == "id" else "text")
            if kind == "denied":
                return Ref(sa.null(), "text", hidden=True)
            if kind == "form":
                compiled, access = info[1], info[2]
                fields = {f.key: f for f in compiled.definition.fields}
                system = MAIN_SYSTEM
            else:                                           # child table
                compiled, access, tfield = info[1], info[2], info[3]
                fields = {c.key: c for c in tfield.children}
                system = CHILD_SYSTEM
            if seg in system and seg not in fields:
                if seg in ("created_by", "updated_by", "department_id") and not last:
                    table, info = self._join_platform(here, table.c[seg], "user" if seg != "department_id" else "department")
                    prefix = here
                    continue
                if not last:
                    raise BuildError(where, f"{here} 不是引用字段", f"{here} is not a reference")
                t = {"id": "integer", "seq": "integer", "parent_id": "integer", "form_version": "integer",
                     "created_at": "datetime", "updated_at": "datetime", "created_by": "user", "updated_by": "user",
                     "department_id": "department"}[seg]
                return Ref(table.c[seg], t)
            f = fields.get(seg)
            if f is None:
                names = sorted(set(fields) | set(system))
                raise BuildError(where, f"{compiled.name} 中没有字段 {seg}{did_you_mean(seg, names)}",
                                 f"form {compiled.name} has no field {seg}{did_you_mean(seg, names)}", "unknown_field")
            if kind == "form" and not access.visible(seg):
                self.hidden.append(here)
                return Ref(sa.null() if f.is_table else sa.cast(sa.null(), table.c[seg].type), f.value_type, f, hidden=True)
            if kind == "child" and not (access.visible(tfield.key) and access.visible(seg)):
                self.hidden.append(here)
                return Ref(sa.cast(sa.null(), table.c[seg].type), f.value_type, f, hidden=True)
            if f.is_table:
                if last:
                    keys = ", ".join(f"{seg}.{c.key}" for c in f.children[:3])
                    raise BuildError(where, f"{seg} 是明细表，请写其字段，如 {keys}", f"{seg} is a table; name one of its fields, e.g. {keys}")
                if kind != "form" or prefix:
                    raise BuildError(where, "只能展开来源表单自己的明细表", "only the source form's own tables can be expanded")
                if self.child not in (None, seg):
                    raise BuildError(where, f"一个报表只能展开一张明细表（已用 {self.child}）",
                                     f"a report can expand one table only ({self.child} is used)")
                table, info = self._join_child(f)
                prefix = here
                continue
            if last:
                if self.summary is not None and not prefix:
                    if seg not in table.c:                   # not in the grain: only its definition is used
                        return Ref(sa.null(), f.value_type, f)
                    if f.value_type == "datetime":
                        return Ref(table.c[seg], "date", f)  # the summary keeps the plant-local day
                return Ref(table.c[seg], f.value_type, f)
            if f.value_type == "reference":
                table, info = self._join_form(here, table.c[seg], str(f.raw["form"]))
            elif f.value_type in ("user", "department"):
                table, info = self._join_platform(here, table.c[seg], f.value_type)
            else:
                raise BuildError(where, f"{here} 不是引用字段，不能写 {path}", f"{here} is not a reference; {path} is not allowed")
            prefix = here
        raise BuildError(where, f"无效路径 {path}", f"invalid path {path}")  # pragma: no cover

    def display_path(self, path: str, ref: Ref) -> str:
        """The path of the text that shows ``path`` (a reference's display field, a user's name, ...)."""
        if ref.type == "user":
            return f"{path}.display_name"
        if ref.type == "department":
            return f"{path}.name"
        assert ref.spec is not None
        target = self.forms.get(self.conn, str(ref.spec.raw["form"]))
        return f"{path}.{ref.spec.raw.get('display_field') or target.definition.display_field}"

    def _join_child(self, f: FieldSpec) -> tuple[Any, Any]:
        if f.key in self.nodes:
            return self.nodes[f.key]
        child = self.source.children[f.key]
        self.from_ = self.from_.join(child, child.c.parent_id == self.main.c.id)
        self.child = f.key
        self.nodes[f.key] = (child, ("child", self.source, self.access, f))
        return self.nodes[f.key]

    def _join_form(self, prefix: str, fk: Any, form: str) -> tuple[Any, Any]:
        if prefix in self.nodes:
            return self.nodes[prefix]
        target = self.forms.get(self.conn, form)
        tacc = form_access(target, self.ctx.actor)
        alias = target.main.alias(f"j{len(self.nodes)}")
        on = [alias.c.id == fk, alias.c.deleted_at.is_(None)]
        if not tacc.can("read"):
            on.append(sa.false())
            self.nodes[prefix] = (alias, ("denied",))
            self.hidden.append(f"{prefix}.*")
        else:
            scope = tacc.scope("read")
            if scope is not None:
                on.append(sql_util.ClauseAdapter(alias).traverse(scope))
            self.nodes[prefix] = (alias, ("form", target, tacc))
        self.from_ = self.from_.outerjoin(alias, sa.and_(*on))
        return self.nodes[prefix]

    def _join_platform(self, prefix: str, fk: Any, kind: str) -> tuple[Any, Any]:
        if prefix in self.nodes:
            return self.nodes[prefix]
        table = (T.user if kind == "user" else T.department).alias(f"j{len(self.nodes)}")
        self.from_ = self.from_.outerjoin(table, table.c.id == fk)
        self.nodes[prefix] = (table, (kind,))
        return self.nodes[prefix]

    def base_label(self, path: str, where: str) -> tuple[str, Ref]:
        """The inner select's column for ``path`` (added on first use)."""
        if path not in self.paths:
            ref = self.resolve(path, where)
            self.paths[path] = (f"p{len(self.paths)}", ref)
        return self.paths[path]


# ---------------------------------------------------------------------- dialect helpers
def _offset_minutes(ctx: Ctx) -> int:
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
    local = _shift(dialect, x, _offset_minutes(ctx), is_utc_datetime=True) if is_dt else x
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
        shifted = _shift(dialect, x, _offset_minutes(ctx) - first, is_utc_datetime=True)
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


# ---------------------------------------------------------------------- filters
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


def _token(v: Any, ctx: Ctx) -> Any:
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


# ---------------------------------------------------------------------- the statement
def build(conn: Connection, forms: Any, ctx: Ctx, raw: Mapping[str, Any], given: Mapping[str, Any] | None = None,
          *, limit: int | None = None, dry: bool = False, summary: Any = None,
          extra: Callable[["Builder"], list[Any]] | None = None) -> Built:
    """Compile ``raw`` for ``ctx.actor`` and ``given`` parameters. Raises InvalidInput (all problems
    located) or AccessDenied. ``summary``: read the report's summary table instead of the source
    (see mom.engines.reports.summary); ``extra``: more conditions for the inner select."""
    problems = ProblemList()
    b = Builder(conn, forms, ctx, raw, summary, extra)
    defs = [dict(p) for p in raw.get("params", [])]
    try:
        _options(b, defs)
    except BuildError as exc:
        problems.add(exc.path, exc.zh, exc.en, exc.code)
    params = parse_params(defs, given or {}, ctx, conn, problems)
    if dry:                      # validating a definition: missing required values are the caller's to give
        problems.items = [p for p in problems.items if p.code != "required"]
    problems.raise_if_any("报表参数有误", "invalid report parameters")
    try:
        return _build(b, raw, params, defs, limit)
    except BuildError as exc:
        raise InvalidInput(exc.zh, exc.en, problems=[Problem(exc.path, exc.zh, exc.en, exc.code)]) from None


def _options(b: Builder, defs: list[dict[str, Any]]) -> None:
    for i, p in enumerate(defs):
        if p["type"] == "select":
            if p.get("options") is not None:
                p["_options"] = list(p["options"])
            elif p.get("options_from"):
                ref = b.resolve(p["options_from"], f"/params/{i}/options_from")
                if ref.spec is None or not ref.spec.options:
                    raise BuildError(f"/params/{i}/options_from", f"{p['options_from']} 不是下拉字段",
                                     f"{p['options_from']} is not a select field")
                p["_options"] = list(ref.spec.options)


def _expr(b: Builder, source: str, where: str, base: Callable[[str], Any]) -> Any:
    try:
        paths = sqlexpr.names_in(source)
        for p in paths:
            b.base_label(p, where)
        return sqlexpr.compile_sql(source, lambda p: base(b.paths[p][0]))
    except sqlexpr.SqlExprError as exc:
        raise BuildError(where, exc.zh, exc.en, "expression") from None


def _build(b: Builder, raw: Mapping[str, Any], params: dict[str, Any], defs: list[dict[str, Any]], limit: int | None) -> Built:
    ctx, dialect = b.ctx, b.dialect
    summary = b.summary
    id_label = b.base_label("id", "/source")[0] if summary is None else ""
    conds: list[Any] = [b.main.c.deleted_at.is_(None)] if summary is None else []
    scope = b.access.scope("read")
    if scope is not None:
        conds.append(scope if summary is None else summary.adapt(scope))
    if b.extra is not None:
        conds.extend(b.extra(b))
    by_key = {p["key"]: p for p in defs}
    for i, f in enumerate(raw.get("filters", [])):
        at = f"/filters/{i}"
        ref = b.resolve(f["field"], f"{at}/field")
        if "param" in f:
            p = by_key.get(f["param"])
            if p is None:
                raise BuildError(f"{at}/param", f"没有参数 {f['param']}{did_you_mean(f['param'], set(by_key))}",
                                 f"no parameter {f['param']}{did_you_mean(f['param'], set(by_key))}")
            v = params.get(f["param"])
            if v is None:
                continue                                   # an optional parameter left empty: no filter
            if p["type"] == "date_range":
                v = list(v)
                if f["op"] != "between":
                    raise BuildError(f"{at}/op", "日期范围参数须配 between", "a date_range parameter needs op between")
        else:
            try:
                v = _token(f.get("value"), ctx) if not isinstance(f.get("value"), list) else [_token(x, ctx) for x in f["value"]]
            except ValueError:
                raise BuildError(f"{at}/value", f"未知占位符 {f.get('value')}（可用 @me @my_departments @today @today-7 @now）",
                                 f"unknown placeholder {f.get('value')} (use @me @my_departments @today @today-7 @now)") from None
        conds.append(filter_sql(ref, f["op"], v, f"{at}/value", ctx))
    for p in defs:
        if p["type"] == "scope" and params.get(p["key"]) in ("mine", "department"):
            if params[p["key"]] == "mine":
                conds.append(b.main.c.created_by == ctx.actor.id)
            else:
                ids = list(ctx.actor.department_ids)
                conds.append(b.main.c.department_id.in_(ids) if ids else sa.false())

    dims_raw = list(raw.get("dimensions", []))
    meas_raw = list(raw.get("measures", []))
    cols_raw = list(raw.get("columns", []))
    if cols_raw and (dims_raw or meas_raw):
        raise BuildError("/columns", "明细报表（columns）不能同时有维度或度量", "a detail report (columns) has no dimensions or measures")
    if not cols_raw and not meas_raw:
        raise BuildError("/measures", "至少需要一个度量（或用 columns 做明细报表）",
                         "at least one measure is needed (or use columns for a detail report)", "required")
    keys: dict[str, str] = {}
    for group, items in (("dimensions", dims_raw), ("measures", meas_raw), ("columns", cols_raw)):
        for i, d in enumerate(items):
            if d["key"] in keys:
                raise BuildError(f"/{group}/{i}/key", f"键 {d['key']} 重复（已用于 {keys[d['key']]}）",
                                 f"duplicate key {d['key']} (already used in {keys[d['key']]})", "duplicate")
            keys[d["key"]] = group

    # resolve every path first (the inner select must know all its columns before it is built)
    dim_plan: list[tuple[dict[str, Any], Callable[[Any], Any], Column, str | None]] = []
    shifts = list(raw.get("shifts") or [{"key": "A", "start": "08:00"}, {"key": "B", "start": "20:00"}])

    for i, d in enumerate(dims_raw + cols_raw):
        group = "dimensions" if i < len(dims_raw) else "columns"
        at = f"/{group}/{i if group == 'dimensions' else i - len(dims_raw)}"
        kind = group[:-1]
        if "field" in d:
            ref = b.resolve(d["field"], f"{at}/field")
            label = _label(d, ref.spec.label if ref.spec else d["field"])
            use_display = d.get("display", True) and ref.has_display
            vt = ref.type
            if d.get("bucket"):
                if vt not in ("date", "datetime"):
                    raise BuildError(f"{at}/bucket", f"{d['field']} 不是日期或日期时间字段，不能分桶",
                                     f"{d['field']} is not a date or datetime field; it cannot be bucketed")
                if vt == "date" and d["bucket"] not in BUCKETS_DATE:
                    raise BuildError(f"{at}/bucket", f"日期字段不能按 {d['bucket']} 分桶（可用 {', '.join(BUCKETS_DATE)}）",
                                     f"a date field cannot be bucketed by {d['bucket']} (use {', '.join(BUCKETS_DATE)})")
                lab, _ = b.base_label(d["field"], f"{at}/field")
                bucket = d["bucket"]
                fn = (lambda sub, lab=lab, vt=vt, bucket=bucket: bucket_sql(dialect, sub.c[lab], vt, bucket, ctx, shifts))
                col = Column(d["key"], kind, label, "text", hidden=ref.hidden)
                dim_plan.append((d, fn, col, None))
                continue
            id_lab = None
            if use_display:
                id_lab, _ = b.base_label(d["field"], f"{at}/field")
                lab, _ = b.base_label(b.display_path(d["field"], ref), f"{at}/field")
                vt_out = "text"
            else:
                lab, _ = b.base_label(d["field"], f"{at}/field")
                vt_out = vt
            options = ref.spec.option_labels if ref.spec is not None and ref.spec.value_type == "select" else None
            col = Column(d["key"], kind, label, vt_out, options=options or None, hidden=ref.hidden)
            dim_plan.append((d, (lambda sub, lab=lab: sub.c[lab]), col, id_lab))
        else:
            src = d["expr"]
            _expr(b, src, f"{at}/expr", lambda lab: sa.column(lab))       # resolve paths now
            col = Column(d["key"], kind, _label(d, d["key"]), "text")
            dim_plan.append((d, (lambda sub, src=src, at=at: _expr(b, src, f"{at}/expr", lambda lab: sub.c[lab])), col, None))

    meas_plan: dict[str, tuple[dict[str, Any], int]] = {}
    meas_keys = {x["key"] for x in meas_raw}
    for i, m in enumerate(meas_raw):
        meas_plan[m["key"]] = (m, i)
        at = f"/measures/{i}"
        if "agg" in m:
            if m["agg"] == "percentile" and dialect == "sqlite" and raw.get("top") and raw["top"].get("others", True) \
                    and not cols_raw:
                raise BuildError(f"{at}/agg", "SQLite 上百分位数不能与 top 的「其他」合并一起用；请设 top.others 为 false 或在 PostgreSQL 上运行",
                                 "on SQLite a percentile cannot be combined with top-N \"others\"; set top.others to false or run on PostgreSQL",
                                 "unsupported")
            if m["agg"] == "percentile" and "p" not in m:
                raise BuildError(f"{at}/p", "percentile 需要 p（0 到 1 之间，如 0.95）", "percentile needs p (between 0 and 1, e.g. 0.95)", "required")
            if m["agg"] != "count" and "field" not in m and "expr" not in m:
                raise BuildError(f"{at}/field", f"{m['agg']} 需要 field 或 expr", f"{m['agg']} needs a field or an expr", "required")
            if summary is None:          # (from a summary its partial aggregates are columns of the table)
                if "field" in m:
                    b.base_label(m["field"], f"{at}/field")
                if "expr" in m:
                    _expr(b, m["expr"], f"{at}/expr", lambda lab: sa.column(lab))
                if "where" in m:
                    _expr(b, m["where"], f"{at}/where", lambda lab: sa.column(lab))
        for ref_key, what in ((m.get("running_total"), "running_total"), (m.get("share_of"), "share_of")):
            if ref_key is not None and ref_key not in meas_keys:
                raise BuildError(f"{at}/{what}", f"没有度量 {ref_key}", f"no measure {ref_key}")
        for j, r in enumerate(m.get("ratio") or []):
            if r not in meas_keys:
                raise BuildError(f"{at}/ratio/{j}", f"没有度量 {r}{did_you_mean(r, meas_keys)}",
                                 f"no measure {r}{did_you_mean(r, meas_keys)}")

    # the inner select: every path used, with permissions and filters
    partial = [b.main.c[c].label(c) for c in summary.partial_columns()] if summary is not None else []
    inner = sa.select(*[ref.sql.label(lab) for _, (lab, ref) in b.paths.items()], *partial).select_from(b.from_).where(*conds)
    sub = inner.subquery("b")

    def value_of(m: Mapping[str, Any], at: str, s: Any) -> tuple[Any, Any]:
        """A measure's value (its field or expr; None for a plain count) and its ``where`` condition, over ``s``."""
        val = s.c[b.paths[m["field"]][0]] if "field" in m else \
            _expr(b, m["expr"], f"{at}/expr", lambda lab: s.c[lab]) if "expr" in m else None
        cond = _expr(b, m["where"], f"{at}/where", lambda lab: s.c[lab]) if "where" in m else None
        return val, cond

    sqlite_pct = [m for m in meas_raw if m.get("agg") == "percentile"] if dialect == "sqlite" and not cols_raw else []
    if sqlite_pct:
        # SQLite has no percentile_cont: rank each measure's values inside its group with window
        # functions in one more layer of the same statement, then interpolate between the two ranks
        # around (n - 1)·p in the aggregate (what percentile_cont does on PostgreSQL)
        sub0 = inner.subquery("b0")
        parts = []
        for d, fn, _, id_lab in dim_plan:
            parts.append(fn(sub0))
            if id_lab is not None:
                parts.append(sub0.c[id_lab])
        extra = []
        for m in sqlite_pct:
            val, cond = value_of(m, f"/measures/{meas_plan[m['key']][1]}", sub0)
            if cond is not None:
                val = sa.case((cond, val))
            extra.append(sa.func.row_number().over(partition_by=parts or None, order_by=(val.is_(None), val))
                         .label(f"_pr_{m['key']}"))
            extra.append(sa.func.count(val).over(partition_by=parts or None).label(f"_pn_{m['key']}"))
        sub = sa.select(*sub0.c, *extra).subquery("b")

    measures: dict[str, Any] = {}
    stack: list[str] = []

    def measure(key: str, s: Any) -> Any:
        if (key, id(s)) in measures:
            return measures[(key, id(s))]
        if key in stack:
            raise BuildError(f"/measures/{meas_plan[key][1]}", f"度量 {key} 循环引用", f"measure {key} refers to itself")
        stack.append(key)
        m, i = meas_plan[key]
        at = f"/measures/{i}"
        if "agg" in m and summary is not None:
            out = summary.combine(key, m, s)
        elif "agg" in m:
            val, cond = value_of(m, at, s)
            agg = m["agg"]
            if agg == "count":
                arg = val if val is not None else sa.literal(1)
                out = sa.func.count(sa.case((cond, arg)) if cond is not None else (val if val is not None else sa.literal_column("*")))
            else:
                arg = sa.case((cond, val)) if cond is not None else val
                if agg == "count_distinct":
                    out = sa.func.count(sa.distinct(arg))
                elif agg == "percentile" and dialect == "sqlite":
                    if f"_pr_{key}" not in s.c:
                        raise BuildError(f"{at}/agg", "SQLite 上百分位数不能用作 top.by", "on SQLite a percentile cannot be top.by", "unsupported")
                    rn, n = s.c[f"_pr_{key}"], s.c[f"_pn_{key}"]
                    k = (n - 1) * sa.literal(float(m["p"]))
                    lo = sa.cast(k, sa.Integer) + 1
                    frac = k - sa.cast(k, sa.Integer)
                    x = arg * sa.literal(1.0)
                    out = sa.func.sum(sa.case((rn == lo, x * (1 - frac)), (rn == lo + 1, x * frac)))
                elif agg == "percentile":
                    out = sa.func.percentile_cont(float(m["p"])).within_group(arg)
                elif agg == "stddev":             # sample variance here; the square root is taken on the result
                    x = arg * sa.literal(1.0)
                    n = sa.func.count(arg)
                    # typed as a float: it must not take the field's decimal type (rounded to its scale)
                    out = sa.type_coerce((sa.func.sum(x * x) - sa.func.sum(x) * sa.func.sum(x) / sa.func.nullif(n, 0))
                                         / sa.func.nullif(n - 1, 0), sa.Float)
                else:
                    out = getattr(sa.func, agg)(arg)
        elif "ratio" in m:
            a, c = measure(m["ratio"][0], s), measure(m["ratio"][1], s)
            out = (a * sa.literal(float(m.get("scale", 1)))) / sa.func.nullif(c, 0)
        else:
            out = None
        stack.pop()
        measures[(key, id(s))] = out
        return out

    dim_cols = [(d, fn(sub), col, id_lab) for d, fn, col, id_lab in dim_plan]
    top = raw.get("top")
    where_outer: list[Any] = []
    others_label = None
    top_info = None
    if top and not cols_raw:
        tk = top["dimension"]
        idx = next((i for i, (d, _, _, _) in enumerate(dim_cols) if d["key"] == tk), None)
        if idx is None:
            raise BuildError("/top/dimension", f"没有维度 {tk}", f"no dimension {tk}")
        if top["by"] not in meas_plan or "agg" not in meas_plan[top["by"]][0] and "ratio" not in meas_plan[top["by"]][0]:
            raise BuildError("/top/by", f"top.by 须是聚合或比率度量：{top['by']}", f"top.by must be an aggregate or ratio measure: {top['by']}")
        d_fn = dim_plan[idx][1]

        def ranked() -> Any:
            s2 = inner.subquery("r")
            dv = d_fn(s2)
            rank = sa.func.row_number().over(order_by=(measure(top["by"], s2).desc(), dv))
            return sa.select(dv.label("d"), rank.label("rn")).group_by(dv).subquery("top")

        r = ranked()
        in_top = sa.cast(dim_cols[idx][1], sa.Text).in_(sa.select(sa.cast(r.c.d, sa.Text)).where(r.c.rn <= int(top["n"])).scalar_subquery())
        others_label = text_of(top.get("others_label") or {"zh-CN": "其他", "en": "Others"})
        if top.get("others", True):
            d0, v0, c0, _ = dim_cols[idx]
            dim_cols[idx] = (d0, sa.case((in_top, sa.cast(v0, sa.Text)), else_=sa.literal(others_label["zh-CN"])), c0, None)
        else:
            where_outer.append(in_top)
        top_info = (tk, int(top["n"]), others_label, d_fn, ranked)

    selected: list[Any] = []
    columns: list[Column] = []
    group_by: list[Any] = []
    for d, v, col, id_lab in dim_cols:
        selected.append(v.label(d["key"]))
        columns.append(col)
        group_by.append(v)
        if id_lab is not None and not (top_info and d["key"] == top_info[0]):
            selected.append(sub.c[id_lab].label(f"{d['key']}__id"))
            group_by.append(sub.c[id_lab])
    dim_values = [v for _, v, _, _ in dim_cols]
    if cols_raw:
        selected.append(sub.c[id_label].label("_id"))
    for i, m in enumerate(meas_raw):
        at = f"/measures/{i}"
        others = dim_values[1:]
        if "running_total" in m:
            tm = meas_plan[m["running_total"]][0]
            if tm.get("agg") not in AGG_ADDITIVE:
                raise BuildError(f"{at}/running_total", "累计只能基于 count 或 sum 度量", "a running total needs a count or sum measure")
            if not dim_values:
                raise BuildError(f"{at}/running_total", "累计需要至少一个维度（沿第一个维度累计）", "a running total needs a dimension (it runs along the first)")
            v = sa.func.sum(measure(m["running_total"], sub)).over(partition_by=others or None, order_by=dim_values[0], rows=(None, 0))
        elif "share_of" in m:
            tm = meas_plan[m["share_of"]][0]
            if tm.get("agg") not in AGG_ADDITIVE:
                raise BuildError(f"{at}/share_of", "占比只能基于 count 或 sum 度量", "a share needs a count or sum measure")
            base_m = measure(m["share_of"], sub)
            total = sa.func.sum(base_m).over(partition_by=others or None)
            if m.get("cumulative"):
                if not dim_values:
                    raise BuildError(f"{at}/cumulative", "累计占比需要维度", "a cumulative share needs a dimension")
                part = sa.func.sum(base_m).over(partition_by=others or None, order_by=(base_m.desc(), dim_values[0]), rows=(None, 0))
            else:
                part = base_m
            v = (part * sa.literal(float(m.get("scale", 1)))) / sa.func.nullif(total, 0)
        else:
            v = measure(m["key"], sub)
        fmt = m.get("format")
        typ = "integer" if m.get("agg") in ("count", "count_distinct") and "ratio" not in m else "number"
        if m.get("agg") in ("sum", "min", "max") and "field" in m:
            ftype = b.paths[m["field"]][1].type if summary is None else summary.field_type(m["field"])
            typ = "integer" if ftype == "integer" else typ
        hidden = "field" in m and summary is None and b.paths[m["field"]][1].hidden
        columns.append(Column(m["key"], "measure", _label(m, m["key"]), typ, format=fmt, decimals=m.get("decimals"),
                              hidden=hidden, target=m.get("target"), sqrt=m.get("agg") == "stddev"))
        selected.append(v.label(m["key"]))

    stmt = sa.select(*selected).select_from(sub)
    if where_outer:
        stmt = stmt.where(*where_outer)
    if meas_raw and group_by:
        stmt = stmt.group_by(*group_by)
    order: list[Any] = []
    by_key_sql = {d["key"]: v for d, v, _, _ in dim_cols}
    for i, s in enumerate(raw.get("sort", [])):
        k = s["key"]
        if k in by_key_sql:
            e = by_key_sql[k]
        elif k in meas_plan:
            e = sa.literal_column(_quote(b, k))
        else:
            names = set(by_key_sql) | set(meas_plan)
            raise BuildError(f"/sort/{i}/key", f"没有维度或度量 {k}{did_you_mean(k, names)}", f"no dimension or measure {k}{did_you_mean(k, names)}")
        order.append(e.desc().nulls_last() if s.get("desc") else e.asc().nulls_first())
    if top_info and not raw.get("sort"):
        if top.get("others", True):
            tv = by_key_sql[top_info[0]]
            order.append(sa.case((tv == sa.literal(others_label["zh-CN"]), 1), else_=0))
        order.append(sa.literal_column(_quote(b, top["by"])).desc())
    if not order:
        order = [v.asc().nulls_first() for v in dim_values] if not cols_raw else [sub.c[id_label].desc()]
    stmt = stmt.order_by(*order)
    lim = int(limit or raw.get("limit") or (DETAIL_LIMIT if cols_raw else DEFAULT_LIMIT))
    stmt = stmt.limit(lim + 1)
    built = Built(statement=stmt, base=inner, columns=columns, params=params, limit=lim, source=b.source,
                  hidden_fields=sorted(set(b.hidden)), id_label=id_label)
    built.dims = {d["key"]: fn for d, fn, _, _ in dim_plan}
    built.dim_ids = {d["key"]: id_lab for d, _, _, id_lab in dim_plan if id_lab}
    built.top = top_info
    return built


def _quote(b: Builder, key: str) -> str:
    return b.conn.dialect.identifier_preparer.quote(key)
