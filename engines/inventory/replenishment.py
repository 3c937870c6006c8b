"""Line-side replenishment (线边补料): a 补料规则 ``replenishment_rule`` per item × line-side location
keeps the line stocked from a warehouse location by 草稿 draft transfers (调拨 ``stock_transfer``) that a
storekeeper posts when the material moves.

A rule is 最小/最大 ``min_max`` (when the usable stock at the line side falls below ``min_qty``, ask
for ``max_qty`` − on hand) or 看板 ``kanban`` (the same trigger; the request is the whole cards that are
empty: ⌊(cards × quantity per card − on hand) / quantity per card⌋ cards, at least one, at most all;
``max_qty``, when given, replaces cards × quantity per card as the top).

Usable stock is the balance at the location that is untracked or in a released (放行) lot. A rule
has at most one open request (a draft transfer naming the rule): while it is a draft nothing more is
asked for; once it is posted (or deleted), the next consumption below the reorder point asks again.

:func:`after_moves` runs inside every posting (:mod:`posting`) that takes stock out of a location with
an active rule; :func:`sweep` checks every active rule (``mom stock replenish``,
``POST /api/inventory/replenishment/run``: for rules added after the stock fell). Both lock the rules
they decide for (``FOR UPDATE`` on PostgreSQL, in id order), so two postings at once make one request.
"""
from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.forms.compile import CompiledForm
from mom.engines.inventory import documents as D
from mom.engines.records import service as S
from mom.engines.records.access import form_access
from mom.engines.records.context import Ctx
from mom.platform.errors import NotFound

RULE, TRANSFER = "replenishment_rule", "stock_transfer"
METHOD_ZH = {"min_max": "最小/最大", "kanban": "看板"}
_RULE_NEEDS = ("item", "location", "source_location", "method", "min_qty", "max_qty", "kanban_qty", "kanban_cards", "active")


def forms_of(conn: Connection, forms: Any) -> tuple[CompiledForm, CompiledForm] | None:
    """The rule form and the transfer form when the core pack's replenishment forms are installed, else None."""
    try:
        rule, transfer = forms.get(conn, RULE), forms.get(conn, TRANSFER)
    except NotFound:
        return None
    if not all(rule.definition.field(k) is not None for k in _RULE_NEEDS) or transfer.definition.field(RULE) is None:
        return None
    return rule, transfer


def require_forms(conn: Connection, forms: Any) -> tuple[CompiledForm, CompiledForm]:
    got = forms_of(conn, forms)
    if got is None:
        raise NotFound("没有安装「制造基础」模型包（core 1.5.0 及以上）的补料规则：请管理员先升级它（mom pack upgrade core）",
                       "the replenishment rules of the core pack (1.5.0 or later) are not installed: an administrator "
                       "upgrades it first (mom pack upgrade core)", detail={"form": RULE})
    return got


# ---------------------------------------------------------------- the quantity

def top_of(rule: dict[str, Any]) -> Decimal:
    """The level a request fills up to: max_qty, or (kanban without it) cards × quantity per card."""
    if rule.get("max_qty") is not None:
        return D.dec(rule["max_qty"])
    return D.dec(rule.get("kanban_qty")) * int(rule.get("kanban_cards") or 0)


def request_qty(rule: dict[str, Any], on_hand: Decimal) -> Decimal:
    """What ``rule`` asks for when ``on_hand`` is usable at its line side: 0 while on hand is at or above
    the reorder point (and for a rule that cannot say: no quantity per card)."""
    if on_hand >= D.dec(rule.get("min_qty")):
        return D.ZERO
    top = top_of(rule)
    if rule.get("method") == "kanban":
        per = D.dec(rule.get("kanban_qty"))
        cards = int(rule.get("kanban_cards") or 0)
        if per <= 0 or cards <= 0:
            return D.ZERO
        empty = int(((top - on_hand) / per).to_integral_value(rounding=ROUND_FLOOR))
        return per * max(1, min(empty, cards))
    need = top - on_hand
    return need.quantize(D.QTY) if need > 0 else D.ZERO


# ---------------------------------------------------------------- reading

def usable_at(conn: Connection, forms: Any, pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], Decimal]:
    """Usable on hand per (item, location): untracked stock and stock in released lots."""
    wanted = sorted({(int(i), int(loc)) for i, loc in pairs})
    if not wanted:
        return {}
    b, lot = D.get(conn, forms, D.BALANCE).main, D.get(conn, forms, D.LOT).main
    out: dict[tuple[int, int], Decimal] = {}
    for n in range(0, len(wanted), 400):
        chunk = wanted[n:n + 400]
        q = (sa.select(b.c.item, b.c.location, sa.func.sum(b.c.qty))
             .select_from(b.outerjoin(lot, lot.c.id == b.c.lot))
             .where(b.c.deleted_at.is_(None), b.c.item.in_({i for i, _ in chunk}), b.c.location.in_({loc for _, loc in chunk}),
                    sa.or_(b.c.lot.is_(None), lot.c.status == "released"))
             .group_by(b.c.item, b.c.location))
        for item, loc, total in conn.execute(q):
            out[(int(item), int(loc))] = D.dec(total)
    return out


