"""A characteristic's control chart from its inspection lots: one judged inspection lot is one subgroup,
its readings of the characteristic (``results`` rows with the characteristic's ``char_seq``) are the
subgroup's values (and pass/fail marks), in the order the lots were inspected (``inspected_at``, then id).

The chart itself is the report engine's (``mom.engines.reports.spc``), as the plan's characteristic says:
X̄-R, X̄-S, I-MR, EWMA or CUSUM for a numeric characteristic, p, np, c or u for an attribute one (the
attribute and time-weighted series are built in ``spc_kinds``). Limits are phase I (trial limits estimated
from the subgroups shown, Montgomery §6.2) unless the characteristic row carries a baseline
(``baseline_mean``, with ``baseline_sigma`` for measured charts): then phase II, fixed. Subgroups excluded
with a reason (form ``spc_exclusion``) are still plotted but left out of the estimates.

Reading is bounded: one statement joins the newest ``limit`` judged lots of the plan (indexed by plan) to
their readings of the characteristic (indexed by parent); nothing else of the plan's history is read.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.forms.compile import CompiledForm
from mom.engines.quality import spc_kinds
from mom.engines.reports import spc
from mom.engines.reports.spc.capability import capability
from mom.engines.reports.spc.rules import parse as parse_rules
from mom.platform.errors import InvalidInput, NotFound, Problem

PLAN, LOT, EXCLUSION, ALARM = "inspection_plan", "inspection_lot", "spc_exclusion", "spc_alarm"
VARIABLES = ("xbar_r", "xbar_s", "i_mr")
TIME_WEIGHTED = ("ewma", "cusum")
ATTRIBUTES = ("p", "np", "c", "u")
CHARTS = VARIABLES + TIME_WEIGHTED + ATTRIBUTES
DEFAULT_LIMIT = 100        # subgroups a chart shows unless asked, and the window an alarm is judged in
MAX_LIMIT = 10_000
MIN_SUBGROUPS = 20         # phase I: no alarm on fewer (Montgomery §6.2.1: 20–25 subgroups for trial limits)

#: the fields the engine binds to: a form of these names without them is a plant's own, left alone
NEEDS = {PLAN: ("item", "characteristics", "inspection_type"),
         LOT: ("plan", "status", "results", "inspected_at", "item", "lot"),
         EXCLUSION: ("inspection_plan", "char_seq", "inspection_lot", "reason"),
         ALARM: ("inspection_plan", "characteristic", "inspection_lot", "rule", "raised_at")}


def is_quality(compiled: CompiledForm) -> bool:
    """Is ``compiled`` the quality pack's form of its name (the fields the SPC feed binds to are there)?"""
    needs = NEEDS.get(compiled.name)
    return bool(needs) and all(compiled.definition.field(k) is not None for k in needs)


def _f(v: Any) -> float | None:
    return None if v is None else float(v)


@dataclass(frozen=True)
class Characteristic:
    """One plan characteristic charted: its plan, its limits and what to do on an alarm."""

    plan_id: int
    plan_code: str | None
    plan_name: str | None
    inspection_type: str | None
    item_id: int | None
    seq: int
    name: str
    chart: str
    lsl: float | None
    usl: float | None
    nominal: float | None
    unit: str | None
    spc: bool
    ncr_on_alarm: bool
    rules: str = "western_electric"
    k: float = 3.0
    baseline: Mapping[str, float] | None = None
    kind: str = "numeric"
    ewma_lambda: float = 0.2
    ewma_l: float = 3.0
    cusum_k: float = 0.5
    cusum_h: float = 5.0

    @property
    def attribute(self) -> bool:
        return self.chart in ATTRIBUTES

    def as_dict(self) -> dict[str, Any]:
        return {"plan": self.plan_id, "plan_code": self.plan_code, "plan_name": self.plan_name,
                "inspection_type": self.inspection_type, "item": self.item_id, "char_seq": self.seq, "name": self.name,
                "kind": self.kind, "chart": self.chart, "lsl": self.lsl, "usl": self.usl, "nominal": self.nominal,
                "unit": self.unit, "spc": self.spc, "ncr_on_alarm": self.ncr_on_alarm, "rules": self.rules, "k": self.k,
                "baseline": dict(self.baseline) if self.baseline else None, "ewma_lambda": self.ewma_lambda,
                "ewma_l": self.ewma_l, "cusum_k": self.cusum_k, "cusum_h": self.cusum_h}


