"""The CP-SAT model of a ``Problem``: variables, constraints, objective terms and warm-start hints.

Each operation has one start and one end; each mode an optional interval on its resource.
Calendars enter through the resource's working windows: an operation that may pause lasts its
duration plus the non-working time it crosses (one literal per possible length, each with the starts
that give it), one that may not lasts exactly its duration and starts only where it fits inside one
window. Changeovers use a circuit per machine, whose arcs carry the setup time. cpsat.py solves it.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any

from ortools.sat.python import cp_model

from mom.engines.scheduling.model import Operation, Problem
from mom.engines.scheduling.schedule import Assignment, Schedule, sequences


@dataclass
class Model:
    prob: Problem
    horizon: int
    m: cp_model.CpModel = field(default_factory=cp_model.CpModel)
    start: list[Any] = field(default_factory=list)
    end: list[Any] = field(default_factory=list)
    size: list[Any] = field(default_factory=list)
    present: list[list[Any]] = field(default_factory=list)      # per op, per mode: literal
    sec: list[list[list[tuple[int, Any]]]] = field(default_factory=list)   # per op, per need: (resource, lit)
    arcs: list[tuple[Any, int, int, int, int]] = field(default_factory=list)  # (lit, from op or -1, to op, setup, resource)
    exprs: dict[str, Any] = field(default_factory=dict)
    fixed: dict[int, Assignment] = field(default_factory=dict)   # operations held where they are
    lasts: list[tuple[Any, int, int]] = field(default_factory=list)           # (last-arc lit, op, resource)
    tard: list[tuple[Any, Any, Any, Any, list[int]]] = field(default_factory=list)  # (completion, tardiness, late, order, last ops)
    scale: dict[str, int] = field(default_factory=dict)
    latest: int = 0                 # operations that are not fixed end by then
    cal: dict[tuple[int, int], dict[int, Any]] = field(default_factory=dict)  # (op, mode) -> {length: literal}, for hints


def _const_true(m: cp_model.CpModel) -> Any:
    return m.NewConstant(1)


def build(prob: Problem, horizon: int, previous: dict[int, Assignment] | None = None,
          fixed: dict[int, Assignment] | None = None, latest: int | None = None) -> Model:
    """The model; ``fixed`` operations are held where they are, ``previous`` feeds the changes term,
    and the operations that are not fixed end by ``latest`` (the horizon when not given)."""
    md = Model(prob, horizon)
    md.latest = min(horizon, latest) if latest is not None else horizon
    fixed = dict(fixed or {})
    for op in prob.ops:
        if op.pinned:
            fixed.setdefault(op.index, Assignment(op.pinned.mode, op.pinned.start, op.pinned.end, op.pinned.secondary))
    on_res: dict[int, list[tuple[Any, Any, int, int]]] = {r.index: [] for r in prob.resources}  # (interval, lit, op, units)
    md.fixed = fixed
    for op in prob.ops:
        _operation(md, op, fixed.get(op.index), on_res)
    for op in prob.ops:
        _precedences(md, op)
    for r in prob.resources:
        _resource(md, r.index, on_res[r.index])
    _objective_terms(md, previous)
    return md


def _operation(md: Model, op: Operation, fix: Assignment | None, on_res: dict[int, list]) -> None:
    prob, m, H = md.prob, md.m, md.horizon
    if fix is not None:
        s = m.NewConstant(fix.start)
        e = m.NewConstant(fix.end)
    else:
        lb = max(op.ready, prob.frozen_until)
        s = m.NewIntVar(lb, md.latest, f"s{op.index}")
        e = m.NewIntVar(lb, md.latest, f"e{op.index}")
    md.start.append(s)
    md.end.append(e)
    size = m.NewIntVar(0, H, f"z{op.index}")
    md.size.append(size)
    m.Add(s + size == e)
    lits = []
    single = len(op.modes) == 1
    for k, mode in enumerate(op.modes):
        if fix is not None:
            lit = m.NewConstant(1 if fix.mode == k else 0)
        else:
            lit = _const_true(m) if single else m.NewBoolVar(f"p{op.index}_{k}")
        lits.append(lit)
        if fix is not None and fix.mode != k:
            continue
        r = prob.resources[mode.resource]
        if fix is not None:
            iv = m.NewIntervalVar(s, fix.end - fix.start, e, f"i{op.index}_{k}")
        elif _fixed_length(prob, op, k):
            # end = start + duration by the interval itself (it binds only when this mode is chosen);
            # on a calendar the start is limited to the starts that keep the interval inside one window
            if r.windows is not None and mode.duration > 0:
                _one_window(md, op, mode.duration, r.windows, s, lit)
            iv = m.NewOptionalIntervalVar(s, mode.duration, e, lit, f"i{op.index}_{k}")
        else:
            _calendar(md, op, k, mode.duration, r.windows, s, e, lit)
            iv = m.NewOptionalIntervalVar(s, size, e, lit, f"i{op.index}_{k}")
        on_res[mode.resource].append((iv, lit, op.index, op.units))
    if fix is None:
        if not single:
            m.AddExactlyOne(lits)
        # the chosen mode's duration, stated linearly: a much tighter relaxation than the intervals alone
        # (a pausable operation over a break lasts longer than its working minutes, never shorter)
        chosen = sum(md_.duration * lit for md_, lit in zip(op.modes, lits))
        if all(_fixed_length(prob, op, k) for k in range(len(op.modes))):
            m.Add(size == chosen)
        else:
            m.Add(size >= chosen)
    md.present.append(lits)
    needs = []
    for need in op.needs:
        chosen = []
        for c in need.candidates:
            if fix is not None:
                q = m.NewConstant(1 if c in fix.secondary else 0)
            else:
                q = m.NewBoolVar(f"q{op.index}_{c}")
            chosen.append((c, q))
            iv = m.NewOptionalIntervalVar(s, size, e, q, f"n{op.index}_{c}")
            on_res[c].append((iv, q, op.index, 1))
        if fix is None:
            m.Add(sum(q for _, q in chosen) == need.count)
        needs.append(chosen)
    md.sec.append(needs)


def _fixed_length(prob: Problem, op: Operation, k: int) -> bool:
    """Whether mode ``k`` always lasts exactly its duration: no calendar, no work, or no pausing."""
    mode = op.modes[k]
    return prob.resources[mode.resource].windows is None or mode.duration == 0 or not op.pausable


def _one_window(md: Model, op: Operation, d: int, windows: list[tuple[int, int]], s: Any, lit: Any) -> None:
    """A non-pausable operation: its start lies where [start, start + d) fits inside one working
    window (only enforced when this mode is chosen; no such start means the mode cannot be chosen)."""
    lb = max(op.ready, md.prob.frozen_until)
    spans = [[max(a, lb), min(b, md.latest) - d] for a, b in windows if min(b, md.latest) - d >= max(a, lb)]
    md.m.AddLinearExpressionInDomain(s, cp_model.Domain.FromIntervals(spans)).OnlyEnforceIf(lit)


def _calendar(md: Model, op: Operation, k: int, d: int, windows: list[tuple[int, int]], s: Any, e: Any,
              lit: Any) -> None:
    """A pausable operation: it starts in working time and ends ``d`` working minutes later, so its
    length is ``d`` plus the non-working time it crosses, as the checker counts it (only enforced
    when this mode is chosen). The starts from which it crosses the same non-working time form one
    set of ranges: one literal per possible length, each allowing its starts only. A daily pattern
    gives a handful of lengths, far lighter than element constraints over every window."""
    m = md.m
    lb = max(op.ready, md.prob.frozen_until)
    ws = [w for w in windows if w[0] < md.latest and w[1] > lb]
    by_length = _lengths(ws, d)
    if not by_length:       # no working time left to run in: this mode cannot be chosen
        m.AddBoolOr([lit.Not()])
        md.cal[(op.index, k)] = {}
        return
    choice = {}
    for length, spans in sorted(by_length.items()):
        y = m.NewBoolVar("")
        m.AddLinearExpressionInDomain(s, cp_model.Domain.FromIntervals(spans)).OnlyEnforceIf(y)
        m.Add(e == s + length).OnlyEnforceIf(y)
        choice[length] = y
    m.Add(sum(choice.values()) == lit)
    md.cal[(op.index, k)] = choice


def _lengths(ws: list[tuple[int, int]], d: int) -> dict[int, list[list[int]]]:
    """Length (``d`` plus the non-working time crossed) -> the start ranges that give it, for ``d``
    working minutes begun in working time on the windows ``ws``."""
    out: dict[int, list[list[int]]] = {}
    cum = [0]
    for a, b in ws:
        cum.append(cum[-1] + b - a)
    for j, (a, b) in enumerate(ws):
        # a start s in window j has worked cum[j] + s - a minutes before it; it ends in the window k
        # where cum[j] + s - a + d falls, at s + d + (ws[k][0] - cum[k]) - (a - cum[j])
        k = max(j, bisect.bisect_left(cum, cum[j] + d) - 1)
        while k < len(ws):
            lo = max(a, a - cum[j] + cum[k] + 1 - d)
            hi = min(b - 1, a - cum[j] + cum[k + 1] - d)
            if lo > b - 1:
                break
            if lo <= hi:
                out.setdefault(d + (ws[k][0] - cum[k]) - (a - cum[j]), []).append([lo, hi])
            k += 1
    return out


def _hint_calendar(md: Model, i: int, a: Assignment) -> None:
    """Hint the length literals of every calendar mode: the chosen mode's actual length, none elsewhere."""
    for k in range(len(md.present[i])):
        for length, y in md.cal.get((i, k), {}).items():
            md.m.AddHint(y, 1 if k == a.mode and length == a.end - a.start else 0)


