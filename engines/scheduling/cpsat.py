"""The (lexicographic or weighted) CP-SAT solve of a model built by cpmodel.py.

Each objective term in turn (or their weighted sum): a full search first, then large-neighbourhood
search from the best schedule found; the answer is read back as a ``Schedule``. The limit is
wall-clock seconds or deterministic work, as the ``clock`` says (clock.py).
"""
from __future__ import annotations

import time
from typing import Any

from ortools.sat.python import cp_model

from mom.engines.scheduling.clock import Clock
from mom.engines.scheduling.cpmodel import Model, hint
from mom.engines.scheduling.model import Problem
from mom.engines.scheduling.schedule import Assignment, Schedule, fill_setups

STATUS = {cp_model.OPTIMAL: "optimal", cp_model.FEASIBLE: "feasible", cp_model.INFEASIBLE: "infeasible",
          cp_model.MODEL_INVALID: "invalid", cp_model.UNKNOWN: "unknown"}


class _Progress(cp_model.CpSolverSolutionCallback):
    def __init__(self, t0: float) -> None:
        super().__init__()
        self.t0 = t0
        self.first: float | None = None
        self.trace: list[tuple[float, float]] = []

    def on_solution_callback(self) -> None:
        now = time.perf_counter() - self.t0
        if self.first is None:
            self.first = now
        self.trace.append((round(now, 3), self.ObjectiveValue()))


def solve(md: Model, *, time_limit: float, workers: int = 2, seed: int = 0, start_from: Schedule | None = None,
          log: bool = False, clock: Clock | None = None) -> Schedule | None:
    """Optimise the problem's terms in order (lexicographic) or as one weighted sum; None if no solution.
    ``time_limit`` is in seconds, or in units of deterministic work on a deterministic ``clock``."""
    prob, m = md.prob, md.m
    clock = clock or Clock()
    t0, c0 = time.perf_counter(), clock.elapsed()
    best: Schedule | None = start_from
    stages = [[t] for t in prob.terms] if prob.objective_mode == "lexicographic" else [list(prob.terms)]
    stats: dict[str, Any] = {"stages": []}
    status_all = "optimal"
    for n, stage in enumerate(stages):
        left = time_limit - (clock.elapsed() - c0)
        if left <= 0.05:
            status_all = "feasible"
            break
        share = left * (0.7 if n == 0 and len(stages) > 1 else 1.0 / (len(stages) - n))
        expr = sum(_weight(md, t) * md.exprs[t] for t in stage) if len(stage) > 1 else md.exprs[stage[0]]
        if isinstance(expr, int):
            continue
        m.Minimize(expr)
        got = _stage(md, expr, best, share, workers, seed, log, t0, stats, stage, clock)
        if got is None:
            status_all = "feasible" if best is not None else "unknown"
            break
        best, value, optimal = got
        if not optimal:
            status_all = "feasible"
        m.Add(expr <= value)        # keep this stage's result while optimising the next one
    if best is None:
        return None
    if best is not start_from:      # CP-SAT's own schedule; the starting one keeps its method (dispatching, repair)
        best.method = "cp-sat"
    best.status = status_all if best is not start_from else "feasible"
    best.stats.update(stats)
    best.stats["seconds"] = time.perf_counter() - t0
    return best


