"""Production orders from demand (由销售订单建工单): one planned ``production_order`` per sales order line
not yet covered, through the record service, as the planner who asked.

- a line is *covered* by the live, not cancelled orders that refer to the same sales order and make the
  same item: their quantities are handed to the order's lines of that item in line order; a line they
  cover in full is skipped (and said), a line covered in part gets an order for the rest;
- the order carries the line's item and quantity (in the item's unit, which the order copies), the
  line's due date (else the order's) at the end of the plant's working day, the default priority and
  the sales order; its BOM and routing stay empty, so release takes the item's active defaults;
- a raw material or a tool (物料类型 原材料 / 工装) is bought, not made: refused, naming the item;
- planners and administrators only; everything in the caller's transaction; running it again creates
  nothing new.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.production import documents as D
from mom.engines.production.calendars import SHIFT_END, _hhmm
from mom.engines.records import service as S
from mom.engines.records.access import form_access
from mom.engines.records.context import Ctx
from mom.platform.errors import AccessDenied, Conflict, InvalidInput, NotFound, Problem

SALES = "sales_order"
CALENDAR = "work_calendar"
#: item types that are bought, not made (物料类型)
NOT_MADE = {"raw": ("原材料", "raw material"), "tooling": ("工装", "tooling")}


def from_demand(conn: Connection, forms: Any, ctx: Ctx, sales_order: Any, *,
                lines: Iterable[int] | None = None) -> dict[str, Any]:
    """Create the production orders sales order ``sales_order`` (its id or code) still needs, for all its
    lines or the 1-based line numbers ``lines``; returns ``{sales_order, created: [{line, order, code,
    item, item_name, qty, unit, due_date}], skipped: [{line, item, item_name, qty, covered, reason}]}``."""
    D.require_core(conn, forms)
    if not (ctx.actor.is_admin or "planner" in ctx.actor.role_names):
        raise AccessDenied("只有计划员或管理员可以由销售订单建生产工单",
                           "only a planner or an administrator may create production orders from a sales order")
    so = _sales_order(conn, forms, ctx, sales_order)
    all_lines = D.children(conn, D.compiled(conn, forms, SALES), int(so["id"]), "lines")
    wanted = _chosen(so, all_lines, lines)
    items = _items(conn, forms, [ln["item"] for ln in all_lines])
    _refuse_not_made(so, all_lines, wanted, items)
    covered = _covered(conn, forms, so, all_lines)
    end_of_day = _day_end(conn, forms)
    created: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    docs: list[dict[str, Any]] = []
    for n in wanted:
        line = all_lines[n - 1]
        item = items.get(int(line["item"]), {})
        qty, have = D.dec(line["qty"]), covered[n]
        base = {"line": n, "item": int(line["item"]), "item_name": _item_name(item, line), "qty": _num(qty),
                "unit": item.get("unit")}
        if qty <= 0 or have >= qty:
            why = _skip_reason(so, n, base, have, qty)
            skipped.append({**base, "covered": _num(have), "reason": why})
            continue
        due = line.get("due_date") or so.get("due_date")
        need = qty - have
        docs.append({"item": int(line["item"]), "qty": need, "sales_order": int(so["id"]),
                     "due_date": _due(due, end_of_day, ctx.tz).isoformat() if due is not None else None})
        created.append({**base, "qty": _num(need), "covered": _num(have)})
    made = S.create_records(conn=conn, registry=D.TxForms(forms), ctx=ctx, form=D.ORDER, docs=docs) if docs else []
    for out, rec in zip(created, made):
        out.update(order=rec["id"], code=rec["code"], due_date=rec.get("due_date"), unit=rec.get("unit") or out["unit"])
    return {"sales_order": so["code"], "created": created, "skipped": skipped}


# ---------------------------------------------------------------- the sales order and its lines

def _sales_order(conn: Connection, forms: Any, ctx: Ctx, value: Any) -> dict[str, Any]:
    try:
        compiled = D.compiled(conn, forms, SALES)
    except NotFound:
        compiled = None
    if compiled is None or compiled.definition.field("lines") is None:
        raise NotFound("没有安装「制造基础」模型包（core）的销售订单表单：请管理员先安装它（mom pack install core）",
                       "the sales order form of the core pack is not installed: an administrator installs it first "
                       "(mom pack install core)")
    found = D.resolve(conn, compiled, value, "/sales_order")
    access = form_access(compiled, ctx.actor)
    scope = access.scope("read")
    t = compiled.main
    q = sa.select(t).where(t.c.id == found["id"], t.c.deleted_at.is_(None))
    if scope is not None:
        q = q.where(scope)
    if conn.dialect.name == "postgresql":     # two planners at once: the second sees the first one's orders
        q = q.with_for_update(of=t)
    so = conn.execute(q).mappings().first() if access.can("read") else None
    if so is None:
        raise NotFound(f"找不到销售订单 {value}（或无权查看）", f"no sales order {value} (or you may not see it)")
    if so.get("status") == "closed":
        raise Conflict(f"销售订单 {so['code']} 已关闭，不再建生产工单；如仍要生产，请先把它改回「未完成」",
                       f"sales order {so['code']} is closed: no more production orders are made for it; set it back "
                       "to open first if it still needs production", detail={"status": "closed"})
    return dict(so)


def _chosen(so: Mapping[str, Any], all_lines: list[dict[str, Any]], lines: Iterable[int] | None) -> list[int]:
    """The 1-based line numbers asked for (all when None), each once, in line order."""
    count = len(all_lines)
    if lines is None:
        if not count:
            raise InvalidInput(f"销售订单 {so['code']} 没有明细行：请先在订单里填写要交付的物料和数量",
                               f"sales order {so['code']} has no lines: enter the items and quantities first")
        return list(range(1, count + 1))
    asked = list(lines)
    bad = [n for n in asked if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= count]
    if bad or not asked:
        shown = "、".join(str(n) for n in bad) or "（空）"
        raise InvalidInput(f"销售订单 {so['code']} 没有第 {shown} 行：它有 {count} 行明细，请填 1 到 {count} 之间的行号",
                           f"sales order {so['code']} has no line {', '.join(map(str, bad)) or '(none given)'}: "
                           f"it has {count} lines, give numbers from 1 to {count}",
                           problems=[Problem("/lines", f"行号应在 1 到 {count} 之间", f"line numbers are 1 to {count}", "range")])
    return sorted(set(asked))


def _items(conn: Connection, forms: Any, ids: list[Any]) -> dict[int, dict[str, Any]]:
    t = D.compiled(conn, forms, D.ITEM).main
    wanted = sorted({int(i) for i in ids if i is not None})
    return {int(r["id"]): dict(r) for r in conn.execute(sa.select(t).where(t.c.id.in_(wanted))).mappings()} if wanted else {}


def _item_name(item: Mapping[str, Any], line: Mapping[str, Any]) -> str:
    return str(item.get("name") or item.get("code") or f"#{line['item']}")


def _refuse_not_made(so: Mapping[str, Any], all_lines: list[dict[str, Any]], wanted: list[int],
                     items: Mapping[int, Mapping[str, Any]]) -> None:
    bad = [(n, items.get(int(all_lines[n - 1]["item"]), {})) for n in wanted]
    bad = [(n, it) for n, it in bad if it.get("item_type") in NOT_MADE]
    if not bad:
        return
    zh = "；".join(f"第 {n} 行「{_item_name(it, all_lines[n - 1])}」是{NOT_MADE[it['item_type']][0]}" for n, it in bad)
    en = "; ".join(f"line {n} ({_item_name(it, all_lines[n - 1])}) is {NOT_MADE[it['item_type']][1]}" for n, it in bad)
    rest = [n for n in range(1, len(all_lines) + 1) if n not in {b[0] for b in bad}]
    hint_zh = f"请只选要生产的行（{'、'.join(map(str, rest))}）" if rest else "这张订单没有要生产的行"
    hint_en = f"choose only the lines that are made ({', '.join(map(str, rest))})" if rest else "this order has no line to make"
    raise InvalidInput(f"销售订单 {so['code']} {zh}，外购不生产，不能建生产工单：{hint_zh}，外购件请走采购",
                       f"sales order {so['code']}: {en}, bought not made, so no production order: {hint_en}; "
                       "buy these instead", detail={"lines": [n for n, _ in bad]},
                       problems=[Problem("/lines", f"第 {n} 行的物料不生产", f"line {n}'s item is not made", "not_made")
                                 for n, _ in bad])


# ---------------------------------------------------------------- what the orders cover already

def _covered(conn: Connection, forms: Any, so: Mapping[str, Any], all_lines: list[dict[str, Any]]) -> dict[int, Decimal]:
    """How much of each line (by number) the sales order's live, not cancelled orders cover: each item's
    orders' total handed to that item's lines in line order."""
    t = D.compiled(conn, forms, D.ORDER).main
    q = (sa.select(t.c.item, sa.func.sum(t.c.qty)).where(t.c.deleted_at.is_(None), t.c.sales_order == so["id"],
                                                          t.c.status != "cancelled").group_by(t.c.item))
    pool = {int(i): D.dec(total) for i, total in conn.execute(q) if i is not None}
    out: dict[int, Decimal] = {}
    for n, line in enumerate(all_lines, 1):
        have = pool.get(int(line["item"]), D.ZERO)
        take = min(have, max(D.dec(line["qty"]), D.ZERO))
        out[n] = take
        pool[int(line["item"])] = have - take
    return out


def _skip_reason(so: Mapping[str, Any], n: int, base: Mapping[str, Any], have: Decimal, qty: Decimal) -> dict[str, str]:
    unit = base.get("unit") or ""
    if qty <= 0:
        return {"zh-CN": f"第 {n} 行「{base['item_name']}」数量为 0，不需要生产",
                "en": f"line {n} ({base['item_name']}) has quantity 0: nothing to make"}
    return {"zh-CN": f"第 {n} 行「{base['item_name']}」{D.qty_text(qty)}{unit} 已有生产工单覆盖（{D.qty_text(have)}{unit}），不再新建",
            "en": f"line {n} ({base['item_name']}) {D.qty_text(qty)} {unit} is covered by production orders of "
                  f"sales order {so['code']} ({D.qty_text(have)}): none made"}


# ---------------------------------------------------------------- due time

def _day_end(conn: Connection, forms: Any) -> dt.time | None:
    """The end of the plant's working day: the latest shift end on its work calendars (None: none)."""
    try:
        cal = D.compiled(conn, forms, CALENDAR)
    except NotFound:
        return None
    shifts, main = cal.children.get("shifts"), cal.main
    if shifts is None or SHIFT_END not in shifts.c:
        return None
    q = (sa.select(shifts.c[SHIFT_END]).join(main, main.c.id == shifts.c.parent_id)
         .where(main.c.deleted_at.is_(None)))
    ends = [_hhmm(v) for (v,) in conn.execute(q)]
    ends = [e for e in ends if e is not None and e != "24:00"]
    return dt.time.fromisoformat(max(ends)) if ends else None


def _due(day: Any, end: dt.time | None, tz: dt.tzinfo) -> dt.datetime:
    """A due date as the order's due time: that day at the end of the working day in plant time
    (no shifts known: the end of the day)."""
    if isinstance(day, dt.datetime):
        return day
    if isinstance(day, str):
        day = dt.date.fromisoformat(day[:10])
    return dt.datetime.combine(day, end or dt.time(23, 59), tzinfo=tz)


def _num(v: Decimal) -> float | int:
    return int(v) if v == v.to_integral_value() else float(v)
