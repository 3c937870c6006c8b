"""瓶颈分析 / bottlenecks (issue 23, item 4): which machine limits the plant, measured and planned.

Per machine and per line (work centre):

- **measured, over a past period** (the OEE reader, docs/oee.md): 利用率 utilisation = loaded time / available
  time, where loaded = running + setup (APT + AUST: the machine was taken by work) and available = planned busy
  time with a recorded state (PBT − no data, the denominator of availability); OEE, A / E / QR and the six big
  losses from the same tallies. Below 80 % (the seed's threshold) is marked 「利用率低于 80%」.
- **planned, over the next ``days``** (the plan in force, written on the tasks by the scheduler): 负荷 load =
  planned working minutes / working minutes of the machine's calendar (downtime taken off), the queue in front
  of it (tasks waiting, and their minutes), and the machine's minutes on the **critical chain** of the late
  orders (else of the order that finishes last).

The limiting machine (瓶颈设备) is the one with the most minutes on those critical chains; ties go to the
higher load. A critical chain is walked back from an order's last operation: each operation waited for the
later of its predecessor in the order and the job before it on its machine (docs/oee.md, 「瓶颈分析」:
Goldratt's constraint; the shifting-bottleneck view of Roser et al. 2002 — the bottleneck is where the
delays start, and it moves).

Reads only; machines the caller may read (the OEE reader's rule), tasks only when they may read tasks.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.engine import Connection

from mom.engines.oee import reader, report
from mom.engines.oee.timemodel import LOSSES, Tally, kpis
from mom.engines.production import planning
from mom.engines.production.whatif import current_plan
from mom.engines.records.access import form_access
from mom.engines.records.context import Ctx
from mom.engines.scheduling import calendar as cal
from mom.engines.scheduling import problem as P
from mom.engines.scheduling.model import Problem as Prob
from mom.platform.errors import InvalidInput, Problem

THRESHOLD = 0.8             # the seed: 设备利用率低于 80%
DEFAULT_DAYS, MAX_DAYS = 14, 60


def check_days(days: int) -> int:
    if not 1 <= days <= MAX_DAYS:
        zh, en = f"展望天数应在 1 到 {MAX_DAYS} 之间", f"days must be between 1 and {MAX_DAYS}"
        raise InvalidInput(zh, en, problems=[Problem("/days", zh, en, "range")])
    return days


# ---------------------------------------------------------------- the plan: load and critical chains

def _working(windows: cal.Windows | None, start: int, end: int) -> int:
    return cal.working_between(windows, max(0, start), max(0, end)) if end > start else 0


def plan_figures(prob: Prob, rows: Iterable[Mapping[str, Any]], horizon: int) -> dict[str, dict[str, Any]]:
    """Per resource of ``prob``: planned and available working minutes over [0, horizon), the load, and the
    minutes on the critical chains of the late orders (else of the last one) in schedule ``rows``
    ({order, operation, resource, start, end}, minutes from the origin)."""
    while prob.horizon < horizon and prob.grow():     # calendars expanded as far as the horizon
        pass
    win = {r.id: r.windows for r in prob.resources}
    out = {r.id: {"planned_min": 0, "available_min": _working(r.windows, 0, horizon), "critical_min": 0}
           for r in prob.resources}
    rows = [r for r in rows if r["resource"] in out]
    for r in rows:
        out[r["resource"]]["planned_min"] += _working(win[r["resource"]], r["start"], min(r["end"], horizon))
    for res, f in out.items():
        f["load"] = round(f["planned_min"] / f["available_min"], 4) if f["available_min"] else None
    for r in critical_chain(prob, rows):
        out[r["resource"]]["critical_min"] += _working(win[r["resource"]], r["start"], r["end"])
    return out


def critical_chain(prob: Prob, rows: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The operations (rows) on the critical chains of the late orders — or, none late, of the order that
    ends last: from each one's last operation back, always to the later-ending of its predecessors in the
    order and the job before it on its machine."""
    by_key = {(r["order"], r["operation"]): r for r in rows}
    on_res: dict[str, list[Mapping[str, Any]]] = {}
    for r in sorted(rows, key=lambda r: (r["start"], r["end"])):
        on_res.setdefault(r["resource"], []).append(r)
    late, ends = late_orders(prob, rows)
    targets = late or ([max(ends, key=lambda o: (ends[o], o))] if ends else [])
    preds: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for op in prob.ops:
        preds[(op.order_id, op.id)] = [(prob.ops[p].order_id, prob.ops[p].id) for p in op.preds]
    chain: dict[int, Mapping[str, Any]] = {}
    for o in targets:
        cur = max((r for r in rows if r["order"] == o), key=lambda r: r["end"])
        while cur is not None and id(cur) not in chain:
            chain[id(cur)] = cur
            cands = [by_key[k] for k in preds.get((cur["order"], cur["operation"]), []) if k in by_key]
            mine = on_res[cur["resource"]]
            before = [r for r in mine if r["start"] < cur["start"] and r is not cur]
            if before:
                cands.append(before[-1])
            cands = [c for c in cands if c["start"] < cur["start"]]
            cur = max(cands, key=lambda c: c["end"]) if cands else None
    return list(chain.values())


