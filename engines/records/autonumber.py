"""Auto-numbers of new records: each empty ``autonumber`` field gets the next number of its sequence.

The pattern (``IQC-{yyyyMMdd}-{seq:4}``) is the form's (engines/forms/autonumber.py); the numbers come
from ``mom_sequence``, one row per (sequence, period), reserved in blocks with one
``INSERT … ON CONFLICT DO UPDATE … RETURNING`` (atomic on both databases, so concurrent writers never
get the same number).
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from mom.engines.forms import autonumber as pattern_of
from mom.engines.forms.compile import CompiledForm
from mom.engines.records.context import Ctx
from mom.platform.db import tables as T


_RESERVE: dict[str, Any] = {}


def _reserve(dialect: str) -> Any:
    """The reservation statement of ``dialect``, built once (every new record with a number runs it)."""
    stmt = _RESERVE.get(dialect)
    if stmt is None:
        ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(T.sequence)
        count = sa.bindparam("count", type_=T.sequence.c.value.type)
        stmt = _RESERVE[dialect] = ins.values(name=sa.bindparam("name"), period=sa.bindparam("period"), value=count
                                              ).on_conflict_do_update(index_elements=["name", "period"],
                                                                      set_={"value": T.sequence.c.value + count}
                                                                      ).returning(T.sequence.c.value)
    return stmt


def next_numbers(conn: Connection, name: str, period: str, count: int) -> range:
    """Reserve ``count`` consecutive numbers of a sequence atomically (concurrency-safe)."""
    last = int(conn.execute(_reserve(conn.dialect.name), {"name": name, "period": period, "count": count}).scalar_one())
    return range(last - count + 1, last + 1)


def fill_autonumbers(conn: Connection, compiled: CompiledForm, ctx: Ctx, rows: list[dict[str, Any]],
                     *, skip: str | None = None) -> None:
    """Give every row whose autonumber field is empty the next number (in row order, one reservation per field);
    ``skip``: the key of a field the caller numbers inside its own INSERT (:func:`in_statement`)."""
    local = ctx.now.astimezone(ctx.tz)
    for f in compiled.definition.scalar_fields:
        if f.type != "autonumber" or f.key == skip:
            continue
        need = [r for r in rows if r.get(f.key) in (None, "")]
        if not need:
            continue
        pattern = str(f.raw["pattern"])
        numbers = next_numbers(conn, f"{compiled.name}.{f.id}", pattern_of.period_of(pattern, local), len(need))
        for r, n in zip(need, numbers):
            r[f.key] = pattern_of.render(pattern, local, n)


def pending(compiled: CompiledForm, row: dict[str, Any]) -> list[Any]:
    """The autonumber fields ``row`` leaves empty (each takes the next number of its sequence)."""
    return [f for f in compiled.definition.scalar_fields if f.type == "autonumber" and row.get(f.key) in (None, "")]


def in_statement(ctx: Ctx, compiled: CompiledForm, f: Any) -> tuple[Any, dict[str, Any]]:
    """PostgreSQL: field ``f``'s next number taken inside the record's own INSERT (one statement, and
    the sequence row locked only from there to the commit). Returns the SQL expression of the number
    (a scalar subquery over the reservation, a data-modifying CTE) and its parameters; the text is
    :func:`mom.engines.forms.autonumber.render`'s (date parts around the sequence zero-filled to its
    width, never cut)."""
    pattern = str(f.raw["pattern"])
    local = ctx.now.astimezone(ctx.tz)
    hour = (local.year, local.month, local.day, local.hour)     # a pattern's finest date part is the hour
    kept = compiled.memo.get(("autonumber_params", f.key))
    if kept is None or kept[0] != hour:         # the period and the texts around the number, once an hour
        m = next(m for m in pattern_of.TOKEN.finditer(pattern) if m.group(1) == "seq")
        kept = compiled.memo[("autonumber_params", f.key)] = (hour, int(m.group(2)), {
            "name": f"{compiled.name}.{f.id}", "period": pattern_of.period_of(pattern, local), "count": 1,
            "an_prefix": pattern_of.render(pattern[:m.start()], local, 0),
            "an_suffix": pattern_of.render(pattern[m.end():], local, 0)})
    params = dict(kept[2])
    key = ("autonumber_in_statement", f.key, kept[1])
    expr = compiled.memo.get(key)
    if expr is None:
        seq = _reserve("postgresql").cte(f"seq_{f.key}")
        text = sa.cast(seq.c.value, sa.Text)
        width = sa.func.greatest(sa.literal(kept[1], sa.Integer), sa.func.length(text))
        expr = compiled.memo[key] = sa.select(
            sa.bindparam("an_prefix", type_=sa.Text) + sa.func.lpad(text, width, sa.literal("0", sa.Text))
            + sa.bindparam("an_suffix", type_=sa.Text)).scalar_subquery()
    return expr, params
