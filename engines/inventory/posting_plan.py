"""A stock document's lines turned into ledger rows (:class:`Plan`), with the rows of the items,
locations and lots they name: the checks of a posting (:mod:`posting`) before anything is written —
quantities in the stock unit, lots chosen (FEFO/FIFO), found or made, the order's own product refused,
a 盘点 count's differences against the book."""
from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.inventory import balances as B
from mom.engines.inventory import documents as D
from mom.engines.inventory import lot_change as LC
from mom.engines.inventory import lots as LT
from mom.engines.inventory import rules as R
from mom.engines.records import service as S
from mom.engines.records.context import Ctx
from mom.platform.errors import Conflict, InvalidInput, Problem

MAX_LINES = 1000


def _rows(conn: Connection, compiled: Any, ids: list[Any], known: Mapping[int, dict[str, Any]] | None) -> dict[int, dict[str, Any]]:
    """Live rows of ``compiled`` by id: those in ``known`` (read live in this transaction by the reference
    checks of the document just created, :func:`mom.engines.records.lookup.keeping_rows`), the rest read."""
    wanted = {int(i) for i in ids if i is not None}
    have = {i: known[i] for i in wanted if i in known} if known else {}
    if len(have) < len(wanted):
        have.update(D.rows_by_id(conn, compiled, wanted - set(have)))
    return have


