"""Posting a stock document (过账) and reversing it (冲销), in the caller's one transaction.

Posting a 草稿 draft document: every line becomes ledger rows (:mod:`ledger`) in the item's stock
unit (:func:`rules.to_stock_unit`), with its lot — chosen FEFO/FIFO (:mod:`lots`) when an outgoing line
of a lot-tracked item names none, created when a receipt names a new number or none —, the balances
are locked, checked (:mod:`rules`) and written, and the document becomes 已过账 posted with its time
and poster. Anything refused refuses the whole document: nothing is half-posted.

A posted document is never edited. :func:`reverse` makes a reversing document of the same form (its
lines the same, ``reversal_of`` the original), posts the negated ledger rows (each ``reversal_of``
its original row) and marks the original 已冲销 reversed with ``reversed_by``.

:func:`create_and_post` is what a scanner or app calls: the document created and posted at once, a
repeated ``client_id`` answering the first document instead of posting twice.
"""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.inventory import balances as B
from mom.engines.inventory import documents as D
from mom.engines.inventory import genealogy as G
from mom.engines.inventory import ledger as L
from mom.engines.inventory import lot_change as LC
from mom.engines.inventory import lots as LT
from mom.engines.inventory import replenishment as RP
from mom.engines.inventory import rules as R
from mom.engines.records import service as S
from mom.engines.records import uniqueness
from mom.engines.records.access import form_access
from mom.engines.records.batch import update_many, write_system_fields
from mom.engines.records.context import Ctx
from mom.platform.db.bulk import relaxed_gc
from mom.platform.errors import AccessDenied, Conflict, InvalidInput, NotFound, Problem

STATUS_ZH = {"draft": "草稿", "posted": "已过账", "reversed": "已冲销"}
_MAX_LINES = 1000


acting = D.acting


def kind_of(form: str) -> D.Kind:
    kind = D.KINDS.get(form)
    if kind is None:
        names = "、".join(f"{k.zh}（{k.form}）" for k in D.KINDS.values())
        raise NotFound(f"{form} 不是库存单据：库存单据有 {names}", f"{form} is not a stock document; the stock documents are "
                       + ", ".join(D.KINDS), detail={"form": form})
    return kind


def require_right(conn: Connection, compiled: Any, ctx: Ctx, transition: str, *, create: bool = False) -> None:
    """The user's right to post (or reverse) documents of ``compiled``: update on the form and the transition's roles."""
    access = form_access(compiled, ctx.actor)
    sm = compiled.definition.state_machine
    moves = [t for t in (sm.transitions if sm else ()) if t.key == transition]
    ok = access.can("update") and (not create or access.can("create")) and all(
        t.allows(ctx.actor.username, ctx.actor.role_names, ctx.actor.is_admin) for t in moves)
    if not ok:
        verb = "过账" if transition == "post" else "冲销"
        raise AccessDenied(f"你无权{verb}「{D.label(compiled)}」（需要仓管员角色）",
                           f"you may not {'post' if transition == 'post' else 'reverse'} {compiled.name} documents (the storekeeper role is needed)")


def _doc(conn: Connection, compiled: Any, doc_id: int) -> dict[str, Any]:
    doc = D.row(conn, compiled, doc_id, lock=True)
    if doc is None:
        raise NotFound(f"没有 id 为 {doc_id} 的{D.label(compiled)}", f"no {compiled.name} {doc_id}")
    return doc


def summary(conn: Connection, forms: Any, form: str, doc_id: int, *, duplicate: bool = False) -> dict[str, Any]:
    """What a posting answers: the document's state and the ledger rows it posted."""
    doc = D.row(conn, D.get(conn, forms, form), doc_id) or {}
    moves = L.of_document(conn, forms, form, doc_id)
    return {"form": form, "id": int(doc_id), "code": doc.get("code"), "status": doc.get("status"),
            "posted_at": doc.get("posted_at").isoformat().replace("+00:00", "Z") if doc.get("posted_at") else None,
            "reversal_of": doc.get("reversal_of"), "reversed_by": doc.get("reversed_by"), "duplicate": duplicate,
            "moves": [{"id": int(m["id"]), "item": m["item"], "location": m["location"], "lot": m["lot"], "qty": m["qty"],
                       "line": m["document_line"]} for m in moves]}


