"""The devices engine's bookkeeping (migration 0013; not records): per machine and message stream the last
sequence applied and the last raw counters (the exactly-once cursor, committed with the data it produced),
and the unknown machines / unmapped topics seen (each reported once)."""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.platform.db.engine import is_postgres
from mom.platform.db.types import UTCDateTime

metadata = sa.MetaData()
cursor_table = sa.Table(
    "mom_device_cursor", metadata,
    sa.Column("machine_id", sa.Integer, primary_key=True),
    sa.Column("stream", sa.String(200), primary_key=True),
    sa.Column("seq", sa.BigInteger), sa.Column("total", sa.Numeric(24, 6)), sa.Column("good", sa.Numeric(24, 6)),
    sa.Column("scrap", sa.Numeric(24, 6)), sa.Column("last_at", UTCDateTime), sa.Column("updated_at", UTCDateTime, nullable=False))
unknown_table = sa.Table(
    "mom_device_unknown", metadata,
    sa.Column("key", sa.String(200), primary_key=True), sa.Column("topic", sa.String(500)),
    sa.Column("first_seen", UTCDateTime, nullable=False), sa.Column("last_seen", UTCDateTime, nullable=False),
    sa.Column("messages", sa.BigInteger, nullable=False))


@dataclasses.dataclass
class Cursor:
    machine_id: int
    stream: str
    seq: int | None = None
    total: Decimal | None = None
    good: Decimal | None = None
    scrap: Decimal | None = None
    last_at: dt.datetime | None = None
    stored: bool = False
    dirty: bool = False


def load(conn: Connection, keys: Iterable[tuple[int, str]]) -> dict[tuple[int, str], Cursor]:
    """The cursors of ``keys`` (missing ones new); PostgreSQL: rows locked for this transaction, so two
    consumers never apply the same stream's message twice."""
    keys = set(keys)
    out = {k: Cursor(k[0], k[1]) for k in keys}
    machines = sorted({k[0] for k in keys})
    if not machines:
        return out
    t = cursor_table
    q = sa.select(t).where(t.c.machine_id.in_(machines))
    if is_postgres(conn):
        q = q.with_for_update()
    for r in conn.execute(q).mappings():
        k = (int(r["machine_id"]), str(r["stream"]))
        if k in out:
            out[k] = Cursor(k[0], k[1], r["seq"], _d(r["total"]), _d(r["good"]), _d(r["scrap"]), r["last_at"], stored=True)
    return out


def _d(v: object) -> Decimal | None:
    return None if v is None else Decimal(str(v))


def save(conn: Connection, cursors: Iterable[Cursor], now: dt.datetime) -> None:
    t = cursor_table
    fresh, old = [], []
    for c in cursors:
        if not c.dirty:
            continue
        row = {"machine_id": c.machine_id, "stream": c.stream, "seq": c.seq, "total": c.total, "good": c.good,
               "scrap": c.scrap, "last_at": c.last_at, "updated_at": now}
        (old if c.stored else fresh).append(row)
    if fresh:
        conn.execute(t.insert(), fresh)
    if old:
        stmt = t.update().where(t.c.machine_id == sa.bindparam("b_machine"), t.c.stream == sa.bindparam("b_stream")).values(
            seq=sa.bindparam("seq"), total=sa.bindparam("total"), good=sa.bindparam("good"), scrap=sa.bindparam("scrap"),
            last_at=sa.bindparam("last_at"), updated_at=sa.bindparam("updated_at"))
        conn.execute(stmt, [{**{k: v for k, v in r.items() if k not in ("machine_id", "stream")},
                             "b_machine": r["machine_id"], "b_stream": r["stream"]} for r in old])


def record_unknown(conn: Connection, seen: dict[str, tuple[str, int]], now: dt.datetime) -> list[str]:
    """Count ``seen`` ({key: (topic, messages)}); returns the keys seen for the first time ever."""
    if not seen:
        return []
    t = unknown_table
    known = set(conn.execute(sa.select(t.c.key).where(t.c.key.in_(list(seen)))).scalars())
    first = [k for k in seen if k not in known]
    if first:
        conn.execute(t.insert(), [{"key": k, "topic": seen[k][0][:500], "first_seen": now, "last_seen": now,
                                   "messages": seen[k][1]} for k in first])
    for k in known:
        conn.execute(t.update().where(t.c.key == k).values(last_seen=now, messages=t.c.messages + seen[k][1]))
    return first


def unknown(conn: Connection, limit: int = 200) -> list[dict[str, object]]:
    t = unknown_table
    return [dict(r) for r in conn.execute(sa.select(t).order_by(t.c.last_seen.desc()).limit(limit)).mappings()]
