"""The quality pack (质量管理, issue 22) as an administrator installs it, SQLite and PostgreSQL: on the core
pack alone (`mom pack install quality`), a second time (nothing changes), with `mom demo` (core, quality
and demo side by side: the roles of the same name merge), and its forms extended in the designer like any
pack form — the engine still opens inspection lots on the extended form."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from mom.engines.forms.fieldtypes import plant_tz
from mom.engines.packs import manager
from mom.platform.composition import form_registry
from mom.platform.db.engine import read_tx
from mom.platform.settings import Settings
from tests.integration.inventory_helpers import Store

FORMS = ("defect_code", "inspection_plan", "inspection_lot", "quality_state", "nonconformance", "capa", "spc_alarm")


def _install(engine: sa.engine.Engine) -> list[str]:
    return manager.execute(engine, None, "install", "quality", forms_factory=form_registry,
                           tz=plant_tz(Settings(database_url="sqlite://").timezone))[1]


def _scalar(engine: sa.engine.Engine, sql: str) -> Any:
    with read_tx(engine) as conn:
        return conn.execute(sa.text(sql)).scalar_one()


def test_quality_installs_on_core_and_a_second_install_changes_nothing(core_bare: sa.engine.Engine) -> None:
    _install(core_bare)
    assert _scalar(core_bare, "SELECT version FROM mom_pack WHERE name = 'quality'") == "1.2.0"
    with read_tx(core_bare) as conn:
        owned = {r[0] for r in conn.execute(sa.text("SELECT name FROM mom_pack_item WHERE kind = 'forms' AND pack = 'quality'"))}
        roles = {r[0] for r in conn.execute(sa.text("SELECT name FROM mom_role"))}
    assert set(FORMS) <= owned
    assert {"qc_inspector", "qc_manager", "quality_engineer"} <= roles
    codes = _scalar(core_bare, "SELECT count(*) FROM defect_code WHERE deleted_at IS NULL")
    assert codes >= 12
    assert _scalar(core_bare, "SELECT count(*) FROM defect_code WHERE name = '砂眼' AND defect_class = 'major'") == 1
    again = _install(core_bare)
    assert not any("新建" in ln or "新增" in ln for ln in again), again
    assert _scalar(core_bare, "SELECT count(*) FROM defect_code WHERE deleted_at IS NULL") == codes


def test_mom_demo_installs_core_quality_and_demo(plant: Any, engine: sa.engine.Engine) -> None:
    with read_tx(engine) as conn:
        packs = {r[0]: r[1] for r in conn.execute(sa.text("SELECT name, version FROM mom_pack"))}
        qc1_roles = {r[0] for r in conn.execute(sa.text(
            "SELECT r.name FROM mom_role r JOIN mom_user_role ur ON ur.role_id = r.id JOIN mom_user u ON u.id = ur.user_id "
            "WHERE u.username = 'qc1'"))}
    assert {"core", "quality", "demo"} <= set(packs)
    assert "qc_inspector" in qc1_roles         # the demo's inspector holds the pack's role (one role, merged)
    # the demo pack's own quality forms still work next to the pack's
    assert _scalar(engine, "SELECT count(*) FROM iqc_inspection WHERE deleted_at IS NULL") > 0


def test_the_designer_extends_the_plan_and_the_engine_keeps_working(plant: Any, client: Any, engine: sa.engine.Engine) -> None:
    store = Store(client, engine)
    store._passwords.update({"qe1": "qe1pass123"})
    form = store.get("/api/forms/inspection_plan")
    definition = form.get("definition", form)
    definition["fields"].append({"id": "ipx1", "key": "drawing_no", "type": "text", "max_length": 40,
                                 "label": {"zh-CN": "图号", "en": "Drawing no."}})
    r = client.put("/api/forms/inspection_plan", json=definition, headers=store.h("admin"))
    assert r.status_code == 200, r.text
    item = store.items["SF-C50"]
    store.post("/api/records/inspection_plan", {
        "name": "阀盖来料检验", "inspection_type": "iqc", "item": item, "drawing_no": "ZF-50-02", "aql_major": "1.0",
        "characteristics": [{"seq_no": 1, "name": "外观", "kind": "attribute", "defect_class": "major"}]}, who="qe1")
    out = store.receive("SF-C50", 150)
    lots = store.find("inspection_lot", stock_receipt=out["id"])
    # lot 150, level II → F (Table 1); AQL 1.0 normal: F's cell is an arrow up to E → n 13, Ac 0, Re 1 (Table 2-A)
    assert len(lots) == 1 and (lots[0]["code_letter"], lots[0]["sample_size"], lots[0]["ac_major"], lots[0]["re_major"]) \
        == ("E", 13, 0, 1)
