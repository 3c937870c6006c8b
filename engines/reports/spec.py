"""The publish-time stage of a report: every semantic check of a ``mom.report/1`` definition, done
once, producing a frozen :class:`ReportSpec` (as :class:`~mom.engines.workflow.spec.WorkflowSpec`
is for a flow).

A spec holds the checked field paths and joins, the parsed expressions, filters, buckets and measures
(looked up in the measure table, :mod:`mom.engines.reports.measures`). It does not depend on who runs
the report or with which parameters: per request, :mod:`mom.engines.reports.assembly` only binds the
caller (row scopes, hidden fields) and the parameter values. Specs of published reports are cached
by a hash of the definition, dialect and measure table, within an entry and a byte budget, and kept
only while every form they were checked against is still the current version (:func:`report_spec`);
drafts are never cached.
"""
from __future__ import annotations

import copy
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.expressions.strictness import publishing
from mom.engines.forms.compile import CompiledForm
from mom.engines.forms.model import text_of
from mom.engines.reports import sqlexpr
from mom.engines.reports.buckets import DEFAULT_SHIFTS, check_bucket
from mom.engines.reports.filters import FilterSpec, check_filter
from mom.engines.reports.measures import Measure, MeasureTable
from mom.engines.reports.paths import BuildError, PathResolver, PathSpec
from mom.platform.errors import did_you_mean

DISPLAYED = ("reference", "user", "department")
CACHE_ENTRIES = 256                  # specs kept at most (published reports, each version)
CACHE_BYTES = 16 * 1024 * 1024       # of definition JSON kept at most (a spec takes a few times its definition)
CACHE_ENTRY_BYTES = 1024 * 1024      # a larger definition is compiled on every use, never kept


class ParamsError(BuildError):
    """A parameter definition is wrong; reported together with the problems of the values given."""

    def __init__(self, exc: BuildError, defs: list[dict[str, Any]]) -> None:
        super().__init__(exc.path, exc.zh, exc.en, exc.problem_code)
        self.defs = defs


@dataclass(frozen=True, eq=False)
class Expr:
    """A report expression checked against the paths: where it is written and what it reads."""

    at: str
    parsed: sqlexpr.Expression

    def sql(self, column: Callable[[str], Any]) -> Any:
        """Its SQL; ``column(path)`` gives the SQL of a field path."""
        try:
            return self.parsed.sql(column)
        except sqlexpr.SqlExprError as exc:      # pragma: no cover (checked when the spec was made)
            raise BuildError(self.at, exc.zh, exc.en, "expression") from None


@dataclass(frozen=True, eq=False)
class DimSpec:
    """A dimension (or a detail report's column)."""

    key: str
    kind: str                       # dimension | column
    at: str
    raw: Mapping[str, Any]
    path: PathSpec | None = None
    expr: Expr | None = None
    bucket: str | None = None


@dataclass(frozen=True, eq=False)
class MeasureSpec:
    """A measure: an aggregate (``agg``), a ratio of two measures, a running total or a share."""

    key: str
    at: str
    raw: Mapping[str, Any]
    agg: Measure | None = None
    field: str | None = None
    expr: Expr | None = None
    where: Expr | None = None


@dataclass(frozen=True)
class TopSpec:
    """Top-N of one dimension by one measure; the rest folded into "others" (or left out)."""

    dimension: str
    index: int
    by: str
    n: int
    others: bool
    others_label: Mapping[str, str]


@dataclass(frozen=True, eq=False)
class ReportSpec:
    """A checked report definition, ready to be bound to a caller and parameters."""

    name: str
    dialect: str
    source: str
    forms: tuple[tuple[str, CompiledForm], ...]         # the forms it was checked against
    params: tuple[Mapping[str, Any], ...]               # parameter definitions (select options resolved)
    filters: tuple[FilterSpec, ...]
    dimensions: tuple[DimSpec, ...]                     # dimensions, then a detail report's columns
    measures: tuple[MeasureSpec, ...]
    top: TopSpec | None
    sort: tuple[Mapping[str, Any], ...]
    limit: int | None
    shifts: tuple[Mapping[str, Any], ...]
    paths: Mapping[str, PathSpec]
    ranked: tuple[str, ...]                             # measures ranked in their group first (see measures.Measure)

    @property
    def detail(self) -> bool:
        """A detail report (``columns``): rows, not aggregates."""
        return any(d.kind == "column" for d in self.dimensions)

    def measure(self, key: str) -> MeasureSpec:
        """The measure named ``key``."""
        return next(m for m in self.measures if m.key == key)