def _stage(md: Model, expr: Any, best: Schedule | None, share: float, workers: int, seed: int, log: bool,
           t0: float, stats: dict[str, Any], stage: list[str], clock: Clock) -> tuple[Schedule, int, bool] | None:
    """One objective: a full search first (it proves small instances optimal), then, if time is
    left and optimality is not proven, large-neighbourhood search on both workers from the best
    schedule found, which improves large instances much faster than the full search."""
    phases = [("full", 0.3 * share), ("lns", 0.7 * share)] if share >= 4 else [("full", share)]
    value, bound, optimal = None, None, False
    for name, budget in phases:
        if best is not None and best.complete():
            hint(md, best)
        solver = cp_model.CpSolver()
        if clock.deterministic:
            # reproducible: stop on CP-SAT's own count of work, workers interleaved in a fixed order
            solver.parameters.max_deterministic_time = max(0.05, budget)
            solver.parameters.interleave_search = workers > 1
        else:
            solver.parameters.max_time_in_seconds = max(0.05, budget)
        solver.parameters.num_workers = workers
        solver.parameters.random_seed = seed
        solver.parameters.log_search_progress = log
        if name == "lns":
            solver.parameters.use_lns_only = True
        if md.cal:
            # calendars: presolve probing of the start ranges took 8 of 9 s on a 175-operation factory
            # problem (0.6 s without it), longer than the whole first phase, so no solution came back
            solver.parameters.cp_model_probing_level = 0
        for k, v in _extra_params().items():
            setattr(solver.parameters, k, v)
        cb = _Progress(t0)
        st = solver.Solve(md.m, cb)
        clock.charge(solver.ResponseProto().deterministic_time)
        found = st in (cp_model.OPTIMAL, cp_model.FEASIBLE)
        if name == "full":
            bound = solver.BestObjectiveBound()
        stats["stages"].append({"terms": stage, "phase": name, "status": STATUS.get(st, "unknown"),
                                "objective": solver.ObjectiveValue() if found else None, "bound": bound,
                                "seconds": round(solver.WallTime(), 3), "first_solution_s": cb.first,
                                "trace": cb.trace[-50:]})
        if found and (value is None or solver.ObjectiveValue() <= value):
            best = _extract(md, solver)
            value = int(round(solver.ObjectiveValue()))
        if st == cp_model.OPTIMAL and name == "full" or (value is not None and bound is not None and value <= bound):
            optimal = True
            break
    if value is None or best is None:
        return None
    return best, value, optimal


def _extra_params() -> dict[str, Any]:
    """CP-SAT parameters from $MOM_CPSAT_PARAMS ("name=value,..."), for experiments."""
    import os
    out: dict[str, Any] = {}
    for item in filter(None, os.environ.get("MOM_CPSAT_PARAMS", "").split(",")):
        k, v = item.split("=", 1)
        out[k.strip()] = {"true": True, "false": False}.get(v.strip().lower(), v.strip())
        if isinstance(out[k.strip()], str):
            try:
                out[k.strip()] = int(v) if v.strip().lstrip("-").isdigit() else float(v)
            except ValueError:
                pass
    return out


def _weight(md: Model, term: str) -> int:
    w = md.prob.weights.get(term, 0)
    return int(round(w * 100)) if term != "weighted_tardiness" else int(round(w * 100 / md.scale.get(term, 1)))


def _extract(md: Model, solver: cp_model.CpSolver) -> Schedule:
    prob = md.prob
    out = []
    for op in prob.ops:
        mode = next(k for k, lit in enumerate(md.present[op.index]) if solver.BooleanValue(lit))
        sec = tuple(c for need in md.sec[op.index] for c, q in need if solver.BooleanValue(q))
        out.append(Assignment(mode, solver.Value(md.start[op.index]), solver.Value(md.end[op.index]), sec))
    sched = Schedule(out, method="cp-sat")
    fill_setups(prob, sched)
    number_batches(prob, sched)
    return sched


def number_batches(prob: Problem, sched: Schedule) -> None:
    """Number the batches of each batch resource in start order (operations starting together share one)."""
    seen: dict[tuple[int, int], int] = {}
    counters: dict[int, int] = {}
    for i in sorted(range(len(prob.ops)), key=lambda i: sched.assignments[i].start):
        a = sched.assignments[i]
        r = prob.ops[i].modes[a.mode].resource
        if prob.resources[r].kind != "batch":
            continue
        key = (r, a.start)
        if key not in seen:
            seen[key] = counters.get(r, 0)
            counters[r] = seen[key] + 1
        a.batch = seen[key]

