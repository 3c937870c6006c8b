"""What-ifs on a bottleneck, computed by the scheduler (issue 23, item 4): 加一个班 / 改用替代设备 / 缩短换型.

The plant's problem is built from the database exactly as planning does (:func:`planning.build_problem`), then
solved twice in the same call with the same limits — as it is (the base) and with one change on one machine:

- ``extra_shift`` {hours = 8}: the machine's calendar gets one more shift each working day, right after its
  last shift (as long as the gap to the next day's first shift allows);
- ``alternative`` {machines?}: its operations may also run on the other machines of its work centre (or on the
  machines named), at the time they take on it; the routing's own alternatives are in the base already;
- ``shorter_setups`` {percent = 50}: its setups (the changeover between families and the setup minutes
  kept in an operation's duration) are that much shorter (quick changeover, SMED).

Each answer compares late orders, total lateness and makespan before and after. Deterministic solver work
(clock.py) makes the two solves comparable and reproducible; nothing is written (a read transaction).
"""
from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mom.engines.oee import bottleneck, reader
from mom.engines.production import planning
from mom.engines.production.calendars import calendar_of, read_calendars
from mom.engines.production.changeovers import FAMILY, UNKNOWN, breakdown_hours, unavailable_minutes
from mom.engines.production.whatif import require_planner
from mom.engines.records.context import Ctx
from mom.engines.scheduling import solution, solver
from mom.platform.db.engine import read_tx
from mom.platform.errors import InvalidInput, Problem

KINDS = {"extra_shift": ("加一个班", "an extra shift"), "alternative": ("改用替代设备", "an alternative machine"),
         "shorter_setups": ("缩短换型", "shorter setups")}
#: the parameters each kind takes (anything else is refused, not ignored)
PARAMETERS = {"extra_shift": ("hours",), "alternative": ("machines",), "shorter_setups": ("percent",)}
PARAMETER_ZH = {"hours": "加班小时数", "machines": "替代设备编码列表", "percent": "换型缩短的百分比"}
MAX_ORDERS, MAX_OPERATIONS = 200, 2000
DEFAULT_SECONDS = 3.0


def _bad(path: str, zh: str, en: str) -> InvalidInput:
    return InvalidInput(zh, en, problems=[Problem(path, zh, en)])


def _number(params: Mapping[str, Any], key: str, default: float, lo: float, hi: float, zh: str, en: str) -> float:
    v = params.get(key, default)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not lo <= v <= hi:
        raise _bad(f"/parameters/{key}", f"{zh}应为 {lo:g} 到 {hi:g} 之间的数", f"{en} must be a number from {lo:g} to {hi:g}")
    return float(v)


def check(machine: Any, kind: Any, params: Any) -> tuple[str, str, dict[str, Any]]:
    """The request in words: machine code, kind, parameters (defaults filled in); refused in words."""
    if not isinstance(machine, str) or not machine.strip() or len(machine) > 64:
        raise _bad("/machine", "请给出设备编码", "give the machine (its code)")
    if kind not in KINDS:
        raise _bad("/kind", "模拟方式应为 extra_shift 加一个班、alternative 改用替代设备或 shorter_setups 缩短换型",
                   "kind must be extra_shift, alternative or shorter_setups")
    params = {} if params is None else params
    if not isinstance(params, dict):
        raise _bad("/parameters", "参数应为对象", "parameters must be an object")
    unknown = sorted(str(k)[:40] for k in params if k not in PARAMETERS[kind])[:5]
    if unknown:
        zh_kind, en_kind = KINDS[kind]
        allowed = PARAMETERS[kind][0]
        raise _bad("/parameters", f"「{zh_kind}」不认识参数 {'、'.join(unknown)}：只能给 {allowed}（{PARAMETER_ZH[allowed]}）",
                   f"{en_kind} takes no parameter {', '.join(unknown)}: only {allowed}")
    out: dict[str, Any] = {}
    if kind == "extra_shift":
        out["hours"] = _number(params, "hours", 8, 1, 12, "加班小时数", "hours")
    elif kind == "shorter_setups":
        out["percent"] = _number(params, "percent", 50, 5, 90, "缩短的百分比", "percent")
    else:
        names = params.get("machines", [])
        if not isinstance(names, list) or len(names) > 20 or not all(isinstance(n, str) and 0 < len(n) <= 64 for n in names):
            raise _bad("/parameters/machines", "替代设备应为设备编码的列表（最多 20 台）", "machines must be a list of machine codes (at most 20)")
        out["machines"] = names
    return machine.strip(), str(kind), out