# ---------------------------------------------------------------- post

def post(conn: Connection, forms: Any, ctx: Ctx, form: str, doc_id: int) -> dict[str, Any]:
    """Post draft document ``doc_id`` of ``form`` (the user's right checked); a document already
    posted answers as it is (``duplicate``: True), a reversed one is refused."""
    forms = D.tx_forms(forms)
    kind = kind_of(form)
    forms.prefetch(conn, _FORMS + (form,))
    compiled = D.get(conn, forms, form)
    require_right(conn, compiled, ctx, "post")
    doc = _doc(conn, compiled, doc_id)
    if doc["status"] == "posted":
        return summary(conn, forms, form, doc_id, duplicate=True)
    if doc["status"] != "draft":
        raise Conflict(f"{D.label(compiled)} {doc['code']} 是「{STATUS_ZH.get(doc['status'], doc['status'])}」，只有草稿可以过账",
                       f"{compiled.name} {doc['code']} is {doc['status']}; only a draft is posted")
    return _posted(ctx, form, doc, carry_out(conn, forms, ctx, kind, compiled, doc, set_status=True))


def _posted(ctx: Ctx, form: str, doc: dict[str, Any], moves: list[tuple[int, dict[str, Any]]]) -> dict[str, Any]:
    """What a posting answers, from the rows it just wrote (as :func:`summary` would read them)."""
    return {"form": form, "id": int(doc["id"]), "code": doc.get("code"), "status": "posted",
            "posted_at": ctx.now.isoformat().replace("+00:00", "Z"), "reversal_of": doc.get("reversal_of"), "reversed_by": None,
            "duplicate": False, "moves": [{"id": mid, "item": m["item"], "location": m["location"], "lot": m["lot"], "qty": m["qty"],
                                           "line": m["document_line"]} for mid, m in moves]}


def carry_out(conn: Connection, forms: Any, ctx: Ctx, kind: D.Kind, compiled: Any, doc: dict[str, Any], *,
              set_status: bool, lines: list[dict[str, Any]] | None = None) -> list[tuple[int, dict[str, Any]]]:
    """Post ``doc`` (locked): lots, ledger, balances, and the document's posted fields
    (``set_status``: False when the user already moved it to posted through the form's 过账 button;
    ``lines``: the lines just inserted with it, else read)."""
    if lines is None:
        lines = S.load_children(conn, compiled, [int(doc["id"])], ["lines"])[int(doc["id"])]["lines"]
    if not lines:
        raise InvalidInput(f"{D.label(compiled)} {doc['code']} 没有明细行：请先填写要过账的物料和数量",
                           f"{compiled.name} {doc['code']} has no lines: add the items and quantities first")
    plan = _Plan(conn, forms, ctx, kind, doc, lines)
    moves = plan.moves()
    line_patch = plan.count_lines() if kind.direction == "count" else None
    ids = _apply(conn, forms, ctx, moves, plan)
    patch: dict[str, Any] = {"posted_at": ctx.now, "posted_by": ctx.actor.id}
    if set_status:
        patch["status"] = "posted"
    if line_patch is not None:
        patch["lines"] = line_patch
    with D.engine_writes(conn):
        if line_patch is None:      # the engine's own fields of a row it holds locked: no re-reading of a thousand lines
            write_system_fields(conn=conn, registry=forms, ctx=acting(ctx), form=compiled.name, rows=[(doc, patch)])
        else:
            update_many(conn=conn, registry=forms, ctx=acting(ctx), form=compiled.name, patches=[(int(doc["id"]), patch, None)])
    return list(zip(ids, moves))


