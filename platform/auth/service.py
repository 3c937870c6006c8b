"""Users, roles, departments, passwords and tokens.

Passwords use scrypt (a memory-hard KDF, in the standard library) with a per-user salt. Tokens are
random, shown once, and stored only as SHA-256 hashes: session tokens (login) expire; API tokens
for machines and integrations live until revoked or their expiry.
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

from mom.platform.db import tables as T
from mom.platform.errors import AuthRequired, Conflict, InvalidInput, NotFound, Problem

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, stored: str | None) -> bool:
    if not stored or not stored.startswith("scrypt$"):
        return False
    _, n, r, p, salt, digest = stored.split("$")
    test = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=32)
    return hmac.compare_digest(test, base64.b64decode(digest))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


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
    rid = conn.execute(sa.select(T.role.c.id).where(T.role.c.name == name)).scalar()
    if rid is None:
        rid = conn.execute(T.role.insert().values(name=name, label=label).returning(T.role.c.id)).scalar_one()
    return int(rid)


def ensure_department(conn: Connection, code: str, name: str, parent_code: str | None = None) -> int:
    did = conn.execute(sa.select(T.department.c.id).where(T.department.c.code == code)).scalar()
    if did is None:
        did = conn.execute(T.department.insert().values(code=code, name=name, parent_id=department_id(conn, parent_code))
                           .returning(T.department.c.id)).scalar_one()
    return int(did)


def create_user(conn: Connection, *, username: str, password: str | None, display_name: str | None = None,
                is_admin: bool = False, department: str | None = None, roles: list[str] | None = None) -> int:
    import re

    if not re.fullmatch(r"[A-Za-z0-9_.@-]{2,64}", username or ""):
        raise InvalidInput("用户名只能包含字母、数字和 _.@-，2 到 64 位", "a username is 2-64 letters, digits or _.@-",
                           problems=[Problem("/username", "用户名格式不对", "invalid username", "pattern")])
    if conn.execute(sa.select(T.user.c.id).where(T.user.c.username == username)).scalar() is not None:
        raise Conflict(f"用户 {username} 已存在", f"user {username} already exists")
    if password is not None:
        check_password_policy(password)
    uid = conn.execute(T.user.insert().values(
        username=username, display_name=display_name or username, password_hash=hash_password(password) if password else None,
        is_admin=is_admin, is_active=True, department_id=department_id(conn, department), created_at=_now()
    ).returning(T.user.c.id)).scalar_one()
    for r in roles or []:
        conn.execute(T.user_role.insert().values(user_id=uid, role_id=ensure_role(conn, r)))
    return int(uid)


def issue_token(conn: Connection, user_id: int, *, kind: str = "session", name: str | None = None,
                ttl: dt.timedelta | None = None) -> dict[str, Any]:
    token = "mom_" + secrets.token_urlsafe(32)
    expires = _now() + ttl if ttl else None
    tid = conn.execute(T.token.insert().values(token_hash=_hash_token(token), user_id=user_id, kind=kind, name=name,
                                               created_at=_now(), expires_at=expires).returning(T.token.c.id)).scalar_one()
    return {"access_token": token, "token_type": "bearer", "id": int(tid),
            "expires_at": expires.isoformat().replace("+00:00", "Z") if expires else None}


def login(conn: Connection, username: str, password: str, ttl: dt.timedelta) -> dict[str, Any]:
    row = conn.execute(sa.select(T.user.c.id, T.user.c.password_hash, T.user.c.is_active)
                       .where(T.user.c.username == username)).first()
    if row is None or not row.is_active or not verify_password(password, row.password_hash):
        raise AuthRequired("用户名或密码错误", "wrong username or password")
    return issue_token(conn, int(row.id), kind="session", ttl=ttl)


def user_for_token(conn: Connection, token: str) -> int:
    row = conn.execute(sa.select(T.token.c.user_id, T.token.c.expires_at, T.token.c.revoked_at)
                       .where(T.token.c.token_hash == _hash_token(token))).first()
    if row is None or row.revoked_at is not None or (row.expires_at is not None and row.expires_at < _now()):
        raise AuthRequired("登录已失效，请重新登录", "the token is invalid or expired; sign in again")
    return int(row.user_id)


def revoke_token(conn: Connection, user_id: int, token_id: int, *, is_admin: bool = False) -> None:
    q = T.token.update().where(T.token.c.id == token_id)
    if not is_admin:
        q = q.where(T.token.c.user_id == user_id)
    if conn.execute(q.values(revoked_at=_now())).rowcount != 1:
        raise NotFound(f"令牌 {token_id} 不存在", f"token {token_id} does not exist")
