"""The equipment ledger's hierarchy (设备台账: 产线 → 设备 → 部件, issue 23).

A machine (设备) hangs under a line (产线) or nothing, a component (部件) under a machine or another
component, a line under nothing; following the parents never comes back to the record itself.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.forms.compile import CompiledForm
from mom.platform.errors import InvalidInput, Problem

KIND_ZH = {"line": "产线", "machine": "设备", "component": "部件"}
#: the kinds a record of each kind may hang under
PARENTS = {"line": (), "machine": ("line",), "component": ("machine", "component")}
MAX_DEPTH = 50


def check_parent(conn: Connection, compiled: CompiledForm, record_id: int | None, row: Mapping[str, Any], at: str) -> None:
    """Refuse a parent of the wrong level or one that makes a loop, naming the field and how to fix it."""
    parent_id, kind = row.get("parent_equipment"), row.get("kind") or "machine"
    if parent_id is None:
        return
    t = compiled.main
    parent = conn.execute(sa.select(t.c.id, t.c.kind, t.c.name, t.c.parent_equipment).where(
        t.c.id == int(parent_id), t.c.deleted_at.is_(None))).mappings().first()
    if parent is None:
        return                           # the reference check names a missing record
    allowed = PARENTS.get(str(kind), ())
    if parent["kind"] not in allowed:
        want = "、".join(KIND_ZH[k] for k in allowed) or "无（产线是最上一层）"
        raise InvalidInput(f"{KIND_ZH.get(str(kind), kind)}的上级应为{want}，「{parent['name']}」是{KIND_ZH.get(parent['kind'], parent['kind'])}",
                           f"a {kind}'s parent is a {' or '.join(allowed) or 'nothing'}; {parent['name']} is a {parent['kind']}",
                           problems=[Problem(f"{at}/parent_equipment", f"上级应为{want}", "wrong level", "invalid")])
    seen, cur = set(), parent
    while cur is not None and len(seen) < MAX_DEPTH:
        if record_id is not None and int(cur["id"]) == int(record_id):
            raise InvalidInput("上级不能是这台设备自己或它下面的部件：请选别的上级", "the parent may not be the record itself or below it",
                               problems=[Problem(f"{at}/parent_equipment", "形成了循环", "makes a loop", "invalid")])
        seen.add(int(cur["id"]))
        nxt = cur.get("parent_equipment")
        cur = conn.execute(sa.select(t.c.id, t.c.parent_equipment).where(t.c.id == int(nxt))).mappings().first() \
            if nxt is not None and int(nxt) not in seen else None
