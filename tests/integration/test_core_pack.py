"""The built-in `core` pack (制造基础, issue 19): installed on an empty database with and without its
demo plant, in one transaction (timed: the issue's target is at most 20 s), a designer's extension of
`item` surviving an upgrade to the same version, the forms' permissions and the 流转卡 print."""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from mom.platform.auth import service as auth
from mom.platform.db.engine import write_tx
from tests.conftest import ROOT, fixture_hash, login
from tests.integration.packs_helpers import admin_headers, ok, pack_row, rows, snapshot

CORE = ROOT / "modelpacks" / "core"
FORMS = ["scrap_reason", "work_calendar", "item", "bom", "work_center", "machine", "routing", "team", "employee",
         "sales_order", "production_order", "operation_task", "job_report", "schedule_proposal"]


def install(cli: Any, *args: str) -> float:
    """`mom pack install … --yes`; returns the seconds it took (printed for the record)."""
    start = time.perf_counter()
    ok(cli("pack", "install", *args, "--yes"))
    took = time.perf_counter() - start
    print(f"mom pack install {' '.join(args)}: {took:.2f} s")
    return took


def user(engine: sa.engine.Engine, client: Any, name: str, role: str) -> dict[str, str]:
    with write_tx(engine) as conn:
        auth.create_user(conn, username=name, password_hash=fixture_hash(f"{name}-pass-1"), roles=[role])
    return login(client, name, f"{name}-pass-1")


# ---------------------------------------------------------------- install on an empty database
@pytest.mark.parametrize("demo", [False, True], ids=["master-only", "with-demo"])
def test_core_installs_on_an_empty_database(cli, engine, client, demo: bool) -> None:  # type: ignore[no-untyped-def]
    install(cli, "core", *(["--demo"] if demo else []))     # its speed is a benchmark: bench/production_bench.py install
    assert pack_row(engine, "core")["version"] == json.loads((CORE / "pack.json").read_text(encoding="utf-8"))["version"]

    admin = admin_headers(client, engine)
    core = next(a for a in client.get("/api/apps", headers=admin).json() if a["name"] == "core")
    assert core["label"]["zh-CN"] == "制造基础"
    menu = [f["name"] for f in core["forms"]]
    assert [m for m in menu if m in FORMS] == FORMS                             # the menu follows the forms,
    stock = ["warehouse", "location", "lot", "stock_move", "stock_balance"]     # 1.4.0: stock
    assert [m for m in menu if m in stock] == stock
    assert menu.index("location") < menu.index("production_order")             # a form after those it references (1.5.0: 入库库位)
    with engine.connect() as conn:
        roles = dict(conn.execute(sa.text("SELECT name, label FROM mom_role")).all())
    for name, zh in (("planner", "计划员"), ("supervisor", "车间主任"), ("operator", "操作工"), ("engineer", "工艺员")):
        label = roles[name] if isinstance(roles[name], dict) else json.loads(roles[name])
        assert label["zh-CN"] == zh

    # master data, always
    reasons = {r["code"]: r["category"] for r in rows(engine, "scrap_reason", "code, category")}
    assert len(reasons) >= 6 and reasons["R05"] == "machine"
    cal = client.get("/api/records/work_calendar", headers=admin, params={"code": "STD"}).json()["items"]
    std = client.get(f"/api/records/work_calendar/{cal[0]['id']}", headers=admin).json()
    assert std["name"] == "标准日历" and std["workdays"] == "1,2,3,4,5,6"
    assert [(s["start_time"], s["end_time"]) for s in std["shifts"]] == [("08:00", "12:00"), ("13:00", "17:00")]

    items = {r["code"]: r for r in rows(engine, "item", "id, code, name, item_type")}
    if not demo:
        assert items == {} and rows(engine, "routing") == [] and rows(engine, "sales_order") == []
        return
    assert items["FG-V50"]["item_type"] == "finished" and items["RM-HT250"]["item_type"] == "raw"
    boms = {r["code"]: r["id"] for r in rows(engine, "bom", "id, code")}
    valve_bom = client.get(f"/api/records/bom/{boms['BOM-FG-V50']}", headers=admin).json()
    assert valve_bom["status"] == "active" and valve_bom["is_default"] is True
    parts = {line["component"] for line in valve_bom["lines"]}
    assert len(parts) == 5 and items["SF-C50"]["id"] in parts and "BOM-SF-C50" in boms    # level 2: 阀盖 has its own BOM
    rid = next(r["id"] for r in rows(engine, "routing", "id, code") if r["code"] == "RT-FG-V50")
    routing = client.get(f"/api/records/routing/{rid}", headers=admin).json()
    assert [(o["op_seq"], o["name"]) for o in routing["operations"]] == [(10, "阀体铸造"), (20, "阀体机加工"), (30, "装配"), (40, "压力试验")]
    assert [a["op_seq"] for a in routing["alternatives"]] == [20]
    assert len(rows(engine, "work_center")) == 3 and len(rows(engine, "machine")) == 4
    assert len(rows(engine, "team")) == 2 and len(rows(engine, "employee")) == 4
    so = rows(engine, "sales_order", "id, code")
    assert [s["code"] for s in so] == ["SO-DEMO-001"] and len(rows(engine, "sales_order__lines")) == 2


