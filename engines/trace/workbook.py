"""A trace as a workbook for people (openpyxl, Chinese headers): the tree flattened, one row per step
of a path from the start lot with its level and path, then the shipments (forward) or the job reports
and records (backward)."""
from __future__ import annotations

import io
from typing import Any

MAX_ROWS = 100_000
TREE = ("层级", "路径", "批号/序列号", "物料编码", "物料", "炉号", "供应商批号", "供应商", "数量", "单位", "关系", "生产工单", "工序", "设备",
        "操作工", "单据号")
STATUS_ZH = {"quarantine": "待检", "released": "放行", "blocked": "冻结"}
SHIPMENTS = ("批号/序列号", "物料", "数量", "单位", "出库单号", "出库时间", "销售订单", "客户")


def flatten(answer: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Depth-first from the root: each link once, a lot already expanded above is listed but not expanded again."""
    lots = {x["id"]: x for x in answer["lots"]}
    forward = answer.get("direction", "forward") == "forward"
    out_of: dict[int, list[dict[str, Any]]] = {}
    for e in answer["links"]:
        out_of.setdefault(e["parent_lot"] if forward else e["child_lot"], []).append(e)
    rows: list[tuple[Any, ...]] = []
    expanded: set[int] = set()
    for start in answer.get("roots") or [answer["root"]]:
        if start not in expanded and len(rows) < MAX_ROWS:
            _tree(rows, lots, out_of, start, expanded, forward)
    return rows


def _tree(rows: list[tuple[Any, ...]], lots: dict[int, Any], out_of: dict[int, list[dict[str, Any]]], start: int,
          expanded: set[int], forward: bool) -> None:
    root = lots[start]
    rows.append((0, root["number"], root["number"], root["item_code"], root["item_name"], root["heat_number"],
                 root["supplier_lot"], root["supplier"], None, None, None, None, None, None, None, None))
    expanded.add(start)
    stack: list[tuple[int, int, str]] = [(start, 0, str(root["number"]))]
    while stack and len(rows) < MAX_ROWS:
        node, level, path = stack.pop()
        for e in reversed(out_of.get(node, [])):
            far = e["child_lot"] if forward else e["parent_lot"]
            lot = lots.get(far) or {}
            step = f"{path} → {lot.get('number')}"
            again = far in expanded
            rows.append((level + 1, step, f"{lot.get('number')}{'（见上）' if again else ''}", lot.get("item_code"), lot.get("item_name"),
                         lot.get("heat_number"), lot.get("supplier_lot"), lot.get("supplier"), e["qty"], e.get("unit"), e["relation_label"],
                         e["production_order_code"], e["task_name"], e["machine_name"], e["operator_name"], e["document_code"]))
            if not again:
                expanded.add(far)
                stack.append((far, level + 1, step))


def _recall(book: Any, sheet: Any, answer: dict[str, Any]) -> None:
    """A recall's lots reached (the finished ones too) and where their stock is now (what to hold)."""
    sheet.append(("炉号", answer.get("heat_number")))
    sheet.append(("层级", "批号/序列号", "物料编码", "物料", "炉号", "状态"))
    for x in answer.get("reached_lots", []):
        sheet.append([x["level"], x["number"], x.get("item_code"), x.get("item_name"), x.get("heat_number"),
                      STATUS_ZH.get(x.get("status"), x.get("status"))])
    s = book.create_sheet("现存量（需隔离）")
    s.append(("批号/序列号", "物料", "仓库", "库位编码", "库位", "现存量", "单位"))
    for x in answer.get("stock", []):
        s.append([x["lot_number"], x["item_name"], x.get("warehouse_name"), x.get("location_code"), x.get("location_name"),
                  x["qty"], x.get("unit")])
    if not answer.get("stock"):
        s.append(["无"])


def to_xlsx(answer: dict[str, Any]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "追溯树" if "links" in answer else "召回批次"
    if "links" not in answer:
        _recall(book, sheet, answer)
    if "links" in answer:
        sheet.append(TREE)
        for r in flatten(answer):
            sheet.append(list(r))
    if answer.get("shipments") or "customers" in answer:
        s = book.create_sheet("客户出库")
        s.append(SHIPMENTS)
        for x in answer.get("shipments", []):
            s.append([x["lot_number"], x["item_name"], x["qty"], x.get("unit"), x["document_code"], x["shipped_at"],
                      x["sales_order_code"], x["customer"]])
        if not answer.get("shipments"):
            s.append(["无"])
    if answer.get("orders"):
        s = book.create_sheet("生产记录")
        s.append(("生产工单", "物料", "报工单号", "工序", "操作工", "设备", "合格数", "报废数", "报工时间"))
        for o in answer["orders"]:
            for r in o["reports"] or [{}]:
                s.append([o["code"], o["item_name"], r.get("code"), r.get("operation"), r.get("operator_name"),
                          r.get("machine_name"), r.get("good_qty"), r.get("scrap_qty"), r.get("reported_at")])
    if answer.get("records"):
        s = book.create_sheet("相关记录")
        s.append(("表单", "记录", "批号/序列号", "字段"))
        numbers = {x["id"]: x["number"] for x in answer.get("lots", [])}
        for r in answer["records"]:
            s.append([r["form_label"], r["display"], numbers.get(r["lot"]), r["field_label"]])
    hidden = {k: v for k, v in (answer.get("hidden") or {}).items() if v}
    if hidden:
        s = book.create_sheet("说明")
        s.append(("无权查看的记录", "数量"))
        names = {"shipments": "销售出库单", "orders": "生产工单", "records": "相关记录", "stock": "库存余额"}
        for k, v in hidden.items():
            s.append([names.get(k, k), v])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()
