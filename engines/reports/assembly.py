"""The per-request stage of a report: a checked :class:`~mom.engines.reports.spec.ReportSpec`, bound to
one caller and one set of parameter values, becomes ONE SQL statement (SQLAlchemy Core)::

    SELECT <dimensions>, <measures>            -- aggregates, ratios, window functions
    FROM (SELECT <every field path used> AS p0, p1, ...
          FROM source [JOIN child table] [LEFT JOIN referenced forms ON id AND their read scope]
          WHERE not deleted AND <source read scope> AND <filters>) AS b
    [WHERE <top-N: dimension IN (ranked subquery)>]
    GROUP BY <dimensions> ORDER BY ... LIMIT ...

The inner select carries every permission (see :mod:`mom.engines.reports.paths`): a filter, dimension
or measure on a field hidden from the caller reads a typed NULL, so it can never reveal it. Both
databases flatten the inner select; the plan is that of the hand-written query (bench/report_bench.py).
No semantic check is made here: the spec made them once.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from mom.engines.forms.compile import CompiledForm
from mom.engines.forms.model import text_of
from mom.engines.reports.buckets import bucket_sql
from mom.engines.reports.filters import condition
from mom.engines.reports.measures import MeasureInput
from mom.engines.reports.paths import Binder
from mom.engines.reports.spec import DimSpec, MeasureSpec, ReportSpec

DEFAULT_LIMIT = 10000
DETAIL_LIMIT = 1000


@dataclass
class Column:
    """A column of the answer, as the API and the UI describe it."""

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
        """The column as JSON."""
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
    """A report compiled for one caller and one set of parameters."""

    statement: Any
    base: Any                       # the inner select (rows scanned): estimates and drill-down
    columns: list[Column]
    params: dict[str, Any]
    limit: int
    source: CompiledForm
    hidden_fields: list[str]
    dims: dict[str, Callable[[Any], Any]] = field(default_factory=dict)     # key -> SQL over a base alias
    dim_ids: dict[str, str] = field(default_factory=dict)                   # key -> base label of the id
    top: Any = None                 # (dimension key, n, others label, dimension SQL, ranked subquery factory)
    id_label: str = "p0"


def _label(raw: Mapping[str, Any] | None, fallback: Mapping[str, str] | str) -> Mapping[str, str]:
    if raw and raw.get("label"):
        return text_of(raw["label"])
    return fallback if isinstance(fallback, Mapping) else text_of(fallback)


Plan = tuple[DimSpec, Callable[[Any], Any], Column, "str | None"]     # dimension, SQL over a base alias, column, id label


def assemble(b: Binder, spec: ReportSpec, params: dict[str, Any], limit: int | None,
             extra: Callable[[Binder], list[Any]] | None = None) -> Built:
    """The statement of ``spec`` for the caller and parameters bound in ``b``. ``extra``: more
    conditions for the inner select (a summary's recompute)."""
    ctx = b.ctx
    summary = b.summary
    id_label = b.base_label("id", "/source")[0] if summary is None else ""
    conds: list[Any] = [b.main.c.deleted_at.is_(None)] if summary is None else []
    scope = b.access.scope("read")
    if scope is not None:
        conds.append(scope if summary is None else summary.adapt(scope))
    if extra is not None:
        conds.extend(extra(b))
    for fs in spec.filters:
        cond = condition(fs, b.bind(spec.paths[fs.path]), params, ctx)
        if cond is not None:
            conds.append(cond)
    for p in spec.params:
        if p["type"] == "scope" and params.get(p["key"]) in ("mine", "department"):
            if params[p["key"]] == "mine":
                conds.append(b.main.c.created_by == ctx.actor.id)
            else:
                ids = list(ctx.actor.department_ids)
                conds.append(b.main.c.department_id.in_(ids) if ids else sa.false())

    # every path first (the inner select must know all its columns before it is built)
    dim_plan = [_dimension(b, spec, d) for d in spec.dimensions]
    if summary is None:          # (from a summary its partial aggregates are columns of the table)
        for m in spec.measures:
            if m.agg is None:
                continue
            if m.field is not None:
                b.base_label(m.field, f"{m.at}/field")
            for e in (m.expr, m.where):
                if e is not None:
                    for p in e.parsed.names:
                        b.base_label(p, e.at)

    partial = [b.main.c[c].label(c) for c in summary.partial_columns()] if summary is not None else []
    inner = sa.select(*[ref.sql.label(lab) for _, (lab, ref) in b.paths.items()], *partial).select_from(b.from_).where(*conds)
    measure = _Measures(b, spec, inner)
    sub = measure.ranked_layer(dim_plan) if spec.ranked else inner.subquery("b")
    return _outer(b, spec, params, limit, dim_plan, inner, sub, measure, id_label)


def _dimension(b: Binder, spec: ReportSpec, d: DimSpec) -> Plan:
    if d.path is None:
        assert d.expr is not None
        expr = d.expr
        for p in expr.parsed.names:
            b.base_label(p, expr.at)
        col = Column(d.key, d.kind, _label(d.raw, d.key), "text")
        return d, (lambda sub: expr.sql(lambda p: sub.c[b.paths[p][0]])), col, None
    field_path = d.path.path
    ref = b.bind(d.path)
    label = _label(d.raw, ref.spec.label if ref.spec else field_path)
    if d.bucket:
        lab, _ = b.base_label(field_path, f"{d.at}/field")
        vt, bucket, dialect, ctx, shifts = ref.type, d.bucket, b.dialect, b.ctx, list(spec.shifts)
        fn = (lambda sub: bucket_sql(dialect, sub.c[lab], vt, bucket, ctx, shifts))
        return d, fn, Column(d.key, d.kind, label, "text", hidden=ref.hidden), None
    id_lab = None
    if d.raw.get("display", True) and ref.has_display:
        assert d.path.display is not None
        id_lab, _ = b.base_label(field_path, f"{d.at}/field")
        lab, _ = b.base_label(d.path.display, f"{d.at}/field")
        vt_out = "text"
    else:
        lab, _ = b.base_label(field_path, f"{d.at}/field")
        vt_out = ref.type
    options = ref.spec.option_labels if ref.spec is not None and ref.spec.value_type == "select" else None
    col = Column(d.key, d.kind, label, vt_out, options=options or None, hidden=ref.hidden)
    return d, (lambda sub: sub.c[lab]), col, id_lab


class _Measures:
    """Each measure's SQL over a base alias, memoised per alias (a ratio reads its two measures)."""

    def __init__(self, b: Binder, spec: ReportSpec, inner: Any) -> None:
        self.b, self.spec, self.inner = b, spec, inner
        self.memo: dict[tuple[str, int], Any] = {}

    def value_of(self, m: MeasureSpec, s: Any) -> tuple[Any, Any]:
        """A measure's value (its field or expr; None for a plain count) and its ``where`` condition, over ``s``."""
        col = (lambda p: s.c[self.b.paths[p][0]])
        val = s.c[self.b.paths[m.field][0]] if m.field is not None else m.expr.sql(col) if m.expr is not None else None
        cond = m.where.sql(col) if m.where is not None else None
        return val, cond

    def ranked_layer(self, dim_plan: list[Plan]) -> Any:
        """Rank each ranked measure's values inside its group with window functions, in one more layer
        of the same statement (SQLite's percentile interpolates between the ranks around (n - 1)·p)."""
        sub0 = self.inner.subquery("b0")
        parts = []
        for _, fn, _, id_lab in dim_plan:
            parts.append(fn(sub0))
            if id_lab is not None:
                parts.append(sub0.c[id_lab])
        extra = []
        for key in self.spec.ranked:
            val, cond = self.value_of(self.spec.measure(key), sub0)
            if cond is not None:
                val = sa.case((cond, val))
            extra.append(sa.func.row_number().over(partition_by=parts or None, order_by=(val.is_(None), val))
                         .label(f"_pr_{key}"))
            extra.append(sa.func.count(val).over(partition_by=parts or None).label(f"_pn_{key}"))
        return sa.select(*sub0.c, *extra).subquery("b")

    def __call__(self, key: str, s: Any) -> Any:
        if (key, id(s)) in self.memo:
            return self.memo[(key, id(s))]
        m = self.spec.measure(key)
        summary = self.b.summary
        if m.agg is not None and summary is not None:
            out = summary.combine(key, m.raw, s)
        elif m.agg is not None:
            val, cond = self.value_of(m, s)
            rank = (s.c[f"_pr_{key}"], s.c[f"_pn_{key}"]) if f"_pr_{key}" in s.c else None
            out = m.agg.expression(self.b.dialect, MeasureInput(val, cond, m.raw, rank))
        elif "ratio" in m.raw:
            a, c = self(m.raw["ratio"][0], s), self(m.raw["ratio"][1], s)
            out = (a * sa.literal(float(m.raw.get("scale", 1)))) / sa.func.nullif(c, 0)
        else:
            out = None
        self.memo[(key, id(s))] = out
        return out


def _outer(b: Binder, spec: ReportSpec, params: dict[str, Any], limit: int | None, dim_plan: list[Plan], inner: Any,
           sub: Any, measure: _Measures, id_label: str) -> Built:
    dim_cols = [(d, fn(sub), col, id_lab) for d, fn, col, id_lab in dim_plan]
    top = spec.top
    where_outer: list[Any] = []
    top_info = None
    if top is not None:
        idx = top.index
        d_fn = dim_plan[idx][1]

        def ranked() -> Any:
            s2 = inner.subquery("r")
            dv = d_fn(s2)
            rank = sa.func.row_number().over(order_by=(measure(top.by, s2).desc(), dv))
            return sa.select(dv.label("d"), rank.label("rn")).group_by(dv).subquery("top")

        r = ranked()
        in_top = sa.cast(dim_cols[idx][1], sa.Text).in_(sa.select(sa.cast(r.c.d, sa.Text)).where(r.c.rn <= top.n).scalar_subquery())
        if top.others:
            d0, v0, c0, _ = dim_cols[idx]
            dim_cols[idx] = (d0, sa.case((in_top, sa.cast(v0, sa.Text)), else_=sa.literal(top.others_label["zh-CN"])), c0, None)
        else:
            where_outer.append(in_top)
        top_info = (top.dimension, top.n, top.others_label, d_fn, ranked)

    selected: list[Any] = []
    columns: list[Column] = []
    group_by: list[Any] = []
    for d, v, col, id_lab in dim_cols:
        selected.append(v.label(d.key))
        columns.append(col)
        group_by.append(v)
        if id_lab is not None and not (top_info and d.key == top_info[0]):
            selected.append(sub.c[id_lab].label(f"{d.key}__id"))
            group_by.append(sub.c[id_lab])
    dim_values = [v for _, v, _, _ in dim_cols]
    if spec.detail:
        selected.append(sub.c[id_label].label("_id"))
    for m in spec.measures:
        selected.append(_measure_value(m, dim_values, sub, measure).label(m.key))
        columns.append(_measure_column(b, m))

    stmt = sa.select(*selected).select_from(sub)
    if where_outer:
        stmt = stmt.where(*where_outer)
    if spec.measures and group_by:
        stmt = stmt.group_by(*group_by)
    quote = b.conn.dialect.identifier_preparer.quote
    order: list[Any] = []
    by_key_sql = {d.key: v for d, v, _, _ in dim_cols}
    for s in spec.sort:
        e = by_key_sql[s["key"]] if s["key"] in by_key_sql else sa.literal_column(quote(s["key"]))
        order.append(e.desc().nulls_last() if s.get("desc") else e.asc().nulls_first())
    if top is not None and not spec.sort:
        if top.others:
            order.append(sa.case((by_key_sql[top.dimension] == sa.literal(top.others_label["zh-CN"]), 1), else_=0))
        order.append(sa.literal_column(quote(top.by)).desc())
    if not order:
        order = [v.asc().nulls_first() for v in dim_values] if not spec.detail else [sub.c[id_label].desc()]
    stmt = stmt.order_by(*order)
    lim = int(limit or spec.limit or (DETAIL_LIMIT if spec.detail else DEFAULT_LIMIT))
    stmt = stmt.limit(lim + 1)
    built = Built(statement=stmt, base=inner, columns=columns, params=params, limit=lim, source=b.source,
                  hidden_fields=sorted(set(b.hidden)), id_label=id_label)
    built.dims = {d.key: fn for d, fn, _, _ in dim_plan}
    built.dim_ids = {d.key: id_lab for d, _, _, id_lab in dim_plan if id_lab}
    built.top = top_info
    return built


def _measure_value(m: MeasureSpec, dim_values: list[Any], sub: Any, measure: _Measures) -> Any:
    others = dim_values[1:]
    if "running_total" in m.raw:
        return sa.func.sum(measure(m.raw["running_total"], sub)).over(partition_by=others or None, order_by=dim_values[0],
                                                                     rows=(None, 0))
    if "share_of" in m.raw:
        base_m = measure(m.raw["share_of"], sub)
        total = sa.func.sum(base_m).over(partition_by=others or None)
        if m.raw.get("cumulative"):
            part = sa.func.sum(base_m).over(partition_by=others or None, order_by=(base_m.desc(), dim_values[0]), rows=(None, 0))
        else:
            part = base_m
        return (part * sa.literal(float(m.raw.get("scale", 1)))) / sa.func.nullif(total, 0)
    return measure(m.key, sub)


def _measure_column(b: Binder, m: MeasureSpec) -> Column:
    agg = m.agg
    typ = "integer" if agg is not None and agg.result == "integer" else "number"
    if agg is not None and agg.result == "field" and m.field is not None:
        ftype = b.paths[m.field][1].type if b.summary is None else b.summary.field_type(m.field)
        typ = "integer" if ftype == "integer" else typ
    hidden = m.field is not None and b.summary is None and b.paths[m.field][1].hidden
    return Column(m.key, "measure", _label(m.raw, m.key), typ, format=m.raw.get("format"), decimals=m.raw.get("decimals"),
                  hidden=hidden, target=m.raw.get("target"), sqrt=agg is not None and agg.post == "sqrt")
