"""Sign-in throttling: failures counted per user name and per client address, in the database.

The counters live in ``mom_login_throttle`` so that every worker process (``mom serve --workers N``)
and every server on the same database sees the same ones. Per key (a user name, also one that does
not exist, or an address):

- failures older than ``login_window_minutes`` are forgotten;
- from the ``login_max_failures``-th failure on, each further try must wait ``login_backoff_seconds``,
  doubling per failure up to ``login_backoff_max_seconds`` (429 with Retry-After);
- the ``login_lock_failures``-th failure locks the key for ``login_lock_minutes`` (0: until an
  administrator unlocks it); a lock and an unlock are written to the audit log;
- an address's back-off is at most ``login_address_backoff_max_seconds`` (30) and by default it is
  never locked (``login_address_lock_failures`` 0): many people share one address (NAT, shop-floor
  terminals), and one client failing once every few minutes must not keep all of them out — a user
  whose own count is clean waits at most that short back-off with the right password;
- a successful sign-in clears its user name's counter (not the address's: one known account must
  not reopen an address for guessing other accounts).

A try is charged *before* its password is checked (and the charge is taken back on success), so
parallel guesses cannot all slip past the limit while their hashes are being computed; and a try
while blocked is refused before any password is checked, so it says nothing about the password.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.platform.db import tables as T
from mom.platform.settings import Settings

USER, ADDRESS = "user", "address"
AUDIT_FORM = "mom_login_throttle"
L = T.login_throttle.c


@dataclass(frozen=True)
class Block:
    """A key that may not sign in now: until when (None: until an administrator unlocks it)."""

    kind: str
    key: str
    until: dt.datetime | None
    locked: bool

    def retry_after(self, at: dt.datetime) -> int:
        """Whole seconds to wait (an hour when only an administrator can unlock)."""
        if self.until is None:
            return 3600
        return max(1, int((self.until - at).total_seconds() + 0.999))


@dataclass
class Charge:
    """What charging one try set on each key, so that the outcome can settle exactly that."""

    at: dt.datetime
    marks: dict[tuple[str, str], tuple[int, dt.datetime | None, dt.datetime | None]] = field(default_factory=dict)

    def starts_lock(self) -> bool:
        """Does this try's failure lock a user name or address?"""
        return any(locked_at is not None for _n, _until, locked_at in self.marks.values())

    def block(self) -> Block | None:
        """The longest block this try's failure starts (None when the next try may come at once)."""
        out: Block | None = None
        for (kind, key), (_n, until, locked_at) in self.marks.items():
            if locked_at is None and (until is None or until <= self.at):
                continue
            b = Block(kind, key, until, locked_at is not None)
            out = b if out is None or _longer(b, out) else out
        return out


def _longer(a: Block, b: Block) -> bool:
    return b.until is not None and (a.until is None or a.until > b.until)


def keys(username: str, address: str) -> list[tuple[str, str]]:
    return [(USER, username[:255]), (ADDRESS, (address or "unknown")[:255])]


def _blocked(row: Any, at: dt.datetime) -> Block | None:
    if row is None:
        return None
    if row.locked_at is not None and row.blocked_until is None:
        return Block(row.kind, row.key, None, True)
    if row.blocked_until is not None and row.blocked_until > at:
        return Block(row.kind, row.key, row.blocked_until, row.locked_at is not None)
    return None


def _where(kind: str, key: str) -> Any:
    return sa.and_(L.kind == kind, L.key == key)


def check(conn: Connection, username: str, address: str, at: dt.datetime) -> Block | None:
    """The longest block on this user name or address now, if any (reads only)."""
    out: Block | None = None
    rows = conn.execute(sa.select(T.login_throttle).where(sa.or_(*(_where(k, v) for k, v in keys(username, address)))))
    for row in rows:
        b = _blocked(row, at)
        if b is not None and (out is None or _longer(b, out)):
            out = b
    return out


def _limits(kind: str, s: Settings) -> tuple[int, int, float]:
    """Back-off from, lock from (0: never) and the longest back-off of a user name or an address."""
    if kind == USER:
        return s.login_max_failures, s.login_lock_failures, s.login_backoff_max_seconds
    return (s.login_address_max_failures, s.login_address_lock_failures,
            min(s.login_backoff_max_seconds, s.login_address_backoff_max_seconds))


def _insert_ignore(conn: Connection, values: dict[str, Any]) -> None:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    conn.execute(insert(T.login_throttle).values(**values).on_conflict_do_nothing())