def run(engine: Engine, forms: Any, ctx: Ctx, *, machine: Any, kind: Any, parameters: Any = None,
        time_limit: float = DEFAULT_SECONDS, workers: int = 2, days: int = bottleneck.DEFAULT_DAYS) -> dict[str, Any]:
    """Solve the plant's problem as it is and with ``kind`` applied to ``machine``; the planner's (or an
    administrator's). Returns ``{machine, kind, parameters, change, before, after, effect, message}``."""
    require_planner(ctx)
    code, kind, params = check(machine, kind, parameters)
    with read_tx(engine) as conn:
        mrows, centres = reader.machines(conn, forms, ctx, machine=code)
        target = next(iter(mrows.values()))
        problem, index = planning.build_problem(conn, forms, now=ctx.now, tz=ctx.tz, horizon_days=days)
        _bounded(problem)
        if target["code"] not in index.machines:
            raise _bad("/machine", f"设备「{target['name'] or target['code']}」上没有待排程的工序：换一台设备模拟",
                       f"machine {target['code']} has no operation to plan: pick another machine")
        variant = copy.deepcopy(problem)
        if kind == "extra_shift":
            change = _extra_shift(variant, target, params["hours"])
        elif kind == "alternative":
            change = _alternative(conn, forms, ctx, variant, target, centres, params["machines"])
        else:
            change = _shorter_setups(conn, forms, variant, index, target, params["percent"])
    base = _solve(problem, time_limit, workers)
    after = _solve(variant, time_limit, workers)
    return _compare(index, target, kind, params, change, base, after)


def _bounded(problem: Mapping[str, Any]) -> None:
    n_orders = len(problem["orders"])
    n_ops = sum(len(o["operations"]) for o in problem["orders"])
    if n_orders > MAX_ORDERS or n_ops > MAX_OPERATIONS:
        raise _bad("/machine", f"已下达的工单有 {n_orders} 个、工序 {n_ops} 道：模拟最多 {MAX_ORDERS} 个工单、{MAX_OPERATIONS} 道工序，"
                   "请先完工或关闭部分工单，或用 mom schedule 对导出的问题做模拟",
                   f"{n_orders} released orders with {n_ops} operations: a what-if takes at most {MAX_ORDERS} orders and "
                   f"{MAX_OPERATIONS} operations")


def _solve(problem: dict[str, Any], time_limit: float, workers: int) -> tuple[dict[str, Any], Any]:
    res = solver.solve(problem, time_limit=time_limit, workers=workers, deterministic=True)
    return solution.to_json(res.problem, res.schedule, violations=res.violations), res.problem


def _hhmm(minute: int) -> str:
    return f"{minute // 60 % 24:02d}:{minute % 60:02d}"


def _minute(text: str) -> int:
    h, m = str(text).split(":")
    return int(h) * 60 + int(m)


def _extra_shift(problem: dict[str, Any], m: Mapping[str, Any], hours: float) -> dict[str, Any]:
    res = next(r for r in problem["resources"] if r["id"] == m["code"])
    name = m["name"] or m["code"]
    if res.get("calendar") is None:
        raise _bad("/kind", f"设备「{name}」没有工作日历，已按全天 24 小时排程：无法再加班", f"machine {m['code']} has no calendar and already works around the clock")
    spec = copy.deepcopy(problem["calendars"][res["calendar"]])
    spans = []
    for a, b in spec.get("shifts") or [["00:00", "24:00"]]:
        s, e = _minute(a), _minute(b)
        spans.append((s, e if e > s else e + 1440))
    last, first = max(e for _, e in spans), min(s for s, _ in spans)
    gap = first + 1440 - last
    if gap <= 0:
        raise _bad("/kind", f"设备「{name}」的日历已经是全天 24 小时：无法再加班", f"the calendar of machine {m['code']} already covers the whole day")
    length = int(min(hours * 60, gap))
    start, end = last % 1440, (last + length) % 1440
    shift = [_hhmm(start), "24:00" if end == 0 else _hhmm(end)]
    spec["shifts"] = [*(spec.get("shifts") or []), shift]
    spec["name"] = f"{spec.get('name') or res['calendar']} + 加班"
    new = f"{res['calendar']}+{m['code']}"
    problem["calendars"][new] = spec
    res["calendar"] = new
    h = length / 60
    return {"zh-CN": f"设备「{name}」每个工作日加一个班 {shift[0]}–{shift[1]}（{h:g} 小时）",
            "en": f"machine {m['code']}: one more shift each working day, {shift[0]}-{shift[1]} ({h:g} h)", "shift": shift}


