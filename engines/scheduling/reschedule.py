"""Rescheduling: a machine breakdown at time t, and a rush order (插单) with a what-if answer.

Both start from the schedule in force. What started before t stays where it is (pinned); nothing
new starts before t (frozen). Stability — the fewest operations moved — is the objective right
after the problem's main one, and the answer lists what moved and which orders got later.
"""
from __future__ import annotations

import copy
import math
from typing import Any

from mom.engines.scheduling import calendar as cal
from mom.engines.scheduling import solution, solver
from mom.engines.scheduling.model import Problem
from mom.engines.scheduling.problem import load
from mom.engines.scheduling.schedule import Assignment, Schedule, completion
from mom.platform.errors import InvalidInput, Problem as Err


def _pin(op_raw: dict[str, Any], prob: Problem, i: int, a: Assignment) -> None:
    op = prob.ops[i]
    op_raw["pinned"] = {"resource": prob.resources[op.modes[a.mode].resource].id, "start": a.start, "end": a.end,
                        "secondary": [prob.resources[c].id for c in a.secondary]}


def _freeze(raw: dict[str, Any], prob: Problem, prev: Schedule, t: int, skip: set[int] = frozenset()) -> dict[str, Any]:
    """A copy of ``raw`` with every operation that started before ``t`` pinned and the horizon frozen to ``t``."""
    new = copy.deepcopy(raw)
    for o in prob.orders:
        for k, i in enumerate(o.ops):
            a = prev.assignments[i]
            if a is not None and a.start < t and i not in skip:
                _pin(new["orders"][o.index]["operations"][k], prob, i, a)
    new["frozen_until"] = max(raw.get("frozen_until", 0), t)
    return new


def _impact(old_prob: Problem, old: Schedule, new_prob: Problem, new: Schedule) -> dict[str, Any]:
    before = dict(zip((o.id for o in old_prob.orders), completion(old_prob, old)))
    later, earlier = [], []
    for o, c in zip(new_prob.orders, completion(new_prob, new)):
        if o.id not in before:
            continue
        d = c - before[o.id]
        row = {"order": o.id, "before": before[o.id], "completion": c, "delay": d, "due": o.due,
               "late_before": o.due is not None and before[o.id] > o.due, "late_after": o.due is not None and c > o.due}
        (later if d > 0 else earlier if d < 0 else []).append(row)
    later.sort(key=lambda r: -r["delay"])
    earlier.sort(key=lambda r: r["delay"])
    return {"later": later, "earlier": earlier, "newly_late": [r["order"] for r in later if r["late_after"] and not r["late_before"]]}


def _moved_ops(old_prob: Problem, old: Schedule, new_prob: Problem, new: Schedule) -> list[dict[str, Any]]:
    out = []
    for (oid, opid), i in old_prob.op_by_key.items():
        j = new_prob.op_by_key.get((oid, opid))
        a, b = old.assignments[i], new.assignments[j] if j is not None else None
        if a is None or b is None:
            continue
        ra = old_prob.resources[old_prob.ops[i].modes[a.mode].resource].id
        rb = new_prob.resources[new_prob.ops[j].modes[b.mode].resource].id
        if (ra, a.start) != (rb, b.start):
            out.append({"order": oid, "operation": opid, "from": {"resource": ra, "start": a.start},
                        "to": {"resource": rb, "start": b.start}})
    return out


def _align(old_prob: Problem, old: Schedule, new_prob: Problem) -> Schedule:
    """The old schedule indexed by the new problem's operations (new ones unknown)."""
    out: list[Assignment | None] = [None] * len(new_prob.ops)
    for key, j in new_prob.op_by_key.items():
        i = old_prob.op_by_key.get(key)
        if i is None or old.assignments[i] is None:
            continue
        a = old.assignments[i]
        rid = old_prob.ops[i].modes[a.mode].resource
        rname = old_prob.resources[rid].id
        mode = next((k for k, m in enumerate(new_prob.ops[j].modes) if new_prob.resources[m.resource].id == rname), None)
        if mode is not None:
            out[j] = Assignment(mode, a.start, a.end, tuple(new_prob.res_by_id[old_prob.resources[c].id] for c in a.secondary))
    return Schedule(out)


def _finish(old_prob: Problem, old: Schedule, new_raw: dict[str, Any], *, time_limit: float, workers: int, seed: int,
            extra: dict[str, Any], deterministic: bool = False) -> dict[str, Any]:
    new_prob = load(new_raw)
    res = solver.solve(new_prob, time_limit=time_limit, workers=workers, seed=seed,
                       previous=_align(old_prob, old, new_prob), deterministic=deterministic)
    moved = _moved_ops(old_prob, old, res.problem, res.schedule)
    common = sum(1 for k in old_prob.op_by_key if k in res.problem.op_by_key)
    doc = solution.to_json(res.problem, res.schedule, violations=res.violations,
                           changes={"moved": len(moved), "operations": common, "moved_operations": moved, **extra})
    doc["impact"] = _impact(old_prob, old, res.problem, res.schedule)
    return doc


