"""Backward decorations: the production orders that made the reached lots, with their job reports
(operators, machines, operations, times), and every record of any form that references a reached lot
through a reference field (inspection records of the plant's forms or the quality pack)."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.forms.store import form_names
from mom.engines.records.access import form_access
from mom.engines.records.context import Actor
from mom.engines.records.lookup import user_names
from mom.engines.trace.rights import chunks, reader, visible_ids

#: forms whose lot references are stock bookkeeping, not facts about the lot: left out of ``records``
BOOKKEEPING = frozenset({"lot", "lot_link", "stock_move", "stock_balance", "stock_receipt", "stock_issue", "stock_transfer",
                         "stock_return", "production_receipt", "stock_shipment", "stock_count"})
MAX_RECORDS = 2000


def _iso(v: Any) -> str | None:
    return v.isoformat().replace("+00:00", "Z") if v is not None and hasattr(v, "isoformat") else v


def _names(conn: Connection, forms: Any, form: str, ids: set[int], col: str = "name") -> dict[int, str]:
    try:
        t = forms.get(conn, form).main
    except Exception:
        return {}
    out: dict[int, str] = {}
    for part in chunks(sorted(i for i in ids if i is not None)):
        out.update({int(r[0]): r[1] for r in conn.execute(sa.select(t.c.id, t.c[col]).where(t.c.id.in_(part)))})
    return out


def producing_orders(conn: Connection, forms: Any, lots: set[int], links: list[dict[str, Any]]) -> dict[int, set[int]]:
    """order id → the reached lots it made: from the links walked and the 完工入库 ledger rows."""
    made: dict[int, set[int]] = {}
    for e in links:
        if e.get("production_order") is not None:
            made.setdefault(int(e["production_order"]), set()).add(int(e["child_lot"]))
    m = forms.get(conn, "stock_move").main
    for part in chunks(sorted(lots)):
        q = sa.select(m.c.production_order, m.c.lot).where(m.c.document_form == "production_receipt", m.c.lot.in_(part),
                                                          m.c.production_order.is_not(None), m.c.qty > 0,
                                                          m.c.reversal_of.is_(None), m.c.deleted_at.is_(None)).distinct()
        for order, lot in conn.execute(q):
            made.setdefault(int(order), set()).add(int(lot))
    return made


def orders(conn: Connection, forms: Any, actor: Actor, made: dict[int, set[int]]) -> tuple[list[dict[str, Any]], int]:
    """The orders (as far as the reader may read them) with their job reports; ``hidden``: orders not readable."""
    got = reader(conn, forms, actor, "production_order")
    if got is None or not made:
        return [], 0
    po, access = got
    seen = visible_ids(conn, po, access, set(made))
    t = po.main
    rows: dict[int, dict[str, Any]] = {}
    for part in chunks(sorted(seen)):
        rows.update({int(r.id): dict(r._mapping) for r in conn.execute(sa.select(t.c.id, t.c.code, t.c.item).where(t.c.id.in_(part)))})
    items = _names(conn, forms, "item", {r["item"] for r in rows.values()})
    reports: dict[int, list[dict[str, Any]]] = {}
    jr = reader(conn, forms, actor, "job_report")
    if jr is not None and jr[1].can("read"):
        j = jr[0].main
        scope = jr[1].scope("read")
        found = []
        for part in chunks(sorted(rows)):
            q = sa.select(j).where(j.c.production_order.in_(part), j.c.deleted_at.is_(None))
            found += [dict(r) for r in conn.execute(q.where(scope) if scope is not None else q).mappings()]
        tasks = _names(conn, forms, "operation_task", {r.get("task") for r in found})
        machines = _names(conn, forms, "machine", {r.get("machine") for r in found})
        people = user_names(conn, {int(r["operator"]) for r in found if r.get("operator") is not None})
        for r in sorted(found, key=lambda r: (str(r.get("reported_at") or ""), r["id"])):
            reports.setdefault(int(r["production_order"]), []).append({
                "id": int(r["id"]), "code": r.get("code"), "event": r.get("event"), "operation": tasks.get(r.get("task")),
                "task": r.get("task"), "operator": r.get("operator"), "operator_name": people.get(r.get("operator")),
                "machine": r.get("machine"), "machine_name": machines.get(r.get("machine")),
                "good_qty": float(r["good_qty"]) if r.get("good_qty") is not None else None,
                "scrap_qty": float(r["scrap_qty"]) if r.get("scrap_qty") is not None else None,
                "reported_at": _iso(r.get("reported_at"))})
    out = [{"id": oid, "code": r["code"], "item_name": items.get(r["item"]), "lots": sorted(made[oid]),
            "reports": reports.get(oid, [])} for oid, r in sorted(rows.items())]
    return out, len(set(made) - seen)


def records(conn: Connection, forms: Any, actor: Actor, lots: set[int]) -> tuple[list[dict[str, Any]], int]:
    """Every record of any form (but the stock bookkeeping) whose reference field to ``lot`` holds a reached
    lot, shown by its form's label and its display text; ``hidden``: such records the reader may not read."""
    names = [n for n in form_names(conn) if n not in BOOKKEEPING]
    out: list[dict[str, Any]] = []
    hidden = 0
    for name, compiled in sorted(forms.get_many(conn, names).items()):
        fields = [f for f in compiled.definition.scalar_fields if f.type == "reference" and f.raw.get("form") == "lot"]
        if not fields or not lots:
            continue
        access = None
        t = compiled.main
        for f in fields:
            if f.key not in t.c:
                continue
            found = []
            for part in chunks(sorted(lots)):
                found += [dict(r) for r in conn.execute(sa.select(t).where(t.c[f.key].in_(part), t.c.deleted_at.is_(None))
                                                        .order_by(t.c.id).limit(MAX_RECORDS)).mappings()]
            if not found:
                continue
            if access is None:
                access = form_access(compiled, actor)
            seen = visible_ids(conn, compiled, access, {int(r["id"]) for r in found})
            if not access.visible(f.key):
                seen = set()
            hidden += len({int(r["id"]) for r in found} - seen)
            shown_key = compiled.definition.display_field or "id"
            for r in found:
                if int(r["id"]) in seen:
                    text = r.get(shown_key) if access.visible(shown_key) else None
                    out.append({"form": name, "form_label": compiled.definition.label.get("zh-CN") or name,
                                "id": int(r["id"]), "display": str(text if text is not None else f"#{r['id']}"),
                                "lot": int(r[f.key]), "field": f.key, "field_label": f.label.get("zh-CN") or f.key})
    return out, hidden
