"""Moving running instances to another version of their workflow: previewed first, then applied
explicitly. An instance can move when every node it waits at (and every parallel block it is inside)
exists in the target version with the same kind; others stay on their version and say why."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.workflow.instance import BadState, WorkflowInstance
from mom.engines.workflow.runtime import ACTIVE, EV, I, TK
from mom.engines.workflow.spec import WorkflowSpec
from mom.engines.workflow.store import WorkflowRegistry
from mom.platform.errors import InvalidInput


def _check(inst: WorkflowInstance, old: WorkflowSpec, new: WorkflowSpec, open_nodes: set[str]) -> str | None:
    state = inst.state
    blocks = set(state.joins) | {p for t in state.tokens for p, _ in t.stack}   # blocks whose branches join
    needed = {t.node for t in state.tokens} | blocks | open_nodes
    ret = state.return_to
    if ret is not None:
        needed |= {v for v in (ret.resume_at, ret.target) if v and v != "initiator"}
    for nid in sorted(needed):
        if nid not in new.nodes:
            return f"node {nid} does not exist in version {new.version} / 节点 {nid} 在版本 {new.version} 中不存在"
        if nid in old.nodes and old.node(nid).type != new.node(nid).type:
            return f"node {nid} changed kind ({old.node(nid).type} -> {new.node(nid).type}) / 节点 {nid} 类型改变"
        if nid in blocks and nid in old.nodes and len(new.node(nid).branches) != len(old.node(nid).branches):
            return f"parallel {nid} has a different number of branches / 并行节点 {nid} 分支数不同"
    return None


def plan(conn: Connection, flows: WorkflowRegistry, name: str, from_version: int, to_version: int | None = None,
         instance_ids: list[int] | None = None) -> dict[str, Any]:
    new = flows.get(conn, name, to_version)
    old = flows.get(conn, name, from_version)
    if new.version == old.version:
        raise InvalidInput("源版本与目标版本相同", "from and to are the same version")
    q = sa.select(I).where(I.c.workflow == name, I.c.version == from_version, I.c.status.in_(ACTIVE))
    if instance_ids:
        q = q.where(I.c.id.in_(instance_ids))
    items = []
    for row in conn.execute(q.order_by(I.c.id)).mappings():
        try:
            inst = WorkflowInstance.from_row(row)
        except BadState as exc:    # stays where it is, saying why; the others still move
            items.append({"instance_id": row["id"], "record_id": row["record_id"], "movable": False,
                          "reason": f"{exc.en} / {exc.zh}"})
            continue
        open_nodes = {r[0] for r in conn.execute(sa.select(TK.c.node_id).where(
            TK.c.instance_id == inst.id, TK.c.status.in_(("pending", "waiting", "delegated"))))}
        reason = _check(inst, old, new, open_nodes)
        items.append({"instance_id": inst.id, "record_id": inst.record_id, "movable": reason is None, "reason": reason})
    return {"workflow": name, "from_version": from_version, "to_version": new.version, "instances": items,
            "movable": sum(1 for i in items if i["movable"]), "blocked": sum(1 for i in items if not i["movable"])}


def apply(conn: Connection, flows: WorkflowRegistry, name: str, from_version: int, to_version: int | None = None,
          instance_ids: list[int] | None = None, *, actor_id: int | None, now: Any) -> dict[str, Any]:
    """Move the movable instances of the plan; blocked ones stay where they are."""
    p = plan(conn, flows, name, from_version, to_version, instance_ids)
    moved = []
    for item in p["instances"]:
        if not item["movable"]:
            continue
        res = conn.execute(I.update().where(I.c.id == item["instance_id"], I.c.version == from_version,
                                            I.c.status.in_(ACTIVE)).values(version=p["to_version"], row_version=I.c.row_version + 1))
        if res.rowcount == 1:
            conn.execute(EV.insert().values(instance_id=item["instance_id"], at=now, actor_id=actor_id, action="migrated",
                                            data={"from": from_version, "to": p["to_version"]}))
            moved.append(item["instance_id"])
    return {**p, "moved": moved}
