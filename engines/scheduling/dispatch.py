"""Dispatching: a feasible schedule at once, by priority rules (EDD, ATC with setups, MWKR, SPT).

A Giffler-Thompson style serial generator: among the operations whose predecessors are placed,
find the earliest possible completion C*; of those that could start before C*, place the one the
rule ranks first, on the mode that finishes it earliest. Machines are filled in order (each new
operation after the last one on its machine, with the changeover from it); work centres are
``capacity`` parallel lanes; batch resources (ovens, test benches) let an operation join an open
batch of its family. The result seeds CP-SAT and is the answer when the solver has none.
"""
from __future__ import annotations

import math
import random
import time
from collections.abc import Callable

from mom.engines.scheduling import calendar as cal
from mom.engines.scheduling.clock import Clock
from mom.engines.scheduling.model import Operation, Problem
from mom.engines.scheduling.schedule import Assignment, Schedule, better, sequences, terms

RULES = ("atc", "edd", "mwkr", "spt")
# tried when time allows: ATC look-ahead (k1), changeover scaling (k2) and non-delay (delta 0) variants
MORE_RULES = ("atc:16", "atc:8", "atc:4", "atc:32", "atc:8:0.5", "atc:8:2", "atc:8:1:0", "atc:16:1:0.5",
              "atc:1", "atc:0.5")
BIG = 1 << 60


