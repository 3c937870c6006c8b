"""What the machines are doing, as a reader may see it: each machine's current state and since when
(`GET /api/devices/states/current`), one machine's states and counts over a period
(`GET /api/devices/machines/{id}/timeline`), and the consumer's health for `mom devices status`.

Every answer follows the reader's permission on ``machine_state`` (the form's read right and row scope);
machine codes and names are shown only to readers of the ``machine`` form (else the id alone)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.devices import cursor as C
from mom.engines.devices import forms as F
from mom.engines.records.access import form_access, refusal
from mom.engines.records.context import Actor
from mom.platform.errors import InvalidInput, NotFound, Problem

STATE_ZH = {"running": "运行", "idle": "待机", "down": "停机", "setup": "换型调试", "planned_stop": "计划停机"}
MAX_SPAN = dt.timedelta(days=31)
MAX_ROWS = 20_000
RECENT_UNKNOWN = dt.timedelta(hours=24)


def _num(v: Any) -> float | None:
    return None if v is None else float(v)


def _machines(conn: Connection, forms: Any, actor: Actor, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Code and name of ``ids`` the reader may read (machine form right and scope)."""
    if not ids:
        return {}
    compiled = forms.get(conn, "machine")
    access = form_access(compiled, actor)
    if not access.can("read") or not actor.reads_form("machine"):    # (a token narrowed to other forms)
        return {}
    t = compiled.main
    q = sa.select(t.c.id, t.c.code, t.c.name).where(t.c.id.in_(ids), t.c.deleted_at.is_(None))
    scope = access.scope("read")
    if scope is not None:
        q = q.where(scope)
    return {int(i): {"code": code if access.visible("code") else None, "name": name if access.visible("name") else None}
            for i, code, name in conn.execute(q)}


