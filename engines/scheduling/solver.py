"""Solve a problem: dispatching first (an answer at once), then CP-SAT improves it within the time limit.

Large problems (more changeover arcs or intervals than one model handles well) are solved in
rolling windows of orders: each window is a sub-problem in which the earlier windows' operations
are pinned. Every schedule returned has passed the independent checker; if the solver's result
ever failed it, the dispatching schedule is returned instead and the failure is reported.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

from mom.engines.scheduling import calendar as cal, cpmodel, cpsat, dispatch, lns
from mom.engines.scheduling.checker import Violation, check
from mom.engines.scheduling.clock import Clock, make as make_clock
from mom.engines.scheduling.model import Problem
from mom.engines.scheduling.problem import load
from mom.engines.scheduling.schedule import Schedule, better, fill_setups, terms

ARC_LIMIT = 40_000          # changeover arcs in one model; above it, dispatching rules use the time instead
INTERVAL_LIMIT = 20_000     # mode intervals in one model; above it, rolling windows
WINDOW_OPS_PER_MACHINE = 40  # rolling windows: about this many candidate operations per machine each
LNS_RESTART_SHARE = 0.35     # large models: this share of the time on randomised restarts, the rest on CP-SAT windows


@dataclass
class Result:
    problem: Problem
    schedule: Schedule
    violations: list[Violation]
    heuristic: Schedule
    stats: dict[str, Any] = field(default_factory=dict)

    def changes(self) -> dict[str, int]:
        """How many operations moved from the previous schedule (when one was given)."""
        return {"moved": self.schedule.stats.get("moved", 0), "operations": len(self.problem.ops)}


def _modes_per_resource(prob: Problem) -> dict[int, int]:
    per_res: dict[int, int] = {}
    for op in prob.ops:
        for m in op.modes:
            per_res[m.resource] = per_res.get(m.resource, 0) + 1
    return per_res


def model_size(prob: Problem) -> tuple[int, int]:
    """(changeover arcs, mode intervals) a full model would have."""
    per_res = _modes_per_resource(prob)
    arcs = sum(n * n for r, n in per_res.items() if prob.has_setups(r))
    return arcs, sum(per_res.values())


def solve(raw: Any, *, time_limit: float = 30.0, workers: int = 2, seed: int = 0, previous: Schedule | None = None,
          rolling: bool | None = None, log: bool = False, deterministic: bool = False) -> Result:
    """The best schedule found within ``time_limit`` seconds (the dispatching one at worst).

    With ``deterministic``, ``time_limit`` counts deterministic work instead of seconds (see clock.py):
    the same problem, seed and limit then give the same schedule on any machine, however loaded."""
    t0 = time.perf_counter()
    clock = make_clock(deterministic)
    prob = raw if isinstance(raw, Problem) else load(raw)
    if previous is not None and "changes" not in prob.terms:
        prob = copy.copy(prob)
        if prob.objective_mode == "lexicographic":
            prob.terms = (prob.terms[0], "changes", *prob.terms[1:])   # stability right after the main goal
        else:
            prob.weights = {**prob.weights, "changes": prob.weights.get("changes", 1.0)}
            prob.terms = (*prob.terms, "changes")
    t_d = time.perf_counter()
    heur = dispatch.best_dispatch(prob, budget=min(1.5, time_limit / 5), clock=clock)
    while not heur.complete() and prob.grow():      # the first horizon guess was too short
        heur = dispatch.best_dispatch(prob, budget=min(1.5, time_limit / 5), clock=clock)
    # the first complete dispatching schedule is an answer the caller could use at once
    first_feasible = (t_d - t0) + (heur.stats.get("first_complete_s") or (time.perf_counter() - t_d))
    stats: dict[str, Any] = {"dispatch_seconds": round(time.perf_counter() - t_d, 3), "dispatch_rule": heur.method}
    if heur.complete():
        fill_setups(prob, heur)
        heur_ok = not check(prob, heur)
    else:
        heur_ok = False
    stats["dispatch_feasible"] = heur_ok
    start_from = heur if heur_ok else None
    prev_map = None
    if previous is not None:
        prev_map = {i: a for i, a in enumerate(previous.assignments) if a is not None}
        for cand in (heur, previous):
            _count_moves(prob, prev_map, cand)
        if previous.complete() and not check(prob, previous) and \
                (start_from is None or _stays(prob, previous, start_from)):
            start_from = previous
        else:
            # the previous schedule no longer holds (a breakdown, a rush order) or dispatching beats it:
            # repair it in its own order on every machine, moving only what must move — far fewer
            # changes than dispatching afresh, and sometimes the better schedule too
            moving = {i for i, a in enumerate(previous.assignments) if a is not None and not _still_fits(prob, i, a)}
            rep = dispatch.shift_left(prob, previous, moving)   # what cannot stay goes where it fits
            if rep.complete():
                fill_setups(prob, rep)
                if not check(prob, rep):
                    _count_moves(prob, prev_map, rep)
                    stats["repair_objective"] = {t: terms(prob, rep)[t] for t in prob.terms}
                    if start_from is None or better(prob, terms(prob, rep), terms(prob, start_from)):
                        start_from = rep
                        rep.method, rep.status = "repair", "feasible"
    if heur_ok:
        heur.stats["first_feasible_s"] = first_feasible
    arcs, intervals = model_size(prob)
    use_rolling = rolling if rolling is not None else intervals > INTERVAL_LIMIT
    left = time_limit - clock.elapsed()
    if use_rolling and heur_ok:
        best = _rolling(prob, heur, left, workers, seed, clock)
    elif arcs > ARC_LIMIT and heur_ok and rolling is None:
        # too large for one CP-SAT model here: spend the time on more dispatching rules instead
        more = dispatch.best_dispatch(prob, rules=dispatch.MORE_RULES, budget=max(0.0, left - 0.5), clock=clock)
        if not better(prob, terms(prob, more), terms(prob, heur)):
            more = heur
        left = time_limit - clock.elapsed() - 1.0
        use_lns = prob.terms[0] == "weighted_tardiness" and prev_map is None
        more = dispatch.randomised(prob, more, budget=max(0.0, left * (LNS_RESTART_SHARE if use_lns else 1.0)), seed=seed,
                                   clock=clock)
        fill_setups(prob, more)
        if use_lns and more.complete() and not check(prob, more):
            stats["before_cpsat_objective"] = {t: terms(prob, more)[t] for t in prob.terms}
            more = lns.improve(prob, more, budget=time_limit - clock.elapsed() - 0.5, workers=workers,
                               seed=seed, clock=clock)
            stats["lns"] = more.stats.get("lns")
        best = more if more is not heur and more.complete() else None     # checked below, with every solver answer
        stats["large_model"] = "dispatching rules, randomised restarts" + (", CP-SAT windows (LNS)" if use_lns else "")
    else:
        if start_from is not None:
            stats["before_cpsat_objective"] = {t: terms(prob, start_from)[t] for t in prob.terms}
        md = cpmodel.build(prob, _model_horizon(prob, start_from), previous=prev_map)
        best = cpsat.solve(md, time_limit=max(0.1, left), workers=workers, seed=seed, start_from=start_from, log=log,
                           clock=clock)
    chosen = start_from or heur
    final_viol: list[Violation] | None = None
    if best is not None and best is not start_from:
        _count_moves(prob, prev_map, best)
        viol = check(prob, best)
        if viol:
            stats["solver_check_failed"] = [v.as_dict() for v in viol[:5]]
        elif start_from is None or best.status == "optimal" or \
                not better(prob, terms(prob, start_from), terms(prob, best)):
            chosen, final_viol = best, viol     # the solver's schedule unless the starting one is strictly better
    if chosen is heur:
        chosen.status = "heuristic" if heur_ok else "infeasible"
    if final_viol is None:
        final_viol = check(prob, chosen) if chosen.complete() else \
            [Violation("missing", "", "有工序无法排入", "some operations could not be placed")]
    stats["seconds"] = round(time.perf_counter() - t0, 3)
    stats["first_feasible_s"] = round(first_feasible, 3) if heur_ok else None
    stats["rolling"] = bool(use_rolling and heur_ok)
    stats["model_arcs"], stats["model_intervals"] = arcs, intervals
    stats["dispatch_objective"] = {t: terms(prob, heur)[t] for t in prob.terms} if heur.complete() else None
    chosen.stats.update(stats)
    return Result(prob, chosen, final_viol, heur, stats)


def _still_fits(prob: Problem, i: int, a: Any) -> bool:
    """Whether operation ``i`` can stay on its resource's working time where ``a`` put it (a breakdown
    or new maintenance may have taken that time away)."""
    op = prob.ops[i]
    if a.mode >= len(op.modes):
        return False
    mode = op.modes[a.mode]
    w = prob.resources[mode.resource].windows
    if op.pausable:
        return cal.work_end(w, a.start, mode.duration) == a.end and cal.is_working(w, a.start) or mode.duration == 0
    return cal.fits(w, a.start, a.end)


def _stays(prob: Problem, previous: Schedule, heur: Schedule) -> bool:
    """Start from the previous schedule unless dispatching beats it on the main term."""
    main = prob.terms[0]
    return terms(prob, previous)[main] <= terms(prob, heur)[main]


def _count_moves(prob: Problem, prev: dict[int, Any] | None, sched: Schedule) -> None:
    """Record on ``sched`` how many operations moved from ``prev`` (its ``changes`` term)."""
    if prev is not None and sched.complete():
        sched.stats["moved"] = _moved(prob, prev, sched)


def _moved(prob: Problem, prev: dict[int, Any], sched: Schedule) -> int:
    n = 0
    for i, a in prev.items():
        b = sched.assignments[i]
        if b is None or (a.mode, a.start) != (b.mode, b.start):
            n += 1
    return n


def _model_horizon(prob: Problem, start: Schedule | None) -> int:
    if start is None or not start.complete():
        return prob.horizon
    ms = max(a.end for a in start.assignments)
    lo = min([0, *(a.start for a in start.assignments)])
    return min(prob.horizon, ms + max(60, (ms - lo) // 4)) if "horizon" not in prob.raw else prob.horizon


def _rolling(prob: Problem, heur: Schedule, time_limit: float, workers: int, seed: int, clock: Clock) -> Schedule:
    """Rolling horizon: windows of orders in dispatch order. Window k schedules its orders from the
    time T_k its first operation had in the dispatching schedule on; what earlier windows placed is
    pinned (only the part that can still meet the window's operations is kept in its model)."""
    t0 = clock.elapsed()
    n_windows = max(2, -(-max(_modes_per_resource(prob).values()) // WINDOW_OPS_PER_MACHINE))
    order_rank = sorted(prob.orders, key=lambda o: (min(heur.assignments[i].start for i in o.ops), o.index))
    size = -(-len(order_rank) // n_windows)
    windows = [order_rank[k:k + size] for k in range(0, len(order_rank), size)]
    placed: dict[int, Any] = {}
    window_stats = []
    for n, win in enumerate(windows):
        left = time_limit - (clock.elapsed() - t0)
        share = max(0.2, left / (len(windows) - n))
        t_k = max(prob.frozen_until, min(heur.assignments[i].start for o in win for i in o.ops))
        sub, back = _sub_problem(prob, [o.index for o in win], placed, t_k)
        sub_heur = dispatch.best_dispatch(sub, rules=("atc", "edd"), budget=0.5, clock=clock)
        ok = sub_heur.complete()
        if ok:
            fill_setups(sub, sub_heur)
            ok = not check(sub, sub_heur)
        md = cpmodel.build(sub, _model_horizon(sub, sub_heur if ok else None))
        got = cpsat.solve(md, time_limit=share, workers=workers, seed=seed, start_from=sub_heur if ok else None,
                          clock=clock)
        use = got if got is not None and not check(sub, got) else sub_heur
        window_stats.append({"orders": len(win), "status": use.status, "seconds": round(share, 2),
                             "operations": len(sub.ops)})
        for j, a in enumerate(use.assignments):
            if back[j] is not None and back[j] not in placed:
                placed[back[j]] = a
    out = Schedule([placed.get(i) for i in range(len(prob.ops))], method="cp-sat:rolling", status="feasible")
    if out.complete():
        fill_setups(prob, out)
        cpsat.number_batches(prob, out)
    out.stats["windows"] = window_stats
    return out


def _sub_problem(prob: Problem, orders: list[int], placed: dict[int, Any], t_k: int) -> tuple[Problem, list[int | None]]:
    """``orders`` to schedule from ``t_k`` on, plus the placed operations they can still meet, pinned.

    A placed operation that ends by ``t_k`` can only matter as the last one before ``t_k`` on its
    machine (its changeover to the next); the others are left out of the window's model."""
    raw = prob.raw
    latest_before: dict[int, int] = {}
    for i, a in placed.items():
        r = prob.ops[i].modes[a.mode].resource
        if a.end <= t_k and (r not in latest_before or placed[latest_before[r]].end < a.end):
            latest_before[r] = i
    keep_placed = {i for i, a in placed.items() if a.end > t_k} | set(latest_before.values())
    sub_orders = []
    back: list[int | None] = []
    by_order: dict[int, list[int]] = {}
    for i in keep_placed:
        by_order.setdefault(prob.ops[i].order, []).append(i)
    for oi, ops in sorted(by_order.items()):
        if oi in orders:
            continue
        o = {"id": raw["orders"][oi]["id"], "operations": []}
        for i in sorted(ops):
            a, op = placed[i], prob.ops[i]
            src = raw["orders"][oi]["operations"][prob.orders[oi].ops.index(i)]
            o["operations"].append({"id": op.id, "after": [], "modes": src["modes"], "attributes": op.attrs,
                                    "needs": src.get("needs", []), "pausable": op.pausable, "units": op.units,
                                    **({"batch_family": op.family} if op.family else {}),
                                    "pinned": {"resource": prob.resources[op.modes[a.mode].resource].id,
                                               "start": a.start, "end": a.end,
                                               "secondary": [prob.resources[c].id for c in a.secondary]}})
            back.append(None)
        for key in ("quantity",):
            if key in raw["orders"][oi]:
                o[key] = raw["orders"][oi][key]
        sub_orders.append(o)
    for oi in sorted(orders):
        sub_orders.append(raw["orders"][oi])
        back.extend(prob.orders[oi].ops)
    sub_raw = {**raw, "orders": sub_orders, "frozen_until": t_k}
    return load(sub_raw), back
