"""瓶颈分析 (issue 23, item 4): engines/oee/bottleneck*.py, /api/oee/bottlenecks, mom oee bottlenecks.

A hand-checkable plant: the core pack's 机加工工段 (WC-MACH) with CNC-1 and CNC-2 on the 标准日历 (Mon–Sat
08:00–12:00 and 13:00–17:00, 480 working minutes a day, Asia/Shanghai).

- Monday 2026-11-30, measured: CNC-1 runs 08–12 and 13–16 and sets up 16:00–16:30 (busy 7.5 h of 8 h: 93.75 %),
  CNC-2 runs 08–11, idles 11–12 and is down 13–17 (busy 3 h of 8 h: 37.5 %, below the 80 % of the seed).
- The plan from Wednesday 2026-12-02 07:30: order A (480 min on CNC-1, due Wednesday 12:00) planned 08:00–17:00
  — late; order B (120 min on CNC-2, due Friday) 08:00–10:00. Over one day ahead CNC-1 is loaded 480 / 480 min
  (100 %), CNC-2 120 / 480 (25 %); CNC-1 carries the late order's critical chain: the limiting machine.
- The what-ifs add order C (240 min on CNC-1, due Wednesday 17:00): 720 minutes on CNC-1 against 480 on
  Wednesday. An extra 8-hour shift (17:00–01:00) lets everything finish Wednesday night; CNC-2 taking work
  (the alternative) and halving setups cut the lateness too.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from mom.engines.oee import bottleneck, bottleneck_whatif as bw
from mom.engines.packs import manager
from mom.engines.records import values as V
from mom.engines.records.context import SYSTEM, Ctx
from mom.engines.records.service import insert_rows
from mom.platform.auth import service as auth
from mom.platform.composition import form_registry
from mom.platform.db.engine import read_tx, write_tx
from mom.platform.errors import AccessDenied, InvalidInput
from tests.conftest import fixture_hash, login

SH = ZoneInfo("Asia/Shanghai")
MONDAY, WEDNESDAY = dt.date(2026, 11, 30), dt.date(2026, 12, 2)
NOW = dt.datetime(2026, 12, 2, 7, 30, tzinfo=SH)


def at(day: dt.date, h: int, m: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(h, m), tzinfo=SH)


def _insert(conn: Any, form: str, rows: list[dict[str, Any]]) -> list[int]:
    compiled = form_registry().get(conn, form)
    return [int(r["id"]) for r in insert_rows(conn, compiled, Ctx.system(tz=SH),
                                              [V.Prepared(values=r, children={}) for r in rows], audit=False)]


def _ctx(actor: Any = SYSTEM) -> Ctx:
    return Ctx(actor=actor, now=NOW.astimezone(dt.timezone.utc), tz=SH)


def _order(conn: Any, item: int, code: str, machine: int, minutes: int, due: dt.datetime, *, setup: int = 0,
           planned: tuple[dt.datetime, dt.datetime] | None = None) -> None:
    """A released order of ``minutes`` units at 1 min each (plus ``setup``) with one task on ``machine``."""
    order = _insert(conn, "production_order", [{"code": code, "item": item, "qty": Decimal(minutes), "status": "released",
                                                "due_date": due}])[0]
    task = {"production_order": order, "code": f"{code}-10", "seq": 10, "name": "车削", "machine": machine,
            "qty": Decimal(minutes), "setup_min": Decimal(setup), "run_min": Decimal(1), "status": "waiting"}
    if planned:
        task.update(planned_start=planned[0], planned_end=planned[1])
    _insert(conn, "operation_task", [task])


@pytest.fixture
def shop(core_pack: sa.engine.Engine, client: TestClient) -> dict[str, Any]:
    engine = core_pack
    manager.execute(engine, None, "install", "equipment", forms_factory=form_registry, tz=SH)
    with write_tx(engine) as conn:
        auth.create_user(conn, username="boss", password_hash=fixture_hash("boss-pass-1"), is_admin=True)
        auth.create_user(conn, username="op", password_hash=fixture_hash("op-pass-12"), roles=["operator"])
        auth.create_user(conn, username="plan", password_hash=fixture_hash("plan-pass-1"), roles=["planner"])
        m = dict(conn.execute(sa.text("SELECT code, id FROM machine WHERE code IN ('CNC-1', 'CNC-2')")).all())
        item = conn.execute(sa.text("SELECT id FROM item WHERE code = 'FG-V50'")).scalar_one()
        c1, c2 = m["CNC-1"], m["CNC-2"]
        _insert(conn, "machine_state", [
            {"machine": c1, "state": "running", "started_at": at(MONDAY, 8), "ended_at": at(MONDAY, 12), "source": "manual"},
            {"machine": c1, "state": "running", "started_at": at(MONDAY, 13), "ended_at": at(MONDAY, 16), "source": "manual"},
            {"machine": c1, "state": "setup", "started_at": at(MONDAY, 16), "ended_at": at(MONDAY, 16, 30), "source": "manual"},
            {"machine": c1, "state": "idle", "started_at": at(MONDAY, 16, 30), "ended_at": at(MONDAY, 17), "source": "manual"},
            {"machine": c2, "state": "running", "started_at": at(MONDAY, 8), "ended_at": at(MONDAY, 11), "source": "manual"},
            {"machine": c2, "state": "idle", "started_at": at(MONDAY, 11), "ended_at": at(MONDAY, 12), "source": "manual"},
            {"machine": c2, "state": "down", "started_at": at(MONDAY, 13), "ended_at": at(MONDAY, 17), "source": "manual"}])
        _order(conn, item, "WO-A", c1, 480, at(WEDNESDAY, 12), planned=(at(WEDNESDAY, 8), at(WEDNESDAY, 17)))
        _order(conn, item, "WO-B", c2, 120, at(dt.date(2026, 12, 4), 17), planned=(at(WEDNESDAY, 8), at(WEDNESDAY, 10)))
    return {"engine": engine, "machines": m, "item": item, "admin": login(client, "boss", "boss-pass-1"),
            "op": login(client, "op", "op-pass-12"), "plan": login(client, "plan", "plan-pass-1")}


def _analyse(engine: sa.engine.Engine, days: int = 1, line: str | None = "WC-MACH") -> dict[str, Any]:
    with read_tx(engine) as conn:
        return bottleneck.analyse(conn, form_registry(), _ctx(), at(MONDAY, 0), at(MONDAY, 0) + dt.timedelta(days=1),
                                  line=line, days=days)


def test_utilisation_load_queue_and_the_limiting_machine_by_hand(shop: dict[str, Any]) -> None:
    out = _analyse(shop["engine"])
    rows = {r["machine_code"]: r for r in out["machines"]}
    assert set(rows) == {"CNC-1", "CNC-2"}
    c1, c2 = rows["CNC-1"], rows["CNC-2"]
    # measured Monday: busy = running + setup over the 8 h of shifts
    assert c1["available_s"] == 8 * 3600 and c1["busy_s"] == 7.5 * 3600 and c1["utilisation"] == pytest.approx(0.9375)
    assert c2["busy_s"] == 3 * 3600 and c2["utilisation"] == pytest.approx(0.375)
    assert c2["top_loss"]["category"] == "breakdown" and c2["top_loss"]["seconds"] == 4 * 3600
    assert c1["oee"] is None or 0 <= c1["oee"] <= 1
    # planned over one day from Wednesday 07:30: one working day of 480 minutes
    assert c1["plan"] == {"planned_min": 480, "available_min": 480, "load": 1.0, "critical_min": 480}
    assert c2["plan"]["planned_min"] == 120 and c2["plan"]["load"] == 0.25 and c2["plan"]["critical_min"] == 0
    assert c1["queue"] == {"tasks": 1, "minutes": 480, "running": 0}
    marks1 = {m["code"] for m in c1["marks"]}
    marks2 = {m["code"] for m in c2["marks"]}
    assert marks1 == {"limiting", "top_load"} and marks2 == {"low_utilisation"}
    assert out["limiting"]["machine_code"] == "CNC-1"
    assert "迟交订单 1 个" in out["limiting"]["reason"]["zh-CN"] and "100%" in out["limiting"]["reason"]["zh-CN"]
    assert [s["kind"] for s in out["suggestions"]][0] == "extra_shift"
    line = out["lines"][0]
    assert line["line_code"] == "WC-MACH" and line["plan_load"] == pytest.approx(600 / 960)
    assert line["utilisation"] == pytest.approx(10.5 / 16)
    # a week ahead (Wed … Tue: six working days), the same work is a sixth of the time
    week = {r["machine_code"]: r for r in _analyse(shop["engine"], days=7)["machines"]}
    assert week["CNC-1"]["plan"]["available_min"] == 6 * 480 and week["CNC-1"]["plan"]["load"] == pytest.approx(1 / 6, abs=1e-4)


def _add_c(shop: dict[str, Any], setup: int = 0) -> None:
    with write_tx(shop["engine"]) as conn:
        _order(conn, shop["item"], "WO-C", shop["machines"]["CNC-1"], 240, at(WEDNESDAY, 17), setup=setup)


def _run(shop: dict[str, Any], kind: str, **params: Any) -> dict[str, Any]:
    return bw.run(shop["engine"], form_registry(), _ctx(), machine="CNC-1", kind=kind, parameters=params, time_limit=2)


def test_an_extra_shift_on_the_bottleneck_reduces_lateness(shop: dict[str, Any]) -> None:
    _add_c(shop)
    out = _run(shop, "extra_shift", hours=8)
    b, a = out["before"], out["after"]
    # base: 720 minutes of work on CNC-1 against 480 on Wednesday — something finishes on Thursday
    assert b["total_late_minutes"] >= 19 * 60 and b["makespan_at"].startswith("2026-12-03")
    # one more shift 17:00–01:00: all done Wednesday 21:00; only order A (≥ 480 min, due 12:00) stays late, by 9 h
    assert out["change"]["shift"] == ["17:00", "01:00"]
    assert a["makespan_at"] == "2026-12-02T21:00:00+08:00"
    assert a["total_late_minutes"] == 9 * 60 and a["late_orders"] <= b["late_orders"]
    assert out["effect"]["better"] and out["effect"]["total_late_minutes"] < 0
    msg = out["message"]["zh-CN"]
    assert msg.startswith("设备「数控车床 CK6150 1号」每个工作日加一个班 17:00–01:00（8 小时）：迟交订单")
    assert "总延误" in msg and "→ 9.0 小时" in msg
    with read_tx(shop["engine"]) as conn:       # nothing written: the plan in force is as it was
        ends = dict(conn.execute(sa.text("SELECT code, planned_end FROM operation_task")).all())
    assert ends["WO-C-10"] is None


def test_an_alternative_machine_and_shorter_setups(shop: dict[str, Any]) -> None:
    _add_c(shop, setup=60)
    alt = _run(shop, "alternative")
    assert alt["change"]["machines"] == ["CNC-2"]
    assert alt["after"]["total_late_minutes"] < alt["before"]["total_late_minutes"]
    assert alt["after"]["makespan_at"] < alt["before"]["makespan_at"]
    setups = _run(shop, "shorter_setups", percent=50)      # WO-C's 60-minute setup becomes 30
    assert setups["after"]["total_late_minutes"] == setups["before"]["total_late_minutes"] - 30
    assert "换型缩短 50%" in setups["message"]["zh-CN"]


def test_what_if_input_is_refused_in_words(shop: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput, match="模拟方式"):
        _run(shop, "magic")
    with pytest.raises(InvalidInput, match="加班小时数应为 1 到 12"):
        _run(shop, "extra_shift", hours=30)
    with pytest.raises(InvalidInput, match="没有可增加的替代设备|没有编码"):
        bw.run(shop["engine"], form_registry(), _ctx(), machine="CNC-1", kind="alternative",
               parameters={"machines": ["NOPE"]}, time_limit=1)
    with pytest.raises(InvalidInput, match="没有待排程的工序"):
        bw.run(shop["engine"], form_registry(), _ctx(), machine="FUR-1", kind="extra_shift", time_limit=1)
    with pytest.raises(InvalidInput, match="没有换型时间"):
        _run(shop, "shorter_setups")


def test_api_permissions_and_bad_input(client: TestClient, shop: dict[str, Any]) -> None:
    url = f"/api/oee/bottlenecks?from={MONDAY}&to={MONDAY}&line=WC-MACH"
    r = client.get(url, headers=shop["op"])            # operators read OEE: they read the bottleneck view too
    assert r.status_code == 200, r.text
    assert {x["machine_code"] for x in r.json()["machines"]} == {"CNC-1", "CNC-2"}
    body = {"machine": "CNC-1", "kind": "extra_shift", "time_limit": 1}
    r = client.post("/api/oee/bottlenecks/whatif", json=body, headers=shop["op"])
    assert r.status_code == 403 and "计划员" in r.json()["message"]["zh-CN"], r.text
    for bad, words in (({**body, "kind": "x"}, "模拟方式"), ({**body, "machine": ""}, "设备编码"),
                       ({**body, "parameters": {"hours": "eight"}}, "加班小时数"), ({**body, "time_limit": -1}, "模拟时间"),
                       ({**body, "machine": "NOPE"}, "没有编码为")):
        r = client.post("/api/oee/bottlenecks/whatif", json=bad, headers=shop["plan"])
        assert r.status_code == 422 and words in r.json()["message"]["zh-CN"], (bad, r.text)
    r = client.get(f"/api/oee/bottlenecks?from={MONDAY}&to={MONDAY}&days=0", headers=shop["admin"])
    assert r.status_code == 422 and "展望天数" in r.json()["message"]["zh-CN"]
    ok = client.post("/api/oee/bottlenecks/whatif", json=body, headers=shop["plan"])
    assert ok.status_code == 200, ok.text
    assert ok.json()["message"]["zh-CN"].startswith("设备「数控车床 CK6150 1号」每个工作日加一个班")


def test_cli(shop: dict[str, Any], cli: Any) -> None:
    out = cli("oee", "bottlenecks", "--from", MONDAY, "--to", MONDAY, "--line", "WC-MACH")
    assert out.exit_code == 0, out.output
    assert "CNC-2" in out.output and "37.5%" in out.output and "利用率低于 80%" in out.output
    plain = cli("oee", "--from", MONDAY, "--to", MONDAY, "--machine", "CNC-1")     # mom oee keeps working
    assert plain.exit_code == 0 and "合计 / total" in plain.output
    sim = cli("oee", "bottlenecks", "--whatif", "extra_shift", "--machine", "CNC-1", "--hours", "4", "--time-limit", "1")
    assert sim.exit_code == 0 and "每个工作日加一个班 17:00–21:00（4 小时）：迟交订单" in sim.output, sim.output
    bad = cli("oee", "bottlenecks", "--days", "0")
    assert bad.exit_code != 0 and "展望天数" in bad.output


def test_review_fixes_no_plan_unknown_parameters_and_worded_fields(client: TestClient, shop: dict[str, Any],
                                                                   cli: Any) -> None:
    """Review findings: `plan` has no --apply; with no plan the what-if says to schedule first (not 「请给出设备编码」);
    --machines names the alternatives; unknown parameters are refused naming them; the CLI prints no JSON pointer;
    time_limit's main and field messages agree."""
    with write_tx(shop["engine"]) as conn:      # nothing planned yet (a fresh demo before `mom schedule plan`)
        conn.execute(sa.text("UPDATE operation_task SET planned_start = NULL, planned_end = NULL"))
    view = cli("oee", "bottlenecks", "--from", MONDAY, "--to", MONDAY)
    assert view.exit_code == 0 and "mom schedule plan" in view.output and "--apply" not in view.output, view.output
    r = client.get(f"/api/oee/bottlenecks?from={MONDAY}&to={MONDAY}", headers=shop["admin"])
    assert not any("--apply" in n["zh-CN"] or "--apply" in n["en"] for n in r.json()["notes"]), r.text
    sim = cli("oee", "bottlenecks", "--whatif", "extra_shift", "--hours", "4", "--time-limit", "1")
    assert sim.exit_code != 0 and "还没有排程计划" in sim.output and "mom schedule plan" in sim.output, sim.output
    assert "请给出设备编码" not in sim.output
    alt = cli("oee", "bottlenecks", "--whatif", "alternative", "--machine", "CNC-1", "--machines", "NOPE")
    assert alt.exit_code != 0 and "没有编码为「NOPE」的设备" in alt.output and "--machines" in alt.output, alt.output
    assert "/parameters" not in alt.output and "/kind" not in alt.output
    hours = cli("oee", "bottlenecks", "--whatif", "extra_shift", "--machine", "CNC-1", "--hours", "30")
    assert hours.exit_code != 0 and "加班小时数应为 1 到 12" in hours.output and "--hours" in hours.output
    assert "/parameters" not in hours.output, hours.output
    ok = cli("oee", "bottlenecks", "--whatif", "alternative", "--machine", "CNC-1", "--machines", "CNC-2",
             "--time-limit", "1")
    assert ok.exit_code == 0 and "也可以在 CNC-2" in ok.output, ok.output
    body = {"machine": "CNC-1", "kind": "extra_shift", "parameters": {"hours": 4, "bogus": 1}, "time_limit": 1}
    r = client.post("/api/oee/bottlenecks/whatif", json=body, headers=shop["plan"])
    assert r.status_code == 422 and "bogus" in r.json()["message"]["zh-CN"] and "hours" in r.json()["message"]["zh-CN"], r.text
    r = client.post("/api/oee/bottlenecks/whatif", json={**body, "parameters": {}, "time_limit": 0}, headers=shop["plan"])
    j = r.json()
    assert r.status_code == 422 and j["problems"][0]["message"]["zh-CN"] == j["message"]["zh-CN"], r.text
    assert "600" in j["message"]["zh-CN"]