class _State:
    def __init__(self, prob: Problem, fixed: dict[int, Assignment] | None = None) -> None:
        self.prob = prob
        self.lanes: dict[int, list[int]] = {}          # resource -> free-from time per lane
        self.last_attrs: dict[int, dict[str, str] | None] = {}
        self.batches: dict[int, list[list]] = {}       # resource -> [start, end, family, units, n]
        self.sec_busy: dict[int, list[tuple[int, int]]] = {}
        for r in prob.resources:
            self.lanes[r.index] = [0] * (r.capacity if r.kind == "workcenter" else 1)
            self.last_attrs[r.index] = r.initial or None
            self.batches[r.index] = []
            self.sec_busy[r.index] = list(r.downtime) if r.capacity == 1 else []   # a pool's downtime: _sec_free
        self.done: dict[int, Assignment] = {}
        self.only_mode: list[int | None] | None = None
        self.setups_on = [prob.has_setups(r.index) for r in prob.resources]
        self.setup_cache: dict[tuple[int, int, int], int] = {}
        for i, a in sorted((fixed or {}).items(), key=lambda kv: kv[1].start):
            self.commit(prob.ops[i], a)

    # ---- evaluation
    def pred_bounds(self, op: Operation, per_piece_mode: int) -> tuple[int, int]:
        """(earliest start, earliest end) from the placed predecessors."""
        s_min, e_min = op.ready, 0
        if op.pinned is None:
            s_min = max(s_min, self.prob.frozen_until)
        mode = op.modes[per_piece_mode]
        for q in op.preds:
            a = self.done[q]
            pq = self.prob.ops[q]
            if op.transfer_batch:
                s_min = max(s_min, a.start + pq.modes[a.mode].batch_time(op.transfer_batch) + op.min_wait)
                e_min = max(e_min, a.end + mode.batch_time(op.transfer_batch))
            else:
                s_min = max(s_min, a.end + op.min_wait)
        return s_min, e_min

    def evaluate(self, op: Operation) -> tuple[int, int, int, tuple[int, ...], int | None, int] | None:
        """Best (end, start, mode, secondary, batch, setup) for ``op`` now, or None if it fits nowhere."""
        best = None
        for k, mode in enumerate(op.modes):
            if self.only_mode is not None and self.only_mode[op.index] not in (None, k):
                continue
            got = self._try_mode(op, k)
            if got and (best is None or (got[0], got[5]) < (best[0], best[5])):
                best = got
        return best

    def _try_mode(self, op: Operation, k: int):
        prob = self.prob
        mode = op.modes[k]
        r = prob.resources[mode.resource]
        s_min, e_min = self.pred_bounds(op, k)
        setup = 0
        if r.kind == "batch":
            joined = self._join_batch(op, k, s_min, e_min)
            if joined:
                return joined
            t = max(s_min, self.batches[r.index][-1][1] if self.batches[r.index] else 0)
        elif r.kind == "workcenter":
            lanes = sorted(self.lanes[r.index])
            t = max(s_min, lanes[min(op.units, len(lanes)) - 1])
        else:
            setup = self._setup(r.index, op)
            t = max(s_min, self.lanes[r.index][0] + setup)
        for _ in range(10000):
            fit = cal.earliest_fit(r.windows, t, mode.duration, op.pausable)
            if fit is None:
                return None
            start, end = fit
            if end < e_min:
                t = start + (e_min - end)
                continue
            sec, t2 = self._secondaries(op, start, end)
            if t2 is not None and t2 > start:
                t = t2
                continue
            batch = len(self.batches[r.index]) if r.kind == "batch" else None
            return end, start, k, sec, batch, setup
        return None

    def _setup(self, r: int, op: Operation) -> int:
        if not self.setups_on[r]:
            return 0
        last = self.last_attrs[r]
        if not last:
            return 0
        key = (r, id(last), op.index)
        got = self.setup_cache.get(key)
        if got is None:
            got = self.setup_cache[key] = self.prob.setup(r, last, op.attrs)
        return got

    def _join_batch(self, op: Operation, k: int, s_min: int, e_min: int):
        r = self.prob.ops[op.index].modes[k].resource
        cap = self.prob.resources[r].capacity
        for n, (bs, be, fam, units, _) in enumerate(self.batches[r]):
            if fam == op.family and op.family is not None and bs >= s_min and be >= e_min and units + op.units <= cap \
                    and not op.needs:
                w = self.prob.resources[r].windows
                end = cal.work_end(w, bs, op.modes[k].duration) if op.pausable else bs + op.modes[k].duration
                if end == be and (op.pausable or cal.fits(w, bs, be)):
                    return be, bs, k, (), n, 0
        return None

    def _secondaries(self, op: Operation, start: int, end: int) -> tuple[tuple[int, ...], int | None]:
        """Chosen secondary resources, or the time to retry from when they are not free."""
        chosen: list[int] = []
        retry = None
        for need in op.needs:
            free = [c for c in need.candidates if c not in chosen and self._sec_free(c, start, end)]
            if len(free) >= need.count:
                chosen.extend(free[:need.count])
                continue
            nexts = sorted(self._sec_next_free(c, start, end - start) for c in need.candidates if c not in chosen)
            t = nexts[need.count - 1] if len(nexts) >= need.count else None
            retry = max(retry or 0, t if t is not None else BIG)
        return tuple(chosen), retry

    def _sec_free(self, r: int, start: int, end: int) -> bool:
        cap = self.prob.resources[r].capacity
        if cap == 1:
            return all(e <= start or s >= end for s, e in self.sec_busy[r])
        # a pool: absent over its downtime, otherwise free while fewer than ``cap`` operations hold it
        if any(s < end and start < e for s, e in self.prob.resources[r].downtime):
            return False
        held = sorted(x for s, e in self.sec_busy[r] if s < end and start < e for x in ((max(s, start), 1), (e, -1)))
        load = 0
        for _, step in held:
            load += step
            if load >= cap:
                return False
        return True

    def _sec_next_free(self, r: int, start: int, length: int) -> int:
        if self.prob.resources[r].capacity > 1:
            # the earliest time from which the pool is free for ``length``: ``start`` or when something ends
            ends = sorted({e for _, e in [*self.sec_busy[r], *self.prob.resources[r].downtime] if e > start})
            return next((t for t in (start, *ends) if self._sec_free(r, t, t + length)), BIG)
        t = start
        for s, e in sorted(self.sec_busy[r]):
            if e <= t:
                continue
            if s >= t + length:
                break
            t = e
        return t

    # ---- placing
    def commit(self, op: Operation, a: Assignment) -> None:
        prob = self.prob
        r = prob.resources[op.modes[a.mode].resource]
        if r.kind == "batch":
            bl = self.batches[r.index]
            if a.batch is not None and a.batch < len(bl) and bl[a.batch][0] == a.start:
                bl[a.batch][3] += op.units
                bl[a.batch][4] += 1
            else:
                a.batch = len(bl)
                bl.append([a.start, a.end, op.family, op.units, 1])
        elif r.kind == "workcenter":
            lanes = sorted(self.lanes[r.index])
            for j in range(min(op.units, len(lanes))):
                lanes[j] = max(lanes[j], a.end)
            self.lanes[r.index] = lanes
        else:
            self.lanes[r.index][0] = max(self.lanes[r.index][0], a.end)
            self.last_attrs[r.index] = op.attrs
        for s in a.secondary:
            self.sec_busy[s].append((a.start, a.end))
        self.done[op.index] = a


