"""Plan operations are objects that apply themselves and know their inverse (like alembic's ops):
applying a plan's reversed operations against the previous version gives the previous schema back,
with the converted values converted back."""
from __future__ import annotations

import copy
import datetime as dt

import sqlalchemy as sa

from mom.engines.forms import store
from mom.engines.forms.operations import OpsContext, reverse_all

FORM = {"format": "mom.form/1", "name": "gauge", "fields": [
    {"id": "g1", "key": "code", "type": "text", "required": True},
    {"id": "g2", "key": "reading", "type": "text"},
    {"id": "g3", "key": "note", "type": "text"}]}


def _columns(conn: sa.Connection, table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(conn).get_columns(table)}


def test_reversed_operations_restore_the_previous_schema(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        _, v1 = store.publish(conn, FORM)
        t = v1.main
        now = dt.datetime(2026, 11, 2, 8, 30, tzinfo=dt.timezone.utc)
        conn.execute(t.insert(), [{"code": "G1", "reading": "12", "note": "x", "form_version": 1,
                                   "created_at": now, "updated_at": now}])
    v2_raw = copy.deepcopy(FORM)
    v2_raw["fields"][1]["type"] = "integer"                         # convert (shadow column)
    v2_raw["fields"][2]["key"] = "remark"                           # rename
    v2_raw["fields"].append({"id": "g4", "key": "ok", "type": "boolean"})   # add
    v2_raw["indexes"] = [{"fields": ["code"], "unique": True}]      # create index
    with engine.begin() as conn:
        before = _columns(conn, "gauge")
        plan, v2 = store.publish(conn, v2_raw)
        kinds = [op.kind for op in plan.operations]
        assert {"convert_column", "rename_column", "add_column", "create_index"} <= set(kinds)
        assert conn.execute(sa.select(v2.main.c.reading)).scalar_one() == 12
        back = reverse_all(plan.operations)
        ctx = OpsContext.of(conn, v1)
        for op in back:
            op.apply(ctx)
        assert _columns(conn, "gauge") == before
        row = conn.execute(sa.text("SELECT reading, note FROM gauge")).one()
        assert (row[0], row[1]) == ("12", "x")
        assert not [ix for ix in sa.inspect(conn).get_indexes("gauge") if ix["name"].startswith("ux_")]

