"""What-if for a rush order (插单模拟): where a planned order would fit, and which released orders it makes later.

``whatif`` releases the planned order in a rehearsal transaction that is always rolled back (its
operation tasks come from its item's default routing exactly as a real release makes them), builds the
plant's problem from the database with it (:func:`planning.build_problem`), and asks ``replan`` — the
scheduling engine, passed in by the caller: this engine does not import it — to insert it into the plan in
force (the tasks' planned machine, start and end). Nothing is written.

``current_plan`` (the plan in force as problem rows) and ``Replan`` are shared with :mod:`.proposals`.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.engine import Engine

from mom.engines.production import documents as D
from mom.engines.production import planning
from mom.engines.production.release import release
from mom.engines.records.context import Ctx
from mom.platform.db.engine import trial_tx
from mom.platform.errors import AccessDenied, InvalidInput

#: ``replan(problem, current, what, time_limit)`` -> a ``mom.schedule-solution/1`` document with ``impact``
#: (reschedule.py). ``current``: the plan in force, rows ``{order, operation, resource, start, end}`` (minutes
#: from the problem's origin); ``what``: ``{"rush": [order codes]}`` (those orders are new: the rest is the
#: plan in force) or ``{"breakdown": {"resource", "start", "end"}}``.
Replan = Callable[[dict[str, Any], list[dict[str, Any]], dict[str, Any], float], dict[str, Any]]


def require_planner(ctx: Ctx) -> None:
    """Planning questions are the planner's (or an administrator's)."""
    if not (ctx.actor.is_admin or "planner" in ctx.actor.role_names):
        raise AccessDenied("只有计划员或管理员可以做排程模拟和处理排程调整建议",
                           "only a planner or an administrator may run what-ifs and decide schedule proposals")


def current_plan(problem: Mapping[str, Any], index: planning.PlanIndex) -> list[dict[str, Any]]:
    """The plan in force as problem rows: each task with a planned machine among its modes and planned times
    (minutes from the origin, never before it). Tasks never planned are left out (the caller then plans them)."""
    code_of = {mid: code for code, mid in index.machines.items()}
    out = []
    for o in problem["orders"]:
        for op in o["operations"]:
            ref = index.tasks.get((o["id"], op["id"]))
            if ref is None or ref.planned_start is None or ref.planned_end is None:
                continue
            resource = code_of.get(ref.machine)
            durations = {m["resource"]: m["duration"] for m in op["modes"]}
            if resource not in durations:
                continue
            start = _minute(index, ref.planned_start)
            end = max(start + 1, _minute(index, ref.planned_end))   # wall-clock minutes: shift breaks included
            out.append({"order": o["id"], "operation": op["id"], "resource": resource, "start": start, "end": end})
    return out


def _minute(index: planning.PlanIndex, t: dt.datetime) -> int:
    return max(0, int((t - index.origin).total_seconds() // 60))


def whatif(engine: Engine, forms: Any, ctx: Ctx, order: str | int, *, replan: Replan, time_limit: float = 5.0
           ) -> dict[str, Any]:
    """Where planned order ``order`` (id or code) would fit among the released orders, and who gets later.

    Returns ``{order, fits, planned_start, planned_end, due, late_minutes, later: [{order, delay_minutes,
    planned_end_before, planned_end_after, due, late_after, newly_late}], message: {zh-CN, en}, solution}``;
    writes nothing."""
    require_planner(ctx)
    with trial_tx(engine) as conn:              # always rolled back: the release is a rehearsal
        D.require_core(conn, forms)
        row = D.resolve(conn, D.compiled(conn, forms, D.ORDER), order, "/order")
        if row.get("status") != "planned":
            raise InvalidInput(f"工单 {row['code']} 不是「已计划」状态：插单模拟只针对尚未下达的工单",
                               f"order {row['code']} is not planned: a what-if is for an order not released yet")
        release(conn, forms, D.acting(ctx), int(row["id"]))
        problem, index = planning.build_problem(conn, forms, now=ctx.now, tz=ctx.tz)
        current = current_plan(problem, index)
    code = row["code"]
    doc = replan(problem, current, {"rush": [code]}, time_limit)
    return answer(index, code, doc)


def _at(index: planning.PlanIndex, minute: int) -> str:
    return index.at(minute).isoformat()


def _hm(minutes: int) -> tuple[str, str]:
    h, m = divmod(int(minutes), 60)
    zh = (f"{h} 小时" if h else "") + (f"{m} 分钟" if m or not h else "")
    en = (f"{h} h" if h else "") + (" " if h and m else "") + (f"{m} min" if m or not h else "")
    return zh, en


def answer(index: planning.PlanIndex, code: str, doc: Mapping[str, Any]) -> dict[str, Any]:
    """The what-if in the planner's words and numbers, from the solution ``doc`` of ``replan``."""
    mine = next(o for o in doc["orders"] if o["order"] == code)
    ref = index.orders[code]
    later = []
    for r in doc.get("impact", {}).get("later", []):
        o = index.orders.get(r["order"])
        later.append({"order": r["order"], "delay_minutes": int(r["delay"]),
                      "planned_end_before": _at(index, r["before"]), "planned_end_after": _at(index, r["completion"]),
                      "due": o.due.isoformat() if o and o.due else None, "late_after": bool(r["late_after"]),
                      "newly_late": bool(r["late_after"] and not r["late_before"])})
    end = index.at(mine["completion"])
    late = int(mine.get("tardiness") or 0)
    starts = [op["start"] for op in doc["operations"] if op["order"] == code]
    due_zh = f"，交期 {ref.due.astimezone(index.origin.tzinfo):%m-%d %H:%M}" if ref.due else "（没有交期）"
    due_en = f", due {ref.due.astimezone(index.origin.tzinfo):%m-%d %H:%M}" if ref.due else " (no due date)"
    fit_zh = f"，晚于交期 {_hm(late)[0]}" if late else ("，能按期完成" if ref.due else "")
    fit_en = f", {_hm(late)[1]} after its due date" if late else (", on time" if ref.due else "")
    zh = [f"插入工单 {code}：预计 {end.astimezone(index.origin.tzinfo):%m-%d %H:%M} 完工{due_zh}{fit_zh}。"]
    en = [f"Inserting order {code}: planned to finish {end.astimezone(index.origin.tzinfo):%m-%d %H:%M}{due_en}{fit_en}."]
    if later:
        zh.append("会推迟的工单：" + "；".join(
            f"{r['order']} 推迟 {_hm(r['delay_minutes'])[0]}" + ("（将延期）" if r["newly_late"] else "") for r in later) + "。")
        en.append("Orders that get later: " + "; ".join(
            f"{r['order']} by {_hm(r['delay_minutes'])[1]}" + (" (now late)" if r["newly_late"] else "") for r in later) + ".")
    else:
        zh.append("其他工单都不会推迟。")
        en.append("No other order gets later.")
    return {"order": code, "fits": late == 0, "planned_start": _at(index, min(starts)) if starts else None,
            "planned_end": end.isoformat(), "due": ref.due.isoformat() if ref.due else None, "late_minutes": late,
            "later": later, "message": {"zh-CN": "".join(zh), "en": " ".join(en)}, "solution": doc}