def _apply(conn: Connection, forms: Any, ctx: Ctx, moves: list[dict[str, Any]], plan: "_Plan") -> list[int]:
    """Lock the balances the moves touch, check them move by move, write ledger and balances."""
    keys = [(m["item"], m["location"], m["lot"]) for m in moves]
    held = B.lock(conn, forms, keys)
    qty = {k: D.dec(r["qty"]) if r is not None else D.ZERO for k, r in held.items()}
    for m, key in zip(moves, keys):
        before = qty[key]
        after = qty[key] = before + m["qty"]
        if m["qty"] < 0:
            R.check_negative(plan.item(m["item"]), plan.location(m["location"]), plan.lot(m["lot"]), before, after, m["_path"])
        R.check_serial(plan.item(m["item"]), plan.location(m["location"]), plan.lot(m["lot"]), after, m["_path"])
    ids = L.append(conn, forms, ctx, moves)
    B.write(conn, forms, ctx, held, {k: qty[k] for k in held})
    G.on_posted(conn, forms, ctx, moves)       # lot genealogy: consumed lots → produced lots
    RP.after_moves(conn, forms, ctx, moves)    # line-side replenishment: a draft transfer when below the reorder point
    return ids


class _Plan:
    """A document's lines turned into ledger rows, with the rows of the items, locations and lots involved."""

    def __init__(self, conn: Connection, forms: Any, ctx: Ctx, kind: D.Kind, doc: dict[str, Any], lines: list[dict[str, Any]]):
        if len(lines) > _MAX_LINES:
            raise InvalidInput(f"一张单据最多 {_MAX_LINES} 行：请分成几张", f"at most {_MAX_LINES} lines per document: split it")
        self.conn, self.forms, self.ctx, self.kind, self.doc, self.lines = conn, forms, ctx, kind, doc, lines
        item_form = forms.get(conn, D.ITEM)
        self.items = D.rows_by_id(conn, item_form, [ln.get("item") for ln in lines])
        converted = [int(ln["item"]) for ln in lines if ln.get("unit") and ln.get("item") is not None and int(ln["item"]) in self.items
                     and str(ln["unit"]).strip() != str(self.items[int(ln["item"])].get("unit") or "")]
        self.alt_units = S.load_children(conn, item_form, converted, ["alt_units"]) if converted else {}
        locs = [ln.get(k) for ln in lines for k in ("from_location", "to_location", "location")]
        self.locations = D.rows_by_id(conn, D.get(conn, forms, D.LOCATION), locs)
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


# ---------------------------------------------------------------- reverse

def reverse(conn: Connection, forms: Any, ctx: Ctx, form: str, doc_id: int) -> dict[str, Any]:
    """Reverse posted document ``doc_id``: a reversing document posts the negated ledger rows; answers
    the reversing document's :func:`summary`."""
    forms = D.tx_forms(forms)
    kind_of(form)
    compiled = D.get(conn, forms, form)
    require_right(conn, compiled, ctx, "reverse")
    doc = _doc(conn, compiled, doc_id)
    if doc["status"] == "reversed" and doc.get("reversed_by"):
        return summary(conn, forms, form, int(doc["reversed_by"]), duplicate=True)
    if doc["status"] != "posted":
        raise Conflict(f"{D.label(compiled)} {doc['code']} 是「{STATUS_ZH.get(doc['status'], doc['status'])}」，只有已过账的单据可以冲销",
                       f"{compiled.name} {doc['code']} is {doc['status']}; only a posted document is reversed")
    if doc.get("reversal_of"):
        raise Conflict(f"{doc['code']} 本身是冲销单，不能再冲销：如需恢复，请重新开一张单据",
                       f"{doc['code']} is itself a reversal and is not reversed again: enter a new document instead")
    new_id = carry_out_reversal(conn, forms, ctx, compiled, doc, set_status=True)
    return summary(conn, forms, form, new_id)