def machine_names(conn: Connection, forms: Any, actor: Actor, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Code and name of the machines ``ids`` the reader may read (empty for who may not read machines)."""
    return _machines(conn, forms, actor, ids)


def _readable_states(conn: Connection, forms: Any, actor: Actor) -> tuple[Any, Any]:
    compiled = F.require(conn, forms, F.STATE)
    access = form_access(compiled, actor)
    access.require("read")
    if not actor.reads_form(F.STATE):      # an API token narrowed to other forms
        raise refusal(F.STATE, access.label, "read")
    return compiled, access


def current_states(conn: Connection, forms: Any, actor: Actor, now: dt.datetime) -> list[dict[str, Any]]:
    """The open state row of every machine the reader may see, with how long it has lasted."""
    compiled, access = _readable_states(conn, forms, actor)
    t = compiled.main
    q = sa.select(t.c.id, t.c.machine, t.c.state, t.c.started_at, t.c.stop_reason).where(
        t.c.ended_at.is_(None), t.c.deleted_at.is_(None)).order_by(t.c.machine, t.c.started_at)
    scope = access.scope("read")
    if scope is not None:
        q = q.where(scope)
    latest: dict[int, Mapping[str, Any]] = {}
    for r in conn.execute(q.limit(MAX_ROWS)).mappings():
        latest[int(r["machine"])] = r
    names = _machines(conn, forms, actor, sorted(latest))
    out = []
    for mid, r in latest.items():
        m = names.get(mid, {})
        out.append({"machine": mid, "machine_code": m.get("code"), "machine_name": m.get("name"), "state": r["state"],
                    "state_label": {"zh-CN": STATE_ZH.get(r["state"], r["state"]), "en": str(r["state"]).replace("_", " ")},
                    "since": r["started_at"].isoformat(), "seconds": round((now - r["started_at"]).total_seconds(), 1),
                    "record": int(r["id"]),
                    "stop_reason": r["stop_reason"] if access.visible("stop_reason") else None})
    out.sort(key=lambda x: (x["machine_code"] or "", x["machine"]))
    return out


def period(start: dt.datetime | None, end: dt.datetime | None, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """``from``/``to`` checked: default the last 24 hours; at most 31 days; ``from`` before ``to``."""
    end = end or now
    for key, v in (("from", start), ("to", end)):
        if v is not None and v.tzinfo is None:
            raise InvalidInput("时间需要带时区，如 2026-12-04T08:00:00+08:00", "times need a time zone, e.g. 2026-12-04T08:00:00+08:00",
                               problems=[Problem(f"/{key}", "需要时区", "needs a time zone")])
    if start is None:
        start = end - dt.timedelta(hours=24) if end > dt.datetime(1, 1, 2, tzinfo=dt.timezone.utc) else end
    if start >= end:
        raise InvalidInput("开始时间必须早于结束时间", "from must be before to", problems=[Problem("/from", "开始时间必须早于结束时间", "from must be before to")])
    if end - start > MAX_SPAN:
        raise InvalidInput("时间范围最多 31 天：请缩短查询区间", "the period is at most 31 days: shorten it",
                           problems=[Problem("/to", "时间范围最多 31 天", "at most 31 days")])
    return start, end


def timeline(conn: Connection, forms: Any, actor: Actor, machine_id: int, start: dt.datetime, end: dt.datetime,
             now: dt.datetime) -> dict[str, Any]:
    """One machine's state segments overlapping [start, end) (clipped to it) and its per-minute counts."""
    compiled, access = _readable_states(conn, forms, actor)
    names = _machines(conn, forms, actor, [machine_id])
    t = compiled.main
    q = sa.select(t.c.id, t.c.state, t.c.started_at, t.c.ended_at, t.c.stop_reason, t.c.note).where(
        t.c.machine == machine_id, t.c.deleted_at.is_(None), t.c.started_at < end,
        sa.or_(t.c.ended_at.is_(None), t.c.ended_at > start)).order_by(t.c.started_at)
    scope = access.scope("read")
    if scope is not None:
        q = q.where(scope)
    rows = list(conn.execute(q.limit(MAX_ROWS)).mappings())
    if not rows and machine_id not in names:
        raise NotFound(f"没有编号为 {machine_id} 的设备，或你无权查看它的状态", f"no machine {machine_id}, or you may not read its states")
    states = []
    for r in rows:
        a, b = max(r["started_at"], start), min(r["ended_at"] or now, end, now)    # never into the future
        if b < a:
            continue
        states.append({"record": int(r["id"]), "state": r["state"], "state_label": {"zh-CN": STATE_ZH.get(r["state"], r["state"]),
                       "en": str(r["state"]).replace("_", " ")}, "from": a.isoformat(), "to": b.isoformat(),
                       "seconds": round(max((b - a).total_seconds(), 0.0), 3), "open": r["ended_at"] is None,
                       "stop_reason": r["stop_reason"] if access.visible("stop_reason") else None,
                       "note": r["note"] if access.visible("note") else None})
    counts: list[dict[str, Any]] = []
    cf = F.pack_form(conn, forms, F.COUNT)
    if cf is not None:
        ca = form_access(cf, actor)
        if ca.can("read") and actor.reads_form(F.COUNT):
            ct = cf.main
            q2 = sa.select(ct.c.bucket_start, ct.c.total, ct.c.good, ct.c.scrap).where(
                ct.c.machine == machine_id, ct.c.deleted_at.is_(None), ct.c.bucket_start >= start,
                ct.c.bucket_start < end).order_by(ct.c.bucket_start)
            if ca.scope("read") is not None:
                q2 = q2.where(ca.scope("read"))
            counts = [{"minute": r["bucket_start"].isoformat(), "total": _num(r["total"]), "good": _num(r["good"]),
                       "scrap": _num(r["scrap"])} for r in conn.execute(q2.limit(MAX_ROWS)).mappings()]
    m = names.get(machine_id, {})
    return {"machine": machine_id, "machine_code": m.get("code"), "machine_name": m.get("name"),
            "from": start.isoformat(), "to": end.isoformat(), "states": states, "counts": counts,
            "totals": {k: sum(Decimal(str(c[k] or 0)) for c in counts) for k in ("total", "good", "scrap")}}


def health(conn: Connection, forms: Any, now: dt.datetime) -> dict[str, Any]:
    """For plant IT (`mom devices status`): per machine the last message time and sequence, the current
    state, and the unknown machines / unmapped topics seen."""
    ct = C.cursor_table
    last = {}
    for r in conn.execute(sa.select(ct.c.machine_id, sa.func.max(ct.c.last_at), sa.func.max(ct.c.seq)).group_by(ct.c.machine_id)):
        last[int(r[0])] = (r[1], r[2])
    states = {s["machine"]: s for s in current_states(conn, forms, Actor(id=None, username="system", is_admin=True), now)}
    names = _machines(conn, forms, Actor(id=None, username="system", is_admin=True), sorted(set(last) | set(states)))
    machines = []
    for mid in sorted(set(last) | set(states)):
        at, seq = last.get(mid, (None, None))
        s = states.get(mid)
        machines.append({"machine": mid, "code": names.get(mid, {}).get("code"), "last_message": at.isoformat() if at else None,
                         "silent_s": round((now - at).total_seconds(), 1) if at else None, "seq": seq,
                         "state": s["state"] if s else None, "since": s["since"] if s else None})
    return {"machines": machines, "unknown": [{**u, "first_seen": u["first_seen"].isoformat(), "last_seen": u["last_seen"].isoformat()}
                                              for u in _still_unknown(conn, forms, now)]}


def _still_unknown(conn: Connection, forms: Any, now: dt.datetime) -> list[dict[str, Any]]:
    """The unknown machines, unmapped topics and broken mappings seen in the last 24 hours, less those fixed
    since: a topic an active mapping now matches, a machine code now in the ledger, a mapping saved since."""
    from mom.engines.devices import mapping as M

    rows = [u for u in C.unknown(conn) if _aware(u["last_seen"]) >= now - RECENT_UNKNOWN]
    if not rows:
        return []
    mf = F.pack_form(conn, forms, F.MAPPING)
    maps: dict[str, Any] = {}
    if mf is not None:
        t = mf.main
        for code, pattern, updated in conn.execute(sa.select(t.c.code, t.c.topic_pattern, t.c.updated_at).where(
                t.c.deleted_at.is_(None), t.c.active.is_(True))):
            maps[str(code)] = (M.topic_regex(str(pattern)) if not M.topic_problem(str(pattern)) else None, updated)
    codes = {str(k).partition(":")[2] for k in (u["key"] for u in rows) if str(k).startswith("machine:")}
    mt = forms.get(conn, "machine").main
    known = set(conn.execute(sa.select(mt.c.code).where(mt.c.code.in_(codes), mt.c.deleted_at.is_(None))).scalars()) if codes else set()
    out = []
    for u in rows:
        kind, _, what = str(u["key"]).partition(":")
        if kind == "topic" and any(rx is not None and rx.match(what) for rx, _ in maps.values()):
            continue
        if kind == "machine" and what in known:
            continue
        if kind == "mapping" and (what not in maps or (maps[what][1] is not None and _aware(maps[what][1]) > _aware(u["last_seen"]))):
            continue
        out.append(u)
    return out


def _aware(v: dt.datetime) -> dt.datetime:
    return v if v.tzinfo else v.replace(tzinfo=dt.timezone.utc)
