"""Outgoing inspection (出货检验, OQC) bound to the core pack's sales shipment ``stock_shipment`` (issue 22).

- A draft shipment (created, or its lines changed while a draft) has one OQC inspection lot per line
  item × lot (lines of one item and lot add up) whose item has an active ``oqc`` plan
  (:func:`sync`). A quantity changed while its lot is still 待检 cancels that lot and opens one for the
  new quantity; a larger quantity than an inspected lot covered opens another; a line removed cancels
  its pending lot; a deleted draft cancels its pending lots.
- Posting (过账) the shipment — the form's button, ``POST /api/stock/documents/stock_shipment/{id}/post``
  or created and posted at once — is refused until the latest lot of every such line is judged
  合格 for at least the line's quantity (:func:`check_post`); the message names the lots and their state.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.forms.compile import CompiledForm
from mom.engines.inventory import documents as ID
from mom.engines.quality import trigger_lots as TL
from mom.engines.records import service as S
from mom.engines.records.context import Ctx
from mom.platform.errors import Conflict

SHIPMENT, OQC = "stock_shipment", "oqc"
Key = tuple[int, int | None]        # (item, lot)


def applies(compiled: CompiledForm) -> bool:
    """The core pack's sales shipment (the fields the stock engine binds to are there)?"""
    return compiled.name == SHIPMENT and ID.is_core(compiled)


def _needs(conn: Connection, compiled: CompiledForm, shipment_id: int) -> dict[Key, Decimal]:
    """Quantity per (item, lot) of the shipment's stored lines."""
    lines = S.load_children(conn, compiled, [shipment_id], ["lines"])[shipment_id]["lines"]
    need: dict[Key, Decimal] = defaultdict(Decimal)
    for ln in lines:
        if ln.get("item") is not None:
            need[(int(ln["item"]), int(ln["lot"]) if ln.get("lot") is not None else None)] += TL.dec(ln.get("qty"))
    return dict(need)


def _latest(lots: list[dict[str, Any]]) -> dict[Key, dict[str, Any]]:
    """The newest lot that is not cancelled, per (item, lot)."""
    out: dict[Key, dict[str, Any]] = {}
    for lt in lots:
        if lt["status"] != "cancelled":
            out[(int(lt["item"]), int(lt["lot"]) if lt.get("lot") is not None else None)] = lt
    return out


def _plans(conn: Connection, plan_form: CompiledForm, items: set[int]) -> dict[int, dict[str, Any]]:
    out = {}
    for item in sorted(items):
        plan = TL.find_plan(conn, plan_form, OQC, item)
        if plan is not None:
            out[item] = plan
    return out


def sync(conn: Connection, forms: Any, ctx: Ctx, compiled: CompiledForm, shipment: Mapping[str, Any]) -> None:
    """Bring the OQC lots of draft ``shipment`` in line with its lines (see the module docstring)."""
    if shipment.get("status") != "draft":
        return
    found = TL.installed(conn, forms)
    if found is None:
        return
    plan_form, lot_form = found
    sid = int(shipment["id"])
    need = _needs(conn, compiled, sid)
    latest = _latest(TL.lots_of(conn, lot_form, SHIPMENT, sid, OQC, lock=True))
    plans = _plans(conn, plan_form, {k[0] for k in need})
    code = shipment.get("code")
    for key, qty in need.items():
        plan = plans.get(key[0])
        if plan is None or qty <= 0:
            continue
        cur = latest.get(key)
        note = f"出货检验：销售出库单 {code} / outgoing inspection of shipment {code}"
        if cur is not None:
            had = TL.dec(cur.get("lot_qty"))
            if had == qty or (qty < had and cur["status"] != "pending"):
                continue        # the same quantity, or less than an inspected lot covers
            if cur["status"] == "pending":
                TL.cancel(conn, forms, ctx, cur, f"出货数量改为 {TL.qty_text(qty)}，已重开检验单 / shipment quantity now {TL.qty_text(qty)}")
            note = (f"出货检验：销售出库单 {code} 数量改为 {TL.qty_text(qty)}（原检验单 {cur['code']} 为 {TL.qty_text(had)}）"
                    f" / shipment {code} quantity now {TL.qty_text(qty)} (was {TL.qty_text(had)} on {cur['code']})")
        TL.open_lot(conn, forms, ctx, plan=plan, item=key[0], lot=key[1], qty=qty, sources={SHIPMENT: sid}, note=note)
    for key, cur in latest.items():
        if key not in need and cur["status"] == "pending":
            TL.cancel(conn, forms, ctx, cur, f"销售出库单 {code} 已没有这一行 / the line left shipment {code}")


def on_deleted(conn: Connection, forms: Any, ctx: Ctx, shipment: Mapping[str, Any]) -> None:
    """A deleted draft shipment's pending OQC lots are cancelled."""
    found = TL.installed(conn, forms)
    if found is None:
        return
    for lt in TL.lots_of(conn, found[1], SHIPMENT, int(shipment["id"]), OQC, lock=True):
        if lt["status"] == "pending":
            TL.cancel(conn, forms, ctx, lt, f"销售出库单 {shipment.get('code')} 已删除 / shipment {shipment.get('code')} deleted")


