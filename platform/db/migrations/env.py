"""Alembic environment for the platform's own tables. Runtime form tables are excluded."""
from __future__ import annotations

from alembic import context

from mom.platform.db.engine import make_engine
from mom.platform.db.tables import metadata

config = context.config


def _include(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    return not (type_ == "table" and not name.startswith("mom_"))


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = make_engine(config.get_main_option("sqlalchemy.url"))
        with engine.connect().execution_options(mom_write=True) as conn:
            _run(conn)
            conn.commit()
        return
    _run(connection)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(connection=connection, target_metadata=metadata, include_object=_include,
                      version_table="mom_alembic_version", render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run()
