"""Incoming inspection (来料检验, IQC) on the core pack's purchase receipts (issue 22).

- a ``stock_receipt`` posted (过账): for each receipt line whose item has an active IQC plan (the
  supplier's plan before one for any supplier), the line's lots go to 待检 quarantine — they cannot be
  issued nor shipped — and one pending inspection lot is opened for the line (its lot, its quantity in
  the stock unit, the receipt's supplier), sampled at the switching state's severity. A line already
  holding an inspection lot gets no second one (re-posting, retries);
- the receipt reversed (冲销): its open inspection lots are cancelled, saying why, and their stock lots
  leave quarantine when no other open inspection holds them;
- an IQC lot judged: accepted → its lots 放行 released; rejected → 冻结 blocked and an NCR
  (``nonconformance``) opened through the record service for the stock where it lies.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.inventory import documents as D
from mom.engines.inventory import ledger as L
from mom.engines.inventory import vendors
from mom.engines.quality import inspection as I
from mom.engines.quality import judging as J
from mom.engines.quality import quarantine as Q
from mom.engines.records import service as S
from mom.engines.records.batch import update_many
from mom.engines.records.context import Ctx

RECEIPT, NCR = "stock_receipt", "nonconformance"
OPEN = ("pending", "inspecting")


def receipt_lines(conn: Connection, forms: Any, receipt_id: int) -> OrderedDict[int, dict[str, Any]]:
    """The posted receipt's ledger rows grouped by line: item, location, lots, quantity (stock unit)."""
    out: OrderedDict[int, dict[str, Any]] = OrderedDict()
    for m in L.of_document(conn, forms, RECEIPT, receipt_id):
        if m.get("reversal_of") is not None:
            continue
        g = out.setdefault(int(m.get("document_line") or 1), {"item": int(m["item"]), "location": int(m["location"]),
                                                              "lots": [], "qty": D.ZERO})
        g["qty"] += D.dec(m["qty"])
        if m.get("lot") is not None and int(m["lot"]) not in g["lots"]:
            g["lots"].append(int(m["lot"]))
    return out


def _lots_of_receipt(conn: Connection, lot_form: Any, receipt_id: int) -> dict[int, dict[str, Any]]:
    t = lot_form.main
    q = sa.select(t).where(t.c.stock_receipt == int(receipt_id), t.c.deleted_at.is_(None))
    return {int(r["receipt_line"] or 0): dict(r) for r in conn.execute(q).mappings()}


