"""The genealogy walk: ONE recursive query per trace, the same on SQLite and PostgreSQL.

``WITH RECURSIVE walk(lot, level)`` starts at a lot and follows the live ``lot_link`` edges (not a
retracting row, not retracted — the retracting row is looked up by the edge's child lot too, an index
whose statistics stay useful where the mostly-empty ``retracts`` column's may not) forward (parent → child) or backward (child → parent), ``UNION`` keeping
each (lot, level) once — so a cycle (a lot merged back into an ancestor by mistake) and a fan-in (thirty
components into one assembly) never multiply the rows — down to ``depth`` levels, and at most
``max_lots`` × (depth + 1) rows of the walk are read (a trace reaching 5,000 lots is refused in words). The same statement returns the edges walked, each with the lot at
its far end (number, item, heat number, supplier lot, supplier, status) and that lot's level: the
fewest links from the start.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.platform.errors import InvalidInput

MAX_DEPTH = 20
MAX_LOTS = 5000


def too_many(limit: int = MAX_LOTS) -> InvalidInput:
    return InvalidInput(f"追溯范围太大（达到 {limit} 个批次）：请减小层数（depth）或从更下游/上游的批次开始追溯",
                        f"the trace reaches {limit} lots or more: lower the depth or start from a lot nearer the end",
                        detail={"limit": limit})


def statement(link: Any, lot: Any, item: Any, *, forward: bool, depth: int, max_lots: int = MAX_LOTS) -> Any:
    """The trace as one SQLAlchemy statement (``:start``, the lot id, left as text for :func:`run`). The walk is read up to
    ``max_lots`` × (depth + 1) rows: a lot is at most once per level, so a walk cut there reached ``max_lots`` lots or more."""
    cap = max_lots * (depth + 1)
    def ends(t: Any) -> tuple[Any, Any]:
        return (t.c.parent_lot, t.c.child_lot) if forward else (t.c.child_lot, t.c.parent_lot)

    def live(t: Any) -> Any:
        r = t.alias()
        return sa.and_(t.c.deleted_at.is_(None), t.c.retracts.is_(None),
                       ~sa.exists().where(r.c.retracts == t.c.id, r.c.child_lot == t.c.child_lot, r.c.deleted_at.is_(None)))

    seed = sa.select(sa.cast(sa.literal_column(":start"), link.c.parent_lot.type).label("lot"), sa.literal(0, sa.Integer).label("level"))
    walk = seed.cte("walk", recursive=True)
    e = link.alias("e")
    near, far = ends(e)
    walk = walk.union(sa.select(far, walk.c.level + 1).select_from(walk.join(e, near == walk.c.lot))
                      .where(walk.c.level < depth, live(e)))
    capped = sa.select(walk.c.lot, walk.c.level).limit(cap).subquery("capped")
    reached = sa.select(capped.c.lot, sa.func.min(capped.c.level).label("level")).group_by(capped.c.lot).cte("reached")
    e2 = link.alias("l")
    near2, far2 = ends(e2)
    src, dst = reached.alias("src"), reached.alias("dst")
    cols = [e2.c.id, e2.c.parent_lot, e2.c.child_lot, e2.c.qty, e2.c.relation, e2.c.production_order, e2.c.task,
            e2.c.machine, e2.c.operator, e2.c.document_form, e2.c.document_id, e2.c.document_code, e2.c.linked_at,
            dst.c.level.label("level"), lot.c.number.label("lot_number"), lot.c.item.label("lot_item"),
            lot.c.is_serial.label("lot_is_serial"), lot.c.heat_number.label("lot_heat_number"),
            lot.c.supplier_lot.label("lot_supplier_lot"), lot.c.supplier.label("lot_supplier"),
            lot.c.status.label("lot_status"), item.c.code.label("item_code"), item.c.name.label("item_name")]
    return (sa.select(*cols)
            .select_from(src.join(e2, near2 == src.c.lot).join(dst, dst.c.lot == far2).join(lot, lot.c.id == far2)
                         .outerjoin(item, item.c.id == lot.c.item))
            .where(src.c.level < depth, live(e2))
            .order_by(dst.c.level, e2.c.id))


def linked_at(value: Any) -> str | None:
    """A walked edge's ``linked_at`` as ISO 8601 UTC (``…Z``): SQLite's stored text or PostgreSQL's datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.replace(" ", "T")[:19] + "Z"
    return value.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def run(conn: Connection, forms: Any, start: int, *, forward: bool, depth: int = 10) -> list[Any]:
    """The edges of the trace from lot ``start`` (see :func:`statement`), as the database returns them
    (``qty`` a float or Decimal, ``linked_at`` text on SQLite: see :func:`linked_at`), read by column name
    through ``row._mapping``; reaching :data:`MAX_LOTS` lots or more: refused."""
    depth = max(1, min(int(depth), MAX_DEPTH))
    key = ("trace_walk", conn.dialect.name, forward, depth)
    link = forms.get(conn, "lot_link")
    q = link.memo.get(key)
    if q is None:      # compiled once per form version and dialect into plain SQL: no per-call statement caching
        stmt = statement(link.main, forms.get(conn, "lot").main, forms.get(conn, "item").main, forward=forward, depth=depth)
        q = link.memo[key] = sa.text(str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})))
    rows = conn.execute(q, {"start": int(start)}).all()
    if len({r[2 if forward else 1] for r in rows}) + 1 >= MAX_LOTS:
        raise too_many(MAX_LOTS)
    return rows