def test_core_install_is_one_transaction(cli, engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A demo file that fails (the last one) leaves the database exactly as it was: no forms, no roles, no pack."""
    broken = tmp_path / "core"
    shutil.copytree(CORE, broken)
    (broken / "CHECKSUMS.sha256").unlink(missing_ok=True)
    orders = json.loads((broken / "demo" / "sales_order.json").read_text(encoding="utf-8"))
    orders[0]["lines"][1]["item"] = "不存在的物料"
    (broken / "demo" / "sales_order.json").write_text(json.dumps(orders, ensure_ascii=False), encoding="utf-8")
    before = snapshot(engine)
    r = cli("pack", "install", str(broken), "--yes", "--demo")
    assert r.exit_code == 1
    assert "sales_order.json" in r.output and "不存在的物料" in r.output
    assert snapshot(engine) == before and pack_row(engine, "core") is None


# ---------------------------------------------------------------- a plant's extension survives the same version
def test_designer_field_on_item_survives_upgrading_core(cli, engine, client) -> None:  # type: ignore[no-untyped-def]
    install(cli, "core", "--demo")
    admin = admin_headers(client, engine)
    definition = client.get("/api/forms/item", headers=admin).json()["definition"]
    definition["fields"].append({"id": "plant_drawing", "key": "drawing_no", "type": "text", "max_length": 40,
                                 "label": {"zh-CN": "图号", "en": "Drawing no."}})
    r = client.put("/api/forms/item", json=definition, headers=admin)
    assert r.status_code == 200, r.text
    valve = next(x["id"] for x in rows(engine, "item", "id, code") if x["code"] == "FG-V50")
    r = client.get(f"/api/records/item/{valve}", headers=admin)
    r = client.patch(f"/api/records/item/{valve}", headers=admin,
                     json={"drawing_no": "Z41H-50-00", "row_version": r.json()["row_version"]})
    assert r.status_code == 200, r.text

    ok(cli("pack", "upgrade", "core", "--yes"))
    fields = client.get("/api/forms/item", headers=admin).json()["definition"]["fields"]
    assert "drawing_no" in [f["key"] for f in fields]
    assert client.get(f"/api/records/item/{valve}", headers=admin).json()["drawing_no"] == "Z41H-50-00"
    assert len(rows(engine, "item")) == 6 and len(rows(engine, "scrap_reason")) == 7   # nothing loaded twice


# ---------------------------------------------------------------- who may do what; the 流转卡
def test_core_permissions_and_traveler(cli, engine, client) -> None:  # type: ignore[no-untyped-def]
    install(cli, "core", "--demo")
    planner, operator = user(engine, client, "plan1", "planner"), user(engine, client, "op1", "operator")
    r = client.post("/api/records/item", headers=operator, json={"code": "X-1", "name": "螺母"})
    assert r.status_code == 403, r.text                                          # master data: read only
    assert client.get("/api/records/item", headers=operator).status_code == 200
    r = client.post("/api/records/production_order", headers=operator, json={"item": "闸阀 DN50", "qty": 5})
    assert r.status_code == 403, r.text
    r = client.post("/api/records/production_order", headers=planner, json={"item": "闸阀 DN50", "qty": 0})
    assert r.status_code == 422 and "大于 0" in r.text                             # quantity > 0
    r = client.post("/api/records/production_order", headers=planner,
                    json={"item": "闸阀 DN50", "qty": 50, "due_date": "2026-12-15 17:00", "sales_order": "SO-DEMO-001"})
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["status"] == "planned" and order["code"].startswith("MO-")
    r = client.patch(f"/api/records/production_order/{order['id']}", headers=planner,
                     json={"good_qty": 50, "row_version": order["row_version"]})
    assert r.status_code == 422, r.text                                          # computed by the engine: read-only

    page = client.get("/api/print/traveler", headers=operator, params={"record_id": order["id"]})
    assert page.status_code == 200, page.text
    assert order["code"] in page.text and "闸阀 DN50" in page.text and "<svg" in page.text and "2026-12-15" in page.text
