"""Preventive maintenance and reliability (issue 23) on a fixed clock: calendar plans open one PM order per
due date (ahead of it), the next due moves on a fixed calendar when the order is finished; run-hour plans
read the machine's running time from ``machine_state``; MTBF / MTTR per ISO 22400-2 reproduce a published
worked example; spare parts leave stock through the inventory ledger; who may not read orders sees no
number or count of them."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from mom.engines.maintenance import pm as PM
from mom.engines.maintenance import repair
from mom.engines.maintenance.reliability import mtbf_mttr
from mom.engines.records import service as S
from mom.platform.db.engine import read_tx, write_tx
from tests.integration.test_maintenance_orders import Plant

UTC = dt.timezone.utc
SH = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def mw(core_pack, engine, client) -> Plant:  # type: ignore[no-untyped-def]
    return Plant(client, engine)


def _plan(mw: Plant, **body: Any) -> dict[str, Any]:
    return mw.post("/api/records/pm_plan", {"name": "主轴润滑", "machine": mw.machine["CNC-1"], "duration_min": 90,
                                            "checklist": [{"step": "加注主轴润滑脂", "standard": "2 号锂基脂 30 g"}], **body},
                   who="mgr1", status=201)


def _finish(mw: Plant, when: dt.datetime, oid: int) -> None:
    for key, status in (("start", "in_repair"), ("finish", "done")):
        mw.at(when, lambda conn, ctx, k=key, s=status: S.update_record(
            conn=conn, registry=mw.forms, ctx=ctx, form="maintenance_order", record_id=oid, patch={"status": s}, transition=k))


def test_a_calendar_plan_opens_one_order_per_due_date_and_moves_on_when_done(mw: Plant) -> None:
    plan = _plan(mw, trigger="calendar", interval=7, first_due="2026-12-10", start_time="09:00")
    got = mw.get(f"/api/records/pm_plan/{plan['id']}", who="mgr1")
    assert got["next_due"].startswith("2026-12-10T01:00")          # 09:00 in Shanghai is 01:00 UTC

    def run(when: dt.datetime) -> list[str]:
        return mw.at(when, lambda conn, ctx: [o["code"] for o in PM.run(conn, mw.forms, ctx)])

    assert run(dt.datetime(2026, 12, 1, tzinfo=UTC)) == []           # nine days before: beyond the 7 days ahead
    [code] = run(dt.datetime(2026, 12, 4, tzinfo=UTC))
    assert run(dt.datetime(2026, 12, 4, 1, tzinfo=UTC)) == [] and run(dt.datetime(2026, 12, 11, tzinfo=UTC)) == []
    order = mw.order(code)
    assert order["kind"] == "pm" and order["due_date"] == "2026-12-10" and order["pm_plan"] == plan["id"]
    assert order["planned_start"].startswith("2026-12-10T01:00") and order["planned_end"].startswith("2026-12-10T02:30")
    assert [c["step"] for c in order["checklist"]] == ["加注主轴润滑脂"]
    _finish(mw, dt.datetime(2026, 12, 11, 3, tzinfo=UTC), order["id"])
    after = mw.get(f"/api/records/pm_plan/{plan['id']}", who="mgr1")
    assert after["last_done"].startswith("2026-12-11T03:00") and after["next_due"].startswith("2026-12-17T01:00")
    [nxt] = run(dt.datetime(2026, 12, 11, 4, tzinfo=UTC))
    assert mw.order(nxt)["due_date"] == "2026-12-17"


def _states(mw: Plant, machine: int, spans: list[tuple[str, dt.datetime, dt.datetime | None]]) -> None:
    """Machine states as the device engine writes them (the form refuses the record API)."""
    with write_tx(mw.engine) as conn:
        compiled = mw.forms.get(conn, "machine_state")
        t = compiled.main
        now = dt.datetime(2026, 12, 1, tzinfo=UTC)
        for state, a, b in spans:
            conn.execute(t.insert().values(machine=machine, state=state, started_at=a, ended_at=b, source="manual",
                                           created_at=now, updated_at=now, row_version=1,
                                           form_version=compiled.version))


def test_a_run_hours_plan_is_due_after_that_many_running_hours(mw: Plant) -> None:
    t0 = dt.datetime(2026, 12, 1, tzinfo=UTC)
    plan = _plan(mw, trigger="run_hours", interval=10)
    with write_tx(mw.engine) as conn:      # the plan counts from when it was written: 1 December here
        conn.execute(sa.text("UPDATE pm_plan SET created_at = :t WHERE id = :id"), {"t": t0, "id": plan["id"]})
    h = dt.timedelta(hours=1)
    _states(mw, mw.machine["CNC-1"], [("running", t0, t0 + 6 * h), ("down", t0 + 6 * h, t0 + 8 * h),
                                      ("running", t0 + 8 * h, None)])

    def run(when: dt.datetime) -> list[str]:
        return mw.at(when, lambda conn, ctx: [o["code"] for o in PM.run(conn, mw.forms, ctx)])

    assert run(t0 + 11 * h) == []                                   # 6 + 3 = 9 running hours
    [code] = run(t0 + 12 * h + dt.timedelta(minutes=30))            # 10.5 running hours
    assert "10.5 运行小时" in mw.order(code)["note"]
    assert run(t0 + 20 * h) == []                                   # its order is open
    _finish(mw, t0 + 21 * h, mw.order(code)["id"])
    assert mw.get(f"/api/records/pm_plan/{plan['id']}", who="mgr1")["last_reading"] == pytest.approx(19.0)
    assert run(t0 + 30 * h) == [] and len(run(t0 + 31 * h + dt.timedelta(minutes=1))) == 1   # 10 more hours after the finish


def test_mtbf_and_mttr_reproduce_the_worked_example(mw: Plant) -> None:
    """Worked example (Exercise 1, https://scribd.com/document/403226083/1-docx): a component needed 24 h a day
    Monday to Friday fails Tuesday 5–7 a.m., Thursday 4–8 p.m., Friday 8–11 a.m. Downtime 2 + 4 + 3 = 9 h, uptime
    5 × 24 − 9 = 111 h: MTBF = 111 / 3 = 37 h, MTTR = 9 / 3 = 3 h (ISO 22400-2: MTBF = ΣTBF/FE, MTTR = ΣTTR/FE).
    Monday 2026-11-30 to Saturday 2026-12-05 00:00, plant time (UTC+8)."""
    cnc = mw.machine["CNC-2"]
    cause = mw.find("failure_cause", code="F01")[0]["id"]
    for day, a, b in ((1, 5, 7), (3, 16, 20), (4, 8, 11)):
        start = dt.datetime(2026, 11, 30 + day, a, tzinfo=SH) if 30 + day <= 30 else dt.datetime(2026, 12, day, a, tzinfo=SH)
        end = start.replace(hour=b)
        code = mw.at(start, lambda conn, ctx, s=start: repair.open_repair_order(
            conn, mw.forms, ctx, machine_id=cnc, title_zh="故障停机", title_en="breakdown", source="manual", ref=s.isoformat()))
        oid = mw.order(code)["id"]
        mw.at(end, lambda conn, ctx, o=oid: S.update_record(conn=conn, registry=mw.forms, ctx=ctx, form="maintenance_order",
                                                           record_id=o, patch={"status": "in_repair"}, transition="start"))
        mw.at(end, lambda conn, ctx, o=oid: S.update_record(conn=conn, registry=mw.forms, ctx=ctx, form="maintenance_order",
                                                           record_id=o, patch={"status": "done", "failure_cause": cause},
                                                           transition="finish"))
    monday, saturday = dt.datetime(2026, 11, 30, tzinfo=SH), dt.datetime(2026, 12, 5, tzinfo=SH)
    with read_tx(mw.engine) as conn:
        got = mtbf_mttr(conn, mw.forms, [cnc, mw.machine["CNC-1"]], monday, saturday)
    assert got[cnc] == {"failures": 3, "mtbf_h": 37.0, "mttr_h": 3.0, "downtime_h": 9.0, "availability": pytest.approx(111 / 120)}
    assert got[mw.machine["CNC-1"]]["failures"] == 0 and got[mw.machine["CNC-1"]]["mtbf_h"] is None
    api = mw.get("/api/maintenance/reliability?machine=CNC-2&from=2026-11-30T00:00:00%2B08:00&to=2026-12-05T00:00:00%2B08:00",
                 who="tech1")
    [row] = api["machines"]
    assert row["code"] == "CNC-2" and row["mtbf_h"] == 37.0 and row["mttr_h"] == 3.0
    bad = mw.client.get("/api/maintenance/reliability?from=yesterday", headers=mw.h("tech1"))
    assert bad.status_code == 422 and "开始日期" in bad.json()["message"]["zh-CN"]


def test_who_may_not_read_orders_sees_no_number_nor_count(mw: Plant) -> None:
    mw.post("/api/records/fault_report", {"machine": mw.machine["CNC-1"], "symptom": "冷却液泄漏", "urgency": "medium"},
            who="op1", status=201)
    for path in ("/api/maintenance/board", "/api/maintenance/orders", "/api/maintenance/reliability"):
        r = mw.client.get(path, headers=mw.h("op1"))
        assert r.status_code == 403 and "WX-" not in r.text, (path, r.text)
    assert "WX-" not in mw.client.get("/api/records/fault_report?expand=1", headers=mw.h("op1")).text
    assert mw.client.post("/api/maintenance/pm/run", json={}, headers=mw.h("tech1")).status_code == 403
    board = mw.get("/api/maintenance/board", who="tech1")
    assert [o["title"] for o in board["repairs"]] == ["报修：冷却液泄漏"] and board["repairs"][0]["elapsed_min"] is not None


def test_spare_parts_leave_stock_through_the_ledger(mw: Plant) -> None:
    wh = mw.post("/api/records/warehouse", {"code": "WH9", "name": "备件库"})
    loc = mw.post("/api/records/location", {"code": "SP1", "name": "备件库 1", "warehouse": wh["id"], "kind": "normal"})["id"]
    bolt = next(i["id"] for i in mw.get("/api/records/item?limit=100")["items"] if i["code"] == "PT-M12")
    mw.post("/api/inventory/documents/stock_receipt", {"supplier": "标准件厂", "lines": [{"item": bolt, "qty": 10, "to_location": loc}]})
    code = mw.at(dt.datetime.now(UTC), lambda conn, ctx: repair.open_repair_order(
        conn, mw.forms, ctx, machine_id=mw.machine["ASM-1"], title_zh="夹具螺栓断裂", title_en="", source="manual", ref="x1"))
    oid = mw.order(code)["id"]
    mw.act(oid, "respond", parts=[{"item": bolt, "qty": 4, "from_location": loc}])
    out = mw.post(f"/api/maintenance/orders/{oid}/issue-parts", who="tech1")
    assert out["issued"] == [1] and out["moves"] == 1
    order = mw.order(code)
    assert order["parts"][0]["issued_at"]
    with read_tx(mw.engine) as conn:
        moved = conn.execute(sa.text("SELECT qty FROM stock_move WHERE document_form = 'maintenance_order' AND document_id = :i"),
                             {"i": oid}).scalars().all()
        left = conn.execute(sa.text("SELECT qty FROM stock_balance WHERE item = :i AND location = :l"), {"i": bolt, "l": loc}).scalar()
    assert [Decimal(str(q)) for q in moved] == [Decimal(-4)] and Decimal(str(left)) == 6
    ledger = mw.get(f"/api/inventory/moves?item={bolt}", who="admin")["moves"]
    assert [(m["document_label"], m["document_code"], m["qty"]) for m in ledger][:1] == [("维修保养工单", code, -4)]
    r = mw.client.post(f"/api/inventory/documents/maintenance_order/{oid}/post", headers=mw.h("admin"))
    assert r.status_code == 404 and "不是库存单据" in r.json()["message"]["zh-CN"], r.text     # only the maintenance engine posts it
    again = mw.client.post(f"/api/maintenance/orders/{oid}/issue-parts", headers=mw.h("tech1"))
    assert again.status_code == 422 and "没有待领用" in again.json()["message"]["zh-CN"]
    too_many = mw.act(oid, "start", parts=[*order["parts"], {"item": bolt, "qty": 50, "from_location": loc}])
    short = mw.client.post(f"/api/maintenance/orders/{oid}/issue-parts", headers=mw.h("tech1"))
    assert short.status_code in (409, 422), short.text
    assert "/parts/1" in short.text                                            # the order's own second line
    assert too_many and mw.order(code)["parts"][1]["issued_at"] is None      # nothing half-issued
    now = mw.get(f"/api/records/maintenance_order/{oid}", who="tech1")
    r = mw.client.patch(f"/api/records/maintenance_order/{oid}", json={"row_version": now["row_version"], "parts": []},
                        headers=mw.h("tech1"))
    assert r.status_code == 409 and "已发料" in r.json()["message"]["zh-CN"]


def test_the_packs_rule_and_the_cli_open_due_pm_orders(mw: Plant, settings, cli) -> None:  # type: ignore[no-untyped-def]
    from mom.platform.db import tables as T
    from mom.platform.worker import Worker

    tomorrow = dt.datetime.now(SH).date() + dt.timedelta(days=1)           # plant time
    _plan(mw, trigger="calendar", interval=30, first_due=tomorrow.isoformat(), start_time="08:00")
    out = cli("maintenance", "pm", "run", "--days", "0")
    assert out.exit_code == 0 and "共 0 张保养工单" in out.output, out.output        # due tomorrow: not 0 days ahead
    with write_tx(mw.engine) as conn:                       # the hourly rule is due now
        conn.execute(T.rule.update().where(T.rule.c.name == "equipment_pm_tick").values(
            next_run_at=dt.datetime(2020, 1, 1, tzinfo=UTC)))
    Worker(mw.engine, settings, name="w").drain()
    [order] = mw.find("maintenance_order", kind="pm")
    assert order["status"] == "reported" and order["title"] == "保养：主轴润滑"
    out = cli("maintenance", "pm", "run", "--json")
    assert out.exit_code == 0 and '"opened": []' in out.output, out.output          # one order per plan and due date


def test_a_counter_plan_is_due_after_that_many_parts(mw: Plant) -> None:
    t0 = dt.datetime(2026, 12, 1, tzinfo=UTC)
    plan = _plan(mw, trigger="counter", interval=1000, name="换刀")
    with write_tx(mw.engine) as conn:
        conn.execute(sa.text("UPDATE pm_plan SET created_at = :t WHERE id = :id"), {"t": t0, "id": plan["id"]})
        compiled = mw.forms.get(conn, "machine_count")
        for minute, total in ((0, 400), (1, 350), (2, 300)):                      # counts as the device engine writes them
            conn.execute(compiled.main.insert().values(machine=mw.machine["CNC-1"], bucket_start=t0 + dt.timedelta(minutes=minute),
                                                       total=total, good=total, scrap=0, created_at=t0, updated_at=t0,
                                                       row_version=1, form_version=compiled.version))

    def run(when: dt.datetime) -> list[str]:
        return mw.at(when, lambda conn, ctx: [o["code"] for o in PM.run(conn, mw.forms, ctx)])

    assert run(t0 + dt.timedelta(minutes=2)) == []                               # 750 parts in the first two minutes
    [code] = run(t0 + dt.timedelta(minutes=3))                                   # 1050
    assert "1050.0 件" in mw.order(code)["note"] and mw.order(code)["title"] == "保养：换刀"
