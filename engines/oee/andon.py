"""The andon board (安灯看板): every machine the caller may read with its current state and since when,
today's OEE (plant day, from local midnight to now; before today's first shift yesterday's, labelled so), its
open alarms, its unexplained stops today (an open stop begun yesterday counts) and its open repair orders (only
for a caller who may read maintenance orders); down machines first, then setup, idle, running. And the list
of a machine's stops waiting for a reason (the shop-floor page classifies them)."""
from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.devices import forms as dforms
from mom.engines.devices.classify import FITS
from mom.engines.maintenance import pack as maintenance_pack
from mom.engines.oee import reader
from mom.engines.oee.timemodel import Tally, kpis
from mom.engines.records.access import form_access
from mom.engines.records.context import Ctx
from mom.platform.errors import InvalidInput, Problem

STOP_STATES = ("down", "idle")
MAX_STOPS = 200
ORDER = {"down": 0, "setup": 1, "idle": 2, "running": 3, "planned_stop": 4}
OPEN_ORDERS = ("reported", "responded", "in_repair")


def _oee_per_machine(scope: reader.Scope) -> dict[int, dict[str, Any]]:
    out = {}
    for m in scope.machines.values():
        t = Tally()
        for x in m.tallies.values():
            t += x
        out[m.id] = kpis(t)
    return out


def board(conn: Connection, forms: Any, ctx: Ctx, *, line: str | None = None) -> dict[str, Any]:
    today = dt.datetime.combine(ctx.now.astimezone(ctx.tz).date(), dt.time(), tzinfo=ctx.tz)
    scope = reader.read(conn, forms, ctx, today, today + dt.timedelta(days=1), line=line)
    ids = list(scope.machines)
    current = _current(conn, forms, ctx, ids)
    alarms = _open_alarms(conn, forms, ctx, ids)
    unexplained = _unexplained_counts(conn, forms, ctx, ids, today)
    repairs = _open_repairs(conn, forms, ctx, ids)
    ks = _oee_per_machine(scope)
    unplanned = [mid for mid, k in ks.items() if k["time"]["pbt_s"] <= 0]
    yesterday: dict[int, dict[str, Any]] = {}
    if unplanned:      # today's first shift has not begun: yesterday's OEE, labelled so
        ys = reader.read(conn, forms, ctx, today - dt.timedelta(days=1), today, line=line)
        yesterday = {mid: k for mid, k in _oee_per_machine(ys).items() if mid in unplanned}
    out = []
    for m in scope.machines.values():
        k = ks[m.id]
        line_ = scope.lines.get(m.line) if m.line is not None else None
        state = current.get(m.id)
        out.append({"machine": m.id, "code": m.code, "name": m.name,
                    "line_code": line_[0] if line_ else None, "line_name": line_[1] if line_ else None,
                    "state": state["state"] if state else None, "since": state["since"] if state else None,
                    "state_id": state["id"] if state else None,
                    "oee": k["oee"], "availability": k["availability"], "effectiveness": k["effectiveness"],
                    "quality_rate": k["quality_rate"], "good": k["quantity"]["gq"], "produced": k["quantity"]["pq"],
                    "planned_today": k["time"]["pbt_s"] > 0,
                    "yesterday_oee": yesterday[m.id]["oee"] if m.id in yesterday else None,
                    "alarms": alarms.get(m.id, 0), "unexplained_stops": unexplained.get(m.id, 0),
                    "repairs": None if repairs is None else repairs.get(m.id, 0)})
    out.sort(key=lambda r: (ORDER.get(r["state"], 5), r["line_code"] or "", r["code"]))
    return {"at": ctx.now.astimezone(ctx.tz).isoformat(), "day": today.date().isoformat(), "machines": out}