def late_orders(prob: Prob, rows: Iterable[Mapping[str, Any]]) -> tuple[list[str], dict[str, int]]:
    """The orders of schedule ``rows`` that end after their due (sorted), and every order's end minute."""
    ends: dict[str, int] = {}
    for r in rows:
        ends[r["order"]] = max(ends.get(r["order"], 0), r["end"])
    due = {o.id: o.due for o in prob.orders}
    return sorted(o for o, end in ends.items() if due.get(o) is not None and end > due[o]), ends


def limiting(figures: Mapping[str, Mapping[str, Any]], among: Iterable[str]) -> str | None:
    """The machine with the most minutes on the critical chains (ties: the higher load); None without a plan."""
    pool = [c for c in among if c in figures and figures[c]["planned_min"] > 0]
    if not pool:
        return None
    return max(pool, key=lambda c: (figures[c]["critical_min"], figures[c]["load"] or 0, c))


def _plan(conn: Connection, forms: Any, ctx: Ctx, days: int) -> dict[str, Any]:
    """The plan in force over the next ``days``: figures per machine code, the queue, notes."""
    if not form_access(forms.get(conn, planning.TASK_FORM), ctx.actor).can("read"):
        return {"figures": {}, "queue": {}, "note": {"zh-CN": "你无权查看工序任务：不显示计划负荷", "en": "you may not read tasks: no planned load"}}
    try:
        problem, index = planning.build_problem(conn, forms, now=ctx.now, tz=ctx.tz, horizon_days=days)
    except InvalidInput as e:
        return {"figures": {}, "queue": {}, "note": {"zh-CN": e.zh, "en": e.en}}
    prob = P.load(problem)
    rows = current_plan(problem, index)
    figures = plan_figures(prob, rows, days * 1440)
    queue: dict[str, dict[str, int]] = {}
    code_of = {mid: code for code, mid in index.machines.items()}
    for o in problem["orders"]:
        for op in o["operations"]:
            ref = index.tasks[(o["id"], op["id"])]
            durations = {m["resource"]: m["duration"] for m in op["modes"]}
            where = code_of.get(ref.machine) if code_of.get(ref.machine) in durations else op["modes"][0]["resource"]
            q = queue.setdefault(where, {"tasks": 0, "minutes": 0, "running": 0})
            if ref.running:
                q["running"] += 1
            else:
                q["tasks"] += 1
                q["minutes"] += int(durations[where])
    planned = len(rows)
    total = sum(len(o["operations"]) for o in problem["orders"])
    note = None
    if planned == 0:
        note = {"zh-CN": "还没有排程：负荷和瓶颈设备在排程后显示（在排程看板排程，或运行 mom schedule plan）",
                "en": "nothing is planned yet: load and the limiting machine show once the plan is made (schedule board, or mom schedule plan)"}
    elif planned < total:
        note = {"zh-CN": f"有 {total - planned} 道工序还没有排程：负荷只算已排程的 {planned} 道",
                "en": f"{total - planned} operations are not planned yet: the load counts the {planned} planned ones"}
    return {"figures": figures, "queue": queue, "note": note, "origin": index.origin,
            "late": late_orders(prob, rows)[0]}