def _or(row: Mapping[str, Any], key: str, default: float) -> float:
    v = row.get(key)
    return default if v is None or v == "" else float(v)


def _baseline(row: Mapping[str, Any], chart: str) -> dict[str, float] | None:
    """Phase II: a measured chart needs the mean and σ of one reading; an attribute chart its centre
    (p̄ for p and np, c̄, ū) alone."""
    if row.get("baseline_mean") is None:
        return None
    if chart in ATTRIBUTES:
        return {"center": float(row["baseline_mean"])}
    if not row.get("baseline_sigma"):
        return None
    return {"mean": float(row["baseline_mean"]), "sigma": float(row["baseline_sigma"])}


def _characteristic(plan: Mapping[str, Any], row: Mapping[str, Any]) -> Characteristic:
    kind = "attribute" if row.get("kind") == "attribute" else "numeric"
    chart = row.get("chart") if row.get("chart") in CHARTS else "xbar_r"
    seq = int(row["seq_no"])
    return Characteristic(plan_id=int(plan["id"]), plan_code=plan.get("code"), plan_name=plan.get("name"),
                          inspection_type=plan.get("inspection_type"), item_id=plan.get("item"), seq=seq,
                          name=str(row.get("name") or seq), chart=chart, lsl=_f(row.get("lsl")),
                          usl=_f(row.get("usl")), nominal=_f(row.get("nominal")), unit=row.get("unit"),
                          spc=bool(row.get("spc")), ncr_on_alarm=bool(row.get("ncr_on_alarm")),
                          rules=str(row.get("rules") or "western_electric"), k=_or(row, "k", 3.0),
                          baseline=_baseline(row, chart), kind=kind, ewma_lambda=_or(row, "ewma_lambda", 0.2),
                          ewma_l=_or(row, "ewma_l", 3.0), cusum_k=_or(row, "cusum_k", 0.5), cusum_h=_or(row, "cusum_h", 5.0))


def _plans_stmt(plan_form: CompiledForm, scope: Any, by_id: bool) -> Any:
    P = plan_form.main
    q = sa.select(P.c.id, P.c.code, P.c.name, P.c.inspection_type, P.c.item).where(P.c.deleted_at.is_(None))
    if by_id:
        q = q.where(P.c.id.in_(sa.bindparam("plans", expanding=True)))
    return (q.where(scope) if scope is not None else q).order_by(P.c.id)


def _chars_stmt(plan_form: CompiledForm, spc_only: bool) -> Any:
    C = plan_form.children["characteristics"]
    # numeric characteristics chart their readings; attribute ones only with an attribute chart (p, np, c, u)
    charted = sa.or_(C.c.kind == "numeric", sa.and_(C.c.kind == "attribute", C.c.chart.in_(ATTRIBUTES)))
    q = sa.select(C).where(C.c.parent_id.in_(sa.bindparam("plans", expanding=True)), charted)
    if spc_only:
        q = q.where(C.c.spc.is_(True))
    return q.order_by(C.c.parent_id, C.c.seq_no, C.c.seq).limit(sa.bindparam("lim"))


def memo(compiled: CompiledForm, key: tuple[Any, ...], build: Any) -> Any:
    """A statement built once per published form version (building one costs more than running it)."""
    got = compiled.memo.get(key)
    if got is None:
        got = compiled.memo[key] = build()
    return got


