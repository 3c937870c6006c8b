"""Net change (净改变): re-plan only what a change since the last run can alter, and write only differences.

1. **Changed items**: those of records created, changed or deleted after the last run began — items, BOMs
   (their parent item), production orders, sales and purchase orders (their lines' items), forecasts,
   stock movements.
2. Items are planned **level by level** (ascending low-level code, from the BOM graph read narrowly), a
   level at a time: the changed items, and the components of every item whose planned orders changed
   (a changed item's BOM, lead time or production orders also change its components' needs: they are
   planned again too; so are the components a changed BOM listed before the change, whose proposed
   suggestions the BOM's record hook marked: ``hooks.py``). An item's gross requirements are its own demands plus the component needs of the
   proposed planned orders of **all** its parents, as stored (earlier levels of this run are written
   before the next level is read).
3. Each re-planned item's new suggestions are **compared** with its stored proposed ones (writing.diff):
   equal ones stay (same row and number, moved to this run), the rest are deleted or inserted (pegging is
   not stored: it is computed when asked for, ``pegging.py``). Components are planned again only when a parent's planned
   orders changed, so a change absorbed by a lot size stops where it is absorbed.
Without an earlier run, or when the buckets, horizon or run date differ from the last run's, it is a full run.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.mrp import documents as D
from mom.engines.mrp import plan as M
from mom.engines.mrp import problem as P
from mom.engines.mrp import writing as W
from mom.engines.mrp.levels import low_level_codes
from mom.engines.records.context import Ctx


@dataclass
class Counts:
    items: int = 0
    demands: int = 0
    suggestions: int = 0
    exceptions: int = 0
    beyond: int = 0
    written: int = 0
    known: bool = True


def changed_items(conn: Connection, forms: Any, f: dict[str, Any], since: dt.datetime) -> tuple[set[int], set[int]]:
    """Items whose demand, supply or master data records were created, changed or deleted after ``since``;
    and those among them whose change reaches their components (item, BOM, production order)."""
    out: set[int] = set()
    forcing: set[int] = set()

    def touched(t: sa.Table) -> Any:
        return sa.or_(t.c.updated_at >= since, t.c.created_at >= since, t.c.deleted_at >= since)

    for name, col in ((D.ITEM, "id"), (D.BOM, "item"), (D.ORDER, "item"), (D.FORECAST, "item")):
        t = f[name].main
        got = {int(i) for (i,) in conn.execute(sa.select(t.c[col]).where(touched(t))) if i is not None}
        out |= got
        if name != D.FORECAST:
            forcing |= got
    for name in (D.SALES, D.PURCHASE):      # the orders first, then their lines (no join: see documents.read_boms)
        t, lines = f[name].main, f[name].children["lines"]
        heads = [int(i) for (i,) in conn.execute(sa.select(t.c.id).where(touched(t)))]
        for chunk in D.chunks(heads):
            q = sa.select(lines.c.item).where(lines.c.parent_id.in_(chunk or [])).distinct()
            out.update(int(i) for (i,) in conn.execute(q) if i is not None)
    try:
        moves = forms.get(conn, "stock_move").main
    except Exception:   # noqa: BLE001 - the stock forms are optional
        moves = None
    if moves is not None and "item" in moves.c:
        out.update(int(i) for (i,) in conn.execute(sa.select(moves.c.item).where(moves.c.created_at >= since).distinct())
                   if i is not None)
    return out, forcing


def same_frame(last: dict[str, Any], ctx: Ctx, bucket: str, horizon: int, start: dt.date) -> bool:
    """Was the last run made today with the same buckets? (Otherwise every item's dates moved: a full run.)"""
    ran = D.local_date(last.get("run_at"), ctx.tz)
    today = ctx.now.astimezone(ctx.tz).date()
    return (last.get("bucket"), last.get("horizon"), D.local_date(last.get("start_date"), ctx.tz), ran) == (bucket, horizon, start, today)


def run(conn: Connection, forms: Any, f: dict[str, Any], ctx: Ctx, run_id: int, since: dt.datetime, today: dt.date,
        bucket: str, horizon: int) -> Counts:
    """Re-plan level by level from the items changed ``since``; suggestions written to run ``run_id``."""
    edges = D.read_edges(conn, f)
    parents_of: dict[int, list[int]] = defaultdict(list)
    for p, cs in edges.items():
        for c in set(cs):
            parents_of[c].append(p)
    levels = low_level_codes(edges, edges)
    seeds, forcing = changed_items(conn, forms, f, since)
    pending: dict[int, set[int]] = defaultdict(set)
    for i in seeds:
        pending[levels.get(i, 0)].add(i)
    for i in forcing:
        for c in edges.get(i, ()):
            pending[levels.get(c, 0)].add(c)
    for c in W.touched(conn, f[D.SUGGESTION], since):      # components a changed BOM listed before (hooks.py)
        pending[levels.get(c, 0)].add(c)
    boms: dict[int, tuple[P.Bom, ...]] = {}
    have: set[int] = set()
    counts = Counts()
    done: set[int] = set()
    while pending:
        level = min(pending)
        wave = pending.pop(level) - done
        if not wave:
            continue
        done |= wave
        parents = {p for i in wave for p in parents_of.get(i, ())}
        new = sorted(parents - have)
        boms.update(D.read_boms(conn, f, new))
        have.update(new)
        for i in _wave(conn, forms, f, ctx, run_id, wave, parents, boms, levels, today, bucket, horizon, counts):
            for c in edges.get(i, ()):
                pending[levels.get(c, 0)].add(c)
    counts.items = len(done)
    return counts


def _wave(conn: Connection, forms: Any, f: dict[str, Any], ctx: Ctx, run_id: int, wave: set[int], parents: set[int],
          boms: dict[int, tuple[P.Bom, ...]], levels: dict[int, int], today: dt.date, bucket: str, horizon: int,
          counts: Counts) -> set[int]:
    """Plan the items of one level and write the differences. Returns the items whose planned orders
    changed (their components' needs changed: planned again)."""
    mine = {p: boms[p] for p in parents if p in boms}
    outside = parents_needs(conn, f, mine, wave)
    problem, known = D.read_problem(conn, f, today=today, tz=ctx.tz, bucket=bucket, horizon=horizon, items=wave,
                                    boms=mine, outside=outside)
    result = M.plan(problem, only=wave, pegging=False)
    result.levels = {i: levels.get(i, 0) for i in wave}      # the whole graph's low-level codes, not this level's
    counts.known = counts.known and known
    counts.demands += len(problem.demands)
    counts.beyond += result.beyond
    counts.exceptions += sum(1 for o in result.orders if o.late) + len(result.actions)
    compiled = f[D.SUGGESTION]
    new = W.entries(result, run_id)
    counts.suggestions += len(new)
    stored = W.stored_proposed(conn, compiled, wave)
    by_item: dict[int, list[W.Entry]] = defaultdict(list)
    for e in new:
        by_item[int(e.values["item"])].append(e)
    keep: list[int] = []
    insert: list[W.Entry] = []
    gone: list[int] = []
    changed: set[int] = set()
    make_gone = {s.id for ss in stored.values() for s in ss if s.key[1] == P.MAKE and s.key[5] in (None, M.LATE)}
    for item in wave:
        d = W.diff(stored.get(item, ()), by_item.get(item, ()))
        keep += d.keep
        insert += d.insert
        gone += d.gone
        if any(g in make_gone for g in d.gone) or any(e.values["kind"] == P.MAKE and e.number for e in d.insert):
            changed.add(item)
    W.remove(conn, compiled, gone)
    W.move(conn, compiled, keep, run_id)
    counts.written += len(W.insert(conn, forms, compiled, ctx, insert))
    return changed


def parents_needs(conn: Connection, f: dict[str, Any], boms: dict[int, tuple[P.Bom, ...]], wave: set[int]) -> tuple[P.Demand, ...]:
    """The component needs, inside ``wave``, of the proposed planned orders of the parents in ``boms``, each
    numbered (``line``) in the order a full run numbers planned orders: by the parent's low-level code (the
    stored level), item code, due date."""
    s, i = f[D.SUGGESTION].main, f[D.ITEM].main
    rows: list[Any] = []
    for chunk in D.chunks(boms):
        q = (sa.select(s.c.id, s.c.code, s.c.item, s.c.qty, s.c.release_date, s.c.due_date, s.c.level, i.c.code.label("item_code"))
             .select_from(s.join(i, i.c.id == s.c.item))
             .where(s.c.deleted_at.is_(None), s.c.status == W.PROPOSED, s.c.kind == P.MAKE,
                    s.c.exception.is_(None) | (s.c.exception == M.LATE), s.c.item.in_(chunk or [])))
        rows += conn.execute(q).all()
    rows.sort(key=lambda r: (int(r.level or 0), str(r.item_code), int(r.item), r.due_date, int(r.id)))
    out: list[P.Demand] = []
    for n, r in enumerate(rows, 1):
        bom = M.choose_bom(boms.get(int(r.item), ()), r.release_date)
        for c in bom.components if bom else ():
            if c.item in wave:
                out.append(P.Demand(c.item, r.release_date, M.component_qty(D.dec(r.qty), c), M.OUTSIDE, str(r.code), int(r.id), n))
    return tuple(out)
