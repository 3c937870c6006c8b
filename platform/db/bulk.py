"""Bulk writes for imports and batch creates: many rows in one round trip, in the caller's transaction.

``reserve_ids`` hands out primary keys before the insert, so a batch needs no ``RETURNING``
(which SQLite can only keep in parameter order one row per statement). ``insert_many`` then
writes plain rows: on PostgreSQL with ``COPY … FROM STDIN`` through psycopg, on SQLite with the
driver's ``executemany``. Values are converted by each column's own SQLAlchemy bind processor, so
what lands in the table is exactly what ``table.insert()`` would have written.
"""
from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def reserve_ids(conn: Connection, table: sa.Table, count: int) -> list[int]:
    """``count`` new, unused ids for ``table`` (an integer ``id`` primary key), in increasing order.

    PostgreSQL draws them from the column's sequence (safe with concurrent writers). SQLite assigns
    ``max(id) + 1 …``: every write transaction there starts with ``BEGIN IMMEDIATE`` and so holds the
    only write lock; a caller without it gets a busy or key error, never a shared id.
    """
    if count <= 0:
        return []
    if conn.dialect.name == "postgresql":
        name = f"{table.schema}.{table.name}" if table.schema else table.name
        rows = conn.execute(sa.text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
                            {"t": name, "n": count})
        return [int(r[0]) for r in rows]
    top = conn.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one()
    return list(range(int(top) + 1, int(top) + 1 + count))


def _converter(col: sa.Column, conn: Connection) -> Callable[[Any], Any] | None:
    dialect = conn.dialect
    if dialect.name == "postgresql":
        if isinstance(col.type, sa.JSON):   # COPY takes the JSON text; psycopg adapts everything else itself
            dumps = dialect._json_serializer or __import__("json").dumps  # type: ignore[attr-defined]
            return lambda v: None if v is None else dumps(v)
        impl = col.type.dialect_impl(dialect)
        if isinstance(impl, sa.types.TypeDecorator):
            return lambda v, _p=impl.process_bind_param: _p(v, dialect)
        return None
    return col.type.dialect_impl(dialect).bind_processor(dialect)


def insert_many(conn: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]],
                columns: Sequence[str] | None = None, const: Mapping[str, Any] | None = None) -> int:
    """Insert ``rows`` into ``table``. Each row is a dict holding every one of ``columns`` (default:
    the keys of the first row); ``const`` gives columns whose value is the same in every row (it is
    converted once). Integrity errors surface as ``sqlalchemy.exc.IntegrityError``, as with ``execute``."""
    if not rows:
        return 0
    const = dict(const or {})
    cols = [c for c in (columns if columns is not None else rows[0].keys()) if c not in const]
    fixed = []
    for c, v in const.items():
        conv = _converter(table.c[c], conn)
        fixed.append(v if conv is None or v is None else conv(v))
    tail = tuple(fixed)
    convs = [(i, conv) for i, conv in enumerate(_converter(table.c[c], conn) for c in cols) if conv is not None]
    get = itemgetter(*cols) if len(cols) > 1 else (lambda r, _c=cols[0]: (r[_c],))
    data: list[tuple[Any, ...]] = []
    append = data.append
    for r in rows:
        vals = get(r)
        if convs:
            vals = list(vals)
            for i, conv in convs:
                v = vals[i]
                if v is not None:
                    vals[i] = conv(v)
        append((*vals, *tail))
    names = [*cols, *const]
    if conn.dialect.name == "postgresql":
        _copy(conn, table, names, data)
    else:
        q = conn.dialect.identifier_preparer.quote
        conn.exec_driver_sql(f"INSERT INTO {q(table.name)} ({', '.join(q(c) for c in names)}) "
                             f"VALUES ({', '.join('?' for _ in names)})", data)
    return len(data)


def _copy(conn: Connection, table: sa.Table, cols: list[str], data: list[tuple[Any, ...]]) -> None:
    import psycopg

    q = conn.dialect.identifier_preparer.quote
    target = (f"{q(table.schema)}." if table.schema else "") + q(table.name)
    raw = conn.connection.driver_connection
    try:
        with raw.cursor() as cur, cur.copy(f"COPY {target} ({', '.join(q(c) for c in cols)}) FROM STDIN") as cp:
            for row in data:
                cp.write_row(row)
    except psycopg.errors.IntegrityError as exc:
        raise sa.exc.IntegrityError(f"COPY {table.name}", None, exc) from exc


_gc_lock = threading.Lock()
_gc_users = 0
_gc_saved: tuple[int, int, int] | None = None


@contextmanager
def relaxed_gc(gen0: int = 50_000) -> Iterator[None]:
    """Run a bulk job with fewer cyclic-GC passes. A batch keeps thousands of small containers alive
    at once (row dicts, prepared records), and CPython's default young-generation threshold (700
    allocations) then spends a quarter of an import re-scanning them. Memory stays bounded by the
    caller's chunking; the thresholds come back when the last concurrent bulk job ends."""
    global _gc_users, _gc_saved
    with _gc_lock:
        if _gc_users == 0:
            _gc_saved = gc.get_threshold()
            gc.set_threshold(max(gen0, _gc_saved[0]), *_gc_saved[1:])
        _gc_users += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0 and _gc_saved is not None:
                gc.set_threshold(*_gc_saved)
