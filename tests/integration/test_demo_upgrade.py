"""A plant that ran the demo before it sat on core (demo 1.0.0, with its own 物料 and 生产工单 forms) runs
`mom demo` again: demo upgrades to 2.0.0, core comes with it, and nothing is lost — the materials are core
items, the inspections and NCRs point at them, the production orders are core production orders with their
codes, quantities and states, and the old orders' copy stays. The old pack is kept as a golden folder
(tests/golden/packs/demo-1.0.0, the pack as 1.0.0 shipped it)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from mom.engines.packs import manager
from mom.platform.cli.demo import load_demo, load_people
from mom.platform.composition import form_registry
from mom.platform.db.engine import read_tx, write_tx
from tests.conftest import login

OLD = Path(__file__).resolve().parents[1] / "golden" / "packs" / "demo-1.0.0"


def _old_plant(engine: sa.engine.Engine) -> None:
    """What `mom demo` made before: people, demo 1.0.0 with its demo data, a few orders and an NCR."""
    for _ in load_people(engine):
        pass
    manager.execute(engine, None, "install", str(OLD), forms_factory=form_registry, demo=True)
    from mom.engines.records import service as records
    from mom.engines.records.context import Ctx, actor_by_username

    with write_tx(engine) as conn:
        ctx = Ctx(actor=actor_by_username(conn, "planner"), now=__import__("datetime").datetime.now(__import__("datetime").timezone.utc))
        reg = form_registry()
        records.create_records(conn=conn, registry=reg, ctx=ctx, form="production_order",
                               docs=[{"material": "MAT-1001", "qty": 100}, {"material": "MAT-1002", "qty": 5}])
        conn.execute(sa.text("UPDATE production_order SET status = 'released', released_at = :t WHERE qty = 5"), {"t": ctx.now})
        records.create_records(conn=conn, registry=reg, ctx=ctx, form="ncr", docs=[{"title": "触头镀层脱落", "material": "MAT-1003", "qty": 2, "cost": 80}])


def _materials_of(conn: Any, form: str, ref: str, table: str) -> dict[int, str]:
    """record id -> the code its 物料 names."""
    q = sa.text(f"SELECT r.id, m.code FROM {form} r JOIN {table} m ON m.id = r.{ref} ORDER BY r.id")
    return {int(i): c for i, c in conn.execute(q)}


def test_mom_demo_over_a_demo_1_database_moves_materials_and_orders_into_core(engine, client) -> None:  # type: ignore[no-untyped-def]
    _old_plant(engine)
    with read_tx(engine) as conn:
        inspections = _materials_of(conn, "iqc_inspection", "material", "material")
        ncrs = _materials_of(conn, "ncr", "material", "material")
        orders = [dict(r) for r in conn.execute(sa.text(
            "SELECT o.id, o.code, o.qty, o.status, m.code AS material FROM production_order o JOIN material m ON m.id = o.material "
            "ORDER BY o.id")).mappings()]
    assert len(inspections) == 4 and len(ncrs) == 1 and [o["status"] for o in orders] == ["planned", "released"]

    plan = manager.plan(engine, "install", "demo", forms_factory=form_registry)
    assert not plan.blocked, plan.describe()
    said = plan.describe()
    assert "从模型包 demo 接手" in said and "将运行迁移 2.0.0 pre.py" in said and "material" not in said   # labels, never keys
    lines = list(load_demo(engine))
    assert "迁移 / migration demo 2.0.0 post" in lines

    with read_tx(engine) as conn:
        versions = dict(conn.execute(sa.text("SELECT name, version FROM mom_pack WHERE status = 'installed'")).all())
        assert versions["demo"] == "2.2.0" and "core" in versions
        after = _materials_of(conn, "iqc_inspection", "material", "item")
        assert {i: after.get(i) for i in inspections} == inspections                         # same materials, now items
        assert _materials_of(conn, "ncr", "material", "item") == ncrs
        codes = conn.execute(sa.text("SELECT code FROM item WHERE code LIKE 'MAT-%' ORDER BY code")).scalars().all()
        assert codes == ["MAT-1001", "MAT-1002", "MAT-1003"]                                # no second copy from the demo data
        kept = conn.execute(sa.text("SELECT count(*) FROM _demo1_production_order")).scalar()
        assert kept == 2                                                                      # the old orders' copy stays

    admin = login(client, "admin", "admin123")
    for old in orders:
        r = client.get(f"/api/records/production_order/{old['id']}", headers=admin)
        assert r.status_code == 200, r.text
        got = r.json()
        assert (got["code"], float(got["qty"]), got["status"]) == (old["code"], float(old["qty"]), old["status"])
        item = client.get(f"/api/records/item/{got['item']}", headers=admin).json()
        assert item["code"] == old["material"]
    released = client.get(f"/api/records/production_order/{orders[1]['id']}", headers=admin).json()
    assert released["released_at"]
    # the old 物料 form is retired with its records kept; a new order is a core one
    r = client.get("/api/records/material", headers=admin)
    assert r.status_code == 404 and "停用" in r.json()["message"]["zh-CN"]
    planner = login(client, "planner", "plannerpass123")
    item = client.get("/api/records/item", params={"code": "FG-V50"}, headers=planner).json()["items"][0]
    r = client.post("/api/records/production_order", json={"item": item["id"], "qty": 3}, headers=planner)
    assert r.status_code == 201 and r.json()["id"] > orders[-1]["id"], r.text
    # running it again changes nothing
    again = list(load_demo(engine))
    assert "iqc_inspection: +0 ~0" in again and not any("迁移" in x for x in again)


def _tool_pack(root: Path, name: str, version: str, *, form: bool, depends: dict[str, str] | None = None,
               extra: dict[str, str] | None = None) -> None:
    from tests.integration.packs_helpers import lab, write_pack

    tool = {"format": "mom.form/1", "name": "tool", "label": lab("工装", "Tool"),
            "fields": [{"id": "t1", "key": "code", "type": "text", "label": lab("编号", "Code"), "max_length": 20}],
            "permissions": [{"role": "*", "actions": ["create", "read"]}]}
    manifest = {"format": "mom.pack/1", "name": name, "version": version, "label": lab(f"包{name}", f"Pack {name}"),
                "forms": ["forms/tool.json"] if form else [], **({"depends": depends} if depends else {})}
    write_pack(root / name, manifest, {**({"forms/tool.json": tool} if form else {}), **(extra or {})})


def test_a_handed_over_form_still_there_stops_the_upgrade_and_a_migration_that_moves_it_lets_it_through(  # type: ignore[no-untyped-def]
        cli, engine, tmp_path, monkeypatch) -> None:
    from tests.integration.packs_helpers import ok, pack_folder

    packs = pack_folder(tmp_path, monkeypatch)
    _tool_pack(packs, "shop", "1.0.0", form=True)
    ok(cli("pack", "install", "shop", "--yes"))
    with write_tx(engine) as conn:
        conn.execute(sa.text("INSERT INTO tool (row_version, form_version, created_at, updated_at, code) "
                             "VALUES (1, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'T-1')"))
    # shop 2.0.0 gives its 工装 form to base, which it now depends on — without a migration to move it aside
    _tool_pack(packs, "base", "1.0.0", form=True)
    (packs / "shop").rename(tmp_path / "shop-1")
    _tool_pack(packs, "shop", "2.0.0", form=False, depends={"base": "^1.0.0"})
    plan = cli("pack", "plan", "shop", "--action", "upgrade")
    assert "从模型包 shop 接手" in plan.output and "没有先把原来的表单和数据移开" in plan.output, plan.output
    with read_tx(engine) as conn:
        assert conn.execute(sa.text("SELECT code FROM tool")).scalars().all() == ["T-1"]       # nothing changed
    # with a pre.py that moves the records aside, the upgrade goes through and base owns the form
    pre = ('import sqlalchemy as sa\nfrom mom.engines.forms.retire import purge_form\n\n\ndef migrate(conn, ctx):\n'
           '    conn.execute(sa.text("CREATE TABLE _old_tool AS SELECT code FROM tool"))\n    purge_form(conn, "tool")\n')
    _tool_pack(packs, "shop", "2.0.0", form=False, depends={"base": "^1.0.0"}, extra={"migrations/2.0.0/pre.py": pre})
    ok(cli("pack", "upgrade", "shop", "--yes"))
    with read_tx(engine) as conn:
        owner = conn.execute(sa.text("SELECT pack FROM mom_pack_item WHERE kind = 'forms' AND name = 'tool'")).scalar()
        assert owner == "base" and conn.execute(sa.text("SELECT code FROM _old_tool")).scalars().all() == ["T-1"]
