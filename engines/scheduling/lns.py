"""Large-neighbourhood search with CP-SAT for problems too large for one model.

A schedule for a few thousand operations with changeovers is beyond one CP-SAT model on two
cores (the changeover circuits alone run to hundreds of thousands of arcs), but a *time window* of
it is not. Each step:

1. picks a window [T, H) around an operation of a late order (weighted by its tardiness);
2. frees the operations that start and end inside it, and pins everything they can meet — the
   other operations overlapping the window, their predecessors, the last operation before T and
   the first one from H on each machine with changeovers (so changeovers into and out of the window
   stay correct);
3. gives each order in the window a *local due date*: its due date less the time its remaining
   operations took after the window in the current schedule, so finishing the window part earlier
   counts exactly as much as it would at the end;
4. re-optimises the window with CP-SAT (the full model: calendars, changeovers, secondary
   resources), then shifts the whole schedule left in the new order (the ``list`` dispatching rule),
   so that what the window gained reaches the orders' last operations;
5. keeps the result only if it is better on the problem's own objective and passes the checker.

Operations whose next step lies beyond the window and must follow within a maximum wait, or after a
minimum wait that would no longer hold, stay fixed, so every window solution is feasible for the
whole problem by construction (and the checker confirms it before a schedule is kept).
"""
from __future__ import annotations

import bisect
import random
import time
from typing import Any

from mom.engines.scheduling import cpmodel, cpsat, dispatch
from mom.engines.scheduling.checker import check
from mom.engines.scheduling.clock import Clock
from mom.engines.scheduling.model import Problem
from mom.engines.scheduling.problem import load
from mom.engines.scheduling.schedule import Assignment, Schedule, better, completion, fill_setups, terms
from mom.platform.errors import InvalidInput

WINDOW_OPS = 160        # operations in a window (free and pinned ones starting inside it)
STEP_SECONDS = 2.5      # CP-SAT time per window
STEP_WORK = 0.05        # deterministic work charged per window besides CP-SAT's own (loading, building)


def improve(prob: Problem, sched: Schedule, *, budget: float, workers: int = 2, seed: int = 0,
            window_ops: int = WINDOW_OPS, clock: Clock | None = None) -> Schedule:
    """The best schedule found from ``sched`` within ``budget`` seconds, or units of ``clock``'s work
    (``sched`` itself if none beats it)."""
    clock = clock or Clock()
    t0, c0 = time.perf_counter(), clock.elapsed()
    rnd = random.Random(seed)
    best, best_terms = sched, terms(prob, sched)
    steps = kept = empty = 0
    refused: list[str] = []
    while True:
        left = budget - (clock.elapsed() - c0)
        if left < 1.0:
            break
        window = _window(prob, best, rnd, window_ops)
        if window is None:          # nothing to free around this anchor (frozen, pinned): draw another
            empty += 1
            if empty > 50:
                break
            continue
        steps += 1
        clock.charge(STEP_WORK)
        clock.charge_dispatch(len(prob.ops))     # shifting its answer left
        try:
            got = _solve_window(prob, best, *window, time_limit=min(STEP_SECONDS, left - 0.5), workers=workers,
                                seed=seed + steps, clock=clock)
        except InvalidInput as exc:     # a window the loader refuses is skipped: the schedule in hand stays valid
            refused.append(exc.problems[0].en if exc.problems else exc.en)
            continue
        if got is None:
            continue
        shifted = dispatch.shift_left(prob, got)
        for cand in (shifted, got):
            if not cand.complete():
                continue
            fill_setups(prob, cand)
            tm = terms(prob, cand)
            if better(prob, tm, best_terms) and not check(prob, cand):
                cpsat.number_batches(prob, cand)
                best, best_terms = cand, tm
                kept += 1
                break
    if best is not sched:
        best.method = "cp-sat:lns"
        best.status = "feasible"
    best.stats["lns"] = {"steps": steps, "improved": kept, "seconds": round(time.perf_counter() - t0, 2),
                         **({"refused_windows": len(refused), "first_refusal": refused[0]} if refused else {})}
    return best


