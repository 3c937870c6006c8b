"""Schedule proposals for materials (物料延迟 / 批次冻结 → 排程调整建议, issue 21 item 5).

A purchase order whose line's due date moves later, or a lot set to blocked (冻结) or quarantine (待检), makes
the core pack's rules ``core_material_proposal`` / ``core_lot_block_proposal`` call the engine hook
``production.material_proposal`` (registered by ``mom.platform.material_replanning``), which calls
:func:`propose_material`: the plant's problem from the database, now with the components' arrivals
(materials.py); when an operation of the plan in force starts before its material is there, the plan is
solved again close to the plan in force (``solve_stable``, passed in) and every task that changes becomes a
row of a pending ``schedule_proposal`` with reason ``material`` or ``quality`` and ``cause``
(``purchase_order:ID`` / ``lot:ID``). One pending proposal per cause: a later change of the same purchase
order or lot rewrites that proposal rather than adding one. Accepting and rejecting are proposals.py's.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.production import documents as D
from mom.engines.production import planning, proposals
from mom.engines.production.whatif import current_plan
from mom.engines.records.context import Ctx
from mom.platform.errors import InvalidInput, NotFound

#: (problem, plan in force rows, time limit) -> a mom.schedule-solution/1 document close to the plan in force
SolveStable = Callable[[dict[str, Any], list[dict[str, Any]], float], dict[str, Any]]
CAUSES = {"purchase_order": ("material", "采购订单", "purchase order"), "lot": ("quality", "批次", "lot")}
LOT_ZH = {"blocked": "冻结", "quarantine": "待检"}


def _late_ops(problem: Mapping[str, Any], current: list[dict[str, Any]]) -> list[tuple[str, str, int, int]]:
    """(order, operation, planned start, material there) of the plan in force's operations that start
    before their material arrives."""
    ready = {(o["id"], op["id"]): max(m["available"] for m in op["materials"])
             for o in problem["orders"] for op in o["operations"] if op.get("materials")}
    return [(r["order"], r["operation"], r["start"], ready[(r["order"], r["operation"])]) for r in current
            if (r["order"], r["operation"]) in ready and r["start"] < ready[(r["order"], r["operation"])]]


def _cause_row(conn: Connection, forms: Any, form: str, rid: int) -> dict[str, Any] | None:
    try:
        return D.row(conn, D.compiled(conn, forms, form), int(rid))
    except NotFound:
        return None


def propose_material(conn: Connection, forms: Any, ctx: Ctx, form: str, record_id: int, *, solve_stable: SolveStable,
                     time_limit: float = 5.0) -> dict[str, Any]:
    """A pending ``schedule_proposal`` for the plan in force no longer fitting the components' arrivals after
    ``form`` (purchase_order | lot) record ``record_id`` changed; ``{proposal, code, changes, summary}``, or
    ``{skipped: reason}`` when the plan in force still fits (an earlier date, nothing planned, nothing needs it)."""
    if form not in CAUSES:
        return {"skipped": f"no material proposal for {form}"}
    f_prop = proposals._form(conn, forms)
    cause = _cause_row(conn, forms, form, record_id)
    if cause is None:
        return {"skipped": f"{form} {record_id} is gone"}
    try:
        problem, index = planning.build_problem(conn, forms, now=ctx.now, tz=ctx.tz)
    except InvalidInput as exc:
        return {"skipped": exc.en}
    current = current_plan(problem, index)
    late = _late_ops(problem, current)
    if not late:
        return {"skipped": "the plan in force already waits for every component"}
    doc = solve_stable(problem, current, time_limit)
    changes = proposals._changes(index, doc)
    if not changes:
        return {"skipped": "the new plan is the plan in force"}
    key = f"{form}:{int(record_id)}"
    summary = _summary(form, cause, index, doc, changes, late)
    reason = CAUSES[form][0]
    t = f_prop.main
    open_one = conn.execute(sa.select(t.c.id).where(t.c.cause == key, t.c.status == "pending", t.c.deleted_at.is_(None))
                            .order_by(t.c.id.desc())).first()
    values = {"reason": reason, "status": "pending", "cause": key, "summary": summary, "changes": changes}
    if open_one is not None:
        D.update(conn, forms, ctx, proposals.PROPOSAL, int(open_one[0]), {k: v for k, v in values.items() if k != "status"})
        pid = int(open_one[0])
    else:
        pid = D.create(conn, forms, ctx, proposals.PROPOSAL, [values])[0]
    rec = D.row(conn, f_prop, pid) or {}
    return {"proposal": pid, "code": rec.get("code"), "changes": len(changes), "summary": summary,
            "replaced": open_one is not None}


def _summary(form: str, cause: Mapping[str, Any], index: planning.PlanIndex, doc: Mapping[str, Any],
             changes: list[dict[str, Any]], late: list[tuple[str, str, int, int]]) -> str:
    """The proposal in the planner's words (zh-CN, then en): the cause, the orders that move and by how much."""
    _, zh_form, en_form = CAUSES[form]
    name = cause.get("code") or cause.get("number") or cause.get("id")
    if form == "lot":
        st = str(cause.get("status"))
        zh = [f"{zh_form} {name} 已{LOT_ZH.get(st, st)}，不能领用："]
        en = [f"Lot {name} is {st} and cannot be issued: "]
    else:
        zh = [f"{zh_form} {name} 到货推迟："]
        en = [f"Purchase order {name} arrives later: "]
    zh.append(f"{len({(o, op) for o, op, _, _ in late})} 道工序等不到物料，{len(changes)} 道工序需调整。")
    en.append(f"{len({(o, op) for o, op, _, _ in late})} operation(s) would start before their material, "
              f"{len(changes)} operation(s) to change.")
    moved = order_delays(index, doc)
    if moved:
        zh.append("推迟的工单：" + "；".join(f"{o} 推迟 {_span_zh(m)}" for o, m in moved) + "。")
        en.append("Orders later: " + "; ".join(f"{o} by {m} min" for o, m in moved) + ".")
    return ("".join(zh) + "\n" + " ".join(en))[:4000]


def order_delays(index: planning.PlanIndex, doc: Mapping[str, Any]) -> list[tuple[str, int]]:
    """(order, minutes later) of each order the solution finishes after its planned end, most delayed first."""
    out = []
    for o in doc.get("orders", []):
        ref = index.orders.get(o["order"])
        if ref is None or ref.planned_end is None:
            continue
        d = int((index.at(o["completion"]) - ref.planned_end).total_seconds() // 60)
        if d > 0:
            out.append((o["order"], d))
    return sorted(out, key=lambda r: -r[1])


def _span_zh(minutes: int) -> str:
    if minutes < 60:
        return f"{minutes} 分钟"
    if minutes < 24 * 60:
        return f"{minutes / 60:.1f} 小时"
    return f"{minutes / 1440:.1f} 天"
