"""Splitting and merging lots (批次拆分 ``lot_split``, 批次合并 ``lot_merge``): stock documents whose
lines move stock out of source lots into target lots of the same item at the same location.

- **split**: ``source_lot`` at ``location``; each line a new lot (``lot_number``, or empty: numbered by
  the item's 批次号规则) or an existing lot of the item (its number), with ``qty``; the lines' total
  comes out of the source lot (what is left stays in it). A new lot carries the source lot's
  supplier, supplier lot, heat number, expiry date, made-on date and status.
- **merge**: source ``lot`` per line (``qty`` empty: all of it at the location) into ``target_lot``
  (an existing lot) or a new lot (``target_number``, or empty: numbered by the rule). The new lot
  takes the common heat number, supplier and supplier lot, the earliest expiry date and made-on date.

What a valve plant expects (pressure parts are traced to the heat's material certificate, EN 10204 3.1):
a merged lot must stand for **one heat**, so lots of different heat numbers (or with and without one)
are never merged — refused in words, not warned; lots of different status (待检/放行/冻结) are not
merged either (a released lot would take in unreleased material). Serials are not split or merged.

Each line writes two ledger rows (−qty at the source lot, +qty at the target lot, same location and
document line): quantity is conserved exactly. Genealogy edges (``relation`` split/merge, source →
target, the line's qty) go to ``lot_link`` through :func:`mom.engines.inventory.genealogy.record`;
reversing the document posts the negated rows (the engine's reversal) and retracts the edges
(:func:`retract_edges`, from the record hook when ``reversed_by`` is set).
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from mom.engines.inventory import balances as B
from mom.engines.inventory import documents as D
from mom.engines.inventory import genealogy as G
from mom.engines.inventory import lots as LT
from mom.engines.inventory import rules as R
from mom.platform.errors import Conflict, InvalidInput, Problem

FORMS = ("lot_split", "lot_merge")
STATUS_ZH = R.LOT_STATUS_ZH


def _bad(zh: str, en: str, path: str, code: str = "lot_change", *, conflict: bool = False) -> Exception:
    cls = Conflict if conflict else InvalidInput
    return cls(zh, en, problems=[Problem(path, zh, en, code)])


def _qty(value: Any, path: str, n: int, *, required: bool = True) -> Decimal | None:
    if value is None or value == "":
        if required:
            raise _bad(f"第 {n} 行：请填写数量", f"line {n}: enter the quantity", path, "required")
        return None
    q = D.dec(value)
    if q <= 0:
        raise _bad(f"第 {n} 行的数量须大于 0", f"line {n}: the quantity must be greater than 0", path, "range")
    if q != q.quantize(D.QTY):
        raise _bad(f"第 {n} 行的数量最多 4 位小数", f"line {n}: at most 4 decimals", path, "inexact")
    return q.quantize(D.QTY)


class _Change:
    """One split or merge document being posted (``plan``: the posting's :class:`posting._Plan`)."""

    def __init__(self, plan: Any) -> None:
        self.plan, self.conn, self.forms, self.ctx, self.doc = plan, plan.conn, plan.forms, plan.ctx, plan.doc
        self.form = plan.kind.form
        item = D.rows_by_id(self.conn, self.forms.get(self.conn, D.ITEM), [self.doc.get("item")]).get(_id(self.doc.get("item")))
        if item is None:
            raise _bad("请选择物料", "choose the item", "/item", "required")
        loc = D.rows_by_id(self.conn, D.get(self.conn, self.forms, D.LOCATION), [self.doc.get("location")]).get(
            _id(self.doc.get("location")))
        if loc is None:
            raise _bad("请选择库位", "choose the location", "/location", "required")
        if item.get("tracking") == "serial":
            raise _bad(f"物料「{D.name_of(item)}」按序列号管理：序列号一件一号，不能拆分或合并",
                       f"{D.name_of(item)} is serial-tracked: a serial is one unit and is not split or merged", "/item", "serial")
        if item.get("tracking") != "lot":
            raise _bad(f"物料「{D.name_of(item)}」不按批次管理，没有批次可以拆分或合并：请在物料的「追溯方式」选「批次」",
                       f"{D.name_of(item)} is not lot-tracked: there are no lots to split or merge", "/item", "not_tracked")
        self.item, self.loc = item, loc
        plan.items[int(item["id"])] = item
        plan.locations[int(loc["id"])] = loc
        self.unit = str(item.get("unit") or "")

    # ---------------------------------------------------------------- lots

    def lot(self, rid: Any, path: str, what: str = "批次", what_en: str = "lot") -> dict[str, Any]:
        found = self.plan.lot(rid) if rid is not None else None
        if found is None:
            raise _bad(f"请选择{what}", f"choose the {what_en}", path, "required")
        if int(found["item"]) != int(self.item["id"]):
            raise _bad(f"批次「{found.get('number')}」不是物料「{D.name_of(self.item)}」的批次：拆分与合并只在同一物料的批次之间",
                       f"lot {found.get('number')} is not a lot of {D.name_of(self.item)}: split and merge stay within one item",
                       path, "lot_item")
        return found

    def same_material(self, a: dict[str, Any], b: dict[str, Any], path: str) -> None:
        """``b`` may take material of ``a``: the same heat number and the same status."""
        ha, hb = (str(x.get("heat_number") or "").strip() for x in (a, b))
        if ha != hb:
            show = lambda h: f"炉号 {h}" if h else "没有炉号"   # noqa: E731
            raise _bad(f"批次「{a.get('number')}」{show(ha)}，批次「{b.get('number')}」{show(hb)}：不同炉号的材料不能合并成一个批次"
                       "（承压件要按炉号追溯材质证明）；请只合并同一炉号的批次",
                       f"lot {a.get('number')} has heat number {ha or '(none)'} and lot {b.get('number')} {hb or '(none)'}: "
                       "material of different heats is never merged into one lot (pressure parts are traced to the heat's "
                       "certificate); merge lots of one heat only", path, "heat_number", conflict=True)
        if a.get("status") != b.get("status"):
            za, zb = STATUS_ZH.get(str(a.get("status")), a.get("status")), STATUS_ZH.get(str(b.get("status")), b.get("status"))
            raise _bad(f"批次「{a.get('number')}」是「{za}」，批次「{b.get('number')}」是「{zb}」：状态不同的批次不能合并；请先检验放行或冻结，"
                       "使状态一致", f"lot {a.get('number')} is {a.get('status')} and lot {b.get('number')} is {b.get('status')}: "
                       "lots of different status are not merged; release or block them first", path, "lot_status", conflict=True)

    def new_lot(self, number: str | None, attrs: dict[str, Any], path: str) -> dict[str, Any]:
        if not number:
            number = LT.new_numbers(self.conn, self.ctx, self.item, 1, forms=self.forms, attrs=attrs, path=path)[0]
        made = LT.create(self.conn, self.forms, self.ctx, [{"item": int(self.item["id"]), "number": number, "is_serial": False,
                                                             **attrs, "note": f"{self.doc.get('code')}"[:200]}])[0]
        self.plan.lots[int(made["id"])] = made
        return made

    def held(self, lot_ids: list[int]) -> dict[int, Decimal]:
        """The locked on-hand quantity of each lot at the location (all keys locked at once, in order)."""
        keys = [(int(self.item["id"]), int(self.loc["id"]), lid) for lid in lot_ids]
        rows = B.lock(self.conn, self.forms, keys)
        return {k[2]: D.dec((rows.get(k) or {}).get("qty")) for k in keys}  # type: ignore[misc]

    def short(self, lot: dict[str, Any], have: Decimal, need: Decimal, path: str) -> Exception:
        return _bad(f"批次「{lot.get('number')}」在库位「{D.name_of(self.loc)}」只有 {D.qty_text(have)}{self.unit}，"
                    f"本单要拆出/合并 {D.qty_text(need)}{self.unit}：请减少数量",
                    f"lot {lot.get('number')} holds {D.qty_text(have)} {self.unit} at {D.name_of(self.loc)}, this document "
                    f"takes {D.qty_text(need)}: take less", path, "insufficient_stock", conflict=True)

    def move(self, n: int, lot: int, qty: Decimal) -> dict[str, Any]:
        return {"item": int(self.item["id"]), "location": int(self.loc["id"]), "lot": lot, "qty": qty,
                "document_form": self.form, "document_id": int(self.doc["id"]), "document_code": self.doc.get("code"),
                "document_line": n, "_path": f"/lines/{n - 1}", "production_order": None, "other_location": None}

    def edge(self, parent: int, child: int, qty: Decimal, relation: str) -> dict[str, Any]:
        return {"parent_lot": parent, "child_lot": child, "qty": qty, "relation": relation, "document_form": self.form,
                "document_id": int(self.doc["id"]), "document_code": self.doc.get("code")}


def _id(v: Any) -> int | None:
    try:
        return int(v) if v is not None and v != "" else None
    except (TypeError, ValueError):
        return None


def _carried(src: dict[str, Any]) -> dict[str, Any]:
    keys = ("supplier", "supplier_lot", "heat_number", "expiry_date", "made_on", "status")
    return {k: src.get(k) for k in keys if src.get(k) not in (None, "")}


def split_moves(plan: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The ledger rows and genealogy edges of split document ``plan.doc``."""
    c = _Change(plan)
    src = c.lot(plan.doc.get("source_lot"), "/source_lot", "原批次", "source lot")
    wanted: list[tuple[int, Decimal, str]] = []
    for i, ln in enumerate(plan.lines):
        q = _qty(ln.get("qty"), f"/lines/{i}/qty", i + 1)
        wanted.append((i + 1, q, str(ln.get("lot_number") or "").strip()))  # type: ignore[arg-type]
    total = sum((q for _, q, _ in wanted), D.ZERO)
    have = c.held([int(src["id"])])[int(src["id"])]
    if total > have:
        raise c.short(src, have, total, "/lines/0/qty")
    moves, edges, seen = [], [], {int(src["id"])}
    for n, q, number in wanted:
        path = f"/lines/{n - 1}/lot_number"
        target = LT.find(c.conn, c.forms, int(c.item["id"]), number) if number else None
        if target is not None:
            if int(target["id"]) in seen:
                raise _bad(f"第 {n} 行：批次「{number}」已在本单中出现（或就是原批次）：每个新批次只写一行",
                           f"line {n}: lot {number} is already on this document (or is the source lot): one line per new lot",
                           path, "duplicate")
            c.same_material(src, target, path)
            plan.lots[int(target["id"])] = target
        else:
            target = c.new_lot(number or None, _carried(src), path)
        seen.add(int(target["id"]))
        moves += [c.move(n, int(src["id"]), -q), c.move(n, int(target["id"]), q)]
        edges.append(c.edge(int(src["id"]), int(target["id"]), q, "split"))
    return moves, edges


def merge_moves(plan: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The ledger rows and genealogy edges of merge document ``plan.doc``."""
    c = _Change(plan)
    target = None
    if plan.doc.get("target_lot") not in (None, ""):
        target = c.lot(plan.doc.get("target_lot"), "/target_lot", "合并到的批次", "target lot")
    sources: list[tuple[int, dict[str, Any], Decimal | None]] = []
    seen: set[int] = {int(target["id"])} if target else set()
    for i, ln in enumerate(plan.lines):
        lot = c.lot(ln.get("lot"), f"/lines/{i}/lot", "来源批次", "source lot")
        if int(lot["id"]) in seen:
            zh = "就是合并到的批次" if target and int(lot["id"]) == int(target["id"]) else "在本单中出现了两次"
            raise _bad(f"第 {i + 1} 行：批次「{lot.get('number')}」{zh}：每个来源批次只写一行",
                       f"line {i + 1}: lot {lot.get('number')} is the target or already on this document: one line per source lot",
                       f"/lines/{i}/lot", "duplicate")
        seen.add(int(lot["id"]))
        sources.append((i + 1, lot, _qty(ln.get("qty"), f"/lines/{i}/qty", i + 1, required=False)))
    if len(seen) < 2:
        raise _bad("合并至少要两个批次：再加一个来源批次，或选择合并到的已有批次",
                   "a merge takes at least two lots: add a source lot or choose an existing target lot", "/lines", "too_few")
    first = target or sources[0][1]
    for n, lot, _ in sources:
        c.same_material(first, lot, f"/lines/{n - 1}/lot")
    have = c.held(sorted(seen))
    taken: list[tuple[int, dict[str, Any], Decimal]] = []
    for n, lot, q in sources:
        on_hand = have[int(lot["id"])]
        if q is None:
            if on_hand <= 0:
                raise c.short(lot, on_hand, D.ZERO, f"/lines/{n - 1}/lot")
            q = on_hand
        elif q > on_hand:
            raise c.short(lot, on_hand, q, f"/lines/{n - 1}/qty")
        taken.append((n, lot, q))
    if target is None:
        lots = [lot for _, lot, _ in sources]
        attrs = _carried(lots[0])
        for k in ("supplier", "supplier_lot"):
            if len({str(x.get(k) or "") for x in lots}) > 1:
                attrs.pop(k, None)      # several suppliers' lots: the genealogy keeps each one's
        for k in ("expiry_date", "made_on"):
            dates = [x.get(k) for x in lots if x.get(k) not in (None, "")]
            attrs.pop(k, None)
            if dates:
                attrs[k] = min(dates)   # the earliest: FEFO/FIFO never treat merged stock as younger than it is
        number = str(plan.doc.get("target_number") or "").strip() or None
        if number and LT.find(c.conn, c.forms, int(c.item["id"]), number) is not None:
            raise _bad(f"批号「{number}」已经存在：要并入它请在「合并到的批次」里选择它，或换一个新批号",
                       f"lot {number} exists: choose it as the target lot, or enter a new number", "/target_number", "duplicate")
        target = c.new_lot(number, attrs, "/target_number")
    moves, edges = [], []
    for n, lot, q in taken:
        moves += [c.move(n, int(lot["id"]), -q), c.move(n, int(target["id"]), q)]
        edges.append(c.edge(int(lot["id"]), int(target["id"]), q, "merge"))
    return moves, edges


def moves(plan: Any) -> list[dict[str, Any]]:
    """The ledger rows of a split or merge document being posted; its genealogy edges are recorded
    (same transaction: a refusal later in the posting rolls them back with everything else)."""
    out, edges = (split_moves if plan.kind.direction == "split" else merge_moves)(plan)
    G.record(plan.conn, plan.forms, plan.ctx, edges)
    return out


def retract_edges(conn: Any, forms: Any, ctx: Any, form: str, doc: dict[str, Any], reversal: dict[str, Any] | None) -> None:
    """A reversed split or merge: its genealogy edges retracted (append-only retracting rows)."""
    t = forms.get(conn, G.LINK).main
    G.retract(conn, forms, ctx, (t.c.document_form == form) & (t.c.document_id == int(doc["id"])),
              {"document_form": form, "document_id": int(reversal["id"]) if reversal else None,
               "document_code": (reversal or {}).get("code")})
