"""An MRP run in the database: read the problem, plan it, replace the suggestions nobody acted on, and
record the run (``mrp_run``) with its suggestions (``mrp_suggestion``, pegging rows included).

- **full regeneration** (全部重排) plans every item; the suggestions of earlier runs still 建议 (proposed)
  are removed, confirmed and ignored ones stay as history, earlier runs become 已被新运算取代;
- **net change** (净改变) re-plans only what can have changed since the last run. The changed items are
  those of records created, changed or deleted after the last run began: items, BOMs (their parent item),
  sales orders and purchase orders (their lines' items), forecasts, production orders, stock movements.
  Everything below a changed item in the active BOMs is re-planned with it; the parents above keep their
  planned orders, whose component needs enter as demand (pegged to those parents' suggestions). Only the
  proposed suggestions of the re-planned items are replaced. Without an earlier run it is a full run.
Suggestions are the engine's output: written in bulk (one reservation of numbers, one multi-row insert
per level) and audited through their run; confirming one goes through the record service (confirmation.py).
Planners and administrators only; two runs at once queue (an advisory lock on PostgreSQL).
"""
from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.mrp import documents as D
from mom.engines.mrp import plan as M
from mom.engines.mrp import problem as P
from mom.engines.mrp.buckets import BUCKETS, MAX_HORIZON
from mom.engines.mrp.levels import below
from mom.engines.records import service as S
from mom.engines.records import values as V
from mom.engines.records.context import Ctx
from mom.platform.errors import AccessDenied, InvalidInput, Problem

FULL, NET_CHANGE = "full", "net_change"
PROPOSED, CONFIRMED, IGNORED = "proposed", "confirmed", "ignored"
OUTSIDE = "outside"
_LOCK = 0x4D52_5031          # "MRP1"


def require_planner(ctx: Ctx, what_zh: str, what_en: str) -> None:
    if not (ctx.actor.is_admin or "planner" in ctx.actor.role_names):
        raise AccessDenied(f"只有计划员或管理员可以{what_zh}", f"only a planner or an administrator may {what_en}")


def check_options(bucket: Any, horizon: Any) -> tuple[str, int]:
    """The bucket kind and horizon asked for, or a clear refusal naming the field."""
    if bucket not in BUCKETS:
        raise InvalidInput(f"时段「{bucket}」不认识：请填 day（天）或 week（周）", f"bucket {bucket!r} is unknown: give day or week",
                           problems=[Problem("/bucket", "应为 day 或 week", "must be day or week", "enum")])
    if isinstance(horizon, bool) or not isinstance(horizon, int) or not 1 <= horizon <= MAX_HORIZON:
        raise InvalidInput(f"计划时段数应为 1 到 {MAX_HORIZON} 之间的整数（现为 {horizon}）",
                           f"the horizon must be a whole number of buckets from 1 to {MAX_HORIZON} (got {horizon!r})",
                           problems=[Problem("/horizon", f"应为 1–{MAX_HORIZON} 的整数", f"must be 1-{MAX_HORIZON}", "range")])
    return bucket, horizon


def run(conn: Connection, forms: Any, ctx: Ctx, *, bucket: str = "week", horizon: int = 26, mode: str = FULL) -> dict[str, Any]:
    """Run MRP as ``ctx``'s user and return the run's summary (see :func:`summary`)."""
    require_planner(ctx, "运行 MRP", "run MRP")
    bucket, horizon = check_options(bucket, horizon)
    if mode not in (FULL, NET_CHANGE):
        raise InvalidInput(f"方式「{mode}」不认识：full（全部重排）或 net_change（净改变）", f"mode {mode!r}: give full or net_change")
    started = time.perf_counter()
    f = D.forms_of(conn, forms)
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK})
    today = ctx.now.astimezone(ctx.tz).date()
    last = _last_run(conn, f)
    if mode == NET_CHANGE and last is None:
        mode = FULL
    if mode == FULL:
        problem, known = D.read_problem(conn, f, today=today, tz=ctx.tz, bucket=bucket, horizon=horizon)
        result, only = M.plan(problem), None
    else:
        problem, known, only = _net_change_problem(conn, forms, f, ctx, last, today, bucket, horizon)
        result = M.plan(problem, only=only)
    _remove_proposed(conn, f, only)
    run_row = _write_run(conn, forms, f, ctx, mode, bucket, horizon, problem, result, only, known)
    ids = _write_suggestions(conn, forms, f, ctx, run_row["id"], problem, result)
    if mode == FULL:
        t = f[D.RUN].main
        conn.execute(t.update().where(t.c.id != run_row["id"], t.c.status == "done").values(status="superseded"))
    took = int((time.perf_counter() - started) * 1000)
    conn.execute(f[D.RUN].main.update().where(f[D.RUN].main.c.id == run_row["id"]).values(duration_ms=took))
    return summary(conn, forms, run_row["id"], ids_written=len(ids))


def _last_run(conn: Connection, f: dict[str, Any]) -> dict[str, Any] | None:
    t = f[D.RUN].main
    row = conn.execute(sa.select(t).where(t.c.deleted_at.is_(None)).order_by(t.c.id.desc()).limit(1)).mappings().first()
    return dict(row) if row else None


