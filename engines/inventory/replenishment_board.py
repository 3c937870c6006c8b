"""The replenishment board (补料看板): per 补料规则 the item, its line side (and work centre), the usable
stock there, the reorder point and the top, the open request (a draft transfer, with the lots FEFO/FIFO
would take from the source when it is posted) and a colour:

- ``red`` 缺料: below the reorder point (or empty) with no request open;
- ``yellow`` 补料中: below the reorder point (even empty), a request is open (waiting for the storekeeper to post it);
- ``green`` 正常: at or above the reorder point.

Every row follows the reader's rights: the rules they may read, the requests (transfers) they may read.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.inventory import documents as D
from mom.engines.inventory import listing
from mom.engines.inventory import lots as LT
from mom.engines.inventory import posting as P
from mom.engines.inventory import replenishment as RP
from mom.engines.inventory import rules as R
from mom.engines.records.access import form_access
from mom.engines.records.context import Ctx
from mom.platform.errors import AccessDenied, NotFound

STATUS_ZH = {"red": "缺料", "yellow": "补料中", "green": "正常"}
_ORDER = {"red": 0, "yellow": 1, "green": 2}
_MAX_RULES = 2000


def status_of(rule: dict[str, Any], on_hand: Decimal, has_open: bool) -> str:
    if on_hand <= 0 or on_hand < D.dec(rule.get("min_qty")):
        return "yellow" if has_open else "red"
    return "green"


def _rules(conn: Connection, compiled: Any, ctx: Ctx) -> list[dict[str, Any]]:
    access = form_access(compiled, ctx.actor)
    access.require("read")
    t = compiled.main
    q = sa.select(t).where(t.c.deleted_at.is_(None), t.c.active.isnot(False)).order_by(t.c.id).limit(_MAX_RULES)
    scope = access.scope("read")
    if scope is not None:
        q = q.where(scope)
    return [dict(r) for r in conn.execute(q).mappings()]


def _names(conn: Connection, forms: Any, rules: list[dict[str, Any]]) -> dict[str, dict[int, dict[str, Any]]]:
    items = D.rows_by_id(conn, forms.get(conn, D.ITEM), {r["item"] for r in rules})
    locs = D.rows_by_id(conn, D.get(conn, forms, D.LOCATION), {r[k] for r in rules for k in ("location", "source_location")})
    try:
        centres = D.rows_by_id(conn, forms.get(conn, "work_center"), {v.get("work_center") for v in locs.values()})
    except NotFound:
        centres = {}
    return {"item": items, "location": locs, "work_center": centres}


def _may(fn: Any) -> bool:
    try:
        fn()
    except AccessDenied:
        return False
    return True


def _visible_requests(conn: Connection, transfer: Any, ctx: Ctx, found: dict[int, list[dict[str, Any]]]) -> dict[int, list[dict[str, Any]]]:
    """Only the requests (transfers) the reader may read."""
    access = form_access(transfer, ctx.actor)
    if not access.can("read"):
        return {}
    scope = access.scope("read")
    if scope is None:
        return found
    ids = [o["id"] for lst in found.values() for o in lst]
    t = transfer.main
    ok = {int(r[0]) for r in conn.execute(sa.select(t.c.id).where(t.c.id.in_(ids or [0]), scope))}
    return {rule: [o for o in lst if o["id"] in ok] for rule, lst in found.items()}


def _lots(conn: Connection, forms: Any, item: dict[str, Any], source: int, qty: Decimal) -> tuple[list[dict[str, Any]], Decimal]:
    """The lots posting would take (FEFO/FIFO) for a lot-tracked item; [] for an untracked one."""
    if not R.tracked(item):
        return [], D.ZERO
    taken, short = LT.suggest(conn, forms, int(item["id"]), source, qty)
    numbers = D.rows_by_id(conn, D.get(conn, forms, D.LOT), [lid for lid, _ in taken])
    return [{"lot": lid, "number": numbers.get(lid, {}).get("number"), "qty": listing.number(q)} for lid, q in taken], short


def board(conn: Connection, forms: Any, ctx: Ctx) -> dict[str, Any]:
    """The board's rows (red first), what the reader may do (post requests, run the check) and the counts per colour."""
    rule_form, transfer = RP.require_forms(conn, forms)
    listing.require_read(conn, forms, ctx, D.BALANCE)
    rules = _rules(conn, rule_form, ctx)
    names = _names(conn, forms, rules)
    have = RP.usable_at(conn, forms, [(r[k1], r[k2]) for r in rules for k1, k2 in (("item", "location"), ("item", "source_location"))])
    pending = RP.open_requests(conn, transfer, [r["id"] for r in rules])
    shown = _visible_requests(conn, transfer, ctx, pending)
    rows = []
    for r in rules:
        item = names["item"].get(int(r["item"]), {"id": r["item"]})
        loc = names["location"].get(int(r["location"]), {})
        src = names["location"].get(int(r["source_location"]), {})
        centre = names["work_center"].get(int(loc["work_center"])) if loc.get("work_center") is not None else None
        on_hand = have.get((int(r["item"]), int(r["location"])), D.ZERO)
        at_source = have.get((int(r["item"]), int(r["source_location"])), D.ZERO)
        requests = []
        for o in shown.get(int(r["id"]), []):
            lots, short = _lots(conn, forms, item, int(r["source_location"]), o["qty"])
            requests.append({"id": o["id"], "code": o["code"], "qty": listing.number(o["qty"]), "lots": lots,
                             "short": listing.number(short)})
        open_qty = sum((o["qty"] for o in pending.get(int(r["id"]), [])), D.ZERO)
        status = status_of(r, on_hand, bool(pending.get(int(r["id"]))))
        rows.append({
            "rule": int(r["id"]), "code": r.get("code"), "method": r.get("method"),
            "item": int(r["item"]), "item_code": item.get("code"), "item_name": item.get("name"), "unit": item.get("unit"),
            "location": int(r["location"]), "location_name": D.name_of(loc or None, r["location"]),
            "location_kind": loc.get("kind"),
            "work_center": int(centre["id"]) if centre else None, "work_center_name": D.name_of(centre) if centre else None,
            "source_location": int(r["source_location"]), "source_name": D.name_of(src or None, r["source_location"]),
            "source_on_hand": listing.number(at_source),
            "min": listing.number(r.get("min_qty")), "max": listing.number(RP.top_of(r)),
            "kanban_qty": listing.number(r["kanban_qty"]) if r.get("kanban_qty") is not None else None,
            "kanban_cards": r.get("kanban_cards"),
            "on_hand": listing.number(on_hand), "open_qty": listing.number(open_qty),
            "would_ask": listing.number(RP.request_qty(r, on_hand)) if not pending.get(int(r["id"])) else 0,
            "requests": requests, "status": status, "status_zh": STATUS_ZH[status]})
    rows.sort(key=lambda x: (_ORDER[x["status"]], x["work_center_name"] or "", x["location_name"], x["item_code"] or ""))
    counts = {k: sum(1 for x in rows if x["status"] == k) for k in _ORDER}
    compiled_transfer = D.get(conn, forms, RP.TRANSFER)
    return {"rows": rows, "counts": counts,
            "can_post": _may(lambda: P.require_right(conn, compiled_transfer, ctx, "post")),
            "can_run": form_access(transfer, ctx.actor).can("create")}
