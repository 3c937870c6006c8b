"""Run a compiled report: refuse unbounded scans (estimate first), execute the one statement, shape
the rows (numbers, pivot), and drill from a result row back to the records behind it."""
from __future__ import annotations

import datetime as dt
import json
import math
import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.expressions.strictness import stored_definitions
from mom.engines.records.access import form_access
from mom.engines.records.context import Ctx
from mom.engines.records import lookup
from mom.engines.records.query import int_value
from mom.engines.records.service import to_doc
from mom.engines.reports import summary as summary_mod
from mom.engines.reports.build import Built, build
from mom.platform.errors import InvalidInput, Problem

DEFAULT_MAX_SCAN = 2_000_000


def table_rows(conn: Connection, table: sa.Table) -> int:
    """A cheap size estimate: PostgreSQL's statistics, or the highest id on SQLite (an index read)."""
    if conn.dialect.name == "postgresql":
        n = conn.execute(sa.text("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(:t)"),
                         {"t": table.name}).scalar()
        if n is not None and n >= 0:
            return int(n)
    return int(conn.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0)


def estimate(conn: Connection, built: Built, size: int) -> dict[str, Any]:
    """What the report would read from a source table of ``size`` rows: {"table_rows", "full_scan",
    "rows"} (rows: the planner's estimate of matching rows on PostgreSQL; on SQLite, the table size
    when it would scan it whole)."""
    src = built.source
    out: dict[str, Any] = {"table_rows": size, "full_scan": False, "rows": None}
    if conn.dialect.name == "postgresql":
        plan = conn.execute(sa.text("EXPLAIN (FORMAT JSON) " + str(built.base.compile(conn, compile_kwargs={"literal_binds": True})))).scalar()
        plan = json.loads(plan) if isinstance(plan, str) else plan
        root = plan[0]["Plan"]
        out["rows"] = int(root.get("Plan Rows", 0))
        tables = {src.main.name, *(c.name for c in src.children.values())}

        def walk(node: Mapping[str, Any]) -> None:
            if node.get("Node Type") == "Seq Scan" and node.get("Relation Name") in tables:
                out["full_scan"] = True
            for ch in node.get("Plans", []) or []:
                walk(ch)
        walk(root)
    else:
        compiled = built.base.compile(conn, compile_kwargs={"literal_binds": True})
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled)).all()
        names = {src.main.name, *(c.name for c in src.children.values())}
        for r in rows:
            detail = str(r[-1])
            parts = detail.split()
            if len(parts) >= 2 and parts[0] == "SCAN" and parts[1] in names and "INDEX" not in detail:
                out["full_scan"] = True
        if out["full_scan"]:
            out["rows"] = size
    return out


def guard(conn: Connection, built: Built, raw: Mapping[str, Any], max_scan: int) -> dict[str, Any] | None:
    """Refuse a run that would read more than ``max_scan`` rows (or scan a larger table whole)."""
    cap = int(raw.get("max_scan_rows") or max_scan)
    size = table_rows(conn, built.source.main)
    if size <= cap:
        return None
    est = estimate(conn, built, size)
    too_many = (est["rows"] or 0) > cap or (est["full_scan"] and est["table_rows"] > cap)
    if not too_many:
        return est
    hint = next((f"/params/{p['key']}" for p in raw.get("params", []) if p["type"] in ("date_range", "date")), "/filters")
    rows = est["rows"] or est["table_rows"]
    raise InvalidInput(
        f"此报表约需读取 {rows:,} 行（上限 {cap:,}）；请缩小日期范围或增加过滤条件，或让表单 {built.source.name} 按过滤字段建索引",
        f"this report would read about {rows:,} rows (limit {cap:,}); narrow the date range or add a filter, "
        f"or index form {built.source.name} on the filtered field",
        problems=[Problem(hint, "请缩小范围或增加过滤", "narrow the range or add a filter", "too_broad")],
        detail={"estimate": est, "max_scan_rows": cap})


def _num(v: Any, decimals: int | None) -> Any:
    if isinstance(v, Decimal):
        v = float(v)
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return None
        return round(v, decimals if decimals is not None else 6)
    return v


def _plain(v: Any) -> Any:
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return v


def execute(conn: Connection, forms: Any, ctx: Ctx, raw: Mapping[str, Any], given: Mapping[str, Any] | None = None, *,
            max_scan: int = DEFAULT_MAX_SCAN, limit: int | None = None, version: int | None = None,
            draft: bool = False) -> dict[str, Any]:
    """Run ``raw`` for ``ctx``: rows, columns, parameters as parsed. ``version``: the published version
    (its pre-aggregated summary may answer); ``draft``: an unpublished definition (its spec is not
    cached)."""
    pre, why = (summary_mod.current(conn, forms, raw, version) if version is not None and raw.get("preaggregate")
                else (None, ""))
    if pre is not None:
        why = pre.usable_for(ctx) or ""
        if why:
            pre = None
    with stored_definitions():   # a published report runs as published, even if today's checks are stricter
        built = build(conn, forms, ctx, raw, given, limit=limit, summary=pre, cache=not draft)
    est = guard(conn, built, raw, max_scan) if pre is None else None     # a summary is small by construction
    t0 = time.perf_counter()
    rows = [dict(r) for r in conn.execute(built.statement).mappings()]
    ms = (time.perf_counter() - t0) * 1000
    truncated = len(rows) > built.limit
    rows = rows[:built.limit]
    for c in built.columns:
        if c.kind == "measure":
            for r in rows:
                v = r.get(c.key)
                if c.sqrt and v is not None:
                    v = math.sqrt(max(float(v), 0.0))
                r[c.key] = _num(v, c.decimals)
        else:
            for r in rows:
                r[c.key] = _plain(r.get(c.key))
    out: dict[str, Any] = {"report": raw["name"], "source": built.source.name,
                           "columns": [c.as_dict() for c in built.columns], "rows": rows, "truncated": truncated,
                           "params": {k: _param_out(v) for k, v in built.params.items()}, "sql_ms": round(ms, 2)}
    if built.hidden_fields:
        out["hidden_fields"] = built.hidden_fields
    if raw.get("preaggregate"):
        out["preaggregated"] = pre is not None
        if why:
            out["preaggregate_reason"] = why
    if est is not None:
        out["estimate"] = est
    if raw.get("pivot"):
        out["pivot"] = pivot_rows(built, rows, raw["pivot"])
    return out


