"""Confirming MRP suggestions (确认) in bulk: make → a planned production order, buy → a purchase order
line (one purchase order per confirmation, its supplier left for the buyer), created through the record
service as the planner who confirms, so form permissions, rules, audit and hooks apply. An exception on
an existing order (提前 / 推迟 / 取消) is acknowledged: the planner changes that order herself.

The pegging (需求来源) of each suggestion confirmed or ignored is stored then, as it was computed at that
moment (``pegging.py``): its history does not move with later runs.

Idempotent: the suggestions are locked (FOR UPDATE on PostgreSQL) and only those still 建议 (proposed)
are confirmed; one confirmed (or ignored) before is reported as skipped with its order, never confirmed
twice. Ignoring (忽略) works the same way. All or nothing: an unknown suggestion refuses the whole call.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.mrp import documents as D
from mom.engines.mrp.pegging import pegs_of, store
from mom.engines.mrp.runs import CONFIRMED, IGNORED, PROPOSED, require_planner
from mom.engines.records import service as S
from mom.engines.records.batch import write_system_fields
from mom.engines.records.context import Ctx
from mom.platform.errors import InvalidInput, NotFound, Problem

MAX_PER_CALL = 1000
_STATUS = {CONFIRMED: ("已确认", "confirmed"), IGNORED: ("已忽略", "ignored")}


def confirm(conn: Connection, forms: Any, ctx: Ctx, suggestions: Sequence[Any]) -> dict[str, Any]:
    """Confirm ``suggestions`` (ids or codes MS-…); returns ``{confirmed, skipped, purchase_order}``."""
    require_planner(ctx, "确认 MRP 建议", "confirm MRP suggestions")
    f = D.forms_of(conn, forms)
    rows = _locked(conn, f, suggestions)
    todo, skipped = _split(rows)
    pegs = pegs_of(conn, f, [int(r["id"]) for r in todo], ctx.tz)     # before any order is made (they change it)
    make = [r for r in todo if r["exception"] in (None, "late") and r["kind"] == "make"]
    buy = [r for r in todo if r["exception"] in (None, "late") and r["kind"] == "buy"]
    made = _production_orders(conn, forms, f, ctx, make, pegs)
    po = _purchase_order(conn, forms, ctx, buy)
    links: dict[int, dict[str, Any]] = {int(r["id"]): {"production_order": o["id"]} for r, o in zip(make, made)}
    links.update({int(r["id"]): {"purchase_order": po["id"]} for r in buy} if po else {})
    _mark(conn, forms, ctx, todo, CONFIRMED, links)
    store(conn, f, {int(r["id"]): pegs.get(int(r["id"]), []) for r in todo})
    names = _item_codes(conn, f, [r["item"] for r in todo])
    codes = {int(r["id"]): o["code"] for r, o in zip(make, made)}
    confirmed = [{"id": int(r["id"]), "code": r["code"], "item": names.get(r["item"]), "kind": r["kind"], "qty": D.dec(r["qty"]),
                  "exception": r["exception"],
                  "order": codes.get(int(r["id"])) or (po["code"] if po and int(r["id"]) in links and "purchase_order" in links[int(r["id"])] else None)}
                 for r in todo]
    return {"confirmed": confirmed, "skipped": skipped, "purchase_order": po["code"] if po else None}


def ignore(conn: Connection, forms: Any, ctx: Ctx, suggestions: Sequence[Any]) -> dict[str, Any]:
    """Mark ``suggestions`` ignored (已忽略); returns ``{ignored, skipped}``."""
    require_planner(ctx, "忽略 MRP 建议", "ignore MRP suggestions")
    f = D.forms_of(conn, forms)
    todo, skipped = _split(_locked(conn, f, suggestions))
    pegs = pegs_of(conn, f, [int(r["id"]) for r in todo], ctx.tz)
    _mark(conn, forms, ctx, todo, IGNORED, {})
    store(conn, f, {int(r["id"]): pegs.get(int(r["id"]), []) for r in todo})
    return {"ignored": [{"id": int(r["id"]), "code": r["code"]} for r in todo], "skipped": skipped}


def _locked(conn: Connection, f: dict[str, Any], wanted: Sequence[Any]) -> list[dict[str, Any]]:
    if not isinstance(wanted, (list, tuple)) or not wanted:
        raise InvalidInput("请给出要处理的建议：建议 id 或建议号（MS-…）的列表", "give the suggestions as a list of ids or codes (MS-…)",
                           problems=[Problem("/suggestions", "应为非空列表", "must be a non-empty list", "type")])
    if len(wanted) > MAX_PER_CALL:
        raise InvalidInput(f"一次最多处理 {MAX_PER_CALL} 条建议（现为 {len(wanted)} 条）：请分批确认",
                           f"at most {MAX_PER_CALL} suggestions per call (got {len(wanted)}): confirm them in batches",
                           problems=[Problem("/suggestions", f"最多 {MAX_PER_CALL} 条", f"at most {MAX_PER_CALL}", "max_items")])
    bad = [i for i, v in enumerate(wanted) if isinstance(v, bool) or not isinstance(v, (int, str))
           or (isinstance(v, str) and not 0 < len(v) <= 64) or (isinstance(v, int) and not 0 < v < 2**53)]
    if bad:
        raise InvalidInput(f"第 {bad[0] + 1} 项不是建议 id 或建议号", f"item {bad[0] + 1} is not a suggestion id or code",
                           problems=[Problem(f"/suggestions/{i}", "应为建议 id 或建议号", "must be an id or a code", "type") for i in bad[:20]])
    t = f[D.SUGGESTION].main
    ids = {v for v in wanted if isinstance(v, int)}
    codes = {v for v in wanted if isinstance(v, str)}
    q = sa.select(t).where(t.c.deleted_at.is_(None), sa.or_(t.c.id.in_(sorted(ids)), t.c.code.in_(sorted(codes)))).order_by(t.c.id)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update()
    rows = [dict(r) for r in conn.execute(q).mappings()]
    known = {r["id"] for r in rows} | {r["code"] for r in rows}
    missing = [v for v in wanted if v not in known]
    if missing:
        shown = "、".join(str(v) for v in missing[:10])
        raise NotFound(f"找不到 MRP 建议 {shown}：它可能已被新的 MRP 运算替换，请刷新后重选",
                       f"no MRP suggestion {', '.join(map(str, missing[:10]))}: a newer run may have replaced it; reload and choose again",
                       detail={"missing": missing[:100]})
    return rows


def _split(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    todo = [r for r in rows if r["status"] == PROPOSED]
    skipped = [{"id": int(r["id"]), "code": r["code"], "status": r["status"],
                "reason": {"zh-CN": f"建议 {r['code']} {_STATUS.get(r['status'], (r['status'],))[0]}，不再重复处理",
                           "en": f"suggestion {r['code']} is {_STATUS.get(r['status'], (r['status'], r['status']))[1]} already: not done twice"}}
               for r in rows if r["status"] != PROPOSED]
    return todo, skipped


def _production_orders(conn: Connection, forms: Any, f: dict[str, Any], ctx: Ctx, rows: list[dict[str, Any]],
                       pegs: dict[int, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    if not rows:
        return []
    from mom.engines.production.demand import _day_end, _due
    from mom.engines.production.documents import TxForms

    end = _day_end(conn, forms)
    sales = _one_sales_order(pegs, [int(r["id"]) for r in rows])
    docs = [{"item": int(r["item"]), "qty": D.dec(r["qty"]), "due_date": _due(r["due_date"], end, ctx.tz).isoformat(),
             **({"sales_order": sales[int(r["id"])]} if int(r["id"]) in sales else {})} for r in rows]
    return S.create_records(conn=conn, registry=TxForms(forms), ctx=ctx, form=D.ORDER, docs=docs)


def _one_sales_order(pegs: dict[int, list[dict[str, Any]]], ids: list[int]) -> dict[int, int]:
    """Suggestions whose pegging names exactly one sales order: the order they are made for."""
    seen = {i: {p["sales_order"] for p in pegs.get(i, [])} for i in ids}
    return {i: next(iter(s)) for i, s in seen.items() if len(s) == 1 and None not in s}


def _purchase_order(conn: Connection, forms: Any, ctx: Ctx, rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not rows:
        return None
    from mom.engines.production.documents import TxForms

    lines = [{"item": int(r["item"]), "qty": D.dec(r["qty"]), "due_date": r["due_date"].isoformat(), "note": r["code"]} for r in rows]
    doc = {"order_date": ctx.now.astimezone(ctx.tz).date().isoformat(), "status": "open", "lines": lines,
           "note": f"由 MRP 建议生成（{len(rows)} 行）/ from MRP suggestions ({len(rows)} lines)"}
    return S.create_records(conn=conn, registry=TxForms(forms), ctx=ctx, form=D.PURCHASE, docs=[doc])[0]


def _mark(conn: Connection, forms: Any, ctx: Ctx, rows: list[dict[str, Any]], status: str, links: dict[int, dict[str, Any]]) -> None:
    """The suggestions' engine-owned fields: status, who, the order made (audited, row version bumped)."""
    if not rows:
        return
    engine_ctx = dataclasses.replace(ctx, actor=dataclasses.replace(ctx.actor, is_admin=True, token_forms=None))
    write_system_fields(conn=conn, registry=forms, ctx=engine_ctx, form=D.SUGGESTION,
                        rows=[(r, {"status": status, "confirmed_by": ctx.actor.id, **links.get(int(r["id"]), {})}) for r in rows])


def _item_codes(conn: Connection, f: dict[str, Any], ids: list[Any]) -> dict[Any, str]:
    t = f[D.ITEM].main
    out: dict[Any, str] = {}
    for chunk in D.chunks(int(i) for i in ids if i is not None):
        out.update({r.id: r.code for r in conn.execute(sa.select(t.c.id, t.c.code).where(t.c.id.in_(chunk or [])))})
    return out
