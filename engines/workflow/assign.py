"""Who gets a task: users, roles, the initiator's department head n levels up, a user or department
field of the record, or the initiator. Order is kept (it is the order of a sequential node)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.workflow.spec import Assignee
from mom.platform.db import tables as T


def _active(conn: Connection, q: sa.Select) -> list[int]:
    return [int(r[0]) for r in conn.execute(q.where(T.user.c.is_active.is_(True)).order_by(T.user.c.id))]


def _answering(conn: Connection, head: int | None, deputy: int | None) -> int | None:
    """Who answers for a department: its head, else its deputy (a user not set or disabled is absent)."""
    want = [u for u in (head, deputy) if u is not None]
    if not want:
        return None
    active = {int(r[0]) for r in conn.execute(sa.select(T.user.c.id).where(T.user.c.id.in_(want), T.user.c.is_active.is_(True)))}
    return next((u for u in want if u in active), None)


def department_head(conn: Connection, department_id: int | None, levels: int = 1) -> int | None:
    """Head of the department ``levels - 1`` steps above ``department_id`` (its deputy when the head is
    not set or disabled); a department with neither passes the task up to its parent's head."""
    seen: set[int] = set()
    step, dept = 1, department_id
    while dept is not None and dept not in seen:
        seen.add(dept)
        row = conn.execute(sa.select(T.department.c.head_user_id, T.department.c.deputy_user_id, T.department.c.parent_id)
                           .where(T.department.c.id == dept)).first()
        if row is None:
            return None
        who = _answering(conn, row[0], row[1]) if step >= levels else None
        if who is not None:
            return who
        step, dept = step + 1, row[2]
    return None


def no_head_reason(conn: Connection, department_id: int | None, levels: int = 1) -> tuple[str, str]:
    """Why a department-head approver found nobody, in words for the initiator and the administrator."""
    if department_id is None:
        return ("发起人没有所属部门，找不到主管：请管理员在「系统管理 › 用户」为其设置部门",
                "the initiator belongs to no department, so there is no head: an administrator sets their department "
                "under Admin › Users")
    name = conn.execute(sa.select(T.department.c.name).where(T.department.c.id == department_id)).scalar() or ""
    up = f"往上第 {levels - 1} 级" if levels > 1 else ""
    up_en = f" {levels - 1} level(s) up" if levels > 1 else ""
    return (f"部门「{name}」{up}及其上级部门都没有设置主管或副主管（或已停用）：请管理员在「系统管理 › 部门」设置主管",
            f"department “{name}”{up_en} and those above it have no active head or deputy: an administrator sets one "
            "under Admin › Departments")


def empty_reason(conn: Connection, specs: Iterable[Assignee], *, initiator_department_id: int | None) -> tuple[str, str] | None:
    """When a node's assignees resolved to nobody and one of them is a department head: why (zh, en)."""
    for a in specs:
        if a.type == "department_head":
            return no_head_reason(conn, initiator_department_id, a.levels)
    return None


def resolve(conn: Connection, specs: Iterable[Assignee], *, initiator_id: int | None,
            initiator_department_id: int | None, record: Mapping[str, Any],
            field_types: Mapping[str, str]) -> list[int]:
    out: list[int] = []
    for a in specs:
        if a.type == "user":
            found = dict(conn.execute(sa.select(T.user.c.username, T.user.c.id)
                                      .where(T.user.c.username.in_(a.users), T.user.c.is_active.is_(True))).all())
            ids = [int(found[u]) for u in a.users if u in found]
        elif a.type == "role":
            ids = _active(conn, sa.select(T.user.c.id).join(T.user_role, T.user_role.c.user_id == T.user.c.id)
                          .join(T.role, T.role.c.id == T.user_role.c.role_id).where(T.role.c.name.in_(a.roles)))
        elif a.type == "department_head":
            head = department_head(conn, initiator_department_id, a.levels)
            ids = [head] if head is not None else []
        elif a.type == "field":
            value = record.get(a.field or "")
            ids = []
            if value is not None:
                kind = field_types.get(a.field or "")
                if kind == "department":
                    head = department_head(conn, int(value), a.levels)
                    ids = [head] if head is not None else []
                else:
                    ids = [int(value)]
        else:  # initiator
            ids = [initiator_id] if initiator_id is not None else []
        out.extend(i for i in ids if i not in out)
    return out


def admins(conn: Connection) -> list[int]:
    return _active(conn, sa.select(T.user.c.id).where(T.user.c.is_admin.is_(True)))


def usernames(conn: Connection, ids: Iterable[int | None]) -> dict[int, str]:
    want = {i for i in ids if i is not None}
    if not want:
        return {}
    return {int(r[0]): r[1] for r in conn.execute(sa.select(T.user.c.id, T.user.c.display_name).where(T.user.c.id.in_(want)))}


def user_id(conn: Connection, username: Any) -> int | None:
    if isinstance(username, int):
        found = conn.execute(sa.select(T.user.c.id).where(T.user.c.id == username, T.user.c.is_active.is_(True))).scalar()
    else:
        found = conn.execute(sa.select(T.user.c.id).where(T.user.c.username == str(username), T.user.c.is_active.is_(True))).scalar()
    return int(found) if found is not None else None
