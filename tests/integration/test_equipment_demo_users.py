"""The equipment pack's demo users (issue 23): `mom demo` makes 维修工 ``tech`` (maintenance_tech) and 设备主管 ``eqmgr``
(equipment_manager) in 设备部, as README lists them. Each logs in with the listed password and sees what the role
is for: the technician the demo's open repair order of CNC-2 on the repair page (手机维修) but not the device
mappings; the manager the device mapping DEMO-PLANT, the PM plans and the orders."""
from __future__ import annotations

from typing import Any

from mom.engines.forms.fieldtypes import plant_tz
from mom.platform.cli import demo_equipment
from mom.platform.cli.demo import USERS
from mom.platform.composition import form_registry
from tests.conftest import login


def test_the_technician_and_the_equipment_manager_log_in_and_see_their_work(plant, engine, client) -> None:  # type: ignore[no-untyped-def]
    listed = {u[0]: u for u in USERS}
    assert listed["tech"][1:6] == ("techpass123", "维修工小刘", False, "EQP", ["maintenance_tech"])
    assert listed["eqmgr"][1:6] == ("eqmgrpass123", "设备主管老吴", False, "EQP", ["equipment_manager"])
    list(demo_equipment.load_equipment_history(engine, form_registry(), plant_tz("Asia/Shanghai")))   # the repair order
    tech, eqm = login(client, "tech", "techpass123"), login(client, "eqmgr", "eqmgrpass123")

    me = client.get("/api/auth/me", headers=tech).json()
    assert me.get("display_name") == "维修工小刘", me
    repair = client.get("/api/maintenance/orders", headers=tech)
    assert repair.status_code == 200, repair.text
    [order] = repair.json()["items"]
    assert order["kind"] == "repair" and order["status"] == "reported" and "CNC-2" in str(order["machine"])
    assert client.get("/api/records/device_mapping", headers=tech).status_code == 403      # the manager's, not the tech's

    mappings = client.get("/api/records/device_mapping", headers=eqm)
    assert mappings.status_code == 200 and [m["code"] for m in mappings.json()["items"]] == ["DEMO-PLANT"], mappings.text
    assert len(client.get("/api/records/pm_plan", headers=eqm).json()["items"]) == 4
    board: Any = client.get("/api/maintenance/board", headers=eqm).json()
    assert [r["status"] for r in board["repairs"]] == ["reported"] and board["plans_readable"] is True
