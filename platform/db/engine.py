"""Database engines: SQLite (embedded default) and PostgreSQL (production), same code.

SQLite is set up for a small plant: WAL, foreign keys, a busy timeout, and real transactions that
include DDL (pysqlite would otherwise commit DDL on its own and a failed plan could half-apply).
Write transactions on SQLite start with ``BEGIN IMMEDIATE`` so that two writers queue on the busy
timeout instead of failing on a lock upgrade.
"""
from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from contextlib import contextmanager, nullcontext

import orjson
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from mom.platform.settings import normalize_database_url


def _json_default(v: object) -> object:
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    raise TypeError(f"not JSON serializable: {type(v).__name__}")


def json_dumps(v: object) -> str:
    """JSON columns (audit, physical state) accept decimals and dates. orjson does the common case
    (several times faster; an import writes one audit document per row); the standard library
    takes what orjson refuses (integers beyond 64 bits)."""
    try:
        return orjson.dumps(v, default=_json_default, option=orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(v, ensure_ascii=False, default=_json_default)


def make_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> Engine:
    url = normalize_database_url(url)
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, echo=echo, json_serializer=json_dumps,
                                  connect_args={"check_same_thread": False, "timeout": 30})
        _setup_sqlite(engine)
        return engine
    return sa.create_engine(url, echo=echo, json_serializer=json_dumps, pool_size=pool_size, max_overflow=pool_size,
                            pool_pre_ping=True)


def _setup_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (transactional DDL)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = "BEGIN IMMEDIATE" if conn.get_execution_options().get("mom_write") else "BEGIN"
        conn.exec_driver_sql(mode)


def is_postgres(conn_or_engine: Connection | Engine) -> bool:
    return conn_or_engine.dialect.name == "postgresql"


_sqlite_writers: dict[str, threading.RLock] = {}
_sqlite_writers_lock = threading.Lock()


def _sqlite_writer(engine: Engine) -> threading.RLock:
    key = str(engine.url)
    with _sqlite_writers_lock:
        return _sqlite_writers.setdefault(key, threading.RLock())


@contextmanager
def write_tx(engine: Engine) -> Iterator[Connection]:
    """One write transaction: commit on success, roll back everything on any error.

    On SQLite only one writer runs at a time anyway; writers of this process queue on a lock per
    database file and start the moment the previous one commits, rather than polling SQLite's busy
    handler, whose back-off sleeps (up to 100 ms a try) made the slowest requests several times
    slower than the rest. Other processes still queue on the busy timeout."""
    queue = _sqlite_writer(engine) if engine.dialect.name == "sqlite" else nullcontext()
    with queue, engine.connect().execution_options(mom_write=True) as conn:
        with conn.begin():
            yield conn


@contextmanager
def trial_tx(engine: Engine) -> Iterator[Connection]:
    """A write transaction that is always rolled back: a rehearsal (the pack manager runs a whole
    install in one to show a plan that is known to apply), queued like ``write_tx``."""
    queue = _sqlite_writer(engine) if engine.dialect.name == "sqlite" else nullcontext()
    with queue, engine.connect().execution_options(mom_write=True) as conn:
        tx = conn.begin()
        try:
            yield conn
        finally:
            tx.rollback()


@contextmanager
def read_tx(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        with conn.begin():
            yield conn
