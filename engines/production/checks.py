"""Master-data checks the production engine leans on, run when a BOM or a routing is saved (the record
hooks' ``after_create`` / ``after_update``, inside the writer's transaction, so a refusal writes nothing):

- a BOM whose lines make a cycle — the item itself among its components, or a component whose own
  BOM (its default or active ones) leads back to it — is refused naming the items on the way round;
- a routing operation whose machine belongs to another work centre is refused naming both.

Only the core pack's ``bom`` and ``routing`` are checked (the fields these rules read must be there).
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.forms.compile import CompiledForm
from mom.engines.production import documents as D
from mom.platform.errors import InvalidInput, Problem

#: form -> (its table field, the child fields the check reads, the main fields it reads)
_NEEDS = {D.BOM: ("lines", ("component",), ("item",)),
          D.ROUTING: ("operations", ("op_seq", "work_center", "machine"), ())}


def applies(compiled: CompiledForm) -> bool:
    """Is ``compiled`` the core pack's BOM or routing (it has the fields the checks read)?"""
    need = _NEEDS.get(compiled.name)
    if need is None or compiled.definition.field(need[0]) is None or need[0] not in compiled.children:
        return False
    table = compiled.children[need[0]]
    return all(k in table.c for k in need[1]) and all(compiled.definition.field(k) is not None for k in need[2])


def check_saved(conn: Connection, forms: Any, compiled: CompiledForm, record_id: int) -> None:
    """Check the BOM or routing ``record_id`` as now stored; raise :class:`InvalidInput` when it breaks a rule."""
    if compiled.name == D.BOM:
        bom_cycle(conn, forms, compiled, record_id)
    elif compiled.name == D.ROUTING:
        routing_machines(conn, forms, compiled, record_id)


# ---------------------------------------------------------------- BOM: no cycle

def _components(conn: Connection, compiled: CompiledForm, bom_ids: list[int]) -> set[int]:
    lines = compiled.children["lines"]
    if not bom_ids:
        return set()
    q = sa.select(lines.c.component).where(lines.c.parent_id.in_(bom_ids), lines.c.component.is_not(None))
    return {int(c) for (c,) in conn.execute(q)}


def _walked_boms(conn: Connection, compiled: CompiledForm, item: int, skip: int) -> list[int]:
    """The BOMs of ``item`` a release would use or could: its default and its active ones (not ``skip``)."""
    t = compiled.main
    where = [t.c.item == item, t.c.deleted_at.is_(None), t.c.id != skip]
    picks = []
    if "is_default" in t.c:
        picks.append(t.c.is_default.is_(True))
    if "status" in t.c:
        picks.append(t.c.status == "active")
    if picks:
        where.append(sa.or_(*picks))
    return [int(r) for (r,) in conn.execute(sa.select(t.c.id).where(*where))]


def bom_cycle(conn: Connection, forms: Any, compiled: CompiledForm, bom_id: int) -> None:
    """Refuse BOM ``bom_id`` when following its components (and their BOMs) comes back to its item."""
    bom = D.row(conn, compiled, bom_id)
    if bom is None or bom.get("item") is None:
        return
    top = int(bom["item"])
    # depth-first over items; each item's components read once
    path: list[int] = [top]
    seen: set[int] = set()
    stack: list[tuple[int, list[int]]] = [(top, sorted(_components(conn, compiled, [bom_id])))]
    while stack:
        item, todo = stack[-1]
        if not todo:
            stack.pop()
            path.pop()
            continue
        nxt = todo.pop(0)
        if nxt == top:
            _refuse_cycle(conn, forms, bom, [*path, top])
        if nxt in seen:
            continue
        seen.add(nxt)
        path.append(nxt)
        stack.append((nxt, sorted(_components(conn, compiled, _walked_boms(conn, compiled, nxt, bom_id)))))


def _refuse_cycle(conn: Connection, forms: Any, bom: dict[str, Any], path: list[int]) -> None:
    names = D.names(conn, forms, D.ITEM, path)
    chain = " → ".join(names.get(i, f"#{i}") for i in path)
    top = names.get(path[0], f"#{path[0]}")
    if len(path) == 2:
        zh = f"物料清单 {bom.get('code') or ''} 的物料 {top} 不能用它自己做组件：请从明细中删掉这一行".replace("  ", " ")
        en = f"BOM {bom.get('code') or ''}: item {top} cannot be a component of itself; remove that line"
    else:
        zh = (f"物料清单 {bom.get('code') or ''} 的组件绕回了物料 {top}（{chain}）：一个物料不能间接用到它自己；"
              "请改正这里的明细或上述组件的物料清单").replace("  ", " ")
        en = (f"BOM {bom.get('code') or ''}: its components lead back to item {top} ({chain}); an item cannot use "
              "itself; correct these lines or the components' BOMs")
    raise InvalidInput(zh, en, detail={"cycle": [names.get(i, f"#{i}") for i in path]},
                       problems=[Problem("/lines", f"组件循环：{chain}", f"component cycle: {chain}", "cycle")])


# ---------------------------------------------------------------- routing: machines of the operation's work centre

def routing_machines(conn: Connection, forms: Any, compiled: CompiledForm, routing_id: int) -> None:
    """Refuse routing ``routing_id`` when an operation's machine belongs to another work centre."""
    ops = compiled.children["operations"]
    rows = [dict(r) for r in conn.execute(sa.select(ops).where(ops.c.parent_id == routing_id).order_by(ops.c.seq)).mappings()]
    machine_ids = [int(r["machine"]) for r in rows if r.get("machine") is not None and r.get("work_center") is not None]
    if not machine_ids:
        return
    m = D.compiled(conn, forms, D.MACHINE).main
    if "work_center" not in m.c:
        return
    centre_of = {int(i): wc for i, wc in conn.execute(sa.select(m.c.id, m.c.work_center).where(m.c.id.in_(machine_ids)))}
    wrong = [(i, r) for i, r in enumerate(rows) if r.get("machine") is not None and r.get("work_center") is not None
             and centre_of.get(int(r["machine"])) is not None and int(centre_of[int(r["machine"])]) != int(r["work_center"])]
    if not wrong:
        return
    centres = D.names(conn, forms, "work_center", [r["work_center"] for _, r in wrong]
                      + [centre_of[int(r["machine"])] for _, r in wrong])
    machines = D.names(conn, forms, D.MACHINE, [r["machine"] for _, r in wrong])
    zh_parts, en_parts, problems = [], [], []
    for i, r in wrong:
        mc, wc, own = machines[int(r["machine"])], centres[int(r["work_center"])], centres[int(centre_of[int(r["machine"])])]
        title = D.task_title({"seq": r.get("op_seq"), "name": r.get("name")})
        zh_parts.append(f"工序 {title} 的设备 {mc} 属于工作中心 {own}，不属于 {wc}")
        en_parts.append(f"operation {title}: machine {mc} belongs to work centre {own}, not {wc}")
        problems.append(Problem(f"/operations/{i}/machine", f"设备属于 {own}", f"the machine belongs to {own}", "work_center"))
    raise InvalidInput("；".join(zh_parts) + "：请选这个工作中心的设备，或改工序的工作中心",
                       "; ".join(en_parts) + ": pick a machine of the operation's work centre, or change its work centre",
                       problems=problems)
