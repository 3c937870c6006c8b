"""An independent check of a schedule against every constraint of its problem.

It shares nothing with the solver or the dispatcher but the parsed problem: it re-derives working
time by summing windows, re-sequences each machine from the start times and recomputes the
changeovers, and sweeps capacities. Every schedule the engine returns has passed it.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from mom.engines.scheduling.model import Problem
from mom.engines.scheduling.schedule import Assignment, Schedule


@dataclass(frozen=True)
class Violation:
    kind: str
    operation: str
    zh: str
    en: str

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "operation": self.operation, "message": {"zh-CN": self.zh, "en": self.en}}


def check(prob: Problem, sched: Schedule) -> list[Violation]:
    """Every violated constraint (an empty list means the schedule is feasible)."""
    out: list[Violation] = []
    if len(sched.assignments) != len(prob.ops):
        return [Violation("missing", "", "排程的工序数与问题不符", "the schedule does not cover the problem's operations")]
    for op in prob.ops:
        a = sched.assignments[op.index]
        if a is None:
            out.append(Violation("missing", op.key, "工序未排程", "operation not scheduled"))
            continue
        if not 0 <= a.mode < len(op.modes):
            out.append(Violation("mode", op.key, "所用资源不在可选资源中", "resource is not one of the operation's modes"))
            continue
        _timing(prob, op.index, a, out)
    if out:
        return out
    _precedence(prob, sched, out)
    _resources(prob, sched, out)
    return out


def _v(out: list[Violation], kind: str, key: str, zh: str, en: str) -> None:
    out.append(Violation(kind, key, zh, en))


def _timing(prob: Problem, i: int, a: Assignment, out: list[Violation]) -> None:
    op = prob.ops[i]
    mode = op.modes[a.mode]
    res = prob.resources[mode.resource]
    if op.pinned is not None:
        p = op.pinned
        if (a.mode, a.start, a.end) != (p.mode, p.start, p.end):
            _v(out, "pinned", op.key, f"锁定工序被移动：应为 {p.start}–{p.end}", f"pinned operation moved: must be {p.start}-{p.end}")
        return
    if a.start < op.release:
        _v(out, "release", op.key, f"开始 {a.start} 早于订单下达 {op.release}", f"starts at {a.start} before release {op.release}")
    for item, t in op.materials:
        if a.start < t:
            _v(out, "material", op.key, f"物料 {item} 在 {t} 到货，工序却在 {a.start} 开始",
               f"material {item} arrives at {t} but the operation starts at {a.start}")
    if a.start < prob.frozen_until:
        _v(out, "frozen", op.key, f"在冻结期（{prob.frozen_until} 前）内开始", f"starts inside the frozen horizon (before {prob.frozen_until})")
    if "horizon" in prob.raw and a.end > prob.horizon:
        _v(out, "horizon", op.key, "结束超出计划期", "ends past the horizon")
    d = mode.duration
    w = res.windows
    if d == 0 or w is None:
        if a.end - a.start != d:
            _v(out, "duration", op.key, f"时长 {a.end - a.start}，应为 {d}", f"lasts {a.end - a.start}, must be {d}")
        return
    if not op.pausable:
        inside = any(s <= a.start and a.end <= e for s, e in w)
        if a.end - a.start != d or not inside:
            _v(out, "calendar", op.key, "不可暂停的工序须在一个班次内连续完成", "a non-pausable operation must run within one shift")
        return
    worked = sum(max(0, min(e, a.end) - max(s, a.start)) for s, e in w)
    starts_working = any(s <= a.start < e for s, e in w)
    ends_working = any(s < a.end <= e for s, e in w)
    if worked != d or not starts_working or not ends_working:
        _v(out, "calendar", op.key, f"工作时间内的加工时长为 {worked}，应为 {d}（须在工作时间开始和结束）",
           f"works {worked} minutes inside working time, must be {d} (starting and ending in working time)")


def _precedence(prob: Problem, sched: Schedule, out: list[Violation]) -> None:
    A = sched.assignments
    for op in prob.ops:
        a = A[op.index]
        for q in op.preds:
            b = A[q]
            pq = prob.ops[q]
            if op.transfer_batch:
                need_s = b.start + pq.modes[b.mode].batch_time(op.transfer_batch) + op.min_wait
                need_e = b.end + op.modes[a.mode].batch_time(op.transfer_batch)
                if a.start < need_s or a.end < need_e:
                    _v(out, "precedence", op.key, f"转移批量 {op.transfer_batch} 件：前道 {pq.id} 的首批未完成就开始，或早于前道完工",
                       f"transfer batch {op.transfer_batch}: starts before the first batch of {pq.id} is done or "
                       f"ends before {pq.id} can hand over its last pieces")
            elif a.start < b.end + op.min_wait:
                _v(out, "precedence", op.key, f"前道 {pq.id} 在 {b.end} 完工（最短等待 {op.min_wait}），本工序却在 {a.start} 开始",
                   f"predecessor {pq.id} ends at {b.end} (min wait {op.min_wait}) but this starts at {a.start}")
            if op.max_wait is not None and a.start > b.end + op.max_wait:
                _v(out, "max_wait", op.key, f"距前道 {pq.id} 完工等待 {a.start - b.end}，超过最长等待 {op.max_wait}",
                   f"waits {a.start - b.end} after {pq.id}, more than max_wait {op.max_wait}")


def _resources(prob: Problem, sched: Schedule, out: list[Violation]) -> None:
    A = sched.assignments
    users: dict[int, list[int]] = defaultdict(list)
    sec_users: dict[int, list[int]] = defaultdict(list)
    for op in prob.ops:
        a = A[op.index]
        users[op.modes[a.mode].resource].append(op.index)
        chosen = list(a.secondary)
        if len(set(chosen)) != len(chosen):
            _v(out, "secondary", op.key, "同一辅助资源被重复计入", "a secondary resource is counted twice")
        pool = list(chosen)
        for n in op.needs:
            got = [c for c in pool if c in n.candidates][:n.count]
            if len(got) < n.count:
                _v(out, "secondary", op.key, f"需要 {n.count} 个辅助资源，只分配了 {len(got)} 个",
                   f"needs {n.count} secondary resources, has {len(got)}")
            for c in got:
                pool.remove(c)
        if pool:
            _v(out, "secondary", op.key, "分配了不需要的辅助资源", "holds secondary resources it does not need")
        for c in chosen:
            sec_users[c].append(op.index)
    for r in prob.resources:
        ids = users.get(r.index, []) + sec_users.get(r.index, [])
        if not ids:
            continue
        if r.kind == "batch":
            _batch(prob, r.index, ids, A, out)
        elif r.capacity > 1 or r.kind == "workcenter":
            _cumulative(prob, r.index, ids, A, out, lambda i: prob.ops[i].units if i in users.get(r.index, []) else 1)
        else:
            _unary(prob, r.index, ids, A, out, primary=set(users.get(r.index, [])))
        for i in sec_users.get(r.index, []):
            a = A[i]
            if any(s < a.end and a.start < e for s, e in r.downtime) and a.end > a.start:
                _v(out, "secondary", prob.ops[i].key, f"辅助资源 {r.id} 在此时段不可用", f"secondary resource {r.id} is not available then")


def _unary(prob: Problem, r: int, ids: list[int], A: list[Assignment], out: list[Violation], primary: set[int]) -> None:
    seq = sorted(ids, key=lambda i: (A[i].start, A[i].end))
    res = prob.resources[r]
    setups = prob.has_setups(r)
    prev = None
    for i in seq:
        a = A[i]
        op = prob.ops[i]
        if prev is None:
            need = prob.initial_setup(r, op.attrs) if setups and i in primary and op.pinned is None else 0
            if a.start < need:
                _v(out, "setup", op.key, f"{res.id} 首次换型需 {need} 分钟", f"{res.id} needs {need} minutes of initial changeover")
        else:
            b = A[prev]
            gap = prob.setup(r, prob.ops[prev].attrs, op.attrs) if setups and i in primary and prev in primary else 0
            if op.pinned is not None and prob.ops[prev].pinned is not None:
                gap = 0
            if a.start < b.end + gap and not (a.end == a.start == b.end):
                what = f"（需换型 {gap} 分钟）" if gap else ""
                _v(out, "overlap", op.key, f"{res.id} 上与 {prob.ops[prev].key} 重叠{what}",
                   f"overlaps {prob.ops[prev].key} on {res.id}" + (f" (needs {gap} minutes of changeover)" if gap else ""))
        prev = i


def _cumulative(prob: Problem, r: int, ids: list[int], A: list[Assignment], out: list[Violation], units: Any) -> None:
    res = prob.resources[r]
    events = sorted([(A[i].start, 1, i) for i in ids if A[i].end > A[i].start] +
                    [(A[i].end, 0, i) for i in ids if A[i].end > A[i].start])
    load = 0
    for t, kind, i in events:
        load += units(i) if kind else -units(i)
        if load > res.capacity:
            _v(out, "capacity", prob.ops[i].key, f"{res.id} 在 {t} 时占用 {load}，超过能力 {res.capacity}",
               f"{res.id} holds {load} at {t}, more than its capacity {res.capacity}")
            return


def _batch(prob: Problem, r: int, ids: list[int], A: list[Assignment], out: list[Violation]) -> None:
    res = prob.resources[r]
    for x in range(len(ids)):
        for y in range(x + 1, len(ids)):
            i, j = ids[x], ids[y]
            a, b = A[i], A[j]
            if a.start < b.end and b.start < a.end:
                fam_i, fam_j = prob.ops[i].family, prob.ops[j].family
                if (a.start, a.end) != (b.start, b.end) or fam_i is None or fam_i != fam_j:
                    _v(out, "batch", prob.ops[j].key, f"与 {prob.ops[i].key} 在 {res.id} 上重叠却不在同一批（同族、同起止）",
                       f"overlaps {prob.ops[i].key} on {res.id} without sharing its batch (same family, start and end)")
    _cumulative(prob, r, ids, A, out, lambda i: prob.ops[i].units)

