"""Machine health (设备健康度, issue 23): a score from 0 to 100 per machine, 100 less what weighs on it:

=============================================  ==========================================
open drift alarm (EWMA / CUSUM, not cleared)   −20 each, at most −40
open limit alarm (high / low, not cleared)     −10 each, at most −20
vibration RMS (ISO 10816-1 Annex B zones, the  zone B −5, zone C −25, zone D −45
mapping's machine class; latest in 24 h)
breakdowns (repair orders reported, 30 days)   −10 each, at most −30
=============================================  ==========================================

Bands: ≥ 80 良好 good, 50–79 注意 watch, < 50 劣化 poor — but a machine with an open drift alarm is at best
注意 (a drift is the early warning condition monitoring exists for: 「80 · 良好」 beside it would hide it). Each
answer lists its reasons in words.

Every part follows the reader's permissions: alarms only for readers of 设备报警 (needed to ask at all),
vibration for readers of 工艺参数, breakdowns for readers of 维修保养工单 — a part the reader may not read
is left out of their score (the condition-based PM reads as the system, with every part).
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.devices import forms as F
from mom.engines.devices import vibration as V
from mom.engines.maintenance import pack as MK
from mom.engines.records.access import form_access, refusal
from mom.engines.records.context import Actor

DRIFT, LIMIT, BREAKDOWN = (20, 40), (10, 20), (10, 30)
ZONE_PENALTY = {"A": 0, "B": 5, "C": 25, "D": 45}
BREAKDOWN_DAYS, VIBRATION_HOURS = 30, 24
MAX_MACHINES = 5000
BANDS = (("good", 80, "良好", "good"), ("watch", 50, "注意", "watch"), ("poor", 0, "劣化", "poor"))
SYSTEM = Actor(id=None, username="system", is_admin=True)


def _readable(conn: Connection, compiled: Any, actor: Actor) -> Any:
    access = form_access(compiled, actor)
    if not access.can("read") or not actor.reads_form(compiled.name):
        return None
    return access


def _scoped(q: Any, access: Any) -> Any:
    scope = access.scope("read")
    return q.where(scope) if scope is not None else q


def band(score: int, drifting: bool = False) -> dict[str, Any]:
    """The score's band; ``drifting`` (an open drift alarm): at best 注意 watch."""
    for key, floor, zh, en in BANDS[1:] if drifting else BANDS:
        if score >= floor:
            return {"band": key, "band_label": {"zh-CN": zh, "en": en}}
    return {"band": "poor", "band_label": {"zh-CN": "劣化", "en": "poor"}}


def _alarms(conn: Connection, forms: Any, actor: Actor, machines: list[int] | None) -> dict[int, dict[str, int]]:
    compiled = F.require(conn, forms, F.ALARM)
    access = form_access(compiled, actor)
    access.require("read")
    if not actor.reads_form(F.ALARM):
        raise refusal(F.ALARM, access.label, "read")
    t = compiled.main
    q = sa.select(t.c.machine, t.c.kind, sa.func.count()).where(t.c.deleted_at.is_(None), t.c.cleared_at.is_(None))
    if machines is not None:
        q = q.where(t.c.machine.in_(machines))
    out: dict[int, dict[str, int]] = defaultdict(dict)
    for m, kind, n in conn.execute(_scoped(q, access).group_by(t.c.machine, t.c.kind)):
        out[int(m)][str(kind)] = int(n)
    return out


def _vibration(conn: Connection, forms: Any, actor: Actor, machines: list[int] | None, now: dt.datetime
               ) -> dict[int, list[tuple[str, float, str, str]]]:
    """Per machine: (feature tag, latest RMS, ISO class, zone) of the mappings with an ISO 10816 class."""
    mf, vf = F.pack_form(conn, forms, F.MAPPING), F.pack_form(conn, forms, F.VALUE)
    if mf is None or vf is None or mf.definition.field("iso_class") is None:
        return {}
    access = _readable(conn, vf, actor)
    if access is None:
        return {}
    m = mf.main
    classes: dict[str, str] = {}
    for tag, cls in conn.execute(sa.select(m.c.waveform_tag, m.c.iso_class).where(
            m.c.deleted_at.is_(None), m.c.active.is_(True), m.c.waveform_expr.is_not(None), m.c.iso_class.is_not(None))):
        classes[f"{tag or 'vib'}_rms"] = str(cls)
    if not classes:
        return {}
    t = vf.main
    latest = (sa.select(t.c.machine, t.c.tag, sa.func.max(t.c.bucket_start).label("at"))
              .where(t.c.deleted_at.is_(None), t.c.tag.in_(sorted(classes)), t.c.bucket_start >= now - dt.timedelta(hours=VIBRATION_HOURS)))
    if machines is not None:
        latest = latest.where(t.c.machine.in_(machines))
    latest = _scoped(latest, access).group_by(t.c.machine, t.c.tag).subquery()
    q = sa.select(t.c.machine, t.c.tag, t.c["last"]).join(latest, sa.and_(
        t.c.machine == latest.c.machine, t.c.tag == latest.c.tag, t.c.bucket_start == latest.c.at)).where(t.c.deleted_at.is_(None))
    out: dict[int, list[tuple[str, float, str, str]]] = defaultdict(list)
    for mid, tag, last in conn.execute(q):
        if last is None or classes.get(str(tag)) not in V.ISO_10816:
            continue
        cls = classes[str(tag)]
        out[int(mid)].append((str(tag), float(last), cls, V.zone(float(last), cls)))
    return out