def breakdown(raw: dict[str, Any], previous: Schedule, *, resource: str, start: int, end: int | None = None,
              policy: str = "split", time_limit: float = 5.0, workers: int = 2, seed: int = 0,
              deterministic: bool = False) -> dict[str, Any]:
    """Reschedule after ``resource`` breaks down over [start, end) (end None: until further notice);
    ``time_limit`` and ``deterministic`` as in ``solver.solve``.

    The operation running on it at ``start`` is split (the work done stays, the rest is scheduled
    again on any of its resources) or restarted from scratch, per ``policy``."""
    prob = load(raw)
    _check_previous(prob, previous)
    if resource not in prob.res_by_id:
        raise InvalidInput(f"未定义的资源 {resource}", f"unknown resource {resource}",
                           problems=[Err("/resource", "资源不存在", "no such resource", "unknown")])
    if end is not None and end <= start:
        raise InvalidInput("修复时刻须晚于故障时刻", "the repair time must be after the breakdown",
                           problems=[Err("/until", "须晚于故障时刻", "must be after the breakdown time", "range")])
    if policy not in ("split", "restart"):
        raise InvalidInput("policy 应为 split 或 restart", "policy must be split or restart",
                           problems=[Err("/policy", "应为 split 或 restart", "must be split or restart", "enum")])
    r = prob.res_by_id[resource]
    running = [i for i, a in enumerate(previous.assignments)
               if prob.ops[i].modes[a.mode].resource == r and a.start < start < a.end]
    new = _freeze(raw, prob, previous, start, skip=set(running))
    res_raw = new["resources"][r]
    res_raw["downtime"] = [*res_raw.get("downtime", []), [start, end if end is not None else max(prob.horizon, start) * 4]]
    for i in running:
        _split(new, prob, previous, i, start, policy)
    return _finish(prob, previous, new, time_limit=time_limit, workers=workers, seed=seed, deterministic=deterministic,
                   extra={"breakdown": {"resource": resource, "start": start, "end": end, "policy": policy,
                                        "interrupted": [prob.ops[i].key for i in running]}})


def _split(new: dict[str, Any], prob: Problem, prev: Schedule, i: int, t: int, policy: str) -> None:
    op = prob.ops[i]
    a = prev.assignments[i]
    order_raw = new["orders"][op.order]
    k = prob.orders[op.order].ops.index(i)
    op_raw = order_raw["operations"][k]
    preds = [prob.ops[q].id for q in op.preds]
    op_raw.pop("pinned", None)
    if policy == "restart":
        op_raw["after"] = preds
        return
    mode = op.modes[a.mode]
    w = prob.resources[mode.resource].windows
    done = cal.working_between(w, a.start, t) if op.pausable else t - a.start
    left = max(0.0, 1 - done / mode.duration) if mode.duration else 0.0
    done_part = {"id": f"{op.id}#done", "name": op_raw.get("name", op.id), "after": preds,
                 "modes": [{"resource": prob.resources[mode.resource].id, "duration": done}],
                 "attributes": op.attrs, "pinned": {"resource": prob.resources[mode.resource].id, "start": a.start, "end": t}}
    op_raw["after"] = [done_part["id"]]
    for key in ("transfer_batch", "min_wait", "max_wait", "materials"):
        op_raw.pop(key, None)
    op_raw["modes"] = [{"resource": prob.resources[m.resource].id, "duration": max(1, math.ceil(m.duration * left))}
                       for m in op.modes]
    order_raw["operations"].insert(k, done_part)


def rush(raw: dict[str, Any], previous: Schedule, orders: list[dict[str, Any]], *, now: int = 0,
         time_limit: float = 10.0, workers: int = 2, seed: int = 0, deterministic: bool = False) -> dict[str, Any]:
    """What-if for inserting rush ``orders`` at time ``now``: the new schedule and who gets later by how much
    (``time_limit`` and ``deterministic`` as in ``solver.solve``).

    Nothing is stored; apply the returned schedule only if the answer is acceptable."""
    prob = load(raw)
    _check_previous(prob, previous)
    if not isinstance(orders, list) or not orders:
        raise InvalidInput("请给出至少一个急单", "give at least one rush order",
                           problems=[Err("/orders", "不能为空", "must not be empty", "required")])
    new = _freeze(raw, prob, previous, now)
    new["orders"] = [*new["orders"], *copy.deepcopy(orders)]
    doc = _finish(prob, previous, new, time_limit=time_limit, workers=workers, seed=seed, deterministic=deterministic,
                  extra={"rush_orders": [o.get("id") for o in orders]})
    ids = {o.get("id") for o in orders}
    doc["impact"]["rush"] = [row for row in doc["orders"] if row["order"] in ids]
    return doc


def _check_previous(prob: Problem, previous: Schedule | None) -> None:
    if previous is None or not previous.complete():
        raise InvalidInput("需要当前排程（覆盖问题的全部工序）", "the schedule in force is needed and must cover every operation",
                           problems=[Err("/previous", "缺少或不完整", "missing or incomplete", "required")])
