"""Lot genealogy (批次谱系, form ``lot_link``): which lots went into which, as edges of a graph.

One ``lot_link`` row is one edge: ``parent_lot`` (consumed) → ``child_lot`` (produced or split off),
``qty`` of the parent in its stock unit, ``relation`` (``consume`` 投料 / ``split`` 拆分 / ``merge`` 合并),
the ``production_order``, ``task``, ``machine`` and ``operator`` when known, the document that made it
(``document_form`` / ``document_id`` / ``document_code``) and ``linked_at``. Rows are written only by
the engine and never changed: a reversed document appends a retracting row (``retracts`` → the edge,
``qty`` negated), and an edge with a retracting row is no longer live.

The posting rule (:func:`on_posted`, called by :mod:`posting` in the posting's transaction):

- a 完工入库 production receipt of order O posting lot P links every lot consumed by O so far
  (stock_issue / stock_return ledger rows of O, net per lot, reversals included; backflush issues are
  stock_issue documents too) to P, ``qty`` the order's net consumption of that lot;
- an issue (or the reversal of a return) to O posted after O already received lots links the issued lot to
  every lot O received so far (recall-safe: over-inclusive, never missing);
- reversing a receipt retracts the edges into its lots from O; reversing an issue retracts the edges
  from its lot through O once O's net consumption of that lot is 0 or less; a plain return keeps the
  edges (the product may already hold the material);
- untracked stock (no lot) makes no edges.
"""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.inventory import documents as D
from mom.engines.records import values as V
from mom.engines.records.context import Ctx
from mom.engines.records.service import insert_rows
from mom.platform.errors import InvalidInput

LINK = "lot_link"
RELATIONS = ("consume", "split", "merge")
EDGE_KEYS = ("parent_lot", "child_lot", "qty", "relation", "production_order", "task", "machine", "operator",
             "document_form", "document_id", "document_code", "retracts")
CONSUMING = ("stock_issue", "stock_return")
RECEIPT = "production_receipt"


def record(conn: Connection, forms: Any, ctx: Ctx, edges: list[dict[str, Any]]) -> list[int]:
    """Append genealogy edges, in the caller's transaction, and return their ids in order.

    Each edge is a dict with the keys of :data:`EDGE_KEYS`:
    ``parent_lot`` (lot id, required: the lot consumed / split / merged), ``child_lot`` (lot id, required:
    the lot made from it), ``qty`` (Decimal, of the parent in its stock unit), ``relation`` (``"consume"``
    default, ``"split"`` or ``"merge"``), ``production_order``, ``task`` (operation_task id), ``machine``
    (machine id), ``operator`` (user id) — each optional —, ``document_form``, ``document_id``,
    ``document_code`` (the document that made the link, optional) and ``retracts`` (only for a retracting
    row: the id of the edge it takes back). ``linked_at`` is now. The caller checked the user's right;
    the rows are written as the engine (people cannot write this form)."""
    if not edges:
        return []
    compiled = forms.get(conn, LINK)
    preps = []
    for i, e in enumerate(edges):
        if e.get("parent_lot") is None or e.get("child_lot") is None:
            raise InvalidInput(f"第 {i + 1} 条谱系缺少来源批次或产出批次", f"genealogy edge {i + 1} lacks its parent or child lot")
        relation = e.get("relation") or "consume"
        if relation not in RELATIONS:
            raise InvalidInput(f"谱系关系只能是投料、拆分或合并（第 {i + 1} 条是 {relation}）",
                               f"a genealogy relation is consume, split or merge (edge {i + 1} is {relation})")
        values = {k: e.get(k) for k in EDGE_KEYS}
        values.update(relation=relation, linked_at=ctx.now, qty=D.dec(e.get("qty")))
        preps.append(V.Prepared(values=values, children={}))
    with D.engine_writes(conn):
        stored = insert_rows(conn, compiled, D.acting(ctx), preps, hooks=forms.hooks)
    return [int(r["id"]) for r in stored]


def _live(t: Any) -> Any:
    """Edges that are neither retracting rows nor retracted."""
    r = t.alias("retraction")
    return sa.and_(t.c.deleted_at.is_(None), t.c.retracts.is_(None),
                   ~sa.exists().where(r.c.retracts == t.c.id, r.c.child_lot == t.c.child_lot, r.c.deleted_at.is_(None)))


def retract(conn: Connection, forms: Any, ctx: Ctx, where: Any, doc: dict[str, Any]) -> list[int]:
    """Append a retracting row for each live edge matching ``where`` (a clause on the lot_link table)."""
    t = forms.get(conn, LINK).main
    rows = conn.execute(sa.select(t).where(where, _live(t)).order_by(t.c.id)).mappings().all()
    return record(conn, forms, ctx, [{**{k: r[k] for k in EDGE_KEYS}, "qty": -D.dec(r["qty"]), "retracts": int(r["id"]),
                                      "document_form": doc.get("document_form"), "document_id": doc.get("document_id"),
                                      "document_code": doc.get("document_code")} for r in rows])


