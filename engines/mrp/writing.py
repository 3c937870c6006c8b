"""A run's suggestions (MRP建议) as rows: written in bulk, and compared with what is stored so that a
net-change run rewrites only what changed.

Suggestions go through the record service's batch insert (ids reserved once per chunk, the forms' hooks
called) without child rows, their numbers given beforehand: one reservation of the sequence per chunk and
the pattern's text around a counter (``numbers``: the same text the pattern renders, checked). Their pegging
(需求来源) is not stored: it is computed when asked for (``pegging.py``); the rows of a confirmed or ignored
suggestion are stored then (``write_pegs``: plain tuples straight to the driver, ``executemany`` on SQLite,
COPY on PostgreSQL). A suggestion's **key** is what a planner sees of it (item, kind, quantity, dates,
exception, the order it acts on, low-level code): two plans' suggestions with equal keys are the same
suggestion, and a net-change run keeps the stored row (and its number) and only moves it to the new run.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.forms import autonumber as pattern_of
from mom.engines.mrp import documents as D
from mom.engines.mrp import plan as M
from mom.engines.mrp import problem as P
from mom.engines.records import autonumber as AN
from mom.engines.records import service as S
from mom.engines.records import values as V
from mom.engines.records.context import Ctx

PROPOSED = "proposed"
PEG_COLS = ("demand_kind", "demand", "qty", "sales_order", "forecast", "parent_suggestion", "production_order")
PEG_ROW = (*PEG_COLS, "parent_id", "seq")
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


def write_pegs(conn: Connection, table: sa.Table, rows: Sequence[tuple]) -> None:
    """Insert pegging rows (tuples in ``PEG_ROW`` order) as ``table.insert()`` would store them: the
    quantity a float on SQLite (the decimal type's storage there), a ``Decimal`` for COPY on PostgreSQL;
    integers and texts as they are."""
    if not rows:
        return
    q = conn.dialect.identifier_preparer.quote
    cols = ", ".join(q(c) for c in PEG_ROW)
    if conn.dialect.name != "postgresql":
        data = [(r[0], r[1], None if r[2] is None else float(r[2]), *r[3:]) for r in rows]
        conn.exec_driver_sql(f"INSERT INTO {q(table.name)} ({cols}) VALUES ({', '.join('?' for _ in PEG_ROW)})", data)
        return
    import psycopg

    target = (f"{q(table.schema)}." if table.schema else "") + q(table.name)
    try:
        with conn.connection.driver_connection.cursor() as cur, cur.copy(f"COPY {target} ({cols}) FROM STDIN") as cp:
            for r in rows:
                cp.write_row(r)
    except psycopg.errors.IntegrityError as exc:
        raise sa.exc.IntegrityError(f"COPY {table.name}", None, exc) from exc


def numbers(conn: Connection, compiled: Any, ctx: Ctx, rows: Sequence[dict[str, Any]]) -> None:
    """Give ``rows`` their autonumbers as the record service would (``records.autonumber``: the field's
    sequence, one reservation for all), the text built around a counter instead of rendering the pattern
    row by row; the first number is checked against the pattern's own rendering."""
    local = ctx.now.astimezone(ctx.tz)
    for f in compiled.definition.scalar_fields:
        need = [r for r in rows if r.get(f.key) in (None, "")] if f.type == "autonumber" else []
        if not need:
            continue
        pattern = str(f.raw["pattern"])
        got = AN.next_numbers(conn, f"{compiled.name}.{f.id}", pattern_of.period_of(pattern, local), len(need))
        m = next(m for m in pattern_of.TOKEN.finditer(pattern) if m.group(1) == "seq")
        head, tail = pattern_of.render(pattern[:m.start()], local, 0), pattern_of.render(pattern[m.end():], local, 0)
        width = int(m.group(2))
        if f"{head}{str(got[0]).zfill(width)}{tail}" != pattern_of.render(pattern, local, got[0]):
            for r, n in zip(need, got):         # a pattern the counter does not reproduce: rendered one by one
                r[f.key] = pattern_of.render(pattern, local, n)
            continue
        for r, n in zip(need, got):
            r[f.key] = f"{head}{str(n).zfill(width)}{tail}"


def key_of(values: dict[str, Any]) -> tuple:
    return tuple(num(values.get(k)) if k == "qty" else values.get(k) for k in KEY_COLS)


def insert(conn: Connection, forms: Any, compiled: Any, ctx: Ctx, todo: Sequence[Entry]) -> list[int]:
    """Insert ``todo`` chunk by chunk (parents first: in plan order). Returns the new ids."""
    ids: list[int] = []
    for at in range(0, len(todo), CHUNK):
        values = [e.values for e in todo[at:at + CHUNK]]
        numbers(conn, compiled, ctx, values)
        stored = S.insert_rows(conn, compiled, ctx, [V.Prepared(v, {}) for v in values], audit=False, hooks=forms.hooks)
        ids += [int(r["id"]) for r in stored]
    return ids


def stored_proposed(conn: Connection, compiled: Any, items: Iterable[int]) -> dict[int, list[Stored]]:
    """The proposed suggestions of ``items``, by item."""
    s = compiled.main
    out: dict[int, list[Stored]] = defaultdict(list)
    for chunk in D.chunks(items):
        q = sa.select(s.c.id, s.c.code, *(s.c[k] for k in KEY_COLS)).where(
            s.c.deleted_at.is_(None), s.c.status == PROPOSED, s.c.item.in_(chunk or []))
        for r in conn.execute(q):
            out[int(r.item)].append(Stored(int(r.id), str(r.code or ""), key_of(dict(zip(KEY_COLS, r[2:])))))
    return out


class Diff(NamedTuple):
    keep: list[int]                         # stored rows that stay as they are (moved to the new run)
    insert: list[Entry]                     # new suggestions
    gone: list[int]                         # stored rows no longer suggested


def diff(old: Sequence[Stored], new: Sequence[Entry]) -> Diff:
    """Match ``new`` against ``old`` by key."""
    pool: dict[tuple, list[Stored]] = defaultdict(list)
    for o in old:
        pool[o.key].append(o)
    out = Diff([], [], [])
    for e in new:
        same = pool.get(key_of(e.values))
        if same:
            out.keep.append(same.pop(0).id)
        else:
            out.insert.append(e)
    out.gone.extend(o.id for left in pool.values() for o in left)
    return out


def remove(conn: Connection, compiled: Any, gone: Sequence[int]) -> None:
    """Delete suggestions ``gone`` (with any pegging rows stored for them); stored pegging rows of other
    (confirmed or ignored) suggestions that named one keep their text and lose the link."""
    s, peg = compiled.main, compiled.children["pegging"]
    for chunk in D.chunks(gone):
        conn.execute(peg.update().where(peg.c.parent_suggestion.in_(chunk or [])).values(parent_suggestion=None))
        conn.execute(peg.delete().where(peg.c.parent_id.in_(chunk or [])))
        conn.execute(s.delete().where(s.c.id.in_(chunk or [])))


def move(conn: Connection, compiled: Any, ids: Sequence[int], run_id: int) -> None:
    """Kept suggestions belong to the new run (pegging rows an earlier version stored for them go: their
    pegging is computed now)."""
    s, peg = compiled.main, compiled.children["pegging"]
    for chunk in D.chunks(ids):
        conn.execute(s.update().where(s.c.id.in_(chunk or [])).values(run=run_id))
        conn.execute(peg.delete().where(peg.c.parent_id.in_(chunk or [])))


def touched(conn: Connection, compiled: Any, since: Any) -> set[int]:
    """Items of proposed suggestions marked since ``since`` (a BOM that listed them changed: ``hooks.py``; a run
    writes a suggestion with its update time equal to its creation time)."""
    s = compiled.main
    q = sa.select(s.c.item).where(s.c.status == PROPOSED, s.c.deleted_at.is_(None), s.c.updated_at >= since,
                                  s.c.updated_at > s.c.created_at).distinct()
    return {int(i) for (i,) in conn.execute(q) if i is not None}
