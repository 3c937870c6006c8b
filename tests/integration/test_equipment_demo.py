"""The equipment demo (设备演示数据, platform/cli/demo_equipment.py) on both databases. The `plant` template is
`mom demo` without the histories; the step `mom demo` ends with adds the week. After it the andon board lists
the four demo machines with states (CNC-2 down with an open repair order), OEE per machine for the last working
day is a real figure between 0 and 1 with an effectiveness that follows the routing's run times, stops are
partly classified and partly unexplained, a PM plan is due within the week, and running the step again changes
nothing.
"""
from __future__ import annotations

import datetime as dt
import time
from typing import Any

import sqlalchemy as sa

from mom.engines.forms.fieldtypes import plant_tz
from mom.platform.cli import demo_equipment
from mom.platform.composition import form_registry
from tests.conftest import login

TZ = plant_tz("Asia/Shanghai")
CODES = ["ASM-1", "CNC-1", "CNC-2", "FUR-1"]


def _history(engine: Any) -> list[str]:
    return list(demo_equipment.load_equipment_history(engine, form_registry(), TZ))


def _get(client: Any, h: dict[str, str], url: str) -> Any:
    r = client.get(url, headers=h)
    assert r.status_code == 200, r.text
    return r.json()


def _counts(engine: Any) -> tuple[int, ...]:
    with engine.connect() as conn:
        return tuple(conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
                     for t in ("machine_state", "machine_count", "production_order", "pm_plan", "maintenance_order"))


def test_demo_machines_have_a_week_of_states_oee_stops_pm_and_a_repair(plant, engine, client) -> None:  # type: ignore[no-untyped-def]
    assert _counts(engine) == (0, 0, 0, 0, 0)     # the template: the pack and its demo content, no history
    t0 = time.monotonic()
    [line] = _history(engine)
    took = time.monotonic() - t0
    assert "设备演示" in line and "维修工单" in line, line
    assert took < 60, took          # a few seconds on an idle machine (the demo stays quick)
    h = login(client, "admin", "admin123")

    board = _get(client, h, "/api/oee/andon")["machines"]
    assert sorted(m["code"] for m in board) == CODES
    assert all(m["state"] in ("running", "idle", "down", "setup", "planned_stop") for m in board)
    assert next(m for m in board if m["code"] == "CNC-2")["state"] == "down"

    today = dt.datetime.now(TZ).date()
    day = today - dt.timedelta(days=1)
    while day.weekday() == 6:        # 标准日历: Monday–Saturday; the last working day before today
        day -= dt.timedelta(days=1)
    rows = _get(client, h, f"/api/oee?from={day.isoformat()}&to={day.isoformat()}&group=machine")
    per = {r["machine_code"]: r for r in rows["rows"]}
    assert sorted(per) == CODES
    for code, r in per.items():
        assert r["oee"] is not None and 0 < r["oee"] < 1, (code, r)
        # the counters follow the routing's run time per part (FUR-1 12, CNC-1 18, CNC-2 9, ASM-1 8 min) at 85–97 % speed
        assert 0.8 < r["effectiveness"] <= 1, (code, r)

    week = f"from={(today - dt.timedelta(days=7)).isoformat()}&to={today.isoformat()}"
    reasons = _get(client, h, f"/api/oee/losses?{week}")["reasons"]
    assert any(r["reason"] is None for r in reasons)          # stops nobody explained yet
    assert sum(1 for r in reasons if r["reason"] is not None) >= 3   # and stops classified with a reason

    plans = _get(client, h, "/api/records/pm_plan?limit=50")["items"]
    assert len(plans) == 4
    due = [p for p in plans if p.get("first_due") and dt.date.fromisoformat(p["first_due"][:10]) - today <= dt.timedelta(days=7)]
    assert len(due) == 1
    orders = _get(client, h, "/api/records/maintenance_order?limit=50")["items"]
    assert [(o["kind"], o["status"]) for o in orders] == [("repair", "reported")]

    before = _counts(engine)
    assert _history(engine) == []     # `mom demo` again: nothing new
    assert _counts(engine) == before
