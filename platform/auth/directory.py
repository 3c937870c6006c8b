"""The department directory: departments, their parent, head (主管) and deputy (副主管).

Heads are what the workflow's department-head approvers (直属主管 / 连续多级主管) resolve to
(:mod:`mom.engines.workflow.assign`): the head, else the deputy when the head is not set or disabled.
Set through ``POST/PATCH /api/admin/departments``, ``mom dept`` and the admin screen.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.platform.auth.service import department_id, ensure_department
from mom.platform.db import tables as T
from mom.platform.errors import InvalidInput, NotFound, Problem

UNSET: Any = object()
_ROLE_ZH = {"head": "主管", "deputy": "副主管", "parent": "上级部门"}


def _user(conn: Connection, username: str | None, key: str) -> int | None:
    """The id of the active user ``username`` (None clears); 422 naming ``/key`` otherwise."""
    if username is None or username == "":
        return None
    row = conn.execute(sa.select(T.user.c.id, T.user.c.is_active).where(T.user.c.username == username)).first()
    if row is None or not row.is_active:
        why = "不存在" if row is None else "已停用"
        raise InvalidInput(f"{_ROLE_ZH[key]}：用户 {username} {why}，请从用户列表中选择一位在职的用户",
                           f"{key}: user {username} {'does not exist' if row is None else 'is disabled'}; "
                           "pick an active user from the list",
                           problems=[Problem(f"/{key}", f"用户 {username} {why}", f"no active user {username}", "unknown")])
    return int(row.id)


def _dept(conn: Connection, code: str) -> Any:
    row = conn.execute(sa.select(T.department).where(T.department.c.code == code)).first()
    if row is None:
        raise NotFound(f"部门 {code} 不存在：请核对部门编码，或先新建它", f"department {code} does not exist: check the code, "
                       "or create it first")
    return row


def _check_parent(conn: Connection, did: int, parent_id: int | None) -> None:
    """Refuse a parent that is the department itself or below it (a cycle would lose the head chain)."""
    seen, cur = set(), parent_id
    while cur is not None and cur not in seen:
        if cur == did:
            raise InvalidInput("上级部门不能是它自己或它的下级部门", "the parent cannot be the department itself or one below it",
                               problems=[Problem("/parent", "会形成循环", "would make a cycle", "cycle")])
        seen.add(cur)
        cur = conn.execute(sa.select(T.department.c.parent_id).where(T.department.c.id == cur)).scalar()


def update_department(conn: Connection, code: str, *, name: Any = UNSET, parent: Any = UNSET, head: Any = UNSET,
                      deputy: Any = UNSET) -> dict[str, Any]:
    """Change what is given (``None`` clears the parent, head or deputy); heads and deputies by username."""
    row = _dept(conn, code)
    values: dict[str, Any] = {}
    if name is not UNSET and name is not None:
        values["name"] = name
    if parent is not UNSET:
        values["parent_id"] = department_id(conn, parent) if parent else None
        _check_parent(conn, int(row.id), values["parent_id"])
    if head is not UNSET:
        values["head_user_id"] = _user(conn, head, "head")
    if deputy is not UNSET:
        values["deputy_user_id"] = _user(conn, deputy, "deputy")
    if values:
        conn.execute(T.department.update().where(T.department.c.id == row.id).values(**values))
    return department(conn, code)


def create_department(conn: Connection, code: str, name: str, parent: str | None = None, *, head: str | None = None,
                      deputy: str | None = None) -> dict[str, Any]:
    """Create the department (an existing code is kept as it is) and set the head and deputy given."""
    ensure_department(conn, code, name, parent)
    extra = {k: v for k, v in (("head", head), ("deputy", deputy)) if v is not None}
    return update_department(conn, code, **extra) if extra else department(conn, code)


def listing(conn: Connection) -> list[dict[str, Any]]:
    """Every department with its parent's code, head and deputy (username and name) and member count."""
    users = {r.id: {"id": r.id, "username": r.username, "display_name": r.display_name, "is_active": r.is_active}
             for r in conn.execute(sa.select(T.user.c.id, T.user.c.username, T.user.c.display_name, T.user.c.is_active))}
    counts = dict(conn.execute(sa.select(T.user.c.department_id, sa.func.count()).group_by(T.user.c.department_id)).all())
    rows = list(conn.execute(sa.select(T.department).order_by(T.department.c.code)))
    codes = {r.id: r.code for r in rows}
    return [{"id": r.id, "code": r.code, "name": r.name, "parent_id": r.parent_id, "parent": codes.get(r.parent_id),
             "head_user_id": r.head_user_id, "deputy_user_id": r.deputy_user_id,
             "head": users.get(r.head_user_id), "deputy": users.get(r.deputy_user_id),
             "members": int(counts.get(r.id, 0))} for r in rows]


def department(conn: Connection, code: str) -> dict[str, Any]:
    return next(d for d in listing(conn) if d["code"] == code)
