"""Record hooks for lots: an item's 批次号规则 checked when it is saved, and a reversed 批次拆分 /
批次合并 retracting its genealogy edges.

- ``lot``: once stock has moved in a lot, its item, number, serial flag and origin (heat number,
  supplier, supplier lot) are fixed (refused in words);
- ``item``: a ``lot_rule`` that is not a valid rule (:func:`numbering.check`) is refused on create,
  update and import, the message naming the bad placeholder (``/lot_rule``);
- ``lot_split`` / ``lot_merge``: when the engine's reversal sets ``reversed_by``, the document's
  ``lot_link`` edges get their retracting rows (:func:`lot_change.retract_edges`).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.forms.compile import CompiledForm
from mom.engines.inventory import documents as D
from mom.engines.inventory import lot_change, numbering
from mom.engines.records.context import Ctx
from mom.engines.records.hooks import RecordHooks
from mom.platform.errors import Conflict, InvalidInput, Problem
from mom.platform.hookspecs import hookimpl


def _has_rule(compiled: CompiledForm) -> bool:
    return compiled.name == D.ITEM and compiled.definition.field("lot_rule") is not None


#: what a lot IS: once stock has moved in it, its item and its origin (heat, supplier lot) never change
_IDENTITY = {"item": ("物料", "item"), "heat_number": ("炉号", "heat number"), "supplier_lot": ("供应商批号", "supplier lot"),
             "supplier": ("供应商", "supplier"), "is_serial": ("序列号", "serial flag"), "number": ("批号", "number")}


def _identity_fixed_once_moved(conn: Connection, forms: Any, lot_id: int, old: Mapping[str, Any], new: Mapping[str, Any],
                               patched: set[str]) -> None:
    """Refuse changing a lot's item, number or origin after stock has moved in it: the ledger, the balances and
    the genealogy (a recall by heat number) stand on them. A mistake is corrected by a new lot (split or count)."""
    changed = [k for k in _IDENTITY if k in patched and (new.get(k) or None) != (old.get(k) or None)]
    if not changed:
        return
    t = D.get(conn, forms, D.MOVE).main
    if conn.execute(sa.select(t.c.id).where(t.c.lot == int(lot_id)).limit(1)).first() is None:
        return
    zh = "、".join(_IDENTITY[k][0] for k in changed)
    en = ", ".join(_IDENTITY[k][1] for k in changed)
    raise Conflict(f"批次 {old.get('number')} 已有库存流水，不能再修改{zh}：库存、追溯和按炉号召回都以它为准。"
                   "如确实登记错了，请用盘点或批次拆分把库存转到正确的新批次",
                   f"lot {old.get('number')} has stock moves: its {en} can no longer change (stock, trace and recall by heat "
                   "number stand on it); move the stock to a correct new lot with a count or a split",
                   detail={"fields": changed})


class LotHooks(RecordHooks):
    def __init__(self, forms: Any) -> None:
        self.forms = forms

    def before_create(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, rows: list[dict[str, Any]]) -> None:
        if not _has_rule(compiled):
            return
        for i, row in enumerate(rows):
            try:
                numbering.require_valid(row.get("lot_rule"))
            except InvalidInput as exc:
                if len(rows) == 1:
                    raise
                p = exc.problems[0]    # an import: the row named
                raise InvalidInput(f"第 {i + 1} 行：{exc.zh}", f"row {i + 1}: {exc.en}",
                                   problems=[Problem(f"/{i}/lot_rule", p.zh, p.en, p.code)]) from None

    def before_update(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, old: Mapping[str, Any],
                      new: dict[str, Any], patched: set[str], transition: str | None) -> None:
        if compiled.name == D.LOT and D.is_core(compiled) and not D.engine_writing(conn):
            _identity_fixed_once_moved(conn, self.forms, record_id, old, new, patched)
        if _has_rule(compiled) and "lot_rule" in patched and new.get("lot_rule") != old.get("lot_rule"):
            numbering.require_valid(new.get("lot_rule"))

    def after_update(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, old: Mapping[str, Any],
                     new: Mapping[str, Any], changed: set[str]) -> None:
        if compiled.name not in lot_change.FORMS or "reversed_by" not in changed or not new.get("reversed_by"):
            return
        if old.get("reversed_by") or not D.is_core(compiled):
            return
        reversal = D.row(conn, compiled, int(new["reversed_by"]))
        lot_change.retract_edges(conn, self.forms, ctx, compiled.name, {"id": record_id}, reversal)


@hookimpl
def mom_record_hooks(forms: Any) -> RecordHooks:
    """Lot numbering rules checked on items; reversed lot splits and merges retract their genealogy."""
    return LotHooks(forms)