def _precedences(md: Model, op: Operation) -> None:
    prob, m = md.prob, md.m
    s, e = md.start[op.index], md.end[op.index]
    for q in op.preds:
        sq, eq = md.start[q], md.end[q]
        pq = prob.ops[q]
        if op.transfer_batch:
            for k, mode in enumerate(pq.modes):
                m.Add(s >= sq + mode.batch_time(op.transfer_batch) + op.min_wait).OnlyEnforceIf(md.present[q][k])
            for k, mode in enumerate(op.modes):
                m.Add(e >= eq + mode.batch_time(op.transfer_batch)).OnlyEnforceIf(md.present[op.index][k])
            m.Add(s >= sq)
        else:
            m.Add(s >= eq + op.min_wait)
        if op.max_wait is not None:
            m.Add(s <= eq + op.max_wait)


def _resource(md: Model, r: int, items: list[tuple[Any, Any, int, int]]) -> None:
    prob, m = md.prob, md.m
    res = prob.resources[r]
    if not items:
        return
    intervals = [it[0] for it in items]
    # operators and tools are absent over their downtime (machines and work centres have it in their
    # working windows instead); a pool of several is absent as a whole, as the checker counts it
    downtime = [m.NewIntervalVar(a, b - a, b, "") for a, b in res.downtime if a < md.horizon] \
        if res.kind in ("operator", "tool") else []
    if res.kind in ("workcenter",) or (res.kind in ("operator", "tool") and res.capacity > 1):
        m.AddCumulative(intervals + downtime, [it[3] for it in items] + [res.capacity] * len(downtime), res.capacity)
        return
    if res.kind == "batch":
        _batch(md, r, items)
        return
    m.AddNoOverlap(intervals + downtime)
    if prob.has_setups(r):
        _circuit(md, r, items)


