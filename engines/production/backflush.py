"""Backflush (倒冲) and the automatic production receipt (自动完工入库) of job reports.

A BOM line whose 发料方式 ``issue_method`` is 倒冲 ``backflush`` is not picked by the storekeeper: when an
operation reports good or scrap pieces, the lines consumed at that operation (``operation_seq``; a line
without one, or naming no operation of the order, at the last operation) are issued from the line-side
location (库位类型 线边仓) of the operation's work centre, in the same transaction as the report:

    qty = round(cum_after × rate) − round(cum_before × rate),  rate = qty_required / order qty

where ``qty_required`` is the order's 用料 line copied from its BOM at release (qty_per × order qty / base_qty
× (1 + scrap_rate/100)), ``cum`` the operation's good + scrap before and after the report, rounded half up to
the ledger's 4 decimals — so many small reports never drift from one big one, and the whole order quantity
consumes exactly the released requirement. A BOM edited after release changes nothing (the release copy,
with its 发料方式, is read). Lots are taken FEFO/FIFO by the stock engine. A correction (event ``correct``) that takes pieces back
returns the material (退料 to the same line side, into the lots last consumed) in the same proportion; one
that adds pieces issues more.

The last operation's good pieces are received (完工入库) into the order's 入库库位 ``receipt_location``
when its 自动完工入库 ``auto_receipt`` is on (:mod:`receipts`).

The rules run twice: :func:`plan` in the report's own rule (:func:`reports.apply_report`,
:func:`corrections.apply_correction`) computes what moves and refuses the report, before anything is
written, when the line side does not hold enough; :func:`carry_out`, from the record hook once the report is
stored (its number known), creates and posts the documents as the engine acting for the reporter (an
operator needs no storekeeper role), each with a ``client_id`` made from the report's number.
"""
from __future__ import annotations

from collections import OrderedDict, defaultdict
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.inventory import balances as IB
from mom.engines.inventory import documents as ID
from mom.engines.inventory import lots as LT
from mom.engines.inventory import posting as IP
from mom.engines.production import documents as D
from mom.engines.production import receipts as RC
from mom.engines.records.context import Ctx
from mom.platform.errors import Conflict, Problem

_QTY = Decimal("0.0001")
#: ``conn.info`` key: (transaction, [plan or None per job report being created, in order])
PENDING = "mom_production_stock_pending"
_CACHED = 2000
POSTED, noted = RC.POSTED, RC.noted


def begin(conn: Connection) -> None:
    """A batch of new job reports starts: their plans follow, one per report."""
    conn.info[PENDING] = (conn.get_transaction(), [])


def _pending(conn: Connection) -> list[Any] | None:
    held = conn.info.get(PENDING)
    return held[1] if held is not None and held[0] is conn.get_transaction() else None


def plan(conn: Connection, forms: Any, order: Mapping[str, Any], tasks: list[dict[str, Any]], index: int,
         change: Decimal, good: Decimal, path: str, corrects: Any = None) -> None:
    """What the report moving task ``tasks[index]``'s good + scrap by ``change`` (its good by ``good``)
    moves in stock; refused in words, writing nothing, when the line side cannot give it."""
    out = _plan(conn, forms, order, tasks, index, change, good, path, corrects) if (change or good) else None
    pending = _pending(conn)
    if pending is not None:
        pending.append(out)


def _plan(conn: Connection, forms: Any, order: Mapping[str, Any], tasks: list[dict[str, Any]], index: int,
          change: Decimal, good: Decimal, path: str, corrects: Any) -> dict[str, Any] | None:
    task = tasks[index]
    last = index == len(tasks) - 1
    lines = _lines(conn, forms, order, {t.get("seq") for t in tasks}, task.get("seq"), last) if change else []
    cum = D.dec(task.get("good_qty")) + D.dec(task.get("scrap_qty"))
    moves: dict[int, Decimal] = defaultdict(Decimal)
    qty = D.dec(order.get("qty")) or Decimal(1)
    for ln in lines:
        rate = D.dec(ln["qty_required"]) / qty
        moves[int(ln["item"])] += _round(((cum + change) * rate)) - _round(cum * rate)
    moves = {k: v for k, v in moves.items() if v != 0}
    receipt = RC.plan(conn, forms, order, good) if last and good else None
    if not moves and receipt is None:
        return None
    location = _line_side(conn, forms, order, task, moves) if moves else None
    if location is not None:
        _check_stock(conn, forms, task, location, moves, path)
    return {"order": int(order["id"]), "task": task, "location": location, "moves": moves, "receipt": receipt,
            "corrects": corrects}


