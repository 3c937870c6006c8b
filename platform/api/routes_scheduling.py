"""Scheduling: solve, check and reschedule ``mom.schedule-problem/1`` problems (stateless).

The body carries the problem (and, where needed, the schedule in force); the answer is a
``mom.schedule-solution/1`` document. Solving runs in the thread pool for at most ``time_limit``
seconds (capped by MOM_SCHEDULE_MAX_SECONDS)."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query

from mom.engines.scheduling import checker, generate, problem as P, reschedule, solution, solver
from mom.platform.api.deps import CtxDep, EngineDep, RegistryDep, SettingsDep
from mom.platform.api.models import ERRORS
from mom.platform.errors import AccessDenied, InvalidInput, Problem

router = APIRouter(prefix="/api/scheduling", tags=["scheduling"], responses=ERRORS)
BodyDep = Annotated[Any, Body()]


def _body(body: Any, *need: str) -> dict[str, Any]:
    if isinstance(body, dict) and body.get("format") == P.FORMAT:
        body = {"problem": body}
    problems = []
    if not isinstance(body, dict):
        problems.append(Problem("", "请求体应为对象", "the body must be an object", "type"))
    else:
        for key in need:
            if not isinstance(body.get(key), dict):
                problems.append(Problem(f"/{key}", "缺少或不是对象", "missing or not an object", "required"))
    if problems:
        raise InvalidInput("请求体有误", "invalid request body", problems=problems)
    return body


def _number(body: dict[str, Any], key: str, default: float, cap: float) -> float:
    v = body.get(key, default)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
        raise InvalidInput(f"{key} 须为正数", f"{key} must be a positive number",
                           problems=[Problem(f"/{key}", "须为正数（秒）", "must be a positive number of seconds", "range")])
    return min(float(v), cap)


@contextmanager
def _located(where: Callable[[str], str]) -> Iterator[None]:
    """Re-raise an engine's input error with each path placed where it sits in the request body."""
    try:
        yield
    except InvalidInput as exc:
        raise InvalidInput(exc.zh, exc.en, problems=[Problem(where(p.path), p.zh, p.en, p.code)
                                                     for p in exc.problems]) from None


def _under(key: str) -> Callable[[str], str]:
    return lambda path: f"/{key}{path}"


def _load(body: dict[str, Any]) -> P.Problem:
    with _located(_under("problem")):
        return P.load(body["problem"])


def _previous(prob: P.Problem, body: dict[str, Any]) -> Any:
    if body.get("previous") is None:
        return None
    with _located(_under("previous")):
        return solution.from_json(prob, body["previous"])


@router.post("/solve", summary="Solve a scheduling problem (dispatching, then CP-SAT within time_limit seconds)")
def solve(body: BodyDep, ctx: CtxDep, settings: SettingsDep) -> dict[str, Any]:
    b = _body(body, "problem")
    limit = _number(b, "time_limit", 10.0, settings.schedule_max_seconds)
    prob = _load(b)
    prev = _previous(prob, b)
    res = solver.solve(prob, time_limit=limit, workers=settings.schedule_workers, seed=int(b.get("seed") or 0),
                       previous=prev)
    return solution.to_json(res.problem, res.schedule, violations=res.violations, changes=res.changes() if prev else None)


@router.post("/check", summary="Check a solution against its problem (independent of the solver)")
def check(body: BodyDep, ctx: CtxDep) -> dict[str, Any]:
    b = _body(body, "problem", "solution")
    prob = _load(b)
    with _located(_under("solution")):
        sched = solution.from_json(prob, b["solution"])
    viol = checker.check(prob, sched)
    return {"feasible": not viol, "violations": [v.as_dict() for v in viol]}


@router.post("/reschedule", summary="Reschedule after a breakdown, or what-if for rush orders")
def reschedule_(body: BodyDep, ctx: CtxDep, settings: SettingsDep) -> dict[str, Any]:
    b = _body(body, "problem", "previous")
    limit = _number(b, "time_limit", 5.0, settings.schedule_max_seconds)
    prob = _load(b)
    prev = _previous(prob, b)
    if isinstance(b.get("breakdown"), dict):
        bd = b["breakdown"]
        bad = [Problem(f"/breakdown/{k}", "缺少或类型不对", "missing or of the wrong type", "required")
               for k, t in (("resource", str), ("start", int)) if not isinstance(bd.get(k), t) or isinstance(bd.get(k), bool)]
        if bd.get("end") is not None and not isinstance(bd["end"], int):
            bad.append(Problem("/breakdown/end", "应为整数分钟", "must be an integer (minutes)", "type"))
        if bad:
            raise InvalidInput("故障描述有误", "invalid breakdown", problems=bad)
        where = {"/resource": "/breakdown/resource", "/until": "/breakdown/end", "/policy": "/breakdown/policy"}
        with _located(lambda path: where.get(path, path)):
            return reschedule.breakdown(b["problem"], prev, resource=bd["resource"], start=bd["start"], end=bd.get("end"),
                                        policy=bd.get("policy", "split"), time_limit=limit, workers=settings.schedule_workers)
    if isinstance(b.get("rush"), list):
        now = b.get("now", 0)
        if not isinstance(now, int) or isinstance(now, bool) or now < 0:
            raise InvalidInput("now 应为非负整数分钟", "now must be a non-negative integer (minutes)",
                               problems=[Problem("/now", "应为非负整数", "must be a non-negative integer", "type")])
        return reschedule.rush(b["problem"], prev, b["rush"], now=now, time_limit=limit, workers=settings.schedule_workers)
    raise InvalidInput("请给出 breakdown（设备故障）或 rush（急单列表）", "give breakdown (a machine failure) or rush (a list of orders)",
                       problems=[Problem("/breakdown", "缺少 breakdown 或 rush", "breakdown or rush is required", "required")])