# ---------------------------------------------------------------------- the cache
_cache: OrderedDict[tuple[Any, ...], tuple[ReportSpec, int]] = OrderedDict()   # key -> (spec, bytes), oldest first
_cached_bytes = 0
_lock = threading.Lock()


def cache_size() -> tuple[int, int]:
    """(entries, bytes of definition JSON) the spec cache holds now; never more than ``CACHE_ENTRIES``
    and ``CACHE_BYTES``."""
    with _lock:
        return len(_cache), _cached_bytes


def _remember(key: tuple[Any, ...], spec: ReportSpec, size: int) -> None:
    """Keep ``spec`` (its definition ``size`` bytes long), dropping the least recently used specs until
    the entry and byte budgets hold; a definition larger than ``CACHE_ENTRY_BYTES`` is not kept."""
    global _cached_bytes
    if size > CACHE_ENTRY_BYTES:
        return
    with _lock:
        _cached_bytes -= _cache.pop(key, (None, 0))[1]
        while _cache and (len(_cache) >= CACHE_ENTRIES or _cached_bytes + size > CACHE_BYTES):
            _cached_bytes -= _cache.popitem(last=False)[1][1]
        _cache[key] = (spec, size)
        _cached_bytes += size


def report_spec(conn: Connection, forms: Any, raw: Mapping[str, Any], source: CompiledForm,
                measures: MeasureTable, *, cache: bool = True) -> tuple[ReportSpec, Callable[[str], CompiledForm]]:
    """The spec of ``raw`` and a lookup of the forms it reads, current for this connection.

    ``cache``: keep the spec (by a hash of the definition, dialect and measure table, within an entry
    and a byte budget) and reuse it until a form it reads has a new version. Published definitions
    are cached; drafts (validate, designer preview) are not, so that no caller can fill the memory
    with definitions of their own."""
    current: dict[str, CompiledForm] = {source.name: source}

    def lookup(name: str) -> CompiledForm:
        if name not in current:
            current[name] = forms.get(conn, name)
        return current[name]

    spec: ReportSpec | None = None
    key, size = (), 0
    if cache:
        text = json.dumps(raw, sort_keys=True, default=str).encode()
        key, size = (conn.dialect.name, measures, publishing(), hashlib.sha256(text).digest()), len(text)
        with _lock:
            spec, _ = _cache.get(key, (None, 0))
            if spec is not None:
                _cache.move_to_end(key)
        if spec is not None:
            for name, compiled in spec.forms:
                if lookup(name) is not compiled:
                    spec = None
                    break
    if spec is None:
        spec = compile_spec(raw, source, lookup, dialect=conn.dialect.name, measures=measures)
        current.update(spec.forms)
        if cache:
            _remember(key, spec, size)
    return spec, lookup


# ---------------------------------------------------------------------- the checks
def compile_spec(raw: Mapping[str, Any], source: CompiledForm, get_form: Callable[[str], CompiledForm], *,
                 dialect: str, measures: MeasureTable) -> ReportSpec:
    """Check ``raw`` against the forms (``get_form``) and the measure table; raises BuildError (the
    first problem, located) or ParamsError."""
    raw = copy.deepcopy(raw)                 # the spec outlives the caller's dict
    used: dict[str, CompiledForm] = {source.name: source}

    def lookup(name: str) -> CompiledForm:
        if name not in used:
            used[name] = get_form(name)
        return used[name]

    paths = PathResolver(source, lookup)
    defs = [dict(p) for p in raw.get("params", [])]
    try:
        _options(paths, defs)
    except BuildError as exc:
        raise ParamsError(exc, defs) from None
    try:
        paths.resolve("id", "/source")
        by_key = {p["key"]: p for p in defs}
        filters = []
        for i, f in enumerate(raw.get("filters", [])):
            at = f"/filters/{i}"
            paths.resolve(f["field"], f"{at}/field")
            filters.append(check_filter(at, f, by_key))

        dims_raw, meas_raw, cols_raw = (list(raw.get(k, [])) for k in ("dimensions", "measures", "columns"))
        _check_keys(dims_raw, meas_raw, cols_raw)
        dims = [_dimension(paths, d, i, len(dims_raw)) for i, d in enumerate(dims_raw + cols_raw)]
        meas_keys = {x["key"] for x in meas_raw}
        meas = [_measure(paths, m, i, raw, dialect, measures, meas_keys) for i, m in enumerate(meas_raw)]
        top = _top(raw, dims, meas) if raw.get("top") and not cols_raw else None
        _MeasureOrder(meas, dialect, top, bool(dims_raw)).check()
        names = {d.key for d in dims} | meas_keys
        for i, s in enumerate(raw.get("sort", [])):
            if s["key"] not in names:
                k = s["key"]
                raise BuildError(f"/sort/{i}/key", f"没有维度或度量 {k}{did_you_mean(k, names)}", f"no dimension or measure {k}{did_you_mean(k, names)}")
        ranked = tuple(m.key for m in meas if m.agg is not None and dialect in m.agg.ranked_on) if not cols_raw else ()
    except BuildError as exc:
        exc.defs = defs           # (build reports the parameters' problems first)
        raise
    return ReportSpec(
        name=raw["name"], dialect=dialect, source=source.name, forms=tuple(used.items()),
        params=tuple(MappingProxyType(p) for p in defs), filters=tuple(filters), dimensions=tuple(dims),
        measures=tuple(meas), top=top, sort=tuple(raw.get("sort", [])), limit=raw.get("limit"),
        shifts=tuple(raw.get("shifts") or DEFAULT_SHIFTS), paths=MappingProxyType(dict(paths.paths)), ranked=ranked)