def characteristics(conn: Connection, plan_form: CompiledForm, plan_ids: Sequence[int] | None = None, *,
                    scope: Any = None, spc_only: bool = True, limit: int = 2000) -> list[Characteristic]:
    """Charted characteristics (numeric, or attribute with a p/np/c/u chart) of the plans (``plan_ids``, or every plan in ``scope``), charted ones only
    unless ``spc_only`` is off; at most ``limit``."""
    by_id = plan_ids is not None
    q = (memo(plan_form, ("spc_plans", by_id), lambda: _plans_stmt(plan_form, None, by_id)) if scope is None
         else _plans_stmt(plan_form, scope, by_id))
    plans = {r["id"]: r for r in conn.execute(q, {"plans": list(plan_ids)} if by_id else {}).mappings()}
    if not plans:
        return []
    cq = memo(plan_form, ("spc_chars", spc_only), lambda: _chars_stmt(plan_form, spc_only))
    rows = conn.execute(cq, {"plans": list(plans), "lim": limit}).mappings()
    return [_characteristic(plans[r["parent_id"]], r) for r in rows if r["seq_no"] is not None]


def characteristic(conn: Connection, plan_form: CompiledForm, plan_id: int, seq: int, *, scope: Any = None) -> Characteristic:
    """One chartable characteristic of a plan, or 404 in words."""
    got = [c for c in characteristics(conn, plan_form, [plan_id], scope=scope, spc_only=False) if c.seq == seq]
    if not got:
        raise NotFound(f"检验方案 {plan_id} 没有序号为 {seq} 的可画控制图的检验项目（计量项目，或选了 p、np、c、u 图的计数项目）："
                       "请从列表中选择检验项目",
                       f"inspection plan {plan_id} has no chartable characteristic number {seq} (numeric, or attribute with a "
                       "p, np, c or u chart): pick one from the list")
    return got[0]


@dataclass
class Subgroup:
    """One inspection lot's readings of the characteristic."""

    lot_id: int
    code: str | None
    at: dt.datetime | None
    item: int | None
    lot: int | None
    supplier: int | None          # the vendor
    values: list[float | None] = field(default_factory=list)
    oks: list[bool | None] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.code or str(self.lot_id)


def when_of(L: sa.Table) -> Any:
    return sa.func.coalesce(L.c.inspected_at, L.c.updated_at)


def _window_stmt(lot_form: CompiledForm, scope: Any, shape: tuple[bool, bool, bool]) -> Any:
    L, R = lot_form.main, lot_form.children["results"]
    when, at = when_of(L), L.c.inspected_at.type
    has = sa.exists().where(R.c.parent_id == L.c.id, R.c.char_seq == sa.bindparam("seq"))
    q = sa.select(L.c.id, L.c.code, when.label("at"), L.c.item, L.c.lot, L.c.supplier).where(
        L.c.plan == sa.bindparam("plan"), L.c.status == "judged", L.c.deleted_at.is_(None), has)
    if scope is not None:
        q = q.where(scope)
    if shape[0]:
        q = q.where(when >= sa.bindparam("t_from", type_=at))
    if shape[1]:
        q = q.where(when < sa.bindparam("t_to", type_=at))
    if shape[2]:
        u_at = sa.bindparam("u_at", type_=at)
        q = q.where(sa.or_(when < u_at, sa.and_(when == u_at, L.c.id <= sa.bindparam("u_id"))))
    lots = q.order_by(when.desc(), L.c.id.desc()).limit(sa.bindparam("lim")).subquery()
    return (sa.select(lots, R.c.sample_no, R.c.value, R.c.ok).join(R, R.c.parent_id == lots.c.id)
            .where(R.c.char_seq == sa.bindparam("seq")).order_by(lots.c.at, lots.c.id, R.c.sample_no, R.c.id))