def charge(conn: Connection, username: str, address: str, at: dt.datetime, s: Settings) -> Charge | Block:
    """Count one try against the user name and the address (in a short write transaction, before the
    password is checked). Returns the Block instead when either is blocked (nothing is counted)."""
    window = dt.timedelta(minutes=s.login_window_minutes)
    rows = {}
    for kind, key in keys(username, address):
        _insert_ignore(conn, {"kind": kind, "key": key, "failures": 0, "first_failure_at": at, "last_failure_at": at})
        rows[(kind, key)] = row = conn.execute(sa.select(T.login_throttle).where(_where(kind, key)).with_for_update()).one()
        blocked = _blocked(row, at)
        if blocked is not None:
            return blocked
    out = Charge(at)
    for (kind, key), row in rows.items():
        fresh = row.last_failure_at < at - window or row.locked_at is not None   # forgotten, or a lock that has run out
        n = 1 if fresh else row.failures + 1
        backoff_at, lock_at, longest = _limits(kind, s)
        until: dt.datetime | None = None
        locked_at: dt.datetime | None = None
        if lock_at and n >= lock_at:
            locked_at = at
            until = at + dt.timedelta(minutes=s.login_lock_minutes) if s.login_lock_minutes > 0 else None
        elif n >= backoff_at:
            until = at + dt.timedelta(seconds=min(s.login_backoff_seconds * 2 ** min(n - backoff_at, 60), longest))
        conn.execute(T.login_throttle.update().where(_where(kind, key)).values(
            failures=n, first_failure_at=at if fresh else row.first_failure_at, last_failure_at=at,
            blocked_until=until, locked_at=locked_at))
        out.marks[(kind, key)] = (n, until, locked_at)
    forget = at - max(window, dt.timedelta(minutes=s.login_lock_minutes))
    conn.execute(T.login_throttle.delete().where(
        L.last_failure_at < forget,
        sa.or_(sa.and_(L.blocked_until.is_not(None), L.blocked_until < at), sa.and_(L.blocked_until.is_(None), L.locked_at.is_(None)))))
    return out


def settle_success(conn: Connection, username: str, address: str, ch: Charge) -> None:
    """The password was right: clear the user name's counter and take this try back from the address."""
    (user_kind, user_key), (addr_kind, addr_key) = keys(username, address)
    conn.execute(T.login_throttle.delete().where(_where(user_kind, user_key)))
    mark = ch.marks.get((addr_kind, addr_key))
    if mark is None:
        return
    _n, until, locked_at = mark
    where = _where(addr_kind, addr_key)
    conn.execute(T.login_throttle.update().where(where, L.failures > 0).values(failures=L.failures - 1))
    # undo only what this try set (another try may have set a block since)
    conn.execute(T.login_throttle.update().where(where, L.last_failure_at == ch.at, L.locked_at.is_not_distinct_from(locked_at))
                 .values(blocked_until=None, locked_at=None))


def settle_failure(conn: Connection, username: str, address: str, ch: Charge, user_id: int | None) -> None:
    """The password was wrong: write a lock this try started to the audit log."""
    for (kind, key), (n, until, locked_at) in ch.marks.items():
        if locked_at is not None:
            audit(conn, "login_lock", kind=kind, key=key, at=ch.at, actor_id=None,
                  record_id=user_id if kind == USER else None, failures=n, until=until)


def audit(conn: Connection, action: str, *, kind: str, key: str, at: dt.datetime, actor_id: int | None,
          record_id: int | None, **extra: Any) -> None:
    """One audit entry for a lock or an unlock."""
    changes = {"kind": kind, "key": key, **{k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in extra.items()}}
    conn.execute(T.audit.insert().values(at=at, actor_id=actor_id, form=AUDIT_FORM, record_id=record_id, action=action,
                                         changes=changes))


def unlock(conn: Connection, kind: str, key: str, *, actor_id: int | None, record_id: int | None = None,
           at: dt.datetime) -> bool:
    """Forget a key's failures and lift its block or lock; audited. False when there was nothing to lift."""
    row = conn.execute(sa.select(T.login_throttle).where(_where(kind, key)).with_for_update()).first()
    if row is None:
        return False
    conn.execute(T.login_throttle.delete().where(_where(kind, key)))
    audit(conn, "login_unlock", kind=kind, key=key, at=at, actor_id=actor_id, record_id=record_id,
          failures=row.failures, was_locked=row.locked_at is not None)
    return True


def listing(conn: Connection, at: dt.datetime, *, history: int = 50) -> dict[str, Any]:
    """Every counted key (blocked or not) with its failures, and the latest lock/unlock entries."""
    rows = conn.execute(sa.select(T.login_throttle).where(L.failures > 0).order_by(L.last_failure_at.desc())).all()
    names = [r.key for r in rows if r.kind == USER]
    users = dict(conn.execute(sa.select(T.user.c.username, T.user.c.id).where(T.user.c.username.in_(names))).all()) if names else {}
    items = []
    for row in rows:
        b = _blocked(row, at)
        items.append({"kind": row.kind, "key": row.key, "user_id": users.get(row.key) if row.kind == USER else None,
                      "failures": row.failures, "first_failure_at": _iso(row.first_failure_at),
                      "last_failure_at": _iso(row.last_failure_at), "locked": row.locked_at is not None and b is not None,
                      "blocked_until": _iso(b.until) if b else None, "blocked": b is not None,
                      "until_unlocked": b is not None and b.until is None})
    events = [{"at": _iso(r.at), "action": r.action, "actor_id": r.actor_id, "user_id": r.record_id, **(r.changes or {})}
              for r in conn.execute(sa.select(T.audit).where(T.audit.c.form == AUDIT_FORM)
                                    .order_by(T.audit.c.id.desc()).limit(history))]
    return {"items": items, "history": events}


def _iso(t: dt.datetime | None) -> str | None:
    return t.isoformat().replace("+00:00", "Z") if t else None
