"""Pre-aggregated reports: ``"preaggregate": true`` in a report definition keeps a summary table of
the report's partial aggregates, current with every write, and answers the report from it.

The summary's **grain** is every field the report groups or filters by (a datetime field is kept as
the plant-local day), plus ``department_id`` (and ``created_by`` when the report has a ``scope``
parameter or filters on it). Each aggregate measure keeps the parts that re-aggregate exactly:
count → a count; sum → a sum; avg → sum and count; min, max; stddev → count, sum and sum of
squares. Ratios, running totals, shares and top-N are computed on top, as for the source.

**Kept current in the writer's transaction.** The record hooks find the grain keys a write touches
(before and after it: an update can move a record from one group to another) and recompute exactly
those groups from the source rows (delete + INSERT … SELECT … GROUP BY); a batch that touches many
groups rebuilds the table. On PostgreSQL writers of one summary take a transaction advisory lock, so
two transactions never recompute a group from different snapshots. A new version of the report or of
its source form makes the summary stale (it is not used) until ``mom report refresh NAME`` or the
next apply rebuilds it.

**Permissions.** The summary is used only when the caller's answer from it is exactly their answer
from the source: their row scope on the source must be expressible on the grain columns (all rows,
department, own with ``created_by`` kept, or an expression over grain fields) and every field a
measure reads must be visible to them. Otherwise the report runs on the source as usual; the answer
says which (``preaggregated``: true/false, with ``preaggregate_reason``).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import zlib
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql import visitors

from mom.engines.forms.compile import CompiledForm
from mom.engines.forms.store import refresh_listeners
from mom.engines.records.access import form_access
from mom.engines.records.context import SYSTEM, Ctx
from mom.engines.records.hooks import RecordHooks
from mom.engines.reports import sqlexpr, store
from mom.engines.reports.buckets import bucket_sql, offset_minutes
from mom.engines.reports.build import build
from mom.platform.db import tables as T
from mom.platform.errors import MomError, Problem
from mom.platform.hookspecs import hookimpl

AGGS = ("count", "sum", "avg", "min", "max", "stddev")
PARTS = {"count": ("c",), "sum": ("s",), "avg": ("s", "n"), "min": ("mn",), "max": ("mx",), "stddev": ("n", "s", "q")}
PART_AGG = {"c": "count", "n": "count", "s": "sum", "mn": "min", "mx": "max"}   # how each part is taken from source rows
MAX_GROUPS_INCREMENTAL = 200      # a write touching more groups rebuilds the whole summary


def table_name(report: str) -> str:
    name = f"mom_rpt_{report}"
    if len(name) <= 60:
        return name
    return f"{name[:51]}_{hashlib.sha1(report.encode()).hexdigest()[:8]}"


def _paths(m: Mapping[str, Any]) -> list[str]:
    out = [m["field"]] if "field" in m else []
    for k in ("expr", "where"):
        if k in m:
            try:
                out += sqlexpr.names_in(m[k])
            except sqlexpr.SqlExprError:
                pass     # the report's own validation reports it
    return out


def problems(raw: Mapping[str, Any], source: CompiledForm) -> list[Problem]:
    """Why ``raw`` cannot be pre-aggregated (empty: it can), each with its JSON pointer."""
    if not raw.get("preaggregate"):
        return []
    out: list[Problem] = []
    defn = source.definition

    def bad(path: str, zh: str, en: str) -> None:
        out.append(Problem(path, f"预聚合：{zh}", f"preaggregate: {en}", "preaggregate"))

    if raw.get("columns"):
        bad("/columns", "明细报表（columns）不能预聚合", "a detail report (columns) cannot be pre-aggregated")
    for i, d in enumerate(raw.get("dimensions", [])):
        if "expr" in d:
            bad(f"/dimensions/{i}/expr", "维度须是来源表单的字段，不能是表达式", "dimensions must be fields of the source form, not expressions")
            continue
        f = defn.field(d["field"])
        if "." in d["field"]:
            bad(f"/dimensions/{i}/field", f"{d['field']} 经过引用；请用 {d['field'].split('.')[0]}（显示文本在查询时取得）",
                f"{d['field']} goes through a reference; group by {d['field'].split('.')[0]} (its display text is read at query time)")
        elif f is not None and f.value_type == "datetime" and d.get("bucket") not in ("day", "week", "month", "quarter", "year"):
            bad(f"/dimensions/{i}/bucket", "汇总按天保存日期时间字段：请按 day/week/month/quarter/year 分桶",
                "the summary keeps datetime fields by day: bucket by day, week, month, quarter or year")
    params = {p["key"]: p for p in raw.get("params", [])}
    for i, flt in enumerate(raw.get("filters", [])):
        f = defn.field(flt["field"])
        if "." in flt["field"]:
            bad(f"/filters/{i}/field", "过滤字段须是来源表单自己的字段", "filters must be on fields of the source form itself")
        elif f is not None and f.value_type == "datetime":
            p = params.get(flt.get("param", ""))
            if p is None or p["type"] not in ("date_range", "date"):
                bad(f"/filters/{i}", "日期时间字段在汇总中按天保存，只能用 date 或 date_range 参数过滤",
                    "the summary keeps datetime fields by day: filter them with a date or date_range parameter")
    for i, m in enumerate(raw.get("measures", [])):
        if "agg" not in m:
            continue
        if m["agg"] not in AGGS:
            bad(f"/measures/{i}/agg", f"{m['agg']} 不能由分组汇总再合并（可用 {', '.join(AGGS)}）",
                f"{m['agg']} cannot be combined from group totals (use {', '.join(AGGS)})")
        for p in _paths(m):
            if "." in p:
                bad(f"/measures/{i}", f"度量只能读来源表单自己的字段（{p} 经过引用或明细表）",
                    f"measures may read fields of the source form only ({p} goes through a reference or table)")
    return out


class Summary:
    """One report's summary table and how the report reads it."""

    def __init__(self, raw: Mapping[str, Any], source: CompiledForm) -> None:
        self.raw, self.source = raw, source
        defn = source.definition
        grain: list[str] = []
        for d in raw.get("dimensions", []):
            if "field" in d and d["field"] not in grain:
                grain.append(d["field"])
        for flt in raw.get("filters", []):
            if flt["field"] not in grain:
                grain.append(flt["field"])
        extra = ["department_id"]
        if any(p["type"] == "scope" for p in raw.get("params", [])):
            extra.append("created_by")
        for g in extra:
            if g not in grain:
                grain.append(g)
        self.grain = grain
        self._stmts: dict[tuple[Any, ...], tuple[Any, Any]] = {}    # built recompute statements (see _refill)
        self.days = {g for g in grain if (f := defn.field(g)) is not None and f.value_type == "datetime"}
        self.measures = {m["key"]: m for m in raw.get("measures", []) if "agg" in m}
        md = sa.MetaData()
        cols = []
        for g in grain:
            if g in self.days:
                typ: Any = sa.Date()
            else:
                typ = source.main.c[g].type
            cols.append(sa.Column(g, typ))
        for key, m in self.measures.items():
            for part in PARTS[m["agg"]]:
                if part in ("c", "n"):
                    typ = sa.BigInteger()
                elif part in ("mn", "mx") and "field" in m:
                    typ = source.main.c[m["field"]].type
                else:
                    typ = sa.Float() if part == "q" else sa.Numeric(38, 10)
                cols.append(sa.Column(self.col(key, part), typ))
        name = table_name(raw["name"])
        self.table = sa.Table(name, md, *cols, sa.Index(f"ix_{name[:50]}_g", *grain[:3]))

    @staticmethod
    def col(key: str, part: str) -> str:
        return f"_{part}_{key}"

    def partial_columns(self) -> list[str]:
        return [self.col(k, p) for k, m in self.measures.items() for p in PARTS[m["agg"]]]

    def field_type(self, key: str) -> str:
        f = self.source.definition.field(key)
        return f.value_type if f is not None else "number"

    # -------------------------------------------------------------- reading
    def combine(self, key: str, m: Mapping[str, Any], s: Any) -> Any:
        """The measure re-aggregated from its parts over ``s`` (the inner select of the summary)."""
        c = lambda part: s.c[self.col(key, part)]  # noqa: E731
        agg = m["agg"]
        if agg == "count":
            return sa.func.coalesce(sa.func.sum(c("c")), 0)
        if agg == "sum":
            return sa.func.sum(c("s"))
        if agg == "min":
            return sa.func.min(c("mn"))
        if agg == "max":
            return sa.func.max(c("mx"))
        n = sa.func.sum(c("n"))
        if agg == "avg":
            return sa.func.sum(c("s")) / sa.func.nullif(n, 0)
        total = sa.func.sum(c("s")) * sa.literal(1.0)      # stddev: the sample variance (the root is taken on the result)
        return sa.type_coerce((sa.func.sum(c("q")) - total * total / sa.func.nullif(n, 0)) / sa.func.nullif(n - 1, 0), sa.Float)

    def adapt(self, clause: Any) -> Any:
        """The caller's row scope (a clause on the source table) on the grain columns."""
        main = self.source.main

        def swap(el: Any) -> Any:
            if isinstance(el, sa.Column) and el.table is main:
                return self.table.c[el.name]
            return None
        return visitors.replacement_traverse(clause, {}, swap)

    def usable_for(self, ctx: Ctx) -> str | None:
        """None when the caller's answer from the summary is their answer from the source; else why not."""
        access = form_access(self.source, ctx.actor)
        scope = access.scope("read")
        if scope is not None:
            cols = {c.name for c in visitors.iterate(scope) if isinstance(c, sa.Column) and c.table is self.source.main}
            missing = cols - set(self.grain)
            if missing:
                return f"row scope reads {', '.join(sorted(missing))}, which the summary does not keep"
        for m in self.measures.values():
            hidden = [p for p in _paths(m) if not access.visible(p)]
            if hidden:
                return f"measure {m['key']} reads a field hidden from you ({', '.join(hidden)})"
        return None

    # -------------------------------------------------------------- writing
    def _grain_report(self) -> dict[str, Any]:
        """A report over the source whose rows are exactly the summary's rows."""
        dims = [{"key": g, "field": g, "display": False, **({"bucket": "day"} if g in self.days else {})} for g in self.grain]
        measures = []
        for key, m in self.measures.items():
            base = {k: m[k] for k in ("field", "expr", "where") if k in m}
            value = f"({m['expr']})" if "expr" in m else m.get("field")
            for part in PARTS[m["agg"]]:
                name = self.col(key, part)
                if part == "q":   # sum of squares
                    sq = {k: v for k, v in base.items() if k != "field"}
                    measures.append({"key": name, "agg": "sum", **sq, "expr": f"{value} * {value} * 1.0"})
                else:
                    measures.append({"key": name, "agg": PART_AGG[part], **base})
        return {"format": "mom.report/1", "name": self.raw["name"], "source": self.raw["source"],
                "dimensions": dims, "measures": measures, "shifts": self.raw.get("shifts")}

    def _fill(self, conn: Connection, forms: Any, ctx: Ctx, extra: Any = None) -> None:
        conn.execute(self._insert(conn, forms, ctx, extra))

    def _insert(self, conn: Connection, forms: Any, ctx: Ctx, extra: Any) -> Any:
        """INSERT … SELECT of the summary rows from the source (only the groups ``extra`` selects)."""
        sys_ctx = Ctx(actor=SYSTEM, now=ctx.now, tz=ctx.tz)
        built = build(conn, forms, sys_ctx, self._grain_report(), {}, limit=10 ** 12, extra=extra)
        sq = built.statement.subquery("g")
        pg = conn.dialect.name == "postgresql"
        cols = [sa.cast(sq.c[g], sa.Date) if g in self.days and pg else sq.c[g] for g in self.grain]
        cols += [sq.c[c] for c in self.partial_columns()]
        return self.table.insert().from_select([*self.grain, *self.partial_columns()], sa.select(*cols))

    def _refill(self, conn: Connection, forms: Any, ctx: Ctx, key: tuple[Any, ...]) -> None:
        """Recompute one group. Its two statements are built once per shape of key (which parts are
        empty) and time-zone offset, then run with the key's values as parameters."""
        pattern = tuple(v is None for v in key)
        ck = (conn.dialect.name, offset_minutes(ctx), pattern)
        if ck not in self._stmts:
            def extra(b: Any) -> list[Any]:
                out = []
                for i, g in enumerate(self.grain):
                    col = b.resolve(g, "/preaggregate").sql
                    if pattern[i]:
                        out.append(col.is_(None))
                    elif g in self.days:   # index-friendly range (a day either side), then the exact local day
                        out += [col >= sa.bindparam(f"lo{i}"), col < sa.bindparam(f"hi{i}"),
                                bucket_sql(b.dialect, col, "datetime", "day", b.ctx, []) == sa.bindparam(f"d{i}")]
                    else:
                        out.append(col == sa.bindparam(f"k{i}"))
                return out
            delete = self.table.delete().where(*[self.table.c[g].is_(None) if pattern[i] else self.table.c[g] == sa.bindparam(f"k{i}")
                                                 for i, g in enumerate(self.grain)])
            self._stmts[ck] = (self._insert(conn, forms, ctx, extra), delete)
        insert, delete = self._stmts[ck]
        keys: dict[str, Any] = {}
        extra_params: dict[str, Any] = {}
        for i, (g, v) in enumerate(zip(self.grain, key)):
            if v is None:
                continue
            keys[f"k{i}"] = v
            if g in self.days:
                day = v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v))
                start = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(), dt.timezone.utc)
                extra_params.update({f"lo{i}": start, f"hi{i}": start + dt.timedelta(days=3), f"d{i}": day.isoformat()})
        conn.execute(delete, keys)
        conn.execute(insert, {**{k: v for k, v in keys.items() if self.grain[int(k[1:])] not in self.days}, **extra_params})

    def keys_of(self, conn: Connection, ctx: Ctx, ids: Iterable[int]) -> set[tuple[Any, ...]]:
        """The grain keys of these source records (whatever their state)."""
        ids = list(ids)
        if not ids:
            return set()
        main = self.source.main
        exprs = []
        for g in self.grain:
            col = main.c[g]
            exprs.append(bucket_sql(conn.dialect.name, col, "datetime", "day", ctx, []) if g in self.days else col)
        out = set()
        for i in range(0, len(ids), 900):
            for r in conn.execute(sa.select(*exprs).where(main.c.id.in_(ids[i:i + 900])).distinct()):
                out.add(tuple(dt.date.fromisoformat(v) if g in self.days and isinstance(v, str) else v
                              for g, v in zip(self.grain, r)))
        return out

    def recompute(self, conn: Connection, forms: Any, ctx: Ctx, keys: set[tuple[Any, ...]]) -> None:
        if not keys:
            return
        _lock(conn, self.table.name)
        if len(keys) > MAX_GROUPS_INCREMENTAL:
            conn.execute(self.table.delete())
            self._fill(conn, forms, ctx)
            return
        for key in keys:
            self._refill(conn, forms, ctx, key)


