"""The explicit context a request carries into the engines: who acts, when, and in which plant zone."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.platform.db import tables as T


@dataclass(frozen=True)
class Actor:
    id: int | None
    username: str
    is_admin: bool = False
    department_id: int | None = None
    department_ids: tuple[int, ...] = ()        # own department and every department below it
    department_codes: frozenset[str] = frozenset()   # codes of the own department and every one above it
    role_names: frozenset[str] = field(default_factory=frozenset)
    display_name: str | None = None
    # an API token narrowed to some forms (records:<form>:read|write): the only forms it reads, also
    # through references (filters, display texts); None: no such narrowing (sessions, broad tokens)
    token_forms: frozenset[str] | None = None

    def reads_form(self, form: str) -> bool:
        """May this actor's token read records of ``form`` (its role permissions are checked apart)?"""
        return self.token_forms is None or form in self.token_forms

    @property
    def scope_vars(self) -> dict[str, object]:
        return {"id": self.id, "username": self.username, "department_id": self.department_id,
                "department_ids": list(self.department_ids), "role_names": sorted(self.role_names)}


SYSTEM = Actor(id=None, username="system", is_admin=True)


@dataclass(frozen=True)
class Ctx:
    actor: Actor
    now: dt.datetime
    tz: dt.tzinfo = dt.timezone.utc

    @classmethod
    def system(cls, tz: dt.tzinfo = dt.timezone.utc) -> "Ctx":
        return cls(actor=SYSTEM, now=dt.datetime.now(dt.timezone.utc), tz=tz)


def department_subtree(conn: Connection, root: int | None) -> tuple[int, ...]:
    """``root`` and all departments below it (a small table; read whole)."""
    return _departments(conn, root)[0]


def _departments(conn: Connection, root: int | None) -> tuple[tuple[int, ...], frozenset[str]]:
    """``root`` with every department below it, and the codes of ``root`` and every department above it
    (a form permission granted to a department holds for the people of its sub-departments)."""
    if root is None:
        return (), frozenset()
    children: dict[int | None, list[int]] = {}
    up: dict[int, tuple[int | None, str]] = {}
    for did, parent, code in conn.execute(sa.select(T.department.c.id, T.department.c.parent_id, T.department.c.code)):
        children.setdefault(parent, []).append(did)
        up[did] = (parent, code)
    out, stack = [], [root]
    while stack:
        d = stack.pop()
        if d in out:
            continue
        out.append(d)
        stack.extend(children.get(d, []))
    codes: set[str] = set()
    at: int | None = root
    while at is not None and at in up and up[at][1] not in codes:
        codes.add(up[at][1])
        at = up[at][0]
    return tuple(out), frozenset(codes)


def load_actor(conn: Connection, user_id: int) -> Actor | None:
    row = conn.execute(sa.select(T.user).where(T.user.c.id == user_id)).mappings().first()
    if row is None or not row["is_active"]:
        return None
    roles = frozenset(r[0] for r in conn.execute(
        sa.select(T.role.c.name).join(T.user_role, T.user_role.c.role_id == T.role.c.id)
        .where(T.user_role.c.user_id == user_id)))
    below, codes = _departments(conn, row["department_id"])
    return Actor(id=row["id"], username=row["username"], is_admin=bool(row["is_admin"]),
                 department_id=row["department_id"], department_ids=below, department_codes=codes,
                 role_names=roles, display_name=row["display_name"])


def actor_by_username(conn: Connection, username: str) -> Actor | None:
    """The active user named ``username`` (None when there is none or it is disabled)."""
    uid = conn.execute(sa.select(T.user.c.id).where(T.user.c.username == username)).scalar()
    return load_actor(conn, uid) if uid is not None else None