def subgroups(conn: Connection, lot_form: CompiledForm, ch: Characteristic, *, limit: int = DEFAULT_LIMIT,
              date_from: dt.datetime | None = None, date_to: dt.datetime | None = None,
              upto: tuple[Any, int] | None = None, scope: Any = None) -> tuple[list[Subgroup], bool]:
    """The newest ``limit`` judged lots of the plan with readings of ``ch`` (inspected in [from, to), up to
    and including the lot ``upto`` = (when, id)), oldest first, and whether older ones were left out.
    One statement: the lots (by the plan's index, newest first, ``limit`` + 1) joined to their readings."""
    shape = (date_from is not None, date_to is not None, upto is not None)
    stmt = (memo(lot_form, ("spc_window", *shape), lambda: _window_stmt(lot_form, None, shape)) if scope is None
            else _window_stmt(lot_form, scope, shape))
    params: dict[str, Any] = {"plan": ch.plan_id, "seq": ch.seq, "lim": limit + 1, "t_from": date_from, "t_to": date_to}
    if upto is not None:
        params.update(u_at=upto[0], u_id=upto[1])
    out: dict[int, Subgroup] = {}
    for r in conn.execute(stmt, {k: v for k, v in params.items() if v is not None}).mappings():
        g = out.get(r["id"])
        if g is None:
            g = out[r["id"]] = Subgroup(r["id"], r["code"], r["at"], r["item"], r["lot"], r["supplier"])
        g.values.append(_f(r["value"]) if isinstance(r["value"], (Decimal, int, float)) else r["value"])
        g.oks.append(None if r["ok"] is None else bool(r["ok"]))
    groups = list(out.values())
    more = len(groups) > limit
    return (groups[1:] if more else groups), more


def exclusions(conn: Connection, exclusion_form: CompiledForm, ch: Characteristic, lot_ids: Sequence[int]
               ) -> dict[int, dict[str, Any]]:
    """lot id -> the exclusion (id, reason, who, when) of ``ch``'s subgroups among ``lot_ids``."""
    if not lot_ids:
        return {}
    X = exclusion_form.main

    def build() -> Any:
        return sa.select(X.c.id, X.c.inspection_lot, X.c.reason, X.c.excluded_by, X.c.excluded_at).where(
            X.c.inspection_plan == sa.bindparam("plan"), X.c.char_seq == sa.bindparam("seq"), X.c.deleted_at.is_(None),
            X.c.inspection_lot.in_(sa.bindparam("lots", expanding=True))).order_by(X.c.id)
    q = memo(exclusion_form, ("spc_exclusions",), build)
    return {r["inspection_lot"]: dict(r) for r in conn.execute(q, {"plan": ch.plan_id, "seq": ch.seq, "lots": list(lot_ids)}).mappings()}


def check_options(k: Any, rules: Any) -> tuple[float, str]:
    """``k`` (1–6) and ``rules`` as the chart takes them, or 422 naming the parameter."""
    try:
        kk = float(k)
    except (TypeError, ValueError):
        kk = 0.0
    if not 1.0 <= kk <= 6.0:
        zh, en = f"控制限倍数 k 须在 1 到 6 之间（收到 {str(k)[:20]}）", f"k (sigma multiple) must be 1..6 (got {str(k)[:20]})"
        raise InvalidInput(zh, en, problems=[Problem("/k", zh, en)])
    try:
        parse_rules(rules)
    except spc.SpcError as exc:
        raise InvalidInput(exc.zh, exc.en, problems=[Problem("/rules", exc.zh, exc.en)]) from None
    return kk, str(rules)


