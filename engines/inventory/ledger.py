"""The stock ledger (库存流水, form ``stock_move``): one row per change of one balance.

A row says: ``qty`` of ``item`` (signed, in its stock unit: positive into ``location``, negative out of
it) in ``lot`` (empty: untracked), with ``other_location`` the other end of a transfer, the document
(``document_form``, ``document_id``, ``document_code``, ``document_line`` 1-based), ``posted_at``,
``posted_by``, the production order it served and, on a reversal, the row it reverses
(``reversal_of``). A transfer of 5 is two rows (−5 at the source, +5 at the target). Rows are written
only by the engine, in the posting's transaction, and never updated or deleted: a mistake is
reversed by a reversing document.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.inventory import documents as D
from mom.engines.records import values as V
from mom.engines.records.context import Ctx
from mom.engines.records.service import insert_rows

FIELDS = ("item", "location", "lot", "qty", "other_location", "document_form", "document_id", "document_code",
          "document_line", "reversal_of", "production_order")


def append(conn: Connection, forms: Any, ctx: Ctx, moves: list[dict[str, Any]]) -> list[int]:
    """Insert ledger rows (``FIELDS`` each; posted_at and posted_by are now and the acting user) and
    return their ids, in order."""
    if not moves:
        return []
    compiled = D.get(conn, forms, D.MOVE)
    preps = [V.Prepared(values={**{k: m.get(k) for k in FIELDS}, "posted_at": ctx.now, "posted_by": ctx.actor.id},
                        children={}) for m in moves]
    with D.engine_writes(conn):
        stored = insert_rows(conn, compiled, ctx, preps, hooks=forms.hooks)
    return [int(r["id"]) for r in stored]


def of_document(conn: Connection, forms: Any, form: str, doc_id: int) -> list[dict[str, Any]]:
    """The ledger rows a document posted, in order."""
    t = D.get(conn, forms, D.MOVE).main
    q = sa.select(t).where(t.c.document_form == form, t.c.document_id == int(doc_id), t.c.deleted_at.is_(None)).order_by(t.c.id)
    return [dict(r) for r in conn.execute(q).mappings()]


def issued_to_order(conn: Connection, forms: Any, order_id: int) -> dict[int, Decimal]:
    """Per item, what went to production order ``order_id``: issues less returns (reversals included)."""
    t = D.get(conn, forms, D.MOVE).main
    q = (sa.select(t.c.item, sa.func.sum(t.c.qty)).where(t.c.production_order == int(order_id), t.c.deleted_at.is_(None),
                                                         t.c.document_form.in_(("stock_issue", "stock_return")))
         .group_by(t.c.item))
    return {int(i): -D.dec(s) for i, s in conn.execute(q)}


def history(conn: Connection, forms: Any, *, item: int | None = None, location: int | None = None, lot: int | None = None,
            before_id: int | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """Ledger rows, newest first, filtered (the drill-down from a balance); ``before_id``: the next page."""
    t = D.get(conn, forms, D.MOVE).main
    q = sa.select(t).where(t.c.deleted_at.is_(None))
    for col, v in (("item", item), ("location", location), ("lot", lot)):
        if v is not None:
            q = q.where(t.c[col] == int(v))
    if before_id is not None:
        q = q.where(t.c.id < int(before_id))
    return [dict(r) for r in conn.execute(q.order_by(t.c.id.desc()).limit(limit)).mappings()]