def _circuit(md: Model, r: int, items: list[tuple[Any, Any, int, int]]) -> None:
    prob, m = md.prob, md.m
    # fixed operations that run elsewhere are no nodes at all; two fixed ones here can only be
    # neighbours when nothing fixed lies between them
    runs_here = {i for i, a in md.fixed.items() if prob.ops[i].modes[a.mode].resource == r}
    items = [it for it in items if it[2] not in md.fixed or it[2] in runs_here]
    attrs = [prob.ops[it[2]].attrs for it in items]
    if all(prob.setup(r, a, b) == 0 for a in attrs for b in attrs) and \
            all(prob.initial_setup(r, a) == 0 for a in attrs):
        return
    fixed_here = sorted(runs_here, key=lambda i: (md.fixed[i].start, md.fixed[i].end, i))
    next_fixed = dict(zip(fixed_here, fixed_here[1:]))
    arcs = []
    for j, (_, lit, i, _) in enumerate(items):
        first = m.NewBoolVar("")
        last = m.NewBoolVar("")
        arcs.append((0, j + 1, first))
        arcs.append((j + 1, 0, last))
        arcs.append((j + 1, j + 1, lit.Not()))
        md.lasts.append((last, i, r))
        init = prob.initial_setup(r, attrs[j]) if i not in md.fixed else 0
        if init:
            m.Add(md.start[i] >= init).OnlyEnforceIf(first)
        md.arcs.append((first, -1, i, init, r))
        for k, (_, lit2, i2, _) in enumerate(items):
            if k == j or (i in md.fixed and i2 in md.fixed and next_fixed.get(i) != i2):
                continue
            x = m.NewBoolVar("")
            st = prob.setup(r, attrs[j], attrs[k]) if not (i in md.fixed and i2 in md.fixed) else 0
            arcs.append((j + 1, k + 1, x))
            m.Add(md.start[i2] >= md.end[i] + st).OnlyEnforceIf(x)
            md.arcs.append((x, i, i2, st, r))
    # The depot may stay alone: every operation here may run on another machine. Without this arc the
    # circuit forced at least one operation onto each machine with changeovers (a regression test in
    # test_scheduling_property holds the instance where that cost a worse makespan).
    empty = m.NewBoolVar("")
    lits = [it[1] for it in items]
    m.AddBoolAnd([lit.Not() for lit in lits]).OnlyEnforceIf(empty)
    m.AddBoolOr(lits).OnlyEnforceIf(empty.Not())
    arcs.append((0, 0, empty))
    m.AddCircuit(arcs)


