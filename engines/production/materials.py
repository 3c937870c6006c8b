"""Material-aware scheduling (物料约束, issue 21 item 5): which component each open operation still needs,
what covers it and when.

For every released or started production order, its ``components`` (the BOM at release) are needs of
the operation whose ``seq`` is the line's ``operation_seq`` (a line without one: the order's first
operation; a seq no task has: the next task after it), less what was already issued to the order (the
stock ledger's lines of the order: issues, returns, backflush), taken from the earliest operations first.
An operation already done needs nothing more.

Needs are covered in the plant's priority order (priority 1 first, then due date, then order), so two
orders never count the same stock:

1. usable on hand (released or untracked lots in normal and line-side locations) — there now;
2. open purchase order lines (采购订单, qty − received) by due date, then open production orders of the
   component (qty − good) by planned end (else due date), in date order — there at that date;
3. what nothing covers is a shortage (缺料): the operation gets no arrival for it, the answer lists it.

:func:`allocate` reads all of this in one query per kind (orders, tasks, components, issued, on hand,
purchase lines, component orders, item codes), whatever the number of operations.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.inventory.balances import usable_on_hand
from mom.engines.production import documents as D
from mom.engines.records.access import form_access
from mom.platform.errors import NotFound

OPEN_ORDERS = ("released", "started")
SUPPLY_ORDERS = ("planned", "released", "started")
PO_FORM, MOVE_FORM = "purchase_order", "stock_move"
_CHUNK = 900                                   # SQLite's bound-parameter limit


@dataclass
class Supply:
    """One open receipt of a component: a purchase order line or a production order."""
    item: int
    left: Decimal
    at: dt.datetime
    document: str                              # PO-… / MO-…
    form: str                                  # purchase_order | production_order
    record: int


@dataclass
class Cover:
    """A component need of one operation and what covers it."""
    order: int
    order_code: str
    task: int
    task_code: str
    item: int
    needed: Decimal
    on_hand: Decimal = Decimal(0)              # from stock there now
    arrival: dt.datetime | None = None         # when the last receipt covering it is due
    documents: list[tuple[str, str, int, Decimal, dt.datetime]] = field(default_factory=list)  # (form, code, id, qty, at)
    short: Decimal = Decimal(0)                # covered by nothing

    @property
    def later(self) -> Decimal:
        """What waits for a receipt."""
        return self.needed - self.on_hand - self.short


@dataclass
class Allocation:
    """Every open operation's component needs (by task id) and the item codes and names they name."""
    covers: dict[int, list[Cover]] = field(default_factory=dict)
    items: dict[int, tuple[str, str]] = field(default_factory=dict)   # id -> (code, name)
    units: dict[int, str] = field(default_factory=dict)               # id -> stock unit (kg, 件)

    def shortages(self) -> list[Cover]:
        return [c for cs in self.covers.values() for c in cs if c.short > 0]


#: the fields read here of forms the production engine does not otherwise bind to (another pack's form of the
#: same name without them is left alone)
_NEEDS = {PO_FORM: ("status", "lines"), MOVE_FORM: ("item", "qty", "production_order", "document_form"),
          D.ITEM: ("code", "name")}


def _table(conn: Connection, forms: Any, name: str) -> Any | None:
    """The core pack's form ``name`` (None when it is not installed or is another pack's)."""
    try:
        c = D.compiled(conn, forms, name)
    except NotFound:
        return None
    if name in _NEEDS:
        return c if all(c.definition.field(k) is not None for k in _NEEDS[name]) else None
    return c if D.is_core(c) else None


def _chunks(ids: Iterable[int]) -> list[list[int]]:
    wanted = sorted({int(i) for i in ids})
    return [wanted[i:i + _CHUNK] for i in range(0, len(wanted), _CHUNK)]


def _at(v: Any, tz: dt.tzinfo) -> dt.datetime | None:
    """A stored date (the start of that day in the plant's zone) or datetime (naive: UTC)."""
    if v is None:
        return None
    if isinstance(v, str):
        v = dt.datetime.fromisoformat(v) if "T" in v or " " in v else dt.date.fromisoformat(v)
    if isinstance(v, dt.datetime):
        return v.replace(tzinfo=dt.timezone.utc) if v.tzinfo is None else v
    return dt.datetime.combine(v, dt.time(0), tzinfo=tz)