def parse_rule(rule: str) -> tuple[str, float, float, float, int | None]:
    """``name[:k1[:k2[:delta[:seed]]]]`` → (name, k1, k2, delta, seed).

    k1 is ATC's due-date look-ahead, k2 its changeover scaling (a multiple of half the longest
    changeover), delta the Giffler-Thompson window (1: any operation that can start before the
    earliest completion competes; 0: only those that can start first — a non-delay schedule), and
    seed, when given, adds ±25% noise to the ATC index (randomised restarts)."""
    name, *nums = rule.split(":")
    vals = [float(x) for x in nums]
    k1 = vals[0] if len(vals) > 0 else 2.0
    k2 = vals[1] if len(vals) > 1 else 1.0
    delta = vals[2] if len(vals) > 2 else 1.0
    seed = int(vals[3]) if len(vals) > 3 else None
    return name, k1, k2, delta, seed


def _priority(prob: Problem, rule: str, remaining: list[int],
              rank: list[float] | None = None) -> Callable[[Operation, int, int, int], float]:
    avg_p = sum(min(m.duration for m in op.modes) for op in prob.ops) / max(1, len(prob.ops)) or 1.0
    name, k1, k2, _, seed = parse_rule(rule)
    avg_s = max(1.0, prob.max_setup() / 2) * k2
    noise = random.Random(seed) if seed is not None else None

    def key(op: Operation, start: int, end: int, setup: int) -> float:
        order = prob.orders[op.order]
        due = order.due if order.due is not None else BIG
        if name == "edd":
            return due * 1e-6 + start * 1e-12
        if name == "spt":
            return end - start
        if name == "mwkr":
            return -remaining[op.index]
        if name == "list":      # a given ranking (a schedule's start times): that schedule, shifted left
            return rank[op.index] if rank is not None else start
        # ATC with setups (Lee, Bhaskaran & Pinedo 1997): highest index first, so negate
        p = max(1, end - start)
        slack = max(0.0, (due if due < BIG else start + 10 * remaining[op.index]) - remaining[op.index] - start)
        value = -(max(order.weight, 1e-6) / p) * math.exp(-slack / (k1 * avg_p)) * math.exp(-setup / avg_s)
        return value * (1 + 0.25 * (2 * noise.random() - 1)) if noise else value
    return key


def remaining_work(prob: Problem) -> list[int]:
    """Work left in the order from each operation on (the longest path through its successors)."""
    rem = [0] * len(prob.ops)
    for op in reversed(prob.ops):
        own = min(m.duration for m in op.modes)
        rem[op.index] = own + max([rem[s] for s in op.succs], default=0)
    return rem


def dispatch(prob: Problem, rule: str = "atc", fixed: dict[int, Assignment] | None = None,
             rank: list[float] | None = None, follow: Schedule | None = None) -> Schedule:
    """One schedule by ``rule``; ``fixed`` assignments (pinned or frozen work) are placed first.
    Rule ``list`` places operations in ``rank`` order where they compete. With ``follow``, every
    operation keeps that schedule's resource and its place in the order on it."""
    t0 = time.perf_counter()
    fixed = dict(fixed or {})
    for op in prob.ops:
        if op.pinned and op.index not in fixed:
            fixed[op.index] = Assignment(op.pinned.mode, op.pinned.start, op.pinned.end, op.pinned.secondary)
    st = _State(prob, fixed)
    key = _priority(prob, rule, remaining_work(prob), rank)
    delta = parse_rule(rule)[3]
    waiting = [sum(1 for q in op.preds if q not in st.done) for op in prob.ops]
    after_on_res: dict[int, int] = {}
    if follow is not None:
        st.only_mode = [a.mode if a is not None else None for a in follow.assignments]
        for seq in sequences(prob, follow).values():
            for x, y in zip(seq, seq[1:]):
                after_on_res[x] = y
                if x not in st.done:
                    waiting[y] += 1
    eligible = {op.index for op in prob.ops if op.index not in st.done and waiting[op.index] == 0}
    res_of = [frozenset([*(m.resource for m in op.modes), *(c for n in op.needs for c in n.candidates)])
              for op in prob.ops]
    cache: dict[int, tuple | None] = {}
    while eligible:
        for i in eligible:
            if i not in cache:
                cache[i] = st.evaluate(prob.ops[i])
        placeable = [i for i in eligible if cache[i] is not None]
        if not placeable:
            break
        c_star = min(cache[i][0] for i in placeable)
        s_star = min(cache[i][1] for i in placeable)
        limit = s_star + delta * (c_star - s_star) if delta < 1 else c_star
        conflict = [i for i in placeable if cache[i][1] < limit or cache[i][1] == s_star] \
            or [min(placeable, key=lambda i: cache[i][0])]
        pick = min(conflict, key=lambda i: (key(prob.ops[i], cache[i][1], cache[i][0], cache[i][5]), i))
        end, start, mode, sec, batch, setup = cache[pick]
        op = prob.ops[pick]
        st.commit(op, Assignment(mode, start, end, sec, batch, setup))
        eligible.discard(pick)
        cache.pop(pick)
        touched = {op.modes[mode].resource, *sec}
        for j in [j for j in cache if not touched.isdisjoint(res_of[j])]:
            del cache[j]
        for s in (*op.succs, *((after_on_res[pick],) if pick in after_on_res else ())):
            waiting[s] -= 1
            if waiting[s] == 0 and s not in st.done:
                eligible.add(s)
    assignments = [st.done.get(i) for i in range(len(prob.ops))]
    sched = Schedule(assignments, method=f"dispatch:{rule}", status="heuristic")
    sched.stats["seconds"] = time.perf_counter() - t0
    return sched


