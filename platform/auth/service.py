"""Users, roles, departments and passwords.

Passwords use scrypt (a memory-hard KDF, in the standard library) with a per-user salt. Signing in
(throttled) is in :mod:`mom.platform.auth.signin`; tokens in :mod:`mom.platform.auth.tokens`, whose
functions are also reachable from here.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.platform.auth.tokens import issue_token, revoke_token, user_for_token  # noqa: F401 - the older home of these
from mom.platform.db import tables as T
from mom.platform.errors import Conflict, InvalidInput, NotFound, Problem

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


def hash_password(password: str, *, cost: int = SCRYPT_N) -> str:
    """A salted scrypt hash of ``password`` (slow on purpose: call it outside any transaction).
    ``cost`` is scrypt's n; the stored hash names it, so a check reads it back. Only test fixtures lower it."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=cost, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${cost}${SCRYPT_R}${SCRYPT_P}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, stored: str | None) -> bool:
    """Does ``password`` match ``stored``? As slow as hashing: call it outside any transaction."""
    if not stored or not stored.startswith("scrypt$"):
        return False
    _, n, r, p, salt, digest = stored.split("$")
    test = hashlib.scrypt(password.encode("utf-8", "surrogatepass"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=32)
    return hmac.compare_digest(test, base64.b64decode(digest))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def check_password_policy(password: str) -> None:
    if len(password) < 8:
        raise InvalidInput("密码至少 8 位", "the password needs at least 8 characters",
                           problems=[Problem("/password", "密码至少 8 位", "at least 8 characters", "min_length")])


def department_id(conn: Connection, code: str | None) -> int | None:
    if code is None:
        return None
    did = conn.execute(sa.select(T.department.c.id).where(T.department.c.code == code)).scalar()
    if did is None:
        raise NotFound(f"部门 {code} 不存在", f"department {code} does not exist")
    return int(did)


def ensure_role(conn: Connection, name: str, label: Any = None) -> int:
    """The role's id, created if missing; a role made without a label (for a user, before the pack that
    names it came) gets the label now. An existing label is the plant's: it stays."""
    row = conn.execute(sa.select(T.role.c.id, T.role.c.label).where(T.role.c.name == name)).first()
    if row is None:
        return int(conn.execute(T.role.insert().values(name=name, label=label).returning(T.role.c.id)).scalar_one())
    if row.label is None and label is not None:
        conn.execute(T.role.update().where(T.role.c.id == row.id).values(label=label))
    return int(row.id)


def ensure_department(conn: Connection, code: str, name: str, parent_code: str | None = None) -> int:
    did = conn.execute(sa.select(T.department.c.id).where(T.department.c.code == code)).scalar()
    if did is None:
        did = conn.execute(T.department.insert().values(code=code, name=name, parent_id=department_id(conn, parent_code))
                           .returning(T.department.c.id)).scalar_one()
    return int(did)


def create_user(conn: Connection, *, username: str, password: str | None = None, display_name: str | None = None,
                is_admin: bool = False, department: str | None = None, roles: list[str] | None = None,
                password_hash: str | None = None) -> int:
    """Create a user; give ``password_hash`` (made before the transaction) rather than ``password`` to keep
    the slow hashing out of the write transaction."""
    import re

    if not re.fullmatch(r"[A-Za-z0-9_.@-]{2,64}", username or ""):
        raise InvalidInput("用户名只能包含字母、数字和 _.@-，2 到 64 位", "a username is 2-64 letters, digits or _.@-",
                           problems=[Problem("/username", "用户名格式不对", "invalid username", "pattern")])
    if conn.execute(sa.select(T.user.c.id).where(T.user.c.username == username)).scalar() is not None:
        raise Conflict(f"用户 {username} 已存在", f"user {username} already exists")
    if password is not None:
        check_password_policy(password)
    uid = conn.execute(T.user.insert().values(
        username=username, display_name=display_name or username, password_hash=password_hash or (hash_password(password) if password else None),
        is_admin=is_admin, is_active=True, department_id=department_id(conn, department), created_at=_now()
    ).returning(T.user.c.id)).scalar_one()
    for r in roles or []:
        conn.execute(T.user_role.insert().values(user_id=uid, role_id=ensure_role(conn, r)))
    return int(uid)
