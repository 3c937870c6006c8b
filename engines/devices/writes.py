"""What one flush writes into the device forms: state segments (设备状态), per-minute counts (设备计数) and
process-value aggregates (工艺参数). Rows are inserted through the record service as the engine (no audit
entry per row: these are measurements, thousands a minute); a minute bucket already there gets the
flush's deltas added in place in SQL (``total = total + :d``), so concurrent flushes never lose a count."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.devices import forms as F
from mom.engines.devices import machine_days
from mom.engines.forms.compile import CompiledForm
from mom.engines.records import values as V
from mom.engines.records.context import Ctx
from mom.engines.records.service import insert_rows

Q6 = Decimal("0.000001")


def insert(conn: Connection, forms: Any, ctx: Ctx, compiled: CompiledForm, rows: list[dict[str, Any]]) -> list[int]:
    if not rows:
        return []
    with F.engine_writes(conn):
        stored = insert_rows(conn, compiled, ctx, [V.Prepared(values=r, children={}) for r in rows], audit=False,
                             hooks=getattr(forms, "hooks", None))
    return [int(r["id"]) for r in stored]


def _touch(ctx: Ctx, t: sa.Table) -> dict[str, Any]:
    return {"updated_at": ctx.now, "updated_by": ctx.actor.id, "row_version": t.c.row_version + 1}


def apply_states(conn: Connection, forms: Any, ctx: Ctx, compiled: CompiledForm,
                 changes: Mapping[int, list[tuple[dt.datetime, str, str]]], source: str = "mqtt") -> int:
    """Per machine its (time, state, source) readings in order: a change closes the open state row (ended_at, duration)
    and opens the next. A reading older than the open state counts from the open state's start. Returns rows opened."""
    if not changes:
        return 0
    t = compiled.main
    q = (sa.select(t.c.id, t.c.machine, t.c.state, t.c.started_at)
         .where(t.c.machine.in_(list(changes)), t.c.ended_at.is_(None), t.c.deleted_at.is_(None)).order_by(t.c.started_at))
    current: dict[int, dict[str, Any]] = {}
    for r in conn.execute(q).mappings():
        current[int(r["machine"])] = dict(r)           # (the latest open one, should there be two)
    closes: list[dict[str, Any]] = []
    fresh: list[dict[str, Any]] = []
    for machine, readings in changes.items():
        cur = current.get(machine)
        for ts, state, src in readings:
            if cur is not None and cur["state"] == state:
                continue
            start = ts if cur is None or ts >= cur["started_at"] else cur["started_at"]
            if cur is not None:
                dur = Decimal(str((start - cur["started_at"]).total_seconds())).quantize(Q6)
                if "id" in cur:
                    closes.append({"b_id": cur["id"], "ended_at": start, "duration_s": dur})
                else:
                    cur["ended_at"], cur["duration_s"] = start, dur
            cur = {"machine": machine, "state": state, "started_at": start, "ended_at": None, "duration_s": None,
                   "source": src or source}
            fresh.append(cur)
    if closes:
        stmt = t.update().where(t.c.id == sa.bindparam("b_id")).values(
            ended_at=sa.bindparam("ended_at"), duration_s=sa.bindparam("duration_s"), **_touch(ctx, t))
        conn.execute(stmt, closes)
    insert(conn, forms, ctx, compiled, fresh)
    return len(fresh)