def _current(conn: Connection, forms: Any, ctx: Ctx, ids: list[int]) -> dict[int, dict[str, Any]]:
    f = dforms.require(conn, forms, dforms.STATE)
    t = f.main
    if not ids:
        return {}
    latest = (sa.select(t.c.machine, sa.func.max(t.c.started_at).label("at"))
              .where(t.c.deleted_at.is_(None), t.c.ended_at.is_(None), t.c.machine.in_(ids)).group_by(t.c.machine)
              .subquery())
    q = (sa.select(t.c.id, t.c.machine, t.c.state, t.c.started_at)
         .join(latest, sa.and_(latest.c.machine == t.c.machine, latest.c.at == t.c.started_at))
         .where(t.c.deleted_at.is_(None), t.c.ended_at.is_(None)))
    if (s := form_access(f, ctx.actor).scope("read")) is not None:
        q = q.where(s)
    return {r["machine"]: {"id": r["id"], "state": r["state"], "since": r["started_at"].astimezone(ctx.tz).isoformat()}
            for r in conn.execute(q).mappings()}


def _open_alarms(conn: Connection, forms: Any, ctx: Ctx, ids: list[int]) -> dict[int, int]:
    f = dforms.pack_form(conn, forms, dforms.ALARM)
    acc = form_access(f, ctx.actor) if f is not None else None
    if f is None or acc is None or not acc.can("read") or not ids:
        return {}
    t = f.main
    q = (sa.select(t.c.machine, sa.func.count()).where(t.c.deleted_at.is_(None), t.c.machine.in_(ids),
                                                        sa.or_(t.c.status.is_(None), t.c.status != "closed"))
         .group_by(t.c.machine))
    if (s := acc.scope("read")) is not None:
        q = q.where(s)
    return {int(m): int(n) for m, n in conn.execute(q)}


def _open_repairs(conn: Connection, forms: Any, ctx: Ctx, ids: list[int]) -> dict[int, int] | None:
    """Open repair orders per machine; None (no count at all) for a caller who may not read maintenance orders."""
    f = maintenance_pack.pack_form(conn, forms, "maintenance_order")
    acc = form_access(f, ctx.actor) if f is not None else None
    if f is None or acc is None or not acc.can("read"):
        return None
    if not ids:
        return {}
    t = f.main
    q = (sa.select(t.c.machine, sa.func.count()).where(t.c.deleted_at.is_(None), t.c.machine.in_(ids),
                                                        t.c.kind == "repair", t.c.status.in_(OPEN_ORDERS))
         .group_by(t.c.machine))
    if (s := acc.scope("read")) is not None:
        q = q.where(s)
    return {int(m): int(n) for m, n in conn.execute(q)}


def _stops_query(conn: Connection, forms: Any, ctx: Ctx) -> tuple[Any, Any]:
    f = dforms.require(conn, forms, dforms.STATE)
    t = f.main
    q = sa.select(t).where(t.c.deleted_at.is_(None), t.c.state.in_(STOP_STATES), t.c.stop_reason.is_(None))
    if (s := form_access(f, ctx.actor).scope("read")) is not None:
        q = q.where(s)
    return t, q


def _unexplained_counts(conn: Connection, forms: Any, ctx: Ctx, ids: list[int], since: dt.datetime) -> dict[int, int]:
    if not ids:
        return {}
    t, q = _stops_query(conn, forms, ctx)
    q = (q.with_only_columns(t.c.machine, sa.func.count())
         .where(t.c.machine.in_(ids), sa.or_(t.c.started_at >= since, t.c.ended_at.is_(None), t.c.ended_at > since))
         .group_by(t.c.machine))
    return {int(m): int(n) for m, n in conn.execute(q)}


