"""Maintenance orders (issue 23, equipment pack): a fault report opens its repair order; the order's buttons
stamp response / start / finish with the write's clock and compute the minutes; a repair finishes only with
its failure cause; an operator reports but does not see order numbers or close orders; the machine is
marked down while a stopping repair is open (the core pack's breakdown re-planning follows) and comes back
when it is finished."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from mom.engines.forms.fieldtypes import plant_tz
from mom.engines.maintenance import repair
from mom.engines.packs import manager
from mom.engines.records import service as S
from mom.engines.records.context import SYSTEM, Ctx
from mom.platform.auth import service as auth
from mom.platform.composition import form_registry, install_record_hooks
from mom.platform.db.engine import read_tx, write_tx
from mom.platform.settings import Settings
from tests.conftest import fixture_hash
from tests.integration.people_api import PeopleApi

UTC = dt.timezone.utc


def install_equipment(engine: sa.engine.Engine) -> None:
    """`mom pack install equipment` on the core plant (skipped when it is there already)."""
    with read_tx(engine) as conn:
        have = conn.execute(sa.text("SELECT count(*) FROM mom_pack WHERE name = 'equipment'")).scalar_one()
    if not have:
        manager.execute(engine, None, "install", "equipment", forms_factory=form_registry,
                        tz=plant_tz(Settings(database_url="sqlite://").timezone))


class Plant(PeopleApi):
    """The core demo plant with the equipment pack: an operator, a technician, an equipment manager, a planner."""

    def __init__(self, client: Any, engine: sa.engine.Engine) -> None:
        install_equipment(engine)
        super().__init__(client, engine)
        with write_tx(engine) as conn:
            auth.create_user(conn, username="admin", password_hash=fixture_hash("admin-pass-1"), is_admin=True)
            for name, roles in (("op1", ["operator"]), ("tech1", ["maintenance_tech"]), ("mgr1", ["equipment_manager"]),
                                ("plan1", ["planner"])):
                auth.create_user(conn, username=name, password_hash=fixture_hash(f"{name}-pass-1"), roles=roles)
        self.machine = {m["code"]: m["id"] for m in self.get("/api/records/machine?limit=100")["items"]}
        self.forms = form_registry()
        self.flows = install_record_hooks(self.forms)

    def act(self, order_id: int, key: str, who: str = "tech1", status: int | tuple[int, ...] = 200, **patch: Any) -> Any:
        if patch:
            now = self.get(f"/api/records/maintenance_order/{order_id}", who=who)
            r = self.client.patch(f"/api/records/maintenance_order/{order_id}", json={"row_version": now["row_version"], **patch},
                                  headers=self.h(who))
            assert r.status_code == 200, r.text
        r = self.client.post(f"/api/records/maintenance_order/{order_id}/transitions/{key}", json={}, headers=self.h(who))
        want = status if isinstance(status, tuple) else (status,)
        assert r.status_code in want, r.text
        return r.json()

    def order(self, code: str) -> dict[str, Any]:
        [got] = self.find("maintenance_order", code=code)
        return got

    def at(self, when: dt.datetime, fn: Any) -> Any:
        """``fn(conn, ctx)`` in one transaction with the clock at ``when`` (the system acting)."""
        with write_tx(self.engine) as conn:
            return fn(conn, Ctx(actor=SYSTEM, now=when, tz=plant_tz("Asia/Shanghai")))

    def machine_status(self, code: str) -> str:
        return self.get(f"/api/records/machine/{self.machine[code]}")["status"]


@pytest.fixture
def mw(core_pack, engine, client) -> Plant:  # type: ignore[no-untyped-def]
    return Plant(client, engine)


def test_an_operator_reports_a_fault_and_the_technician_repairs_it(mw: Plant) -> None:
    report = mw.post("/api/records/fault_report", {"machine": mw.machine["CNC-2"], "symptom": "主轴异响，加工面振纹",
                                                      "urgency": "high"}, who="op1", status=201)
    assert "maintenance_order" not in report or report["maintenance_order"] in (None, "")   # hidden from the operator
    mine = mw.get(f"/api/records/fault_report/{report['id']}", who="op1")
    assert not mine.get("maintenance_order")
    code = mw.get(f"/api/records/fault_report/{report['id']}", who="tech1")["maintenance_order"]
    assert code and code.startswith("WX-")
    order = mw.order(code)
    assert order["kind"] == "repair" and order["status"] == "reported" and order["source"] == "fault_report"
    assert order["source_ref"] == report["code"] and order["reported_at"] and order["title"].startswith("报修：主轴异响")
    assert mw.machine_status("CNC-2") == "down"                 # 停机: the breakdown rule re-plans from here
    # the operator may not read orders, let alone close them
    assert mw.client.get("/api/records/maintenance_order", headers=mw.h("op1")).status_code == 403
    assert mw.client.post(f"/api/records/maintenance_order/{order['id']}/transitions/respond", json={},
                             headers=mw.h("op1")).status_code in (403, 404)
    mw.act(order["id"], "respond")
    mw.act(order["id"], "start")
    refused = mw.act(order["id"], "finish", status=422)
    assert "故障原因" in refused["message"]["zh-CN"]
    cause = mw.find("failure_cause", code="F01")[0]
    mw.act(order["id"], "finish", failure_cause=cause["id"], work_done="更换主轴轴承")
    done = mw.order(code)
    assert done["status"] == "done" and done["responded_at"] and done["started_at"] and done["finished_at"]
    assert done["response_min"] is not None and done["repair_min"] is not None
    assert mw.machine_status("CNC-2") == "idle"                 # its last stopping repair is finished
    assert mw.client.post(f"/api/records/maintenance_order/{order['id']}/transitions/close", json={},
                             headers=mw.h("tech1")).status_code in (403, 409)   # only the equipment manager closes
    mw.act(order["id"], "close", who="mgr1")
    assert mw.order(code)["closed_at"]


def test_the_buttons_stamp_the_times_and_the_minutes_on_a_fixed_clock(mw: Plant) -> None:
    t0 = dt.datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    code = mw.at(t0, lambda conn, ctx: repair.open_repair_order(
        conn, mw.forms, ctx, machine_id=mw.machine["CNC-1"], title_zh="液压站压力低", title_en="low hydraulic pressure",
        source="device_alarm", ref="ALARM-7"))
    again = mw.at(t0 + dt.timedelta(minutes=3), lambda conn, ctx: repair.open_repair_order(
        conn, mw.forms, ctx, machine_id=mw.machine["CNC-1"], title_zh="液压站压力低", title_en="", source="device_alarm",
        ref="ALARM-7"))
    assert again == code                                             # one open order per source + reference
    oid = mw.order(code)["id"]
    cause = mw.find("failure_cause", code="F04")[0]["id"]

    def move(key: str, **patch: Any) -> Any:
        return lambda conn, ctx: S.update_record(conn=conn, registry=mw.forms, ctx=ctx, form="maintenance_order",
                                                 record_id=oid, patch={"status": {"respond": "responded", "start": "in_repair",
                                                                                  "finish": "done"}[key], **patch}, transition=key)
    mw.at(t0 + dt.timedelta(minutes=12), move("respond"))
    mw.at(t0 + dt.timedelta(minutes=20), move("start"))
    mw.at(t0 + dt.timedelta(minutes=95), move("finish", failure_cause=cause))
    got = mw.order(code)
    assert got["response_min"] == 12 and got["repair_min"] == 75
    assert got["responded_at"].startswith("2026-12-01") and got["finished_at"]
    # a new alarm with the same reference after the order is done opens a new order
    third = mw.at(t0 + dt.timedelta(hours=3), lambda conn, ctx: repair.open_repair_order(
        conn, mw.forms, ctx, machine_id=mw.machine["CNC-1"], title_zh="液压站压力低", title_en="", source="device_alarm",
        ref="ALARM-7"))
    assert third != code


def test_people_do_not_write_the_engines_fields_nor_delete_orders(mw: Plant) -> None:
    made = mw.post("/api/records/maintenance_order", {"kind": "repair", "title": "更换传送带", "machine": mw.machine["ASM-1"],
                                                         "machine_stopped": False}, who="mgr1", status=201)
    got = mw.get(f"/api/records/maintenance_order/{made['id']}", who="mgr1")
    assert got["source"] == "manual" and got["reported_at"] and got["status"] == "reported"
    r = mw.client.patch(f"/api/records/maintenance_order/{made['id']}",
                           json={"row_version": got["row_version"], "response_min": 1}, headers=mw.h("admin"))
    assert r.status_code == 409 and "响应用时" in r.json()["message"]["zh-CN"]
    assert mw.client.delete(f"/api/records/maintenance_order/{made['id']}", headers=mw.h("admin")).status_code == 409
    assert mw.machine_status("ASM-1") == "idle"                 # a repair that does not stop the machine


def test_the_ledger_is_a_hierarchy_of_lines_machines_and_components(mw: Plant) -> None:
    line = mw.post("/api/records/equipment", {"code": "L1", "name": "机加工线", "kind": "line"}, who="mgr1", status=201)
    cnc = mw.post("/api/records/equipment", {"code": "E-CNC1", "name": "数控车床 1号", "kind": "machine", "machine": mw.machine["CNC-1"],
                                             "parent_equipment": line["id"], "model": "CK6150", "maker": "沈阳机床"}, who="mgr1", status=201)
    spindle = mw.post("/api/records/equipment", {"code": "E-CNC1-SP", "name": "主轴", "kind": "component", "parent_equipment": cnc["id"]},
                      who="mgr1", status=201)
    r = mw.client.post("/api/records/equipment", json={"code": "E-X", "name": "无对应设备", "kind": "machine"}, headers=mw.h("mgr1"))
    assert r.status_code == 422 and "生产设备" in r.text                              # a machine links to its core machine
    r = mw.client.post("/api/records/equipment", json={"code": "E-Y", "name": "部件挂产线", "kind": "component",
                                                        "parent_equipment": line["id"]}, headers=mw.h("mgr1"))
    assert r.status_code == 422 and "部件的上级应为设备、部件" in r.json()["message"]["zh-CN"]
    sub = mw.post("/api/records/equipment", {"code": "E-CNC1-SP-B", "name": "主轴轴承", "kind": "component",
                                             "parent_equipment": spindle["id"]}, who="mgr1", status=201)
    now = mw.get(f"/api/records/equipment/{spindle['id']}", who="mgr1")
    r = mw.client.patch(f"/api/records/equipment/{spindle['id']}", json={"row_version": now["row_version"], "parent_equipment": sub["id"]},
                        headers=mw.h("mgr1"))
    assert r.status_code == 422 and "循环" in r.text
    assert mw.client.post("/api/records/equipment", json={"code": "E-Z", "name": "x", "kind": "line"},
                          headers=mw.h("tech1")).status_code == 403                      # technicians read the ledger
