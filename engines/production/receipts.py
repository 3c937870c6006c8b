"""The automatic production receipt (自动完工入库) of job reports at the last operation.

The good pieces the last operation of an order reports are received into stock as a 完工入库
``production_receipt`` posted by the engine into the order's 入库库位 ``receipt_location``, when the order's
自动完工入库 ``auto_receipt`` is on (the default). An order without a receipt location is not refused:
its 完工入库 field shows 待仓管入库 (waiting for the storekeeper), who enters the receipt by hand.

A lot-tracked product gets one lot per order (the first receipt makes it with the stock engine's lot
numbering; the next ones add to it); a serial-tracked product one serial per unit. A correction that takes
good pieces back reverses the order's automatic receipts, newest first, and receives again what was not
taken back (into the same lot or serials); one that adds pieces receives them. The order's 已自动入库
``received_qty`` counts what the automatic receipts hold.
"""
from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.inventory import documents as ID
from mom.engines.inventory import ledger as IL
from mom.engines.inventory import posting as IP
from mom.engines.production import documents as D
from mom.engines.records.context import Ctx

FORM = "production_receipt"
#: the client_id of the engine's receipts starts with this (then the job report's number)
PREFIX = "receipt:"
#: ``conn.info`` key: a list the documents posted for a report go into ({form, id, code}), when the caller asks
POSTED = "mom_production_stock_posted"


def noted(conn: Connection, posted: Mapping[str, Any]) -> None:
    """Tell the caller (:func:`reports.report`'s answer) about a document the engine posted."""
    into = conn.info.get(POSTED)
    if into is not None:
        into.append({"form": posted.get("form"), "id": posted.get("id"), "code": posted.get("code")})


def plan(conn: Connection, forms: Any, order: Mapping[str, Any], good: Decimal) -> dict[str, Any] | None:
    """What ``good`` more (or, negative, fewer) pieces at the last operation receive; None when the
    order's form has no receipt fields (a pack older than 1.5.0)."""
    form = D.compiled(conn, forms, D.ORDER)
    if form.definition.field("receipt_location") is None:
        return None
    where = order.get("receipt_location")
    if order.get("auto_receipt") is False or where is None or good <= 0 and not _has_auto_receipts(conn, forms, order):
        where = None
    elif D.row(conn, D.compiled(conn, forms, "location"), int(where)) is None:     # deleted since: the storekeeper's job
        where = None
    return {"order": int(order["id"]), "qty": good, "location": int(where) if where is not None else None}


def _has_auto_receipts(conn: Connection, forms: Any, order: Mapping[str, Any]) -> bool:
    return D.dec(order.get("received_qty")) > 0


def carry_out(conn: Connection, forms: Any, stock: Any, ctx: Ctx, todo: Mapping[str, Any], code: str) -> None:
    """Receive (or take back) what ``todo`` says; ``stock``: ``forms`` for the stock engine's postings."""
    order_form = D.compiled(conn, forms, D.ORDER)
    order = D.row(conn, order_form, todo["order"])
    if order is None:
        return
    qty: Decimal = todo["qty"]
    if todo["location"] is None:
        if qty > 0 and order.get("receipt_state") != "waiting":
            D.update(conn, forms, ctx, D.ORDER, int(order["id"]), {"receipt_state": "waiting"})
        return
    ectx = D.acting(ctx)
    if qty > 0:
        _receive(conn, stock, ectx, order, qty, int(todo["location"]), f"{PREFIX}{code}", f"完工入库：报工 {code}")
        received = qty
    else:
        received = -_take_back(conn, stock, ectx, order, -qty, code)
    D.update(conn, forms, ctx, D.ORDER, int(order["id"]),
             {"received_qty": D.dec(order.get("received_qty")) + received, "receipt_state": "auto"})


def _receive(conn: Connection, forms: Any, ctx: Ctx, order: Mapping[str, Any], qty: Decimal, location: int,
             client_id: str, note: str, lots: list[int] | None = None) -> None:
    item = int(order["item"])
    if lots is None:
        lot = _order_lot(conn, forms, order)
        lines = [{"item": item, "qty": qty, "unit": order.get("unit"), "to_location": location, "lot": lot}]
    elif len(lots) == 1 and qty != 1:
        lines = [{"item": item, "qty": qty, "unit": order.get("unit"), "to_location": location, "lot": lots[0]}]
    else:
        lines = [{"item": item, "qty": Decimal(1), "unit": order.get("unit"), "to_location": location, "lot": lot}
                 for lot in lots]
    noted(conn, IP.create_and_post(conn, forms, ctx, FORM, {"production_order": int(order["id"]), "lines": lines, "client_id": client_id[:64],
                                               "doc_date": ctx.now.astimezone(ctx.tz).date(), "note": note[:200]}))


def _order_lot(conn: Connection, forms: Any, order: Mapping[str, Any]) -> int | None:
    """The lot the order's earlier receipts made (one lot per order); None: the first (the posting makes
    it), an untracked product, or serials (one each, made by the posting)."""
    m, lot = ID.get(conn, forms, ID.MOVE).main, ID.get(conn, forms, ID.LOT).main
    q = (sa.select(m.c.lot).select_from(m.join(lot, lot.c.id == m.c.lot))
         .where(m.c.document_form == FORM, m.c.production_order == int(order["id"]), m.c.item == int(order["item"]),
                m.c.qty > 0, m.c.deleted_at.is_(None), sa.or_(lot.c.is_serial.is_(None), lot.c.is_serial.is_(False)))
         .order_by(m.c.id).limit(1))
    found = conn.execute(q).scalar()
    return int(found) if found is not None else None


def _take_back(conn: Connection, forms: Any, ctx: Ctx, order: Mapping[str, Any], qty: Decimal, code: str) -> Decimal:
    """Reverse the order's automatic receipts, newest first, until ``qty`` is taken back, and receive the
    rest of the last one reversed again; returns what was taken back (less when the receipts hold less)."""
    compiled = ID.get(conn, forms, FORM)
    t = compiled.main
    docs = conn.execute(sa.select(t.c.id).where(t.c.production_order == int(order["id"]), t.c.status == "posted",
                                                t.c.reversal_of.is_(None), t.c.client_id.like(f"{PREFIX}%"),
                                                t.c.deleted_at.is_(None)).order_by(t.c.id.desc())).scalars().all()
    taken = D.ZERO
    for doc_id in docs:
        if taken >= qty:
            break
        moves = [mv for mv in IL.of_document(conn, forms, FORM, int(doc_id)) if D.dec(mv["qty"]) > 0]
        held = sum((D.dec(mv["qty"]) for mv in moves), D.ZERO)
        IP.reverse(conn, forms, ctx, FORM, int(doc_id))
        taken += held
        if taken > qty:        # this receipt held more than is taken back: receive the rest again
            rest = taken - qty
            location = int(moves[0]["location"])
            lots = [int(mv["lot"]) for mv in moves if mv["lot"] is not None]
            serial = len(lots) > 1 or (len(lots) == 1 and held == 1 and len(moves) == 1 and _is_serial(conn, forms, lots[0]))
            keep = lots[:int(rest)] if serial else (lots[:1] or None)
            _receive(conn, forms, ctx, order, rest, location, f"{PREFIX}{code}", f"完工入库（更正 {code} 后的余数）", lots=keep)
            taken = qty
    return taken


def _is_serial(conn: Connection, forms: Any, lot_id: int) -> bool:
    row = ID.row(conn, ID.get(conn, forms, ID.LOT), lot_id)
    return bool(row and row.get("is_serial"))
