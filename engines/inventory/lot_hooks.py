"""Record hooks for lots: an item's 批次号规则 checked when it is saved, and a reversed 批次拆分 /
批次合并 retracting its genealogy edges.

- ``item``: a ``lot_rule`` that is not a valid rule (:func:`numbering.check`) is refused on create,
  update and import, the message naming the bad placeholder (``/lot_rule``);
- ``lot_split`` / ``lot_merge``: when the engine's reversal sets ``reversed_by``, the document's
  ``lot_link`` edges get their retracting rows (:func:`lot_change.retract_edges`).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Connection

from mom.engines.forms.compile import CompiledForm
from mom.engines.inventory import documents as D
from mom.engines.inventory import lot_change, numbering
from mom.engines.records.context import Ctx
from mom.engines.records.hooks import RecordHooks
from mom.platform.errors import InvalidInput, Problem
from mom.platform.hookspecs import hookimpl


def _has_rule(compiled: CompiledForm) -> bool:
    return compiled.name == D.ITEM and compiled.definition.field("lot_rule") is not None


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