def carry_out_reversal(conn: Connection, forms: Any, ctx: Ctx, compiled: Any, doc: dict[str, Any], *, set_status: bool) -> int:
    """The reversing document of ``doc`` (locked, posted), its negated ledger rows and the original marked reversed."""
    form = compiled.name
    moves = L.of_document(conn, forms, form, int(doc["id"]))
    skip = {"code", "status", "posted_at", "posted_by", "reversal_of", "reversed_by", "client_id", "lines"}
    header = {f.key: doc.get(f.key) for f in compiled.definition.scalar_fields
              if f.key not in skip and f.type not in ("autonumber", "formula")}
    lines = S.load_children(conn, compiled, [int(doc["id"])], ["lines"])[int(doc["id"])]["lines"]
    cols = [c.key for c in compiled.definition.field("lines").children]
    header.update(lines=[{k: ln.get(k) for k in cols} for ln in lines], note=f"冲销 {doc['code']}"[:200],
                  doc_date=ctx.now.astimezone(ctx.tz).date())
    with D.engine_writes(conn):
        new_id = create_document(conn, forms, acting(ctx), form, header)
    new_code = D.row(conn, compiled, new_id)["code"]  # type: ignore[index]
    negated = [{**{k: m.get(k) for k in L.FIELDS}, "qty": -D.dec(m["qty"]), "reversal_of": int(m["id"]),
                "document_id": new_id, "document_code": new_code, "_path": f"/lines/{int(m['document_line'] or 1) - 1}"}
               for m in moves]
    plan = _Plan(conn, forms, ctx, kind_of(form), doc, [{"item": m["item"], "location": m["location"], "lot": m["lot"]}
                                                         for m in moves] or lines)
    _apply(conn, forms, ctx, negated, plan)
    with D.engine_writes(conn):
        update_many(conn=conn, registry=forms, ctx=acting(ctx), form=form,
                    patches=[(new_id, {"status": "posted", "posted_at": ctx.now, "posted_by": ctx.actor.id, "reversal_of": int(doc["id"])}, None)])
        old_patch: dict[str, Any] = {"reversed_by": new_id}
        if set_status:
            old_patch["status"] = "reversed"
        update_many(conn=conn, registry=forms, ctx=acting(ctx), form=form, patches=[(int(doc["id"]), old_patch, None)])
    return new_id


# ---------------------------------------------------------------- create and post at once

def by_client_id(conn: Connection, compiled: Any, client_id: str) -> dict[str, Any] | None:
    q = compiled.memo.get("inventory_client_id")
    if q is None:
        t = compiled.main
        q = compiled.memo["inventory_client_id"] = t.select().where(t.c.client_id == sa.bindparam("cid"), t.c.deleted_at.is_(None))
    found = conn.execute(q, {"cid": client_id}).mappings().first()
    return dict(found) if found is not None else None


def create_and_post(conn: Connection, forms: Any, ctx: Ctx, form: str, body: dict[str, Any]) -> dict[str, Any]:
    """Create a document of ``form`` from ``body`` (as the records API takes it) and post it; a
    ``client_id`` seen before answers that document (posted now if it was left a draft) with
    ``duplicate``: True."""
    forms = D.tx_forms(forms)
    kind = kind_of(form)
    forms.prefetch(conn, _FORMS + (form,))
    compiled = D.get(conn, forms, form)
    require_right(conn, compiled, ctx, "post", create=True)
    client_id = body.get("client_id")
    if client_id is not None and not isinstance(client_id, str):
        raise InvalidInput("客户端标识应为文字", "client_id must be text", problems=[Problem("/client_id", "应为文字", "must be text", "type")])
    if client_id:
        seen = by_client_id(conn, compiled, client_id)
        if seen is not None:
            if seen["status"] == "draft":
                post(conn, forms, ctx, form, int(seen["id"]))
            return summary(conn, forms, form, int(seen["id"]), duplicate=True)
    doc = {k: v for k, v in body.items() if k not in ("status", "id", "row_version")}
    with relaxed_gc():         # a document of a thousand lines keeps thousands of small objects alive
        row, lines = _insert_document(conn, forms, ctx, form, doc)
        if row.get("status") != "draft" or kind.direction == "count":    # (a count writes back its lines by id)
            return post(conn, forms, ctx, form, int(row["id"]))
        # the row just inserted is in hand and locked by this transaction: posted without reading it back
        return _posted(ctx, form, row, carry_out(conn, forms, ctx, kind, compiled, row, set_status=True, lines=lines))