def _param_out(v: Any) -> Any:
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return _plain(v)


def pivot_rows(built: Built, rows: list[dict[str, Any]], spec: Mapping[str, Any]) -> dict[str, Any]:
    """Reshape the aggregated rows (not source rows): the pivot dimension's values become columns."""
    key = spec["dimension"]
    dims = [c.key for c in built.columns if c.kind == "dimension"]
    if key not in dims:
        raise InvalidInput(f"透视维度 {key} 不存在", f"pivot dimension {key} does not exist",
                           problems=[Problem("/pivot/dimension", f"没有维度 {key}", f"no dimension {key}")])
    meas = [c.key for c in built.columns if c.kind == "measure"]
    row_dims = [d for d in dims if d != key]
    values: list[Any] = []
    table: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in rows:
        v = r.get(key)
        if v not in values:
            values.append(v)
        rk = tuple(r.get(d) for d in row_dims)
        entry = table.setdefault(rk, {**{d: r.get(d) for d in row_dims}, "cells": {}})
        entry["cells"][str(v)] = {m: r.get(m) for m in meas}
    cap = int(spec.get("max_columns", 100))
    if len(values) > cap:
        raise InvalidInput(f"透视列过多（{len(values)} > {cap}）；请缩小范围或提高 pivot.max_columns",
                           f"too many pivot columns ({len(values)} > {cap}); narrow the range or raise pivot.max_columns",
                           problems=[Problem("/pivot/max_columns", "透视列过多", "too many pivot columns", "too_large")])
    values = sorted(values, key=lambda x: (x is None, str(x)))
    return {"dimension": key, "row_dimensions": row_dims, "values": [str(v) for v in values], "measures": meas,
            "rows": list(table.values())}


def drill(conn: Connection, forms: Any, ctx: Ctx, raw: Mapping[str, Any], given: Mapping[str, Any] | None,
          point: Mapping[str, Any], *, limit: int = 200) -> dict[str, Any]:
    """The source records behind one result row: the report's filters and permissions, plus each
    dimension of ``point`` equal to its value (``<key>__id`` selects a reference by id)."""
    with stored_definitions():
        built = build(conn, forms, ctx, raw, given)
    sub = built.base.subquery("b")
    conds: list[Any] = []
    dims = {c.key: c for c in built.columns if c.kind == "dimension"}
    for k, v in point.items():
        key = k[:-4] if k.endswith("__id") else k
        if key not in dims:
            raise InvalidInput(f"没有维度 {key}", f"no dimension {key}",
                               problems=[Problem(f"/point/{k}", f"没有维度 {key}", f"no dimension {key}", "unknown_dimension")])
        if k.endswith("__id") and key in built.dim_ids:
            col = sub.c[built.dim_ids[key]]
            conds.append(col.is_(None) if v in (None, "") else col == int_value(v, f"point.{k}", 2**63 - 1))
            continue
        expr = built.dims[key](sub)
        if built.top and built.top[0] == key and v == built.top[2]["zh-CN"]:
            r = built.top[4]()
            conds.append(sa.cast(expr, sa.Text).not_in(sa.select(sa.cast(r.c.d, sa.Text)).where(r.c.rn <= built.top[1]).scalar_subquery()))
            continue
        conds.append(expr.is_(None) if v is None else sa.cast(expr, sa.Text) == str(v) if dims[key].type == "text" else expr == v)
    ids_q = (sa.select(sub.c[built.id_label]).where(*conds).group_by(sub.c[built.id_label])
             .order_by(sub.c[built.id_label].desc()).limit(limit + 1))
    ids = [r[0] for r in conn.execute(ids_q)]
    more = len(ids) > limit
    ids = ids[:limit]
    total = conn.execute(sa.select(sa.func.count(sa.distinct(sub.c[built.id_label]))).where(*conds)).scalar_one()
    compiled = built.source
    access = form_access(compiled, ctx.actor)
    rows = [dict(r) for r in conn.execute(sa.select(compiled.main).where(compiled.main.c.id.in_(ids))
                                          .order_by(compiled.main.c.id.desc())).mappings()] if ids else []
    show = [f.key for f in compiled.definition.scalar_fields if access.visible(f.key)]
    display = lookup.display_values(conn, forms, compiled, rows, show, actor=ctx.actor)
    items = [to_doc(compiled, access, r, None, display, None) for r in rows]
    return {"form": compiled.name, "total": int(total), "items": items, "more": more}
