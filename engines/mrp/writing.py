"""A run's suggestions (MRP建议) and their pegging rows (需求来源) as rows: written in bulk, and compared with
what is stored so that a net-change run rewrites only what changed.

Suggestions go through the record service's batch insert (ids and numbers reserved once per chunk, the
forms' hooks called) without child rows; their pegging rows follow as plain values straight to
``platform.db.bulk.insert_many`` (COPY on PostgreSQL), chunk by chunk, so memory stays bounded whatever
the size of the plan. A suggestion's **key** is what a planner sees of it (item, kind, quantity, dates,
exception, the order it acts on, low-level code); its pegging is the list of rows in order. Two plans'
suggestions with equal keys and equal pegging are the same suggestion: a net-change run keeps the stored
row (and its number) and only moves it to the new run.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.mrp import documents as D
from mom.engines.mrp import plan as M
from mom.engines.mrp import problem as P
from mom.engines.records import service as S
from mom.engines.records import values as V
from mom.engines.records.context import Ctx
from mom.platform.db import bulk

PROPOSED = "proposed"
PEG_COLS = ("demand_kind", "demand", "qty", "sales_order", "forecast", "parent_suggestion", "production_order")
KEY_COLS = ("item", "kind", "qty", "release_date", "due_date", "exception", "production_order", "purchase_order", "level")
CHUNK = 20_000


class Entry(NamedTuple):
    """One suggestion to write: its field values, its pegs, and its planned order's number (0 for an action)."""

    values: dict[str, Any]
    pegs: Sequence[M.Peg]
    number: int = 0


class Stored(NamedTuple):
    id: int
    code: str
    key: tuple
    pegs: tuple


def num(v: Any) -> Decimal | None:
    """A quantity as compared: 4 decimals, whatever the column gave back (a float on SQLite)."""
    return None if v is None else (v if isinstance(v, Decimal) else Decimal(str(v))).quantize(M.QTY)


def entries(result: M.Plan, run_id: int) -> list[Entry]:
    """The plan's planned orders (in number order: a parent before its components) and then its actions."""
    lv = result.levels
    out = [Entry({"run": run_id, "item": o.item, "kind": o.source, "qty": o.qty, "release_date": o.release, "due_date": o.due,
                  "exception": M.LATE if o.late else None, "status": PROPOSED, "level": lv.get(o.item, 0)}, o.pegs, o.number)
           for o in result.orders]
    for a in result.actions:
        r = a.receipt
        out.append(Entry({"run": run_id, "item": r.item, "kind": P.MAKE if r.kind == P.PRODUCTION else P.BUY, "qty": r.qty,
                          "release_date": None, "due_date": a.to or r.date, "exception": a.kind, "status": PROPOSED,
                          "level": lv.get(r.item, 0), "production_order": r.doc if r.kind == P.PRODUCTION else None,
                          "purchase_order": r.doc if r.kind == P.PURCHASE else None}, ()))
    return out


def peg_values(p: M.Peg, id_of: dict[int, tuple[int, str]]) -> tuple:
    """A peg as the pegging row's values, in ``PEG_COLS`` order."""
    kind = p.kind
    if kind == M.PLANNED and p.parent in id_of:
        sid, code = id_of[p.parent]
        return (kind, code, p.qty, None, None, sid, None)
    if kind == M.OUTSIDE:
        return (M.PLANNED, p.ref or None, p.qty, None, None, p.doc, None)
    if kind == P.SALES:
        return (kind, p.ref or None, p.qty, p.doc, None, None, None)
    if kind in (P.FORECAST, P.MPS):
        return (kind, p.ref or None, p.qty, None, p.doc, None, None)
    if kind == P.ORDER:
        return (kind, p.ref or None, p.qty, None, None, None, p.doc)
    return (kind, p.ref or None, p.qty, None, None, None, None)


def _peg_row(p: M.Peg, id_of: dict[int, tuple[int, str]], parent_id: int, seq: int) -> dict[str, Any]:
    """:func:`peg_values` as the row to insert (a dict built in one go: there are millions)."""
    v = peg_values(p, id_of)
    return {"demand_kind": v[0], "demand": v[1], "qty": v[2], "sales_order": v[3], "forecast": v[4], "parent_suggestion": v[5],
            "production_order": v[6], "parent_id": parent_id, "seq": seq}


def key_of(values: dict[str, Any]) -> tuple:
    return tuple(num(values.get(k)) if k == "qty" else values.get(k) for k in KEY_COLS)


def _norm_pegs(rows: Iterable[tuple]) -> tuple:
    return tuple((r[0], r[1], num(r[2]), *r[3:]) for r in rows)


def insert(conn: Connection, forms: Any, compiled: Any, ctx: Ctx, todo: Sequence[Entry],
           id_of: dict[int, tuple[int, str]] | None = None) -> list[int]:
    """Insert ``todo`` chunk by chunk; a planned order's pegs to a parent's planned order name the parent's
    suggestion (written before it: parents come first). Returns the new ids."""
    id_of = {} if id_of is None else id_of
    peg_table = compiled.children["pegging"]
    ids: list[int] = []
    for at in range(0, len(todo), CHUNK):
        part = todo[at:at + CHUNK]
        stored = S.insert_rows(conn, compiled, ctx, [V.Prepared(e.values, {}) for e in part], audit=False, hooks=forms.hooks)
        for e, r in zip(part, stored):
            if e.number:
                id_of[e.number] = (int(r["id"]), str(r.get("code") or ""))
            ids.append(int(r["id"]))
        rows = [_peg_row(p, id_of, int(r["id"]), n) for e, r in zip(part, stored) for n, p in enumerate(e.pegs, 1)]
        for k in range(0, len(rows), CHUNK * 2):
            bulk.insert_many(conn, peg_table, rows[k:k + CHUNK * 2], [*PEG_COLS, "parent_id", "seq"])
    return ids


