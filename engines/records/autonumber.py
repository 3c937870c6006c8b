"""Auto-numbers of new records: each empty ``autonumber`` field gets the next number of its sequence.

The pattern (``IQC-{yyyyMMdd}-{seq:4}``) is the form's (engines/forms/autonumber.py); the numbers come
from ``mom_sequence``, one row per (sequence, period), reserved in blocks with one
``INSERT … ON CONFLICT DO UPDATE … RETURNING`` (atomic on both databases, so concurrent writers never
get the same number).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from mom.engines.forms import autonumber as pattern_of
from mom.engines.forms.compile import CompiledForm
from mom.engines.records.context import Ctx
from mom.platform.db import tables as T


def next_numbers(conn: Connection, name: str, period: str, count: int) -> range:
    """Reserve ``count`` consecutive numbers of a sequence atomically (concurrency-safe)."""
    ins = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(T.sequence)
    stmt = ins.values(name=name, period=period, value=count).on_conflict_do_update(
        index_elements=["name", "period"], set_={"value": T.sequence.c.value + count}).returning(T.sequence.c.value)
    last = int(conn.execute(stmt).scalar_one())
    return range(last - count + 1, last + 1)


def fill_autonumbers(conn: Connection, compiled: CompiledForm, ctx: Ctx, rows: list[dict[str, Any]]) -> None:
    """Give every row whose autonumber field is empty the next number (in row order, one reservation per field)."""
    local = ctx.now.astimezone(ctx.tz)
    for f in compiled.definition.scalar_fields:
        if f.type != "autonumber":
            continue
        need = [r for r in rows if r.get(f.key) in (None, "")]
        if not need:
            continue
        pattern = str(f.raw["pattern"])
        numbers = next_numbers(conn, f"{compiled.name}.{f.id}", pattern_of.period_of(pattern, local), len(need))
        for r, n in zip(need, numbers):
            r[f.key] = pattern_of.render(pattern, local, n)
