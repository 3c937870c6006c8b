"""core 1.6.0, after the upgrade: the free-text 供应商 of purchase orders, stock receipts and lots becomes a
reference to the new 供应商档案 (``vendor``).

The planner cannot turn a text column into a reference (a text is not an id), so 1.6.0 ships ``supplier`` as a
new field (pu07 / sr27 / lt12) and retires the old text field: its column is renamed ``_r_pu02`` / ``_r_sr04`` /
``_r_lt04`` and kept, data and all. Here every distinct trimmed text becomes one vendor (code V0001, V0002, …,
name = the text; a vendor of that name already there is reused) and every row's new 供应商 points at it.
Nothing is lost: the texts stay in the retired columns; an empty text stays empty.
"""
from __future__ import annotations

from typing import Any

from mom.engines.inventory import vendors

FIELDS = (("purchase_order", "_r_pu02"), ("stock_receipt", "_r_sr04"), ("lot", "_r_lt04"))


def migrate(conn: Any, ctx: Any) -> None:
    for form, old in FIELDS:
        vendors.adopt_texts(conn, ctx.forms, form, old, now=ctx.now)
