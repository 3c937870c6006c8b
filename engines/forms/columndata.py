"""Moving a column's data while a plan is applied: filling existing rows with a value or an
expression, computing a new formula field for old records, and converting a column to a new type
through a shadow column (every row converts, or the transaction rolls back)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from alembic.operations import Operations
from sqlalchemy.engine import Connection

from mom.engines.expressions.sandbox import ExpressionError, compile_expression
from mom.engines.forms import fieldtypes
from mom.engines.forms.compile import CompiledForm
from mom.engines.forms.convert import CHUNK, convert_value, iter_column, spec_from_raw
from mom.engines.forms.model import FieldSpec
from mom.platform.errors import Conflict


def _row_values(conn: Connection, table: str, ids: list[int], new: CompiledForm) -> dict[int, dict[str, Any]]:
    t = new.main if table == new.main.name else None
    if t is None:
        return {}
    rows = conn.execute(sa.select(t).where(t.c.id.in_(ids))).mappings()
    out = {int(r["id"]): dict(r) for r in rows}
    for key, child in new.children.items():
        for r in conn.execute(sa.select(child).where(child.c.parent_id.in_(ids)).order_by(child.c.parent_id, child.c.seq)).mappings():
            out[int(r["parent_id"])].setdefault(key, []).append(dict(r))
    for v in out.values():
        for key in new.children:
            v.setdefault(key, [])
    return out


def backfill(conn: Connection, table: str, f: FieldSpec, fill: Mapping[str, Any], *, only_null: bool) -> None:
    """Fill ``f``'s column with ``{"value": …}`` or ``{"expr": …}`` (evaluated per row), every row or only empty ones."""
    t = sa.table(table, sa.column("id"), sa.column(f.key, fieldtypes.column_type(f)))
    where = t.c[f.key].is_(None) if only_null else sa.true()
    if "value" in fill:
        conn.execute(t.update().where(where).values({f.key: fieldtypes.coerce(f, fill["value"])}))
        return
    expr = compile_expression(str(fill["expr"]))
    full = sa.Table(table, sa.MetaData(), autoload_with=conn)
    last = 0
    while True:
        rows = list(conn.execute(sa.select(full).where(full.c.id > last).order_by(full.c.id).limit(CHUNK)).mappings())
        if not rows:
            return
        updates = []
        for r in rows:
            if only_null and r.get(f.key) is not None:
                continue
            try:
                value = fieldtypes.coerce(f, expr.evaluate(dict(r)))
            except (ExpressionError, fieldtypes.FieldError) as exc:
                raise Conflict(f"记录 {r['id']} 的回填表达式失败：{exc}", f"backfill expression failed for record {r['id']}: {exc}") from exc
            updates.append({"_id": r["id"], "_v": value})
        if updates:
            conn.execute(t.update().where(t.c.id == sa.bindparam("_id")).values({f.key: sa.bindparam("_v")}), updates)
        last = int(rows[-1]["id"])


def recompute(conn: Connection, table: str, f: FieldSpec, new: CompiledForm) -> None:
    """Compute a new formula field for every existing record (a formula that cannot compute stays empty)."""
    t = sa.table(table, sa.column("id"), sa.column(f.key, fieldtypes.column_type(f)))
    last = 0
    while True:
        ids = [int(r[0]) for r in conn.execute(sa.select(t.c.id).where(t.c.id > last).order_by(t.c.id).limit(CHUNK))]
        if not ids:
            return
        values = _row_values(conn, table, ids, new)
        updates = []
        for rid, row in values.items():
            try:
                value = fieldtypes.coerce(f, f.formula.evaluate(row)) if f.formula else None
            except (ExpressionError, fieldtypes.FieldError):
                value = None  # a formula that cannot compute for an old record stays empty
            updates.append({"_id": rid, "_v": value})
        conn.execute(t.update().where(t.c.id == sa.bindparam("_id")).values({f.key: sa.bindparam("_v")}), updates)
        last = ids[-1]


def convert(conn: Connection, ops: Operations, table: str, d: Mapping[str, Any], new_f: FieldSpec) -> None:
    """Shadow column, convert every row (all or nothing), drop the old column, rename the shadow."""
    old_f = spec_from_raw(d["old_field"])
    column = d["column"]
    shadow = f"_c_{new_f.id.lower()}"
    ops.add_column(table, sa.Column(shadow, fieldtypes.column_type(new_f), nullable=True))
    t = sa.table(table, sa.column("id"), sa.column(shadow, fieldtypes.column_type(new_f)))
    for chunk in iter_column(conn, table, column, old_f):
        updates = []
        for rid, value in chunk:
            try:
                updates.append({"_id": rid, "_v": convert_value(old_f, new_f, value)})
            except fieldtypes.FieldError as exc:
                raise Conflict(f"记录 {rid} 无法转换：{exc.zh}", f"record {rid} does not convert: {exc.en}") from exc
        conn.execute(t.update().where(t.c.id == sa.bindparam("_id")).values({shadow: sa.bindparam("_v")}), updates)
    ops.drop_column(table, column)
    ops.alter_column(table, shadow, new_column_name=column)
