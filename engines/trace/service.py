"""Forward and backward traces and the recall simulation, as the API and the CLI answer them
(the shape is documented in docs/traceability.md)."""
from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from mom.engines.records.context import Actor
from mom.engines.records.lookup import user_names
from mom.platform.errors import NotFound
from mom.engines.trace import lookup, origins, shipments, stock, walk
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
    vendors = _names(conn, forms, "vendor", {x["supplier"] for x in lots.values() if isinstance(x["supplier"], int)})
    for x in lots.values():      # a lot's supplier is a vendor (core 1.6.0): shown by its name
        x["supplier"] = vendors.get(x["supplier"], x["supplier"]) if isinstance(x["supplier"], int) else x["supplier"]
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


def _units(conn: Connection, forms: Any, out: dict[str, Any]) -> dict[str, Any]:
    """Each lot's ``unit`` (its item's stock unit) and each link's (the unit of the parent lot its qty counts)."""
    units = _names(conn, forms, "item", {x["item"] for x in out["lots"]}, "unit")
    by_lot = {}
    for x in out["lots"]:
        x["unit"] = units.get(x["item"])
        by_lot[x["id"]] = x["unit"]
    for e in out["links"]:
        e["unit"] = by_lot.get(e["parent_lot"])
    return out


def _merge(answers: list[dict[str, Any]]) -> dict[str, Any]:
    """Several forward walks (the lots of one heat number) as one answer: each lot once at its lowest level."""
    out = answers[0]
    lots = {x["id"]: x for x in out["lots"]}
    links = {e["id"]: e for e in out["links"]}
    for a in answers[1:]:
        for x in a["lots"]:
            if x["id"] not in lots or x["level"] < lots[x["id"]]["level"]:
                lots[x["id"]] = x
        for e in a["links"]:
            links.setdefault(e["id"], e)
    if len(lots) > walk.MAX_LOTS:
        raise walk.too_many()
    out["lots"] = sorted(lots.values(), key=lambda x: (x["level"], x["id"]))
    out["links"] = list(links.values())
    out["roots"] = [a["root"] for a in answers]
    return out


def forward(conn: Connection, forms: Any, actor: Actor, lot: Any, item: Any = None, depth: int = 10) -> dict[str, Any]:
    """Where lot ``lot`` went: the lots made from it, down to the customers' shipments. No lot or serial of that
    number (and no item given) but lots with it as heat number (炉号): all of them traced forward, as the recall does."""
    try:
        starts = [lookup.find_lot(conn, forms, actor, lot, item)]
        heat = None
    except NotFound:
        if item not in (None, ""):
            raise
        try:
            starts = lookup.heat_lots(conn, forms, actor, lot)
        except NotFound:
            text = str(lot).strip()
            raise NotFound(f"没有批号、序列号或炉号为「{text}」的批次：请核对标签上的号码",
                           f"no lot, serial or heat number {text}: check the label", detail={"field": "lot"}) from None
        heat = str(lot).strip()
    out = _merge([_walk(conn, forms, s, forward=True, depth=depth) for s in starts])
    out["heat_number"] = heat
    _units(conn, forms, out)
    out["shipments"], out["hidden"]["shipments"] = shipments.of_lots(conn, forms, actor, {x["id"]: x for x in out["lots"]})
    return out


def backward(conn: Connection, forms: Any, actor: Actor, lot: Any, item: Any = None, depth: int = 10) -> dict[str, Any]:
    """What went into lot ``lot``: the lots it was made from, with heat numbers, suppliers, the orders that
    made them (operators, machines, operations) and every record referencing them."""
    start = lookup.find_lot(conn, forms, actor, lot, item)
    out = _units(conn, forms, _walk(conn, forms, start, forward=False, depth=depth))
    out["roots"], out["heat_number"] = [out["root"]], None
    reached = {x["id"] for x in out["lots"]}
    made = origins.producing_orders(conn, forms, reached, out["links"])
    out["orders"], out["hidden"]["orders"] = origins.orders(conn, forms, actor, made)
    out["records"], out["hidden"]["records"] = origins.records(conn, forms, actor, reached)
    return out


def recall(conn: Connection, forms: Any, actor: Actor, heat_number: Any, depth: int = 10) -> dict[str, Any]:
    """Recall simulation: every lot with heat number ``heat_number`` traced forward; every lot reached (the
    finished ones too), where their stock is now (what to hold), all shipments holding it and the customers."""
    seeds = lookup.heat_lots(conn, forms, actor, heat_number)
    reached: dict[int, dict[str, Any]] = {}
    for s in seeds:
        for x in _walk(conn, forms, s, forward=True, depth=depth)["lots"]:
            if x["id"] not in reached or x["level"] < reached[x["id"]]["level"]:
                reached[x["id"]] = x
        if len(reached) > walk.MAX_LOTS:
            raise walk.too_many()
    _units(conn, forms, {"lots": list(reached.values()), "links": []})
    found, hidden = shipments.of_lots(conn, forms, actor, reached)
    held, hidden_stock = stock.of_lots(conn, forms, actor, reached)
    return {"heat_number": str(heat_number).strip(), "lots": [{"id": int(s["id"]), "number": s["number"], "item_name": s.get("item_name")}
                                                             for s in seeds],
            "reached": len(reached), "reached_lots": sorted(reached.values(), key=lambda x: (x["level"], x["id"])),
            "stock": held, "shipments": found, "customers": shipments.customers(found),
            "hidden": {"shipments": hidden, "stock": hidden_stock}}
