"""Pegging (需求来源) on demand: which requirements a suggestion's planned order serves, computed when someone
asks instead of stored for every suggestion a run writes (a full run at 20,000 items wrote ~740,000 pegging
rows: most of its database time on PostgreSQL).

A **proposed** (建议) suggestion's pegging is handed out as the run does it (``plan._peg``): the item's
supplies — usable on hand, scheduled receipts and its proposed planned orders (the stored suggestions, by due
date) — go to its requirements — safety stock, then by date its sales order lines, MPS/forecast lines,
planned production orders' components and the component needs of its parents' proposed planned orders
(``netchange.parents_needs``) — first come first served, on the run's buckets. While nothing changed since
the run this is exactly what the run computed (tests compare it with a full run's own plan); after a change
it is the pegging of the stored suggestions against today's demand and stock (as SAP's dynamic pegging),
until the next run. A **confirmed** or **ignored** suggestion keeps the pegging it had when it was
confirmed or ignored: the rows are stored then, as history (``store``); rows stored by earlier versions are
read as they are.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.mrp import documents as D
from mom.engines.mrp import plan as M
from mom.engines.mrp import problem as P
from mom.engines.mrp import writing as W

PROPOSED = "proposed"
#: the keys of one pegging row as the API shows it
KEYS = ("demand_kind", "demand", "sales_order", "forecast", "parent_suggestion", "production_order", "qty")


def pegs_of(conn: Connection, f: dict[str, Any], ids: Iterable[int], tz: dt.tzinfo) -> dict[int, list[dict[str, Any]]]:
    """The pegging rows of suggestions ``ids``: stored for those that have them (confirmed, ignored, or written
    by an earlier version), computed for the proposed ones."""
    ids = sorted({int(i) for i in ids})
    out = stored(conn, f, ids)
    s = f[D.SUGGESTION].main
    todo = []
    for chunk in D.chunks([i for i in ids if i not in out]):
        todo += [int(i) for (i,) in conn.execute(sa.select(s.c.id).where(s.c.id.in_(chunk or []), s.c.status == PROPOSED,
                                                                          s.c.deleted_at.is_(None)))]
    if todo:
        out.update({sid: [_row(v) for v in vals] for sid, vals in computed(conn, f, todo, tz).items()})
    return out


def _row(v: tuple) -> dict[str, Any]:
    """A pegging row's values (``writing.PEG_COLS`` order) as the API shows them."""
    kind, demand, qty, so, fc, parent, mo = v
    return {"demand_kind": kind, "demand": demand, "sales_order": so, "forecast": fc, "parent_suggestion": parent,
            "production_order": mo, "qty": D.dec(qty).quantize(M.QTY)}


