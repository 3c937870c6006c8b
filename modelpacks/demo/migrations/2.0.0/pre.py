"""demo 2.0.0, before anything of the upgrade: the demo's own 生产工单 (production_order) form makes way
for core's form of the same name.

Its records are copied, as they are, into the table ``_demo1_production_order`` (a name no form can take:
form names start with a letter), then the old form is removed (its table, versions and auto-number
counters; the audit log stays). ``post.py`` moves the copied orders into core's 生产工单 under their old
ids; the copy is kept so nothing of the old data is lost — drop it once the moved orders are checked.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from mom.engines.forms.retire import live_form, purge_form

HOLD = "_demo1_production_order"


def migrate(conn: Any, ctx: Any) -> None:
    found = live_form(conn, "production_order")
    if found is None or not any(f.get("key") == "material" for f in found[0].get("fields", [])):
        return                                   # not the demo 1.x form: nothing to move aside
    old = sa.Table("production_order", sa.MetaData(), autoload_with=conn)
    hold = sa.Table(HOLD, sa.MetaData(), *(sa.Column(c.name, c.type) for c in old.c))   # same columns and types, no keys
    hold.create(conn)
    conn.execute(hold.insert().from_select([c.name for c in old.c], sa.select(*old.c)))
    purge_form(conn, "production_order")