def _order_key(o: dict[str, Any]) -> tuple[Any, ...]:
    due = o.get("due_date")
    due = (due.replace(tzinfo=None) if isinstance(due, dt.datetime) else due) if due is not None else None
    prio = o.get("priority")
    return (int(prio) if prio is not None else 5, due is None, due or dt.datetime.min, int(o["id"]))


def allocate(conn: Connection, forms: Any, *, tz: dt.tzinfo, orders: list[dict[str, Any]] | None = None) -> Allocation:
    """The component cover of every open operation of ``orders`` (default: every released or started
    order). Empty when the core pack has no stock forms."""
    out = Allocation()
    f_order, f_task = _table(conn, forms, D.ORDER), _table(conn, forms, D.TASK)
    if f_order is None or f_task is None or "components" not in f_order.children:
        return out
    o_t = f_order.main
    if orders is None:
        orders = D.rows(conn, f_order, o_t.c.status.in_(OPEN_ORDERS))
    if not orders:
        return out
    ids = [int(o["id"]) for o in orders]
    comps = _components(conn, f_order, ids)
    if not comps:
        return out
    tasks = _tasks(conn, f_task, ids)
    issued = _issued(conn, forms, ids)
    needs: list[tuple[dict[str, Any], dict[str, Any], int, Decimal]] = []     # (order, task, item, qty)
    for o in sorted(orders, key=_order_key):
        per_task = _needs_of(comps.get(int(o["id"]), []), tasks.get(int(o["id"]), []), issued.get(int(o["id"]), {}))
        needs.extend((o, t, item, qty) for t, item, qty in per_task)
    items = {item for _, _, item, _ in needs}
    if not items:
        return out
    pool = usable_on_hand(conn, items)
    supplies = _supplies(conn, forms, f_order, items, tz)
    for o, t, item, qty in needs:
        c = Cover(int(o["id"]), str(o["code"]), int(t["id"]), str(t["code"]), item, qty)
        c.on_hand = min(max(pool.get(item, D.ZERO), D.ZERO), qty)
        pool[item] = pool.get(item, D.ZERO) - c.on_hand
        rest = qty - c.on_hand
        queue = supplies.get(item, [])
        while rest > 0 and queue:
            s = queue[0]
            use = min(s.left, rest)
            s.left -= use
            rest -= use
            c.documents.append((s.form, s.document, s.record, use, s.at))
            c.arrival = s.at if c.arrival is None else max(c.arrival, s.at)
            if s.left <= 0:
                queue.pop(0)
        c.short = rest
        out.covers.setdefault(c.task, []).append(c)
    f_item = _table(conn, forms, D.ITEM)
    if f_item is not None:
        it = f_item.main
        for chunk in _chunks(items):
            cols = [it.c.id, it.c.code, it.c.name] + ([it.c.unit] if "unit" in it.c else [])
            for r in conn.execute(sa.select(*cols).where(it.c.id.in_(chunk))).mappings():
                out.items[int(r["id"])] = (str(r["code"]), str(r["name"] or r["code"]))
                out.units[int(r["id"])] = str(r.get("unit") or "")
    return out


