"""直通率 RTY (rolled throughput yield) per production order, and per item over a period (issue 22).

Definition (Six Sigma; Keller, *Six Sigma Demystified*, and the ASQ glossary): the probability that a unit
passes every step of a process defect-free the first time, the product of the steps' first-pass yields,
``RTY = FPY₁ × FPY₂ × … × FPYₙ``. Here a step is an operation of the order (an ``operation_task``) and its
first-pass yield is what the quality pack's report ``first_pass_yield`` already says:
``FPY = good ÷ (good + scrap + rework)`` summed over the operation's job reports (corrections count by
their changes; a reworked piece is not first-pass good). A rejected in-process inspection enters through
its NCR: the rework or scrap it disposes is reported on the operation (so it is not counted twice); the
judged and rejected inspection lots of each operation are shown beside it.

Everything is read within the caller's read rights and row scopes on production orders, operation tasks,
job reports and inspection lots: what the caller may not read is neither counted nor shown.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.records.access import form_access
from mom.engines.records.context import Ctx
from mom.platform.errors import InvalidInput, NotFound, Problem

ORDER, TASK, REPORT, LOT, ITEM = "production_order", "operation_task", "job_report", "inspection_lot", "item"
IPQC = ("ipqc_first", "ipqc_patrol", "ipqc_last")
MAX_DAYS, MAX_ORDERS = 400, 500
DEFINITION = {"zh-CN": "直通率 = 各工序一次合格率之积；一次合格率 = 合格 ÷（合格 + 报废 + 返工），按该工序的报工合计",
              "en": "RTY = the product of the operations' first-pass yields; FPY = good ÷ (good + scrap + rework) over "
                    "the operation's job reports"}


def first_pass_yield(good: Any, scrap: Any, rework: Any) -> float | None:
    """good ÷ (good + scrap + rework); None when nothing was processed."""
    g, s, r = (Decimal(str(v or 0)) for v in (good, scrap, rework))
    made = g + s + r
    return None if made <= 0 else float(max(g, Decimal(0)) / made)


def rolled(yields: Iterable[float | None]) -> float | None:
    """Π FPYᵢ over the steps that have a yield; None when none has."""
    have = [float(y) for y in yields if y is not None]
    return math.prod(have) if have else None


def _readable(conn: Connection, forms: Any, ctx: Ctx, name: str, *, required: bool = True) -> tuple[Any, Any] | None:
    """(table, row-scope clause or None) of a form the caller may read; refused (403) or None when not."""
    try:
        compiled = forms.get(conn, name)
    except NotFound:
        if required:
            raise
        return None
    access = form_access(compiled, ctx.actor)
    if not access.can("read"):
        if required:
            access.require("read")
        return None
    return compiled.main, access.scope("read")


def _live(t: sa.Table, scope: Any) -> list[Any]:
    return [t.c.deleted_at.is_(None), *([scope] if scope is not None else [])]


def _num(v: Any) -> float:
    return float(v or 0)


def order_rty(conn: Connection, forms: Any, ctx: Ctx, order: int | str) -> dict[str, Any]:
    """One production order's operations with their first-pass yields and the order's RTY."""
    ot, oscope = _readable(conn, forms, ctx, ORDER)  # type: ignore[misc]
    as_id = isinstance(order, int) or (str(order).isascii() and str(order).isdigit())   # "²" is a digit to Python
    key = ot.c.id == int(order) if as_id else ot.c.code == str(order)
    row = conn.execute(sa.select(ot.c.id, ot.c.code, ot.c.item, ot.c.qty, ot.c.status).where(key, *_live(ot, oscope))).mappings().first()
    if row is None:
        raise NotFound(f"没有找到生产工单「{str(order)[:40]}」，或你无权查看它：请检查工单号",
                       f"production order {str(order)[:40]!r} was not found or you may not read it: check the number",
                       detail={"form": ORDER})
    tt, tscope = _readable(conn, forms, ctx, TASK)  # type: ignore[misc]
    tasks = conn.execute(sa.select(tt.c.id, tt.c.code, tt.c.seq, tt.c.name, tt.c.status)
                         .where(tt.c.production_order == row["id"], *_live(tt, tscope)).order_by(tt.c.seq, tt.c.id)).mappings().all()
    sums = _report_sums(conn, forms, ctx, [int(t["id"]) for t in tasks])
    lots = _inspections(conn, forms, ctx, [int(t["id"]) for t in tasks])
    steps = []
    for t in tasks:
        g, s, r = sums.get(int(t["id"]), (0.0, 0.0, 0.0))
        steps.append({"task": int(t["id"]), "code": t["code"], "seq": t["seq"], "name": t["name"], "status": t["status"],
                      "processed": g + s + r, "good": g, "scrap": s, "rework": r, "fpy": first_pass_yield(g, s, r),
                      "inspections": lots.get(int(t["id"])) if lots is not None else None})
    rty = rolled(s["fpy"] for s in steps)
    return {"order": {"id": int(row["id"]), "code": row["code"], "item": _item_text(conn, forms, ctx, row["item"]),
                      "qty": _num(row["qty"]), "status": row["status"]},
            "steps": steps, "rty": rty, "complete": bool(steps) and all(s["fpy"] is not None for s in steps),
            "definition": DEFINITION}


def _report_sums(conn: Connection, forms: Any, ctx: Ctx, task_ids: Sequence[int]) -> dict[int, tuple[float, float, float]]:
    if not task_ids:
        return {}
    rt, rscope = _readable(conn, forms, ctx, REPORT)  # type: ignore[misc]
    q = (sa.select(rt.c.task, sa.func.sum(rt.c.good_qty), sa.func.sum(rt.c.scrap_qty), sa.func.sum(rt.c.rework_qty))
         .where(rt.c.task.in_(list(task_ids)), *_live(rt, rscope)).group_by(rt.c.task))
    return {int(t): (_num(g), _num(s), _num(r)) for t, g, s, r in conn.execute(q)}


def _inspections(conn: Connection, forms: Any, ctx: Ctx, task_ids: Sequence[int]) -> dict[int, dict[str, int]] | None:
    """Judged and rejected in-process inspection lots per operation task; None when the caller may not read lots."""
    got = _readable(conn, forms, ctx, LOT, required=False)
    if got is None or not task_ids:
        return None if got is None else {}
    lt, lscope = got
    rejected = sa.func.sum(sa.case((lt.c.result == "rejected", 1), else_=0))
    q = (sa.select(lt.c.operation_task, sa.func.count(), rejected)
         .where(lt.c.operation_task.in_(list(task_ids)), lt.c.status == "judged", *_live(lt, lscope)).group_by(lt.c.operation_task))
    out = {int(t): {"judged": 0, "rejected": 0} for t in task_ids}
    for t, n, bad in conn.execute(q):
        out[int(t)] = {"judged": int(n or 0), "rejected": int(bad or 0)}
    return out


def _item_text(conn: Connection, forms: Any, ctx: Ctx, item_id: Any) -> str | None:
    got = _readable(conn, forms, ctx, ITEM, required=False)
    if got is None or item_id is None:
        return None
    t, scope = got
    r = conn.execute(sa.select(t.c.code, t.c.name).where(t.c.id == int(item_id), *_live(t, scope))).first()
    return f"{r[0]} {r[1]}" if r else None


def period(date_from: dt.date | None, date_to: dt.date | None, ctx: Ctx) -> tuple[dt.datetime, dt.datetime]:
    """The plant-local days [from, to] as times (default: the last 30 days); at most MAX_DAYS days."""
    today = ctx.now.astimezone(ctx.tz).date()
    end = date_to or today
    start = date_from or end - dt.timedelta(days=29)
    if start > end:
        raise InvalidInput("起始日期晚于截止日期：请交换两个日期", "the start date is after the end date: swap them",
                           problems=[Problem("/from", "起始日期晚于截止日期", "after the end date", "range")])
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidInput(f"日期范围最多 {MAX_DAYS} 天：请缩短日期范围", f"the period is at most {MAX_DAYS} days: shorten it",
                           problems=[Problem("/to", f"最多 {MAX_DAYS} 天", f"at most {MAX_DAYS} days", "range")])
    return (dt.datetime.combine(start, dt.time(), tzinfo=ctx.tz),
            dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=ctx.tz))


def item_rty(conn: Connection, forms: Any, ctx: Ctx, item: int, date_from: dt.date | None = None,
             date_to: dt.date | None = None) -> dict[str, Any]:
    """An item's RTY over the job reports of a period: per operation (sequence and name, over all its orders)
    the summed first-pass yield and their product; and each order's own RTY in that period."""
    start, end = period(date_from, date_to, ctx)
    ot, oscope = _readable(conn, forms, ctx, ORDER)  # type: ignore[misc]
    tt, tscope = _readable(conn, forms, ctx, TASK)  # type: ignore[misc]
    rt, rscope = _readable(conn, forms, ctx, REPORT)  # type: ignore[misc]
    q = (sa.select(ot.c.id, ot.c.code, tt.c.seq, tt.c.name, sa.func.sum(rt.c.good_qty), sa.func.sum(rt.c.scrap_qty),
                   sa.func.sum(rt.c.rework_qty))
         .select_from(rt.join(tt, tt.c.id == rt.c.task).join(ot, ot.c.id == tt.c.production_order))
         .where(ot.c.item == int(item), rt.c.reported_at >= start, rt.c.reported_at < end,
                *_live(rt, rscope), *_live(tt, tscope), *_live(ot, oscope))
         .group_by(ot.c.id, ot.c.code, tt.c.seq, tt.c.name).order_by(ot.c.id, tt.c.seq))
    per_op: dict[tuple[Any, Any], list[float]] = {}
    per_order: dict[int, dict[str, Any]] = {}
    for oid, code, seq, name, g, s, r in conn.execute(q):
        g, s, r = _num(g), _num(s), _num(r)
        tot = per_op.setdefault((seq, name), [0.0, 0.0, 0.0])
        tot[0], tot[1], tot[2] = tot[0] + g, tot[1] + s, tot[2] + r
        o = per_order.setdefault(int(oid), {"id": int(oid), "code": code, "fpys": []})
        o["fpys"].append(first_pass_yield(g, s, r))
    ops = [{"seq": seq, "name": name, "processed": sum(v), "good": v[0], "scrap": v[1], "rework": v[2],
            "fpy": first_pass_yield(*v)} for (seq, name), v in sorted(per_op.items(), key=lambda kv: (kv[0][0] or 0, str(kv[0][1])))]
    orders = [{"id": o["id"], "code": o["code"], "rty": rolled(o.pop("fpys"))} for o in list(per_order.values())[:MAX_ORDERS]]
    return {"item": {"id": int(item), "text": _item_text(conn, forms, ctx, item)},
            "from": start.date().isoformat(), "to": (end - dt.timedelta(days=1)).date().isoformat(),
            "operations": ops, "rty": rolled(op["fpy"] for op in ops), "orders": orders,
            "more_orders": len(per_order) > MAX_ORDERS, "definition": DEFINITION}