@router.post("/plan", summary="Schedule the released orders in the database; with apply, write the plan back")
def plan(ctx: CtxDep, settings: SettingsDep, engine: EngineDep, forms: RegistryDep,
         body: Annotated[Any, Body()] = None) -> dict[str, Any]:
    """Body ``{time_limit?, apply?}`` (apply defaults to false: a preview). Planner role or administrator.
    Answers ``{summary, written, changed, solution}`` (docs/scheduling.md, "Scheduling the plant's orders")."""
    from mom.engines.production import planning

    _planner(ctx)
    b = {} if body is None else body
    if not isinstance(b, dict):
        raise InvalidInput("请求体应为对象", "the body must be an object",
                           problems=[Problem("", "请求体应为对象", "the body must be an object", "type")])
    limit = _number(b, "time_limit", 10.0, settings.schedule_max_seconds)
    apply = b.get("apply", False)
    if not isinstance(apply, bool):
        raise InvalidInput("apply 应为 true 或 false", "apply must be true or false",
                           problems=[Problem("/apply", "应为 true 或 false", "must be true or false", "type")])

    def solve(problem: dict[str, Any], time_limit: float) -> dict[str, Any]:
        res = solver.solve(problem, time_limit=time_limit, workers=settings.schedule_workers)
        return solution.to_json(res.problem, res.schedule, violations=res.violations)

    return planning.plan(engine, forms, ctx, solve=solve, time_limit=limit, apply=apply)


@router.get("/example", summary="A generated factory problem to try the engine and the schedule board on")
def example(ctx: CtxDep, orders: Annotated[int, Query(ge=-2**31, le=2**31)] = 12,
            machines: Annotated[int, Query(ge=-2**31, le=2**31)] = 9, seed: Annotated[int, Query(ge=0, le=2**31 - 1)] = 1,
            days: Annotated[int, Query(ge=-2**31, le=2**31)] = 5) -> dict[str, Any]:
    bad = [Problem(f"/{k}", f"应在 {lo} 到 {hi} 之间", f"must be between {lo} and {hi}", "range")
           for k, v, lo, hi in (("orders", orders, 1, 500), ("machines", machines, 8, 60), ("days", days, 1, 60))
           if not lo <= v <= hi]
    if bad:
        raise InvalidInput("示例参数超出范围", "example parameters out of range", problems=bad)
    return generate.factory(orders=orders, machines=machines, seed=seed, days=days)


def _planner(ctx: Any) -> None:
    if not (ctx.actor.is_admin or "planner" in ctx.actor.role_names):
        raise AccessDenied("只有计划员或管理员可以排程", "only a planner or an administrator may plan the schedule")


@router.get("/current", summary="The plan in force: the open orders' problem and the schedule written on their tasks")
def current(ctx: CtxDep, engine: EngineDep, forms: RegistryDep) -> dict[str, Any]:
    """``{problem, solution, unplanned, notes, message?}``: ``solution`` is the stored schedule as a
    ``mom.schedule-solution/1`` document (KPIs, Gantt, checker) over the orders whose every open task is
    planned; ``unplanned`` names the others; ``problem`` is None when nothing is released (``message``)."""
    from mom.engines.production import board
    from mom.platform.db.engine import read_tx

    with read_tx(engine) as conn:
        out = board.current(conn, forms, ctx, now=ctx.now, tz=ctx.tz)
    if out["problem"] is None:
        return out
    shown = {**out["problem"], "orders": [o for o in out["problem"]["orders"] if o["id"] not in set(out["unplanned"])]}
    if not shown["orders"]:
        return {**out, "solution": None}
    prob = P.load(shown)
    sched = solution.from_json(prob, out["solution"])
    return {**out, "solution": solution.to_json(prob, sched)}


@router.post("/pin", summary="Pin an operation task on a machine from a time (the next plan keeps it), or unpin it")
def pin(ctx: CtxDep, engine: EngineDep, forms: RegistryDep, body: BodyDep) -> dict[str, Any]:
    """Body ``{task: id or code, machine?: code or id, start: ISO date-time with zone | null to unpin}``;
    planner or administrator. Answers the task (code, machine, planned_start, planned_end, pinned)."""
    from mom.engines.production import board
    from mom.platform.db.engine import write_tx

    _planner(ctx)
    b = body if isinstance(body, dict) else None
    bad = []
    if b is None or isinstance(b.get("task"), bool) or not isinstance(b.get("task"), (int, str)) or b.get("task") == "":
        bad.append(Problem("/task", "缺少工序任务（编号或 id）", "the task (code or id) is missing", "required"))
    elif "start" not in b or not (b["start"] is None or isinstance(b["start"], str)):
        bad.append(Problem("/start", "缺少开始时间（解除锁定时为 null）", "start is missing (null to unpin)", "required"))
    elif b.get("machine") is not None and (isinstance(b["machine"], bool) or not isinstance(b["machine"], (int, str))):
        bad.append(Problem("/machine", "设备应为设备编号", "machine must be a machine code", "type"))
    if bad:
        raise InvalidInput("锁定请求有误", "invalid pin request", problems=bad)
    with write_tx(engine) as conn:
        return board.pin(conn, forms, ctx, b["task"], b.get("machine"), b["start"])