def _batch(md: Model, r: int, items: list[tuple[Any, Any, int, int]]) -> None:
    prob, m = md.prob, md.m
    m.AddCumulative([it[0] for it in items], [it[3] for it in items], prob.resources[r].capacity)
    for a in range(len(items)):
        for b in range(a + 1, len(items)):
            _, la, i, _ = items[a]
            _, lb, j, _ = items[b]
            before, after = m.NewBoolVar(""), m.NewBoolVar("")
            m.Add(md.end[i] <= md.start[j]).OnlyEnforceIf(before)
            m.Add(md.end[j] <= md.start[i]).OnlyEnforceIf(after)
            options = [before, after, la.Not(), lb.Not()]
            fi, fj = prob.ops[i].family, prob.ops[j].family
            if fi is not None and fi == fj:
                same = m.NewBoolVar("")
                m.Add(md.start[i] == md.start[j]).OnlyEnforceIf(same)
                m.Add(md.end[i] == md.end[j]).OnlyEnforceIf(same)
                options.append(same)
            m.AddBoolOr(options)


def _objective_terms(md: Model, previous: dict[int, Assignment] | None) -> None:
    prob, m, H = md.prob, md.m, md.horizon
    comp, last_ops = [], []
    for o in prob.orders:
        c = m.NewIntVar(0, H, f"c{o.index}")
        last_ops.append([i for i in o.ops if not prob.ops[i].succs] or list(o.ops))   # completion is measured on these
        m.AddMaxEquality(c, [md.end[i] for i in last_ops[-1]])
        comp.append(c)
    ms = m.NewIntVar(0, H, "makespan")
    m.AddMaxEquality(ms, comp or [m.NewConstant(0)])
    md.exprs["makespan"] = ms
    ints = all(float(o.weight).is_integer() for o in prob.orders)
    md.scale["weighted_tardiness"] = 1 if ints else 100
    tard, late = [], []
    for o, c, lasts in zip(prob.orders, comp, last_ops):
        if o.due is None:
            md.tard.append((c, None, None, o, lasts))
            continue
        t = m.NewIntVar(0, H, f"t{o.index}")
        m.Add(t >= c - o.due)
        w = int(round(o.weight * md.scale["weighted_tardiness"]))
        tard.append(w * t)
        lt = m.NewBoolVar(f"late{o.index}")
        m.Add(c <= o.due).OnlyEnforceIf(lt.Not())
        late.append(lt)
        md.tard.append((c, t, lt, o, lasts))
    md.exprs["weighted_tardiness"] = sum(tard) if tard else 0
    md.exprs["late_orders"] = sum(late) if late else 0
    md.exprs["setup_time"] = sum(st * lit for lit, _, _, st, _ in md.arcs if st) if md.arcs else 0
    moved = []
    for i, a in (previous or {}).items():
        if i >= len(prob.ops) or a.mode >= len(md.present[i]):
            continue
        mv = m.NewBoolVar(f"moved{i}")
        m.Add(md.start[i] == a.start).OnlyEnforceIf(mv.Not())
        m.AddImplication(mv.Not(), md.present[i][a.mode])
        moved.append(mv)
    md.exprs["changes"] = sum(moved) if moved else 0