def _options(paths: PathResolver, defs: list[dict[str, Any]]) -> None:
    for i, p in enumerate(defs):
        if p["type"] == "select":
            if p.get("options") is not None:
                p["_options"] = list(p["options"])
            elif p.get("options_from"):
                ps = paths.resolve(p["options_from"], f"/params/{i}/options_from")
                spec = ps.segs[-1].field
                if spec is None or not spec.options:
                    raise BuildError(f"/params/{i}/options_from", f"{p['options_from']} 不是下拉字段",
                                     f"{p['options_from']} is not a select field")
                p["_options"] = list(spec.options)


def _check_keys(dims_raw: list[Any], meas_raw: list[Any], cols_raw: list[Any]) -> None:
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


def _expr(paths: PathResolver, source: str, at: str) -> Expr:
    """Parse, resolve every path it reads, and compile once on placeholders (catches what only the
    compiler sees: an unknown function, a chained comparison …)."""
    try:
        parsed = sqlexpr.Expression.parse(source)
        for p in parsed.names:
            paths.resolve(p, at)
        parsed.sql(lambda p: sa.column(p))
    except sqlexpr.SqlExprError as exc:
        raise BuildError(at, exc.zh, exc.en, "expression") from None
    return Expr(at, parsed)


def _dimension(paths: PathResolver, d: Mapping[str, Any], i: int, n_dims: int) -> DimSpec:
    kind = "dimension" if i < n_dims else "column"
    at = f"/{kind}s/{i if kind == 'dimension' else i - n_dims}"
    if "field" not in d:
        return DimSpec(d["key"], kind, at, d, expr=_expr(paths, d["expr"], f"{at}/expr"))
    ps = paths.resolve(d["field"], f"{at}/field")
    if d.get("bucket"):
        check_bucket(at, d["field"], ps.type, d["bucket"])
        return DimSpec(d["key"], kind, at, d, ps, bucket=d["bucket"])
    if d.get("display", True) and ps.type in DISPLAYED:
        ps = paths.with_display(ps, f"{at}/field")
    return DimSpec(d["key"], kind, at, d, ps)


def _measure(paths: PathResolver, m: Mapping[str, Any], i: int, raw: Mapping[str, Any], dialect: str,
             measures: MeasureTable, meas_keys: set[str]) -> MeasureSpec:
    at = f"/measures/{i}"
    agg = None
    field = expr = where = None
    if "agg" in m:
        agg = measures.get(m["agg"])
        if agg is None:
            names = measures.keys()
            raise BuildError(f"{at}/agg", f"没有聚合 {m['agg']}{did_you_mean(m['agg'], names)}（可用 {', '.join(names)}）",
                             f"no aggregate {m['agg']}{did_you_mean(m['agg'], names)} (use {', '.join(names)})", "unknown_agg")
        top = raw.get("top")
        if dialect in agg.ranked_on and top and top.get("others", True) and not raw.get("columns"):
            raise BuildError(f"{at}/agg", f"SQLite 上{agg.label.get('zh-CN', agg.key)}不能与 top 的「其他」合并一起用；请设 top.others 为 false 或在 PostgreSQL 上运行",
                             f"on SQLite {agg.label.get('en', agg.key)} cannot be combined with top-N \"others\"; set top.others to false or run on PostgreSQL",
                             "unsupported")
        if agg.needs_p and "p" not in m:
            raise BuildError(f"{at}/p", f"{agg.key} 需要 p（0 到 1 之间，如 0.95）", f"{agg.key} needs p (between 0 and 1, e.g. 0.95)", "required")
        if agg.needs_value and "field" not in m and "expr" not in m:
            raise BuildError(f"{at}/field", f"{m['agg']} 需要 field 或 expr", f"{m['agg']} needs a field or an expr", "required")
        if "field" in m:
            field = paths.resolve(m["field"], f"{at}/field").path
        if "expr" in m:
            expr = _expr(paths, m["expr"], f"{at}/expr")
        if "where" in m:
            where = _expr(paths, m["where"], f"{at}/where")
    for ref_key, what in ((m.get("running_total"), "running_total"), (m.get("share_of"), "share_of")):
        if ref_key is not None and ref_key not in meas_keys:
            raise BuildError(f"{at}/{what}", f"没有度量 {ref_key}", f"no measure {ref_key}")
    for j, r in enumerate(m.get("ratio") or []):
        if r not in meas_keys:
            raise BuildError(f"{at}/ratio/{j}", f"没有度量 {r}{did_you_mean(r, meas_keys)}",
                             f"no measure {r}{did_you_mean(r, meas_keys)}")
    return MeasureSpec(m["key"], at, m, agg, field, expr, where)


