"""Read and validate a ``mom.schedule-problem/1`` document into a ``Problem`` (the types are in model.py).

Every problem in the input is reported at once, each at its JSON pointer. See docs/scheduling.md
for the format; the JSON Schema is ``schema/problem-1.json``.
"""
from __future__ import annotations

import datetime as dt
import math
from functools import lru_cache
from pathlib import Path
from typing import Any

from mom.engines.definitions.jsonschema import load_schema, schema_problems
from mom.engines.scheduling import calendar as cal
from mom.engines.scheduling.model import (FORMAT, KINDS_PRIMARY, MAX_HORIZON, TERMS, Mode, Need, Operation, Order,
                                          Pinned, Problem, Resource, SetupMatrix, longest_changeover)
from mom.platform.errors import ProblemList, did_you_mean

__all__ = ["FORMAT", "KINDS_PRIMARY", "MAX_HORIZON", "SCHEMA_PATH", "TERMS", "Mode", "Need", "Operation", "Order",
           "Pinned", "Problem", "Resource", "SetupMatrix", "load", "longest_changeover", "problem_schema"]

SCHEMA_PATH = Path(__file__).parent / "schema" / "problem-1.json"


def problem_schema() -> dict[str, Any]:
    return load_schema(SCHEMA_PATH)


@lru_cache
def _fast_validator() -> Any:
    import fastjsonschema
    schema = {k: v for k, v in problem_schema().items() if k != "$schema"}
    return fastjsonschema.compile(schema, formats={"date": _is_date, "date-time": lambda s: _parse_origin(s) is not None})


def _schema_ok(raw: Any) -> bool:
    """A compiled pre-check (a large problem validates in milliseconds); errors go to jsonschema for paths."""
    import fastjsonschema
    try:
        _fast_validator()(raw)
        return True
    except fastjsonschema.JsonSchemaException:
        return False


# ---------------------------------------------------------------- reading
def _parse_origin(raw: Any) -> dt.datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        return dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None


def _hhmm(s: str) -> int:
    h, m = s.split(":")
    return int(h) * 60 + int(m)


def _calendar_windows(spec: dict[str, Any], horizon: int, origin: dt.datetime | None, path: str,
                      problems: ProblemList) -> cal.Windows:
    if "intervals" in spec:
        base = cal.merge(tuple(w) for w in spec["intervals"])
    else:
        shifts = []
        for i, (a, b) in enumerate(spec.get("shifts") or [("00:00", "24:00")]):
            s, e = _hhmm(a), _hhmm(b)
            if e <= s:
                e += cal.DAY       # a night shift 22:00-06:00 runs into the next day
            shifts.append((s, e))
        if origin is None and ("workdays" in spec or "holidays" in spec):
            problems.add(f"{path}/workdays" if "workdays" in spec else f"{path}/holidays",
                         "使用工作日或节假日时，问题必须给出 origin（时间 0 对应的日期时刻）",
                         "workdays and holidays need the problem's origin (the date-time of time 0)", "origin")
        holidays = frozenset(dt.date.fromisoformat(d) for d in spec.get("holidays", ()) if _is_date(d))
        wd = frozenset(spec["workdays"]) if "workdays" in spec else None
        base = cal.expand_pattern(shifts, horizon, origin=origin, workdays=wd, holidays=holidays,
                                  off_days=frozenset(spec.get("off_days", ())))
    return cal.subtract(cal.clip(base, horizon), (tuple(w) for w in spec.get("downtime", ())))


def _is_date(s: Any) -> bool:
    try:
        dt.date.fromisoformat(s)
        return True
    except (TypeError, ValueError):
        return False


def _windows_ok(windows: list[Any], path: str, problems: ProblemList) -> None:
    for i, w in enumerate(windows):
        if isinstance(w, list) and len(w) == 2 and isinstance(w[0], int) and isinstance(w[1], int) and w[1] < w[0]:
            problems.add(f"{path}/{i}", f"时间段结束 {w[1]} 早于开始 {w[0]}", f"window ends ({w[1]}) before it starts ({w[0]})",
                         "window")


