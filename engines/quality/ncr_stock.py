"""Where NCRs meet the stock they are about (issue 22 review):

- a stock lot is not 放行 released by a person (an administrator included) while an inspection lot on it
  is still 待检 / 检验中: the inspection decides, the refusal names the inspection lot;
- a reversed (冲销) purchase receipt cancels the 待处置 open NCRs of its inspection lots, saying why in
  their description: the pieces they are about are no longer in stock;
- a receipt is not reversed while such an NCR is 处置已批准 approved: its dispositions would post against
  stock that is gone — the quality manager cancels the NCR first (an NCR already 已处置 has moved the
  stock, and the stock engine refuses what is no longer there).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.quality import disposition as X
from mom.engines.quality import inspection as I
from mom.engines.records.batch import update_many
from mom.engines.records.context import Ctx
from mom.platform.errors import Conflict

OPEN = ("pending", "inspecting")


def refuse_release_while_inspected(conn: Connection, forms: Any, lot_id: int, lot: Mapping[str, Any]) -> None:
    il = I.pack_form(conn, forms, I.LOT)
    if il is None:
        return
    t = il.main
    code = conn.execute(sa.select(t.c.code).where(t.c.lot == int(lot_id), t.c.status.in_(OPEN), t.c.deleted_at.is_(None))
                        .order_by(t.c.id).limit(1)).scalar()
    if code is None:
        return
    raise Conflict(f"批次 {lot.get('number')} 还在检验：检验单 {code} 尚未判定，不能手工放行；判定合格后系统自动放行，"
                   "不需要检验请由质量经理取消这张检验单",
                   f"lot {lot.get('number')} is under inspection ({code} not judged yet) and is not released by hand: "
                   "an accepted judgement releases it; a quality manager cancels the inspection lot if none is needed",
                   detail={"inspection_lot": code})


def _ncrs_of_receipt(conn: Connection, forms: Any, receipt_id: int, statuses: tuple[str, ...]) -> list[dict[str, Any]]:
    il = I.pack_form(conn, forms, I.LOT)
    try:
        ncr_form = forms.get(conn, X.NCR)
    except Exception:       # noqa: BLE001 — the NCR form is not installed
        return []
    if il is None or not X.owned(conn, ncr_form) or il.definition.field("stock_receipt") is None:
        return []
    L, N = il.main, ncr_form.main
    lots = sa.select(L.c.id).where(L.c.stock_receipt == int(receipt_id), L.c.deleted_at.is_(None))
    q = (sa.select(N.c.id, N.c.code, N.c.status, N.c.description)
         .where(N.c.inspection_lot.in_(lots), N.c.status.in_(statuses), N.c.deleted_at.is_(None)).order_by(N.c.id))
    return [dict(r) for r in conn.execute(q).mappings()]


def refuse_reversal_while_approved(conn: Connection, forms: Any, receipt_id: int, receipt: Mapping[str, Any]) -> None:
    got = _ncrs_of_receipt(conn, forms, receipt_id, ("approved",))
    if not got:
        return
    codes = "、".join(str(r["code"]) for r in got)
    raise Conflict(f"采购入库单 {receipt.get('code')} 的不合格品处理单 {codes} 处置已批准，冲销后处置将无库存可动："
                   "请质量经理先「取消」处理单再冲销",
                   f"receipt {receipt.get('code')} has approved NCR(s) {codes} whose dispositions need its stock: "
                   "a quality manager cancels them before the reversal", detail={"ncr": [r["code"] for r in got]})


def cancel_open_ncrs_of_receipt(conn: Connection, forms: Any, ctx: Ctx, receipt_id: int, receipt: Mapping[str, Any]) -> int:
    """Cancel the 待处置 NCRs of a reversed receipt's inspection lots, saying why; how many."""
    got = _ncrs_of_receipt(conn, forms, receipt_id, ("open",))
    if not got:
        return 0
    why = f"采购入库单 {receipt.get('code')} 已冲销，不合格品已不在库存，处理单自动取消。"
    patches = [(int(r["id"]), {"status": "cancelled", "description": f"{why}\n{r.get('description') or ''}".strip()[:4000]}, None)
               for r in got]
    conn.info[X.FLAG] = conn.info.get(X.FLAG, 0) + 1
    try:
        update_many(conn=conn, registry=forms, ctx=I.acting(ctx), form=X.NCR, patches=patches)
    finally:
        conn.info[X.FLAG] -= 1
    return len(patches)
