"""Uninstalling a pack item by item: forms and reports retired (hidden, refused with words, data kept),
restored, purged; rules disabled; fixtures imported inside the caller's transaction."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from mom.engines.packs import steps
from mom.engines.packs.loader import Bundle
from mom.engines.records import transfer
from mom.engines.records.context import Ctx
from mom.platform.db import tables as T
from mom.platform.db.engine import read_tx, write_tx
from mom.platform.errors import Conflict
from mom.platform.worker import Worker
from tests.integration.wf_helpers import Plant

DEMO = Path(__file__).resolve().parents[2] / "modelpacks" / "demo"


def _step(key: str) -> steps.PackStep:
    return next(s for s in steps.registered() if s.key == key)


def _ctx(conn: Any, plant: Plant, **kw: Any) -> steps.PackContext:
    bundle = Bundle(DEMO, {"name": "demo"})
    return steps.PackContext(bundle, conn=conn, forms=plant.client.app.state.registry, **kw)


def _slot(engine: Any, plant: Plant, key: str, slot: str, name: str) -> Any:
    with write_tx(engine) as conn:
        return getattr(_step(key), slot)(_ctx(conn, plant), name)


def _form_names(plant: Plant, path: str = "/api/forms") -> set[str]:
    r = plant.client.get(path, headers=plant.h("admin"))
    assert r.status_code == 200, r.text
    return {f["name"] for f in r.json()}


def _menu(plant: Plant) -> tuple[set[str], set[str]]:
    apps = plant.client.get("/api/apps", headers=plant.h("admin")).json()
    return ({f["name"] for a in apps for f in a["forms"]}, {r["name"] for a in apps for r in a["reports"]})


def test_form_retired_restored_purged(plant: Plant, engine) -> None:  # type: ignore[no-untyped-def]
    c, admin = plant.client, plant.h("admin")
    made = [plant.ncr()["id"] for _ in range(3)]
    _slot(engine, plant, "forms", "retire", "ncr")
    assert "ncr" not in _form_names(plant) and "ncr" not in _menu(plant)[0]
    for r in (c.get("/api/records/ncr", headers=admin), c.get(f"/api/records/ncr/{made[0]}", headers=admin),
              c.post("/api/records/ncr", json={"title": "x", "qty": 1}, headers=admin), c.get("/api/forms/ncr", headers=admin)):
        assert r.status_code == 404, r.text
        assert "已停用（模型包 demo 已卸载），记录仍然保留；重新安装该模型包即可恢复" in r.text
        assert "不合格品报告" in r.text
    # the pack manager still reads it; a plant form may not take its name
    with read_tx(engine) as conn:
        raw, retired = _step("forms").live(conn, "ncr")
    assert retired and raw["name"] == "ncr"
    r = c.put("/api/forms/ncr", json=raw, headers=admin)
    assert r.status_code == 409 and "重新安装该模型包可恢复，或换一个名称" in r.text
    with read_tx(engine) as conn:
        assert "ncr" not in _step("forms").names(conn)

    _slot(engine, plant, "forms", "restore", "ncr")
    assert "ncr" in _form_names(plant) and "ncr" in _menu(plant)[0]
    got = c.get("/api/records/ncr", headers=admin).json()["items"]
    assert {i["id"] for i in got} >= set(made)

    with read_tx(engine) as conn:
        audits = conn.execute(sa.select(sa.func.count()).select_from(T.audit).where(T.audit.c.form == "ncr")).scalar_one()
    assert audits >= 3
    _slot(engine, plant, "forms", "purge", "ncr")
    assert "ncr" not in sa.inspect(engine).get_table_names()
    assert not [t for t in sa.inspect(engine).get_table_names() if t.startswith("ncr_")]
    r = c.get("/api/records/ncr", headers=admin)
    assert r.status_code == 404 and "不存在" in r.text
    with read_tx(engine) as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(T.audit).where(T.audit.c.form == "ncr")).scalar_one() == audits
        assert not conn.execute(sa.select(T.form_version.c.id).where(T.form_version.c.form_name == "ncr")).first()
        assert not conn.execute(sa.select(T.wf_instance.c.id).where(T.wf_instance.c.form == "ncr")).first()
        assert _step("forms").live(conn, "ncr") is None


def test_publish_with_restore_brings_a_retired_form_back(plant: Plant, engine) -> None:  # type: ignore[no-untyped-def]
    plant.ncr()
    _slot(engine, plant, "forms", "retire", "ncr")
    with read_tx(engine) as conn:
        raw, _ = _step("forms").live(conn, "ncr")
    with write_tx(engine) as conn:
        with pytest.raises(Conflict):
            _step("forms").install(_ctx(conn, plant), "forms/ncr.json", raw)
    with write_tx(engine) as conn:
        _step("forms").install(_ctx(conn, plant, restore=True), "forms/ncr.json", raw)
    assert plant.client.get("/api/records/ncr", headers=plant.h("admin")).json()["items"]


def test_report_retired_is_hidden_and_refused(plant: Plant, engine) -> None:  # type: ignore[no-untyped-def]
    c, admin = plant.client, plant.h("admin")
    assert c.get("/api/reports/iqc_daily/data", headers=admin).status_code == 200
    _slot(engine, plant, "reports", "retire", "iqc_daily")
    r = c.get("/api/reports/iqc_daily/data", headers=admin)
    assert r.status_code == 404 and "已随模型包卸载而停用；重新安装该模型包即可恢复" in r.text
    assert "iqc_daily" not in {i["name"] for i in c.get("/api/reports", headers=admin).json()}
    assert "iqc_daily" not in _menu(plant)[1]
    _slot(engine, plant, "reports", "restore", "iqc_daily")
    assert c.get("/api/reports/iqc_daily/data", headers=admin).status_code == 200
    _slot(engine, plant, "reports", "purge", "iqc_daily")
    with read_tx(engine) as conn:
        assert _step("reports").live(conn, "iqc_daily") is None
        assert not conn.execute(sa.select(T.definition_version.c.id).where(T.definition_version.c.name == "iqc_daily")).first()


def test_retired_rule_does_not_fire(plant: Plant, engine, settings) -> None:  # type: ignore[no-untyped-def]
    c = plant.client

    def orders() -> int:
        return len(c.get("/api/records/repair_ticket", headers=plant.h("admin")).json()["items"])

    before = orders()
    _slot(engine, plant, "rules", "retire", "breakdown_response")
    with read_tx(engine) as conn:
        assert _step("rules").live(conn, "breakdown_response")[1] is True
    assert c.post("/api/records/breakdown", json={"machine": "CNC-2", "symptom": "异响", "severity": "high"},
                  headers=plant.h("qe1")).status_code == 201
    Worker(engine, settings, name="w").drain()
    assert orders() == before
    _slot(engine, plant, "rules", "restore", "breakdown_response")
    assert c.post("/api/records/breakdown", json={"machine": "CNC-3", "symptom": "漏油", "severity": "high"},
                  headers=plant.h("qe1")).status_code == 201
    Worker(engine, settings, name="w2").drain()
    assert orders() == before + 1


def _suppliers(engine: Any) -> dict[str, str]:
    with read_tx(engine) as conn:
        return {r[0]: r[1] for r in conn.execute(sa.text("SELECT code, name FROM supplier WHERE deleted_at IS NULL"))}


def test_fixtures_inside_the_callers_transaction(plant: Plant, engine) -> None:  # type: ignore[no-untyped-def]
    registry = plant.client.app.state.registry
    csv = "code,name,grade\nSUP-901,新供应商,A\n".encode()
    ctx = Ctx.system()
    with pytest.raises(RuntimeError):
        with write_tx(engine) as conn:
            res = transfer.import_records(conn=conn, registry=registry, ctx=ctx, form="supplier", stream=io.BytesIO(csv),
                                          fmt="csv", key="code")
            assert res["created"] == 1
            raise RuntimeError("the pack's install failed after its fixtures")
    assert "SUP-901" not in _suppliers(engine)
    with write_tx(engine) as conn:
        transfer.import_records(conn=conn, registry=registry, ctx=ctx, form="supplier", stream=io.BytesIO(csv),
                                fmt="csv", key="code")
    assert _suppliers(engine)["SUP-901"] == "新供应商"


def test_fixture_step_skip_keeps_the_plants_edit(plant: Plant, engine) -> None:  # type: ignore[no-untyped-def]
    c, admin = plant.client, plant.h("admin")
    first = c.get("/api/records/supplier", params={"code": "SUP-001"}, headers=admin).json()["items"][0]
    assert plant.edit(f"/api/records/supplier/{first['id']}", {"name": "工厂改过的名字"}, "admin").status_code == 200
    with write_tx(engine) as conn:
        conn.execute(sa.text("UPDATE supplier SET deleted_at = CURRENT_TIMESTAMP WHERE code = 'SUP-003'"))
    fx = {"form": "supplier", "file": "fixtures/supplier.csv", "key": "code"}
    with write_tx(engine) as conn:
        line = _step("fixtures").install(_ctx(conn, plant, fixtures_existing="skip"), "pack.json#/fixtures/0", fx)
    assert line == "supplier: +1 ~0"
    got = _suppliers(engine)
    assert got["SUP-001"] == "工厂改过的名字" and "SUP-003" in got
    with write_tx(engine) as conn:   # the default overwrites, as `mom demo` always did
        _step("fixtures").install(_ctx(conn, plant), "pack.json#/fixtures/0", fx)
    assert _suppliers(engine)["SUP-001"] == "温州精密铸造有限公司"
