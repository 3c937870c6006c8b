"""Figures derived per machine × plant day from the machines' data (migration 0014; not records), and forgetting
them when that data changes.

``mom_oee_day`` holds the OEE engine's summary of one closed plant day of one machine (engines/oee/summary.py:
what the time model sums, per shift): a cache that anyone may drop, never a record anyone edits. It lives
here, below the OEE engine, because the writers of the machines' data (this engine's ingestion, the
production engine's job reports through the record hooks) must forget it: :func:`forget` deletes the rows a
change touches ("missing = compute again"), one DELETE per statement batch.

``mom_oee_mark`` closes the race between a summary being computed from a snapshot and late data committed
meanwhile: a change to data older than :data:`GRACE_S` stamps the machine (0: every machine) with the wall
clock, under a PostgreSQL transaction advisory lock per machine that the summary's writer takes too; a
summary is stored only for machines not stamped since shortly before its snapshot (engines/oee/summary.py).
"""
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

metadata = sa.MetaData()
day_table = sa.Table(
    "mom_oee_day", metadata,
    sa.Column("machine_id", sa.Integer, primary_key=True),
    sa.Column("day", sa.String(10), primary_key=True),
    sa.Column("start_s", sa.BigInteger, nullable=False), sa.Column("end_s", sa.BigInteger, nullable=False),
    sa.Column("tz", sa.String(64), nullable=False), sa.Column("v", sa.Integer, nullable=False),
    sa.Column("data", sa.Text, nullable=False), sa.Column("computed_s", sa.Float, nullable=False))
mark_table = sa.Table(
    "mom_oee_mark", metadata,
    sa.Column("machine_id", sa.Integer, primary_key=True), sa.Column("changed_s", sa.Float, nullable=False))

GRACE_S = 3600.0          # a plant day is closed (summarised) an hour after its end; changes to newer data need no mark
LOCK_NS = 23_0014         # advisory lock namespace (issue 23, migration 0014)
ALL = 0                   # the mark of "every machine" (a calendar, a stop reason's category)
_CHUNK = 200


def _epoch(t: dt.datetime | float | None) -> float | None:
    if t is None or isinstance(t, float | int):
        return t
    return (t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)).timestamp()


def lock(conn: Connection, machine_ids: Iterable[int]) -> None:
    """PostgreSQL: the transaction advisory locks of these machines, in order (SQLite: one writer anyway)."""
    if conn.dialect.name == "postgresql":
        for m in sorted(set(machine_ids)):
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:ns, :m)"), {"ns": LOCK_NS, "m": int(m)})


def _mark(conn: Connection, machine_ids: list[int]) -> None:
    lock(conn, machine_ids)
    ins = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(mark_table)
    now = time.time()
    stmt = ins.on_conflict_do_update(index_elements=["machine_id"], set_={"changed_s": ins.excluded.changed_s})
    conn.execute(stmt, [{"machine_id": m, "changed_s": now} for m in sorted(set(machine_ids))])


def forget(conn: Connection, spans: Iterable[tuple[int | None, dt.datetime | float | None, dt.datetime | float | None]]) -> None:
    """Drop the day summaries that ``spans`` touch: (machine id or None for every machine, from, to) — ``from``
    None: from the beginning, ``to`` None: onwards. Runs in the writer's transaction."""
    per: dict[int | None, list[tuple[float | None, float | None]]] = {}
    for m, a, b in spans:
        per.setdefault(None if m is None else int(m), []).append((_epoch(a), _epoch(b)))
    if not per:
        return
    t = day_table
    recent = time.time() - GRACE_S
    late: list[int] = []
    clauses = []
    for m, ranges in per.items():
        for a, b in ranges:
            if a is not None and a >= recent:
                continue          # no stored day ends after ``recent`` (summary.py stores a day an hour after it ended)
            c = [sa.true()] if m is None else [t.c.machine_id == m]
            if a is not None:
                c.append(t.c.end_s > a)
            if b is not None:
                c.append(t.c.start_s <= b)
            clauses.append(sa.and_(*c))
            if a is None or a < recent:
                late.append(ALL if m is None else m)
    if late:
        _mark(conn, late)
    if not clauses:
        return
    for i in range(0, len(clauses), _CHUNK):
        conn.execute(t.delete().where(sa.or_(*clauses[i:i + _CHUNK])))
