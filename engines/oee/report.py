"""OEE rows grouped per machine / line / shift / day, the six big losses with their stop reasons, and
reliability (MTBF / MTTR) from the maintenance engine when its forms are installed."""
from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.devices import forms as dforms
from mom.engines.maintenance import reliability as maintenance_reliability
from mom.engines.oee import reader, summary
from mom.engines.oee.timemodel import LOSSES, STOP_LOSS, Tally, kpis
from mom.engines.records.context import Ctx
from mom.platform.errors import InvalidInput, Problem

GROUPS = ("machine", "line", "shift", "day")
LOSS_LABELS = {"breakdown": ("设备故障", "Breakdown"), "setup": ("换型调整", "Setup and adjustment"),
               "minor_stop": ("小停机空转", "Minor stops and idling"), "reduced_speed": ("速度降低", "Reduced speed"),
               "startup_reject": ("启动废品", "Start-up rejects"), "production_reject": ("生产废品", "Production rejects")}
STATE_LABELS = {"running": ("运行", "Running"), "idle": ("待机", "Idle"), "down": ("停机", "Down"),
                "setup": ("换型调试", "Setup"), "planned_stop": ("计划停机", "Planned stop")}


def _group_key(group: str, m: reader.Machine, day: str, shift: str) -> tuple[Any, ...]:
    if group == "machine":
        return (m.id,)
    if group == "line":
        return (m.line,)
    if group == "shift":
        return (day, shift)
    return (day,)


def _label(group: str, key: tuple[Any, ...], scope: reader.Scope) -> dict[str, Any]:
    if group == "machine":
        m = scope.machines[key[0]]
        line = scope.lines.get(m.line) if m.line is not None else None
        return {"machine": m.id, "machine_code": m.code, "machine_name": m.name,
                "line_code": line[0] if line else None, "line_name": line[1] if line else None}
    if group == "line":
        line = scope.lines.get(key[0]) if key[0] is not None else None
        return {"line": key[0], "line_code": line[0] if line else None,
                "line_name": line[1] if line else "未分配产线 / no line"}
    if group == "shift":
        return {"day": key[0], "shift": key[1]}
    return {"day": key[0]}


def check_group(group: str) -> str:
    if group not in GROUPS:
        raise InvalidInput(f"分组方式「{group[:20]}」无效：可选 machine 设备、line 产线、shift 班次、day 日",
                           f"group {group[:20]!r} is invalid: machine, line, shift or day",
                           problems=[Problem("/group", "分组方式无效", "invalid group")])
    return group


def grouped(scope: reader.Scope, group: str) -> dict[tuple[Any, ...], Tally]:
    out: dict[tuple[Any, ...], Tally] = {}
    for m in scope.machines.values():
        if group in ("machine", "line"):
            out.setdefault(_group_key(group, m, "", ""), Tally())
        for (day, shift), t in m.tallies.items():
            key = _group_key(group, m, day, shift)
            out.setdefault(key, Tally())
            out[key] += t
    return out


def rows(conn: Connection, forms: Any, ctx: Ctx, start: dt.datetime, end: dt.datetime, *, group: str = "machine",
         machine: str | None = None, line: str | None = None) -> dict[str, Any]:
    """OEE per group over [start, end): the time model (seconds), A / E / QR / OEE, losses, flags, and a total."""
    check_group(group)
    scope = summary.read(conn, forms, ctx, start, end, machine=machine, line=line)
    groups = grouped(scope, group)
    out = []
    for key in sorted(groups, key=lambda k: tuple("" if x is None else str(x) for x in k)):
        out.append({**_label(group, key, scope), **_public(kpis(groups[key]))})
    if group == "machine" and scope.machines:
        rel = reliability(conn, forms, list(scope.machines), start, scope.end)
        for r in out:
            if r["machine"] in rel:
                r["reliability"] = rel[r["machine"]]
    total = Tally()
    for t in groups.values():
        total += t
    return {"from": start.isoformat(), "to": scope.end.isoformat(), "group": group, "rows": out,
            "total": _public(kpis(total))}


def _public(k: dict[str, Any]) -> dict[str, Any]:
    return {**k, "losses_s": {key: round(v, 3) for key, v in k["losses_s"].items()}}


def reliability(conn: Connection, forms: Any, ids: list[int], start: dt.datetime, end: dt.datetime) -> dict[int, Any]:
    """MTBF / MTTR per machine from the maintenance engine (contract ``reliability.mtbf_mttr``) when the
    maintenance forms are installed; else nothing."""
    got = getattr(forms, "get_many", None)
    if got is None or "maintenance_order" not in got(conn, ["maintenance_order"]):
        return {}
    return {int(k): v for k, v in maintenance_reliability.mtbf_mttr(conn, forms, ids, start, end).items()}


def losses(conn: Connection, forms: Any, ctx: Ctx, start: dt.datetime, end: dt.datetime, *,
           machine: str | None = None, line: str | None = None) -> dict[str, Any]:
    """The six big losses (seconds, largest first) and the stop reasons behind the stops (a Pareto), with
    unexplained stops (no reason given) per state."""
    scope = summary.read(conn, forms, ctx, start, end, machine=machine, line=line)
    total = Tally()
    for m in scope.machines.values():
        for t in m.tallies.values():
            total += t
    k = kpis(total)
    six = sorted(({"category": c, "label": {"zh-CN": LOSS_LABELS[c][0], "en": LOSS_LABELS[c][1]},
                   "seconds": round(k["losses_s"][c], 3)} for c in LOSSES), key=lambda x: -x["seconds"])
    reasons = _reason_rows(conn, forms, {r for (_s, r) in scope.stops if r is not None})
    pareto = []
    for (state, rid), secs in scope.stops.items():
        if state == "planned_stop":
            continue
        if rid is None:
            zh, en = STATE_LABELS.get(state, (state, state))
            pareto.append({"reason": None, "code": None, "label": {"zh-CN": f"未说明的{zh}", "en": f"unexplained {en.lower()}"},
                           "category": STOP_LOSS.get(state), "state": state, "seconds": round(secs, 3)})
        else:
            r = reasons.get(rid, {})
            pareto.append({"reason": rid, "code": r.get("code"), "label": {"zh-CN": r.get("name") or r.get("code") or str(rid),
                                                                           "en": r.get("code") or str(rid)},
                           "category": r.get("loss_category"), "state": state, "seconds": round(secs, 3)})
    pareto.sort(key=lambda x: -x["seconds"])
    whole = sum(p["seconds"] for p in pareto)
    acc = 0.0
    for p in pareto:
        acc += p["seconds"]
        p["cumulative"] = acc / whole if whole else None
    return {"from": start.isoformat(), "to": scope.end.isoformat(), "losses": six, "reasons": pareto[:200],
            "time": k["time"], "oee": k["oee"]}


def _reason_rows(conn: Connection, forms: Any, ids: set[int]) -> dict[int, dict[str, Any]]:
    f = dforms.pack_form(conn, forms, dforms.REASON)
    if f is None or not ids:
        return {}
    t = f.main
    return {r["id"]: dict(r) for r in conn.execute(sa.select(t.c.id, t.c.code, t.c.name, t.c.loss_category)
                                                   .where(t.c.id.in_(sorted(ids)))).mappings()}