def open_requests(conn: Connection, transfer: CompiledForm, rule_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """The draft transfers naming each rule, oldest first: ``{rule: [{id, code, qty}]}`` (qty: their lines')."""
    ids = sorted({int(r) for r in rule_ids})
    if not ids:
        return {}
    t, lines = transfer.main, transfer.children["lines"]
    out: dict[int, list[dict[str, Any]]] = {}
    for n in range(0, len(ids), 900):
        q = (sa.select(t.c.id, t.c.code, t.c[RULE], sa.func.coalesce(sa.func.sum(lines.c.qty), 0))
             .select_from(t.outerjoin(lines, lines.c.parent_id == t.c.id))
             .where(t.c[RULE].in_(ids[n:n + 900]), t.c.status == "draft", t.c.deleted_at.is_(None))
             .group_by(t.c.id, t.c.code, t.c[RULE]).order_by(t.c.id))
        for tid, code, rule, qty in conn.execute(q):
            out.setdefault(int(rule), []).append({"id": int(tid), "code": code, "qty": D.dec(qty)})
    return out


def _lock_rules(conn: Connection, rule: CompiledForm, where: Any, *, lock: bool = True) -> list[dict[str, Any]]:
    """Active rules matching ``where``, locked in id order on PostgreSQL (two postings at once: one waits)."""
    t = rule.main
    q = sa.select(t).where(where, t.c.deleted_at.is_(None), t.c.active.isnot(False)).order_by(t.c.id)
    if lock and conn.dialect.name == "postgresql":
        q = q.with_for_update()
    return [dict(r) for r in conn.execute(q).mappings()]


# ---------------------------------------------------------------- deciding and asking

def _decide(conn: Connection, forms: Any, ctx: Ctx, transfer: CompiledForm, rules: list[dict[str, Any]], *,
            dry_run: bool) -> list[dict[str, Any]]:
    have = usable_at(conn, forms, [(r["item"], r["location"]) for r in rules])
    pending = open_requests(conn, transfer, [r["id"] for r in rules])
    made: list[dict[str, Any]] = []
    for r in rules:
        if pending.get(int(r["id"])):
            continue
        on_hand = have.get((int(r["item"]), int(r["location"])), D.ZERO)
        qty = request_qty(r, on_hand)
        if qty <= 0:
            continue
        out = {"rule": int(r["id"]), "rule_code": r.get("code"), "item": int(r["item"]), "location": int(r["location"]),
               "source_location": int(r["source_location"]), "on_hand": on_hand, "qty": qty, "transfer": None, "code": None}
        if not dry_run:
            out["transfer"], out["code"] = _ask(conn, forms, ctx, r, qty, on_hand)
        made.append(out)
    return made


def request_code(conn: Connection, transfer: CompiledForm, rule: dict[str, Any]) -> str:
    """``TR-<rule code>-<n:03>``, n counting the rule's requests. Numbered per rule, under the rule's lock,
    rather than from the transfers' sequence: a transfer being created and posted at the same moment holds
    that sequence until it commits and may be waiting for a balance this posting holds (a deadlock)."""
    t = transfer.main
    n = int(conn.execute(sa.select(sa.func.count()).select_from(t).where(t.c[RULE] == int(rule["id"]))).scalar_one())
    return f"TR-{rule.get('code') or 'RP' + str(rule['id'])}-{n + 1:03d}"


def _ask(conn: Connection, forms: Any, ctx: Ctx, rule: dict[str, Any], qty: Decimal, on_hand: Decimal) -> tuple[int, str]:
    """A draft transfer of ``qty`` from the rule's source to its line side (lot left empty: FEFO/FIFO on posting)."""
    transfer = forms.get(conn, TRANSFER)
    doc = {"code": request_code(conn, transfer, rule), RULE: int(rule["id"]), "note": f"线边补料 {rule.get('code') or ''}（现有 {D.qty_text(on_hand)}，低于订货点 "
                                           f"{D.qty_text(rule.get('min_qty'))}）"[:200],
           "lines": [{"item": int(rule["item"]), "qty": qty, "from_location": int(rule["source_location"]),
                      "to_location": int(rule["location"])}]}
    made = S.create_records(conn=conn, registry=forms, ctx=D.acting(ctx), form=TRANSFER, docs=[doc])[0]
    return int(made["id"]), str(made.get("code") or "")


def after_moves(conn: Connection, forms: Any, ctx: Ctx, moves: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """After a posting's ledger rows (in its transaction): for each location stock went out of that has an
    active rule for the item, a draft transfer when usable stock is now below the reorder point and no
    request is open. Returns the requests made (none when the replenishment forms are not installed)."""
    out_of = {(int(m["item"]), int(m["location"])) for m in moves if D.dec(m.get("qty")) < 0}
    if not out_of:
        return []
    got = forms_of(conn, forms)
    if got is None:
        return []
    rule, transfer = got
    t = rule.main
    items, locs = {i for i, _ in out_of}, {loc for _, loc in out_of}
    probe = sa.select(t.c.id, t.c.item, t.c.location).where(t.c.item.in_(items), t.c.location.in_(locs),
                                                            t.c.deleted_at.is_(None), t.c.active.isnot(False))
    ids = [int(r.id) for r in conn.execute(probe) if (int(r.item), int(r.location)) in out_of]
    if not ids:
        return []
    return _decide(conn, forms, ctx, transfer, _lock_rules(conn, rule, t.c.id.in_(ids)), dry_run=False)


def sweep(conn: Connection, forms: Any, ctx: Ctx, *, dry_run: bool = False) -> dict[str, Any]:
    """Check every active rule the user may read and ask for what is below its reorder point (``dry_run``:
    only say what would be asked). The user needs the right to create transfers (a storekeeper)."""
    rule, transfer = require_forms(conn, forms)
    access = form_access(rule, ctx.actor)
    access.require("read")
    if not dry_run:
        form_access(transfer, ctx.actor).require("create")
    scope = access.scope("read")
    rules = _lock_rules(conn, rule, scope if scope is not None else sa.true(), lock=not dry_run)
    made = _decide(conn, forms, ctx, transfer, rules, dry_run=dry_run)
    return {"checked": len(rules), "dry_run": dry_run, "requests": made}