def load(raw: Any) -> Problem:
    """Validate ``raw`` and build the ``Problem``; raises ``InvalidInput`` listing every problem."""
    problems = ProblemList()
    if not _schema_ok(raw):
        schema_problems(raw, problem_schema(), problems)
    problems.raise_if_any("排程问题格式不正确", "the scheduling problem does not match mom.schedule-problem/1")
    return _Builder(raw, problems).build()


class _Builder:
    def __init__(self, raw: dict[str, Any], problems: ProblemList) -> None:
        self.raw = raw
        self.p = problems
        self.origin = _parse_origin(raw.get("origin"))
        self.matrices = {name: SetupMatrix(m.get("default", 0), m.get("same", 0),
                                           {(r.get("from"), r.get("to")): r["time"] for r in m.get("rules", [])})
                         for name, m in raw.get("setup_matrices", {}).items()}

    def build(self) -> Problem:
        raw, p = self.raw, self.p
        res_by_id: dict[str, int] = {}
        for i, r in enumerate(raw["resources"]):
            if r["id"] in res_by_id:
                p.add(f"/resources/{i}/id", f"资源编号重复：{r['id']}", f"duplicate resource id {r['id']}", "duplicate")
            res_by_id.setdefault(r["id"], i)
            _windows_ok(r.get("downtime", []), f"/resources/{i}/downtime", p)
            if r.get("calendar") is not None and r["calendar"] not in raw.get("calendars", {}):
                names = set(raw.get("calendars", {}))
                p.add(f"/resources/{i}/calendar", f"未定义的日历 {r['calendar']}{did_you_mean(r['calendar'], names)}",
                      f"unknown calendar {r['calendar']}{did_you_mean(r['calendar'], names)}", "unknown")
            for j, a in enumerate(r.get("setups", [])):
                if a not in self.matrices:
                    p.add(f"/resources/{i}/setups/{j}", f"未定义的换型矩阵 {a}{did_you_mean(a, set(self.matrices))}",
                          f"unknown setup matrix {a}{did_you_mean(a, set(self.matrices))}", "unknown")
        for name, c in raw.get("calendars", {}).items():
            _windows_ok(c.get("intervals", []), f"/calendars/{name}/intervals", p)
            _windows_ok(c.get("downtime", []), f"/calendars/{name}/downtime", p)
        self.res_by_id = res_by_id
        orders, ops, op_by_key = self._orders()
        p.raise_if_any("排程问题有误", "the scheduling problem has errors")
        terms, mode, weights = self._objective(orders)
        horizon = self._horizon(ops, orders)
        resources = self._resources(horizon)
        prob = Problem(raw=raw, name=raw.get("name", ""), origin=self.origin, horizon=horizon,
                       frozen_until=raw.get("frozen_until", 0), resources=resources, orders=orders, ops=ops,
                       matrices=self.matrices, objective_mode=mode, terms=terms, weights=weights,
                       res_by_id=res_by_id, op_by_key=op_by_key)
        self._check_fit(prob)
        self._pin_ends(prob)
        prob.regrow = self._resources
        p.raise_if_any("排程问题有误", "the scheduling problem has errors")
        return prob

    def _resources(self, horizon: int) -> list[Resource]:
        out = []
        all_attrs = tuple(self.matrices)
        for i, r in enumerate(self.raw["resources"]):
            kind = r.get("kind", "machine")
            if kind == "machine" and r.get("capacity", 1) > 1:
                kind = "workcenter"      # several identical places: a work centre (no changeovers)
            downtime = cal.merge(tuple(w) for w in r.get("downtime", []))
            windows: cal.Windows | None = None
            if r.get("calendar") is not None:
                spec = self.raw["calendars"][r["calendar"]]
                windows = _calendar_windows(spec, horizon, self.origin, f"/calendars/{r['calendar']}", self.p)
            if kind in KINDS_PRIMARY:
                if downtime:
                    windows = cal.subtract(windows if windows is not None else [(0, horizon)], downtime)
            elif windows is not None:
                # operators and tools: time off their calendar is simply time they are not there
                downtime = cal.merge([*downtime, *cal.subtract([(0, horizon)], windows)])
                windows = None
            setups = tuple(r["setups"]) if "setups" in r else (all_attrs if kind == "machine" else ())
            out.append(Resource(i, r["id"], r.get("name", r["id"]), kind, r.get("capacity", 1), windows, downtime,
                                setups, dict(r.get("initial", {})), frozenset(r.get("skills", []))))
        return out

    def _orders(self) -> tuple[list[Order], list[Operation], dict[tuple[str, str], int]]:
        p, raw = self.p, self.raw
        orders: list[Order] = []
        ops: list[Operation] = []
        op_by_key: dict[tuple[str, str], int] = {}
        seen: set[str] = set()
        for oi, o in enumerate(raw["orders"]):
            path = f"/orders/{oi}"
            if o["id"] in seen:
                p.add(f"{path}/id", f"订单编号重复：{o['id']}", f"duplicate order id {o['id']}", "duplicate")
            seen.add(o["id"])
            order = Order(oi, o["id"], o.get("name", o["id"]), o.get("due"), float(o.get("weight", 1)),
                          o.get("release", 0), o.get("quantity"), [])
            orders.append(order)
            local: dict[str, int] = {}
            for k, op in enumerate(o["operations"]):
                opath = f"{path}/operations/{k}"
                if op["id"] in local:
                    p.add(f"{opath}/id", f"工序编号在订单内重复：{op['id']}", f"duplicate operation id {op['id']} in this order",
                          "duplicate")
                idx = len(ops)
                if "after" in op:
                    preds = []
                    for j, a in enumerate(op["after"]):
                        if a not in local:
                            later = any(x["id"] == a for x in o["operations"][k + 1:])
                            zh = "前道工序须写在本工序之前" if later else f"本订单没有工序 {a}{did_you_mean(a, set(local))}"
                            en = "a predecessor must be listed before this operation" if later else \
                                f"no operation {a} in this order{did_you_mean(a, set(local))}"
                            p.add(f"{opath}/after/{j}", zh, en, "unknown")
                        else:
                            preds.append(local[a])
                else:
                    preds = [idx - 1] if k > 0 else []
                modes = self._modes(op, order, opath)
                needs = self._needs(op, opath)
                operation = Operation(idx, oi, op["id"], op.get("name", op["id"]), modes, tuple(preds),
                                      op.get("transfer_batch"), op.get("min_wait", 0), op.get("max_wait"),
                                      dict(op.get("attributes", {})), needs, order.release,
                                      [(m["item"], m["available"]) for m in op.get("materials", [])],
                                      op.get("pausable", True), op.get("units", 1),
                                      op.get("batch_family", op.get("attributes", {}).get("batch_family")),
                                      order_id=o["id"])
                if op.get("max_wait") is not None and op["max_wait"] < op.get("min_wait", 0):
                    p.add(f"{opath}/max_wait", "最长等待不能小于最短等待", "max_wait must not be below min_wait", "range")
                if op.get("transfer_batch") and not preds:
                    p.add(f"{opath}/transfer_batch", "没有前道工序时不能设转移批量",
                          "transfer_batch needs a predecessor (it says how many pieces of it must be done first)", "range")
                if op.get("transfer_batch") and order.quantity is None:
                    p.add(f"{opath}/transfer_batch", "使用转移批量时订单须给出 quantity",
                          "transfer_batch needs the order's quantity", "required")
                if "pinned" in op:
                    operation.pinned = self._pinned(op["pinned"], modes, needs, f"{opath}/pinned")
                ops.append(operation)
                order.ops.append(idx)
                local[op["id"]] = idx
                op_by_key[(o["id"], op["id"])] = idx
        for op in ops:
            for q in op.preds:
                ops[q].succs.append(op.index)
        return orders, ops, op_by_key

    def _modes(self, op: dict[str, Any], order: Order, path: str) -> list[Mode]:
        out = []
        for m, mode in enumerate(op["modes"]):
            mp = f"{path}/modes/{m}"
            rid = mode["resource"]
            if rid not in self.res_by_id:
                self.p.add(f"{mp}/resource", f"未定义的资源 {rid}{did_you_mean(rid, set(self.res_by_id))}",
                           f"unknown resource {rid}{did_you_mean(rid, set(self.res_by_id))}", "unknown")
                continue
            kind = self.raw["resources"][self.res_by_id[rid]].get("kind", "machine")
            if kind not in KINDS_PRIMARY:
                self.p.add(f"{mp}/resource", f"{rid} 是 {kind}，只能出现在 needs 中（作为辅助资源）",
                           f"{rid} is a {kind}: list it under needs (a secondary resource), not as a mode", "kind")
            qty = order.quantity
            if "duration" in mode:
                dur = mode["duration"]
                per = dur / qty if qty else float(dur)
            elif "unit_time" in mode:
                if qty is None:
                    self.p.add(f"{mp}/unit_time", "按单件工时计算时，订单须给出 quantity",
                               "unit_time needs the order's quantity", "required")
                    continue
                dur = mode.get("fixed", 0) + math.ceil(mode["unit_time"] * qty - 1e-9)
                per = mode["unit_time"]
            else:
                self.p.add(mp, "须给出 duration（分钟）或 unit_time（每件分钟数）",
                           "give duration (minutes) or unit_time (minutes per piece)", "required")
                continue
            if any(x.resource == self.res_by_id[rid] for x in out):
                self.p.add(f"{mp}/resource", f"资源 {rid} 在本工序的可选资源中重复", f"resource {rid} is listed twice",
                           "duplicate")
            out.append(Mode(self.res_by_id[rid], int(dur), per))
        return out

    def _needs(self, op: dict[str, Any], path: str) -> list[Need]:
        out = []
        for j, n in enumerate(op.get("needs", [])):
            npath = f"{path}/needs/{j}"
            given = [k for k in ("resource", "any_of", "skill") if k in n]
            if len(given) != 1:
                self.p.add(npath, "每项需求须且只须给出 resource、any_of 或 skill 之一",
                           "give exactly one of resource, any_of or skill", "need")
                continue
            if "skill" in n:
                cands = [i for i, r in enumerate(self.raw["resources"]) if n["skill"] in r.get("skills", [])]
                if not cands:
                    self.p.add(f"{npath}/skill", f"没有任何资源具备技能 {n['skill']}", f"no resource has skill {n['skill']}",
                               "unknown")
                    continue
            else:
                ids = [n["resource"]] if "resource" in n else n["any_of"]
                cands = []
                for k, rid in enumerate(ids):
                    if rid not in self.res_by_id:
                        at = f"{npath}/resource" if "resource" in n else f"{npath}/any_of/{k}"
                        self.p.add(at, f"未定义的资源 {rid}{did_you_mean(rid, set(self.res_by_id))}",
                                   f"unknown resource {rid}{did_you_mean(rid, set(self.res_by_id))}", "unknown")
                    else:
                        cands.append(self.res_by_id[rid])
            count = n.get("count", 1)
            if cands and count > len(cands):
                self.p.add(f"{npath}/count", f"需要 {count} 个，但只有 {len(cands)} 个候选资源",
                           f"needs {count} but only {len(cands)} candidates exist", "range")
            out.append(Need(tuple(sorted(set(cands))), count))
        return out

    def _pinned(self, pin: dict[str, Any], modes: list[Mode], needs: list[Need], path: str) -> Pinned | None:
        rid = self.res_by_id.get(pin["resource"])
        mode = next((k for k, m in enumerate(modes) if m.resource == rid), None)
        if mode is None:
            self.p.add(f"{path}/resource", f"{pin['resource']} 不是本工序的可选资源",
                       f"{pin['resource']} is not one of this operation's modes", "pinned")
            return None
        end = pin.get("end")
        if end is not None and end < pin["start"]:
            self.p.add(f"{path}/end", "结束早于开始", "end is before start", "range")
        sec = tuple(self.res_by_id[s] for s in pin.get("secondary", []) if s in self.res_by_id)
        return Pinned(mode, pin["start"], end if end is not None else -1, sec)

    def _objective(self, orders: list[Order]) -> tuple[tuple[str, ...], str, dict[str, float]]:
        obj = self.raw.get("objective", {})
        has_due = any(o.due is not None for o in orders)
        default = ("weighted_tardiness", "makespan", "setup_time") if has_due else ("makespan", "setup_time")
        if obj.get("mode") == "weighted" or ("weights" in obj and "terms" not in obj):
            weights = obj.get("weights") or {t: 1.0 for t in default}
            return tuple(t for t in TERMS if weights.get(t)), "weighted", dict(weights)
        terms = tuple(obj.get("terms") or default)
        return terms, "lexicographic", {}

    def _horizon(self, ops: list[Operation], orders: list[Order]) -> int:
        if "horizon" in self.raw:
            return self.raw["horizon"]
        times = [self.raw.get("frozen_until", 0), *(o.due or 0 for o in orders)]
        # downtime and explicit working windows far out must lie inside the horizon
        for r in self.raw["resources"]:
            times.extend(w[1] for w in r.get("downtime", []))
        for c in self.raw.get("calendars", {}).values():
            times.extend(w[1] for w in [*c.get("downtime", []), *c.get("intervals", [])])
        for op in ops:
            times.append(op.ready)
            if op.pinned:
                times.append(max(op.pinned.start, op.pinned.end))
        setup = longest_changeover(self.matrices)
        work = sum(max(m.duration for m in op.modes) + setup + op.min_wait for op in ops if op.modes)
        chain = [0] * len(ops)
        for op in ops:
            own = max((m.duration for m in op.modes), default=0) + setup + op.min_wait
            chain[op.index] = own + max([chain[q] for q in op.preds], default=0)
        n_primary = max(1, sum(1 for r in self.raw["resources"] if r.get("kind", "machine") in KINDS_PRIMARY))
        # a first guess; Problem.grow() doubles it when a schedule does not fit (always safe, rarely needed)
        base = max(times) + max(2 * work // n_primary, 2 * max(chain, default=0)) + 1
        # calendars stretch working minutes into wall minutes: find how far `base` working minutes reach
        wall = base
        for name, spec in self.raw.get("calendars", {}).items():
            week = _calendar_windows(spec, 28 * cal.DAY, self.origin, f"/calendars/{name}", ProblemList())
            per_min = sum(e - s for s, e in week) / (28 * cal.DAY)
            if per_min <= 0:
                continue
            wall = max(wall, int(base / per_min) + 14 * cal.DAY)
        return min(wall, MAX_HORIZON)

    def _check_fit(self, prob: Problem) -> None:
        """Refuse at once what no schedule can satisfy: an operation that fits no shift of any of its resources."""
        for op in prob.ops:
            fits = any(prob.resources[m.resource].windows is None or m.duration == 0 or op.pausable
                       or any(e - s >= m.duration for s, e in prob.resources[m.resource].windows) for m in op.modes)
            if op.modes and not fits:
                k = prob.orders[op.order].ops.index(op.index)
                self.p.add(f"/orders/{op.order}/operations/{k}/pausable",
                           "工序时长超过其所有资源的任何一个班次，且不允许跨休息暂停：请设 pausable=true 或拆分工序",
                           "the operation is longer than every shift of its resources and may not pause: set pausable "
                           "to true or split it", "fit")

    @staticmethod
    def _pin_ends(prob: Problem) -> None:
        """A pinned operation without an end runs its mode's duration (on the calendar, if it may pause)."""
        for op in prob.ops:
            if op.pinned and op.pinned.end < 0:
                m = op.modes[op.pinned.mode]
                w = prob.resources[m.resource].windows
                end = cal.work_end(w, op.pinned.start, m.duration) if op.pausable else op.pinned.start + m.duration
                op.pinned = Pinned(op.pinned.mode, op.pinned.start, end if end is not None else op.pinned.start + m.duration,
                                   op.pinned.secondary)
