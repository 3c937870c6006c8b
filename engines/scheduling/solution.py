"""The ``mom.schedule-solution/1`` document: operations, KPIs, late-order explanations, Gantt data.

``to_json`` writes it from a ``Schedule``; ``from_json`` reads one back (for ``mom schedule check``,
warm starts and rescheduling), naming the JSON path of anything that does not match the problem.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from mom.engines.definitions.jsonschema import load_schema, schema_problems
from mom.engines.scheduling import calendar as cal
from mom.engines.scheduling.checker import check
from mom.engines.scheduling.model import Problem
from mom.engines.scheduling.schedule import Assignment, Schedule, completion, fill_setups, terms
from mom.platform.errors import ProblemList, did_you_mean

FORMAT = "mom.schedule-solution/1"
SCHEMA_PATH = Path(__file__).parent / "schema" / "solution-1.json"


def _iso(prob: Problem, t: int) -> str | None:
    return (prob.origin + dt.timedelta(minutes=t)).isoformat() if prob.origin else None


def kpis(prob: Problem, sched: Schedule) -> dict[str, Any]:
    tm = terms(prob, sched)
    comp = completion(prob, sched)
    makespan = int(tm["makespan"])
    util = {}
    for r in prob.resources:
        busy = sum(a.end - a.start for i, a in enumerate(sched.assignments)
                   if prob.ops[i].modes[a.mode].resource == r.index or r.index in a.secondary)
        avail = cal.working_between(r.windows, 0, makespan) * (r.capacity if r.kind == "workcenter" else 1)
        if r.kind not in ("machine", "workcenter", "batch") and r.downtime:
            avail -= sum(min(e, makespan) - s for s, e in r.downtime if s < makespan)
        util[r.id] = round(busy / avail, 4) if avail > 0 else 0.0
    tard = [max(0, c - o.due) for c, o in zip(comp, prob.orders) if o.due is not None]
    return {"late_orders": int(tm["late_orders"]), "weighted_tardiness": tm["weighted_tardiness"],
            "total_tardiness": sum(tard), "makespan": makespan, "setup_time": int(tm["setup_time"]),
            "setup_hours": round(tm["setup_time"] / 60, 2), "utilisation": util}


def explain(prob: Problem, sched: Schedule) -> list[dict[str, Any]]:
    """For every late order, the chain of waits behind its last operation and what held each one back."""
    A = sched.assignments
    comp = completion(prob, sched)
    on_res: dict[int, list[int]] = {}
    for i, a in enumerate(A):
        on_res.setdefault(prob.ops[i].modes[a.mode].resource, []).append(i)
        for c in a.secondary:
            on_res.setdefault(c, []).append(i)
    out = []
    for o, c in zip(prob.orders, comp):
        if o.due is None or c <= o.due:
            continue
        x = max(o.ops, key=lambda i: A[i].end)
        chain: list[dict[str, Any]] = []
        for _ in range(len(prob.ops)):
            step = _held_back(prob, A, x, on_res)
            chain.append(step)
            if step["cause"] != "predecessor":
                break
            x = step["_next"]
        for s in chain:
            s.pop("_next", None)
        main = next((s for s in chain if s["cause"] != "predecessor"), chain[-1])
        out.append({"order": o.id, "due": o.due, "completion": c, "tardiness": c - o.due, "cause": main["cause"],
                    "resource": main.get("resource"), "message": _message(o.id, c - o.due, main), "chain": chain})
    return out


def _held_back(prob: Problem, A: list[Assignment], i: int, on_res: dict[int, list[int]]) -> dict[str, Any]:
    op = prob.ops[i]
    a = A[i]
    r = prob.resources[op.modes[a.mode].resource]
    bounds: list[tuple[int, str, dict[str, Any]]] = [(op.release, "release", {})]
    for item, t in op.materials:
        bounds.append((t, "material", {"material": item}))
    if op.pinned is not None:
        bounds.append((a.start, "pinned", {}))
    elif prob.frozen_until:
        bounds.append((prob.frozen_until, "frozen", {}))
    for q in op.preds:
        b = A[q]
        t = b.start + prob.ops[q].modes[b.mode].batch_time(op.transfer_batch) + op.min_wait if op.transfer_batch \
            else b.end + op.min_wait
        bounds.append((t, "predecessor", {"_next": q, "predecessor": prob.ops[q].id}))
    for res in [r.index, *a.secondary]:
        before = [j for j in on_res.get(res, []) if j != i and A[j].end <= a.start and A[j].start < a.start]
        if before:
            j = max(before, key=lambda j: A[j].end)
            t = A[j].end + (a.setup if res == r.index else 0)
            bounds.append((t, "resource", {"resource": prob.resources[res].id, "busy_with": prob.ops[j].key,
                                           "busy_order": prob.orders[prob.ops[j].order].id, "busy_until": A[j].end}))
    rank = {"predecessor": 3, "resource": 2, "material": 1}      # on a tie, follow the routing first
    t, cause, info = max(bounds, key=lambda b: (b[0], rank.get(b[1], 0)))
    step = {"operation": op.id, "resource": r.id, "start": a.start, "end": a.end, "cause": cause, "bound": t, **info}
    if a.start > t:
        gap_working = cal.working_between(r.windows, t, a.start)
        if gap_working < a.start - t:
            step.update(cause="calendar", bound=t, off_time=a.start - t - gap_working)
    return step


def _message(order: str, late: int, s: dict[str, Any]) -> dict[str, str]:
    head_zh, head_en = f"订单 {order} 延误 {late} 分钟：", f"order {order} is {late} minutes late: "
    op, res = s["operation"], s.get("resource")
    if s["cause"] == "resource":
        return {"zh-CN": head_zh + f"工序 {op} 等待资源 {s['resource']}，它被订单 {s['busy_order']} 占用到 {s['busy_until']}",
                "en": head_en + f"operation {op} waited for {s['resource']}, busy with order {s['busy_order']} until "
                                f"{s['busy_until']}"}
    if s["cause"] == "material":
        return {"zh-CN": head_zh + f"工序 {op} 等待物料 {s['material']}，{s['bound']} 到货",
                "en": head_en + f"operation {op} waited for material {s['material']}, available at {s['bound']}"}
    if s["cause"] == "calendar":
        return {"zh-CN": head_zh + f"工序 {op} 在 {res} 上遇非工作时间（班次间隙、节假日或保养）{s.get('off_time', 0)} 分钟",
                "en": head_en + f"operation {op} on {res} waited {s.get('off_time', 0)} minutes of non-working time "
                                "(between shifts, a holiday or maintenance)"}
    if s["cause"] == "release":
        return {"zh-CN": head_zh + f"订单在 {s['bound']} 才下达，工序 {op} 不能更早开始",
                "en": head_en + f"the order is released only at {s['bound']}; operation {op} cannot start earlier"}
    if s["cause"] == "frozen":
        return {"zh-CN": head_zh + f"冻结期到 {s['bound']} 为止，工序 {op} 不能更早开始",
                "en": head_en + f"the frozen horizon lasts until {s['bound']}; operation {op} cannot start earlier"}
    if s["cause"] == "pinned":
        return {"zh-CN": head_zh + f"工序 {op} 已被锁定在 {s['start']}", "en": head_en + f"operation {op} is pinned at {s['start']}"}
    return {"zh-CN": head_zh + f"工序链总工时超过交期（关键工序 {op}）",
            "en": head_en + f"the routing's own work exceeds the time to the due date (critical operation {op})"}


def gantt(prob: Problem, sched: Schedule) -> dict[str, Any]:
    comp = completion(prob, sched)
    late = {o.index for o, c in zip(prob.orders, comp) if o.due is not None and c > o.due}
    tasks = []
    for i, a in enumerate(sched.assignments):
        op = prob.ops[i]
        order = prob.orders[op.order]
        tasks.append({"id": op.key, "name": f"{order.id} · {op.id}", "order": order.id, "operation": op.id,
                      "resource": prob.resources[op.modes[a.mode].resource].id, "start": a.start, "end": a.end,
                      "start_at": _iso(prob, a.start), "end_at": _iso(prob, a.end), "setup": a.setup,
                      "dependencies": [prob.ops[q].key for q in op.preds], "late": op.order in late,
                      "pinned": op.pinned is not None,
                      "custom_class": "late" if op.order in late else ("pinned" if op.pinned else "")})
    return {"origin": prob.raw.get("origin"),
            "resources": [{"id": r.id, "name": r.name, "kind": r.kind} for r in prob.resources], "tasks": tasks}


def to_json(prob: Problem, sched: Schedule, *, violations: list | None = None,
            changes: dict[str, Any] | None = None) -> dict[str, Any]:
    violations = check(prob, sched) if violations is None else violations
    ops = []
    for i, a in enumerate(sched.assignments):
        op = prob.ops[i]
        row = {"order": prob.orders[op.order].id, "operation": op.id,
               "resource": prob.resources[op.modes[a.mode].resource].id, "start": a.start, "end": a.end,
               "setup": a.setup}
        if prob.origin:
            row.update(start_at=_iso(prob, a.start), end_at=_iso(prob, a.end))
        if a.secondary:
            row["secondary"] = [prob.resources[c].id for c in a.secondary]
        if a.batch is not None:
            row["batch"] = a.batch
        if op.pinned is not None:
            row["pinned"] = True
        ops.append(row)
    comp = completion(prob, sched)
    orders = [{"order": o.id, "due": o.due, "completion": c, "tardiness": max(0, c - o.due) if o.due is not None else 0,
               "late": o.due is not None and c > o.due} for o, c in zip(prob.orders, comp)]
    stats = {k: v for k, v in sched.stats.items() if k not in ("moved",)}
    out = {"format": FORMAT, "problem": prob.name, "status": sched.status if not violations else "infeasible",
           "method": sched.method, "objective": {t: terms(prob, sched)[t] for t in prob.terms},
           "kpis": kpis(prob, sched), "operations": ops, "orders": orders,
           "explanations": explain(prob, sched) if not violations else [], "gantt": gantt(prob, sched),
           "check": {"feasible": not violations, "violations": [v.as_dict() for v in violations]},
           "solver": stats}
    if changes is not None:
        out["changes"] = changes
    return out


def from_json(prob: Problem, raw: Any) -> Schedule:
    """A schedule from a solution document; every mismatch with the problem is reported with its path."""
    problems = ProblemList()
    schema_problems(raw, load_schema(SCHEMA_PATH), problems)
    problems.raise_if_any("排程结果格式不正确", "the solution does not match mom.schedule-solution/1")
    out: list[Assignment | None] = [None] * len(prob.ops)
    keys = {f"{o}:{p}" for o, p in prob.op_by_key}
    for n, row in enumerate(raw["operations"]):
        path = f"/operations/{n}"
        i = prob.op_by_key.get((row["order"], row["operation"]))
        if i is None:
            k = f"{row['order']}:{row['operation']}"
            problems.add(path, f"问题中没有工序 {k}{did_you_mean(k, keys)}", f"no operation {k} in the problem{did_you_mean(k, keys)}",
                         "unknown")
            continue
        op = prob.ops[i]
        rid = prob.res_by_id.get(row["resource"])
        mode = next((k for k, m in enumerate(op.modes) if m.resource == rid), None)
        if mode is None:
            problems.add(f"{path}/resource", f"{row['resource']} 不是工序 {op.key} 的可选资源",
                         f"{row['resource']} is not a mode of {op.key}", "mode")
            continue
        sec = []
        for k, s in enumerate(row.get("secondary", [])):
            if s not in prob.res_by_id:
                problems.add(f"{path}/secondary/{k}", f"未定义的资源 {s}", f"unknown resource {s}", "unknown")
            else:
                sec.append(prob.res_by_id[s])
        if out[i] is not None:
            problems.add(path, f"工序 {op.key} 出现两次", f"operation {op.key} appears twice", "duplicate")
        out[i] = Assignment(mode, row["start"], row["end"], tuple(sec), row.get("batch"), row.get("setup", 0))
    problems.raise_if_any("排程结果与问题不符", "the solution does not match the problem")
    sched = Schedule(out, method=raw.get("method", "file"), status=raw.get("status", "feasible"))
    if sched.complete():
        fill_setups(prob, sched)
    return sched
