"""The transactional outbox: events are written in the same transaction as the change that causes
them, and workers drain them at least once.

A worker *claims* a batch by stamping ``locked_by``/``locked_until`` (a lease; on PostgreSQL with
``FOR UPDATE SKIP LOCKED`` so concurrent workers take disjoint batches). Each event is then handled
in its own transaction that also marks it done, so the event's database effects and its "done" mark
commit together: a worker killed mid-batch leaves its unfinished events to be claimed again once the
lease runs out, and finished ones are never repeated. Failures back off exponentially and, after
``max_attempts``, land in the dead-letter list (status ``dead``) until someone retries them.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.platform.db import tables as T
from mom.platform.errors import NotFound

O = T.outbox


def emit(conn: Connection, topic: str, payload: Mapping[str, Any], *, now: dt.datetime,
         delay_seconds: float = 0) -> int:
    """Record an event in the caller's transaction; returns its id."""
    return int(conn.execute(O.insert().returning(O.c.id), {
        "topic": topic, "payload": dict(payload), "created_at": now, "status": "pending", "attempts": 0,
        "available_at": now + dt.timedelta(seconds=delay_seconds)}).scalar_one())


def claim(conn: Connection, worker: str, *, now: dt.datetime, limit: int = 50, lease_seconds: float = 60) -> list[dict[str, Any]]:
    """Lease up to ``limit`` due events to ``worker`` (commit right after, so the lease is visible)."""
    free = sa.or_(O.c.locked_until.is_(None), O.c.locked_until < now)
    pick = sa.select(O.c.id).where(O.c.status == "pending", O.c.available_at <= now, free).order_by(O.c.id).limit(limit)
    if conn.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    until = now + dt.timedelta(seconds=lease_seconds)
    stmt = (O.update().where(O.c.id.in_(pick.scalar_subquery())).values(locked_by=worker, locked_until=until)
            .returning(O.c.id, O.c.topic, O.c.payload, O.c.attempts, O.c.created_at))
    return sorted((dict(r) for r in conn.execute(stmt).mappings()), key=lambda r: r["id"])


def still_mine(conn: Connection, event_id: int, worker: str) -> bool:
    """Lock the event row and check the lease is still ours (another worker may have taken it over)."""
    q = sa.select(O.c.locked_by, O.c.status).where(O.c.id == event_id)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update()
    row = conn.execute(q).first()
    return row is not None and row[0] == worker and row[1] == "pending"


def done(conn: Connection, event_id: int, *, now: dt.datetime) -> None:
    conn.execute(O.update().where(O.c.id == event_id).values(status="done", done_at=now, locked_by=None,
                                                             locked_until=None, last_error=None))


def failed(conn: Connection, event_id: int, worker: str, error: str, *, now: dt.datetime, max_attempts: int = 8,
           base_seconds: float = 2.0) -> str:
    """Count a failed attempt: back off 2, 4, 8 … seconds (capped at an hour), or go dead. Returns the status."""
    row = conn.execute(sa.select(O.c.attempts, O.c.locked_by).where(O.c.id == event_id)).first()
    if row is None or row[1] != worker:
        return "lost"
    attempts = int(row[0]) + 1
    status = "dead" if attempts >= max_attempts else "pending"
    delay = min(base_seconds * 2 ** (attempts - 1), 3600.0)
    conn.execute(O.update().where(O.c.id == event_id).values(
        attempts=attempts, status=status, last_error=error[:4000], locked_by=None, locked_until=None,
        available_at=now + dt.timedelta(seconds=delay)))
    return status


def retry(conn: Connection, ids: list[int] | None, *, now: dt.datetime) -> int:
    """Put dead events (all, or the given ids) back in the queue with a fresh attempt count."""
    q = O.update().where(O.c.status == "dead")
    if ids is not None:
        found = {int(r[0]) for r in conn.execute(sa.select(O.c.id).where(O.c.id.in_(ids), O.c.status == "dead"))}
        missing = sorted(set(ids) - found)
        if missing:
            raise NotFound(f"死信列表中没有事件 {missing}", f"no dead event(s) {missing} in the dead-letter list")
        q = q.where(O.c.id.in_(ids))
    return int(conn.execute(q.values(status="pending", attempts=0, available_at=now, locked_by=None,
                                     locked_until=None)).rowcount)


def listing(conn: Connection, status: str = "dead", limit: int = 100) -> list[dict[str, Any]]:
    rows = conn.execute(sa.select(O).where(O.c.status == status).order_by(O.c.id.desc()).limit(limit)).mappings()
    return [{"id": r["id"], "topic": r["topic"], "payload": r["payload"], "attempts": r["attempts"],
             "status": r["status"], "last_error": r["last_error"], "created_at": r["created_at"].isoformat(),
             "available_at": r["available_at"].isoformat()} for r in rows]


def stats(conn: Connection) -> dict[str, int]:
    out = {"pending": 0, "done": 0, "dead": 0}
    for status, n in conn.execute(sa.select(O.c.status, sa.func.count()).group_by(O.c.status)):
        out[status] = int(n)
    return out