def _lock(conn: Connection, name: str) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(name.encode()) - 2**31})


# ------------------------------------------------------------------ state and lifecycle
def state(conn: Connection, report: str) -> Mapping[str, Any] | None:
    return conn.execute(sa.select(T.report_summary).where(T.report_summary.c.report == report)).mappings().first()


def rebuild(conn: Connection, forms: Any, ctx: Ctx, raw: Mapping[str, Any], report_version: int) -> dict[str, Any]:
    """(Re)create the summary table of ``raw`` and fill it from the source."""
    source = forms.get(conn, raw["source"])
    s = Summary(raw, source)
    _lock(conn, s.table.name)
    s.table.drop(conn, checkfirst=True)
    s.table.create(conn)
    s._fill(conn, forms, ctx)
    rows = int(conn.execute(sa.select(sa.func.count()).select_from(s.table)).scalar_one())
    values = {"form": source.name, "table_name": s.table.name, "report_version": report_version,
              "form_version": source.version, "built_at": ctx.now, "rows": rows}
    if state(conn, raw["name"]) is None:
        conn.execute(T.report_summary.insert().values(report=raw["name"], **values))
    else:
        conn.execute(T.report_summary.update().where(T.report_summary.c.report == raw["name"]).values(**values))
    _recount(conn, source.name)
    return {"table": s.table.name, "rows": rows, "grain": s.grain}