# ---------------------------------------------------------------- net change

def changed_items(conn: Connection, forms: Any, f: dict[str, Any], since: dt.datetime) -> set[int]:
    """Items whose demand, supply or master data records were created, changed or deleted after ``since``."""
    out: set[int] = set()

    def touched(t: sa.Table) -> Any:
        return sa.or_(t.c.updated_at >= since, t.c.created_at >= since, t.c.deleted_at >= since)

    for name, col in ((D.ITEM, "id"), (D.BOM, "item"), (D.FORECAST, "item"), (D.ORDER, "item")):
        t = f[name].main
        out.update(int(i) for (i,) in conn.execute(sa.select(t.c[col]).where(touched(t))) if i is not None)
    for name in (D.SALES, D.PURCHASE):      # the orders first, then their lines (no join: see documents.read_boms)
        t, lines = f[name].main, f[name].children["lines"]
        heads = [int(i) for (i,) in conn.execute(sa.select(t.c.id).where(touched(t)))]
        for chunk in D.chunks(heads):
            q = sa.select(lines.c.item).where(lines.c.parent_id.in_(chunk or [])).distinct()
            out.update(int(i) for (i,) in conn.execute(q) if i is not None)
    try:
        moves = forms.get(conn, "stock_move").main
    except Exception:   # noqa: BLE001 - the stock forms are optional
        moves = None
    if moves is not None and "item" in moves.c:
        out.update(int(i) for (i,) in conn.execute(sa.select(moves.c.item).where(moves.c.created_at >= since).distinct())
                   if i is not None)
    return out


def _net_change_problem(conn: Connection, forms: Any, f: dict[str, Any], ctx: Ctx, last: dict[str, Any], today: dt.date,
                        bucket: str, horizon: int) -> tuple[P.Problem, bool, set[int]]:
    boms = D.read_boms(conn, f)
    edges = {p: [c.item for b in bs for c in b.components] for p, bs in boms.items()}
    only = below(changed_items(conn, forms, f, last["created_at"]), edges)
    outside = _parents_needs(conn, f, boms, only)
    problem, known = D.read_problem(conn, f, today=today, tz=ctx.tz, bucket=bucket, horizon=horizon, items=only,
                                    boms=boms, outside=outside)
    return problem, known, only


def _parents_needs(conn: Connection, f: dict[str, Any], boms: dict[int, tuple[P.Bom, ...]], only: set[int]) -> tuple[P.Demand, ...]:
    """The component needs, inside ``only``, of the proposed planned orders of parents outside it."""
    parents = [p for p, bs in boms.items() if p not in only and any(c.item in only for b in bs for c in b.components)]
    s = f[D.SUGGESTION].main
    out: list[P.Demand] = []
    for chunk in D.chunks(parents):
        q = sa.select(s.c.id, s.c.code, s.c.item, s.c.qty, s.c.release_date).where(
            s.c.deleted_at.is_(None), s.c.status == PROPOSED, s.c.kind == P.MAKE, s.c.exception.is_(None) | (s.c.exception == M.LATE),
            s.c.item.in_(chunk or []))
        for r in conn.execute(q):
            bom = M.choose_bom(boms.get(int(r.item), ()), r.release_date)
            for c in bom.components if bom else ():
                if c.item in only:
                    out.append(P.Demand(c.item, r.release_date, M.component_qty(D.dec(r.qty), c), OUTSIDE, str(r.code), int(r.id)))
    return tuple(out)


def _remove_proposed(conn: Connection, f: dict[str, Any], only: set[int] | None) -> None:
    """Delete the proposed suggestions being replaced (all, or those of ``only``) with their pegging rows;
    a kept (confirmed or ignored) suggestion's pegging row that named one keeps its text and loses the link."""
    s, peg = f[D.SUGGESTION].main, f[D.SUGGESTION].children["pegging"]
    gone: list[int] = []
    kept: list[int] = []
    for chunk in D.chunks(only):
        q = sa.select(s.c.id, s.c.status)
        for rid, status in conn.execute(q if chunk is None else q.where(s.c.item.in_(chunk))):
            (gone if status == PROPOSED else kept).append(int(rid))
    removed = set(gone)
    stale: list[int] = []
    for chunk in D.chunks(kept):
        q = sa.select(peg.c.id, peg.c.parent_suggestion).where(peg.c.parent_id.in_(chunk or []), peg.c.parent_suggestion.is_not(None))
        stale += [int(pid) for pid, parent in conn.execute(q) if int(parent) in removed]
    for chunk in D.chunks(stale):
        conn.execute(peg.update().where(peg.c.id.in_(chunk or [])).values(parent_suggestion=None))
    if only is None:            # everything proposed goes: two statements
        conn.execute(peg.delete().where(peg.c.parent_id.in_(sa.select(s.c.id).where(s.c.status == PROPOSED))))
        conn.execute(s.delete().where(s.c.status == PROPOSED))
        return
    for chunk in D.chunks(gone):
        conn.execute(peg.delete().where(peg.c.parent_id.in_(chunk or [])))
    for chunk in D.chunks(gone):
        conn.execute(s.delete().where(s.c.id.in_(chunk or [])))