def add_counts(conn: Connection, forms: Any, ctx: Ctx, compiled: CompiledForm,
               deltas: Mapping[tuple[int, dt.datetime], list[Decimal]]) -> int:
    """Add ``deltas`` {(machine, minute): [total, good, scrap]} to the minute rows (new rows where none). Returns rows touched."""
    deltas = {k: v for k, v in deltas.items() if any(v)}
    if not deltas:
        return 0
    t = compiled.main
    existing = _existing(conn, t, deltas, ())
    ups, fresh = [], []
    for (machine, minute), (tot, good, scrap) in deltas.items():
        rid = existing.get((machine, minute))
        if rid is None:
            fresh.append({"machine": machine, "bucket_start": minute, "total": tot, "good": good, "scrap": scrap})
        else:
            ups.append({"b_id": rid, "d_total": tot, "d_good": good, "d_scrap": scrap})
    if ups:
        z = sa.literal(0)
        stmt = t.update().where(t.c.id == sa.bindparam("b_id")).values(
            total=sa.func.coalesce(t.c.total, z) + sa.bindparam("d_total", type_=t.c.total.type),
            good=sa.func.coalesce(t.c.good, z) + sa.bindparam("d_good", type_=t.c.good.type),
            scrap=sa.func.coalesce(t.c.scrap, z) + sa.bindparam("d_scrap", type_=t.c.scrap.type), **_touch(ctx, t))
        conn.execute(stmt, ups)
        # a minute added to in place bypasses the record hooks: its machine-day's OEE summary goes (new rows: the hooks)
        machine_days.forget(conn, [(machine, minute, minute) for (machine, minute) in deltas if (machine, minute) in existing])
    insert(conn, forms, ctx, compiled, fresh)
    return len(deltas)


def _existing(conn: Connection, t: sa.Table, keys: Mapping[tuple[Any, ...], Any], extra: tuple[str, ...]
              ) -> dict[tuple[Any, ...], Any]:
    machines = sorted({k[0] for k in keys})
    minutes = sorted({k[-1] for k in keys})
    cols = [t.c.id, t.c.machine, *[t.c[c] for c in extra], t.c.bucket_start]
    if extra:
        cols += [t.c.n, t.c.mean, t.c.min, t.c.max]
    q = sa.select(*cols).where(t.c.machine.in_(machines), t.c.bucket_start.in_(minutes), t.c.deleted_at.is_(None))
    out: dict[tuple[Any, ...], Any] = {}
    for r in conn.execute(q).mappings():
        k = (int(r["machine"]), *[r[c] for c in extra], r["bucket_start"])
        if k in keys:
            out[k] = dict(r) if extra else int(r["id"])
    return out


class Agg:
    """One (machine, tag, minute)'s samples in this flush."""
    __slots__ = ("n", "total", "lo", "hi", "last", "unit")

    def __init__(self, v: Decimal, unit: str | None) -> None:
        self.n, self.total, self.lo, self.hi, self.last, self.unit = 1, v, v, v, v, unit

    def add(self, v: Decimal) -> None:
        self.n += 1
        self.total += v
        self.lo = min(self.lo, v)
        self.hi = max(self.hi, v)
        self.last = v


def add_values(conn: Connection, forms: Any, ctx: Ctx, compiled: CompiledForm,
               aggs: Mapping[tuple[int, str, dt.datetime], Agg]) -> int:
    """Merge the flush's aggregates into the per-minute rows (count, mean, min, max, last). Returns rows touched."""
    if not aggs:
        return 0
    t = compiled.main
    existing = _existing(conn, t, aggs, ("tag",))
    ups, fresh = [], []
    for (machine, tag, minute), a in aggs.items():
        old = existing.get((machine, tag, minute))
        if old is None:
            fresh.append({"machine": machine, "tag": tag, "bucket_start": minute, "n": a.n,
                          "mean": (a.total / a.n).quantize(Q6), "min": a.lo, "max": a.hi, "last": a.last, "unit": a.unit})
            continue
        n0 = int(old["n"] or 0)
        mean0 = Decimal(str(old["mean"] or 0))
        n = n0 + a.n
        lo = a.lo if old["min"] is None else min(Decimal(str(old["min"])), a.lo)
        hi = a.hi if old["max"] is None else max(Decimal(str(old["max"])), a.hi)
        ups.append({"b_id": old["id"], "n": n, "mean": ((mean0 * n0 + a.total) / n).quantize(Q6), "min": lo, "max": hi, "last": a.last})
    if ups:
        stmt = t.update().where(t.c.id == sa.bindparam("b_id")).values(
            n=sa.bindparam("n"), mean=sa.bindparam("mean"), min=sa.bindparam("min"), max=sa.bindparam("max"),
            last=sa.bindparam("last"), **_touch(ctx, t))
        conn.execute(stmt, ups)
    insert(conn, forms, ctx, compiled, fresh)
    return len(aggs)