def hint(md: Model, sched: Schedule) -> None:
    """Warm start: the values of a complete schedule, arcs included."""
    m = md.m
    m.ClearHints()
    prob = md.prob
    for i, a in enumerate(sched.assignments):
        if a is None or i in md.fixed:      # fixed operations are constants: nothing to hint
            continue
        m.AddHint(md.start[i], a.start)
        m.AddHint(md.end[i], a.end)
        m.AddHint(md.size[i], a.end - a.start)
        if len(md.present[i]) > 1:
            for k, lit in enumerate(md.present[i]):
                m.AddHint(lit, 1 if k == a.mode else 0)
        for need in md.sec[i]:
            for c, q in need:
                m.AddHint(q, 1 if c in a.secondary else 0)
        _hint_calendar(md, i, a)
    if md.arcs:
        # per machine: an operation that could also run elsewhere is a node of that machine's circuit
        # too, where it is absent — only the arcs of the machine it runs on are taken
        nxt: dict[tuple[int, int], int] = {}
        first: set[tuple[int, int]] = set()
        for r, seq in sequences(prob, sched).items():
            if seq:
                first.add((r, seq[0]))
            for x, y in zip(seq, seq[1:]):
                nxt[(r, x)] = y
        for lit, i, j, _, r in md.arcs:
            val = ((r, j) in first) if i == -1 else (nxt.get((r, i)) == j)
            m.AddHint(lit, 1 if val else 0)
        for lit, i, r in md.lasts:
            m.AddHint(lit, 1 if (r, i) not in nxt and _runs_on(prob, sched, i, r) else 0)
    for c, t, lt, o, lasts in md.tard:
        done = max(sched.assignments[i].end for i in lasts)
        m.AddHint(c, done)
        if t is not None:
            m.AddHint(t, max(0, done - o.due))
            m.AddHint(lt, 1 if done > o.due else 0)


def _runs_on(prob: Problem, sched: Schedule, i: int, r: int) -> bool:
    a = sched.assignments[i]
    return a is not None and prob.ops[i].modes[a.mode].resource == r