# ---------------------------------------------------------------- the view

def _measured(t: Tally) -> dict[str, Any]:
    k = kpis(t)
    time = k["time"]
    busy = time["apt_s"] + time["aust_s"]
    util = busy / time["known_s"] if time["known_s"] > 0 else None
    losses = {c: round(v, 3) for c, v in k["losses_s"].items()}
    top = max(LOSSES, key=lambda c: losses[c])
    return {"available_s": time["known_s"], "busy_s": busy, "utilisation": util, "oee": k["oee"],
            "availability": k["availability"], "effectiveness": k["effectiveness"], "quality_rate": k["quality_rate"],
            "setup_rate": k["setup_rate"], "losses_s": losses,
            "top_loss": ({"category": top, "label": {"zh-CN": report.LOSS_LABELS[top][0], "en": report.LOSS_LABELS[top][1]},
                          "seconds": losses[top]} if losses[top] > 0 else None),
            "flags": k["flags"]}


MARKS = {"limiting": ("瓶颈设备：决定迟交订单完工的关键链上占用时间最多", "limiting machine: the most time on the critical chain of the late orders"),
         "top_load": ("计划负荷最高", "highest planned load"),
         "overloaded": ("计划负荷超过 100%：排不下", "planned load above 100 %: more work than time"),
         "low_utilisation": ("利用率低于 80%：先看损失", "utilisation below 80 %: look at the losses first")}


def _mark(code: str) -> dict[str, Any]:
    """A mark in words: ``label`` the short words before the colon, ``zh-CN`` / ``en`` the whole sentence."""
    zh, en = MARKS[code]
    return {"code": code, "zh-CN": zh, "en": en, "label": {"zh-CN": zh.split("：")[0], "en": en.split(":")[0]}}


def analyse(conn: Connection, forms: Any, ctx: Ctx, start: dt.datetime, end: dt.datetime, *,
            line: str | None = None, days: int = DEFAULT_DAYS) -> dict[str, Any]:
    """The bottleneck view: ``machines`` and ``lines`` with measured utilisation / OEE / losses over
    [start, end) and planned load / queue / critical minutes over the next ``days``; ``limiting`` (the
    machine that limits the schedule, or None), ``suggestions`` (what-ifs to try) and ``notes``."""
    check_days(days)
    scope = reader.read(conn, forms, ctx, start, end, line=line)
    plan = _plan(conn, forms, ctx, days)
    figures, queue = plan["figures"], plan["queue"]
    machines = []
    for m in sorted(scope.machines.values(), key=lambda m: m.code):
        total = Tally()
        for t in m.tallies.values():
            total += t
        ln = scope.lines.get(m.line) if m.line is not None else None
        f = figures.get(m.code)
        machines.append({"machine": m.id, "machine_code": m.code, "machine_name": m.name,
                         "line_code": ln[0] if ln else None, "line_name": ln[1] if ln else None, **_measured(total),
                         "plan": dict(f) if f else None,
                         "queue": queue.get(m.code, {"tasks": 0, "minutes": 0, "running": 0}), "marks": []})
    codes = [r["machine_code"] for r in machines]
    limit = limiting(figures, codes)
    loads = [r for r in machines if r["plan"] and r["plan"]["load"] is not None and r["plan"]["planned_min"] > 0]
    top = max(loads, key=lambda r: (r["plan"]["load"], r["machine_code"]))["machine_code"] if loads else None
    for r in machines:
        if r["machine_code"] == limit:
            r["marks"].append(_mark("limiting"))
        if r["machine_code"] == top:
            r["marks"].append(_mark("top_load"))
        if r["plan"] and (r["plan"]["load"] or 0) > 1:
            r["marks"].append(_mark("overloaded"))
        if r["utilisation"] is not None and r["utilisation"] < THRESHOLD:
            r["marks"].append(_mark("low_utilisation"))
    lim_row = next((r for r in machines if r["machine_code"] == limit), None)
    return {"from": start.isoformat(), "to": scope.end.isoformat(), "days": days, "threshold": THRESHOLD,
            "machines": machines, "lines": _lines(scope, machines),
            "limiting": _limiting_text(lim_row, plan.get("late", [])) if lim_row else None,
            "top_load": top, "suggestions": suggestions(lim_row) if lim_row else [],
            "notes": [n for n in (plan.get("note"),) if n]}


