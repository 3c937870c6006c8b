"""Spare parts issued from stock to a maintenance order (备件领用, issue 23).

The order's 备件领用 lines not yet issued are posted through the inventory engine's posting of an
outgoing document (:class:`mom.engines.inventory.posting_plan.Plan` and the same ledger, balance and
lot rules as a 生产领料 issue): one ``stock_move`` per line and lot, ``document_form`` =
``maintenance_order``, the line's 发料时间 stamped. Nothing is half-issued: a line short of stock
refuses the whole issue. An issued line stays as it was (its stock left).
"""
from __future__ import annotations

import re
from typing import Any

from sqlalchemy.engine import Connection

from mom.engines.forms.compile import CompiledForm
from mom.engines.inventory import documents as D
from mom.engines.inventory import posting as P
from mom.engines.inventory import posting_plan as PL
from mom.engines.maintenance import pack as K
from mom.engines.records import service as S
from mom.engines.records.access import form_access, record_row
from mom.engines.records.context import Ctx
from mom.platform.errors import Conflict, InvalidInput, MomError, NotFound, Problem

KIND = D.KINDS[K.ORDER]      # registered with the inventory engine: the ledger names the document 维修保养工单
_COLS = ("item", "qty", "unit", "from_location", "lot", "issued_at")


def issue(conn: Connection, forms: Any, ctx: Ctx, order_id: int) -> dict[str, Any]:
    """Post the order's spare-part lines not yet issued (the user's update right on the order checked);
    ``{"code", "issued": [line numbers], "moves": n}``."""
    compiled = K.require_form(conn, forms, K.ORDER)
    form_access(compiled, ctx.actor).require("update")
    try:                  # the row in the user's update scope (403 outside it), locked
        _, order = record_row(conn, compiled, ctx.actor, int(order_id), "update", lock=True)
    except NotFound:
        raise NotFound(f"没有编号为 {order_id} 的维修保养工单：它可能已被删除，请刷新工单列表后重新选择",
                       f"there is no maintenance order {order_id}: it may have been deleted; reload the order list "
                       "and choose it again") from None
    if order.get("status") not in ("responded", "in_repair", "done"):
        raise Conflict(f"工单 {order['code']} 是「{K.STATUS_ZH.get(str(order.get('status')), order.get('status'))}」："
                       "响应或开始维修后才能领用备件", f"order {order['code']} is {order.get('status')}: parts are issued once responded")
    lines = S.load_children(conn, compiled, [int(order_id)], ["parts"])[int(order_id)]["parts"]
    todo = [(i, ln) for i, ln in enumerate(lines) if ln.get("issued_at") is None]
    if not todo:
        raise InvalidInput(f"工单 {order['code']} 没有待领用的备件行：请先填写备件、数量和发出库位",
                           f"order {order['code']} has no spare-part line to issue: add item, quantity and location first")
    tx = D.tx_forms(forms)
    try:
        plan = PL.Plan(conn, tx, ctx, KIND, order, [ln for _, ln in todo])
        moves = plan.moves()
        for m in moves:                  # the order's own line numbers, so 第 N 行 names the line the user sees
            n = todo[int(m["document_line"]) - 1][0]
            m["document_line"], m["_path"], m["production_order"] = n + 1, f"/parts/{n}", None
        P.post_moves(conn, tx, ctx, moves, plan)    # the inventory engine's ledger, balances and lot rules
    except MomError as e:
        raise _on_parts(e, [i for i, _ in todo]) from None
    now = ctx.now
    kept = [{**{k: ln.get(k) for k in _COLS}, "issued_at": ln.get("issued_at") or now} for ln in lines]
    with K.engine_writes(conn):
        S.update_record(conn=conn, registry=forms, ctx=K.acting(ctx), form=K.ORDER, record_id=int(order_id),
                        patch={"parts": kept})
    return {"code": order["code"], "issued": [i + 1 for i, _ in todo], "moves": len(moves)}


def _on_parts(e: MomError, index: list[int]) -> MomError:
    """``e`` with the posting's ``/lines/i`` and 第 i+1 行 turned into the order's 备件第 N 行 (``index``: line of each)."""
    def line(i: int) -> int:
        return index[i] + 1 if 0 <= i < len(index) else i + 1

    def path(p: str) -> str:
        return re.sub(r"^/lines/(\d+)", lambda m: f"/parts/{line(int(m.group(1))) - 1}", p)

    zh = re.sub(r"第 (\d+) 行", lambda m: f"备件第 {line(int(m.group(1)) - 1)} 行", e.zh)
    en = re.sub(r"line (\d+)", lambda m: f"spare-part line {line(int(m.group(1)) - 1)}", e.en)
    out = type(e)(zh, en, problems=[Problem(path(p.path), p.zh, p.en, p.code) for p in e.problems], detail=e.detail)
    return out


def check_issued_kept(conn: Connection, forms: Any, compiled: CompiledForm, order_id: int) -> None:
    """After a person changed the lines: every line already issued is still there, unchanged."""
    from mom.engines.inventory import ledger as L

    moved = {int(m["document_line"]) for m in L.of_document(conn, forms, K.ORDER, int(order_id))}
    if not moved:
        return
    lines = S.load_children(conn, compiled, [int(order_id)], ["parts"])[int(order_id)]["parts"]
    for n in sorted(moved):
        ln = lines[n - 1] if n - 1 < len(lines) else None
        if ln is None or ln.get("issued_at") is None:
            raise Conflict(f"备件第 {n} 行已发料，不能删除或修改：如需退回请做退料单",
                           f"spare-part line {n} was issued and stays as it is; return the stock with a stock return")