def _breakdowns(conn: Connection, forms: Any, actor: Actor, machines: list[int] | None, now: dt.datetime) -> dict[int, int] | None:
    compiled = MK.pack_form(conn, forms, MK.ORDER)
    access = _readable(conn, compiled, actor) if compiled is not None else None
    if access is None:
        return None
    t = compiled.main  # type: ignore[union-attr]
    q = sa.select(t.c.machine, sa.func.count()).where(t.c.deleted_at.is_(None), t.c.kind == "repair", t.c.status != "cancelled",
                                                      t.c.reported_at >= now - dt.timedelta(days=BREAKDOWN_DAYS))
    if machines is not None:
        q = q.where(t.c.machine.in_(machines))
    return {int(m): int(n) for m, n in conn.execute(_scoped(q, access).group_by(t.c.machine)) if m is not None}


def scores(conn: Connection, forms: Any, actor: Actor, now: dt.datetime, machines: list[int] | None = None
           ) -> dict[int, dict[str, Any]]:
    """Health of ``machines`` (None: every machine with device data or repair orders the reader may see)."""
    alarms = _alarms(conn, forms, actor, machines)
    vib = _vibration(conn, forms, actor, machines, now)
    broken = _breakdowns(conn, forms, actor, machines, now)
    ids = set(machines) if machines is not None else set(alarms) | set(vib) | set(broken or {})
    out: dict[int, dict[str, Any]] = {}
    for mid in sorted(ids)[:MAX_MACHINES]:
        reasons: list[dict[str, Any]] = []
        a = alarms.get(mid, {})
        drift = a.get("drift", 0) + a.get("trend", 0)
        limit = a.get("high", 0) + a.get("low", 0)
        if drift:
            reasons.append(_reason("drift", -min(drift * DRIFT[0], DRIFT[1]), f"{drift} 条漂移报警未恢复",
                                   f"{drift} drift alarm(s) not cleared"))
        if limit:
            reasons.append(_reason("limit", -min(limit * LIMIT[0], LIMIT[1]), f"{limit} 条超限报警未恢复",
                                   f"{limit} limit alarm(s) not cleared"))
        for tag, rms, cls, zone in vib.get(mid, []):
            if ZONE_PENALTY[zone]:
                reasons.append(_reason("vibration", -ZONE_PENALTY[zone], f"振动 {tag} = {rms:.3g}：ISO 10816 {cls} 类 {V.ZONE_ZH[zone]}",
                                       f"vibration {tag} = {rms:.3g}: ISO 10816 class {cls} zone {zone}"))
        n = (broken or {}).get(mid, 0)
        if n:
            reasons.append(_reason("breakdowns", -min(n * BREAKDOWN[0], BREAKDOWN[1]), f"近 {BREAKDOWN_DAYS} 天 {n} 次故障维修",
                                   f"{n} breakdown repair(s) in {BREAKDOWN_DAYS} days"))
        score = max(0, 100 + sum(r["points"] for r in reasons))
        out[mid] = {"machine": mid, "score": score, **band(score, drifting=bool(drift)), "reasons": reasons,
                    "breakdowns_counted": broken is not None}
    return out


def _reason(kind: str, points: int, zh: str, en: str) -> dict[str, Any]:
    return {"kind": kind, "points": points, "text": {"zh-CN": zh, "en": en}}


def drift_tags(conn: Connection, forms: Any, machines: list[int]) -> dict[int, set[str]]:
    """The tags with an open drift alarm per machine (for condition-based PM; read as the system)."""
    compiled = F.pack_form(conn, forms, F.ALARM)
    if compiled is None or not machines:
        return {}
    t = compiled.main
    out: dict[int, set[str]] = defaultdict(set)
    for m, tag in conn.execute(sa.select(t.c.machine, t.c.tag).where(
            t.c.deleted_at.is_(None), t.c.cleared_at.is_(None), t.c.kind == "drift", t.c.machine.in_(machines))):
        out[int(m)].add(str(tag))
    return out


def condition(conn: Connection, forms: Any, machines: list[int], now: dt.datetime) -> dict[int, tuple[int, set[str]]]:
    """What a condition-based PM plan reads per machine: (health score, tags with an open drift alarm)."""
    got = scores(conn, forms, SYSTEM, now, machines)
    tags = drift_tags(conn, forms, machines)
    return {m: (got[m]["score"], tags.get(m, set())) for m in machines}

