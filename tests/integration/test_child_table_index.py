"""A form's child table (明细) has the (parent_id, seq) index its compiled form declares — created with the
table, and added by migration 0012 to child tables made before (reads of a record's rows and cascade
deletes used to scan the whole child table). Regression test for the gap found by the MRP benchmark."""
from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from fastapi.testclient import TestClient

from mom.engines.forms.compile import index_name
from mom.platform.db.migrate import alembic_config

FORM = {"format": "mom.form/1", "name": "ncr_rows", "label": {"zh-CN": "不合格明细", "en": "NCR rows"},
        "fields": [{"id": "f1", "key": "title", "type": "text", "label": {"zh-CN": "标题", "en": "Title"}},
                   {"id": "t1", "key": "lines", "type": "table", "label": {"zh-CN": "明细", "en": "Lines"},
                    "fields": [{"id": "c1", "key": "qty", "type": "integer", "label": {"zh-CN": "数量", "en": "Qty"}}]}]}
PARENT_INDEX = index_name("ncr_rows__lines", ("parent_id", "seq"), False)


def _indexes(engine: sa.engine.Engine) -> set[str]:
    return {ix["name"] for ix in sa.inspect(engine).get_indexes("ncr_rows__lines")}


def test_a_new_child_table_has_its_parent_index(client: TestClient, admin: dict, engine: sa.engine.Engine) -> None:
    assert client.put("/api/forms/ncr_rows", json=FORM, headers=admin).status_code == 200
    assert PARENT_INDEX in _indexes(engine)
    r = client.post("/api/records/ncr_rows", json={"title": "A", "lines": [{"qty": 1}, {"qty": 2}]}, headers=admin)
    assert r.status_code == 201, r.text
    got = client.get(f"/api/records/ncr_rows/{r.json()['id']}", headers=admin).json()
    assert [x["qty"] for x in got["lines"]] == [1, 2]


def _migrate(engine: sa.engine.Engine, *steps: str) -> None:
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.connect().execution_options(mom_write=True) as conn:
        cfg.attributes["connection"] = conn
        for step in steps:
            with conn.begin():
                (command.downgrade if step == "0011" else command.upgrade)(cfg, step)


def test_the_migration_adds_it_to_child_tables_made_before(client: TestClient, admin: dict,
                                                           engine: sa.engine.Engine) -> None:
    assert client.put("/api/forms/ncr_rows", json=FORM, headers=admin).status_code == 200
    r = client.post("/api/records/ncr_rows", json={"title": "A", "lines": [{"qty": 3}]}, headers=admin)
    _migrate(engine, "0011")                          # as a database made before the fix: no index
    assert PARENT_INDEX not in _indexes(engine)
    _migrate(engine, "head", "head")                  # added, and again: nothing to do, no error
    assert PARENT_INDEX in _indexes(engine)
    got = client.get(f"/api/records/ncr_rows/{r.json()['id']}", headers=admin).json()
    assert [x["qty"] for x in got["lines"]] == [3]   # the rows are all there