def _round(v: Decimal) -> Decimal:
    return v.quantize(_QTY, rounding=ROUND_HALF_UP)


def _lines(conn: Connection, forms: Any, order: Mapping[str, Any], seqs: set[Any], seq: Any, last: bool) -> list[dict[str, Any]]:
    """The order's 用料 (its BOM's lines copied at release) marked backflush and consumed at operation ``seq``."""
    form = D.compiled(conn, forms, D.ORDER)
    comps = form.children.get("components")
    if comps is None or "issue_method" not in comps.c:
        return []
    key = ("backflush_components", conn.dialect.name)
    q = form.memo.get(key)
    if q is None:
        q = form.memo[key] = (sa.select(comps.c.item, comps.c.qty_required, comps.c.operation_seq)
                              .where(comps.c.parent_id == sa.bindparam("order"), comps.c.issue_method == "backflush",
                                     comps.c.item.is_not(None))
                              .order_by(comps.c.seq))
    # written only by the release (which sets released_at): kept per order and release, the last _CACHED orders
    cache = form.memo.setdefault("backflush_cache", OrderedDict())
    ckey = (int(order["id"]), order.get("released_at"))
    rows = cache.get(ckey)
    if rows is None:
        rows = cache[ckey] = [dict(r) for r in conn.execute(q, {"order": int(order["id"])}).mappings()]
        while len(cache) > _CACHED:
            cache.popitem(last=False)
    out = []
    for r in rows:
        at = r["operation_seq"]
        if at == seq or (last and (at is None or at not in seqs)):
            out.append(dict(r))
    return out


def _line_side(conn: Connection, forms: Any, order: Mapping[str, Any], task: Mapping[str, Any],
               moves: Mapping[int, Decimal]) -> dict[str, Any]:
    """The line-side location of the task's work centre (the lowest id when it has several), or refused."""
    loc = ID.get(conn, ID.tx_forms(forms), ID.LOCATION)
    wc = task.get("work_center")
    found = None
    if wc is not None:
        t = loc.main
        row = conn.execute(sa.select(t).where(t.c.kind == "line_side", t.c.work_center == int(wc), t.c.deleted_at.is_(None),
                                              sa.or_(t.c.active.is_(None), t.c.active.is_(True))).order_by(t.c.id).limit(1)
                           ).mappings().first()
        found = dict(row) if row is not None else None
    if found is not None:
        return found
    items = "、".join(D.names(conn, forms, D.ITEM, moves).values())
    title = D.task_title(task)
    if wc is None:
        zh, en = f"工序 {title} 没有工作中心", f"operation {title} has no work centre"
    else:
        name = D.name_of(conn, forms, "work_center", wc)
        zh, en = f"工作中心「{name}」没有线边仓", f"work centre {name} has no line-side location"
    raise Conflict(f"{zh}，无法倒冲物料（{items}）：请管理员在「库位」里为它建一个线边仓（库位类型 线边仓，所属工作中心），"
                   "或把 BOM 中这些行的发料方式改为领料；报工没有保存",
                   f"{en} to backflush {items} from: an administrator adds a line-side location for it (kind line-side, its "
                   "work centre), or the BOM lines are changed to pick; the report was not saved",
                   detail={"work_center": wc, "operation": title},
                   problems=[Problem("/task", zh, en, "no_line_side")])


def _check_stock(conn: Connection, forms: Any, task: Mapping[str, Any], location: Mapping[str, Any],
                 moves: Mapping[int, Decimal], path: str) -> None:
    """Each component to issue is there (released lots, or untracked stock), unless the location allows negative."""
    if location.get("allow_negative"):
        return
    items = ID.rows_by_id(conn, D.compiled(conn, forms, D.ITEM), [k for k, v in moves.items() if v > 0])
    stock = ID.tx_forms(forms)      # the stock forms looked up once (``forms`` itself: the production engine's memo)
    plain = IB.lock(conn, stock, [(i, int(location["id"]), None) for i, v in moves.items()   # in key order, all at once
                                  if v > 0 and items[i].get("tracking") not in ("lot", "serial")])
    for item_id, need in moves.items():
        if need <= 0:
            continue
        item = items[item_id]
        if item.get("tracking") in ("lot", "serial"):
            have = sum((r["qty"] for r in LT.available_lots(conn, stock, item_id, int(location["id"]))), D.ZERO)
        else:
            have = D.dec((plain.get((item_id, int(location["id"]), None)) or {}).get("qty"))
        if have >= need:
            continue
        unit, q, name, where = item.get("unit") or "", D.qty_text, ID.name_of(item), ID.name_of(location)
        lots_zh = "（放行批次）" if item.get("tracking") in ("lot", "serial") else ""
        raise Conflict(f"线边仓物料不够倒冲：物料「{name}」在线边仓「{where}」现有 {q(have)}{unit}{lots_zh}，工序 "
                       f"{D.task_title(task)} 这次报工要扣 {q(need)}{unit}；请先调拨补料到「{where}」，或请仓管员处理后再报工。"
                       "报工没有保存",
                       f"not enough at the line side to backflush: {name} at {where} holds {q(have)} {unit}, this report of "
                       f"operation {D.task_title(task)} consumes {q(need)} {unit}; transfer material to {where} first (调拨补料) "
                       "or ask the storekeeper, then report again. The report was not saved",
                       detail={"item": item_id, "location": int(location["id"]), "needed": q(need), "on_hand": q(have)},
                       problems=[Problem(f"{path}/good_qty", f"「{name}」线边仓只有 {q(have)}{unit}",
                                         f"{name}: {q(have)} {unit} at the line side", "insufficient_stock")])