def _alternative(conn: Any, forms: Any, ctx: Ctx, problem: dict[str, Any], m: Mapping[str, Any],
                 centres: Mapping[int, Mapping[str, Any]], names: list[str]) -> dict[str, Any]:
    """The other machines of its work centre (or ``names``) take its operations, at its times."""
    peers: dict[int, dict[str, Any]] = {}
    for n in names:
        try:
            peers.update(reader.machines(conn, forms, ctx, machine=n)[0])
        except InvalidInput:
            raise _bad("/parameters/machines", f"没有编码为「{n[:40]}」的设备，或你无权查看它",
                       f"there is no machine {n[:40]!r} you may read") from None
    if not names:
        centre = next((c for c in centres.values() if c["id"] == m["work_center"]), None)
        if centre is not None:
            peers = {k: v for k, v in reader.machines(conn, forms, ctx, line=str(centre["id"]))[0].items()}
    peers.pop(m["id"], None)
    added: dict[str, int] = {}
    for o in problem["orders"]:
        for op in o["operations"]:
            mine = next((x for x in op["modes"] if x["resource"] == m["code"]), None)
            if mine is None or "pinned" in op:
                continue
            have = {x["resource"] for x in op["modes"]}
            for p in peers.values():
                if p["code"] not in have:
                    op["modes"].append({"resource": p["code"], "duration": mine["duration"]})
                    added[p["code"]] = added.get(p["code"], 0) + 1
    name = m["name"] or m["code"]
    if not added:
        raise _bad("/kind", f"设备「{name}」的工序没有可增加的替代设备：工艺路线的替代设备已在排程中，同一工作中心也没有别的设备；"
                   "可指定替代设备（页面或接口的参数 machines，命令行 --machines CODE,CODE）",
                   f"machine {m['code']}: no alternative to add (the routing's alternatives are planned already and its "
                   "work centre has no other machine); name the alternative machines (parameter machines, --machines CODE,CODE)")
    _add_resources(conn, forms, problem, [p for p in peers.values() if p["code"] in added], centres)
    zh = "、".join(f"{c}（{n} 道工序）" for c, n in sorted(added.items()))
    en = ", ".join(f"{c} ({n} operations)" for c, n in sorted(added.items()))
    return {"zh-CN": f"设备「{name}」的工序也可以在 {zh} 上做", "en": f"the operations of {m['code']} may also run on {en}",
            "machines": sorted(added)}


def _add_resources(conn: Any, forms: Any, problem: dict[str, Any], machines: list[dict[str, Any]],
                   centres: Mapping[int, Mapping[str, Any]]) -> None:
    """Machines the plan did not use yet, as resources: their calendar, their breakdown, no family set up."""
    have = {r["id"] for r in problem["resources"]}
    new = [p for p in machines if p["code"] not in have]
    cals = read_calendars(conn, forms.get(conn, planning.CALENDAR_FORM),
                          sorted({c for p in new if (c := calendar_of(p, centres)) is not None}))
    status = _statuses(conn, forms, [p["id"] for p in new])
    for p in new:
        res: dict[str, Any] = {"id": p["code"], "name": p["name"] or p["code"]}
        cid = calendar_of(p, centres)
        if cid in cals:
            code, spec = cals[cid]
            problem["calendars"].setdefault(code, spec)
            res["calendar"] = code
        if (down := unavailable_minutes({"status": status.get(p["id"])}, breakdown_hours())) > 0:
            res["downtime"] = [[0, down]]
        if problem.get("setup_matrices"):
            res["initial"] = {FAMILY: UNKNOWN}
        problem["resources"].append(res)


def _statuses(conn: Any, forms: Any, ids: list[int]) -> dict[int, Any]:
    if not ids:
        return {}
    t = forms.get(conn, planning.MACHINE_FORM).main
    return {r[0]: r[1] for r in conn.execute(sa.select(t.c.id, t.c.status).where(t.c.id.in_(ids)))}


def _setups(conn: Any, forms: Any, task_ids: list[int], machine: int) -> dict[int, Decimal]:
    """Each task's setup minutes on ``machine``: its modes row for that machine, else its own."""
    f = forms.get(conn, planning.TASK_FORM)
    t = f.main
    out = {r[0]: Decimal(str(r[1] or 0)) for r in conn.execute(sa.select(t.c.id, t.c.setup_min).where(t.c.id.in_(task_ids)))}
    if "modes" in f.children:
        c = f.children["modes"]
        for pid, s in conn.execute(sa.select(c.c.parent_id, c.c.setup_min).where(c.c.parent_id.in_(task_ids), c.c.machine == machine)):
            if s is not None:
                out[pid] = Decimal(str(s))
    return out


