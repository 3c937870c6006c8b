"""The stock engine's record hooks: every write path (API, import, form buttons) obeys the ledger's rules.

- ``stock_move`` (the ledger) and ``stock_balance`` are written only by the engine: a person's create,
  update or delete is refused in words;
- a stock document is created as a 草稿 draft; moving it to 已过账 with the form's 过账 button posts
  it (:func:`posting.carry_out`), moving it to 已冲销 with 冲销 reverses it
  (:func:`posting.carry_out_reversal`); a posted or reversed document is never edited nor deleted.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Connection

from mom.engines.forms.compile import CompiledForm
from mom.engines.inventory import documents as D
from mom.engines.inventory import genealogy as G
from mom.engines.inventory import posting as P
from mom.engines.inventory import vendors as V
from mom.engines.records.context import Ctx
from mom.engines.records.engine_writes import RESERVABLE
from mom.engines.records.hooks import RecordHooks
from mom.platform.errors import Conflict
from mom.platform.hookspecs import hookimpl

_ENGINE_ONLY = (D.MOVE, D.BALANCE, G.LINK)


def _refuse_engine_only(compiled: CompiledForm) -> Conflict:
    if compiled.name == G.LINK:
        return Conflict("批次谱系由系统在领料、完工入库、拆分和合并时记录，不能新建、修改或删除：要更正请冲销原单据",
                        "the lot genealogy is recorded by the system on issues, production receipts, splits and merges, never "
                        "created, changed or deleted by hand: reverse the document to correct it")
    if compiled.name == D.MOVE:
        return Conflict("库存流水只能由库存单据过账写入，不能新建、修改或删除：要更正请冲销原单据",
                        "the stock ledger is written only by posting stock documents, never created, changed or deleted by "
                        "hand: reverse the document to correct it")
    return Conflict("库存余额由系统按库存流水计算，不能直接修改：请用盘点单或其他库存单据调整",
                    "stock balances are computed from the ledger and not changed by hand: adjust them with a stock count or "
                    "another stock document")


def _posted_is_final(compiled: CompiledForm, old: Mapping[str, Any]) -> Conflict:
    return Conflict(f"{D.label(compiled)} {old.get('code')} 是「{P.STATUS_ZH.get(str(old.get('status')), '')}」的单据，不能修改或删除："
                    "如有错误请冲销后重开", f"{compiled.name} {old.get('code')} is {old.get('status')} and is not changed nor "
                    "deleted: reverse it and enter a new one")


class InventoryHooks(RecordHooks):
    def __init__(self, forms: Any) -> None:
        self.forms = forms

    def _ours(self, compiled: CompiledForm) -> bool:
        return (compiled.name in _ENGINE_ONLY or compiled.name in D.KINDS) and (compiled.name == G.LINK or D.is_core(compiled))

    def engine_only(self, conn: Connection, compiled: CompiledForm) -> frozenset[str]:
        """The ledger, the balances and the lot genealogy: only posting writes them (no 新建 / 导入 / 编辑 / 删除)."""
        return RESERVABLE if compiled.name in _ENGINE_ONLY and self._ours(compiled) else frozenset()

    def create_from_text(self, conn: Connection, target: CompiledForm, texts: list[str]) -> dict[str, int]:
        """A supplier typed by name on a document (purchase order, receipt, lot, inspection…) that no vendor has
        yet: core's 供应商档案 gets it (code V…, noted for the purchaser to complete), so API clients and files
        that send the supplier as text keep working and one name is one vendor."""
        if not V.is_vendor_form(target):
            return {}
        fit = [t for t in texts if t.strip() and len(t.strip()) <= V.NAME_MAX]
        made = V.ids_for_texts(conn, self.forms, fit, note=V.DOCUMENT_NOTE) if fit else {}
        return {t: made[t.strip()] for t in fit if t.strip() in made}

    def before_create(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, rows: list[dict[str, Any]]) -> None:
        if compiled.name in _ENGINE_ONLY and self._ours(compiled) and not D.engine_writing(conn):
            raise _refuse_engine_only(compiled)
        if V.is_vendor_form(compiled):
            V.trim(compiled, rows)
        elif compiled.name in V.NEW_BUSINESS and not D.engine_writing(conn):   # (a reversal copies its supplier)
            V.refuse_disabled(conn, self.forms, compiled, [(r, "" if len(rows) == 1 else f"/{i}") for i, r in enumerate(rows)])

    def before_update(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, old: Mapping[str, Any],
                      new: dict[str, Any], patched: set[str], transition: str | None) -> None:
        if V.is_vendor_form(compiled):
            V.trim(compiled, [new])
        if compiled.name in V.NEW_BUSINESS and not D.engine_writing(conn):    # only a supplier changed to a disabled one
            V.refuse_disabled(conn, self.forms, compiled, [(new, "")], old=old)
        if not self._ours(compiled) or D.engine_writing(conn):
            return
        if compiled.name in _ENGINE_ONLY:
            raise _refuse_engine_only(compiled)
        if old.get("status") == "draft":
            return
        # a posted document moves only to reversed, through 冲销, with nothing else changed
        changed = {k for k in patched if k != "status" and new.get(k) != old.get(k)}
        if not (old.get("status") == "posted" and new.get("status") == "reversed" and not changed):
            raise _posted_is_final(compiled, old)

    def after_update(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, old: Mapping[str, Any],
                     new: Mapping[str, Any], changed: set[str]) -> None:
        if compiled.name not in D.KINDS or "status" not in changed or D.engine_writing(conn) or not self._ours(compiled):
            return
        doc = D.row(conn, compiled, record_id, lock=True)
        if doc is None:
            return
        forms = D.tx_forms(self.forms)
        if old.get("status") == "draft" and new.get("status") == "posted":
            P.carry_out(conn, forms, ctx, P.kind_of(compiled.name), compiled, doc, set_status=False)
        elif old.get("status") == "posted" and new.get("status") == "reversed":
            if doc.get("reversal_of"):
                raise Conflict(f"{doc.get('code')} 本身是冲销单，不能再冲销", f"{doc.get('code')} is itself a reversal")
            P.carry_out_reversal(conn, forms, ctx, compiled, doc, set_status=False)

    def before_delete(self, conn: Connection, ctx: Ctx, compiled: CompiledForm, record_id: int, row: Mapping[str, Any]) -> None:
        if not self._ours(compiled) or D.engine_writing(conn):
            return
        if compiled.name in _ENGINE_ONLY:
            raise _refuse_engine_only(compiled)
        if row.get("status") != "draft":
            raise _posted_is_final(compiled, row)


@hookimpl
def mom_record_hooks(forms: Any) -> RecordHooks:
    """Stock ledger and balances written only by the engine; stock documents posted and reversed by their state."""
    return InventoryHooks(forms)
