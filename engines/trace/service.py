"""Forward and backward traces and the recall simulation, as the API and the CLI answer them
(the shape is documented in docs/traceability.md)."""
from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from mom.engines.records.context import Actor
from mom.engines.records.lookup import user_names
from mom.engines.trace import lookup, origins, shipments, walk
from mom.engines.trace.origins import _names

RELATION_ZH = {"consume": "投料", "split": "拆分", "merge": "合并"}
DOCUMENT_ZH = {"production_receipt": "完工入库", "stock_issue": "生产领料", "stock_return": "退料", "lot": "批次拆分/合并"}


def _iso(v: Any) -> Any:
    return v.isoformat().replace("+00:00", "Z") if hasattr(v, "isoformat") else v


def _lot(r: dict[str, Any], level: int, prefix: str = "") -> dict[str, Any]:
    g = (lambda k: r.get(prefix + k)) if prefix else r.get
    return {"id": int(r["id"]) if not prefix else None, "number": g("number"), "item": g("item"),
            "item_code": r.get("item_code"), "item_name": r.get("item_name"), "is_serial": bool(g("is_serial")),
            "heat_number": g("heat_number"), "supplier_lot": g("supplier_lot"), "supplier": g("supplier"),
            "status": g("status"), "level": level}


def _walk(conn: Connection, forms: Any, start: dict[str, Any], *, forward: bool, depth: int) -> dict[str, Any]:
    edges = [r._mapping for r in walk.run(conn, forms, int(start["id"]), forward=forward, depth=depth)]
    far = "child_lot" if forward else "parent_lot"
    lots = {int(start["id"]): _lot(start, 0)}
    for e in edges:
        if int(e[far]) not in lots:
            lots[int(e[far])] = {**_lot(e, int(e["level"]), "lot_"), "id": int(e[far])}
    orders = _names(conn, forms, "production_order", {e["production_order"] for e in edges}, "code")
    tasks = _names(conn, forms, "operation_task", {e["task"] for e in edges})
    machines = _names(conn, forms, "machine", {e["machine"] for e in edges})
    people = user_names(conn, {int(e["operator"]) for e in edges if e["operator"] is not None})
    links = [{"id": int(e["id"]), "parent_lot": int(e["parent_lot"]), "child_lot": int(e["child_lot"]),
              "qty": float(e["qty"]) if e["qty"] is not None else None, "relation": e["relation"],
              "relation_label": RELATION_ZH.get(e["relation"], e["relation"]), "production_order": e["production_order"],
              "production_order_code": orders.get(e["production_order"]), "task": e["task"], "task_name": tasks.get(e["task"]),
              "machine": e["machine"], "machine_name": machines.get(e["machine"]), "operator": e["operator"],
              "operator_name": people.get(e["operator"]), "document_form": e["document_form"],
              "document_label": DOCUMENT_ZH.get(e["document_form"], e["document_form"]), "document_code": e["document_code"],
              "linked_at": walk.linked_at(e["linked_at"]), "level": int(e["level"])} for e in edges]
    return {"direction": "forward" if forward else "backward", "root": int(start["id"]), "depth": depth,
            "lots": sorted(lots.values(), key=lambda x: (x["level"], x["id"])), "links": links,
            "shipments": [], "orders": [], "records": [], "hidden": {"shipments": 0, "orders": 0, "records": 0}}


def forward(conn: Connection, forms: Any, actor: Actor, lot: Any, item: Any = None, depth: int = 10) -> dict[str, Any]:
    """Where lot ``lot`` went: the lots made from it, down to the customers' shipments."""
    start = lookup.find_lot(conn, forms, actor, lot, item)
    out = _walk(conn, forms, start, forward=True, depth=depth)
    out["shipments"], out["hidden"]["shipments"] = shipments.of_lots(conn, forms, actor, {x["id"]: x for x in out["lots"]})
    return out


def backward(conn: Connection, forms: Any, actor: Actor, lot: Any, item: Any = None, depth: int = 10) -> dict[str, Any]:
    """What went into lot ``lot``: the lots it was made from, with heat numbers, suppliers, the orders that
    made them (operators, machines, operations) and every record referencing them."""
    start = lookup.find_lot(conn, forms, actor, lot, item)
    out = _walk(conn, forms, start, forward=False, depth=depth)
    reached = {x["id"] for x in out["lots"]}
    made = origins.producing_orders(conn, forms, reached, out["links"])
    out["orders"], out["hidden"]["orders"] = origins.orders(conn, forms, actor, made)
    out["records"], out["hidden"]["records"] = origins.records(conn, forms, actor, reached)
    return out


def recall(conn: Connection, forms: Any, actor: Actor, heat_number: Any, depth: int = 10) -> dict[str, Any]:
    """Recall simulation: every lot with heat number ``heat_number`` traced forward; all shipments holding it."""
    seeds = lookup.heat_lots(conn, forms, actor, heat_number)
    reached: dict[int, dict[str, Any]] = {}
    for s in seeds:
        for x in _walk(conn, forms, s, forward=True, depth=depth)["lots"]:
            reached.setdefault(x["id"], x)
        if len(reached) > walk.MAX_LOTS:
            raise walk.too_many()
    found, hidden = shipments.of_lots(conn, forms, actor, reached)
    return {"heat_number": str(heat_number).strip(), "lots": [{"id": int(s["id"]), "number": s["number"], "item_name": s.get("item_name")}
                                                             for s in seeds],
            "reached": len(reached), "shipments": found, "customers": shipments.customers(found), "hidden": {"shipments": hidden}}