# ---------------------------------------------------------------- writing

def _write_run(conn: Connection, forms: Any, f: dict[str, Any], ctx: Ctx, mode: str, bucket: str, horizon: int,
               problem: P.Problem, result: M.Plan, only: set[int] | None, known: bool) -> dict[str, Any]:
    exceptions = sum(1 for o in result.orders if o.late) + len(result.actions)
    note = [] if known else ["未接入库存：现有量按 0 计算 / no stock engine: on hand counted as 0"]
    if only is not None:
        note.append(f"净改变：重算 {len(only)} 个物料 / net change: {len(only)} items re-planned")
    values = {"run_at": ctx.now, "mode": mode, "bucket": bucket, "horizon": horizon, "start_date": problem.buckets.start,
              "status": "done", "item_count": len(result.records), "demand_count": len(problem.demands),
              "suggestion_count": len(result.orders) + len(result.actions), "exception_count": exceptions,
              "beyond_count": result.beyond, "duration_ms": 0, "run_by": ctx.actor.id, "note": "；".join(note) or None}
    return S.insert_rows(conn, f[D.RUN], ctx, [V.Prepared(values, {})], hooks=forms.hooks)[0]


def _write_suggestions(conn: Connection, forms: Any, f: dict[str, Any], ctx: Ctx, run_id: int, problem: P.Problem,
                       result: M.Plan) -> list[int]:
    """Insert the planned orders level by level (a pegging row names its parent's suggestion), then the
    scheduled receipts' actions. Returns the new ids."""
    compiled = f[D.SUGGESTION]
    by_level: dict[int, list[M.PlannedOrder]] = defaultdict(list)
    for o in result.orders:
        by_level[result.levels.get(o.item, 0)].append(o)
    id_of: dict[int, tuple[int, str]] = {}
    ids: list[int] = []
    for level in sorted(by_level):
        orders = by_level[level]
        preps = [V.Prepared({"run": run_id, "item": o.item, "kind": o.source, "qty": o.qty, "release_date": o.release,
                             "due_date": o.due, "exception": M.LATE if o.late else None, "status": PROPOSED, "level": level},
                            {"pegging": [_peg_row(p, id_of) for p in o.pegs]}) for o in orders]
        stored = S.insert_rows(conn, compiled, ctx, preps, audit=False, hooks=forms.hooks)
        for o, r in zip(orders, stored):
            id_of[o.number] = (int(r["id"]), str(r.get("code") or ""))
            ids.append(int(r["id"]))
    actions = [V.Prepared({"run": run_id, "item": a.receipt.item, "kind": P.MAKE if a.receipt.kind == P.PRODUCTION else P.BUY,
                           "qty": a.receipt.qty, "release_date": None, "due_date": a.to or a.receipt.date, "exception": a.kind,
                           "status": PROPOSED, "level": result.levels.get(a.receipt.item, 0),
                           "production_order": a.receipt.doc if a.receipt.kind == P.PRODUCTION else None,
                           "purchase_order": a.receipt.doc if a.receipt.kind == P.PURCHASE else None},
                          {"pegging": []}) for a in result.actions]
    ids += [int(r["id"]) for r in S.insert_rows(conn, compiled, ctx, actions, audit=False, hooks=forms.hooks)]
    return ids


def _peg_row(p: M.Peg, id_of: dict[int, tuple[int, str]]) -> dict[str, Any]:
    row: dict[str, Any] = {"demand_kind": p.kind, "demand": p.ref or None, "qty": p.qty, "sales_order": None, "forecast": None,
                           "parent_suggestion": None, "production_order": None}
    if p.kind == M.PLANNED and p.parent in id_of:
        row["parent_suggestion"], row["demand"] = id_of[p.parent]
    elif p.kind == OUTSIDE:
        row.update(demand_kind=M.PLANNED, parent_suggestion=p.doc)
    elif p.kind == P.SALES:
        row["sales_order"] = p.doc
    elif p.kind in (P.FORECAST, P.MPS):
        row["forecast"] = p.doc
    elif p.kind == P.ORDER:
        row["production_order"] = p.doc
    return row


def summary(conn: Connection, forms: Any, run_id: int, **extra: Any) -> dict[str, Any]:
    """A run as the API and CLI show it: its record's fields and its counts."""
    f = D.forms_of(conn, forms)
    t = f[D.RUN].main
    r = conn.execute(sa.select(t).where(t.c.id == run_id, t.c.deleted_at.is_(None))).mappings().first()
    if r is None:
        from mom.platform.errors import NotFound
        raise NotFound(f"找不到 MRP 运算 {run_id}", f"no MRP run {run_id}")
    keys = ("id", "code", "run_at", "mode", "bucket", "horizon", "start_date", "status", "item_count", "demand_count",
            "suggestion_count", "exception_count", "beyond_count", "duration_ms", "note")
    out = {k: r[k] for k in keys}
    for k in ("run_at", "start_date"):
        out[k] = out[k].isoformat() if out[k] is not None else None
    return {**out, **extra}