class Plan:
    """A document's lines turned into ledger rows, with the rows of the items, locations and lots involved."""

    def __init__(self, conn: Connection, forms: Any, ctx: Ctx, kind: D.Kind, doc: dict[str, Any], lines: list[dict[str, Any]],
                 known: Mapping[str, Mapping[int, dict[str, Any]]] | None = None):
        if len(lines) > MAX_LINES:
            raise InvalidInput(f"一张单据最多 {MAX_LINES} 行：请分成几张", f"at most {MAX_LINES} lines per document: split it")
        self.conn, self.forms, self.ctx, self.kind, self.doc, self.lines = conn, forms, ctx, kind, doc, lines
        known = known or {}
        item_form = forms.get(conn, D.ITEM)
        self.items = _rows(conn, item_form, [ln.get("item") for ln in lines], known.get(D.ITEM))
        converted = [int(ln["item"]) for ln in lines if ln.get("unit") and ln.get("item") is not None and int(ln["item"]) in self.items
                     and str(ln["unit"]).strip() != str(self.items[int(ln["item"])].get("unit") or "")]
        self.alt_units = S.load_children(conn, item_form, converted, ["alt_units"]) if converted else {}
        locs = [ln.get(k) for ln in lines for k in ("from_location", "to_location", "location")]
        self.locations = _rows(conn, D.get(conn, forms, D.LOCATION), locs, known.get(D.LOCATION))
        self.lots = D.rows_by_id(conn, D.get(conn, forms, D.LOT), [ln.get("lot") for ln in lines])
        self.counts: list[tuple[Decimal, Decimal]] = []

    def item(self, rid: int) -> dict[str, Any]:
        return self.items[int(rid)]

    def location(self, rid: int) -> dict[str, Any]:
        return self.locations[int(rid)]

    def lot(self, rid: int | None) -> dict[str, Any] | None:
        if rid is None:
            return None
        if int(rid) not in self.lots:
            self.lots.update(D.rows_by_id(self.conn, D.get(self.conn, self.forms, D.LOT), [rid]))
        return self.lots[int(rid)]

    def _order_product(self) -> int | None:
        """The item production order ``production_order`` makes, for an issue to it (never of itself)."""
        order_id = self.doc.get("production_order")
        if order_id is None or self.kind.form != "stock_issue" or self.doc.get("reversal_of"):
            return None
        t = self.forms.get(self.conn, "production_order").main
        found = self.conn.execute(sa.select(t.c.item).where(t.c.id == int(order_id))).first()
        return int(found[0]) if found is not None and found[0] is not None else None

    def _ref(self, table: dict[int, dict[str, Any]], value: Any, path: str, zh: str, en: str) -> dict[str, Any]:
        found = table.get(int(value)) if value is not None else None
        if found is None:
            n = int(path.split("/")[2]) + 1
            raise InvalidInput(f"第 {n} 行：请选择{zh}", f"line {n}: choose the {en}",
                               problems=[Problem(path, f"请选择{zh}", f"choose the {en}", "required")])
        return found

    def moves(self) -> list[dict[str, Any]]:
        if self.kind.direction in ("split", "merge"):      # 批次拆分 / 批次合并
            return LC.moves(self)
        out: list[dict[str, Any]] = []
        new_lots: list[tuple[int, dict[str, Any]]] = []
        product = self._order_product()
        for i, ln in enumerate(self.lines):
            path = f"/lines/{i}"
            item = self._ref(self.items, ln.get("item"), f"{path}/item", "物料", "item")
            if product is not None and int(item["id"]) == product:
                raise InvalidInput(f"第 {i + 1} 行：{item.get('name') or item.get('code')} 是这张生产工单要做的产品，不能领料给它自己："
                                   "请选择工单的用料，或改用完工入库",
                                   f"line {i + 1}: {item.get('code')} is the product of this production order and is not issued to "
                                   "it: choose one of its components, or use a production receipt",
                                   problems=[Problem(f"{path}/item", "不能领用工单自己的产品", "the order's own product", "invalid")])
            if self.kind.direction == "count":
                out += self._count_line(i, ln, item, path)
                continue
            qty = R.to_stock_unit(item, self.alt_units.get(int(item["id"]), {}).get("alt_units", []), D.dec(ln.get("qty")),
                                  ln.get("unit"), path)
            if qty <= 0:
                raise InvalidInput(f"第 {i + 1} 行的数量须大于 0", f"line {i + 1}: the quantity must be greater than 0",
                                   problems=[Problem(f"{path}/qty", "须大于 0", "must be greater than 0", "range")])
            R.whole_units_for_serial(item, qty, path)
            lot = self.lot(ln.get("lot"))
            if lot is not None:
                R.check_lot_item(item, lot, path)
            base = {"item": int(item["id"]), "document_form": self.kind.form, "document_id": int(self.doc["id"]),
                    "document_code": self.doc.get("code"), "document_line": i + 1, "_path": path,
                    "production_order": self.doc.get("production_order")}
            if self.kind.direction == "in":
                to = self._ref(self.locations, ln.get("to_location"), f"{path}/to_location", "收入库位", "target location")
                if lot is None and R.tracked(item):
                    new_lots.append((len(out), {"line": ln, "item": item, "to": to, "qty": qty, "path": path}))
                out.append({**base, "location": int(to["id"]), "lot": lot["id"] if lot else None, "qty": qty})
                continue
            frm = self._ref(self.locations, ln.get("from_location"), f"{path}/from_location", "发出库位", "source location")
            to = (self._ref(self.locations, ln.get("to_location"), f"{path}/to_location", "收入库位", "target location")
                  if self.kind.direction == "transfer" else None)
            for lot_id, part in self._allocate(item, frm, lot, qty, path):
                lot_row = self.lot(lot_id)
                if lot_row is not None:
                    R.check_lot_usable(self.kind, item, lot_row, path)
                out.append({**base, "location": int(frm["id"]), "lot": lot_id, "qty": -part,
                            "other_location": int(to["id"]) if to else None})
                if to is not None:
                    out.append({**base, "location": int(to["id"]), "lot": lot_id, "qty": part, "other_location": int(frm["id"])})
        return self._with_new_lots(out, new_lots)

    def _allocate(self, item: dict[str, Any], frm: dict[str, Any], lot: dict[str, Any] | None, qty: Decimal, path: str
                  ) -> list[tuple[int | None, Decimal]]:
        if lot is not None or not R.tracked(item):
            return [(int(lot["id"]) if lot else None, qty)]
        taken, short = LT.suggest(self.conn, self.forms, int(item["id"]), int(frm["id"]), qty, consumes=self.kind.consumes)
        if short > 0 and not frm.get("allow_negative"):
            have = qty - short
            unit = item.get("unit") or ""
            raise Conflict(f"库存不足：物料「{D.name_of(item)}」在库位「{D.name_of(frm)}」的放行批次共 {D.qty_text(have)}{unit}，"
                           f"本行要 {D.qty_text(qty)}{unit}；请减少数量或换库位（待检、冻结的批次不能出库）",
                           f"not enough stock: released lots of {D.name_of(item)} at {D.name_of(frm)} hold {D.qty_text(have)} {unit}, "
                           f"the line takes {D.qty_text(qty)}; take less or choose another location (quarantined and blocked "
                           "lots do not go out)",
                           problems=[Problem(f"{path}/qty", f"放行批次只有 {D.qty_text(have)}", f"released lots hold {D.qty_text(have)}",
                                             "insufficient_stock")])
        if short > 0:
            raise InvalidInput(f"物料「{D.name_of(item)}」按批次管理：库存不够自动分配批次，请指定批次",
                               f"{D.name_of(item)} is lot-tracked and its lots do not cover the quantity: name the lot",
                               problems=[Problem(f"{path}/lot", "请指定批次", "name the lot", "required")])
        return [(lot_id, part) for lot_id, part in taken]

    def _with_new_lots(self, out: list[dict[str, Any]], new_lots: list[tuple[int, dict[str, Any]]]) -> list[dict[str, Any]]:
        """Receipts of lot-tracked items without a lot: the lot named by ``lot_number`` (found or made), else new
        ones (a serial-tracked item: one serial per unit)."""
        if not new_lots:
            return out
        docs: list[dict[str, Any]] = []
        owners: list[int] = []
        replace: dict[int, list[dict[str, Any]]] = {}
        for index, w in new_lots:
            ln, item, qty = w["line"], w["item"], w["qty"]
            serial = item.get("tracking") == "serial"
            number = (ln.get("lot_number") or "").strip()
            if number:
                found = LT.find(self.conn, self.forms, int(item["id"]), number)
                if found is not None:
                    self.lots[int(found["id"])] = found
                    out[index]["lot"] = int(found["id"])
                    continue
                numbers = [number]
            else:
                numbers = LT.new_numbers(self.conn, self.ctx, item, int(qty) if serial else 1, forms=self.forms, attrs=ln,
                                         path=w["path"])
            if serial and number and qty != 1:
                raise InvalidInput(f"序列号「{number}」只能收 1 件：每件一行，或不填序列号让系统编号",
                                   f"serial {number} is one unit: one line per unit, or leave it empty to number them",
                                   problems=[Problem(f"{w['path']}/qty", "序列号只能 1 件", "a serial is one unit", "serial")])
            attrs = {k: ln.get(k) for k in LT.LOT_ATTRS if ln.get(k) not in (None, "")}
            for n in numbers:
                docs.append({"item": int(item["id"]), "number": n, "is_serial": serial, "supplier": self.doc.get("supplier"),
                             "status": "quarantine" if w["to"].get("kind") == "quarantine" else "released",
                             "made_on": self.doc.get("doc_date") or self.ctx.now.astimezone(self.ctx.tz).date(), **attrs})
                owners.append(index)
        made = LT.create(self.conn, self.forms, self.ctx, docs)
        for index, lot in zip(owners, made):
            self.lots[int(lot["id"])] = lot
            replace.setdefault(index, []).append(lot)
        result = []
        for i, m in enumerate(out):
            made_here = replace.get(i)
            if not made_here:
                result.append(m)
            elif len(made_here) == 1:
                result.append({**m, "lot": int(made_here[0]["id"])})
            else:
                result += [{**m, "lot": int(lot["id"]), "qty": Decimal(1)} for lot in made_here]
        return result

    def _count_line(self, i: int, ln: dict[str, Any], item: dict[str, Any], path: str) -> list[dict[str, Any]]:
        loc = self._ref(self.locations, ln.get("location"), f"{path}/location", "库位", "location")
        lot = self.lot(ln.get("lot"))
        if lot is not None:
            R.check_lot_item(item, lot, path)
        key = (int(item["id"]), int(loc["id"]), int(lot["id"]) if lot else None)
        book = D.dec((B.lock(self.conn, self.forms, [key])[key] or {}).get("qty"))
        counted = D.dec(ln.get("counted_qty"))
        self.counts.append((book, counted - book))
        if counted == book:
            return []
        return [{"item": key[0], "location": key[1], "lot": key[2], "qty": counted - book, "document_form": self.kind.form,
                 "document_id": int(self.doc["id"]), "document_code": self.doc.get("code"), "document_line": i + 1,
                 "_path": path}]

    def count_lines(self) -> list[dict[str, Any]]:
        keys = ("id", "item", "location", "lot", "counted_qty")
        return [{**{k: ln.get(k) for k in keys}, "book_qty": book, "diff_qty": diff}
                for ln, (book, diff) in zip(self.lines, self.counts)]