# ---------------------------------------------------------------- once the reports are stored

def carry_out(conn: Connection, forms: Any, ctx: Ctx, rows: list[Mapping[str, Any]]) -> None:
    """Post what the plans of the just stored job reports ``rows`` move (issues, returns, receipts)."""
    pending = _pending(conn)
    conn.info.pop(PENDING, None)
    if not pending:
        return
    stock = ID.tx_forms(forms)          # the stock forms looked up once for all the postings
    for report, todo in zip(rows, pending):
        if todo is None:
            continue
        code = str(report.get("code") or report.get("id"))
        if todo["moves"]:
            _post_moves(conn, stock, ctx, todo, code)
        if todo["receipt"] is not None:
            RC.carry_out(conn, forms, stock, ctx, todo["receipt"], code)


def _post_moves(conn: Connection, forms: Any, ctx: Ctx, todo: Mapping[str, Any], code: str) -> None:
    loc, order = int(todo["location"]["id"]), todo["order"]
    task = todo["task"]
    note = f"倒冲：报工 {code}，工序 {D.task_title(task)}"[:200]
    today = ctx.now.astimezone(ctx.tz).date()
    out = [{"item": item, "qty": qty, "from_location": loc} for item, qty in todo["moves"].items() if qty > 0]
    back = {item: -qty for item, qty in todo["moves"].items() if qty < 0}
    ectx = D.acting(ctx)
    if out:
        noted(conn, IP.create_and_post(conn, forms, ectx, "stock_issue", {"production_order": order, "doc_date": today, "lines": out,
                                                              "client_id": f"backflush:{code}"[:64], "note": note}))
    if back:
        lines = _return_lines(conn, forms, order, loc, back)
        noted(conn, IP.create_and_post(conn, forms, ectx, "stock_return", {"production_order": order, "doc_date": today, "lines": lines,
                                                               "client_id": f"backflush:{code}"[:64],
                                                               "note": f"倒冲退回：报工更正 {code}，工序 {D.task_title(task)}"[:200]}))


def _return_lines(conn: Connection, forms: Any, order: int, location: int, back: Mapping[int, Decimal]) -> list[dict[str, Any]]:
    """What goes back to the line side, into the lots the order last consumed there (net of what came back)."""
    t = ID.get(conn, forms, ID.MOVE).main
    q = (sa.select(t.c.item, t.c.lot, sa.func.sum(t.c.qty).label("net"), sa.func.max(t.c.id).label("latest"))
         .where(t.c.production_order == order, t.c.location == location, t.c.item.in_(list(back)), t.c.deleted_at.is_(None),
                t.c.document_form.in_(("stock_issue", "stock_return")), t.c.lot.is_not(None))
         .group_by(t.c.item, t.c.lot).order_by(sa.desc("latest")))
    used: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
    for r in conn.execute(q):
        if D.dec(r.net) < 0:
            used[int(r.item)].append((int(r.lot), -D.dec(r.net)))
    lines = []
    for item, qty in back.items():
        left = qty
        for lot, consumed in used.get(item, []):
            take = min(left, consumed)
            if take > 0:
                lines.append({"item": item, "qty": take, "to_location": location, "lot": lot})
                left -= take
        if left > 0:        # untracked, or more than the ledger shows consumed (a lot named for a tracked item)
            lot = used[item][0][0] if used.get(item) else None
            lines.append({"item": item, "qty": left, "to_location": location, "lot": lot})
    return lines
