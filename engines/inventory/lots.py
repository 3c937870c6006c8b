"""Lots and serials (批次/序列号): which lots to take (FEFO, then FIFO), new lots on receipt, and their
numbers.

A suggestion takes the released lots that hold stock of the item at the location, the one expiring
first first (先到期先出 FEFO), then the oldest (made/received first, 先进先出 FIFO), then the lowest id,
until the quantity is covered. A lot-tracked item received without a lot gets a new one numbered by
the item's rule 批次号规则 (:mod:`numbering`; default ``<item code>-<yyyyMMdd>-<seq:3>``; a
serial-tracked item: one serial per unit, numbered by the same rule).
"""
from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.inventory import documents as D
from mom.engines.inventory import numbering
from mom.engines.records import service as S
from mom.engines.records.context import Ctx

LOT_ATTRS = ("supplier_lot", "heat_number", "expiry_date")


def available_lots(conn: Connection, forms: Any, item: int, location: int, *, statuses: tuple[str, ...] | None = ("released",)
                   ) -> list[dict[str, Any]]:
    """The lots of ``item`` holding stock at ``location`` in suggestion order (FEFO, FIFO, id), each
    ``{lot, number, status, expiry_date, made_on, qty}``; ``statuses``: only lots in these (None: any)."""
    b, lot = D.get(conn, forms, D.BALANCE).main, D.get(conn, forms, D.LOT).main
    q = (sa.select(lot.c.id, lot.c.number, lot.c.status, lot.c.expiry_date, lot.c.made_on, b.c.qty)
         .select_from(b.join(lot, lot.c.id == b.c.lot))
         .where(b.c.item == int(item), b.c.location == int(location), b.c.qty > 0, b.c.deleted_at.is_(None),
                lot.c.deleted_at.is_(None))
         .order_by(lot.c.expiry_date.is_(None), lot.c.expiry_date, lot.c.made_on.is_(None), lot.c.made_on, lot.c.id))
    if statuses is not None:
        q = q.where(lot.c.status.in_(statuses))
    return [{"lot": int(r.id), "number": r.number, "status": r.status, "expiry_date": r.expiry_date, "made_on": r.made_on,
             "qty": D.dec(r.qty)} for r in conn.execute(q)]


def suggest(conn: Connection, forms: Any, item: int, location: int, qty: Decimal, *, consumes: bool = True
            ) -> tuple[list[tuple[int, Decimal]], Decimal]:
    """Lots to take ``qty`` of ``item`` from ``location``: ``([(lot id, qty)], short)`` where ``short``
    is what the lots cannot cover (0 when covered); ``consumes``: released lots only."""
    out, left = [], qty
    for r in available_lots(conn, forms, item, location, statuses=("released",) if consumes else None):
        if left <= 0:
            break
        take = min(left, r["qty"])
        out.append((r["lot"], take))
        left -= take
    return out, max(left, D.ZERO)


def find(conn: Connection, forms: Any, item: int, number: str) -> dict[str, Any] | None:
    t = D.get(conn, forms, D.LOT).main
    found = conn.execute(sa.select(t).where(t.c.item == int(item), t.c.number == number, t.c.deleted_at.is_(None))).mappings().first()
    return dict(found) if found is not None else None


def new_numbers(conn: Connection, ctx: Ctx, item: Mapping[str, Any], count: int, *, forms: Any = None,
                attrs: Mapping[str, Any] | None = None, path: str = "/lines/0") -> list[str]:
    """``count`` new lot (or serial) numbers for ``item`` by its rule ``lot_rule`` (default
    ``<code>-<yyyyMMdd>-<seq:3>``, :mod:`numbering`), the sequence reserved atomically; ``attrs``: the
    new lot's heat_number / supplier_lot when the rule uses them; ``forms``: given, numbers an item's
    lot already carries are skipped."""
    table = D.get(conn, forms, D.LOT).main if forms is not None else None
    return numbering.numbers(conn, table, ctx.now.astimezone(ctx.tz), item, count, attrs=attrs, path=path)


def create(conn: Connection, forms: Any, ctx: Ctx, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """New lots (through the record service, as the engine: the posting user's right was checked)."""
    if not docs:
        return []
    made = S.create_records(conn=conn, registry=forms, ctx=D.acting(ctx), form=D.LOT, docs=docs)
    return [D.row(conn, D.get(conn, forms, D.LOT), int(m["id"])) or {} for m in made]
