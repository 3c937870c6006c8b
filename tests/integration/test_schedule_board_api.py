"""The schedule board on the plant's orders (issue 19, phase 2): GET /api/scheduling/current shows the plan
written on the tasks without solving; POST /api/scheduling/pin pins a task where the planner dropped it
(the next plan keeps it there) or unpins it; planners and administrators only."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from mom.platform.auth import service as auth
from mom.platform.db.engine import read_tx, write_tx
from tests.conftest import fixture_hash, login
from tests.integration.test_production_planning import TZ, _orders, _tasks, _utc


@pytest.fixture
def users(core_pack: sa.engine.Engine, client) -> dict[str, dict[str, str]]:
    engine = core_pack
    with write_tx(engine) as conn:
        auth.create_user(conn, username="plan1", password_hash=fixture_hash("plan-pass-1"), roles=["planner"])
        auth.create_user(conn, username="op1", password_hash=fixture_hash("op-pass-11"), roles=["operator"])
    return {"planner": login(client, "plan1", "plan-pass-1"), "operator": login(client, "op1", "op-pass-11")}


def _current(client, h: dict[str, str]) -> dict[str, Any]:
    r = client.get("/api/scheduling/current", headers=h)
    assert r.status_code == 200, r.text
    return r.json()


def test_current_shows_the_written_plan_and_a_pin_survives_the_next_plan(engine, client, users) -> None:
    planner, operator = users["planner"], users["operator"]
    out = _current(client, planner)
    assert out["problem"] is None and "没有可排程的工单" in out["message"]["zh-CN"]
    now = dt.datetime.now(TZ)
    codes = _orders(engine, [(10, now + dt.timedelta(days=3), 3), (20, now + dt.timedelta(days=5), 5)], now=now)
    out = _current(client, planner)          # released, nothing planned yet: no bars, both orders named
    assert out["solution"] is None and sorted(out["unplanned"]) == sorted(codes)

    r = client.post("/api/scheduling/plan", headers=planner, json={"time_limit": 2, "apply": True})
    assert r.status_code == 200 and r.json()["written"], r.text
    out = _current(client, planner)
    assert out["unplanned"] == [] and out["solution"]["method"] == "stored"
    bars = {(x["order"], x["operation"]): x for x in out["solution"]["gantt"]["tasks"]}
    tasks = {(t["order_code"], t["code"]): t for t in _tasks(engine)}
    assert set(bars) == set(tasks)
    for key, t in tasks.items():           # the board's bars are the written times, to the minute
        assert abs(dt.datetime.fromisoformat(bars[key]["start_at"]) - _utc(t["planned_start"])) < dt.timedelta(minutes=1)

    # pin the second order's first task on another allowed machine, a day later
    key = next(k for k in tasks if k[0] == codes[1])
    op = next(o for order in out["problem"]["orders"] if order["id"] == key[0] for o in order["operations"] if o["id"] == key[1])
    machine = [m["resource"] for m in op["modes"]][-1]
    at = (now + dt.timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    body = {"task": key[1], "machine": machine, "start": at.isoformat()}
    assert client.post("/api/scheduling/pin", headers=operator, json=body).status_code == 403
    r = client.post("/api/scheduling/pin", headers=planner, json=body)
    assert r.status_code == 200, r.text
    assert r.json()["pinned"] is True and _utc(r.json()["planned_start"]) == at

    r = client.post("/api/scheduling/plan", headers=planner, json={"time_limit": 2, "apply": True})
    assert r.status_code == 200 and r.json()["written"], r.text
    pinned = next(t for t in _tasks(engine) if t["code"] == key[1])
    assert pinned["pinned"] and _utc(pinned["planned_start"]) == at
    with read_tx(engine) as conn:
        code = conn.execute(sa.text("SELECT code FROM machine WHERE id = :i"), {"i": pinned["machine"]}).scalar()
    assert code == machine
    bar = next(x for x in _current(client, planner)["solution"]["gantt"]["tasks"] if x["operation"] == key[1])
    assert bar["pinned"] and bar["resource"] == machine and _current(client, planner)["pinned"] == [key[1]]

    r = client.post("/api/scheduling/pin", headers=planner, json={"task": key[1], "start": None})
    assert r.status_code == 200 and r.json()["pinned"] is False


def test_pin_refusals_are_said_in_words(engine, client, users) -> None:
    planner = users["planner"]
    now = dt.datetime.now(TZ)
    _orders(engine, [(10, now + dt.timedelta(days=3), 3)], now=now)
    task = _tasks(engine)[0]["code"]
    start = (now + dt.timedelta(days=1)).isoformat()
    r = client.post("/api/scheduling/pin", headers=planner, json={"task": task, "machine": "NO-SUCH", "start": start})
    assert r.status_code == 422 and "可选设备" in r.json()["message"]["zh-CN"]
    r = client.post("/api/scheduling/pin", headers=planner, json={"task": task, "start": "明天"})
    assert r.status_code == 422 and "开始时间" in r.json()["message"]["zh-CN"]
    r = client.post("/api/scheduling/pin", headers=planner, json={"task": "OP-NOPE", "start": start})
    assert r.status_code == 404
    assert client.post("/api/scheduling/pin", headers=planner, json=[1]).status_code == 422
    for far in ("9999-12-31T10:00:00Z", "9999-12-30T00:00:00Z", "1970-01-01T00:00:00Z", "0001-01-01T00:00:00Z"):
        r = client.post("/api/scheduling/pin", headers=planner, json={"task": task, "start": far})   # was a 500, or a pin
        assert r.status_code == 422 and "不能锁定到过去" in r.json()["message"]["zh-CN"], (far, r.text)  # that broke every plan
    assert all(not t["pinned"] for t in _tasks(engine))
    r = client.post("/api/scheduling/plan", headers=planner, json={"time_limit": 5})
    assert r.status_code == 200, r.text
    with engine.begin() as conn:                  # a far pin written by other means (a PATCH, an import) …
        conn.execute(sa.text("UPDATE operation_task SET pinned = :p, planned_start = :s WHERE code = :c"),
                     {"p": True, "s": dt.datetime(9999, 12, 30, tzinfo=dt.timezone.utc), "c": task})
    r = client.post("/api/scheduling/plan", headers=planner, json={"time_limit": 5})
    assert r.status_code == 200, r.text           # … is planned as usual, with a note, not a failed plan
    assert "超出排程范围" in str(r.json()["summary"])