def compute(ch: Characteristic, groups: Sequence[Subgroup], excluded: Mapping[int, Mapping[str, Any]], *,
            k: Any = None, rules: Any = None, with_capability: bool = True) -> dict[str, Any]:
    """The report engine's chart over ``groups`` (``ch.chart``), with capability against ``ch``'s limits.
    Points are labelled with their lot codes; ``positions[i]`` is the plotted point (or points, I-MR) of
    subgroup ``i``. Raises ``SpcError`` when there is not enough data. The alarm check leaves the
    capability out (``with_capability``): it judges points, not the process's fit to its limits."""
    kk, rr = check_options(ch.k if k in (None, "") else k, ch.rules if rules in (None, "") else rules)
    opts: dict[str, Any] = {"rules": rr, "k": kk}
    if ch.baseline:
        opts["standard"] = dict(ch.baseline)
    flat: list[Any] = []
    if ch.chart in ATTRIBUTES or ch.chart in TIME_WEIGHTED:
        res = (spc_kinds.attribute(ch, groups, excluded, k=kk, rules=rr) if ch.chart in ATTRIBUTES
               else spc_kinds.time_weighted(ch, groups, excluded))
        plotted_group = list(res["index"])
        flat = [] if ch.chart in ATTRIBUTES else [v for g in groups for v in g.values]
        for note in res.get("notes", []):
            if "subgroups" in note:     # the engine names a sample by its 1-based position: here, the lot's code
                note["subgroups"] = [groups[i - 1].label for i in note["subgroups"]]
                note["dropped"] = [groups[i - 1].label for i in note.get("dropped", [])]
    elif ch.chart == "i_mr":
        owner: list[int] = []
        for gi, g in enumerate(groups):
            flat.extend(g.values)
            owner.extend([gi] * len(g.values))
        ex = {i: excluded[groups[gi].lot_id]["reason"] for i, gi in enumerate(owner) if groups[gi].lot_id in excluded}
        res = spc.i_mr(flat, exclude=ex or None, **opts)
        plotted_group = [owner[i] for i in res["index"]]
    else:
        ex = {gi: excluded[g.lot_id]["reason"] for gi, g in enumerate(groups) if g.lot_id in excluded}
        res = (spc.xbar_r if ch.chart == "xbar_r" else spc.xbar_s)([g.values for g in groups], exclude=ex or None, **opts)
        plotted_group = list(res["index"])
        flat = [v for g in groups for v in g.values]
        for note in res.get("notes", []):
            if "subgroups" in note:
                note["subgroups"] = [groups[i - 1].label for i in note["subgroups"]]
                note["dropped"] = [groups[i - 1].label for i in note["dropped"]]
    positions: dict[int, list[int]] = {}
    for p, gi in enumerate(plotted_group):
        positions.setdefault(gi, []).append(p)
    res["labels"] = [groups[gi].label for gi in plotted_group]
    res["positions"] = positions
    for e in res.get("excluded", []):
        gi = owner[e["index"]] if ch.chart == "i_mr" else e["index"]
        x = excluded[groups[gi].lot_id]
        e.update(inspection_lot=groups[gi].lot_id, code=groups[gi].code, exclusion=x["id"],
                 excluded_by=x.get("excluded_by"), excluded_at=x.get("excluded_at"))
    if with_capability and flat and (ch.lsl is not None or ch.usl is not None):
        res["capability"] = capability(flat, lsl=ch.lsl, usl=ch.usl, sigma_within=res["sigma_within"], target=ch.nominal)
    return res


def newest_violations(res: Mapping[str, Any], positions: Sequence[int]) -> list[dict[str, Any]]:
    """The rule violations completed by the points at ``positions`` (the newest subgroup's), each with
    its chart's name ("xbar", "r", "s", "i", "mr") and plotted value."""
    at = set(positions)
    out = []
    for c in res["charts"]:
        # a moving range at position p spans the readings up to p + span - 1 (the newest one's: the last)
        shift = (res.get("span") or 2) - 1 if c["name"] == "mr" else 0
        for v in c["violations"]:
            if v["index"] + shift in at:
                out.append({**v, "chart": c["name"], "value": c["points"][v["index"]]})
    return out
