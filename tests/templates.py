"""Template databases for the tests: migrated (and loaded) once per session, copied per test.

SQLite: the template is a file, copied with SQLite's backup API (a few milliseconds).
PostgreSQL: the template is a database of its own (``mom_tpl_<pid>_<kind>``); each test gets
``CREATE DATABASE mom_t_<pid>_<n> TEMPLATE …`` (a fraction of a second, against about two for a
schema migrated afresh and ten for loading the demo). A test's database is dropped by a background
thread after the test: DROP DATABASE waits for a checkpoint, which the next test need not wait for.
No connection to a template stays open (PostgreSQL refuses to copy a database someone is connected to).
"""
from __future__ import annotations

import contextlib
import itertools
import os
import queue
import shutil
import sqlite3
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import sqlalchemy as sa

from mom.platform.db.engine import make_engine
from mom.platform.db.migrate import upgrade
from mom.platform.settings import normalize_database_url

#: kind -> what fills the template after migrating (``migrated`` is the plain migrated schema)
Loader = Callable[[sa.engine.Engine], None]


class Templates:
    """Per-test databases of three kinds: ``empty``, ``migrated``, and each kind in ``loaders``
    (a migrated database with more content), built lazily the first time a test asks for it."""

    def __init__(self, pg_url: str, folder: Path, loaders: dict[str, Loader]) -> None:
        self.pg_url = normalize_database_url(pg_url) if pg_url else ""
        self.folder = folder
        self.loaders = loaders
        self._built: dict[str, str] = {}       # kind -> template (file path or database name)
        self._count = itertools.count(1)
        self._admin: sa.engine.Engine | None = None
        self._drops: queue.Queue[str | None] = queue.Queue(maxsize=16)   # at most this many waiting
        self._dropper: threading.Thread | None = None
        self._drop_errors: list[str] = []

    # ------------------------------------------------------------------ per test
    @contextlib.contextmanager
    def database(self, kind: str, tmp_path: Path) -> Iterator[str]:
        """A fresh database of ``kind`` for one test; yields its URL and removes it afterwards (PostgreSQL)."""
        if not self.pg_url:
            path = tmp_path / "test.sqlite3"
            if kind != "empty":
                _sqlite_copy(Path(self._template(kind)), path)
            yield f"sqlite:///{path}"
            return
        name = f"mom_t_{os.getpid()}_{next(self._count)}"
        template = f" TEMPLATE {self._template(kind)}" if kind != "empty" else ""
        self._pg_exec(f"CREATE DATABASE {name}{template}")
        try:
            yield self._pg_url_of(name)
        finally:
            self._drop_later(name)

    # ------------------------------------------------------------------ templates
    def _template(self, kind: str) -> str:
        if kind not in self._built:
            if kind != "migrated" and kind not in self.loaders:
                raise KeyError(f"no template database of kind {kind!r}")
            self._built[kind] = self._build_pg(kind) if self.pg_url else self._build_sqlite(kind)
        return self._built[kind]

    def _build_sqlite(self, kind: str) -> str:
        path = self.folder / f"{kind}.sqlite3"
        if kind == "migrated":
            self._fill(f"sqlite:///{path}", None)
        else:
            _sqlite_copy(Path(self._template("migrated")), path)
            self._fill(f"sqlite:///{path}", self.loaders[kind])
        return str(path)

    def _build_pg(self, kind: str) -> str:
        name = f"mom_tpl_{os.getpid()}_{kind}"
        self._pg_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if kind == "migrated":
            self._pg_exec(f"CREATE DATABASE {name}")
            self._fill(self._pg_url_of(name), None)
        else:
            self._pg_exec(f"CREATE DATABASE {name} TEMPLATE {self._template('migrated')}")
            self._fill(self._pg_url_of(name), self.loaders[kind])
        return name

    @staticmethod
    def _fill(url: str, loader: Loader | None) -> None:
        engine = make_engine(url, pool_size=2)
        try:
            if loader is None:
                upgrade(engine)
            else:
                loader(engine)
        finally:
            engine.dispose()          # a template must have no open connection

    # ------------------------------------------------------------------ PostgreSQL
    def _pg_url_of(self, database: str) -> str:
        return sa.engine.make_url(self.pg_url).set(database=database).render_as_string(hide_password=False)

    def _pg_exec(self, sql: str) -> None:
        if self._admin is None:
            # the URL's own database (``test``) serves for the administration; CREATE/DROP DATABASE
            # run outside a transaction
            self._admin = sa.create_engine(self.pg_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        with self._admin.connect() as conn:
            conn.exec_driver_sql(sql)

    def _drop_later(self, name: str) -> None:
        if self._dropper is None:
            self._dropper = threading.Thread(target=self._drop_loop, name="drop-test-databases", daemon=True)
            self._dropper.start()
        self._drops.put(name)

    def _drop_loop(self) -> None:
        while (name := self._drops.get()) is not None:
            try:
                # WITH (FORCE): a connection a test left open (a second engine, a killed server) must not keep it
                self._pg_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            except Exception as exc:  # noqa: BLE001 - reported at the end of the session
                self._drop_errors.append(f"{name}: {exc}")

    def close(self) -> None:
        """Remove the session's databases and templates (the SQLite files go with pytest's temporary folder)."""
        if self._dropper is not None:
            self._drops.put(None)
            self._dropper.join()
            self._dropper = None
        if self._drop_errors:
            warnings.warn("test databases not dropped: " + "; ".join(self._drop_errors), stacklevel=1)
        if self.pg_url:
            for name in self._built.values():
                self._pg_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self._built.clear()
        if self._admin is not None:
            self._admin.dispose()


def _sqlite_copy(src: Path, dst: Path) -> None:
    """Copy a SQLite database file: a plain file copy when no write-ahead log is pending (the template's
    engine is disposed, which checkpoints it), else SQLite's backup API (which reads through the log)."""
    if not Path(f"{src}-wal").exists():
        shutil.copyfile(src, dst)
        return
    with contextlib.closing(sqlite3.connect(src)) as a, contextlib.closing(sqlite3.connect(dst)) as b:
        a.backup(b)