def shift_left(prob: Problem, sched: Schedule, free: set[int] | frozenset[int] = frozenset()) -> Schedule:
    """``sched`` rebuilt in its own order on every resource, each operation as early as it can go now
    (after a breakdown: later only as far as it must). Operations in ``free`` (and those ``sched``
    does not place) may take any of their resources, where they fit near their old time."""
    follow = Schedule([None if i in free else a for i, a in enumerate(sched.assignments)])
    return dispatch(prob, "list", rank=[a.start + a.end * 1e-6 if a is not None else float(BIG) for a in sched.assignments],
                    follow=follow)


def randomised(prob: Problem, best: Schedule, *, budget: float, seed: int = 0, clock: Clock | None = None) -> Schedule:
    """Randomised ATC restarts until ``budget`` seconds (or units of ``clock``'s work) pass.

    Each restart draws the look-ahead k1, the changeover scaling k2 and the Giffler-Thompson window
    delta — half the time near the best parameters so far, half anywhere — and adds noise to the
    priorities. The best complete schedule wins (``best`` if none beats it)."""
    clock = clock or Clock()
    t0 = clock.elapsed()
    rnd = random.Random(seed)
    best_terms = terms(prob, best)
    name, k1, k2, delta, _ = parse_rule(best.method.removeprefix("dispatch:"))
    centre = (math.log2(k1), math.log2(k2), delta) if name == "atc" else (3.0, 0.0, 1.0)
    n = 0
    while clock.elapsed() - t0 < budget:
        if rnd.random() < 0.5:
            lk1, lk2, d = rnd.gauss(centre[0], 0.7), rnd.gauss(centre[1], 0.7), rnd.gauss(centre[2], 0.2)
        else:
            lk1, lk2, d = rnd.uniform(-1, 6), rnd.uniform(-3, 3), rnd.random()
        lk1, lk2, d = min(7.0, max(-2.0, lk1)), min(4.0, max(-4.0, lk2)), min(1.0, max(0.0, d))
        s = dispatch(prob, f"atc:{2 ** lk1:.3g}:{2 ** lk2:.3g}:{d:.2f}:{rnd.randrange(1 << 30)}")
        clock.charge_dispatch(len(prob.ops))
        n += 1
        if s.complete():
            tm = terms(prob, s)
            if better(prob, tm, best_terms):
                best, best_terms, centre = s, tm, (lk1, lk2, d)
    best.stats["restarts"] = n
    return best


def best_dispatch(prob: Problem, rules: tuple[str, ...] = RULES, fixed: dict[int, Assignment] | None = None,
                  budget: float = 2.0, clock: Clock | None = None) -> Schedule:
    """The best complete schedule over ``rules`` (stopping when ``budget`` seconds, or units of
    ``clock``'s work, are spent)."""
    clock = clock or Clock()
    t0, w0 = time.perf_counter(), clock.elapsed()
    best, best_terms, first = None, None, None
    last = 0.0
    for rule in rules:
        if best is not None and clock.elapsed() - w0 + last > budget:
            break
        t1 = clock.elapsed()
        s = dispatch(prob, rule, fixed)
        clock.charge_dispatch(len(prob.ops))
        last = clock.elapsed() - t1
        if first is None and s.complete():
            first = time.perf_counter() - t0
        if s.complete():
            tm = terms(prob, s)
            if better(prob, tm, best_terms):
                best, best_terms = s, tm
        elif best is None:
            best = s
    assert best is not None
    best.stats["seconds"] = time.perf_counter() - t0
    best.stats["first_complete_s"] = first
    return best