def stored(conn: Connection, f: dict[str, Any], ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    peg = f[D.SUGGESTION].children["pegging"]
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for chunk in D.chunks(ids):
        q = (sa.select(peg.c.parent_id, *(peg.c[k] for k in W.PEG_COLS)).where(peg.c.parent_id.in_(chunk or []))
             .order_by(peg.c.parent_id, peg.c.seq))
        for r in conn.execute(q):
            out[int(r[0])].append(_row(tuple(r[1:])))
    return dict(out)


def computed(conn: Connection, f: dict[str, Any], ids: list[int], tz: dt.tzinfo) -> dict[int, list[tuple]]:
    """The pegging of proposed suggestions ``ids`` as value tuples (``writing.PEG_COLS`` order), handed out on
    the buckets of the run each belongs to."""
    s, r = f[D.SUGGESTION].main, f[D.RUN].main
    by_run: dict[int, set[int]] = defaultdict(set)
    for chunk in D.chunks(ids):
        for run, item in conn.execute(sa.select(s.c.run, s.c.item).where(s.c.id.in_(chunk or [])).distinct()):
            if item is not None:
                by_run[int(run or 0)].add(int(item))
    wanted = set(ids)
    out: dict[int, list[tuple]] = {}
    for run, items in by_run.items():
        frame = conn.execute(sa.select(r.c.run_at, r.c.bucket, r.c.horizon).where(r.c.id == run)).first()
        today = D.local_date(frame.run_at, tz) if frame is not None and frame.run_at is not None else dt.datetime.now(tz).date()
        bucket = frame.bucket if frame is not None and frame.bucket else "week"
        horizon = int(frame.horizon) if frame is not None and frame.horizon else 26
        for sid, pegs in of_items(conn, f, items, today, tz, bucket, horizon).items():
            if sid in wanted:
                out[sid] = [W.peg_values(p, {}) for p in pegs]
    return out


def of_items(conn: Connection, f: dict[str, Any], items: set[int], today: dt.date, tz: dt.tzinfo, bucket: str,
             horizon: int) -> dict[int, list[M.Peg]]:
    """The pegs of every proposed planned order (suggestion id → pegs) of ``items``."""
    from mom.engines.mrp.netchange import parents_needs

    parents = parents_of(conn, f, items)
    boms = D.read_boms(conn, f, parents) if parents else {}
    outside = parents_needs(conn, f, boms, items)
    problem, _ = D.read_problem(conn, f, today=today, tz=tz, bucket=bucket, horizon=horizon, items=items, boms=boms,
                                outside=outside)
    elems, _ = M.independent(problem)
    receipts: dict[int, list[P.Receipt]] = defaultdict(list)
    for rc in problem.receipts:
        receipts[rc.item].append(rc)
    orders = planned_orders(conn, f, items, problem.buckets)
    out: dict[int, list[M.Peg]] = {}
    for item_id, mine in orders.items():
        item = problem.items.get(item_id)
        if item is None:
            continue
        reqs = sorted(elems.get(item_id, []))
        got = sorted(receipts.get(item_id, ()), key=lambda rc: (rc.date, rc.ref, rc.line or 0))
        M.peg(problem, item, reqs, got, mine)
        out.update((po.number, po.pegs) for po in mine)
    return out


def parents_of(conn: Connection, f: dict[str, Any], items: Iterable[int]) -> list[int]:
    """The parent items of active BOMs that list any of ``items`` as a component."""
    b, lines = f[D.BOM].main, f[D.BOM].children["lines"]
    heads: set[int] = set()
    for chunk in D.chunks(items):
        q = sa.select(lines.c.parent_id).where(lines.c.component.in_(chunk or []), lines.c.substitute_for.is_(None)).distinct()
        heads.update(int(i) for (i,) in conn.execute(q))
    out: set[int] = set()
    for chunk in D.chunks(heads):
        q = sa.select(b.c.item).where(b.c.id.in_(chunk or []), b.c.deleted_at.is_(None), b.c.status == "active", b.c.item.is_not(None))
        out.update(int(i) for (i,) in conn.execute(q))
    return sorted(out)


def planned_orders(conn: Connection, f: dict[str, Any], items: Iterable[int], buckets: P.Buckets) -> dict[int, list[M.PlannedOrder]]:
    """The proposed planned orders (make or buy suggestions that are not an exception on an open order) of
    ``items``, by item in due-date order (the order the run made them in); ``number`` is the suggestion's id."""
    s = f[D.SUGGESTION].main
    out: dict[int, list[M.PlannedOrder]] = defaultdict(list)
    for chunk in D.chunks(items):
        q = (sa.select(s.c.id, s.c.item, s.c.kind, s.c.qty, s.c.due_date, s.c.release_date, s.c.exception)
             .where(s.c.item.in_(chunk or []), s.c.status == PROPOSED, s.c.deleted_at.is_(None),
                    s.c.exception.is_(None) | (s.c.exception == M.LATE))
             .order_by(s.c.item, s.c.due_date, s.c.id))
        for r in conn.execute(q):
            out[int(r.item)].append(M.PlannedOrder(int(r.id), int(r.item), str(r.kind), D.dec(r.qty), r.due_date, r.release_date,
                                                   buckets.index(r.due_date), r.exception == M.LATE))
    return out


def store(conn: Connection, f: dict[str, Any], pegs: dict[int, list[dict[str, Any]]]) -> None:
    """Keep the pegging rows of suggestions being confirmed or ignored (their history), replacing any stored."""
    peg = f[D.SUGGESTION].children["pegging"]
    for chunk in D.chunks(pegs):
        conn.execute(peg.delete().where(peg.c.parent_id.in_(chunk or [])))
    rows = [(*(p[k] for k in W.PEG_COLS), sid, n) for sid, ps in pegs.items() for n, p in enumerate(ps, 1)]
    W.write_pegs(conn, peg, rows)