def check_post(conn: Connection, forms: Any, ctx: Ctx, compiled: CompiledForm, shipment: Mapping[str, Any]) -> None:
    """Refuse (409) posting ``shipment`` while an OQC lot of its lines is not judged 合格 for the line's
    quantity, naming each lot, its item and lot, and what to do."""
    found = TL.installed(conn, forms)
    if found is None:
        return
    plan_form, lot_form = found
    sid = int(shipment["id"])
    need = _needs(conn, compiled, sid)
    plans = _plans(conn, plan_form, {k[0] for k in need})
    if not plans:
        return
    latest = _latest(TL.lots_of(conn, lot_form, SHIPMENT, sid, OQC))
    names = _names(conn, forms, {k[0] for k in need}, {k[1] for k in need if k[1] is not None})
    waiting, rejected, missing = [], [], []
    codes: dict[str, list[str]] = {"waiting": [], "rejected": []}
    for key, qty in need.items():
        if key[0] not in plans or qty <= 0:
            continue
        cur = latest.get(key)
        what = names(key)
        if cur is None or (cur["status"] == "judged" and cur.get("result") == "accepted" and TL.dec(cur.get("lot_qty")) < qty):
            missing.append(what)
        elif cur["status"] == "judged" and cur.get("result") == "rejected":
            rejected.append(f"{TL.describe(cur)}{what}" + (f"，不合格品单 {cur['ncr']}" if cur.get("ncr") else ""))
            codes["rejected"].append(str(cur["code"]))
        elif cur["status"] != "judged":
            waiting.append(f"{TL.describe(cur)}{what}")
            codes["waiting"].append(str(cur["code"]))
    if not (waiting or rejected or missing):
        return
    code = shipment.get("code")
    new_now = [lt for lt in latest.values() if TL.opened_now(lt, ctx)]
    if new_now and not rejected:
        raise Conflict(f"销售出库单 {code} 的物料需要先做出货检验，不能直接过账：请先保存为草稿，质检员检验合格后再过账",
                       f"shipment {code} needs an outgoing inspection first: save it as a draft, and post it once the "
                       "inspector accepted its lots", detail={"shipment": code})
    parts, parts_en = [], []
    if waiting:
        parts.append(f"出货检验还没有合格：{'；'.join(waiting)}，请等质检员检验判定合格")
        parts_en.append(f"outgoing inspection not accepted yet: {', '.join(codes['waiting'])}")
    if rejected:
        parts.append(f"出货检验不合格：{'；'.join(rejected)}，请按不合格品单处置，换合格批次后再出货")
        parts_en.append(f"rejected by outgoing inspection: {', '.join(codes['rejected'])}")
    if missing:
        parts.append(f"{'、'.join(missing)} 还没有覆盖这次出货数量的出货检验单（出货检验方案是在出库单保存之后才建的）："
                     "请修改出库单（例如填写备注）后保存，系统即按现行方案生成出货检验单，检验合格后再过账")
        parts_en.append(f"{len(missing)} line(s) have no outgoing inspection for their quantity (the plan came after the "
                        "draft was saved): change the draft (e.g. its note) and save it to open the lots")
    raise Conflict(f"销售出库单 {code} 还不能过账：" + "；".join(parts),
                   f"shipment {code} cannot be posted: " + "; ".join(parts_en),
                   detail={"shipment": code, "inspection_lots": [str(lt.get("code")) for lt in latest.values()]})


def _names(conn: Connection, forms: Any, items: set[int], lots: set[int]) -> Any:
    """``f((item, lot))`` -> 『物料 V50 闸阀 DN50 批次 L2026…』."""
    it = forms.get(conn, ID.ITEM).main
    q = sa.select(it.c.id, it.c.code, it.c.name).where(it.c.id.in_(items))
    item_rows = {int(r["id"]): r for r in conn.execute(q).mappings()}
    lot_rows: dict[int, Any] = {}
    if lots:
        lt = forms.get(conn, ID.LOT).main
        lot_rows = {int(r["id"]): r for r in conn.execute(sa.select(lt.c.id, lt.c.number).where(lt.c.id.in_(lots))).mappings()}

    def name(key: Key) -> str:
        item = item_rows.get(key[0]) or {}
        text = f"物料 {item.get('code') or ''} {item.get('name') or ''}".rstrip()
        if key[1] is not None:
            text += f" 批次 {(lot_rows.get(key[1]) or {}).get('number') or key[1]}"
        return f"（{text}）"
    return name


def on_lot_rejected(conn: Connection, forms: Any, ctx: Ctx, lot_id: int, old: Mapping[str, Any],
                    new: Mapping[str, Any]) -> None:
    """A rejected OQC lot opens its NCR: the lot's quantity, item and stock lot, where the shipment takes it from."""
    if new.get("inspection_type") != OQC or new.get("status") != "judged" or new.get("result") != "rejected" \
            or old.get("result") == "rejected" or new.get("stock_shipment") is None:
        return
    compiled = forms.get(conn, SHIPMENT)
    if not applies(compiled):
        return
    sid = int(new["stock_shipment"])
    shipment = ID.row(conn, compiled, sid) or {}
    lines = S.load_children(conn, compiled, [sid], ["lines"])[sid]["lines"]
    same = [ln for ln in lines if ln.get("item") == new.get("item") and ln.get("lot") == new.get("lot")]
    location = next((ln.get("from_location") for ln in same if ln.get("from_location") is not None), None)
    TL.open_ncr(conn, forms, ctx, {**new, "id": lot_id}, title=f"出货检验不合格：销售出库单 {shipment.get('code')}",
                qty=new.get("lot_qty"), location=location)
