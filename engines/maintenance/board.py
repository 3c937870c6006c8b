"""The maintenance board (设备维修保养看板, ``/#/maintenance``) and the phone page's order list (``/#/repair``):
PM orders by week and plans coming due, open repair orders with their running timers.

Everything follows the reader's permissions: orders only for who may read 维修保养工单 (row scope applied),
plans only for who may read 保养计划; a reader of neither gets a 403 naming the form, never a count.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.maintenance import pack as K
from mom.engines.records.access import form_access
from mom.engines.records.context import Ctx

MAX_ROWS = 500
_ORDER_COLS = ("id", "code", "kind", "title", "status", "machine", "planned_start", "planned_end", "due_date", "reported_at",
               "responded_at", "started_at", "finished_at", "response_min", "repair_min", "machine_stopped", "source", "pm_plan")


def _iso(v: Any) -> Any:
    if isinstance(v, dt.datetime):
        return K.aware(v).isoformat().replace("+00:00", "Z")      # type: ignore[union-attr]
    if isinstance(v, dt.date):
        return v.isoformat()
    return float(v) if v is not None and not isinstance(v, (int, str, bool)) else v


def _machines(conn: Connection, forms: Any, ids: set[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    t = forms.get(conn, "machine").main
    return {int(r["id"]): {"id": int(r["id"]), "code": r["code"], "name": r["name"], "status": r["status"]}
            for r in conn.execute(sa.select(t.c.id, t.c.code, t.c.name, t.c.status).where(t.c.id.in_(sorted(ids)))).mappings()}


def orders(conn: Connection, forms: Any, ctx: Ctx, *, statuses: tuple[str, ...] = K.OPEN, start: dt.datetime | None = None,
           end: dt.datetime | None = None, machine: int | None = None, limit: int = MAX_ROWS) -> list[dict[str, Any]]:
    """Orders the reader may read, by status (and planned start in [start, end) when given), oldest report first."""
    compiled = K.require_form(conn, forms, K.ORDER)
    access = form_access(compiled, ctx.actor)
    access.require("read")
    t = compiled.main
    q = sa.select(*[t.c[k] for k in _ORDER_COLS]).where(t.c.deleted_at.is_(None), t.c.status.in_(statuses))
    if access.scope("read") is not None:
        q = q.where(access.scope("read"))
    if start is not None:
        q = q.where(t.c.planned_start >= start)
    if end is not None:
        q = q.where(t.c.planned_start < end)
    if machine is not None:
        q = q.where(t.c.machine == int(machine))
    rows = [dict(r) for r in conn.execute(q.order_by(t.c.reported_at, t.c.id).limit(limit)).mappings()]
    names = _machines(conn, forms, {int(r["machine"]) for r in rows if r.get("machine") is not None})
    now = ctx.now
    out = []
    for r in rows:
        since = K.aware(r.get("started_at") if r.get("status") == "in_repair" else r.get("reported_at"))
        out.append({**{k: _iso(v) for k, v in r.items() if access.visible(k)},
                    "machine": names.get(int(r["machine"])) if r.get("machine") is not None else None,
                    "status_label": K.STATUS_ZH.get(str(r.get("status")), r.get("status")),
                    "kind_label": K.KIND_ZH.get(str(r.get("kind")), r.get("kind")),
                    "elapsed_min": K.minutes(since, now) if r.get("status") in K.OPEN else None})
    return out


def plans_due(conn: Connection, forms: Any, ctx: Ctx, end: dt.datetime) -> list[dict[str, Any]] | None:
    """Active calendar plans due before ``end`` (None when the reader may not read plans)."""
    compiled = K.pack_form(conn, forms, K.PLAN)
    if compiled is None:
        return None
    access = form_access(compiled, ctx.actor)
    if not access.can("read"):
        return None
    t = compiled.main
    q = sa.select(t.c.id, t.c.code, t.c.name, t.c.machine, t.c.trigger, t.c.interval, t.c.next_due, t.c.last_done).where(
        t.c.deleted_at.is_(None), sa.or_(t.c.active.is_(True), t.c.active.is_(None)), t.c.next_due.is_not(None), t.c.next_due < end)
    if access.scope("read") is not None:
        q = q.where(access.scope("read"))
    rows = [dict(r) for r in conn.execute(q.order_by(t.c.next_due).limit(MAX_ROWS)).mappings()]
    names = _machines(conn, forms, {int(r["machine"]) for r in rows})
    return [{**{k: _iso(v) for k, v in r.items()}, "machine": names.get(int(r["machine"]))} for r in rows]


def calendar(conn: Connection, forms: Any, ctx: Ctx, *, start: dt.date, weeks: int) -> dict[str, Any]:
    """``weeks`` weeks from the Monday of ``start`` (plant time): per week its PM orders and the plans coming
    due; the open repair orders with their timers."""
    monday = start - dt.timedelta(days=start.weekday())
    begin = dt.datetime.combine(monday, dt.time(0), tzinfo=ctx.tz)
    end = begin + dt.timedelta(weeks=weeks)
    pm_orders = [o for o in orders(conn, forms, ctx, statuses=("reported", "responded", "in_repair", "done", "closed"),
                                   start=begin, end=end) if o.get("kind") == "pm"]
    plans = plans_due(conn, forms, ctx, end)
    have = {(o.get("pm_plan"), o.get("due_date")) for o in pm_orders}
    out_weeks = []
    for w in range(weeks):
        a = monday + dt.timedelta(weeks=w)
        b = a + dt.timedelta(days=7)
        in_week = [o for o in pm_orders if o.get("planned_start") and a.isoformat() <= _local_day(o["planned_start"], ctx) < b.isoformat()]
        due = [p for p in plans or [] if a.isoformat() <= _local_day(p["next_due"], ctx) < b.isoformat()
               and (p["id"], _local_day(p["next_due"], ctx)) not in have]
        out_weeks.append({"start": a.isoformat(), "end": b.isoformat(), "orders": in_week, "plans_due": due})
    repairs = [o for o in orders(conn, forms, ctx) if o.get("kind") == "repair"]
    overdue = [p for p in plans or [] if _local_day(p["next_due"], ctx) < monday.isoformat()]
    return {"weeks": out_weeks, "repairs": repairs, "overdue_plans": overdue, "plans_readable": plans is not None,
            "now": _iso(ctx.now)}


def _local_day(iso: str, ctx: Ctx) -> str:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(ctx.tz).date().isoformat()
