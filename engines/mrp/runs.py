"""An MRP run in the database: read the problem, plan it, replace the suggestions nobody acted on, and
record the run (``mrp_run``) with its suggestions (``mrp_suggestion``; their pegging is computed when asked
for, ``pegging.py``).

- **full regeneration** (全部重排) plans every item; the suggestions of earlier runs still 建议 (proposed)
  are removed, confirmed and ignored ones stay as history, earlier runs become 已被新运算取代;
- **net change** (净改变) re-plans only what a change since the last run can alter, level by level, and
  writes only the differences (netchange.py). Without an earlier run, or with other buckets, horizon or run
  date than the last run's, it is a full run.
Suggestions are the engine's output: written in bulk (writing.py: numbers and ids reserved once per chunk)
and audited through their run; confirming
one goes through the record service (confirmation.py).
Planners and administrators only; two runs at once queue (an advisory lock on PostgreSQL).
"""
from __future__ import annotations

import datetime as dt
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.mrp import documents as D
from mom.engines.mrp import netchange as NC
from mom.engines.mrp import plan as M
from mom.engines.mrp import writing as W
from mom.engines.mrp.buckets import BUCKETS, MAX_HORIZON, Buckets
from mom.engines.records import service as S
from mom.engines.records import values as V
from mom.engines.records.context import Ctx
from mom.platform.db import bulk
from mom.platform.errors import AccessDenied, InvalidInput, Problem

FULL, NET_CHANGE = "full", "net_change"
PROPOSED, CONFIRMED, IGNORED = "proposed", "confirmed", "ignored"
OUTSIDE = M.OUTSIDE
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
    # a plan keeps millions of small acyclic objects alive: fewer cyclic-GC passes over them (at 20,000
    # items the young generation's passes at 500,000 allocations still cost a quarter of planning)
    with bulk.relaxed_gc(5_000_000):
        return _run(conn, forms, ctx, bucket, horizon, mode)


def _run(conn: Connection, forms: Any, ctx: Ctx, bucket: str, horizon: int, mode: str) -> dict[str, Any]:
    started = time.perf_counter()
    f = D.forms_of(conn, forms)
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK})
    today = ctx.now.astimezone(ctx.tz).date()
    start = Buckets.from_today(today, bucket, horizon).start
    last = _last_run(conn, f)
    if mode == NET_CHANGE and (last is None or not NC.same_frame(last, ctx, bucket, horizon, start)):
        mode = FULL
    t = f[D.RUN].main
    if mode == FULL:
        problem, known = D.read_problem(conn, f, today=today, tz=ctx.tz, bucket=bucket, horizon=horizon)
        result = M.plan(problem, pegging=False)
        _remove_proposed(conn, f)
        counts = {"item_count": len(result.records), "demand_count": len(problem.demands),
                  "suggestion_count": len(result.orders) + len(result.actions),
                  "exception_count": sum(1 for o in result.orders if o.late) + len(result.actions), "beyond_count": result.beyond}
        run_row = _write_run(conn, forms, f, ctx, mode, bucket, horizon, start, counts, [] if known else [_NO_STOCK])
        written = len(W.insert(conn, forms, f[D.SUGGESTION], ctx, W.entries(result, run_row["id"])))
        if conn.dialect.name == "postgresql":   # fresh statistics for the reads that follow (pegging on demand)
            conn.execute(sa.text(f"ANALYZE {_qualified(conn, f[D.SUGGESTION].main)}"))
        conn.execute(t.update().where(t.c.id != run_row["id"], t.c.status == "done").values(status="superseded"))
        extra: dict[str, Any] = {}
    else:
        zero = dict.fromkeys(("item_count", "demand_count", "suggestion_count", "exception_count", "beyond_count"), 0)
        run_row = _write_run(conn, forms, f, ctx, mode, bucket, horizon, start, zero, [])
        c = NC.run(conn, forms, f, ctx, int(run_row["id"]), last["created_at"], today, bucket, horizon)
        note = ([] if c.known else [_NO_STOCK]) + [f"净改变：重算 {c.items} 个物料 / net change: {c.items} items re-planned"]
        extra = {"item_count": c.items, "demand_count": c.demands, "suggestion_count": c.suggestions,
                 "exception_count": c.exceptions, "beyond_count": c.beyond, "note": "；".join(note)}
        written = c.written
    took = int((time.perf_counter() - started) * 1000)
    conn.execute(t.update().where(t.c.id == run_row["id"]).values(duration_ms=took, **extra))
    return summary(conn, forms, run_row["id"], ids_written=written)


def _qualified(conn: Connection, t: sa.Table) -> str:
    q = conn.dialect.identifier_preparer.quote
    return (f"{q(t.schema)}." if t.schema else "") + q(t.name)


_NO_STOCK = "未接入库存：现有量按 0 计算 / no stock engine: on hand counted as 0"


def _last_run(conn: Connection, f: dict[str, Any]) -> dict[str, Any] | None:
    t = f[D.RUN].main
    row = conn.execute(sa.select(t).where(t.c.deleted_at.is_(None)).order_by(t.c.id.desc()).limit(1)).mappings().first()
    return dict(row) if row else None


def _remove_proposed(conn: Connection, f: dict[str, Any]) -> None:
    """Delete every proposed suggestion with its pegging rows; a kept (confirmed or ignored) suggestion's
    pegging row that named one keeps its text and loses the link."""
    s, peg = f[D.SUGGESTION].main, f[D.SUGGESTION].children["pegging"]
    gone: set[int] = set()
    kept: list[int] = []
    for rid, status in conn.execute(sa.select(s.c.id, s.c.status)):
        if status == PROPOSED:
            gone.add(int(rid))
        else:
            kept.append(int(rid))
    stale: list[int] = []
    for chunk in D.chunks(kept):
        q = sa.select(peg.c.id, peg.c.parent_suggestion).where(peg.c.parent_id.in_(chunk or []), peg.c.parent_suggestion.is_not(None))
        stale += [int(pid) for pid, parent in conn.execute(q) if int(parent) in gone]
    for chunk in D.chunks(stale):
        conn.execute(peg.update().where(peg.c.id.in_(chunk or [])).values(parent_suggestion=None))
    conn.execute(peg.delete().where(peg.c.parent_id.in_(sa.select(s.c.id).where(s.c.status == PROPOSED))))
    conn.execute(s.delete().where(s.c.status == PROPOSED))


def _write_run(conn: Connection, forms: Any, f: dict[str, Any], ctx: Ctx, mode: str, bucket: str, horizon: int,
               start: dt.date, counts: dict[str, int], note: list[str]) -> dict[str, Any]:
    values = {"run_at": ctx.now, "mode": mode, "bucket": bucket, "horizon": horizon, "start_date": start,
              "status": "done", **counts, "duration_ms": 0, "run_by": ctx.actor.id, "note": "；".join(note) or None}
    return S.insert_rows(conn, f[D.RUN], ctx, [V.Prepared(values, {})], hooks=forms.hooks)[0]


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
