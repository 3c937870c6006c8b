"""forms' child tables get the (parent_id, seq) index their compiled form declares

Until now the form engine created a child table (a form's 明细 / sub-table) without the index on
``(parent_id, seq)`` that the compiled form declares, so every read of a record's rows and every
cascade delete scanned the whole child table. New child tables get it when they are created; this
revision adds it to the child tables of every form already published (their live, not retired,
tables, as ``mom_form.physical`` lists them). Only an index is added: no record changes.

Revision ID: 0012
Revises: 0011
"""
import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def _index_name(table: str) -> str:
    # the form engine's index_name(table, ("parent_id", "seq"), unique=False), frozen here
    digest = hashlib.sha1(b"i:" + b"parent_id,seq").hexdigest()[:10]
    return f"ix_{table[:40]}_{digest}"


def _child_tables(conn: sa.engine.Connection) -> list[str]:
    existing = set(sa.inspect(conn).get_table_names())
    out = []
    for (physical,) in conn.execute(sa.text("SELECT physical FROM mom_form")):
        state = json.loads(physical) if isinstance(physical, str) else physical or {}
        for tid, meta in (state.get("tables") or {}).items():
            name = meta.get("name") if isinstance(meta, dict) else None
            if tid != "_main" and name and not meta.get("retired") and name in existing:
                out.append(name)
    return sorted(set(out))


def _quoted(conn: sa.engine.Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def upgrade() -> None:
    conn = op.get_bind()
    for table in _child_tables(conn):
        conn.execute(sa.text(f"CREATE INDEX IF NOT EXISTS {_quoted(conn, _index_name(table))} "
                             f"ON {_quoted(conn, table)} (parent_id, seq)"))


def downgrade() -> None:
    conn = op.get_bind()
    for table in _child_tables(conn):
        conn.execute(sa.text(f"DROP INDEX IF EXISTS {_quoted(conn, _index_name(table))}"))
