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


def department_head(conn: Connection, department_id: int | None, levels: int = 1) -> int | None:
    """Head of the department ``levels - 1`` steps above ``department_id``; a department without a head
    passes the task up to its parent's head."""
    seen: set[int] = set()
    step, dept = 1, department_id
    while dept is not None and dept not in seen:
        seen.add(dept)
        row = conn.execute(sa.select(T.department.c.head_user_id, T.department.c.parent_id)
                           .where(T.department.c.id == dept)).first()
        if row is None:
            return None
        if step >= levels and row[0] is not None:
            return int(row[0])
        step, dept = step + 1, row[1]
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
