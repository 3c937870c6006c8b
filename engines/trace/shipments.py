"""Forward ends: the customers' shipments (销售出库 ledger rows) of the lots a trace reached."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.records.context import Actor
from mom.engines.trace.rights import chunks, reader, visible_ids


def _iso(v: Any) -> str | None:
    return v.isoformat().replace("+00:00", "Z") if v is not None else None


def of_lots(conn: Connection, forms: Any, actor: Actor, lots: dict[int, dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """``(shipments, hidden)``: the shipment ledger rows (reversed ones left out) of ``lots`` (id → lot
    row with number and item_name), each with its document, sales order and customer as far as the
    reader may see them; ``hidden``: how many shipments they may not read."""
    got = reader(conn, forms, actor, "stock_shipment")
    if got is None or not lots:
        return [], 0
    ship, access = got
    m, s = forms.get(conn, "stock_move").main, ship.main
    r = m.alias("undo")
    rows: list[dict[str, Any]] = []
    for part in chunks(sorted(lots)):
        q = (sa.select(m.c.id, m.c.lot, m.c.qty, m.c.posted_at, m.c.document_id, s.c.code, s.c.sales_order)
             .select_from(m.join(s, s.c.id == m.c.document_id))
             .where(m.c.document_form == "stock_shipment", m.c.lot.in_(part), m.c.qty < 0, m.c.deleted_at.is_(None),
                    m.c.reversal_of.is_(None), ~sa.exists().where(r.c.reversal_of == m.c.id, r.c.deleted_at.is_(None))))
        rows += [dict(x) for x in conn.execute(q).mappings()]
    seen = visible_ids(conn, ship, access, {int(x["document_id"]) for x in rows})
    shown = [x for x in rows if int(x["document_id"]) in seen]
    hidden = len({int(x["document_id"]) for x in rows} - seen)
    orders: dict[int, dict[str, Any]] = {}
    so = reader(conn, forms, actor, "sales_order")
    if so is not None:
        wanted = visible_ids(conn, so[0], so[1], {int(x["sales_order"]) for x in shown if x["sales_order"] is not None})
        t = so[0].main
        for part in chunks(sorted(wanted)):
            orders.update({int(o.id): {"code": o.code, "customer": o.customer if so[1].visible("customer") else None}
                           for o in conn.execute(sa.select(t.c.id, t.c.code, t.c.customer).where(t.c.id.in_(part)))})
    out = []
    for x in sorted(shown, key=lambda x: (x["posted_at"] is None, x["posted_at"], x["id"])):
        lot = lots[int(x["lot"])]
        order = orders.get(int(x["sales_order"])) if x["sales_order"] is not None else None
        out.append({"lot": int(x["lot"]), "lot_number": lot.get("number"), "item_name": lot.get("item_name"),
                    "unit": lot.get("unit"), "qty": float(-Decimal(str(x["qty"]))), "document_id": int(x["document_id"]), "document_code": x["code"],
                    "shipped_at": _iso(x["posted_at"]), "sales_order": x["sales_order"] if order else None,
                    "sales_order_code": order["code"] if order else None, "customer": order["customer"] if order else None})
    return out, hidden


def customers(shipments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per customer: how many shipments and how much (a recall's letter list)."""
    by: dict[str, dict[str, Any]] = {}
    for s in shipments:
        key = s["customer"] or "（未知客户）"
        c = by.setdefault(key, {"customer": s["customer"], "shipments": set(), "qty": 0.0, "units": set()})
        c["shipments"].add(s["document_id"])
        c["qty"] += s["qty"]
        c["units"].add(s.get("unit"))
    # the unit when every shipment counts in the same one (a sum of kg and 台 has none)
    return [{"customer": c["customer"], "shipments": len(c["shipments"]), "qty": round(c["qty"], 4),
             "unit": next(iter(c["units"])) if len(c["units"]) == 1 else None}
            for c in sorted(by.values(), key=lambda c: (c["customer"] is None, c["customer"] or ""))]