def _window(prob: Problem, sched: Schedule, rnd: random.Random, size: int) -> tuple[int, int, set[int]] | None:
    """(T, H, free operations) around an operation of a late order (any operation if none is late)."""
    a = sched.assignments
    order = sorted(range(len(prob.ops)), key=lambda i: (a[i].start, i))
    starts = [a[i].start for i in order]
    comp = completion(prob, sched)
    late = [(o, (c - o.due) * o.weight) for o, c in zip(prob.orders, comp) if o.due is not None and c > o.due]
    if late and rnd.random() < 0.8:
        o = rnd.choices([o for o, _ in late], weights=[w for _, w in late])[0]
    else:
        o = rnd.choice(prob.orders)
    anchor = a[rnd.choice(o.ops)].start
    pos = bisect.bisect_left(starts, anchor)
    lo = max(0, pos - rnd.randint(size // 4, 3 * size // 4))
    lo = max(lo, bisect.bisect_left(starts, prob.frozen_until))
    hi = min(len(order), lo + size)
    if hi - lo < 2:
        return None
    t, h = starts[lo], starts[hi] if hi < len(order) else max(x.end for x in a) + 1
    free = set()
    for i in order[lo:hi]:
        op = prob.ops[i]
        if op.pinned or a[i].end > h or prob.resources[op.modes[a[i].mode].resource].kind == "batch":
            continue
        free.add(i)
    # a successor beyond the window must still follow after its minimum wait, within its maximum one
    for i in list(free):
        for s in prob.ops[i].succs:
            so = prob.ops[s]
            if s not in free and a[s].start >= h and (so.max_wait is not None or a[s].start - so.min_wait < h):
                free.discard(i)
    return (t, h, free) if free else None


def _solve_window(prob: Problem, sched: Schedule, t: int, h: int, free: set[int], *, time_limit: float,
                  workers: int, seed: int, clock: Clock | None = None) -> Schedule | None:
    a = sched.assignments
    incl = _included(prob, sched, t, h, free)
    sub, back = _sub_problem(prob, sched, t, incl, free)
    md = cpmodel.build(sub, sub.horizon, latest=h)
    start = Schedule([Assignment(a[i].mode, a[i].start, a[i].end, a[i].secondary, None, a[i].setup) for i in back])
    got = cpsat.solve(md, time_limit=time_limit, workers=workers, seed=seed, start_from=start, clock=clock)
    if got is None or got is start:
        return None
    out = [Assignment(x.mode, x.start, x.end, x.secondary, x.batch, x.setup) for x in a]
    for j, i in enumerate(back):
        if i in free:
            g = got.assignments[j]
            out[i] = Assignment(g.mode, g.start, g.end, g.secondary)
    return Schedule(out, method="cp-sat:lns", status="feasible")


def _included(prob: Problem, sched: Schedule, t: int, h: int, free: set[int]) -> set[int]:
    """The free operations and every operation they can meet."""
    a = sched.assignments
    incl = set(free)
    incl.update(i for i, x in enumerate(a) if x.end > t and x.start < h)
    for i in free:
        incl.update(prob.ops[i].preds)
    # the changeover into the window and out of it: the neighbours on each machine with changeovers
    before: dict[int, int] = {}
    after: dict[int, int] = {}
    for i, x in enumerate(a):
        r = prob.ops[i].modes[x.mode].resource
        if not prob.has_setups(r):
            continue
        if x.end <= t and (r not in before or a[before[r]].end < x.end):
            before[r] = i
        if x.start >= h and (r not in after or a[after[r]].start > x.start):
            after[r] = i
    incl.update(before.values())
    incl.update(after.values())
    return incl


def _sub_problem(prob: Problem, sched: Schedule, t: int, incl: set[int], free: set[int]) -> tuple[Problem, list[int]]:
    """The window as a problem of its own: ``free`` operations to place, the rest of ``incl`` pinned;
    each order's due date made local (less the time its later operations took in ``sched``)."""
    raw, a = prob.raw, sched.assignments
    comp = completion(prob, sched)
    by_order: dict[int, list[int]] = {}
    for i in sorted(incl):
        by_order.setdefault(prob.ops[i].order, []).append(i)
    orders: list[dict[str, Any]] = []
    back: list[int] = []
    for oi, ops in by_order.items():
        o = prob.orders[oi]
        src_ops = raw["orders"][oi]["operations"]
        sub_ops = []
        for i in ops:
            op = prob.ops[i]
            src = {k: v for k, v in src_ops[o.ops.index(i)].items() if k not in ("after", "pinned")}
            src["after"] = [prob.ops[q].id for q in op.preds if q in incl]
            if not src["after"]:        # a pinned operation whose predecessors are not in the window
                for k in ("transfer_batch", "min_wait", "max_wait"):
                    src.pop(k, None)
            if i not in free:
                x = a[i]
                src["pinned"] = {"resource": prob.resources[op.modes[x.mode].resource].id, "start": x.start,
                                 "end": x.end, "secondary": [prob.resources[c].id for c in x.secondary]}
            sub_ops.append(src)
            back.append(i)
        sub_o = {k: v for k, v in raw["orders"][oi].items() if k != "operations"}
        sub_o["operations"] = sub_ops
        if o.due is not None:
            ends = max(a[i].end for i in ops)
            sub_o["due"] = max(0, o.due - (comp[oi] - ends))
        orders.append(sub_o)
    horizon = max(a[i].end for i in incl) + 1
    # the window is judged on the main goal only: the whole schedule is compared on every term after
    sub_raw = {**raw, "orders": orders, "frozen_until": t, "horizon": max(horizon, raw.get("horizon", 0)),
               "objective": {"terms": [prob.terms[0]]}}
    return load(sub_raw), back
