"""Reading runs and suggestions back for people: a run with a page of its suggestions (item code and
name, kind, quantity, dates, exception, status, the order made, the pegging rows — computed for proposed
suggestions, stored for confirmed and ignored ones: ``pegging.py``), and one suggestion's pegging followed up
the levels to the demands at the top. Read permission on the MRP forms applies.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.mrp import documents as D
from mom.engines.mrp.pegging import pegs_of
from mom.engines.mrp.runs import summary
from mom.engines.records.access import form_access
from mom.engines.records.context import Ctx
from mom.platform.errors import InvalidInput, NotFound, Problem

MAX_PAGE = 1000
EXCEPTIONS = ("late", "expedite", "reschedule_out", "cancel")
STATUSES = ("proposed", "confirmed", "ignored")


def run_with_suggestions(conn: Connection, forms: Any, ctx: Ctx, run: Any, *, limit: int = 200, offset: int = 0,
                         exception: str | None = None, status: str | None = None, item: str | None = None) -> dict[str, Any]:
    """Run ``run`` (id or code) with ``limit`` of its suggestions from ``offset`` (filters: an exception, a status,
    an item code); ``total`` counts them all."""
    f = D.forms_of(conn, forms)
    for name in (D.RUN, D.SUGGESTION):
        form_access(f[name], ctx.actor).require("read")
    if not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE or not isinstance(offset, int) or offset < 0:
        raise InvalidInput(f"每页 1 到 {MAX_PAGE} 条，起点不小于 0", f"limit is 1 to {MAX_PAGE}, offset 0 or more",
                           problems=[Problem("/limit", f"1–{MAX_PAGE}", f"1-{MAX_PAGE}", "range")])
    if exception is not None and exception not in EXCEPTIONS:
        raise InvalidInput(f"例外「{exception}」不认识：可选 {', '.join(EXCEPTIONS)}", f"exception {exception!r}: one of {', '.join(EXCEPTIONS)}")
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"状态「{status}」不认识：可选 {', '.join(STATUSES)}", f"status {status!r}: one of {', '.join(STATUSES)}")
    rid = _run_id(conn, f, run)
    s, i = f[D.SUGGESTION].main, f[D.ITEM].main
    where = [s.c.run == rid, s.c.deleted_at.is_(None)]
    if exception is not None:
        where.append(s.c.exception == exception)
    if status is not None:
        where.append(s.c.status == status)
    if item is not None:
        where.append(i.c.code == item)
    src = s.join(i, i.c.id == s.c.item)
    total = conn.execute(sa.select(sa.func.count()).select_from(src).where(*where)).scalar_one()
    mo, po = f[D.ORDER].main, f[D.PURCHASE].main
    # the item's unit and planning settings and the order an exception acts on, so a planner can check a figure
    q = (sa.select(s.c.id, s.c.code, s.c.kind, s.c.qty, s.c.release_date, s.c.due_date, s.c.exception, s.c.status, s.c.level,
                   s.c.production_order, s.c.purchase_order, s.c.item.label("item_id"), i.c.code.label("item_code"),
                   i.c.name.label("item_name"), i.c.unit, i.c.safety_stock, i.c.lot_size_rule, i.c.lot_size,
                   sa.func.coalesce(mo.c.code, po.c.code).label("order_code"))
         .select_from(src.outerjoin(mo, mo.c.id == s.c.production_order).outerjoin(po, po.c.id == s.c.purchase_order))
         .where(*where).order_by(s.c.level, i.c.code, s.c.due_date, s.c.id).limit(limit).offset(offset))
    rows = [dict(r) for r in conn.execute(q).mappings()]
    pegs = pegs_of(conn, f, [r["id"] for r in rows], ctx.tz)
    stock, known = D.on_hand(conn, {int(r["item_id"]) for r in rows})
    out = []
    for r in rows:
        iid = int(r.pop("item_id"))
        out.append({**r, "qty": D.dec(r["qty"]), "release_date": _iso(r["release_date"]), "due_date": _iso(r["due_date"]),
                    "safety_stock": D.dec(r["safety_stock"]), "lot_size": D.dec(r["lot_size"]) if r["lot_size"] is not None else None,
                    "on_hand": D.dec(stock.get(iid, 0)) if known else None, "pegging": pegs.get(r["id"], [])})
    return {"run": summary(conn, forms, rid), "total": total, "limit": limit, "offset": offset, "suggestions": out}


def top_demands(conn: Connection, forms: Any, ctx: Ctx, suggestion: Any) -> dict[str, Any]:
    """Suggestion ``suggestion``'s pegging followed through its parents' suggestions to the demands at the
    top (sales order lines, forecasts, production orders' components, safety stock, stock), with the part
    of this suggestion's quantity that serves each."""
    f = D.forms_of(conn, forms)
    form_access(f[D.SUGGESTION], ctx.actor).require("read")
    s = f[D.SUGGESTION].main
    if isinstance(suggestion, str) and suggestion.isdigit() and len(suggestion) <= 15:
        suggestion = int(suggestion)
    col = s.c.id if isinstance(suggestion, int) else s.c.code
    row = conn.execute(sa.select(s.c.id, s.c.code, s.c.qty).where(col == suggestion, s.c.deleted_at.is_(None))).first()
    if row is None:
        raise NotFound(f"找不到 MRP 建议 {suggestion}", f"no MRP suggestion {suggestion}")
    out: dict[tuple, Any] = {}
    frontier = [(int(row.id), D.dec(row.qty))]     # (suggestion, the part of this one's quantity that reaches it)
    for _ in range(64):              # deeper than any BOM the levels allow
        if not frontier:
            break
        pegs = pegs_of(conn, f, [sid for sid, _ in frontier], ctx.tz)
        nxt: dict[int, Any] = {}
        for sid, share in frontier:
            total = sum((D.dec(p["qty"]) for p in pegs.get(sid, [])), D.ZERO) or D.dec(1)
            for p in pegs.get(sid, []):
                part = share * D.dec(p["qty"]) / total
                if p["parent_suggestion"] is not None:
                    parent = int(p["parent_suggestion"])
                    nxt[parent] = nxt.get(parent, D.ZERO) + part
                    continue
                key = (p["demand_kind"], p["demand"], p["sales_order"], p["forecast"], p["production_order"])
                out[key] = out.get(key, D.ZERO) + part
        frontier = list(nxt.items())
    demands = [{"demand_kind": k[0], "demand": k[1], "sales_order": k[2], "forecast": k[3], "production_order": k[4],
                "qty": v.quantize(D.dec("0.0001"))} for k, v in out.items()]
    return {"suggestion": row.code, "qty": D.dec(row.qty), "demands": demands}


def _run_id(conn: Connection, f: dict[str, Any], run: Any) -> int:
    t = f[D.RUN].main
    if isinstance(run, str) and run.isdigit() and len(run) <= 15:
        run = int(run)
    col = t.c.id if isinstance(run, int) else t.c.code
    got = conn.execute(sa.select(t.c.id).where(col == run, t.c.deleted_at.is_(None))).scalar()
    if got is None:
        raise NotFound(f"找不到 MRP 运算 {run}", f"no MRP run {run}")
    return int(got)


def _iso(v: Any) -> str | None:
    return v.isoformat() if v is not None else None
