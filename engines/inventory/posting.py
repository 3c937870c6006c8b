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
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.inventory import balances as B
from mom.engines.inventory import documents as D
from mom.engines.inventory import genealogy as G
from mom.engines.inventory import ledger as L
from mom.engines.inventory import posting_plan as PL
from mom.engines.inventory import replenishment as RP
from mom.engines.inventory import rules as R
from mom.engines.records import audit, lookup
from mom.engines.records import service as S
from mom.engines.records import uniqueness
from mom.engines.records.access import form_access
from mom.engines.records.batch import update_many, write_system_fields
from mom.engines.records.context import Ctx
from mom.platform.db.bulk import relaxed_gc
from mom.platform.errors import AccessDenied, Conflict, InvalidInput, NotFound, Problem

STATUS_ZH = {"draft": "草稿", "posted": "已过账", "reversed": "已冲销"}


acting = D.acting


def kind_of(form: str) -> D.Kind:
    kind = D.KINDS.get(form)
    if kind is None or not kind.posted_here:
        names = "、".join(f"{k.zh}（{k.form}）" for k in D.KINDS.values() if k.posted_here)
        raise NotFound(f"{form} 不是库存单据：库存单据有 {names}", f"{form} is not a stock document; the stock documents are "
                       + ", ".join(k.form for k in D.KINDS.values() if k.posted_here), detail={"form": form})
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
              set_status: bool, lines: list[dict[str, Any]] | None = None,
              known: Mapping[str, Mapping[int, dict[str, Any]]] | None = None) -> list[tuple[int, dict[str, Any]]]:
    """Post ``doc`` (locked): lots, ledger, balances, and the document's posted fields
    (``set_status``: False when the user already moved it to posted through the form's 过账 button;
    ``lines``: the lines just inserted with it, else read; ``known``: live item and location rows read
    in this transaction, by form and id, else read)."""
    if lines is None:
        lines = S.load_children(conn, compiled, [int(doc["id"])], ["lines"])[int(doc["id"])]["lines"]
    if not lines:
        raise InvalidInput(f"{D.label(compiled)} {doc['code']} 没有明细行：请先填写要过账的物料和数量",
                           f"{compiled.name} {doc['code']} has no lines: add the items and quantities first")
    plan = PL.Plan(conn, forms, ctx, kind, doc, lines, known)
    moves = plan.moves()
    line_patch = plan.count_lines() if kind.direction == "count" else None
    patch: dict[str, Any] = {"posted_at": ctx.now, "posted_by": ctx.actor.id}
    if set_status:
        patch["status"] = "posted"
    if line_patch is not None:
        patch["lines"] = line_patch
    # SQLite: the audit entries of the ledger rows (never updated: their "create" entries can be built at the
    # end), of the balances updated and of the document in one INSERT (PostgreSQL: each inside its write)
    with audit.gathered(conn, (D.MOVE,)) as entries:
        ids = _write_moves(conn, forms, ctx, moves, plan, audit_into=entries)
        with D.engine_writes(conn):
            if line_patch is None:      # the engine's own fields of a row it holds locked: no re-reading of a thousand lines
                write_system_fields(conn=conn, registry=forms, ctx=acting(ctx), form=compiled.name, rows=[(doc, patch)],
                                    audit_into=entries)
            else:
                update_many(conn=conn, registry=forms, ctx=acting(ctx), form=compiled.name, patches=[(int(doc["id"]), patch, None)])
    _after_moves(conn, forms, ctx, moves)
    return list(zip(ids, moves))


def _apply(conn: Connection, forms: Any, ctx: Ctx, moves: list[dict[str, Any]], plan: PL.Plan) -> list[int]:
    """Lock the balances the moves touch, check them move by move, write ledger and balances, and what follows from the moves."""
    ids = _write_moves(conn, forms, ctx, moves, plan)
    _after_moves(conn, forms, ctx, moves)
    return ids


def post_moves(conn: Connection, forms: Any, ctx: Ctx, moves: list[dict[str, Any]], plan: PL.Plan) -> list[int]:
    """Post ``moves`` that another engine planned for its own document (a kind with ``posted_here`` False, e.g.
    the spare parts of a 维修保养工单): the same balance, negative-stock, serial and genealogy rules; the ledger ids."""
    return _apply(conn, forms, ctx, moves, plan)


def _write_moves(conn: Connection, forms: Any, ctx: Ctx, moves: list[dict[str, Any]], plan: PL.Plan, *,
                 audit_into: list[dict[str, Any]] | None = None) -> list[int]:
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
    B.write(conn, forms, ctx, held, {k: qty[k] for k in held}, audit_into=audit_into)
    return ids


def _after_moves(conn: Connection, forms: Any, ctx: Ctx, moves: list[dict[str, Any]]) -> None:
    G.on_posted(conn, forms, ctx, moves)       # lot genealogy: consumed lots → produced lots
    RP.after_moves(conn, forms, ctx, moves)    # line-side replenishment: a draft transfer when below the reorder point


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
    plan = PL.Plan(conn, forms, ctx, kind_of(form), doc, [{"item": m["item"], "location": m["location"], "lot": m["lot"]}
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
        uniqueness.vouch_free(conn, form, "client_id", [client_id])     # just read: no live document holds it
    doc = {k: v for k, v in body.items() if k not in ("status", "id", "row_version")}
    with relaxed_gc():         # a document of a thousand lines keeps thousands of small objects alive
        with lookup.keeping_rows(conn, (D.ITEM, D.LOCATION)) as known:     # the rows its reference checks read
            row, lines = _insert_document(conn, forms, ctx, form, doc)
        if row.get("status") != "draft" or kind.direction == "count":    # (a count writes back its lines by id)
            return post(conn, forms, ctx, form, int(row["id"]))
        # the row just inserted is in hand and locked by this transaction: posted without reading it back
        return _posted(ctx, form, row, carry_out(conn, forms, ctx, kind, compiled, row, set_status=True, lines=lines,
                                                 known=known))


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