def drop(conn: Connection, report: str) -> None:
    st = state(conn, report)
    if st is None:
        return
    q = conn.dialect.identifier_preparer.quote
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {q(st['table_name'])}")
    conn.execute(T.report_summary.delete().where(T.report_summary.c.report == report))
    _recount(conn, st["form"])


def _recount(conn: Connection, form: str) -> None:
    refresh_listeners(conn, form)


def current(conn: Connection, forms: Any, raw: Mapping[str, Any], report_version: int) -> tuple[Summary | None, str]:
    """The report's summary when it is current (built for this version of the report and of its source)."""
    if not raw.get("preaggregate"):
        return None, "not declared"
    st = state(conn, raw["name"])
    if st is None:
        return None, "not built yet (mom report refresh)"
    source = forms.get(conn, raw["source"])
    if st["report_version"] != report_version or st["form_version"] != source.version:
        return None, "stale: the report or its form changed since it was built (mom report refresh)"
    return Summary(raw, source), ""


class SummaryHooks(RecordHooks):
    """Keeps the summaries of a form current with every write (see the module docstring)."""

    def __init__(self, forms: Any) -> None:
        self.forms = forms
        self._cache: dict[tuple[Any, ...], Summary] = {}     # (report, its version, form, its version) -> Summary

    def _summaries(self, conn: Connection, compiled: CompiledForm) -> list[Summary]:
        if not self.forms.listeners(compiled.name).get("summaries"):
            return []
        out = []
        for st in conn.execute(sa.select(T.report_summary).where(T.report_summary.c.form == compiled.name,
                                                                  T.report_summary.c.form_version == compiled.version)).mappings():
            key = (st["report"], st["report_version"], compiled.name, compiled.version)
            got = self._cache.get(key)
            if got is None:
                try:
                    # a retired report's summary stays current: restoring the report finds it right
                    raw, version = store.get(conn, "report", st["report"], retired=True)
                except MomError:   # a deleted report: its summary goes with it
                    continue
                if version != st["report_version"] or not raw.get("preaggregate"):
                    continue
                got = self._cache[key] = Summary(raw, compiled)
            out.append(got)
        return out

    def _touch(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, ids: list[int],
               before: Mapping[str, set[tuple[Any, ...]]] | None = None) -> None:
        for s in self._summaries(conn, compiled):
            keys = s.keys_of(conn, ctx, ids) | set((before or {}).get(s.table.name, ()))
            s.recompute(conn, self.forms, ctx, keys)

    def _remember(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int) -> None:
        held = conn.info.setdefault("mom_summary_before", {})
        held[(compiled.name, record_id)] = {s.table.name: s.keys_of(conn, ctx, [record_id]) for s in self._summaries(conn, compiled)}

    def _before(self, conn: Connection, compiled: CompiledForm, record_id: int) -> Mapping[str, set[tuple[Any, ...]]]:
        return conn.info.get("mom_summary_before", {}).pop((compiled.name, record_id), {})

    def after_create(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, rows: list[Mapping[str, Any]]) -> None:
        self._touch(conn, ctx, compiled, [int(r["id"]) for r in rows])

    def before_update(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, old: Mapping[str, Any],
                      new: dict[str, Any], patched: set[str], transition: str | None) -> None:
        self._remember(conn, ctx, compiled, record_id)

    def after_update(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, old: Mapping[str, Any],
                     new: Mapping[str, Any], changed: set[str]) -> None:
        self._touch(conn, ctx, compiled, [record_id], self._before(conn, compiled, record_id))

    def before_delete(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, row: Mapping[str, Any]) -> None:
        self._remember(conn, ctx, compiled, record_id)

    def after_delete(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, row: Mapping[str, Any]) -> None:
        self._touch(conn, ctx, compiled, [], self._before(conn, compiled, record_id))

    def after_restore(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int) -> None:
        self._touch(conn, ctx, compiled, [record_id])


@hookimpl
def mom_record_hooks(forms: Any) -> RecordHooks:
    """Keeps pre-aggregated report summaries current with every record write."""
    return SummaryHooks(forms)
