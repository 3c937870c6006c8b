"""quality 1.2.0, after the upgrade: the free-text 供应商 of inspection lots, inspection plans, switching states,
NCRs and returns to supplier becomes a reference to core's 供应商档案 (``vendor``, core 1.6.0).

As in core 1.6.0 (whose migration has already run: quality depends on core ^1.6.0) the text field is retired —
its column renamed ``_r_<old field id>`` and kept — and ``supplier`` is a new reference field. Each distinct
trimmed text gets its vendor (one core already made for the same text is reused; otherwise code V…, name = the
text) and every row points at it.

A switching state is keyed by ``supplier_key`` (the vendor's id as text, '' for "any supplier"; the unique index
(type, item, supplier_key, class) holds for "any" too). When two old states land on one key (温州阀门厂 and
"温州阀门厂 " were one supplier written two ways) the most recently updated one keeps the key and goes on
switching; the others keep their rows, history and supplier but no key (they no longer move).
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from mom.engines.inventory import vendors

FIELDS = (("inspection_lot", "_r_il07"), ("inspection_plan", "_r_ip06"), ("nonconformance", "_r_nc07"),
          ("supplier_return", "_r_sr04"), ("quality_state", "_r_qs03"))


def migrate(conn: Any, ctx: Any) -> None:
    for form, old in FIELDS:
        vendors.adopt_texts(conn, ctx.forms, form, old, now=ctx.now)
    _state_keys(conn, ctx)


def _state_keys(conn: Any, ctx: Any) -> None:
    t = ctx.forms.get(conn, "quality_state").main
    rows = conn.execute(sa.select(t.c.id, t.c.inspection_type, t.c.item, t.c.defect_class, t.c.supplier)
                        .where(t.c.supplier_key.is_(None), t.c.deleted_at.is_(None))
                        .order_by(t.c.updated_at.desc(), t.c.id.desc())).all()
    taken = {(r[0], r[1], r[2], r[3]) for r in conn.execute(
        sa.select(t.c.inspection_type, t.c.item, t.c.defect_class, t.c.supplier_key).where(t.c.supplier_key.is_not(None)))}
    for rid, itype, item, klass, supplier in rows:
        key = "" if supplier is None else str(supplier)
        if (itype, item, klass, key) in taken:
            continue                        # an older spelling of a supplier whose state another row holds
        taken.add((itype, item, klass, key))
        conn.execute(t.update().where(t.c.id == rid).values(supplier_key=key))
