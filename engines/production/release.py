"""Releasing a production order (下达): the item's routing and BOM are copied into the order, so that
later edits of either change nothing already on the shop floor.

- the BOM, one level, becomes the order's ``components`` (qty_required = qty_per × order qty /
  base_qty × (1 + scrap_rate/100), rounded up to the field's 4 decimals; substitute lines are not
  requirements);
- each routing operation becomes one ``operation_task`` (its modes: the preferred machine and the
  routing's alternatives for that step), the first ``ready``, the others ``waiting``;
- the order goes ``planned`` -> ``released`` with ``released_at``, and names the BOM and routing used.

Everything runs in the caller's transaction through the record service. The order's own routing or
BOM is used when it names one; else the item's active default (one active version counts as default).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import ROUND_CEILING, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.production import documents as D
from mom.engines.production import progress as P
from mom.engines.records.access import form_access
from mom.engines.records.context import Ctx
from mom.platform.errors import AccessDenied, Conflict, InvalidInput, NotFound

_QTY = Decimal("0.0001")
_STATUS_ZH = {"planned": "已计划", "released": "已下达", "started": "生产中", "finished": "已完工", "closed": "已关闭",
              "cancelled": "已取消"}


def release(conn: Connection, forms: Any, ctx: Ctx, order_id: int) -> dict[str, Any]:
    """Release order ``order_id``: refused (in words) unless it is ``planned`` and its item has a routing
    and a BOM to use; returns ``{order, code, status, released_at, tasks: [{id, code, seq, name, status}],
    components: [...]}``."""
    D.require_core(conn, forms)
    compiled = D.compiled(conn, forms, D.ORDER)
    access = form_access(compiled, ctx.actor)
    order = D.row(conn, compiled, order_id, lock=True)
    scope = access.scope("read")
    if order is None or not access.can("read") or (scope is not None and not _in_scope(conn, compiled, scope, order_id)):
        raise NotFound(f"没有 id 为 {order_id} 的生产工单（或无权查看）", f"no production order {order_id} (or you may not see it)")
    _require_release_right(compiled, access, ctx)
    if order["status"] != "planned":
        raise Conflict(f"生产工单 {order['code']} 当前状态是「{_STATUS_ZH.get(order['status'], order['status'])}」，"
                       "只有「已计划」的工单可以下达", f"production order {order['code']} is {order['status']}; only a "
                       "planned order can be released", detail={"status": order["status"]})
    return carry_out(conn, forms, ctx, order, transition="release")


def _in_scope(conn: Connection, compiled: Any, scope: Any, rid: int) -> bool:
    t = compiled.main
    return conn.execute(sa.select(t.c.id).where(t.c.id == rid, scope)).first() is not None


def _require_release_right(compiled: Any, access: Any, ctx: Ctx) -> None:
    sm = compiled.definition.state_machine
    moves = [t for t in (sm.transitions if sm else ()) if t.key == "release"]
    allowed = access.can("update") and all(t.allows(ctx.actor.username, ctx.actor.role_names, ctx.actor.is_admin)
                                           for t in moves)
    if not allowed:
        raise AccessDenied("你无权下达生产工单（需要计划员角色）", "you may not release production orders (the planner role is needed)")


def carry_out(conn: Connection, forms: Any, ctx: Ctx, order: Mapping[str, Any], *, transition: str | None) -> dict[str, Any]:
    """The release of ``order`` (a locked ``planned`` row, or one a user just moved to ``released``
    through the state machine, ``transition=None``): components, tasks, status and time."""
    routing, bom = _routing(conn, forms, order), _bom(conn, forms, order, ctx.now.astimezone(ctx.tz).date())
    qty = D.dec(order["qty"])
    components = _components(conn, forms, bom, qty)
    ops = _operations(conn, forms, routing)
    item = D.row(conn, D.compiled(conn, forms, D.ITEM), int(order["item"])) or {}
    patch: dict[str, Any] = {"released_at": ctx.now, "components": components, "bom": bom["id"], "routing": routing["id"]}
    if transition is not None:
        patch["status"] = "released"
    if not order.get("unit") and item.get("unit"):
        patch["unit"] = item["unit"]
    D.update(conn, forms, ctx, D.ORDER, int(order["id"]), patch, transition=transition)
    docs = [_task_doc(order, qty, op, i) for i, op in enumerate(ops)]
    ids = D.create(conn, forms, ctx, D.TASK, docs)
    P.rollup(conn, forms, ctx, int(order["id"]))       # current operation, expected finish, on time
    tasks = D.rows(conn, D.compiled(conn, forms, D.TASK), D.compiled(conn, forms, D.TASK).main.c.id.in_(ids),
                   order_by=[D.compiled(conn, forms, D.TASK).main.c.seq])
    return {"order": int(order["id"]), "code": order["code"], "status": "released",
            "released_at": _iso(ctx.now), "bom": bom["code"], "routing": routing["code"],
            "components": [{"item": c["item"], "item_name": D.name_of(conn, forms, D.ITEM, c["item"]),
                            "qty_required": P.number(c["qty_required"]), "operation_seq": c["operation_seq"]} for c in components],
            "tasks": [{"id": t["id"], "code": t["code"], "seq": t["seq"], "name": t["name"], "status": t["status"]}
                      for t in tasks]}


def _iso(v: dt.datetime) -> str:
    return v.isoformat().replace("+00:00", "Z")


# ---------------------------------------------------------------- what the order is made by

def _chosen(conn: Connection, forms: Any, form: str, order: Mapping[str, Any], today: dt.date | None
            ) -> dict[str, Any] | None:
    compiled = D.compiled(conn, forms, form)
    t = compiled.main
    own = order.get(form)
    if own is not None:
        found = D.row(conn, compiled, int(own))
        if found is None or found.get("item") != order["item"] or found.get("status") == "obsolete":
            return None
        return found
    live = D.rows(conn, compiled, t.c.item == order["item"], t.c.status == "active", order_by=[t.c.id.desc()])
    if today is not None:
        live = [r for r in live if (r.get("effective_from") is None or r["effective_from"] <= today)
                and (r.get("effective_to") is None or r["effective_to"] >= today)]
    defaults = [r for r in live if r.get("is_default")]
    return defaults[0] if defaults else (live[0] if len(live) == 1 else None)


def _missing(conn: Connection, forms: Any, order: Mapping[str, Any], form: str) -> InvalidInput:
    item = D.name_of(conn, forms, D.ITEM, order["item"])
    zh, en = ("工艺路线", "routing") if form == D.ROUTING else ("物料清单", "bill of materials")
    verb, verb_en = ("建一条", "create one") if form == D.ROUTING else ("建一份", "create one")
    if order.get(form) is not None:
        return InvalidInput(f"生产工单 {order['code']} 指定的{zh}不属于物料「{item}」或已作废：请改选一条生效的{zh}，或清空让系统用默认的",
                            f"the {en} named on production order {order['code']} is not for item {item} or is obsolete: "
                            f"choose an active one, or leave it empty to use the default", detail={"item": item})
    return InvalidInput(f"物料「{item}」没有生效的{zh}：请先在「{zh}」里为它{verb}并设为默认（状态“生效”）",
                        f"item {item} has no active {en}: {verb_en} for it under {en} and make it the active default",
                        detail={"item": item, "missing": form})


def _routing(conn: Connection, forms: Any, order: Mapping[str, Any]) -> dict[str, Any]:
    found = _chosen(conn, forms, D.ROUTING, order, None)
    if found is None:
        raise _missing(conn, forms, order, D.ROUTING)
    return found


def _bom(conn: Connection, forms: Any, order: Mapping[str, Any], today: dt.date) -> dict[str, Any]:
    found = _chosen(conn, forms, D.BOM, order, today)
    if found is None:
        raise _missing(conn, forms, order, D.BOM)
    return found


def _components(conn: Connection, forms: Any, bom: Mapping[str, Any], qty: Decimal) -> list[dict[str, Any]]:
    base = D.dec(bom.get("base_qty")) or Decimal(1)
    out = []
    for line in D.children(conn, D.compiled(conn, forms, D.BOM), int(bom["id"]), "lines"):
        if line.get("substitute_for") is not None:      # an allowed replacement, not a requirement
            continue
        need = D.dec(line.get("qty_per")) * qty / base * (1 + D.dec(line.get("scrap_rate")) / 100)
        out.append({"item": line["component"], "qty_required": need.quantize(_QTY, rounding=ROUND_CEILING),
                    "operation_seq": line.get("operation_seq"), "issue_method": line.get("issue_method") or "pick"})
    return out


def _operations(conn: Connection, forms: Any, routing: Mapping[str, Any]) -> list[dict[str, Any]]:
    compiled = D.compiled(conn, forms, D.ROUTING)
    ops = sorted(D.children(conn, compiled, int(routing["id"]), "operations"), key=lambda o: (o.get("op_seq") or 0, o["seq"]))
    if not ops:
        raise InvalidInput(f"工艺路线 {routing['code']} 没有工序：请先在工艺路线里添加工序",
                           f"routing {routing['code']} has no operations: add its operations first")
    alternatives = D.children(conn, compiled, int(routing["id"]), "alternatives")
    for op in ops:
        op["alternatives"] = [a for a in alternatives if a.get("op_seq") == op.get("op_seq")]
    return ops


def _task_doc(order: Mapping[str, Any], qty: Decimal, op: Mapping[str, Any], index: int) -> dict[str, Any]:
    modes: list[dict[str, Any]] = []
    if op.get("machine") is not None:
        modes.append({"machine": op["machine"], "setup_min": op.get("setup_min"), "run_min": op.get("run_min")})
    for alt in op["alternatives"]:
        if all(m["machine"] != alt["machine"] for m in modes):
            modes.append({"machine": alt["machine"],
                          "setup_min": alt["setup_min"] if alt.get("setup_min") is not None else op.get("setup_min"),
                          "run_min": alt["run_min"] if alt.get("run_min") is not None else op.get("run_min")})
    return {"production_order": int(order["id"]), "seq": op.get("op_seq"), "name": op.get("name"),
            "work_center": op.get("work_center"), "machine": op.get("machine") or (modes[0]["machine"] if modes else None),
            "qty": qty, "setup_min": op.get("setup_min"), "run_min": op.get("run_min"),
            "transfer_batch": op.get("transfer_batch"), "inspection": bool(op.get("inspection")),
            "modes": modes, "status": "ready" if index == 0 else "waiting", "pinned": False}
