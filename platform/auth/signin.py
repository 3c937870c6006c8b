"""Signing in with a user name and password: throttled, constant-time, and never hashing under a lock.

The steps, each in its own short transaction so that the slow password hash (scrypt, tens of ms)
never holds a connection, a row lock or SQLite's single writer:

1. read the user and the throttle counters; refuse at once (429) while blocked;
2. charge the try against the user name and the address (a short write);
3. verify the password outside any transaction; a user name that does not exist (or a disabled
   user, or one without a password) is checked against a dummy hash of the same cost, so the answer
   takes as long and says the same;
4. settle: on success clear the counter and issue the session token; on failure keep the charge
   (and audit a lock it started).
"""
from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mom.platform.auth import service, throttle
from mom.platform.auth.tokens import issue_token, now
from mom.platform.db import tables as T
from mom.platform.db.engine import read_tx, write_tx
from mom.platform.errors import AuthRequired, TooManyAttempts
from mom.platform.settings import Settings


@cache
def dummy_hash() -> str:
    """A hash of the same cost as a real one, checked for user names that have none."""
    return service.hash_password("no user has this password")


@dataclass
class Attempt:
    """One sign-in try between its steps: who, from where, when, the user row and the charge taken."""

    username: str
    password: str
    address: str
    at: dt.datetime
    user: Any
    charge: throttle.Charge


def begin(engine: Engine, settings: Settings, *, username: str, password: str, address: str) -> Attempt:
    """Steps 1-2: refuse a blocked user name or address (429), else charge the try."""
    at = now()
    with read_tx(engine) as conn:
        block = throttle.check(conn, username, address, at)
        user = conn.execute(sa.select(T.user.c.id, T.user.c.password_hash, T.user.c.is_active)
                            .where(T.user.c.username == username)).first()
    if block is not None:
        raise too_many(block, settings, at)
    with write_tx(engine) as conn:
        ch = throttle.charge(conn, username, address, at, settings)
    if isinstance(ch, throttle.Block):
        raise too_many(ch, settings, at)
    return Attempt(username, password, address, at, user, ch)


def password_ok(attempt: Attempt) -> bool:
    """Step 3, the slow one (no connection held): the same work whether or not the user exists."""
    user = attempt.user
    usable = user is not None and user.is_active and bool(user.password_hash)
    return service.verify_password(attempt.password, user.password_hash if usable else dummy_hash()) and usable


def finish(engine: Engine, settings: Settings, attempt: Attempt, ok: bool) -> dict[str, Any]:
    """Step 4: a session token, or 401 / 429 after keeping the charge."""
    if ok:
        with write_tx(engine) as conn:
            throttle.settle_success(conn, attempt.username, attempt.address, attempt.charge)
            return issue_token(conn, int(attempt.user.id), kind="session",
                               ttl=dt.timedelta(minutes=settings.token_ttl_minutes))
    if attempt.charge.starts_lock():   # the charge is kept as it is; only a lock it starts is written down
        with write_tx(engine) as conn:
            throttle.settle_failure(conn, attempt.username, attempt.address, attempt.charge,
                                    int(attempt.user.id) if attempt.user is not None else None)
    block = attempt.charge.block()
    if block is not None:
        raise too_many(block, settings, attempt.at)
    raise AuthRequired("用户名或密码错误", "wrong username or password")


def sign_in(engine: Engine, settings: Settings, *, username: str, password: str, address: str) -> dict[str, Any]:
    """A session token for ``username``, or 401 (wrong user name or password) / 429 (too many failures)."""
    attempt = begin(engine, settings, username=username, password=password, address=address)
    return finish(engine, settings, attempt, password_ok(attempt))


def too_many(block: throttle.Block, settings: Settings, at: dt.datetime) -> TooManyAttempts:
    """The 429 for a blocked user name or address. It never says whether the password was right."""
    wait = block.retry_after(at)
    try:
        tz: dt.tzinfo = zoneinfo.ZoneInfo(settings.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = dt.timezone.utc
    detail = {"until": block.until.isoformat().replace("+00:00", "Z") if block.until else None, "locked": block.locked}
    if block.until is None:
        return TooManyAttempts(
            "登录失败次数过多，此用户名或本机地址已被锁定，需管理员解锁：请联系系统管理员",
            "too many failed sign-ins: this user name or this computer's address is locked until an administrator "
            "unlocks it; please ask your administrator", retry_after=wait, detail=detail)
    local = block.until.astimezone(tz)
    when = local.strftime("%H:%M:%S") if block.until - at < dt.timedelta(hours=12) else local.strftime("%Y-%m-%d %H:%M")
    if block.locked:
        return TooManyAttempts(
            f"登录失败次数过多，此用户名或本机地址已被锁定至 {when}：请到时再试，或请系统管理员解锁",
            f"too many failed sign-ins: this user name or this computer's address is locked until {when}; "
            f"try again then, or ask your administrator to unlock it", retry_after=wait, detail=detail)
    return TooManyAttempts(
        f"登录失败次数过多，请在 {wait} 秒后（{when}）再试；如果忘记密码，请联系系统管理员",
        f"too many failed sign-ins; try again in {wait} s (at {when}), or ask your administrator if you forgot "
        f"the password", retry_after=wait, detail=detail)
