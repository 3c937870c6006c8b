"""Stock on hand and the ledger as people read them: rows with the names of their item, location and
lot, filtered by what a person types or scans (an id, an item code, a location code, a lot number),
within the reader's permissions on the stock forms."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.inventory import balances as B
from mom.engines.inventory import documents as D
from mom.engines.inventory import ledger as L
from mom.engines.records.access import form_access
from mom.engines.records.context import Ctx
from mom.platform.errors import NotFound

_WHAT = {D.ITEM: ("code", "物料", "item"), D.LOCATION: ("code", "库位", "location"), D.LOT: ("number", "批次", "lot")}


def resolve(conn: Connection, forms: Any, form: str, value: str | int | None) -> int | None:
    """The id of the ``form`` record named by ``value``: its code (a lot: its number), else its id."""
    if value is None or value == "":
        return None
    compiled = forms.get(conn, form) if form == D.ITEM else D.get(conn, forms, form)
    t = compiled.main
    col, zh, en = _WHAT[form]
    text = str(value).strip()[:100]
    found = conn.execute(sa.select(t.c.id).where(t.c[col] == text, t.c.deleted_at.is_(None)).limit(1)).scalar()
    if found is None and text.isascii() and text.isdigit() and len(text) <= 18:
        found = conn.execute(sa.select(t.c.id).where(t.c.id == int(text), t.c.deleted_at.is_(None))).scalar()
    if found is None:
        raise NotFound(f"找不到{zh}「{text}」：请检查编码或扫描的条码", f"no {en} {text}: check the code or the scanned label",
                       detail={form: text})
    return int(found)


def require_read(conn: Connection, forms: Any, ctx: Ctx, form: str) -> None:
    form_access(D.get(conn, forms, form), ctx.actor).require("read")


def _names(conn: Connection, forms: Any, rows: list[dict[str, Any]]) -> dict[str, dict[int, dict[str, Any]]]:
    items = D.rows_by_id(conn, forms.get(conn, D.ITEM), {r["item"] for r in rows})
    locs = D.rows_by_id(conn, D.get(conn, forms, D.LOCATION),
                        {r[k] for r in rows for k in ("location", "other_location") if r.get(k) is not None})
    lots = D.rows_by_id(conn, D.get(conn, forms, D.LOT), {r["lot"] for r in rows if r.get("lot") is not None})
    return {"item": items, "location": locs, "lot": lots}


def number(v: Any) -> float | int:
    d = D.dec(v)
    return int(d) if d == d.to_integral_value() else float(d)


def _named(r: dict[str, Any], names: dict[str, dict[int, dict[str, Any]]]) -> dict[str, Any]:
    item = names["item"].get(int(r["item"]), {})
    loc = names["location"].get(int(r["location"]), {})
    lot = names["lot"].get(int(r["lot"])) if r.get("lot") is not None else None
    return {"item": int(r["item"]), "item_code": item.get("code"), "item_name": item.get("name"), "unit": item.get("unit"),
            "location": int(r["location"]), "location_name": D.name_of(loc, r["location"]), "location_kind": loc.get("kind"),
            "lot": int(r["lot"]) if r.get("lot") is not None else None, "lot_number": lot.get("number") if lot else None,
            "lot_status": lot.get("status") if lot else None, "qty": number(r["qty"])}


def onhand(conn: Connection, forms: Any, ctx: Ctx, *, item: Any = None, location: Any = None, lot: Any = None,
           limit: int = 500) -> dict[str, Any]:
    """Balances (non-zero) with names, and the usable total per item (normal and line-side, released or untracked)."""
    require_read(conn, forms, ctx, D.BALANCE)
    ids = {"item": resolve(conn, forms, D.ITEM, item), "location": resolve(conn, forms, D.LOCATION, location),
           "lot": resolve(conn, forms, D.LOT, lot)}
    rows = B.on_hand(conn, forms, **ids, limit=limit)
    names = _names(conn, forms, rows)
    usable = B.usable_on_hand(conn, sorted({r["item"] for r in rows}))
    totals: dict[int, Decimal] = {}
    for r in rows:
        totals[r["item"]] = totals.get(r["item"], D.ZERO) + r["qty"]
    return {"rows": [_named(r, names) for r in rows],
            "items": [{"item": i, "item_code": names["item"].get(i, {}).get("code"), "item_name": names["item"].get(i, {}).get("name"),
                       "unit": names["item"].get(i, {}).get("unit"), "on_hand": number(q), "usable": number(usable.get(i, D.ZERO))}
                      for i, q in totals.items()]}


def moves(conn: Connection, forms: Any, ctx: Ctx, *, item: Any = None, location: Any = None, lot: Any = None,
          before_id: int | None = None, limit: int = 200) -> dict[str, Any]:
    """Ledger rows, newest first, with names (the drill-down from a balance)."""
    require_read(conn, forms, ctx, D.MOVE)
    rows = L.history(conn, forms, item=resolve(conn, forms, D.ITEM, item), location=resolve(conn, forms, D.LOCATION, location),
                     lot=resolve(conn, forms, D.LOT, lot), before_id=before_id, limit=limit)
    names = _names(conn, forms, rows)
    out = []
    for r in rows:
        other = names["location"].get(int(r["other_location"])) if r.get("other_location") is not None else None
        out.append({**_named(r, names), "id": int(r["id"]), "posted_at": r["posted_at"].isoformat().replace("+00:00", "Z")
                    if r.get("posted_at") else None, "document_form": r["document_form"],
                    "document_label": D.KINDS[r["document_form"]].zh if r["document_form"] in D.KINDS else r["document_form"],
                    "document_id": r["document_id"], "document_code": r["document_code"], "document_line": r["document_line"],
                    "other_location_name": D.name_of(other) if other else None, "reversal_of": r.get("reversal_of")})
    return {"moves": out, "next_before": out[-1]["id"] if len(out) == limit else None}
