"""Maintenance windows in the schedule (issue 23): a PM order's planned window and an open repair order that
stops its machine (report → expected finish) are unavailable time for that machine when the plan is built
from the database (hook ``mom_machine_downtime``); the planner reads why in the plan's notes."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from mom.engines.maintenance import repair
from mom.engines.production import planning
from mom.platform.db.engine import read_tx, write_tx
from tests.integration.test_maintenance_orders import Plant
from tests.integration.test_production_planning import NOW, TZ, _ctx, _orders, _solve, _tasks, _utc


def _works_inside(t: dict, a: dt.datetime, b: dt.datetime) -> bool:
    """Starts or ends inside [a, b) (a pausable task may span the window: it stops over it, docs/scheduling.md)."""
    return a <= _utc(t["planned_start"]) < b or a < _utc(t["planned_end"]) <= b


def test_pm_windows_and_open_repairs_are_kept_free_in_the_plan(core_pack, engine, client) -> None:  # type: ignore[no-untyped-def]
    mw = Plant(client, engine)
    _orders(engine, [(10, NOW + dt.timedelta(days=3), 3), (10, NOW + dt.timedelta(days=4), 5)])
    a, b = NOW + dt.timedelta(minutes=60), NOW + dt.timedelta(hours=4)            # 08:30–11:30 on the furnace
    mw.post("/api/records/maintenance_order", {"kind": "pm", "title": "炉衬检查", "machine": mw.machine["FUR-1"],
                                               "planned_start": a.isoformat(), "planned_end": b.isoformat()}, who="mgr1", status=201)
    with write_tx(engine) as conn:                                                  # the assembly line broke at 07:30
        code = repair.open_repair_order(conn, mw.forms, _ctx(), machine_id=mw.machine["ASM-1"], title_zh="试压泵漏油",
                                        title_en="test pump leaks", source="manual", ref="asm-1")
        conn.execute(sa.text("UPDATE maintenance_order SET planned_end = :e WHERE code = :c"),
                     {"e": NOW + dt.timedelta(days=1, hours=2), "c": code})         # expected back tomorrow 09:30
    with read_tx(engine) as conn:
        problem, _ = planning.build_problem(conn, mw.forms, now=NOW, tz=TZ)
    res = {r["id"]: r for r in problem["resources"]}
    assert res["FUR-1"]["downtime"] == [[60, 240]]
    assert res["ASM-1"]["downtime"] == [[0, 24 * 60 + 120]]                         # status down (4 h) and the repair merged
    out = planning.plan(engine, mw.forms, _ctx(), solve=_solve, time_limit=3)
    assert out["written"] and out["summary"]["feasible"]
    notes = " ".join(n["zh-CN"] for n in out["summary"]["notes"])
    assert "设备「中频感应炉 1号」保养工单 WX-" in notes and "12-02 08:30 至 12-02 11:30 不安排任务" in notes
    assert f"维修工单 {code}" in notes
    tasks = _tasks(engine)
    fur, asm = mw.machine["FUR-1"], mw.machine["ASM-1"]
    assert [t for t in tasks if t["machine"] == fur] and not any(_works_inside(t, a, b) for t in tasks if t["machine"] == fur)
    back = NOW + dt.timedelta(days=1, hours=2)
    assert all(_utc(t["planned_start"]) >= back for t in tasks if t["machine"] == asm)


def test_a_repair_order_that_stops_a_machine_offers_the_breakdown_replanning(core_pack, engine, settings) -> None:  # type: ignore[no-untyped-def]
    from mom.engines.production import proposals
    from mom.platform.composition import form_registry
    from tests.integration.test_maintenance_orders import install_equipment
    from tests.integration.test_production_proposals import _ClockedWorker

    install_equipment(engine)
    _orders(engine, [(20, NOW + dt.timedelta(days=3), 3), (8, NOW + dt.timedelta(days=1), 2)])
    forms = form_registry()
    assert planning.plan(engine, forms, _ctx(), solve=_solve, time_limit=2)["written"]
    with read_tx(engine) as conn:
        cnc1 = conn.execute(sa.text("SELECT id FROM machine WHERE code = 'CNC-1'")).scalar()
    with write_tx(engine) as conn:
        code = repair.open_repair_order(conn, forms, _ctx(), machine_id=cnc1, title_zh="主轴卡死", title_en="spindle seized",
                                        source="device_alarm", ref="CNC-1/spindle")
    got = _ClockedWorker(engine, settings, name="w").drain()
    assert got["failed"] == 0, got
    with read_tx(engine) as conn:
        found = proposals.listing(conn, forms, _ctx())
        status = conn.execute(sa.text("SELECT status FROM machine WHERE id = :i"), {"i": cnc1}).scalar()
    assert status == "down" and code.startswith("WX-")
    assert len(found) == 1 and found[0]["status"] == "pending" and found[0]["machine"] == "CNC-1"