def _top(raw: Mapping[str, Any], dims: list[DimSpec], meas: list[MeasureSpec]) -> TopSpec:
    top = raw["top"]
    tk = top["dimension"]
    idx = next((i for i, d in enumerate(dims) if d.key == tk), None)
    if idx is None:
        raise BuildError("/top/dimension", f"没有维度 {tk}", f"no dimension {tk}")
    by = next((m for m in meas if m.key == top["by"]), None)
    if by is None or "agg" not in by.raw and "ratio" not in by.raw:
        raise BuildError("/top/by", f"top.by 须是聚合或比率度量：{top['by']}", f"top.by must be an aggregate or ratio measure: {top['by']}")
    label = top.get("others_label") or {"zh-CN": "其他", "en": "Others"}
    return TopSpec(tk, idx, top["by"], int(top["n"]), bool(top.get("others", True)), text_of(label))


class _MeasureOrder:
    """The checks that follow how measures refer to each other, in the order the statement is
    assembled (top-N ranking first, then each measure): cycles, running totals and shares of
    non-additive measures, a ranked measure (SQLite percentile) used to rank the top N."""

    def __init__(self, meas: list[MeasureSpec], dialect: str, top: TopSpec | None, has_dims: bool) -> None:
        self.by_key = {m.key: m for m in meas}
        self.meas, self.dialect, self.top, self.has_dims = meas, dialect, top, has_dims

    def check(self) -> None:
        if self.top is not None:
            self.visit(self.top.by, set(), [], ranking=True)
        done: set[str] = set()
        for m in self.meas:
            if "running_total" in m.raw:
                self.additive(m, m.raw["running_total"], "running_total", "累计只能基于 count 或 sum 度量",
                              "a running total needs a count or sum measure")
                if not self.has_dims:
                    raise BuildError(f"{m.at}/running_total", "累计需要至少一个维度（沿第一个维度累计）",
                                     "a running total needs a dimension (it runs along the first)")
                self.visit(m.raw["running_total"], done, [])
            elif "share_of" in m.raw:
                self.additive(m, m.raw["share_of"], "share_of", "占比只能基于 count 或 sum 度量", "a share needs a count or sum measure")
                self.visit(m.raw["share_of"], done, [])
                if m.raw.get("cumulative") and not self.has_dims:
                    raise BuildError(f"{m.at}/cumulative", "累计占比需要维度", "a cumulative share needs a dimension")
            else:
                self.visit(m.key, done, [])

    def additive(self, m: MeasureSpec, target: str, what: str, zh: str, en: str) -> None:
        tm = self.by_key[target]
        if tm.agg is None or not tm.agg.additive:
            raise BuildError(f"{m.at}/{what}", zh, en)

    def visit(self, key: str, done: set[str], stack: list[str], ranking: bool = False) -> None:
        if key in done:
            return
        m = self.by_key[key]
        if key in stack:
            raise BuildError(m.at, f"度量 {key} 循环引用", f"measure {key} refers to itself")
        stack.append(key)
        if m.agg is not None and ranking and self.dialect in m.agg.ranked_on:
            raise BuildError(f"{m.at}/agg", f"SQLite 上{m.agg.label.get('zh-CN', m.agg.key)}不能用作 top.by",
                             f"on SQLite {m.agg.label.get('en', m.agg.key)} cannot be top.by", "unsupported")
        if m.agg is None and "ratio" in m.raw:
            self.visit(m.raw["ratio"][0], done, stack, ranking)
            self.visit(m.raw["ratio"][1], done, stack, ranking)
        stack.pop()
        done.add(key)