#: the forms a posting reads, looked up in one statement (:meth:`documents.TxForms.prefetch`)
_FORMS = (D.ITEM, D.LOCATION, D.LOT, D.BALANCE, D.MOVE)


def create_document(conn: Connection, forms: Any, ctx: Ctx, form: str, doc: dict[str, Any]) -> int:
    """A new (draft) document through the record service with ``ctx``'s create right, its id
    (what ``create_records`` does, without reading the document back: a big one would be read and
    displayed line by line for nothing)."""
    return int(_insert_document(conn, forms, ctx, form, doc)[0]["id"])


def _insert_document(conn: Connection, forms: Any, ctx: Ctx, form: str, doc: dict[str, Any]
                     ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """:func:`create_document`'s stored main row (system columns included) and lines (as inserted, in order)."""
    compiled = forms.get(conn, form)
    access = form_access(compiled, ctx.actor)
    access.require("create")
    prepared = S.prepare_many(conn, forms, compiled, ctx, access, [doc], [""])
    uniqueness.raise_problems([p for _, pr in prepared for p in pr.items])
    row = S.insert_rows(conn, compiled, ctx, [p for p, _ in prepared], hooks=forms.hooks)[0]
    cols = [c.key for c in compiled.definition.field("lines").children]
    lines = [{**{k: ln.get(k) for k in cols}, "parent_id": int(row["id"]), "seq": i + 1}
             for i, ln in enumerate(prepared[0][0].children.get("lines") or [])]
    return row, lines


def pick_list(conn: Connection, forms: Any, ctx: Ctx, order_id: int, *, from_location: int | None = None) -> list[dict[str, Any]]:
    """按BOM生成领料行: one line per component of production order ``order_id`` (its released 用料,
    less the 倒冲 backflush lines, which job reports consume) still to issue (required less issued net of returns), from ``from_location`` or else the normal or
    line-side location holding most usable stock of it; a lot-tracked item's lot is left empty (FEFO/FIFO on posting)."""
    order_form = forms.get(conn, "production_order")
    order = D.row(conn, order_form, order_id)
    if order is None:
        raise NotFound(f"没有 id 为 {order_id} 的生产工单", f"no production order {order_id}")
    comps = S.load_children(conn, order_form, [order_id], ["components"])[order_id]["components"]
    if not comps:
        raise InvalidInput(f"生产工单 {order['code']} 还没有用料：请先下达工单（下达时按 BOM 展开用料）",
                           f"production order {order['code']} has no components yet: release it first (release explodes the BOM)")
    need: dict[int, Decimal] = defaultdict(Decimal)
    for c in comps:
        if c.get("item") is not None and c.get("issue_method") != "backflush":     # 倒冲 lines are consumed by job reports
            need[int(c["item"])] += D.dec(c.get("qty_required"))
    issued = L.issued_to_order(conn, forms, order_id)
    out = []
    for item, qty in need.items():
        left = qty - issued.get(item, D.ZERO)
        if left <= 0:
            continue
        out.append({"item": item, "qty": left, "from_location": from_location or _best_location(conn, forms, item), "lot": None})
    return out


def _best_location(conn: Connection, forms: Any, item: int) -> int | None:
    b, loc = D.get(conn, forms, D.BALANCE).main, D.get(conn, forms, D.LOCATION).main
    q = (sa.select(b.c.location, sa.func.sum(b.c.qty).label("q")).select_from(b.join(loc, loc.c.id == b.c.location))
         .where(b.c.item == item, b.c.deleted_at.is_(None), loc.c.kind.in_(B.USABLE_KINDS))
         .group_by(b.c.location).order_by(sa.desc("q"), b.c.location).limit(1))
    found = conn.execute(q).first()
    return int(found[0]) if found is not None and D.dec(found[1]) > 0 else None
