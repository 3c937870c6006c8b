"""The platform's migrations build exactly the tables `platform/db/tables.py` describes (SQLite and
PostgreSQL): a column or table added to one and not the other fails here."""
from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from mom.platform.db import tables as T


def _ours(diff: object) -> bool:
    """Differences that concern a platform table (form tables and alembic's own are not ours)."""
    items = diff if isinstance(diff, list) else [diff]
    for item in items:
        for part in item[1:] if isinstance(item, tuple) else ():
            name = getattr(part, "name", None) if not isinstance(part, str) else part
            table = getattr(part, "table", None)
            if getattr(table, "name", None) in T.metadata.tables or name in T.metadata.tables:
                return True
    return False


def test_migrations_match_the_table_definitions(engine: sa.engine.Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), T.metadata)
    assert [d for d in diff if _ours(d)] == []
    assert "mom_list_view" in sa.inspect(engine).get_table_names()