def _components(conn: Connection, f_order: Any, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    t = f_order.children["components"]
    out: dict[int, list[dict[str, Any]]] = {}
    for chunk in _chunks(ids):
        q = sa.select(t.c.parent_id, t.c.item, t.c.qty_required, t.c.operation_seq).where(t.c.parent_id.in_(chunk)) \
            .order_by(t.c.parent_id, t.c.seq, t.c.id)
        for parent, item, qty, seq in conn.execute(q):
            if item is not None and D.dec(qty) > 0:
                out.setdefault(int(parent), []).append({"item": item, "qty_required": qty, "operation_seq": seq})
    return out


def _tasks(conn: Connection, f_task: Any, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Every task of the orders (done ones too: a done operation needs nothing), in operation order."""
    t = f_task.main
    out: dict[int, list[dict[str, Any]]] = {}
    for chunk in _chunks(ids):
        q = sa.select(t.c.id, t.c.code, t.c.seq, t.c.status, t.c.production_order) \
            .where(t.c.production_order.in_(chunk), t.c.deleted_at.is_(None))
        for rid, code, seq, status, order in conn.execute(q):
            out.setdefault(int(order), []).append({"id": rid, "code": code, "seq": seq, "status": status})
    for rows in out.values():
        rows.sort(key=lambda r: (r["seq"] if r["seq"] is not None else 1 << 30, r["id"]))
    return out


def _issued(conn: Connection, forms: Any, ids: list[int]) -> dict[int, dict[int, Decimal]]:
    """Per order and item, what the ledger gave it (issues, backflush, less returns; receipts of what it
    made are not consumption)."""
    f_move = _table(conn, forms, MOVE_FORM)
    if f_move is None:
        return {}
    t = f_move.main
    out: dict[int, dict[int, Decimal]] = {}
    for chunk in _chunks(ids):
        q = (sa.select(t.c.production_order, t.c.item, sa.func.sum(t.c.qty))
             .where(t.c.production_order.in_(chunk), t.c.deleted_at.is_(None), t.c.document_form != "production_receipt")
             .group_by(t.c.production_order, t.c.item))
        for oid, item, total in conn.execute(q):
            out.setdefault(int(oid), {})[int(item)] = -D.dec(total)
    return out


def _needs_of(comps: list[dict[str, Any]], tasks: list[dict[str, Any]], issued: dict[int, Decimal]
              ) -> list[tuple[dict[str, Any], int, Decimal]]:
    """(task, item, qty still needed) of one order: each component at its operation, net of what was issued
    (taken from the earliest operations first); nothing for a done operation."""
    if not tasks:
        return []
    first = tasks[0]["seq"]
    placed = []
    for c in comps:
        seq = c.get("operation_seq") if c.get("operation_seq") is not None else first
        task = next((t for t in tasks if t["seq"] is not None and seq is not None and t["seq"] >= seq), tasks[-1])
        placed.append((task, int(c["item"]), D.dec(c["qty_required"])))
    placed.sort(key=lambda p: (p[0]["seq"] if p[0]["seq"] is not None else 1 << 30, p[0]["id"]))
    left = dict(issued)
    out = []
    for task, item, qty in placed:
        got = min(max(left.get(item, D.ZERO), D.ZERO), qty)
        left[item] = left.get(item, D.ZERO) - got
        if qty - got > 0 and task.get("status") != "done":
            out.append((task, item, qty - got))
    return out


def _supplies(conn: Connection, forms: Any, f_order: Any, items: set[int], tz: dt.tzinfo) -> dict[int, list[Supply]]:
    """Open receipts of ``items`` per item, earliest first: purchase order lines, then production orders."""
    out: dict[int, list[Supply]] = {}
    f_po = _table(conn, forms, PO_FORM)
    if f_po is not None and "lines" in f_po.children:
        p, ln = f_po.main, f_po.children["lines"]
        for chunk in _chunks(items):
            q = (sa.select(p.c.id, p.c.code, ln.c.item, ln.c.qty, ln.c.received_qty, ln.c.due_date)
                 .select_from(ln.join(p, p.c.id == ln.c.parent_id))
                 .where(p.c.deleted_at.is_(None), p.c.status == "open", ln.c.item.in_(chunk)))
            for r in conn.execute(q).mappings():
                left, at = D.dec(r["qty"]) - D.dec(r["received_qty"]), _at(r["due_date"], tz)
                if left > 0 and at is not None:
                    out.setdefault(int(r["item"]), []).append(Supply(int(r["item"]), left, at, str(r["code"]), PO_FORM, int(r["id"])))
    o = f_order.main
    for chunk in _chunks(items):
        q = sa.select(o.c.id, o.c.code, o.c.item, o.c.qty, o.c.good_qty, o.c.planned_end, o.c.due_date) \
            .where(o.c.deleted_at.is_(None), o.c.status.in_(SUPPLY_ORDERS), o.c.item.in_(chunk))
        for r in conn.execute(q).mappings():
            left, at = D.dec(r["qty"]) - D.dec(r["good_qty"]), _at(r["planned_end"] or r["due_date"], tz)
            if left > 0 and at is not None:
                out.setdefault(int(r["item"]), []).append(Supply(int(r["item"]), left, at, str(r["code"]), D.ORDER, int(r["id"])))
    for rows in out.values():
        rows.sort(key=lambda s: (s.at, s.form != PO_FORM, s.document))
    return out


# ---------------------------------------------------------------- in the problem and in words

def constrain(problem: dict[str, Any], alloc: Allocation, origin: dt.datetime, task_ids: dict[tuple[str, str], int],
              index: Any) -> None:
    """Give each planned operation of ``problem`` its material arrivals (minutes from ``origin``); list every
    component nothing covers in ``index.shortages`` (item, name, short, orders) with one note naming them.
    A running or pinned operation keeps its place (nothing added)."""
    for o in problem["orders"]:
        for op in o["operations"]:
            tid = task_ids.get((o["id"], op["id"]))
            covers = alloc.covers.get(tid, []) if tid is not None else []
            mats = []
            for c in covers:
                if c.arrival is not None and c.arrival > origin and "pinned" not in op:
                    minute = int(math.ceil((c.arrival - origin).total_seconds() / 60))
                    mats.append({"item": alloc.items.get(c.item, (str(c.item), ""))[0], "available": minute,
                                 "quantity": float(c.later)})
            if mats:
                op["materials"] = mats
    by_item: dict[int, list[Cover]] = {}
    for c in alloc.shortages():
        by_item.setdefault(c.item, []).append(c)
    for item, cs in sorted(by_item.items(), key=lambda kv: alloc.items.get(kv[0], (str(kv[0]), ""))[0]):
        code, name = alloc.items.get(item, (str(item), str(item)))
        index.shortages.append({"item": code, "item_name": name, "short": float(sum((c.short for c in cs), D.ZERO)),
                                "orders": sorted({c.order_code for c in cs}), "tasks": sorted({c.task_code for c in cs})})
    if index.shortages:
        zh = "、".join(f"「{s['item_name']}」缺 {D.qty_text(Decimal(str(s['short'])))}" for s in index.shortages[:8])
        en = ", ".join(f"{D.qty_text(Decimal(str(s['short'])))} of {s['item']}" for s in index.shortages[:8])
        more = " 等" if len(index.shortages) > 8 else ""
        index.notes.append({"zh-CN": f"缺料：{len(index.shortages)} 种物料库存和在途都不够（{zh}{more}），用到它们的工序照常排程："
                                     "请补充采购或调拨后重新排程",
                            "en": f"shortage: {len(index.shortages)} component(s) not covered by stock or open receipts "
                                  f"({en}{' …' if more else ''}); the operations using them are planned as usual: buy or move "
                                  "some, then plan again"})


def shortage_rows(alloc: Allocation, tz: dt.tzinfo | None) -> dict[int, list[dict[str, Any]]]:
    """Per task id, the components not in stock for it now: needed, available (on hand for it), the receipts it
    waits for (document, quantity, expected date; one already due and not received still counts) and what
    nothing covers (``missing``)."""
    def local(t: dt.datetime) -> str:
        return t.astimezone(tz).isoformat() if tz is not None else t.isoformat()

    out: dict[int, list[dict[str, Any]]] = {}
    for tid, covers in alloc.covers.items():
        for c in covers:
            if c.on_hand >= c.needed:
                continue
            code, name = alloc.items.get(c.item, (str(c.item), str(c.item)))
            out.setdefault(tid, []).append({
                "component": c.item, "component_code": code, "component_name": name, "unit": alloc.units.get(c.item, ""),
                "needed": float(c.needed), "available": float(c.on_hand), "missing": float(c.short),
                "expected": local(c.arrival) if c.arrival is not None else None,
                "documents": [{"form": f, "code": doc, "qty": float(q), "expected": local(at)} for f, doc, _, q, at in c.documents]})
    return out


def dispatch_shortages(conn: Connection, forms: Any, ctx: Any) -> dict[int, list[dict[str, Any]]]:
    """:func:`shortage_rows` of the whole plant for the dispatch list; the codes of purchase orders (or
    production orders) are named only to a reader of that form (else just the expected date)."""
    tz = ctx.tz or dt.timezone.utc
    rows = shortage_rows(allocate(conn, forms, tz=tz), tz)
    hidden = set()
    for name in (PO_FORM, D.ORDER):
        f = _table(conn, forms, name)
        if f is None or not form_access(f, ctx.actor).can("read"):
            hidden.add(name)
    if hidden:
        for entries in rows.values():
            for e in entries:
                for d in e["documents"]:
                    if d["form"] in hidden:
                        d["code"] = None
    return rows