def _net_by_lot(conn: Connection, forms: Any, order: int, doc_forms: tuple[str, ...], sign: int) -> dict[int, Decimal]:
    """Per lot, ``sign`` × the ledger sum of order ``order``'s rows of ``doc_forms`` (lots only), when positive."""
    m = D.get(conn, forms, D.MOVE).main
    q = (sa.select(m.c.lot, sa.func.sum(m.c.qty)).where(m.c.production_order == int(order), m.c.lot.is_not(None),
                                                       m.c.document_form.in_(doc_forms), m.c.deleted_at.is_(None))
         .group_by(m.c.lot))
    out = {int(lot): sign * D.dec(s) for lot, s in conn.execute(q)}
    return {k: v for k, v in out.items() if v > 0}


def _last_report(conn: Connection, forms: Any, order: int) -> dict[str, Any]:
    """Task, machine and operator of the order's latest job report (empty when none or no such form)."""
    try:
        jr = forms.get(conn, "job_report")
    except Exception:      # a plant without the production forms: the links carry no operation
        return {}
    t = jr.main
    if not all(k in t.c for k in ("production_order", "task", "machine", "operator")):
        return {}
    order_by = [t.c.reported_at.desc(), t.c.id.desc()] if "reported_at" in t.c else [t.c.id.desc()]
    found = conn.execute(sa.select(t.c.task, t.c.machine, t.c.operator).where(
        t.c.production_order == int(order), t.c.deleted_at.is_(None)).order_by(*order_by).limit(1)).first()
    return {"task": found[0], "machine": found[1], "operator": found[2]} if found is not None else {}


def on_posted(conn: Connection, forms: Any, ctx: Ctx, moves: list[dict[str, Any]]) -> None:
    """The posting rule (module docstring) for the ledger rows one posting or reversal just wrote."""
    tracked = [m for m in moves if m.get("lot") is not None and m.get("production_order") is not None
               and m.get("document_form") in (RECEIPT, *CONSUMING)]
    if not tracked:
        return
    try:
        forms.get(conn, LINK)
    except Exception:        # the core pack before 1.5.0: no genealogy form yet
        return
    by_order: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for m in tracked:
        by_order[int(m["production_order"])].append(m)
    t = forms.get(conn, LINK).main
    for order, ms in by_order.items():
        doc = {k: ms[0].get(k) for k in ("document_form", "document_id", "document_code")}
        base = {"production_order": order, "relation": "consume", **doc}
        received = [m for m in ms if m["document_form"] == RECEIPT]
        consumed = [m for m in ms if m["document_form"] in CONSUMING]
        edges: list[dict[str, Any]] = []
        # a receipt: everything consumed so far → its lots; its reversal: those edges retracted
        made = {int(m["lot"]) for m in received if D.dec(m["qty"]) > 0 and not m.get("reversal_of")}
        unmade = {int(m["lot"]) for m in received if D.dec(m["qty"]) < 0 and m.get("reversal_of")}
        op = _last_report(conn, forms, order) if (made or consumed) else {}
        if made:
            for parent, qty in sorted(_net_by_lot(conn, forms, order, CONSUMING, -1).items()):
                edges += [{**base, **op, "parent_lot": parent, "child_lot": child, "qty": qty} for child in sorted(made)]
        if unmade:
            retract(conn, forms, ctx, sa.and_(t.c.production_order == order, t.c.child_lot.in_(sorted(unmade))), doc)
        # a consumption after the order received lots: the consumed lot → every lot received so far
        going_in: dict[int, Decimal] = defaultdict(Decimal)
        for m in consumed:
            if D.dec(m["qty"]) < 0:
                going_in[int(m["lot"])] += -D.dec(m["qty"])
        if going_in:
            children = sorted(_net_by_lot(conn, forms, order, (RECEIPT,), 1))
            edges += [{**base, **op, "parent_lot": parent, "child_lot": child, "qty": qty}
                      for parent, qty in sorted(going_in.items()) for child in children if child not in made]
        # an issue reversed: its lot's links through the order retracted once nothing of it is consumed
        taken_back = {int(m["lot"]) for m in consumed if m["document_form"] == "stock_issue" and m.get("reversal_of")
                      and D.dec(m["qty"]) > 0}
        if taken_back:
            still = _net_by_lot(conn, forms, order, CONSUMING, -1)
            gone = sorted(lot for lot in taken_back if lot not in still)
            if gone:
                retract(conn, forms, ctx, sa.and_(t.c.production_order == order, t.c.parent_lot.in_(gone)), doc)
        record(conn, forms, ctx, edges)
