"""Data checks and conversions used by plans: row counts, duplicate detection, and converting a
column's values to a new field type (every row must convert, or nothing changes).
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mom.engines.forms import fieldtypes
from mom.engines.forms.definition import field_spec
from mom.engines.forms.model import FieldSpec

CHUNK = 5000


def spec_from_raw(raw: Mapping[str, Any]) -> FieldSpec:
    """The ``FieldSpec`` of a stored field definition (a column's previous type)."""
    return field_spec(raw, {}, set())


def count_rows(conn: Connection, table: str) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(sa.table(table))).scalar_one())


def count_nulls(conn: Connection, table: str, column: str) -> int:
    t = sa.table(table, sa.column(column))
    return int(conn.execute(sa.select(sa.func.count()).select_from(t).where(t.c[column].is_(None))).scalar_one())


def check_duplicates(conn: Connection, table: str, columns: list[str], limit: int = 20) -> list[int]:
    """Ids of live records whose values in ``columns`` are not unique (NULLs never collide)."""
    t = sa.table(table, sa.column("id"), sa.column("deleted_at"), *[sa.column(c) for c in columns])
    cols = [t.c[c] for c in columns]
    dup = (sa.select(*cols).where(t.c.deleted_at.is_(None), *[c.is_not(None) for c in cols])
           .group_by(*cols).having(sa.func.count() > 1).subquery())
    q = (sa.select(t.c.id).join(dup, sa.and_(*[t.c[c] == dup.c[c] for c in columns]))
         .where(t.c.deleted_at.is_(None)).order_by(t.c.id).limit(limit))
    return [int(r[0]) for r in conn.execute(q)]


def iter_column(conn: Connection, table: str, column: str, old: FieldSpec) -> Iterator[list[tuple[int, Any]]]:
    # a type whose plug-in is gone: the values as the database gives them back (converting is the fix)
    col_type = fieldtypes.column_type(old) if fieldtypes.type_of(old) is not None else sa.types.NullType()
    t = sa.table(table, sa.column("id"), sa.column(column, col_type))
    last = None
    while True:
        q = sa.select(t.c.id, t.c[column]).order_by(t.c.id).limit(CHUNK)
        if last is not None:
            q = q.where(t.c.id > last)
        rows = [(int(r[0]), r[1]) for r in conn.execute(q)]
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def convert_value(old: FieldSpec, new: FieldSpec, value: Any) -> Any:
    """Convert one stored value; raise FieldError when it would not fit or would lose information."""
    if value is None:
        return None
    plain = fieldtypes.dump(old, value)
    if old.value_type == "multi_select" and new.value_type in ("text", "long_text"):
        plain = ",".join(plain)
    if old.value_type == "boolean" and new.value_type in ("integer", "decimal"):
        plain = int(plain)
    out = fieldtypes.coerce(new, plain)
    if new.value_type == "decimal" and old.value_type in ("decimal", "integer", "text", "long_text"):
        if Decimal(str(value if not isinstance(value, float) else repr(value))) != out:
            raise fieldtypes.FieldError(f"{value} 会被舍入为 {out}", f"{value} would be rounded to {out}")
    if new.value_type in ("text", "barcode") and len(out) > int(new.raw.get("max_length", 255 if new.value_type == "text" else 512)):
        raise fieldtypes.FieldError(f"文本长度 {len(out)} 超过新的最大长度", f"text length {len(out)} exceeds the new max_length")
    if new.value_type == "date" and old.value_type == "datetime" and (value.hour, value.minute, value.second) != (0, 0, 0):
        raise fieldtypes.FieldError(f"{plain} 含有时间，转为日期会丢失", f"{plain} has a time of day that a date would lose")
    return out


def check_conversion(conn: Connection, table: str, column: str, old_raw: Mapping[str, Any],
                     new: FieldSpec) -> tuple[list[tuple[int, fieldtypes.FieldError]], int]:
    """(first failures, total failures) for converting every row of ``column`` to ``new``."""
    old = spec_from_raw(old_raw)
    failures: list[tuple[int, fieldtypes.FieldError]] = []
    total = 0
    for chunk in iter_column(conn, table, column, old):
        for rid, value in chunk:
            try:
                convert_value(old, new, value)
            except fieldtypes.FieldError as exc:
                total += 1
                if len(failures) < 20:
                    failures.append((rid, exc))
    return failures, total
