"""The rules a stock posting obeys, each refusal in words naming the item, location and lot:

- quantities are converted to the item's stock unit exactly (an alternative unit's factor from the
  item form's 辅助单位; a result finer than the ledger's 4 decimals is refused, never rounded);
- no balance goes below zero unless its location allows negative stock (允许负库存);
- a lot in quarantine (待检) or blocked (冻结) is not issued to production nor shipped;
- a lot-tracked item moves with its lot; a serial (序列号) holds 0 or 1 and moves in whole units.
"""
from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from mom.engines.inventory import documents as D
from mom.platform.errors import Conflict, InvalidInput, Problem

LOT_STATUS_ZH = {"quarantine": "待检", "released": "放行", "blocked": "冻结"}


def to_stock_unit(item: Mapping[str, Any], alt_units: list[dict[str, Any]], qty: Decimal, unit: str | None,
                  path: str) -> Decimal:
    """``qty`` of ``unit`` in ``item``'s stock unit, exactly (refused when it needs rounding)."""
    stock_unit = str(item.get("unit") or "")
    name = D.name_of(dict(item))
    if unit is None or unit.strip() == "" or unit.strip() == stock_unit:
        out = qty
    else:
        factor = next((D.dec(a.get("factor")) for a in alt_units if str(a.get("unit") or "").strip() == unit.strip()), None)
        if factor is None or factor <= 0:
            known = "、".join([stock_unit, *[str(a.get("unit")) for a in alt_units if a.get("unit")]])
            raise InvalidInput(f"物料「{name}」没有单位「{unit}」：可用的单位是 {known}；或在物料的「辅助单位」里加上它和换算系数",
                               f"item {name} has no unit {unit}: use one of {known}, or add it with its factor under the item's "
                               "alternative units", problems=[Problem(f"{path}/unit", f"物料「{name}」没有单位「{unit}」",
                                                                        f"item {name} has no unit {unit}", "unknown_unit")])
        out = qty * factor
    if out != out.quantize(D.QTY):
        raise InvalidInput(f"物料「{name}」{D.qty_text(qty)}{unit or ''} 换算成{stock_unit}是 {D.qty_text(out)}，超过 4 位小数：请改用库存单位填写",
                           f"{D.qty_text(qty)} {unit or ''} of {name} is {D.qty_text(out)} {stock_unit}, finer than 4 decimals: "
                           "enter it in the stock unit", problems=[Problem(f"{path}/qty", "换算后超过 4 位小数",
                                                                            "more than 4 decimals once converted", "inexact")])
    return out.quantize(D.QTY)


def where(item: Mapping[str, Any], location: Mapping[str, Any] | None, lot: Mapping[str, Any] | None) -> tuple[str, str]:
    """「阀体」在库位「原料仓 A-01」批次 L-001 — how a message names a balance (zh, en)."""
    zh = f"物料「{D.name_of(dict(item))}」在库位「{D.name_of(location)}」"
    en = f"item {D.name_of(dict(item))} at location {D.name_of(location)}"
    if lot is not None:
        zh += f"批次「{lot.get('number')}」"
        en += f", lot {lot.get('number')}"
    return zh, en


def check_negative(item: Mapping[str, Any], location: Mapping[str, Any], lot: Mapping[str, Any] | None,
                   before: Decimal, after: Decimal, path: str) -> None:
    """Refuse a balance that would go below zero at a location that does not allow it."""
    if after >= 0 or location.get("allow_negative"):
        return
    zh, en = where(item, location, lot)
    unit = str(item.get("unit") or "")
    need = before - after
    raise Conflict(f"库存不足：{zh}现有 {D.qty_text(before)}{unit}，本单要 {D.qty_text(need)}{unit}；请减少数量、换批次或库位，"
                   "或先入库",
                   f"not enough stock: {en} holds {D.qty_text(before)} {unit}, this document takes {D.qty_text(need)}; "
                   "take less, choose another lot or location, or receive stock first",
                   problems=[Problem(f"{path}/qty", f"库存不足（现有 {D.qty_text(before)}）", f"not enough stock ({D.qty_text(before)} there)",
                                     "insufficient_stock")],
                   detail={"item": int(item["id"]), "location": int(location["id"]), "lot": int(lot["id"]) if lot else None,
                           "on_hand": float(before), "requested": float(need)})


def check_serial(item: Mapping[str, Any], location: Mapping[str, Any], lot: Mapping[str, Any] | None,
                 after: Decimal, path: str) -> None:
    """A serial holds at most one unit at a location."""
    if lot is None or not lot.get("is_serial") or after <= 1:
        return
    zh, en = where(item, location, lot)
    raise Conflict(f"序列号「{lot.get('number')}」只能有 1 件：{zh}将有 {D.qty_text(after)}；请检查是否重复入库",
                   f"serial {lot.get('number')} is one unit: {en} would hold {D.qty_text(after)}; check for a duplicate receipt",
                   problems=[Problem(f"{path}/qty", "序列号只能有 1 件", "a serial is one unit", "serial")])


def check_lot_usable(kind: D.Kind, item: Mapping[str, Any], lot: Mapping[str, Any], path: str) -> None:
    """A quarantined or blocked lot is not issued to production nor shipped."""
    status = lot.get("status")
    if not kind.consumes or status == "released":
        return
    zh_status = LOT_STATUS_ZH.get(str(status), str(status))
    raise Conflict(f"批次「{lot.get('number')}」（物料「{D.name_of(dict(item))}」）状态是「{zh_status}」，不能{kind.zh}：请先检验放行，"
                   "或换一个放行的批次",
                   f"lot {lot.get('number')} of {D.name_of(dict(item))} is {status}; it cannot go out on a {kind.en}: release it "
                   "after inspection, or choose a released lot",
                   problems=[Problem(f"{path}/lot", f"批次状态「{zh_status}」不可出库", f"lot is {status}", "lot_status")],
                   detail={"lot": int(lot["id"]), "status": status})


def check_lot_item(item: Mapping[str, Any], lot: Mapping[str, Any], path: str) -> None:
    if int(lot["item"]) != int(item["id"]):
        raise InvalidInput(f"批次「{lot.get('number')}」不是物料「{D.name_of(dict(item))}」的批次：请选该物料的批次",
                           f"lot {lot.get('number')} is not a lot of {D.name_of(dict(item))}: choose one of its lots",
                           problems=[Problem(f"{path}/lot", "批次与物料不符", "the lot is of another item", "lot_item")])


def tracked(item: Mapping[str, Any]) -> bool:
    return item.get("tracking") in ("lot", "serial")


def whole_units_for_serial(item: Mapping[str, Any], qty: Decimal, path: str) -> None:
    if item.get("tracking") == "serial" and qty != qty.to_integral_value():
        raise InvalidInput(f"物料「{D.name_of(dict(item))}」按序列号管理，数量须为整数", f"{D.name_of(dict(item))} is serial-tracked: "
                           "the quantity must be whole units", problems=[Problem(f"{path}/qty", "须为整数", "whole units", "serial")])
