"""demo 2.0.0, after the upgrade: the demo's materials become core items and the demo's production orders
core production orders.

- Every material (物料, the retired ``material`` form; its table stays) becomes an item of core
  (物料编码 → code, 名称, 规格型号, 单位 pcs/kg/m/set → 件/kg/m/套, type 原材料) — or, when an item of
  that code exists already, is matched to it.
- The 物料 of every incoming inspection and NCR points at that item again (the old reference to the
  material form stays in a retired column, ``_r_f11`` / ``_r_n3``).
- The production orders copied aside by ``pre.py`` go into core's 生产工单 with their old ids, codes,
  quantities, status, good quantity and release time (their audit history stays with them). Core's
  production engine did not release them: an order moved as 已下达 or 生产中 has no operation tasks;
  close or cancel it, or plan a new one. The copy ``_demo1_production_order`` is kept.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from mom.engines.records import service as records
from mom.engines.records.context import SYSTEM, Ctx

HOLD = "_demo1_production_order"
UNITS = {"pcs": "件", "kg": "kg", "m": "m", "set": "套"}
STATES = {"planned", "released", "started", "finished", "closed"}


def _utc(v: Any) -> Any:
    """A time read back from the copy (SQLite gives it without a zone): the platform stores UTC."""
    return v.replace(tzinfo=dt.timezone.utc) if isinstance(v, dt.datetime) and v.tzinfo is None else v


def _table(conn: Any, name: str) -> sa.Table | None:
    return sa.Table(name, sa.MetaData(), autoload_with=conn) if sa.inspect(conn).has_table(name) else None


def migrate(conn: Any, ctx: Any) -> None:
    items = _items(conn, ctx)
    for form, column in (("iqc_inspection", "_r_f11"), ("ncr", "_r_n3")):
        t = _table(conn, form)
        if t is None or column not in t.c:
            continue
        for old, new in items.items():
            conn.execute(t.update().where(t.c[column] == old, t.c.material.is_(None)).values(material=new))
    _orders(conn, ctx, items)


def _items(conn: Any, ctx: Any) -> dict[int, int]:
    """material id -> item id, creating the items that are missing (through the record service)."""
    material = _table(conn, "material")
    if material is None:
        return {}
    item = ctx.forms.get(conn, "item").main
    out: dict[int, int] = {}
    rctx = Ctx(actor=SYSTEM, now=ctx.now)
    for m in conn.execute(sa.select(material).order_by(material.c.id)).mappings():
        code = str(m["code"] or "").strip()[:40] or f"MAT-{m['id']}"
        found = conn.execute(sa.select(item.c.id).where(item.c.code == code, item.c.deleted_at.is_(None))).scalar()
        if found is None:
            doc = {"code": code, "name": (m.get("name") or code)[:100], "spec": (m.get("spec") or None) and m["spec"][:200],
                   "item_type": "raw", "unit": UNITS.get(m.get("uom") or "pcs", str(m.get("uom"))[:20])}
            found = records.create_records(conn=conn, registry=ctx.forms, ctx=rctx, form="item", docs=[doc])[0]["id"]
            if m["deleted_at"] is not None:
                conn.execute(item.update().where(item.c.id == found).values(deleted_at=_utc(m["deleted_at"])))
        out[int(m["id"])] = int(found)
    return out


def _orders(conn: Any, ctx: Any, items: dict[int, int]) -> None:
    hold = _table(conn, HOLD)
    if hold is None:
        return
    form = ctx.forms.get(conn, "production_order")
    po, version = form.main, form.version
    units = dict(conn.execute(sa.select(ctx.forms.get(conn, "item").main.c.id, ctx.forms.get(conn, "item").main.c.unit)).all())
    rows = []
    for o in conn.execute(sa.select(hold).order_by(hold.c.id)).mappings():
        status = o["status"] if o["status"] in STATES else "planned"
        item = items.get(o["material"])
        done = status in ("finished", "closed")
        rows.append({"id": o["id"], "row_version": 1, "form_version": version,
                     "created_at": _utc(o["created_at"]), "created_by": o["created_by"], "updated_at": _utc(o["updated_at"]),
                     "updated_by": o["updated_by"], "department_id": o["department_id"], "deleted_at": _utc(o["deleted_at"]),
                     "code": o["code"], "item": item, "qty": o["qty"], "unit": units.get(item), "priority": 5,
                     "status": status, "released_at": _utc(o["released_at"]), "good_qty": o["good_qty"] or 0, "scrap_qty": 0,
                     "progress": 100 if done else 0})
    if rows:
        conn.execute(po.insert(), rows)
        if conn.dialect.name == "postgresql":      # the ids were given: the id sequence continues after them
            conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('production_order', 'id'), "
                                 "(SELECT max(id) FROM production_order))"))
