"""A schedule: one ``Assignment`` per operation, plus the objective terms computed from it.

The dispatcher, the CP-SAT model, the checker and the solution writer all speak this one shape.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mom.engines.scheduling.model import Problem


@dataclass
class Assignment:
    mode: int                 # index into the operation's modes
    start: int
    end: int
    secondary: tuple[int, ...] = ()
    batch: int | None = None  # batch number on a batch resource
    setup: int = 0            # changeover minutes before this operation on its machine


@dataclass
class Schedule:
    assignments: list[Assignment | None]
    method: str = ""
    status: str = "feasible"
    stats: dict[str, Any] = field(default_factory=dict)

    def complete(self) -> bool:
        return all(a is not None for a in self.assignments)


def sequences(prob: Problem, sched: Schedule) -> dict[int, list[int]]:
    """Operations per primary resource in start order (ties by end, then index)."""
    out: dict[int, list[int]] = {r.index: [] for r in prob.resources}
    for i, a in enumerate(sched.assignments):
        if a is not None:
            out[prob.ops[i].modes[a.mode].resource].append(i)
    for r, seq in out.items():
        seq.sort(key=lambda i: (sched.assignments[i].start, sched.assignments[i].end, i))
    return out


def fill_setups(prob: Problem, sched: Schedule) -> None:
    """Set each assignment's ``setup`` from its predecessor on the same machine."""
    for r, seq in sequences(prob, sched).items():
        if not prob.has_setups(r):
            for i in seq:
                sched.assignments[i].setup = 0
            continue
        prev = None
        for i in seq:
            attrs = prob.ops[i].attrs
            sched.assignments[i].setup = prob.initial_setup(r, attrs) if prev is None else prob.setup(r, prev, attrs)
            prev = attrs


def completion(prob: Problem, sched: Schedule) -> list[int]:
    return [max(sched.assignments[i].end for i in o.ops) for o in prob.orders]


def terms(prob: Problem, sched: Schedule) -> dict[str, float]:
    """Every objective term of a complete schedule (setups taken from the assignments)."""
    comp = completion(prob, sched)
    tard = [max(0, c - o.due) if o.due is not None else 0 for c, o in zip(comp, prob.orders)]
    return {
        "weighted_tardiness": sum(t * o.weight for t, o in zip(tard, prob.orders)),
        "makespan": max(comp, default=0),
        "setup_time": sum(a.setup for a in sched.assignments if a is not None),
        "late_orders": sum(1 for t in tard if t > 0),
        "changes": sched.stats.get("moved", 0),
    }


def better(prob: Problem, a: dict[str, float], b: dict[str, float] | None) -> bool:
    """True when terms ``a`` beat ``b`` under the problem's objective."""
    if b is None:
        return True
    if prob.objective_mode == "weighted":
        return weighted(prob, a) < weighted(prob, b)
    return tuple(a[t] for t in prob.terms) < tuple(b[t] for t in prob.terms)


def weighted(prob: Problem, t: dict[str, float]) -> float:
    return sum(prob.weights.get(k, 0) * v for k, v in t.items())