def _lines(scope: reader.Scope, machines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for key, t in sorted(report.grouped(scope, "line").items(), key=lambda kv: str(kv[0][0])):
        ln = scope.lines.get(key[0]) if key[0] is not None else None
        mine = [r for r in machines if r["line_code"] == (ln[0] if ln else None)]
        planned = sum(r["plan"]["planned_min"] for r in mine if r["plan"])
        avail = sum(r["plan"]["available_min"] for r in mine if r["plan"])
        out.append({"line_code": ln[0] if ln else None, "line_name": ln[1] if ln else "未分配产线 / no line",
                    "machines": len(mine), **{k: v for k, v in _measured(t).items() if k != "flags"},
                    "plan_load": round(planned / avail, 4) if avail else None})
    return out


def _limiting_text(r: Mapping[str, Any], late: list[str]) -> dict[str, Any]:
    p = r["plan"]
    load = f"{p['load'] * 100:.0f}%" if p["load"] is not None else "—"
    crit_h = p["critical_min"] / 60
    who_zh = f"迟交订单 {len(late)} 个" if late else "最后完工的订单"
    who_en = f"{len(late)} late orders" if late else "the order that finishes last"
    return {"machine_code": r["machine_code"], "machine_name": r["machine_name"], "load": p["load"],
            "critical_min": p["critical_min"],
            "reason": {"zh-CN": f"设备「{r['machine_name']}」（{r['machine_code']}）：计划负荷 {load}，{who_zh}的关键链上占用 {crit_h:.1f} 小时",
                       "en": f"machine {r['machine_code']}: planned load {load}, {crit_h:.1f} h on the critical chain of {who_en}"}}


def suggestions(r: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What to try on the limiting machine (each a what-if the scheduler computes), the likeliest first."""
    out = []
    load = (r.get("plan") or {}).get("load") or 0
    setup_rate = r.get("setup_rate") or 0
    out.append({"kind": "extra_shift", "label": {"zh-CN": "加一个班", "en": "Add a shift"},
                "why": {"zh-CN": f"计划负荷 {load * 100:.0f}%：加班增加这台设备的可用时间",
                        "en": f"planned load {load * 100:.0f} %: a shift adds time on this machine"}})
    out.append({"kind": "alternative", "label": {"zh-CN": "改用替代设备", "en": "Use an alternative machine"},
                "why": {"zh-CN": "让它的工序也能在同一工作中心的其他设备上做", "en": "let its operations run on the other machines of its work centre"}})
    out.append({"kind": "shorter_setups", "label": {"zh-CN": "缩短换型", "en": "Shorter setups"},
                "why": {"zh-CN": f"换型占 {setup_rate * 100:.0f}% 的时间：快速换模（SMED）缩短换型",
                        "en": f"setups take {setup_rate * 100:.0f} % of the time: quick changeover (SMED)"}})
    if setup_rate > 0.1:
        out.insert(0, out.pop())
    return out
