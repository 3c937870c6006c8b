"""What a recall must hold: the stock on hand now (库存余额) of the lots a trace reached, by location."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.records.context import Actor
from mom.engines.trace.origins import _names
from mom.engines.trace.rights import chunks, reader


def of_lots(conn: Connection, forms: Any, actor: Actor, lots: dict[int, dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """``(stock, hidden)``: the non-zero balances of ``lots`` (id → lot with number, item_name, unit), each with
    its location (code, name, warehouse), as far as the reader may read balances; ``hidden``: balances they may not."""
    got = reader(conn, forms, actor, "stock_balance")
    if got is None or not lots:
        return [], 0
    bal, access = got
    t = bal.main
    rows: list[dict[str, Any]] = []
    for part in chunks(sorted(lots)):
        q = sa.select(t.c.id, t.c.lot, t.c.location, t.c.qty).where(t.c.lot.in_(part), t.c.qty != 0, t.c.deleted_at.is_(None))
        rows += [dict(r) for r in conn.execute(q).mappings()]
    if not access.can("read"):
        return [], len(rows)
    scope = access.scope("read")
    if scope is not None:
        seen: set[int] = set()
        for part in chunks(sorted(int(r["id"]) for r in rows)):
            seen |= {int(x[0]) for x in conn.execute(sa.select(t.c.id).where(t.c.id.in_(part), scope))}
    else:
        seen = {int(r["id"]) for r in rows}
    shown = [r for r in rows if int(r["id"]) in seen]
    locs = {r["location"] for r in shown}
    codes, names = _names(conn, forms, "location", locs, "code"), _names(conn, forms, "location", locs)
    wh_of = _names(conn, forms, "location", locs, "warehouse")
    houses = _names(conn, forms, "warehouse", set(wh_of.values()))
    out = []
    for r in shown:
        lot, loc = lots[int(r["lot"])], r["location"]
        out.append({"lot": int(r["lot"]), "lot_number": lot.get("number"), "item_name": lot.get("item_name"), "unit": lot.get("unit"),
                    "location": loc, "location_code": codes.get(loc), "location_name": names.get(loc),
                    "warehouse_name": houses.get(wh_of.get(loc)), "qty": float(r["qty"])})
    out.sort(key=lambda x: (lots[x["lot"]].get("level", 0), x["lot_number"] or "", x["location_code"] or ""))
    return out, len(rows) - len(shown)
