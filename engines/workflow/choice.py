"""发起人自选: approval nodes whose approvers the initiator chooses when submitting.

A node lists ``{"type": "chosen", "max": 3}`` among its assignees, optionally with ``users`` and/or
``roles``: then only those users (or members of those roles) may be chosen. At submit the initiator
sends ``approvers: {node id: [username, …]}``; each list is checked here (the node allows it, one to
``max`` active users, within the candidates) and stored on the instance as user ids.

With a record, only the chooser nodes on the path its current values take are offered
(:mod:`prediction`): a choice is required for a node the record certainly reaches, optional for one a
condition not yet decidable may lead to; a node reached later without a choice acts as its
``on_empty`` says (passes on, or goes to the administrators).
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.workflow.prediction import CERTAIN
from mom.engines.workflow.spec import Assignee, NodeSpec, WorkflowSpec
from mom.platform.db import tables as T
from mom.platform.errors import InvalidInput, Problem

#: Users a candidate list offers at most (a role with more members is cut here; the check is exact).
MAX_CANDIDATES = 500


def _chosen_entry(node: NodeSpec) -> Assignee | None:
    return next((a for a in node.assignees if a.type == "chosen"), None)


def choice_nodes(spec: WorkflowSpec) -> list[tuple[NodeSpec, Assignee]]:
    """The flow's nodes whose approvers the initiator chooses, in flow order, with their ``chosen`` entry."""
    out = []
    for node in spec.nodes.values():
        entry = _chosen_entry(node) if node.type == "approval" else None
        if entry is not None:
            out.append((node, entry))
    return out


def _required(node: NodeSpec, path: dict[str, str] | None) -> bool:
    """A choice is needed: the node has no other approvers and the record certainly reaches it (when known)."""
    return len(node.assignees) == 1 and (path is None or path.get(node.id) == CERTAIN)


def _candidates_query(entry: Assignee) -> sa.Select:
    U = T.user
    q = sa.select(U.c.id, U.c.username, U.c.display_name).where(U.c.is_active.is_(True))
    conds = []
    if entry.users:
        conds.append(U.c.username.in_(entry.users))
    if entry.roles:
        conds.append(U.c.id.in_(sa.select(T.user_role.c.user_id).join(T.role, T.role.c.id == T.user_role.c.role_id)
                                .where(T.role.c.name.in_(entry.roles))))
    return q.where(sa.or_(*conds)) if conds else q


def choices(conn: Connection, spec: WorkflowSpec, exclude: int | None = None, q: str | None = None,
            node_id: str | None = None, path: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """What the submit dialog offers: each node to choose for (only ``node_id`` when given), its limit and
    its candidates (all active users when the node names none; never ``exclude``, the one submitting), at
    most MAX_CANDIDATES of them (``more``: there are others; ``q`` narrows by name or username).
    ``path`` (``runtime.record_path``): only the nodes on it; ``required`` says whether a choice is needed,
    ``certain`` whether the record surely reaches the node (else a later condition decides)."""
    out = []
    for node, entry in choice_nodes(spec):
        if node_id is not None and node.id != node_id:
            continue
        if path is not None and node.id not in path:
            continue
        query = _candidates_query(entry)
        if exclude is not None:
            query = query.where(T.user.c.id != exclude)
        if q:
            needle = q.strip().lower()
            query = query.where(sa.or_(sa.func.lower(T.user.c.username).contains(needle, autoescape=True),
                                       sa.func.lower(T.user.c.display_name).contains(needle, autoescape=True)))
        rows = conn.execute(query.order_by(T.user.c.id).limit(MAX_CANDIDATES + 1)).all()
        out.append({"node_id": node.id, "label": node.label, "max": entry.max, "restricted": bool(entry.users or entry.roles),
                    "required": _required(node, path), "certain": path is None or path.get(node.id) == CERTAIN,
                    "more": len(rows) > MAX_CANDIDATES,
                    "candidates": [{"username": r.username, "display_name": r.display_name or r.username}
                                   for r in rows[:MAX_CANDIDATES]]})
    return out


def _bad(path: str, zh: str, en: str, code: str = "invalid") -> InvalidInput:
    return InvalidInput(f"发起人自选审批人有误：{zh}", f"the approvers you chose are not valid: {en}",
                        problems=[Problem(path, zh, en, code)])


def chosen_approvers(conn: Connection, spec: WorkflowSpec, raw: Any, *, trigger: str = "submit",
                     initiator: int | None = None, path: dict[str, str] | None = None) -> dict[str, list[int]]:
    """The initiator's choice (``{node id: [username, …]}``) checked against the flow; user ids per node.
    The initiator may not choose themselves (nobody approves their own request).
    A node that lets the initiator choose needs a choice when a person submits (not when a condition or
    a rule starts the flow: then the node has only its other approvers), and with ``path`` (the record's,
    ``runtime.record_path``) only when the record certainly reaches the node."""
    nodes = dict((n.id, (n, e)) for n, e in choice_nodes(spec))
    if raw is None:
        raw = {}
    if not isinstance(raw, dict) or len(raw) > 50:
        raise _bad("/approvers", "应为“节点 → 用户名列表”的对象", "expected an object of node id -> list of usernames", "type")
    out: dict[str, list[int]] = {}
    for key, names in raw.items():
        path = f"/approvers/{key}"
        if key not in nodes:
            allowed = "、".join(text(n.label) for n, _ in nodes.values()) or "无"
            raise _bad(path, f"流程中没有可由发起人选择审批人的节点 {key}（可选：{allowed}）",
                       f"the flow has no node {key} whose approvers you choose", "unknown_node")
        node, entry = nodes[key]
        where = text(node.label)
        if not isinstance(names, list) or not all(isinstance(x, str) and 0 < len(x) <= 64 for x in names):
            raise _bad(path, f"「{where}」的审批人应为用户名列表", f"the approvers of {key} must be a list of usernames", "type")
        names = list(dict.fromkeys(names))
        if len(names) > entry.max:
            raise _bad(path, f"「{where}」最多选 {entry.max} 人，你选了 {len(names)} 人", f"{key}: at most {entry.max} people, got {len(names)}",
                       "too_many")
        if not names:
            continue
        found = {r.username: int(r.id) for r in conn.execute(_candidates_query(entry).where(T.user.c.username.in_(names)))}
        missing = [n for n in names if n not in found]
        if missing:
            if entry.users or entry.roles:
                zh, en = f"「{where}」只能从指定范围中选择，{', '.join(missing)} 不在其中或已停用", f"{key}: {', '.join(missing)} not among the candidates or disabled"
            else:
                zh, en = f"用户 {', '.join(missing)} 不存在或已停用", f"user(s) {', '.join(missing)} do not exist or are disabled"
            raise _bad(path, zh, en, "unknown_user")
        if initiator is not None and initiator in found.values():
            raise _bad(path, f"「{where}」不能选择你自己审批自己的申请，请另选审批人",
                       f"{key}: you cannot approve your own request; choose someone else", "self")
        out[key] = [found[n] for n in names]
    if trigger == "submit":
        need = [n for k, (n, _) in nodes.items() if k not in out and _required(n, path)]
        if need:
            n = need[0]
            raise _bad(f"/approvers/{n.id}", f"请为「{text(n.label)}」选择审批人（最多 {_chosen_entry(n).max} 人）",   # type: ignore[union-attr]
                       f"choose the approvers of {n.id}", "required")
    return out


def text(label: Any) -> str:
    return (label or {}).get("zh-CN") or (label or {}).get("en") or ""