def stored_proposed(conn: Connection, compiled: Any, items: Iterable[int]) -> dict[int, list[Stored]]:
    """The proposed suggestions of ``items`` with their pegging, by item."""
    s, peg = compiled.main, compiled.children["pegging"]
    rows: list[Any] = []
    for chunk in D.chunks(items):
        q = sa.select(s.c.id, s.c.code, *(s.c[k] for k in KEY_COLS)).where(
            s.c.deleted_at.is_(None), s.c.status == PROPOSED, s.c.item.in_(chunk or []))
        rows += conn.execute(q).all()
    pegs: dict[int, list[tuple]] = defaultdict(list)
    for chunk in D.chunks([int(r.id) for r in rows]):
        q = sa.select(peg.c.parent_id, *(peg.c[k] for k in PEG_COLS)).where(peg.c.parent_id.in_(chunk or [])).order_by(
            peg.c.parent_id, peg.c.seq)
        for r in conn.execute(q):
            pegs[int(r[0])].append(tuple(r[1:]))
    out: dict[int, list[Stored]] = defaultdict(list)
    for r in rows:
        values = dict(zip(KEY_COLS, r[2:]))
        out[int(r.item)].append(Stored(int(r.id), str(r.code or ""), key_of(values), _norm_pegs(pegs.get(int(r.id), ()))))
    return out


class Diff(NamedTuple):
    keep: list[int]                         # stored rows that stay as they are (moved to the new run)
    repeg: list[tuple[int, Entry]]          # stored rows that stay with new pegging rows
    insert: list[Entry]                     # new suggestions
    gone: list[int]                         # stored rows no longer suggested


def diff(old: Sequence[Stored], new: Sequence[Entry]) -> Diff:
    """Match ``new`` against ``old`` by key, preferring a stored row with the same pegging."""
    pool: dict[tuple, list[Stored]] = defaultdict(list)
    for o in old:
        pool[o.key].append(o)
    out = Diff([], [], [], [])
    for e in new:
        same = pool.get(key_of(e.values))
        if not same:
            out.insert.append(e)
            continue
        pegs = _norm_pegs(peg_values(p, {}) for p in e.pegs)
        hit = next((o for o in same if o.pegs == pegs), None)
        if hit is not None:
            same.remove(hit)
            out.keep.append(hit.id)
        else:
            out.repeg.append((same.pop(0).id, e))
    out.gone.extend(o.id for left in pool.values() for o in left)
    return out


def repeg(conn: Connection, compiled: Any, todo: Sequence[tuple[int, Entry]]) -> None:
    """Replace the pegging rows of kept suggestions."""
    peg = compiled.children["pegging"]
    for chunk in D.chunks([sid for sid, _ in todo]):
        conn.execute(peg.delete().where(peg.c.parent_id.in_(chunk or [])))
    rows = [_peg_row(p, {}, sid, n) for sid, e in todo for n, p in enumerate(e.pegs, 1)]
    bulk.insert_many(conn, peg, rows, [*PEG_COLS, "parent_id", "seq"])


def remove(conn: Connection, compiled: Any, gone: Sequence[int]) -> set[int]:
    """Delete suggestions ``gone`` with their pegging rows; pegging rows of other suggestions that named
    one keep their text and lose the link. Returns the items of the proposed suggestions that named one
    (their plan leaned on a removed suggestion: they are planned again)."""
    s, peg = compiled.main, compiled.children["pegging"]
    leaning: set[int] = set()
    for chunk in D.chunks(gone):
        q = (sa.select(s.c.item).select_from(peg.join(s, s.c.id == peg.c.parent_id))
             .where(peg.c.parent_suggestion.in_(chunk or []), s.c.status == PROPOSED).distinct())
        leaning.update(int(i) for (i,) in conn.execute(q) if i is not None)
        conn.execute(peg.update().where(peg.c.parent_suggestion.in_(chunk or [])).values(parent_suggestion=None))
    for chunk in D.chunks(gone):
        conn.execute(peg.delete().where(peg.c.parent_id.in_(chunk or [])))
        conn.execute(s.delete().where(s.c.id.in_(chunk or [])))
    return leaning


def move(conn: Connection, compiled: Any, ids: Sequence[int], run_id: int) -> None:
    """Kept suggestions belong to the new run."""
    s = compiled.main
    for chunk in D.chunks(ids):
        conn.execute(s.update().where(s.c.id.in_(chunk or [])).values(run=run_id))


def pegged_to(conn: Connection, compiled: Any, items: Iterable[int]) -> set[int]:
    """Items with proposed suggestions pegged to proposed suggestions of ``items`` (their components as last
    planned: a component a changed BOM no longer lists is among them)."""
    s, peg = compiled.main, compiled.children["pegging"]
    parent = s.alias("parent_suggestion")
    out: set[int] = set()
    for chunk in D.chunks(items):
        q = (sa.select(s.c.item).select_from(peg.join(s, s.c.id == peg.c.parent_id).join(parent, parent.c.id == peg.c.parent_suggestion))
             .where(parent.c.item.in_(chunk or []), parent.c.status == PROPOSED, s.c.status == PROPOSED).distinct())
        out.update(int(i) for (i,) in conn.execute(q) if i is not None)
    return out