def unexplained_stops(conn: Connection, forms: Any, ctx: Ctx, *, machine: str, days: int = 7,
                      min_seconds: float = 0) -> dict[str, Any]:
    """One machine's down / idle stops of the last ``days`` days with no reason yet (newest first), and the
    stop reasons to choose from (active ones)."""
    rows, _centres = reader.machines(conn, forms, ctx, machine=machine)
    mid = next(iter(rows))
    t, q = _stops_query(conn, forms, ctx)
    since = ctx.now - dt.timedelta(days=days)
    q = q.where(t.c.machine == mid, t.c.started_at >= since).order_by(t.c.started_at.desc()).limit(MAX_STOPS)
    out = []
    for r in conn.execute(q).mappings():
        end = r["ended_at"] or ctx.now
        secs = (end - r["started_at"]).total_seconds()
        if secs < min_seconds:
            continue
        out.append({"id": r["id"], "state": r["state"], "started_at": r["started_at"].isoformat(),
                    "ended_at": r["ended_at"].isoformat() if r["ended_at"] else None, "seconds": round(secs, 1),
                    "note": r.get("note"), "row_version": r["row_version"]})
    fits = {c for state in STOP_STATES for c in FITS[state]}      # only reasons a down / idle stop may take
    return {"machine": mid, "machine_code": rows[mid]["code"], "machine_name": rows[mid]["name"], "stops": out,
            "reasons": [r for r in _reasons(conn, forms) if r["loss_category"] in fits]}


def _reasons(conn: Connection, forms: Any, active_only: bool = True) -> list[dict[str, Any]]:
    f = dforms.pack_form(conn, forms, dforms.REASON)
    if f is None:
        return []
    t = f.main
    q = sa.select(t.c.id, t.c.code, t.c.name, t.c.loss_category).where(t.c.deleted_at.is_(None))
    if active_only and "active" in t.c:
        q = q.where(sa.or_(t.c.active.is_(None), t.c.active.is_(True)))
    return [dict(r) for r in conn.execute(q.order_by(t.c.code)).mappings()]


MAX_TIMELINE = 5000


def timeline(conn: Connection, forms: Any, ctx: Ctx, *, machine: str, start: dt.datetime, end: dt.datetime
             ) -> dict[str, Any]:
    """One machine's states over [start, end) (clipped to it, at most 31 days), with their stop reasons, and
    its shifts (the planned time) for the drill-down timeline."""
    if end - start > dt.timedelta(days=31):
        raise InvalidInput("状态时间线最多 31 天：请缩短起止日期", "the state timeline covers at most 31 days: shorten the period",
                           problems=[Problem("/to", "最多 31 天", "at most 31 days")])
    scope = reader.read(conn, forms, ctx, start, end, machine=machine)
    m = next(iter(scope.machines.values()))
    f = dforms.require(conn, forms, dforms.STATE)
    t = f.main
    q = (sa.select(t.c.id, t.c.state, t.c.started_at, t.c.ended_at, t.c.stop_reason, t.c.note)
         .where(t.c.deleted_at.is_(None), t.c.machine == m.id, t.c.started_at < end,
                sa.or_(t.c.ended_at.is_(None), t.c.ended_at > start))
         .order_by(t.c.started_at).limit(MAX_TIMELINE))
    if (s := form_access(f, ctx.actor).scope("read")) is not None:
        q = q.where(s)
    reasons = {r["id"]: r for r in _reasons(conn, forms, active_only=False)}
    stop = min(end, ctx.now)
    states = []
    for r in conn.execute(q).mappings():
        a, b = max(r["started_at"], start), min(r["ended_at"] or stop, end)
        if b <= a:
            continue
        why = reasons.get(r["stop_reason"])
        states.append({"id": r["id"], "state": r["state"], "start": a.astimezone(ctx.tz).isoformat(),
                       "end": b.astimezone(ctx.tz).isoformat(),
                       "reason": r["stop_reason"], "reason_name": why["name"] if why else None,
                       "loss_category": why["loss_category"] if why else None, "note": r["note"]})
    shifts = [{"day": w.day, "shift": w.shift, "start": dt.datetime.fromtimestamp(w.start, ctx.tz).isoformat(),
               "end": dt.datetime.fromtimestamp(w.end, ctx.tz).isoformat()} for w in m.windows]
    return {"machine": m.id, "machine_code": m.code, "machine_name": m.name, "from": start.isoformat(),
            "to": end.isoformat(), "states": states, "shifts": shifts, "truncated": len(states) >= MAX_TIMELINE}