def on_receipt_posted(conn: Connection, forms: Any, ctx: Ctx, receipt: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Open the IQC lots of a posted receipt (see the module docstring); returns the lots opened."""
    lot_form = I.pack_form(conn, forms, I.LOT)
    if lot_form is None or I.pack_form(conn, forms, I.PLAN) is None:
        return []
    existing = _lots_of_receipt(conn, lot_form, int(receipt["id"]))
    supplier = receipt.get("supplier")
    opened = []
    lines = receipt_lines(conn, forms, int(receipt["id"]))
    plans = I.find_plans(conn, forms, inspection_type="iqc", items=[g["item"] for g in lines.values()], supplier=supplier)
    for line, g in lines.items():
        plan = plans.get(g["item"])
        if line in existing or g["qty"] <= 0 or plan is None:
            continue
        set_lot_status(conn, forms, ctx, g["lots"], "quarantine", only_from=("released",))
        opened.append(I.open_lot(conn, forms, ctx, plan=plan, item=g["item"], lot=g["lots"][0] if len(g["lots"]) == 1 else None,
                                 qty=g["qty"], supplier=supplier,
                                 sources={"stock_receipt": int(receipt["id"]), "receipt_line": line},
                                 note=(f"采购入库 {receipt.get('code')} 第 {line} 行" +
                                       (f"，共 {len(g['lots'])} 个批次/序列号" if len(g["lots"]) > 1 else ""))))
    if opened:
        codes = "、".join(str(x.get("code")) for x in opened[:20]) + ("…" if len(opened) > 20 else "")
        who = vendors.name_of(conn, forms, supplier) or ""
        I.notify_inspectors(conn, ctx, opened, f"来料待检：采购入库 {receipt.get('code')}（{who}）{len(opened)} 张检验单",
                            f"检验单 {codes}，批次已置为待检，检验合格后放行。\n"
                            f"Incoming inspection: receipt {receipt.get('code')} opened {len(opened)} inspection lot(s); "
                            "their stock lots are quarantined until accepted.")
    return opened


def on_receipt_reversed(conn: Connection, forms: Any, ctx: Ctx, receipt: Mapping[str, Any]) -> int:
    """Cancel the open inspection lots of a reversed receipt; returns how many."""
    lot_form = I.pack_form(conn, forms, I.LOT)
    if lot_form is None:
        return 0
    lines = receipt_lines(conn, forms, int(receipt["id"]))
    patches, freed = [], []
    for line, il in _lots_of_receipt(conn, lot_form, int(receipt["id"])).items():
        if il.get("status") not in OPEN:
            continue
        why = f"采购入库单 {receipt.get('code')} 已冲销，检验单自动取消"
        patches.append((int(il["id"]), {"status": "cancelled", "note": f"{why}。{il.get('note') or ''}"[:500]}, None))
        freed += lines.get(line, {}).get("lots", [])
    with I.engine_writes(conn):
        update_many(conn=conn, registry=forms, ctx=I.acting(ctx), form=lot_form.name, patches=patches)
    still = _lots_under_inspection(conn, lot_form, freed)
    set_lot_status(conn, forms, ctx, [x for x in freed if x not in still], "released", only_from=("quarantine",))
    return len(patches)


def _lots_under_inspection(conn: Connection, lot_form: Any, lots: list[int]) -> set[int]:
    if not lots:
        return set()
    t = lot_form.main
    q = sa.select(t.c.lot).where(t.c.lot.in_(lots), t.c.status.in_(OPEN), t.c.deleted_at.is_(None))
    return {int(r[0]) for r in conn.execute(q)}


def set_lot_status(conn: Connection, forms: Any, ctx: Ctx, lots: list[int], status: str, *,
                   only_from: tuple[str, ...] | None = None) -> None:
    """Move stock lots to ``status`` (those now in ``only_from``, when given) as the engine."""
    if not lots:
        return
    lot_form = D.get(conn, forms, D.LOT)
    rows = D.rows_by_id(conn, lot_form, lots)
    patches = [(rid, {"status": status}, None) for rid, r in rows.items()
               if r.get("status") != status and (only_from is None or r.get("status") in only_from)]
    with I.engine_writes(conn):
        update_many(conn=conn, registry=forms, ctx=I.acting(ctx), form=D.LOT, patches=patches)


def _stock_lots(conn: Connection, forms: Any, lot: Mapping[str, Any]) -> list[int]:
    if lot.get("stock_receipt") is not None:
        g = receipt_lines(conn, forms, int(lot["stock_receipt"])).get(int(lot.get("receipt_line") or 1))
        if g is not None:
            return list(g["lots"])
    return [int(lot["lot"])] if lot.get("lot") is not None else []


def _where(conn: Connection, forms: Any, item: int, lots: list[int], prefer: int | None) -> tuple[int | None, Decimal]:
    """Where the rejected stock lies: the location holding most of it (the receipt's first), and how much."""
    b = D.get(conn, forms, D.BALANCE).main
    q = (sa.select(b.c.location, sa.func.sum(b.c.qty)).where(b.c.item == int(item), b.c.deleted_at.is_(None))
         .group_by(b.c.location))
    q = q.where(b.c.lot.in_(lots)) if lots else q.where(b.c.lot.is_(None))
    held = {int(loc): D.dec(qty) for loc, qty in conn.execute(q) if D.dec(qty) > 0}
    if prefer is not None and prefer in held:
        return prefer, held[prefer]
    if not held:
        return prefer, D.ZERO
    loc = max(held, key=lambda k: (held[k], -k))
    return loc, held[loc]


def after_judged(conn: Connection, forms: Any, ctx: Ctx, lot: Mapping[str, Any]) -> dict[str, Any]:
    """An IQC lot judged: its stock released or blocked; on rejection an NCR opened, on acceptance a draft
    transfer out of the 待检区 (:mod:`quarantine`). Returns what to write on the lot: ``ncr`` (the NCR's code),
    ``release_transfer`` (the draft's number) and ``note`` (when the draft could not be made, why)."""
    if lot.get("inspection_type") != "iqc":
        return {}
    stock = _stock_lots(conn, forms, lot)
    if lot.get("result") == "accepted":
        set_lot_status(conn, forms, ctx, stock, "released", only_from=("quarantine",))
        return release_from_quarantine(conn, forms, ctx, lot, stock)
    set_lot_status(conn, forms, ctx, stock, "blocked")
    code = open_ncr(conn, forms, ctx, lot, stock)
    return {"ncr": code} if code else {}


def release_from_quarantine(conn: Connection, forms: Any, ctx: Ctx, lot: Mapping[str, Any], stock: list[int]) -> dict[str, Any]:
    """The accepted lot's stock still in a quarantine location: a draft transfer of exactly what the receipt
    line put there (or, for a re-inspected lot, of its quantity), once per inspection lot."""
    if lot.get("stock_receipt") is not None:
        pieces = Q.receipt_pieces(conn, forms, int(lot["stock_receipt"]), int(lot.get("receipt_line") or 1))
    else:
        pieces = Q.lot_pieces(int(lot["item"]), stock, lot.get("lot_qty"))
    got = Q.release(conn, forms, ctx, pieces, client_id=f"QI{int(lot['id'])}-release",
                    note="来料检验合格放行：从待检区调出", why_zh=f"来料检验 {lot.get('code')} 合格")
    out: dict[str, Any] = {}
    if got.code:
        out["release_transfer"] = got.code
    words = (f"待检区调拨单 {got.code}（草稿，货搬出待检区后由仓管员过账）" if got.code else "") + \
        (("；" if got.code else "") + got.note_zh if got.note_zh else "")
    if words:
        out["note"] = f"{lot.get('note') or ''}\n{words}".strip()[:500]
    return out


def open_ncr(conn: Connection, forms: Any, ctx: Ctx, lot: Mapping[str, Any], stock: list[int]) -> str | None:
    """An NCR for the rejected lot's stock, through the record service (the quality pack's form only)."""
    try:
        ncr_form = forms.get(conn, NCR)
    except Exception:      # noqa: BLE001 — not installed: nothing to open
        return None
    if not _is_pack_ncr(conn, ncr_form):
        return None
    lot_form = I.require_form(conn, forms, I.LOT)
    results = S.load_children(conn, lot_form, [int(lot["id"])], ["results"])[int(lot["id"])]["results"]
    prefer = None
    if lot.get("stock_receipt") is not None:
        g = receipt_lines(conn, forms, int(lot["stock_receipt"])).get(int(lot.get("receipt_line") or 1))
        prefer = g["location"] if g else None
    location, qty = _where(conn, forms, int(lot["item"]), stock, prefer)
    if qty <= 0 or not stock:     # untracked stock: no more than this lot of it
        qty = min(qty, D.dec(lot.get("lot_qty"))) if qty > 0 else D.dec(lot.get("lot_qty"))
    item = D.row(conn, forms.get(conn, D.ITEM), int(lot["item"])) or {}
    number = None
    if lot.get("lot") is not None:
        number = (D.row(conn, D.get(conn, forms, D.LOT), int(lot["lot"])) or {}).get("number")
    counts = "、".join(f"{I.CLASS_ZH[k]} {lot.get(f'defects_{k}')}/Re {lot.get(f're_{k}')}" for k in I.CLASSES
                      if lot.get(f"defects_{k}") is not None)
    doc = {"title": f"来料检验不合格：{D.name_of(item)}" + (f" 批次 {number}" if number else ""),
           "inspection_lot": int(lot["id"]), "item": int(lot["item"]), "lot": lot.get("lot"),
           "supplier": lot.get("supplier"), "location": location, "qty": qty,
           "defect_code": J.worst_defect_code(results),
           "description": (f"检验单 {lot.get('code')}：样本 {lot.get('sample_size')} 件，不合格数 {counts}，判定不合格。"
                           f"\n{lot.get('sampling_note') or ''}")[:4000]}
    with I.engine_writes(conn):
        made = S.create_records(conn=conn, registry=forms, ctx=I.acting(ctx), form=NCR, docs=[doc])[0]
    return made.get("code")


def _is_pack_ncr(conn: Connection, compiled: Any) -> bool:
    owner = conn.execute(sa.select(I.T.pack_item.c.pack).where(I.T.pack_item.c.kind == "forms",
                                                               I.T.pack_item.c.name == compiled.name)).scalar()
    return owner == I.PACK and all(compiled.definition.field(k) is not None
                                   for k in ("inspection_lot", "item", "lot", "location", "qty", "title"))