def _shorter_setups(conn: Any, forms: Any, problem: dict[str, Any], index: planning.PlanIndex, m: Mapping[str, Any],
                    percent: float) -> dict[str, Any]:
    code, share = m["code"], Decimal(str(percent)) / 100
    ops = [(o, op) for o in problem["orders"] for op in o["operations"]
           if "pinned" not in op and any(x["resource"] == code for x in op["modes"])]
    setups = _setups(conn, forms, [index.tasks[(o["id"], op["id"])].id for o, op in ops], m["id"])
    matrix = (problem.get("setup_matrices") or {}).get(FAMILY)
    base = {r["to"]: r["time"] for r in matrix["rules"]} if matrix else {}
    saved = 0
    for o, op in ops:
        family = (op.get("attributes") or {}).get(FAMILY)
        setup = setups.get(index.tasks[(o["id"], op["id"])].id, Decimal(0))
        rest = max(Decimal(0), setup - base.get(family, 0)) if family is not None else setup
        cut = int(rest * share)
        mode = next(x for x in op["modes"] if x["resource"] == code)
        if cut > 0:
            mode["duration"] = max(1, mode["duration"] - cut)
            saved += cut
    if matrix:                 # the changeovers on this machine: its own copy of the family matrix, shortened
        key = f"{FAMILY}@{code}"
        problem["setup_matrices"][key] = {**matrix, "rules": [{**r, "time": int(round(r["time"] * (1 - float(share))))}
                                                              for r in matrix["rules"]]}
        for res in problem["resources"]:
            if res.get("kind", "machine") == "machine":
                res["setups"] = [key] if res["id"] == code else [s for s in res.get("setups", [FAMILY]) if s != key]
                if res["id"] == code and res.get("initial", {}).get(FAMILY):
                    res["initial"] = {key: res["initial"][FAMILY]}
        for _o, op in ops:
            if FAMILY in (op.get("attributes") or {}):
                op["attributes"][key] = op["attributes"][FAMILY]
    elif saved == 0:
        raise _bad("/kind", f"设备「{m['name'] or code}」的待排程工序没有换型时间：缩短换型没有作用",
                   f"the operations waiting for machine {code} have no setup time: shorter setups change nothing")
    p = f"{percent:g}"
    return {"zh-CN": f"设备「{m['name'] or code}」的换型缩短 {p}%", "en": f"setups on machine {code} {p} % shorter"}


def outcome(index: planning.PlanIndex, doc: Mapping[str, Any], prob: Any) -> dict[str, Any]:
    """Late orders, total lateness and makespan of one solve, and the machine that limits it."""
    s = planning.summary(index, doc)
    rows = doc.get("operations", [])
    figures = bottleneck.plan_figures(prob, rows, max([r["end"] for r in rows] + [1]))
    return {"feasible": s["feasible"], "late_orders": len(s["late_orders"]), "late": [x["order"] for x in s["late_orders"]],
            "total_late_minutes": sum(int(x["late_minutes"]) for x in s["late_orders"]),
            "makespan_minutes": s["makespan_minutes"], "makespan_at": s["makespan_at"],
            "limiting": bottleneck.limiting(figures, figures)}


def _days(minutes: int) -> tuple[str, str]:
    if minutes >= 1440:
        return f"{minutes / 1440:.1f} 天", f"{minutes / 1440:.1f} d"
    return f"{minutes / 60:.1f} 小时", f"{minutes / 60:.1f} h"


def _compare(index: planning.PlanIndex, m: Mapping[str, Any], kind: str, params: dict[str, Any], change: dict[str, Any],
             base: tuple[dict[str, Any], Any], after: tuple[dict[str, Any], Any]) -> dict[str, Any]:
    b, a = outcome(index, *base), outcome(index, *after)
    tz = index.origin.tzinfo
    end_b, end_a = (index.at(x["makespan_minutes"]).astimezone(tz).strftime("%m-%d %H:%M") for x in (b, a))
    lb, la = _days(b["total_late_minutes"]), _days(a["total_late_minutes"])
    zh = (f"{change['zh-CN']}：迟交订单 {b['late_orders']} → {a['late_orders']}，总延误 {lb[0]} → {la[0]}，"
          f"全部完工 {end_b} → {end_a}")
    en = (f"{change['en']}: late orders {b['late_orders']} → {a['late_orders']}, total lateness {lb[1]} → {la[1]}, "
          f"all done {end_b} → {end_a}")
    better = (a["late_orders"], a["total_late_minutes"], a["makespan_minutes"]) < \
             (b["late_orders"], b["total_late_minutes"], b["makespan_minutes"])
    return {"machine": m["code"], "machine_name": m["name"] or m["code"], "kind": kind,
            "label": {"zh-CN": KINDS[kind][0], "en": KINDS[kind][1]}, "parameters": params,
            "change": {k: v for k, v in change.items() if k not in ("zh-CN", "en")} | {"text": {"zh-CN": change["zh-CN"], "en": change["en"]}},
            "before": b, "after": a,
            "effect": {"late_orders": a["late_orders"] - b["late_orders"],
                       "total_late_minutes": a["total_late_minutes"] - b["total_late_minutes"],
                       "makespan_minutes": a["makespan_minutes"] - b["makespan_minutes"], "better": better},
            "no_longer_late": sorted(set(b["late"]) - set(a["late"])), "newly_late": sorted(set(a["late"]) - set(b["late"])),
            "message": {"zh-CN": zh, "en": en}}
